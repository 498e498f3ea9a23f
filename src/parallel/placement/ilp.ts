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
import { highsSolver } from '../../util/highs.js';

export { CsrRows, highsSolver, loadMip, MIP_STATUS, MipColumns, mipInfo, range, setMipOptions } from '../../util/highs.js';

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
