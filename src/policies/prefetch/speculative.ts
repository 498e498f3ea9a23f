/**
 * Speculative expert loading (mixtral-offloading, Eliseev and Mazur 2023): after layer l's gate,
 * guess the experts of the next `lookahead` layers from the current state (the paper applies the
 * next layer's gate to the current hidden state; here a predictor: affinity or oracle with noise)
 * and prefetch the `experts` best guesses per layer, nearest layer first. Guesses are not cancelled.
 */
import { defaultPerLayer, selectExperts, type PrefetchPolicy } from './types.js';

export interface SpeculativeParams {
  lookahead: number;
  experts?: number;
}

export function speculative(params: SpeculativeParams): PrefetchPolicy {
  let scores = new Float64Array(0);
  let list = new Int32Array(0);
  return {
    kind: 'speculative',
    cancelStale: false,
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
