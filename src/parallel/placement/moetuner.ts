/**
 * MoETuner (Go & Mahajan, "MoETuner: Optimized Mixture of Expert Serving with Balanced Expert
 * Placement and Token Routing", arXiv 2502.06643): an ILP that places experts by token load
 * (balancing the tokens each GPU processes, since the slowest GPU sets the layer's time) and by the
 * inter-layer routing dependency (tokens routed to an expert in one layer go to a few experts in the
 * next; placing those together cuts cross-GPU routing). Both terms are priced in seconds from the
 * scenario's Costs and interconnect (PlacementContext). MoETuner's own weights between its terms
 * are not published in a form this reproduces; these are the modelled times.
 *
 * `program: joint` (default) solves the one program over all layers (joint.ts): the per-layer
 * solution (ilp.ts, each layer given the one before) is the start, improved by block-coordinate
 * descent (each layer re-solved with both neighbours fixed), then handed to HiGHS as the incumbent
 * of the joint ILP, which stops at `relGap` or `jointMaxNodes` branch-and-bound nodes
 * (deterministic). The note reports HiGHS's status, incumbent, dual bound and gap. The placement
 * returned is the best of (HiGHS's incumbent, the improved start, the per-layer start, round-robin)
 * on the joint objective of the training tokens, so it is never worse than round-robin's there.
 * `program: per-layer` is the per-layer program alone (objective.ts's held-GPU crossings).
 */
import { chainOptimum } from './chain-dp.js';
import { improveByLayers, jointObjective, solveJoint, type JointProgram } from './joint.js';
import { roundRobinPlacement } from './round-robin.js';
import { sequentialPlacement } from './sequential.js';
import { layerFlow, routeLoad } from './stats.js';
import { ownersOf, placementFromOwners, type PlacementContext, type PlacementPlan } from './types.js';

export interface MoETunerSpec {
  maxNodes: number;
  relGap: number;
  program?: 'joint' | 'per-layer';
  jointMaxNodes?: number;
  timeLimitSec?: number;
}

/** Seconds as solver coefficients: nanoseconds. */
const NS = 1e9;

export async function moetuner(ctx: PlacementContext, spec: MoETunerSpec): Promise<PlacementPlan> {
  const per = await sequentialPlacement(ctx, { name: 'MoETuner ILP', wLoad: ctx.computeSecPerToken, wCross: ctx.crossSecPerToken, maxNodes: spec.maxNodes, relGap: spec.relGap, firstRoundRobin: false });
  if ((spec.program ?? 'joint') === 'per-layer') return per;
  return moetunerJoint(ctx, spec, ownersOf(per.placement));
}

export async function moetunerJoint(ctx: PlacementContext, spec: MoETunerSpec, perLayer: Int32Array): Promise<PlacementPlan & { objective: number; roundRobinObjective: number }> {
  const { trace, gpus: G, train } = ctx;
  const { numLayers: L, numExperts: E } = trace;
  const prog: JointProgram = {
    numLayers: L,
    numExperts: E,
    gpus: G,
    load: routeLoad(trace, train),
    flow: layerFlow(trace, train),
    wLoad: ctx.computeSecPerToken * NS,
    wCross: ctx.crossSecPerToken * NS,
    maxNodes: spec.maxNodes,
    relGap: spec.relGap,
  };
  const rr = ownersOf(roundRobinPlacement(G, L, E));
  const value = (o: ArrayLike<number>) => jointObjective(prog, o).total;
  const start = value(perLayer) <= value(rr) ? perLayer : rr;
  const improved = await improveByLayers(prog, start, 8);
  const sol = await solveJoint({ ...prog, start: improved.owner, maxNodes: spec.jointMaxNodes ?? 200, ...(spec.timeLimitSec !== undefined ? { timeLimitSec: spec.timeLimitSec } : {}) });
  const candidates: [string, Int32Array][] = [['round-robin', rr], ['per-layer', perLayer], ['per-layer + descent', improved.owner]];
  if (sol.owner) candidates.push(['HiGHS incumbent', sol.owner]);
  let best = candidates[0];
  for (const c of candidates) if (value(c[1]) < value(best[1]) - 1e-9 * Math.abs(value(best[1]))) best = c;
  const us = (v: number) => `${(v / NS * 1e6).toFixed(1)} us`;
  const bound = Number.isFinite(sol.dualBound) ? `, dual bound ${us(sol.dualBound)}, gap ${(sol.gap * 100).toFixed(2)}%` : '';
  const note =
    `MoETuner joint ILP (HiGHS, ${sol.columns} columns, ${sol.rows} rows): ${sol.status} after ${sol.nodes} nodes${bound}; ` +
    `objective ${us(value(best[1]))} (${best[0]}) vs per-layer ${us(value(perLayer))}, after ${improved.sweeps} descent sweep${improved.sweeps === 1 ? '' : 's'} ${us(value(improved.owner))}, round-robin ${us(value(rr))} on the training tokens`;
  // Where a layer has few balanced assignments, the exact optimum (chain-dp.ts) says how far the placement is from it.
  const exact = chainOptimum(prog);
  const certificate = exact ? `; exact optimum by dynamic programming over the layers (${exact.statesPerLayer} assignments a layer) ${us(exact.total)}, the placement ${(((value(best[1]) - exact.total) / exact.total) * 100).toFixed(2)}% above it` : '';
  return { placement: placementFromOwners(G, L, E, best[1]), note: note + certificate, objective: value(best[1]), roundRobinObjective: value(rr) };
}
