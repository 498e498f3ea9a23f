/**
 * Pre-gated MoE (Hwang et al., ISCA 2024): a pre-gate in MoE block l selects block l+1's experts,
 * so they are fetched while block l computes. Modelled as: after layer l's gate, fetch layer l+1's
 * experts as given by an oracle with precision = recall = accuracy (1.0 = the paper's pre-gate,
 * which decides the next block's experts exactly). The first MoE layer has no pre-gate before it and
 * is fetched on demand. Wrong guesses are not cancelled.
 */
import { selectExperts, type PrefetchPolicy } from './types.js';

export function pregated(): PrefetchPolicy {
  let scores = new Float64Array(0);
  let list = new Int32Array(0);
  return {
    kind: 'pregated',
    cancelStale: false,
    plan(view, known, out) {
      if (known < 1 || known >= view.numLayers) return;
      if (scores.length !== view.numExperts) {
        scores = new Float64Array(view.numExperts);
        list = new Int32Array(view.numExperts);
      }
      const n = selectExperts(view, known, view.numExperts, scores, list);
      for (let i = 0; i < n; i++) out.add(known * view.numExperts + list[i], 0);
    },
  };
}
