/**
 * Expert placement: which GPUs hold each (MoE layer, expert). A placement policy decides from the
 * training part of the trace; the simulator (src/parallel/ep-sim.ts) charges the time. Experts are
 * keyed layer * numExperts + expert, as in src/policies/.
 */
import type { Trace } from '../../trace/types.js';

export interface Placement {
  gpus: number;
  numLayers: number;
  numExperts: number;
  /** Expert slots per GPU per layer (the capacity every GPU must respect). */
  slotsPerGpu: number;
  /** Replicas of key k are on GPUs repGpu[repStart[k] .. repStart[k + 1]). */
  repStart: Int32Array;
  repGpu: Int32Array;
}

/** Tokens [from, to) of the trace, in its token order. */
export interface TokenRange {
  from: number;
  to: number;
}

export interface PlacementContext {
  trace: Trace;
  /** The training part of the trace. */
  train: TokenRange;
  gpus: number;
  gpusPerNode: number;
  /**
   * The objective's prices, in seconds (from the Costs and the collective model): GPU time of one
   * more token through one expert, and the time of one token's hidden state crossing GPUs.
   */
  computeSecPerToken: number;
  crossSecPerToken: number;
  /** One token's hidden state between GPUs of different nodes (absent: crossSecPerToken); MoETuner's ILP 2 prices GPU pairs by it. */
  crossInterSecPerToken?: number;
}

/** A dynamic placement: re-planned every `intervalSteps` steps from the load seen since the last plan. */
export interface DynamicPlacement {
  intervalSteps: number;
  /** `load[key]`: routes to each key since the last plan. */
  replan(load: Float64Array, current: Placement): Placement;
}

export interface PlacementPlan {
  placement: Placement;
  /** One line on how it was computed (solver status, fallbacks). */
  note: string;
  dynamic?: DynamicPlacement;
}

/** Builds a Placement from, per key, the list of GPUs holding it. */
export function placementFromLists(gpus: number, numLayers: number, numExperts: number, slotsPerGpu: number, lists: number[][]): Placement {
  const n = numLayers * numExperts;
  const repStart = new Int32Array(n + 1);
  let total = 0;
  for (let k = 0; k < n; k++) {
    repStart[k] = total;
    total += lists[k].length;
  }
  repStart[n] = total;
  const repGpu = new Int32Array(total);
  for (let k = 0; k < n; k++) repGpu.set(lists[k], repStart[k]);
  return { gpus, numLayers, numExperts, slotsPerGpu, repStart, repGpu };
}

/** A placement with one replica per expert: `gpuOf[key]`. */
export function placementFromOwners(gpus: number, numLayers: number, numExperts: number, gpuOf: ArrayLike<number>): Placement {
  const lists: number[][] = [];
  for (let k = 0; k < numLayers * numExperts; k++) lists.push([gpuOf[k]]);
  return placementFromLists(gpus, numLayers, numExperts, Math.ceil(numExperts / gpus), lists);
}

/** The first replica's GPU of every key (the owner, for single-replica placements). */
export function ownersOf(p: Placement): Int32Array {
  const n = p.numLayers * p.numExperts;
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) out[k] = p.repGpu[p.repStart[k]];
  return out;
}

/** Expert slots used on GPU g in layer l. */
export function slotsUsed(p: Placement, l: number, g: number): number {
  let n = 0;
  for (let e = 0; e < p.numExperts; e++) {
    const k = l * p.numExperts + e;
    for (let r = p.repStart[k]; r < p.repStart[k + 1]; r++) if (p.repGpu[r] === g) n++;
  }
  return n;
}
