/**
 * ExFlow (Yao et al., "Exploiting Inter-Layer Expert Affinity for Accelerating Mixture-of-Experts
 * Model Inference", IPDPS 2024, arXiv 2401.08383): place each layer's experts on the GPUs that hold
 * the experts its tokens came from in the layer before, so that a token stays on one GPU across
 * layers. The paper solves an integer program over the measured conditional routing P(E_{l+1} | E_l)
 * with an equal number of experts per GPU; here that program is ilp.ts's, with the load term off
 * (affinity only; the assignment constraints make it an integral transportation problem), solved
 * layer after layer with layer 0 round-robin. ExFlow's context-coherent runtime (one all-to-all per
 * layer instead of two) is not modelled: its placement runs on the scenario's attention mode.
 */
import { sequentialPlacement } from './sequential.js';
import type { PlacementContext, PlacementPlan } from './types.js';

export function exflow(ctx: PlacementContext, spec: { maxNodes: number; relGap: number }): Promise<PlacementPlan> {
  return sequentialPlacement(ctx, { name: 'ExFlow affinity', wLoad: 0, wCross: ctx.crossSecPerToken, maxNodes: spec.maxNodes, relGap: spec.relGap, firstRoundRobin: true });
}
