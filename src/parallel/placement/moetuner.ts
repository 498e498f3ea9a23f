/**
 * MoETuner (Go & Mahajan, "MoETuner: Optimized Mixture of Expert Serving with Balanced Expert
 * Placement and Token Routing", arXiv 2502.06643): an ILP that places experts by token load
 * (balancing the tokens each GPU processes, since the slowest GPU sets the layer's time) and by the
 * inter-layer routing dependency (tokens routed to an expert in one layer go to a few experts in the
 * next; placing those together cuts cross-GPU routing). Both terms are priced in seconds from the
 * scenario's Costs and interconnect (PlacementContext), and the program is ilp.ts's, solved layer
 * by layer by HiGHS (the linearisation is described there). MoETuner's own weights between its
 * terms are not published in a form this reproduces; these are the modelled times.
 */
import { sequentialPlacement } from './sequential.js';
import type { PlacementContext, PlacementPlan } from './types.js';

export function moetuner(ctx: PlacementContext, spec: { maxNodes: number; relGap: number }): Promise<PlacementPlan> {
  return sequentialPlacement(ctx, { name: 'MoETuner ILP', wLoad: ctx.computeSecPerToken, wCross: ctx.crossSecPerToken, maxNodes: spec.maxNodes, relGap: spec.relGap, firstRoundRobin: false });
}
