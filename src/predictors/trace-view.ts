/**
 * What a predictor may know about a trace at a point of the replay: which tokens have completed
 * their forward pass (observed), and per sequence the expert activation counts of its observed
 * tokens. Predictors read routing from the trace only for observed tokens and for the layers of the
 * current token that have been computed; the driver (simulator or evaluator) says which those are.
 */
import { NO_EXPERT, type Trace } from '../trace/types.js';

export class TraceView {
  readonly numLayers: number;
  readonly numExperts: number;
  readonly topK: number;
  /** Sequence index of each token. */
  readonly seqOf: Int32Array;
  /** Position of each token in its sequence. */
  readonly posOf: Int32Array;
  /** Per sequence: how many of its leading tokens have been observed. */
  readonly observedTokens: Int32Array;
  /** Per active sequence: [layer][expert] counts over its observed tokens (freed when it completes). */
  private readonly eams = new Map<number, Float64Array>();

  constructor(
    readonly trace: Trace,
    numExperts = trace.numExperts,
  ) {
    this.numLayers = trace.numLayers;
    this.numExperts = numExperts;
    this.topK = trace.topK;
    this.seqOf = new Int32Array(trace.tokens);
    this.posOf = new Int32Array(trace.tokens);
    trace.sequences.forEach((s, i) => {
      for (let p = 0; p < s.length; p++) {
        this.seqOf[s.start + p] = i;
        this.posOf[s.start + p] = p;
      }
    });
    this.observedTokens = new Int32Array(trace.sequences.length);
  }

  /** Whether `token`'s whole routing is known (its forward pass has completed). */
  isObserved(token: number): boolean {
    return this.posOf[token] < this.observedTokens[this.seqOf[token]];
  }

  /** The token `back` positions before `token` in its sequence, if observed; else -1. */
  previous(token: number, back: number): number {
    const pos = this.posOf[token];
    if (pos < back) return -1;
    const prev = token - back;
    return this.isObserved(prev) ? prev : -1;
  }

  /** Activation counts [layer * E + expert] of the observed tokens of `seq`, or undefined if none. */
  eam(seq: number): Float64Array | undefined {
    return this.eams.get(seq);
  }

  /** Experts of (token, layer), written to `out`; returns how many (NO_EXPERT slots skipped). */
  experts(token: number, layer: number, out: Int32Array): number {
    const K = this.topK;
    const ids = this.trace.experts;
    const base = (token * this.numLayers + layer) * K;
    let n = 0;
    for (let k = 0; k < K; k++) {
      const e = ids[base + k];
      if (e !== NO_EXPERT) out[n++] = e;
    }
    return n;
  }

  /** Whether `token` is the last of its sequence. */
  isLastOfSequence(token: number): boolean {
    const s = this.trace.sequences[this.seqOf[token]];
    return token === s.start + s.length - 1;
  }

  /**
   * Marks the next token of its sequence as observed. Tokens of a sequence are observed in order;
   * a sequence's counts are dropped once its last token is observed.
   */
  observe(token: number): void {
    const seq = this.seqOf[token];
    if (this.posOf[token] !== this.observedTokens[seq]) {
      throw new Error(`token ${token} observed out of order (position ${this.posOf[token]}, expected ${this.observedTokens[seq]})`);
    }
    const L = this.numLayers, E = this.numExperts, K = this.topK;
    let m = this.eams.get(seq);
    if (!m) {
      m = new Float64Array(L * E);
      this.eams.set(seq, m);
    }
    const ids = this.trace.experts;
    for (let l = 0; l < L; l++) {
      const base = (token * L + l) * K;
      for (let k = 0; k < K; k++) {
        const e = ids[base + k];
        if (e !== NO_EXPERT) m[l * E + e]++;
      }
    }
    this.observedTokens[seq]++;
    if (this.isLastOfSequence(token)) this.eams.delete(seq);
  }
}
