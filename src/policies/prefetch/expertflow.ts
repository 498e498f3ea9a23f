/**
 * ExpertFlow (He et al., 2024): predict the token's whole routing path before its forward pass,
 * plan the cache across layers, and correct at run time. Modelled as: at the start of the pass, plan
 * the `experts` best-scored experts of every MoE layer (nearest layer first; planned residents are
 * pinned so later prefetches do not evict them). When a gate agrees with the plan, the plan stands;
 * when it disagrees, the gate's true experts are fetched at demand priority ahead of every prefetch,
 * and the remaining layers are re-planned with what is now known: queued prefetches the new plan
 * drops are cancelled (their slots freed).
 */
import { defaultPerLayer, selectExperts, type PrefetchPolicy } from './types.js';

export interface ExpertFlowParams {
  experts?: number;
  /** Plan at most this many layers ahead (default: all remaining). */
  lookahead?: number;
}

export function expertflow(params: ExpertFlowParams): PrefetchPolicy {
  let scores = new Float64Array(0);
  let list = new Int32Array(0);
  return {
    kind: 'expertflow',
    cancelStale: true,
    plan(view, known, out) {
      if (known > 0 && view.gateAgreed) return false;
      const E = view.numExperts;
      if (scores.length !== E) {
        scores = new Float64Array(E);
        list = new Int32Array(E);
      }
      const limit = defaultPerLayer(view, params.experts);
      const end = Math.min(view.numLayers, known + (params.lookahead ?? view.numLayers));
      for (let t = known; t < end; t++) {
        const n = selectExperts(view, t, limit, scores, list);
        for (let i = 0; i < n; i++) out.add(t * E + list[i], t - known);
      }
    },
  };
}
