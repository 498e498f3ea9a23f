/**
 * Inter-layer affinity: P(expert j at layer l+d | expert i at layer l), counted over observed
 * tokens for d = 1..maxDistance (the property ExFlow and MoETuner exploit). Given the token's experts
 * S at its last computed layer l, expert j at layer l+d scores the mean over i in S of
 * (count(i at l, j at l+d) + prior_j) / (count(i at l) + 1), where prior_j is j's popularity at l+d;
 * farther targets, and targets before any layer is known, score their popularity.
 */
import { LayerFrequency } from './popularity.js';
import type { PredictorContext, RoutingPredictor } from './types.js';
import type { TraceView } from './trace-view.js';

export interface AffinityParams {
  maxDistance: number;
}

export function affinity(ctx: PredictorContext, params: AffinityParams): RoutingPredictor {
  const { numLayers: L, numExperts: E, topK: K } = ctx;
  const D = Math.max(1, Math.min(params.maxDistance, L - 1));
  const EE = E * E;
  // trans[((d - 1) * L + l) * E * E + i * E + j]
  const trans = new Float64Array(D * L * EE);
  const freq = new LayerFrequency(L, E, K);
  const source = new Int32Array(K);
  const a1 = new Int32Array(K);
  const a2 = new Int32Array(K);
  let sourceCount = 0;
  let sourceLayer = -1;
  return {
    kind: 'affinity',
    setValued: false,
    condition(view, token, known) {
      sourceLayer = known - 1;
      sourceCount = sourceLayer >= 0 ? view.experts(token, sourceLayer, source) : 0;
    },
    scores(layer, out) {
      const d = layer - sourceLayer;
      if (sourceCount === 0 || d < 1 || d > D) {
        freq.scores(layer, out);
        return;
      }
      out.fill(0);
      const base = ((d - 1) * L + sourceLayer) * EE;
      for (let s = 0; s < sourceCount; s++) {
        const i = source[s];
        const from = freq.counts[sourceLayer * E + i];
        const row = base + i * E;
        for (let j = 0; j < E; j++) out[j] += (trans[row + j] + freq.score(layer, j)) / (from + 1);
      }
      for (let j = 0; j < E; j++) out[j] = Math.min(1, out[j] / sourceCount);
    },
    learn(view, token) {
      freq.add(view, token);
      for (let l = 0; l < L - 1; l++) {
        const n = view.experts(token, l, a1);
        if (n === 0) continue;
        for (let d = 1; d <= D && l + d < L; d++) {
          const m = view.experts(token, l + d, a2);
          const base = ((d - 1) * L + l) * EE;
          for (let a = 0; a < n; a++) for (let b = 0; b < m; b++) trans[base + a1[a] * E + a2[b]]++;
        }
      }
    },
    parameterCount: () => D * (L - 1) * EE - (D * (D - 1) / 2) * EE + L * E,
  };
}
