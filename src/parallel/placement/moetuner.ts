/**
 * MoETuner (Go & Mahajan, "MoETuner: Optimized Mixture of Expert Serving with Balanced Expert
 * Placement and Token Routing", arXiv 2502.06643): an ILP that places experts by token load
 * (balancing the tokens each GPU processes, since the slowest GPU sets the layer's time) and by the
 * inter-layer routing dependency (tokens routed to an expert in one layer go to a few experts in the
 * next; placing those together cuts cross-GPU routing). Both terms are priced in seconds from the
 * scenario's Costs and interconnect (PlacementContext). MoETuner's own weights between its terms
 * are not published in a form this reproduces; these are the modelled times.
 *
 * `program: joint` solves the one program over all layers (joint.ts). With one expert per GPU
 * (E = G) it decomposes into an assignment problem per layer pair, solved exactly (bound.ts
 * assignmentChain; no branch and bound). Otherwise the per-layer solution (ilp.ts, each layer given
 * the one before) is the start, improved by block-coordinate descent (each layer re-solved with both
 * neighbours fixed), then handed to HiGHS as the incumbent of the joint ILP, which stops at `relGap`
 * or `jointMaxNodes` branch-and-bound nodes (deterministic). The placement returned is the best of
 * (HiGHS's incumbent, the improved start, the per-layer start, round-robin) on the joint objective
 * of the training tokens, so it is never worse than round-robin's there. The note reports HiGHS's
 * status, nodes and dual bound, the decomposed bound (bound.ts), the chain DP's exact optimum where
 * it applies (chain-dp.ts), and the gap proven against the best of them.
 * `program: per-layer` (the schema's default) is the per-layer program alone (objective.ts's
 * held-GPU crossings); its note gives its joint objective and the same proven gap.
 * `program: two-stage` is MoETuner's own pair of programs as the summary of its body describes them
 * (two-stage.ts): token-balanced clusters per layer, then clusters to GPUs by the heaviest
 * bandwidth-priced GPU pair, the expert count per GPU equal over the model, not per layer.
 */
import { assignmentChain, decomposedBound } from './bound.js';
import { chainOptimum } from './chain-dp.js';
import { improveByLayers, jointObjective, solveJoint, type JointProgram } from './joint.js';
import { roundRobinPlacement } from './round-robin.js';
import { sequentialPlacement } from './sequential.js';
import { moetunerTwoStage } from './two-stage.js';
import { layerFlow, routeLoad } from './stats.js';
import { ownersOf, placementFromOwners, type PlacementContext, type PlacementPlan } from './types.js';

export interface MoETunerSpec {
  maxNodes: number;
  relGap: number;
  program?: 'joint' | 'per-layer' | 'two-stage';
  jointMaxNodes?: number;
  timeLimitSec?: number;
}

/** Seconds as solver coefficients: nanoseconds. */
const NS = 1e9;

export async function moetuner(ctx: PlacementContext, spec: MoETunerSpec): Promise<PlacementPlan> {
  if (spec.program === 'two-stage') {
    const { placement, note } = await moetunerTwoStage(ctx, { maxNodes: spec.maxNodes, relGap: spec.relGap, ...(spec.timeLimitSec !== undefined ? { timeLimitSec: spec.timeLimitSec } : {}) });
    return { placement, note };
  }
  const per = await sequentialPlacement(ctx, { name: 'MoETuner ILP', wLoad: ctx.computeSecPerToken, wCross: ctx.crossSecPerToken, maxNodes: spec.maxNodes, relGap: spec.relGap, firstRoundRobin: false });
  if ((spec.program ?? 'joint') === 'per-layer') return { ...per, note: `${per.note}; ${await certify(jointProgramOf(ctx, spec), ownersOf(per.placement))}` };
  return moetunerJoint(ctx, spec, ownersOf(per.placement));
}

function jointProgramOf(ctx: PlacementContext, spec: MoETunerSpec): JointProgram {
  const { trace, gpus: G, train } = ctx;
  return {
    numLayers: trace.numLayers,
    numExperts: trace.numExperts,
    gpus: G,
    load: routeLoad(trace, train),
    flow: layerFlow(trace, train),
    wLoad: ctx.computeSecPerToken * NS,
    wCross: ctx.crossSecPerToken * NS,
    maxNodes: spec.maxNodes,
    relGap: spec.relGap,
  };
}

/**
 * How far a placement is, on the joint objective of the training tokens, from the best lower bound
 * at hand: the decomposed bound (bound.ts, every scale; exact when E = G) and, where a layer has few
 * balanced assignments, the exact optimum by dynamic programming (chain-dp.ts).
 */
