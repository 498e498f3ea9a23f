/**
 * The per-layer assignment program behind the ExFlow and MoETuner placements, solved by HiGHS
 * (the `highs` npm build of the HiGHS MILP solver; Huangfu & Hall 2018). One layer at a time, given
 * the previous layer's placement:
 *
 *   minimise   wLoad * z  +  wCross * sum_{e,g} cost[e][g] x[e][g]
 *   subject to sum_g x[e][g] = 1                  (every expert on one GPU)
 *              sum_e x[e][g] = E / G              (every GPU holds the same number of experts)
 *              z >= sum_e load[e] x[e][g]          (z: the busiest GPU's routes)
 *              x binary
 *
 * `cost[e][g]` (objective.ts crossCost) is linear in x because the previous layer is fixed: that is
 * the linearisation. MoETuner's paper states one ILP over all layers; the product of two layers'
 * assignment variables it implies (x[l-1][a][g] * x[l][b][g]) is what solving layer by layer avoids,
 * so that each program has E*G binaries (512 for 64 experts on 8 GPUs) and solves in seconds: HiGHS
 * stops at a relative gap (1% by default; the property tests use 0) or a number of branch-and-bound
 * nodes, both deterministic, never at a wall-clock limit, so that a scenario's result does not
 * depend on the machine. The decomposition is a heuristic for the joint program: callers keep round-robin when
 * its joint objective is lower (and say so).
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

export interface LayerProgram {
  numExperts: number;
  gpus: number;
  load: ArrayLike<number>;
  /** cost[e * gpus + g]. */
  cost: ArrayLike<number>;
  wLoad: number;
  wCross: number;
  /**
   * Branch-and-bound nodes HiGHS may explore (a deterministic limit, unlike a time limit; the best
   * assignment found by then is used and its status says it is not proven optimal).
   */
  maxNodes: number;
  /** Relative MIP gap at which HiGHS stops (0: proven optimal). */
  relGap: number;
  /** Fix expert 0 on GPU 0 (breaks the GPUs' symmetry when nothing else tells them apart). */
  fixFirst?: boolean;
}

export interface LayerSolution {
  owner?: Int32Array;
  status: string;
  objective: number;
}

/** The program in CPLEX LP format (what highs.solve reads). */
export function layerProgramLp(p: LayerProgram): string {
  const { numExperts: E, gpus: G } = p;
  const x = (e: number, g: number) => `x_${e}_${g}`;
  const term = (c: number, v: string) => (c === 0 ? '' : ` ${c < 0 ? '-' : '+'} ${Math.abs(c)} ${v}`);
  let obj = ` obj:${term(p.wLoad, 'z') || ' 0 z'}`;
  for (let e = 0; e < E; e++) for (let g = 0; g < G; g++) obj += term(p.wCross * p.cost[e * G + g], x(e, g));
  const rows: string[] = [];
  for (let e = 0; e < E; e++) rows.push(` one_${e}: ${Array.from({ length: G }, (_, g) => x(e, g)).join(' + ')} = 1`);
  const per = E / G;
  for (let g = 0; g < G; g++) rows.push(` cap_${g}: ${Array.from({ length: E }, (_, e) => x(e, g)).join(' + ')} = ${per}`);
  for (let g = 0; g < G; g++) {
    let r = ` load_${g}: z`;
    for (let e = 0; e < E; e++) if (p.load[e] !== 0) r += ` - ${p.load[e]} ${x(e, g)}`;
    rows.push(`${r} >= 0`);
  }
  if (p.fixFirst) rows.push(` fix: ${x(0, 0)} = 1`);
  const bins: string[] = [];
  for (let e = 0; e < E; e++) for (let g = 0; g < G; g++) bins.push(x(e, g));
  return `Minimize\n${obj}\nSubject To\n${rows.join('\n')}\nBounds\n z >= 0\nBinary\n ${bins.join(' ')}\nEnd\n`;
}

/** Solves one layer's program; `owner` is undefined when HiGHS returns no assignment. */
export async function solveLayer(p: LayerProgram): Promise<LayerSolution> {
  if (p.numExperts % p.gpus !== 0) throw new Error(`${p.numExperts} experts do not split evenly over ${p.gpus} GPUs`);
  const highs = await highsSolver();
  const r = highs.solve(layerProgramLp(p), { mip_max_nodes: p.maxNodes, output_flag: false, mip_rel_gap: p.relGap, mip_heuristic_effort: 0.3 });
  const { numExperts: E, gpus: G } = p;
  const owner = new Int32Array(E).fill(-1);
  const stopped = r.Status === 'Iteration limit reached' || r.Status === 'Time limit reached' || r.Status === 'Unknown';
  if (r.Status === 'Optimal' || (stopped && 'Columns' in r)) {
    const cols = r.Columns as Record<string, { Primal: number }>;
    for (let e = 0; e < E; e++) {
      for (let g = 0; g < G; g++) if ((cols[`x_${e}_${g}`]?.Primal ?? 0) > 0.5) owner[e] = g;
    }
  }
  if (owner.some((g) => g < 0)) return { status: `${r.Status} without an assignment`, objective: NaN };
  return { owner, status: r.Status, objective: 'ObjectiveValue' in r ? (r.ObjectiveValue as number) : NaN };
}
