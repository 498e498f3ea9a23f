import { placementFromOwners, type Placement, type PlacementContext, type PlacementPlan } from './types.js';

/** Expert e of every layer on GPU e mod G: what expert-parallel runtimes do without a placement policy. */
export function roundRobinPlacement(gpus: number, numLayers: number, numExperts: number): Placement {
  const owner = new Int32Array(numLayers * numExperts);
  for (let l = 0; l < numLayers; l++) for (let e = 0; e < numExperts; e++) owner[l * numExperts + e] = e % gpus;
  return placementFromOwners(gpus, numLayers, numExperts, owner);
}

export function roundRobin(ctx: PlacementContext): PlacementPlan {
  const { trace, gpus } = ctx;
  return { placement: roundRobinPlacement(gpus, trace.numLayers, trace.numExperts), note: 'expert e on GPU e mod G' };
}
