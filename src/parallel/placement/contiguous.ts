import { placementFromOwners, type Placement, type PlacementContext, type PlacementPlan } from './types.js';

/**
 * Experts [g E/G, (g+1) E/G) of every layer on GPU g: Megatron-LM's expert parallelism, where EP rank r
 * holds local experts r x num_local_experts + i (NVIDIA/Megatron-LM@001199898c4badd01eaf0785c212d8ed7ce83042
 * megatron/core/transformer/moe/moe_layer.py, BaseMoELayer: local_expert_indices_offset = ep_rank *
 * num_local_experts). MoETuner's baseline ("Megatron-LM's contiguous expert placement") and ExFlow's
 * vanilla_placement (YJHMITWEB/ExFlow@a1b5c455 solve_affinity.py).
 */
export function contiguousPlacement(gpus: number, numLayers: number, numExperts: number): Placement {
  const per = numExperts / gpus;
  const owner = new Int32Array(numLayers * numExperts);
  for (let l = 0; l < numLayers; l++) for (let e = 0; e < numExperts; e++) owner[l * numExperts + e] = Math.floor(e / per);
  return placementFromOwners(gpus, numLayers, numExperts, owner);
}

export function contiguous(ctx: PlacementContext): PlacementPlan {
  const { trace, gpus } = ctx;
  return { placement: contiguousPlacement(gpus, trace.numLayers, trace.numExperts), note: `experts [g x ${trace.numExperts / gpus}, (g+1) x ${trace.numExperts / gpus}) on GPU g (Megatron-LM)` };
}
