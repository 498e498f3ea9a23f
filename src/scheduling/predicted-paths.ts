/**
 * A token scheduler's routing paths from a routing predictor (src/predictors/), causally.
 *
 * The predictor sees the requests as the sequences of a request trace (workload/request-trace.ts)
 * through a TraceView, which completions advance: when a step's tokens complete, online predictors
 * learn from them and the view marks them observed (the predictors' protocol, as the prefetch
 * driver follows it). A ready token's path is predicted once, when a scheduler first asks for it:
 * its request's earlier tokens have all run by then (a request's next token is only ready once its
 * last one has), and nothing of its own routing is known (condition(view, token, 0): lookahead
 * d = l + 1 at layer l). Predicted set per layer: the experts scoring > 0 for set-valued predictors
 * (the oracle), else the topK best scoring > 0, as predictors/evaluate.ts counts them.
 *
 * Accuracy: each predicted token's path against its routing once it has run (precision =
 * |predicted ∩ true| / |predicted|, recall = |predicted ∩ true| / |true|, summed over (token, MoE
 * layer) and then divided; layers the trace did not record are skipped).
 */
import type { RoutingPredictor } from '../predictors/types.js';
import { TraceView } from '../predictors/trace-view.js';
import { topExperts } from '../predictors/top.js';
import type { Trace } from '../trace/types.js';
import { maskWords, popcount32 } from './paths.js';
import type { PathPredictions, ReadyTokens } from './types.js';

/** The scheduler's predictions against the truth over a run. */
export interface PathAccuracy {
  /** Tokens predicted and run. */
  tokens: number;
  precision: number;
  recall: number;
}

export class PredictedPaths implements PathPredictions {
  private readonly view: TraceView;
  private readonly L: number;
  private readonly E: number;
  private readonly K: number;
  private readonly words: number;
  private readonly stride: number;
  /** First token of each request in the request trace. */
  private readonly start: Int32Array;
  /** Per request: the request-trace token whose path `paths` holds (-1: none). */
  private readonly pathToken: Int32Array;
  private readonly paths: Uint32Array;
  private readonly scores: Float64Array;
  private readonly order: Int32Array;
  private readonly truth: Int32Array;
  private readonly truthMask: Uint32Array;
  private tokens = 0;
  private predicted = 0;
  private correct = 0;
  private actual = 0;

  constructor(
    private readonly predictor: RoutingPredictor,
    /** Learn from each token once it completes. */
    private readonly online: boolean,
    /** Sequence r: request r's tokens (workload/request-trace.ts). */
    requests: Trace,
    /** Trace token of each request's first token (the table's firstToken): ready.token - firstToken = position. */
    private readonly firstToken: Int32Array,
    numExperts: number,
  ) {
    this.view = new TraceView(requests, numExperts);
    this.L = requests.numLayers;
    this.E = numExperts;
    this.K = requests.topK;
    this.words = maskWords(numExperts);
    this.stride = this.L * this.words;
    const N = requests.sequences.length;
    this.start = Int32Array.from(requests.sequences, (s) => s.start);
    this.pathToken = new Int32Array(N).fill(-1);
    this.paths = new Uint32Array(N * this.stride);
    this.scores = new Float64Array(numExperts);
    this.order = new Int32Array(numExperts);
    this.truth = new Int32Array(this.K);
    this.truthMask = new Uint32Array(this.words);
  }

  fill(ready: ReadyTokens, i: number, out: Uint32Array, offset: number): void {
    const r = ready.request[i];
    const token = this.start[r] + ready.token[i] - this.firstToken[r];
    const S = this.stride;
    const o = r * S;
    if (this.pathToken[r] !== token) {
      this.predict(token, o);
      this.pathToken[r] = token;
    }
    const paths = this.paths;
    for (let j = 0; j < S; j++) out[offset + j] = paths[o + j];
  }

  completed(request: number, from: number, count: number): void {
    const p = this.predictor;
    const view = this.view;
    for (let pos = from; pos < from + count; pos++) {
      const token = this.start[request] + pos;
      if (this.pathToken[request] === token) this.score(token, request * this.stride);
      if (this.online) p.learn(view, token);
      view.observe(token);
    }
  }

  accuracy(): PathAccuracy {
    return {
      tokens: this.tokens,
      precision: this.predicted > 0 ? this.correct / this.predicted : 0,
      recall: this.actual > 0 ? this.correct / this.actual : 0,
    };
  }

  private predict(token: number, o: number): void {
    const { predictor: p, paths, scores, order, words, E } = this;
    const k = Math.min(this.K, E);
    paths.fill(0, o, o + this.stride);
    p.condition(this.view, token, 0);
    for (let l = 0; l < this.L; l++) {
      p.scores(l, scores);
      const row = o + l * words;
      if (p.setValued) {
        for (let e = 0; e < E; e++) if (scores[e] > 0) paths[row + (e >>> 5)] |= 1 << (e & 31);
      } else {
        const n = topExperts(scores, k, order, true);
        for (let i = 0; i < n; i++) paths[row + (order[i] >>> 5)] |= 1 << (order[i] & 31);
      }
    }
  }

  /** Counts the path held at `o` against token's routing (it has run). */
  private score(token: number, o: number): void {
    const { paths, truth, truthMask: t, words } = this;
    this.tokens++;
    for (let l = 0; l < this.L; l++) {
      const n = this.view.experts(token, l, truth);
      if (n === 0) continue;
      t.fill(0);
      for (let i = 0; i < n; i++) t[truth[i] >>> 5] |= 1 << (truth[i] & 31);
      const row = o + l * words;
      for (let w = 0; w < words; w++) {
        this.predicted += popcount32(paths[row + w]);
        this.correct += popcount32(paths[row + w] & t[w]);
        this.actual += popcount32(t[w]);
      }
    }
  }
}