async function certify(prog: JointProgram, owner: Int32Array): Promise<string> {
  const us = (v: number) => `${(v / NS * 1e6).toFixed(1)} us`;
  const obj = jointObjective(prog, owner).total;
  const lb = await decomposedBound(prog);
  const exact = lb.exact ? undefined : chainOptimum(prog);
  const bound = Math.max(lb.total, exact?.total ?? -Infinity);
  const gap = obj > 0 ? Math.max(0, (obj - bound) / obj) : 0;
  return `joint objective ${us(obj)}, decomposed bound ${us(lb.total)}${lb.exact ? ' (exact)' : ''}` + (exact ? `, exact optimum (chain DP, ${exact.statesPerLayer} assignments a layer) ${us(exact.total)}` : '') + `: ${(gap * 100).toFixed(2)}% above the best bound`;
}

export async function moetunerJoint(ctx: PlacementContext, spec: MoETunerSpec, perLayer: Int32Array): Promise<PlacementPlan & { objective: number; roundRobinObjective: number; lowerBound: number; gap: number }> {
  const { trace, gpus: G } = ctx;
  const { numLayers: L, numExperts: E } = trace;
  const prog = jointProgramOf(ctx, spec);
  const rr = ownersOf(roundRobinPlacement(G, L, E));
  const value = (o: ArrayLike<number>) => jointObjective(prog, o).total;
  const us = (v: number) => `${(v / NS * 1e6).toFixed(1)} us`;
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  // A lower bound that exists at every scale (bound.ts); the optimum itself when E = G.
  const lb = await decomposedBound(prog);
  const candidates: [string, Int32Array][] = [['round-robin', rr], ['per-layer', perLayer]];
  let solverNote: string;
  let bestBound = lb.total;
  if (lb.exact) {
    // One expert per GPU: the program decomposes into one assignment problem per layer pair (bound.ts).
    candidates.push(['assignment decomposition', assignmentChain(E, L, lb.chosen)]);
    solverNote = `MoETuner joint program, ${E} experts on ${G} GPUs: one expert per GPU, so it decomposes into ${L - 1} assignment problems (HiGHS LPs, integral), solved to optimality`;
  } else {
    const start = value(perLayer) <= value(rr) ? perLayer : rr;
    const improved = await improveByLayers(prog, start, 8);
    candidates.push(['per-layer + descent', improved.owner]);
    const sol = await solveJoint({ ...prog, start: improved.owner, maxNodes: spec.jointMaxNodes ?? 200, ...(spec.timeLimitSec !== undefined ? { timeLimitSec: spec.timeLimitSec } : {}) });
    if (sol.owner) candidates.push(['HiGHS incumbent', sol.owner]);
    if (Number.isFinite(sol.dualBound)) bestBound = Math.max(bestBound, sol.dualBound);
    const hb = Number.isFinite(sol.dualBound) ? `, HiGHS dual bound ${us(sol.dualBound)} (its gap ${pct(sol.gap)})` : ', no HiGHS dual bound';
    solverNote = `MoETuner joint ILP (HiGHS, ${sol.columns} columns, ${sol.rows} rows): ${sol.status} after ${sol.nodes} nodes${hb}; per-layer + ${improved.sweeps} descent sweep${improved.sweeps === 1 ? '' : 's'} ${us(value(improved.owner))}`;
  }
  let best = candidates[0];
  for (const c of candidates) if (value(c[1]) < value(best[1]) - 1e-9 * Math.abs(value(best[1]))) best = c;
  const obj = value(best[1]);
  // Where a layer has few balanced assignments, the exact optimum (chain-dp.ts) says how far the placement is from it.
  const exact = lb.exact ? undefined : chainOptimum(prog);
  if (exact) bestBound = Math.max(bestBound, exact.total);
  const gap = obj > 0 ? Math.max(0, (obj - bestBound) / obj) : 0;
  const note =
    `${solverNote}; objective ${us(obj)} (${best[0]}) vs per-layer ${us(value(perLayer))}, round-robin ${us(value(rr))} on the training tokens; ` +
    `decomposed bound ${us(lb.total)}${lb.exact ? ' (exact)' : ''}` +
    (exact ? `, exact optimum by dynamic programming over the layers (${exact.statesPerLayer} assignments a layer) ${us(exact.total)}` : '') +
    `; proven gap ${pct(gap)}`;
  return { placement: placementFromOwners(G, L, E, best[1]), note, objective: obj, roundRobinObjective: value(rr), lowerBound: bestBound, gap };
}
