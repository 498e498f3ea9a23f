/**
 * Predictor accuracy per lookahead distance. Tokens are replayed one at a time in trace order (as
 * batch-1 decoding sees them); before each token's layer `known` (0 = before its forward pass) the
 * predictor is asked about layers known .. known + maxLookahead - 1; lookahead d = layer - known + 1
 * (d = 1: the next layer, what a pre-gate predicts). Online predictors learn from each token after
 * it is evaluated.
 *
 *   predicted set: the experts scoring > 0 (set-valued predictors), else the topK best scoring > 0;
 *   precision = |predicted ∩ true| / |predicted|, recall = |predicted ∩ true| / |true| (summed over
 *   all questions, then divided); top-k accuracy = share of true experts among the topK best scores.
 */
import type { Trace } from '../trace/types.js';
import type { RoutingPredictor } from './types.js';
import { TraceView } from './trace-view.js';
import { topExperts } from './top.js';

export interface LookaheadAccuracy {
  lookahead: number;
  /** (token, layer) questions asked at this distance. */
  samples: number;
  precision: number;
  recall: number;
  topKAccuracy: number;
}

export interface EvaluationOptions {
  /** Sequences of `trace` to evaluate on (indices), in order. */
  sequences: readonly number[];
  online: boolean;
  maxLookahead: number;
  /** Stop after this many tokens. */
  maxTokens: number;
  numExperts: number;
}

export interface Evaluation {
  tokens: number;
  perLookahead: LookaheadAccuracy[];
}

export function evaluatePredictor(p: RoutingPredictor, trace: Trace, opts: EvaluationOptions): Evaluation {
  const L = trace.numLayers;
  const E = opts.numExperts;
  const K = trace.topK;
  const D = Math.max(1, Math.min(opts.maxLookahead, L));
  const view = new TraceView(trace, E);
  const predicted = new Float64Array(D + 1);
  const hits = new Float64Array(D + 1);
  const actual = new Float64Array(D + 1);
  const topHits = new Float64Array(D + 1);
  const samples = new Float64Array(D + 1);
  const scores = new Float64Array(E);
  const isTrue = new Uint8Array(E);
  const truth = new Int32Array(K);
  const order = new Int32Array(E);
  let tokens = 0;
  outer: for (const s of opts.sequences) {
    const seq = trace.sequences[s];
    for (let pos = 0; pos < seq.length; pos++) {
      if (tokens >= opts.maxTokens) break outer;
      const token = seq.start + pos;
      tokens++;
      for (let known = 0; known < L; known++) {
        p.condition(view, token, known);
        for (let t = known; t < L && t - known < D; t++) {
          const d = t - known + 1;
          const n = view.experts(token, t, truth);
          if (n === 0) continue;
          isTrue.fill(0);
          let nTrue = 0;
          for (let i = 0; i < n; i++) if (!isTrue[truth[i]]) (isTrue[truth[i]] = 1), nTrue++;
          p.scores(t, scores);
          let nPred = 0;
          let tp = 0;
          if (p.setValued) {
            for (let e = 0; e < E; e++) {
              if (!(scores[e] > 0)) continue;
              nPred++;
              if (isTrue[e]) tp++;
            }
          } else {
            nPred = topExperts(scores, Math.min(K, E), order, true);
            for (let r = 0; r < nPred; r++) if (isTrue[order[r]]) tp++;
          }
          // Top-k accuracy: the K best scores, zeros included (ties to the lower id).
          const nTop = topExperts(scores, Math.min(K, E), order);
          let top = 0;
          for (let r = 0; r < nTop; r++) if (isTrue[order[r]]) top++;
          samples[d]++;
          predicted[d] += nPred;
          hits[d] += tp;
          actual[d] += nTrue;
          topHits[d] += top;
        }
      }
      if (opts.online) p.learn(view, token);
      view.observe(token);
    }
  }
  const perLookahead: LookaheadAccuracy[] = [];
  for (let d = 1; d <= D; d++) {
    perLookahead.push({
      lookahead: d,
      samples: samples[d],
      precision: predicted[d] > 0 ? hits[d] / predicted[d] : 0,
      recall: actual[d] > 0 ? hits[d] / actual[d] : 0,
      topKAccuracy: actual[d] > 0 ? topHits[d] / actual[d] : 0,
    });
  }
  return { tokens, perLookahead };
}
