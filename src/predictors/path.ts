/**
 * ExpertFlow-style routing path predictor: before a token's forward pass, predict its experts at
 * every MoE layer from what is known early; refine the next layer once a layer is computed.
 *
 * The model: per MoE layer t, a softmax regression over the E experts on compact features
 *   prev1[t]   multi-hot experts of the sequence's previous token at layer t (if observed)
 *   prev2[t]   the same for the token before it
 *   freq[t]    the sequence's observed tokens' activation frequency at layer t
 *   cur[t-1]   this token's experts at layer t-1, when computed (only for the next layer)
 *   bias, and a flag saying whether cur is present.
 * Trained with softmax cross-entropy against the token's experts (target mass 1/|S| each), by
 * plain SGD with a seeded shuffle (offline) or one step per observed token (online). A score is
 * min(1, K * softmax probability). Parameters: numLayers x (4E + 2) x E.
 */
import type { Rng } from '../rng/rng.js';
import type { FitReport, PredictorContext, RoutingPredictor } from './types.js';
import type { TraceView } from './trace-view.js';

export interface PathParams {
  epochs: number;
  learningRate: number;
  /** L2 penalty per SGD step (weight decay). */
  l2: number;
  /** Offline training uses at most this many (token, layer) examples (the first ones, in order). */
  maxExamples: number;
}

