/**
 * Speculative expert loading (mixtral-offloading, Eliseev and Mazur 2023): after layer l's gate,
 * guess the experts of the next `lookahead` layers from the current state (the paper applies the
 * next layer's gate to the current hidden state; here a predictor: affinity or oracle with noise)
 * and prefetch the `experts` best guesses per layer, nearest layer first. Guesses are not cancelled.
 * With `buffers`, the guesses land in that many device buffers outside the cache (the paper's
 * speculative loads do not replace cached experts until the gate confirms them).
 */
import { defaultPerLayer, selectExperts, type PrefetchPolicy } from './types.js';

export interface SpeculativeParams {
  lookahead: number;
  experts?: number;
  /** Device buffers the guesses land in, outside the cache (PrefetchPolicy.buffers). */
  buffers?: number;
}

export function speculative(params: SpeculativeParams): PrefetchPolicy {
  let scores = new Float64Array(0);
  let list = new Int32Array(0);
  return {
    kind: 'speculative',
    cancelStale: false,
    buffers: params.buffers,
    plan(view, known, out) {
      if (known < 1) return;
      const E = view.numExperts;
      if (scores.length !== E) {
        scores = new Float64Array(E);
        list = new Int32Array(E);
      }
      const limit = defaultPerLayer(view, params.experts);
      const last = Math.min(view.numLayers - 1, known + params.lookahead - 1);
      for (let t = known; t <= last; t++) {
        const n = selectExperts(view, t, limit, scores, list);
        for (let i = 0; i < n; i++) out.add(t * E + list[i], t - known);
      }
    },
  };
}
