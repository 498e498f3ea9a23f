/**
 * Prefetch policies decide which experts to bring to the GPU ahead of their gate; the simulator
 * moves the bytes. At the start of each forward pass (known = 0) and after each MoE layer's gate
 * (known = l + 1), a policy reads the predictor's scores for later layers and writes a plan: keys
 * (layer * numExperts + expert, layer >= known) in the order they should be fetched, with a
 * priority (0 = most urgent). The simulator reconciles the plan with what is resident or in flight:
 * new keys are fetched (a cache slot is reserved at issue and locked until the transfer ends),
 * planned residents are pinned until their layer's gate, and, if the policy says so, queued
 * prefetches the plan no longer names are cancelled. Prefetches always queue behind demand fetches.
 */
import { topExperts } from '../../predictors/top.js';
import type { PrefetchKind } from '../spec.js';

export interface PrefetchView {
  readonly numLayers: number;
  readonly numExperts: number;
  readonly topK: number;
  /** Tokens in the current step (forward pass). */
  readonly stepTokens: number;
  /** Scores are set membership (oracle): take every expert that scores > 0. */
  readonly setValued: boolean;
  /**
   * Whether the last gate (layer known - 1) chose exactly the experts the current plan named for it.
   * False at the start of a pass.
   */
  readonly gateAgreed: boolean;
  /** Sum over the step's tokens of the predictor's score of each expert at `layer` (>= known). */
  scores(layer: number, out: Float64Array): void;
}

export interface PrefetchPlan {
  add(key: number, priority: number): void;
}

export interface PrefetchPolicy {
  readonly kind: PrefetchKind;
  /** Cancel queued prefetches that a new plan no longer names (ExpertFlow's real-time correction). */
  readonly cancelStale: boolean;
  /**
   * Prefetches land in this many device buffers outside the expert cache instead of cache slots
   * (mixtral-offloading's speculative loading): a prefetch evicts nothing; at its layer's gate a
   * buffered expert the router chose is admitted to the cache (its victim evicted then) and
   * computed from the buffer, one it did not choose is dropped. Undefined: into cache slots.
   */
  readonly buffers?: number;
  /** Writes the new plan; returns false to keep the current plan as it is (then `out` is ignored). */
  plan(view: PrefetchView, known: number, out: PrefetchPlan): boolean | void;
}

/**
 * The experts to prefetch at `layer`: those scoring > 0, best first (ties to the lower id), at most
 * `limit` of them (no limit for set-valued predictors). Writes them to `out`; returns the count.
 */
export function selectExperts(view: PrefetchView, layer: number, limit: number, scores: Float64Array, out: Int32Array): number {
  view.scores(layer, scores);
  return topExperts(scores, view.setValued ? view.numExperts : Math.min(limit, view.numExperts), out, true);
}

/** Default experts planned per layer: what the step's tokens activate at most (K per token). */
export function defaultPerLayer(view: PrefetchView, experts: number | undefined): number {
  return Math.min(view.numExperts, experts ?? view.topK * view.stepTokens);
}
