/**
 * The placement objective moesim's ILP placements minimise, and the yardstick the property tests
 * compare placements with, on a token range:
 *
 *   J = sum over layers l of  computeSecPerToken * (routes to the busiest GPU of layer l)
 *                           + crossSecPerToken * (routes of layer l that leave the GPUs of the
 *                                                 token's experts in layer l - 1)
 *
 * The first term is MoETuner's token-load balance (the slowest GPU sets the layer's time); the
 * second its (and ExFlow's) inter-layer routing dependency: a token whose next expert sits on a GPU
 * that already holds the token's hidden state needs no transfer. Single-replica placements only.
 */
import { NO_EXPERT, type Trace } from '../../trace/types.js';
import type { TokenRange } from './types.js';

export interface ObjectiveWeights {
  computeSecPerToken: number;
  crossSecPerToken: number;
}

export interface ObjectiveParts {
  /** Per layer: routes to its busiest GPU. */
  maxLoad: Float64Array;
  /** Per layer: routes leaving the previous layer's GPUs (0 for layer 0). */
  crossRoutes: Float64Array;
  /** J in seconds. */
  totalSec: number;
}

/** Routes of layer l to expert e whose token held no GPU g in layer l - 1: `cost[e * G + g]`. */
export function crossCost(trace: Trace, range: TokenRange, l: number, prevOwner: ArrayLike<number>, gpus: number): Float64Array {
  const { numLayers: L, numExperts: E, topK: K, experts } = trace;
  const cost = new Float64Array(E * gpus);
  if (l === 0) return cost;
  const held = new Uint8Array(gpus);
  for (let t = range.from; t < range.to; t++) {
    const prev = (t * L + l - 1) * K;
    const cur = (t * L + l) * K;
    held.fill(0);
    let any = false;
    for (let k = 0; k < K; k++) {
      const a = experts[prev + k];
      if (a !== NO_EXPERT) {
        held[prevOwner[(l - 1) * E + a]] = 1;
        any = true;
      }
    }
    if (!any) continue;
    for (let k = 0; k < K; k++) {
      const b = experts[cur + k];
      if (b === NO_EXPERT) continue;
      for (let g = 0; g < gpus; g++) if (held[g] === 0) cost[b * gpus + g]++;
    }
  }
  return cost;
}

/** J and its parts for the single-replica placement `owner[key]`. */
export function placementObjective(trace: Trace, range: TokenRange, owner: ArrayLike<number>, gpus: number, w: ObjectiveWeights, load: Float64Array): ObjectiveParts {
  const { numLayers: L, numExperts: E } = trace;
  const maxLoad = new Float64Array(L);
  const crossRoutes = new Float64Array(L);
  const perGpu = new Float64Array(gpus);
  let totalSec = 0;
  for (let l = 0; l < L; l++) {
    perGpu.fill(0);
    for (let e = 0; e < E; e++) perGpu[owner[l * E + e]] += load[l * E + e];
    let m = 0;
    for (let g = 0; g < gpus; g++) if (perGpu[g] > m) m = perGpu[g];
    maxLoad[l] = m;
    if (l > 0) {
      const c = crossCost(trace, range, l, owner, gpus);
      let x = 0;
      for (let e = 0; e < E; e++) x += c[e * gpus + owner[l * E + e]];
      crossRoutes[l] = x;
    }
    totalSec += w.computeSecPerToken * m + w.crossSecPerToken * crossRoutes[l];
  }
  return { maxLoad, crossRoutes, totalSec };
}
