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
 *
 * beforePass: every layer asked at known = 0 (before the token's forward pass, whatever
 * maxLookahead), the question ExpertFlow's routing path predictor answers; layerMeanRecall is
 * ExpertFlow's B_acc at batch 1 (arXiv 2410.17954v2 §4.3.3): per layer, hits / true experts
 * pooled over tokens, then the mean over the layers that had any.
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

export interface BeforePassAccuracy {
  /** (token, layer) questions: every layer of every token, asked before its forward pass. */
  samples: number;
  precision: number;
  recall: number;
  /** The mean over layers of each layer's recall (ExpertFlow's B_acc at batch 1). */
  layerMeanRecall: number;
}

export interface Evaluation {
  tokens: number;
  perLookahead: LookaheadAccuracy[];
  beforePass: BeforePassAccuracy;
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
  // Before the pass (known = 0), per layer.
  const bpPredicted = new Float64Array(L);
  const bpHits = new Float64Array(L);
  const bpActual = new Float64Array(L);
  let bpSamples = 0;
  /** Marks `token`'s experts at `t` in isTrue; their number (0: no routing at that layer). */
  const markTruth = (token: number, t: number): number => {
    const n = view.experts(token, t, truth);
    isTrue.fill(0);
    let nTrue = 0;
    for (let i = 0; i < n; i++) if (!isTrue[truth[i]]) (isTrue[truth[i]] = 1), nTrue++;
    return nTrue;
  };
  /** The predicted set's size (scores already in `scores`); its hits against isTrue in `tp`. */
  let tp = 0;
  const predictedSet = (): number => {
    let nPred = 0;
    tp = 0;
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
    return nPred;
  };
  let tokens = 0;
  outer: for (const s of opts.sequences) {
    const seq = trace.sequences[s];
    for (let pos = 0; pos < seq.length; pos++) {
      if (tokens >= opts.maxTokens) break outer;
      const token = seq.start + pos;
      tokens++;
      for (let known = 0; known < L; known++) {
        p.condition(view, token, known);
        for (let t = known; t < L && (t - known < D || known === 0); t++) {
          const d = t - known + 1;
          const nTrue = markTruth(token, t);
          if (nTrue === 0) continue;
          p.scores(t, scores);
          const nPred = predictedSet();
          if (known === 0) {
            bpSamples++;
            bpPredicted[t] += nPred;
            bpHits[t] += tp;
            bpActual[t] += nTrue;
          }
          if (d > D) continue;
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
  let sumPred = 0;
  let sumHits = 0;
  let sumActual = 0;
  let layerRecall = 0;
  let layers = 0;
  for (let t = 0; t < L; t++) {
    sumPred += bpPredicted[t];
    sumHits += bpHits[t];
    sumActual += bpActual[t];
    if (bpActual[t] > 0) (layerRecall += bpHits[t] / bpActual[t]), layers++;
  }
  const beforePass: BeforePassAccuracy = {
    samples: bpSamples,
    precision: sumPred > 0 ? sumHits / sumPred : 0,
    recall: sumActual > 0 ? sumHits / sumActual : 0,
    layerMeanRecall: layers > 0 ? layerRecall / layers : 0,
  };
  return { tokens, perLookahead, beforePass };
}
