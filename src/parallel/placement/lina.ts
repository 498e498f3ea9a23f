/**
 * Lina-like dynamic re-placement (Li et al., "Accelerating Distributed MoE Training and Inference
 * with Lina", USENIX ATC 2023: at inference, expert popularity is estimated at run time and the
 * placement of experts on devices is adjusted to it). moesim's version: every `intervalSteps` decode
 * steps, each layer's experts are re-packed over the GPUs by the load seen since the last plan
 * (EPLB's balanced packing, eplb.ts, without replicas), and each new pack goes to the GPU it shares
 * the most experts with, so that few experts move. The simulator charges every moved expert as a
 * peer copy of its weights over the interconnect before the step (the migration cost). Lina's
 * finer mechanisms (scheduling by predicted popularity inside a batch, replicating hot experts onto
 * idle devices) are not modelled.
 */
import { balancedPacking } from './eplb.js';
import { routeLoad } from './stats.js';
import { ownersOf, placementFromOwners, type Placement, type PlacementContext, type PlacementPlan } from './types.js';

/** Re-packs every layer by `load` and relabels the packs to keep experts where `current` has them. */
export function repack(load: Float64Array, current: Placement): Placement {
  const { gpus: G, numLayers: L, numExperts: E } = current;
  const prev = ownersOf(current);
  const owner = new Int32Array(L * E);
  const overlap = new Int32Array(G * G);
  for (let l = 0; l < L; l++) {
    const pack = balancedPacking(load.subarray(l * E, (l + 1) * E), G);
    overlap.fill(0);
    for (let e = 0; e < E; e++) overlap[pack[e] * G + prev[l * E + e]]++;
    // Greedy matching of packs to GPUs by shared experts (largest first; ties: lower pack, lower GPU).
    const packTo = new Int32Array(G).fill(-1);
    const taken = new Uint8Array(G);
    for (let round = 0; round < G; round++) {
      let bp = -1, bg = -1, bv = -1;
      for (let p = 0; p < G; p++) {
        if (packTo[p] >= 0) continue;
        for (let g = 0; g < G; g++) if (taken[g] === 0 && overlap[p * G + g] > bv) { bp = p; bg = g; bv = overlap[p * G + g]; }
      }
      packTo[bp] = bg;
      taken[bg] = 1;
    }
    for (let e = 0; e < E; e++) owner[l * E + e] = packTo[pack[e]];
  }
  return placementFromOwners(G, L, E, owner);
}

export function lina(ctx: PlacementContext, spec: { intervalSteps: number }): PlacementPlan {
  const { trace, gpus: G } = ctx;
  const { numLayers: L, numExperts: E } = trace;
  if (E % G !== 0) throw new Error(`lina: ${E} experts do not split evenly over ${G} GPUs`);
  const start = new Int32Array(L * E);
  for (let k = 0; k < L * E; k++) start[k] = k % E % G;
  const placement = repack(routeLoad(trace, ctx.train), placementFromOwners(G, L, E, start));
  return {
    placement,
    note: `Lina-like: balanced by training load, re-packed every ${spec.intervalSteps} steps by the load since the last plan; moved experts copied over the interconnect`,
    dynamic: { intervalSteps: spec.intervalSteps, replan: repack },
  };
}
