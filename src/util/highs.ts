/**
 * The hand-over of a linear or mixed-integer program to HiGHS (the `highs` npm build of the HiGHS
 * solver; Huangfu & Hall 2018), shared by the placement programs (parallel/placement/) and the
 * joint two-tier optimum (sim/tier-optimum.ts): CSR rows, columns, options, info, the solver.
 * Moved here from parallel/placement/ilp.ts (session 27) so that sim/ can use it (import layers).
 */
import type { Highs, Model } from 'highs';

let solver: Promise<Highs> | undefined;

/**
 * The constraint rows of a linear program, added one at a time and handed to HiGHS as its CSR
 * matrix: a row lo <= sum of coefficient x column over its (column, coefficient) entries <= hi.
 */
export class CsrRows {
  private readonly starts: number[] = [0];
  private readonly idx: number[] = [];
  private readonly val: number[] = [];
  private readonly lower: number[] = [];
  private readonly upper: number[] = [];

  add(entries: readonly (readonly [number, number])[], lo: number, hi: number): void {
    for (const [c, v] of entries) {
      this.idx.push(c);
      this.val.push(v);
    }
    this.starts.push(this.idx.length);
    this.lower.push(lo);
    this.upper.push(hi);
  }

  get count(): number {
    return this.lower.length;
  }

  /** passModel's row fields for a program of `numCols` columns. */
  model(numCols: number) {
    const numRows = this.count;
    return {
      numRows,
      rowLower: Float64Array.from(this.lower),
      rowUpper: Float64Array.from(this.upper),
      matrix: { format: 'csr' as const, numRows, numCols, starts: Int32Array.from(this.starts), indices: Int32Array.from(this.idx), values: Float64Array.from(this.val) },
    };
  }
}

/** The columns of a binary-and-continuous program: costs 0, bounds [0, 1], continuous, until the caller sets them. */
export class MipColumns {
  readonly cost: Float64Array;
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  readonly integrality: Int32Array;

  constructor(readonly count: number) {
    this.cost = new Float64Array(count);
    this.lower = new Float64Array(count);
    this.upper = new Float64Array(count).fill(1);
    this.integrality = new Int32Array(count);
  }
}

/** Hands `model` the program (columns, rows, objective offset) and the MIP options. */
export function loadMip(model: Model, cols: MipColumns, rows: CsrRows, o: { maxNodes: number; relGap: number; timeLimitSec?: number }, offset = 0): void {
  model.passModel({ numCols: cols.count, offset, colCost: cols.cost, colLower: cols.lower, colUpper: cols.upper, ...rows.model(cols.count), integrality: cols.integrality });
  setMipOptions(model, o);
}

/** The MIP options every placement program runs with: quiet, deterministic stops (nodes, gap), a wall-clock limit only if asked. */
export function setMipOptions(model: Model, o: { maxNodes: number; relGap: number; timeLimitSec?: number }): void {
  model.options.set({ output_flag: false, mip_max_nodes: o.maxNodes, mip_rel_gap: o.relGap, ...(o.timeLimitSec !== undefined ? { time_limit: o.timeLimitSec } : {}) });
}

/** A HiGHS info value as a number, NaN where the solver does not report it (no solution yet). */
export function mipInfo(model: Model, name: string): number {
  try {
    return Number(model.info.get(name));
  } catch {
    return NaN;
  }
}

/** HiGHS's model status codes (HighsModelStatus) as the placement programs report them. */
export const MIP_STATUS: Record<number, string> = { 7: 'Optimal', 8: 'Infeasible', 13: 'Time limit reached', 14: 'Iteration limit reached', 15: 'Unknown', 16: 'Node limit reached', 17: 'Interrupted' };

/** 0, 1, ..., n - 1. */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** The HiGHS instance, loaded once (its wasm build). */
export function highsSolver(): Promise<Highs> {
  // highs is CommonJS: under Node's ESM interop its module.exports (the loader) is the default export.
  solver ??= import('highs').then((m) => (m.default as unknown as () => Promise<Highs>)());
  return solver;
}
