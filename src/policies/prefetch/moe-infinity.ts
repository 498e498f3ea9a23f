/**
 * MoE-Infinity (Xue et al., 2024): activation-aware prefetching. At the start of the pass and after
 * each gate, the activation-matrix predictor scores the experts of all remaining layers; each gets
 * priority score x (1 - (layer - known) / numLayers) (the layer-distance decay: nearer layers
 * first) and the best `experts` per layer are fetched in priority order into a (usually global)
 * cache. The queue is re-planned after each gate: prefetches the new plan drops are cancelled if
 * they have not started.
 */
import { defaultPerLayer, selectExperts, type PrefetchPolicy } from './types.js';

export interface MoeInfinityParams {
  experts?: number;
  /** Plan at most this many layers ahead (default: all remaining). */
  lookahead?: number;
  /** Apply the layer-distance decay (false: rank by score alone). */
  decay: boolean;
}

export function moeInfinity(params: MoeInfinityParams): PrefetchPolicy {
  let scores = new Float64Array(0);
  let list = new Int32Array(0);
  let keys = new Int32Array(0);
  let prio = new Float64Array(0);
  let order = new Int32Array(0);
  return {
    kind: 'moe-infinity',
    cancelStale: true,
    plan(view, known, out) {
      const L = view.numLayers;
      const E = view.numExperts;
      if (scores.length !== E) {
        scores = new Float64Array(E);
        list = new Int32Array(E);
        keys = new Int32Array(L * E);
        prio = new Float64Array(L * E);
        order = new Int32Array(L * E);
      }
      const limit = defaultPerLayer(view, params.experts);
      let m = 0;
      const end = Math.min(L, known + (params.lookahead ?? L));
      for (let t = known; t < end; t++) {
        const n = selectExperts(view, t, limit, scores, list);
        const decay = params.decay ? 1 - (t - known) / L : 1;
        for (let i = 0; i < n; i++) {
          keys[m] = t * E + list[i];
          prio[m++] = scores[list[i]] * decay;
        }
      }
      // Highest priority first; ties to the nearer layer, then the lower expert (key order).
      // Insertion sort: m is at most (layers left) x (experts per layer), and mostly in order.
      for (let i = 0; i < m; i++) {
        const p = prio[i];
        const k = keys[i];
        let j = i;
        while (j > 0 && (prio[order[j - 1]] < p || (prio[order[j - 1]] === p && keys[order[j - 1]] > k))) {
          order[j] = order[j - 1];
          j--;
        }
        order[j] = i;
      }
      for (let r = 0; r < m; r++) out.add(keys[order[r]], r);
    },
  };
}
