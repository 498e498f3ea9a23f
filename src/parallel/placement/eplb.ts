/**
 * DeepSeek's Expert Parallelism Load Balancer, its global policy: deepseek-ai/EPLB@57919718be1fbe2baca80a42a7df4de7119aaa95:eplb.py
 * (`rebalance_experts` with num_groups = num_nodes = 1, i.e. `rebalance_experts_hierarchical(weight,
 * num_replicas, 1, 1, num_gpus)`):
 * 1. `replicate_experts`: the R redundant replicas go, one at a time, to the expert of the largest
 *    load per replica (weight / logcnt).
 * 2. `balanced_packing`: the physical experts, heaviest first (load / replicas), each to the GPU of
 *    the least total load that still has a free slot; every GPU gets exactly (E + R) / G.
 * The load is the routes per expert on the training part of the trace. As in eplb.py, nothing keeps
 * two replicas of one expert off the same GPU. Tokens of a replicated expert are split over its
 * replicas evenly (the simulator's (token + slot) mod replicas).
 */
import { routeLoad } from './stats.js';
import { placementFromLists, type PlacementContext, type PlacementPlan } from './types.js';

/** eplb.py replicate_experts for one layer: replica count per expert. */
export function replicateExperts(load: ArrayLike<number>, numPhysical: number): Int32Array {
  const E = load.length;
  const cnt = new Int32Array(E).fill(1);
  for (let i = E; i < numPhysical; i++) {
    let best = 0;
    for (let e = 1; e < E; e++) if (load[e] / cnt[e] > load[best] / cnt[best]) best = e;
    cnt[best]++;
  }
  return cnt;
}

/** eplb.py balanced_packing for one layer: the pack of each item; every pack gets items.length / packs. */
export function balancedPacking(weight: ArrayLike<number>, packs: number): Int32Array {
  const n = weight.length;
  const per = n / packs;
  if (!Number.isInteger(per)) throw new Error(`${n} items do not pack evenly into ${packs}`);
  const pack = new Int32Array(n);
  if (per === 1) {
    for (let i = 0; i < n; i++) pack[i] = i;
    return pack;
  }
  // torch's sort(descending=True): ties in index order (stable here, as for distinct loads).
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => weight[b] - weight[a] || a - b);
  const w = new Float64Array(packs);
  const items = new Int32Array(packs);
  for (const i of order) {
    let best = -1;
    for (let p = 0; p < packs; p++) if (items[p] < per && (best < 0 || w[p] < w[best])) best = p;
    pack[i] = best;
    w[best] += weight[i];
    items[best]++;
  }
  return pack;
}

export function eplb(ctx: PlacementContext, spec: { redundantPerGpu: number }): PlacementPlan {
  const { trace, gpus: G } = ctx;
  const { numLayers: L, numExperts: E } = trace;
  const physical = E + spec.redundantPerGpu * G;
  // a GPU holds each expert of a layer at most once: more slots than experts would be replicas beside themselves
  if (physical > E * G) throw new Error(`redundantPerGpu: ${spec.redundantPerGpu} gives each GPU ${physical / G} expert slots per layer, more than the model's ${E} experts; expected at most ${Math.floor((E * (G - 1)) / G)}`);
  if (physical % G !== 0) throw new Error(`eplb: ${E} experts + ${spec.redundantPerGpu} x ${G} replicas do not split evenly over ${G} GPUs`);
  const load = routeLoad(trace, ctx.train);
  const lists: number[][] = [];
  for (let l = 0; l < L; l++) {
    const layer = load.subarray(l * E, (l + 1) * E);
    const cnt = replicateExperts(layer, physical);
    const phyExpert: number[] = [];
    const phyWeight: number[] = [];
    for (let e = 0; e < E; e++) for (let r = 0; r < cnt[e]; r++) {
      phyExpert.push(e);
      phyWeight.push(layer[e] / cnt[e]);
    }
    const pack = balancedPacking(phyWeight, G);
    for (let e = 0; e < E; e++) lists.push([]);
    for (let i = 0; i < phyExpert.length; i++) lists[l * E + phyExpert[i]].push(pack[i]);
  }
  return {
    placement: placementFromLists(G, L, E, physical / G, lists),
    note: `EPLB global policy: ${spec.redundantPerGpu} redundant replica${spec.redundantPerGpu === 1 ? '' : 's'} per GPU per layer (${physical / G} slots), packed by training load`,
  };
}