export function path(ctx: PredictorContext, params: PathParams): RoutingPredictor {
  const { numLayers: L, numExperts: E, topK: K } = ctx;
  const F = 4 * E + 2;
  const BIAS = 4 * E;
  const FLAG = 4 * E + 1;
  const W = new Float64Array(L * F * E);
  // Sparse feature vector of one example.
  const fIdx = new Int32Array(F);
  const fVal = new Float64Array(F);
  let fCount = 0;
  const logits = new Float64Array(E);
  const prob = new Float64Array(E);
  const target = new Float64Array(E);
  const scratch = new Int32Array(K);
  // Conditioned state: the token's logits per layer from the features that do not depend on how
  // far its pass has got (all but cur and the flag), computed once per token.
  let cView: TraceView | undefined;
  let cToken = -1;
  let cKnown = 0;
  const baseLogits = new Float64Array(L * E);

  /** Features of (token, layer t) given the token's routing known at layers < known. */
  function features(view: TraceView, token: number, t: number, known: number): void {
    fCount = 0;
    const p1 = view.previous(token, 1);
    if (p1 >= 0) {
      const n = view.experts(p1, t, scratch);
      for (let i = 0; i < n; i++) push(scratch[i], 1);
    }
    const p2 = view.previous(token, 2);
    if (p2 >= 0) {
      const n = view.experts(p2, t, scratch);
      for (let i = 0; i < n; i++) push(E + scratch[i], 1);
    }
    const seq = view.seqOf[token];
    const m = view.eam(seq);
    const seen = view.observedTokens[seq];
    if (m && seen > 0) {
      for (let e = 0; e < E; e++) {
        const v = m[t * E + e];
        if (v > 0) push(2 * E + e, v / seen);
      }
    }
    if (t >= 1 && t - 1 < known) {
      const n = view.experts(token, t - 1, scratch);
      for (let i = 0; i < n; i++) push(3 * E + scratch[i], 1);
      push(FLAG, 1);
    }
    push(BIAS, 1);
  }
  function push(i: number, v: number): void {
    // Duplicate experts in a slot list (should not happen) add up.
    fIdx[fCount] = i;
    fVal[fCount++] = v;
  }
  function forward(t: number): void {
    computeLogits(t);
    softmax();
  }
  function computeLogits(t: number): void {
    const base = t * F * E;
    logits.fill(0);
    for (let a = 0; a < fCount; a++) {
      const row = base + fIdx[a] * E;
      const v = fVal[a];
      for (let e = 0; e < E; e++) logits[e] += v * W[row + e];
    }
  }
  function softmax(): void {
    let max = -Infinity;
    for (let e = 0; e < E; e++) if (logits[e] > max) max = logits[e];
    let sum = 0;
    for (let e = 0; e < E; e++) sum += prob[e] = Math.exp(logits[e] - max);
    for (let e = 0; e < E; e++) prob[e] /= sum;
  }
  /** One SGD step on the current features toward the token's experts at t; returns the loss. */
  function step(view: TraceView, token: number, t: number, lr: number): number {
    const n = view.experts(token, t, scratch);
    if (n === 0) return 0;
    target.fill(0);
    for (let i = 0; i < n; i++) target[scratch[i]] += 1 / n;
    forward(t);
    let loss = 0;
    for (let e = 0; e < E; e++) if (target[e] > 0) loss -= target[e] * Math.log(prob[e] + 1e-12);
    const base = t * F * E;
    const decay = 1 - lr * params.l2;
    for (let a = 0; a < fCount; a++) {
      const row = base + fIdx[a] * E;
      const g = lr * fVal[a];
      for (let e = 0; e < E; e++) W[row + e] = W[row + e] * decay - g * (prob[e] - target[e]);
    }
    return loss;
  }

  return {
    kind: 'path',
    setValued: false,
    condition(view, token, known) {
      if (token !== cToken || view !== cView) {
        for (let t = 0; t < L; t++) {
          features(view, token, t, 0);
          computeLogits(t);
          baseLogits.set(logits, t * E);
        }
      }
      cView = view;
      cToken = token;
      cKnown = known;
    },
    scores(layer, out) {
      for (let e = 0; e < E; e++) logits[e] = baseLogits[layer * E + e];
      if (layer >= 1 && layer - 1 < cKnown) {
        // The previous layer is computed: add its experts and the flag.
        const base = layer * F * E;
        const n = cView!.experts(cToken, layer - 1, scratch);
        for (let i = 0; i < n; i++) {
          const row = base + (3 * E + scratch[i]) * E;
          for (let e = 0; e < E; e++) logits[e] += W[row + e];
        }
        const row = base + FLAG * E;
        for (let e = 0; e < E; e++) logits[e] += W[row + e];
      }
      softmax();
      for (let e = 0; e < E; e++) out[e] = Math.min(1, K * prob[e]);
    },
    learn(view, token) {
      cToken = -1; // the weights change
      // Online: one step per layer, with and without the previous layer known.
      for (let t = 0; t < L; t++) {
        features(view, token, t, 0);
        step(view, token, t, params.learningRate);
        if (t >= 1) {
          features(view, token, t, t);
          step(view, token, t, params.learningRate);
        }
      }
    },
    fit(view: TraceView, sequences: readonly number[], rng: Rng): FitReport {
      cToken = -1;
      // Collect examples in replay order (features depend on what had been observed then).
      const maxEx = params.maxExamples;
      const exToken: number[] = [];
      const exLayer: number[] = [];
      const exStart: number[] = [];
      const idx: number[] = [];
      const val: number[] = [];
      outer: for (const s of sequences) {
        const seq = view.trace.sequences[s];
        for (let p = 0; p < seq.length; p++) {
          const token = seq.start + p;
          for (let t = 0; t < L; t++) {
            for (const known of t >= 1 ? [0, t] : [0]) {
              if (exToken.length >= maxEx) break outer;
              features(view, token, t, known);
              exToken.push(token);
              exLayer.push(t);
              exStart.push(idx.length);
              for (let a = 0; a < fCount; a++) {
                idx.push(fIdx[a]);
                val.push(fVal[a]);
              }
            }
          }
          view.observe(token);
        }
      }
      exStart.push(idx.length);
      const n = exToken.length;
      const order = Int32Array.from({ length: n }, (_, i) => i);
      let lastLoss = 0;
      for (let epoch = 0; epoch < params.epochs; epoch++) {
        for (let i = n - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          const tmp = order[i];
          order[i] = order[j];
          order[j] = tmp;
        }
        let total = 0;
        for (let r = 0; r < n; r++) {
          const x = order[r];
          fCount = 0;
          for (let a = exStart[x]; a < exStart[x + 1]; a++) push(idx[a], val[a]);
          total += step(view, exToken[x], exLayer[x], params.learningRate);
        }
        lastLoss = n ? total / n : 0;
      }
      return { examples: n, epochs: params.epochs, finalLoss: lastLoss };
    },
    parameterCount: () => L * F * E,
  };
}
