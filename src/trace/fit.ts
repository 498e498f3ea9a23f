/**
 * Fit a generative model to a real trace and generate synthetic traces of any length like it.
 *
 * The model, per MoE layer l:
 * - popularity p_l(e) (smoothed counts);
 * - transitions T_l(e | a) = P(e at l | a at l-1), from all k x k pairs of consecutive layers,
 *   smoothed towards p_l;
 * - temporal persistence, through an LRU stack per layer: every expert of a layer has a recency
 *   depth (0 = used most recently).
 * Slot j of a token at layer l picks an expert e not already chosen for the token with probability
 * proportional to (a log-linear model)
 *     base(e)^gamma * U_l(e) * W_l,j(depth(e)),
 * where base(e) is the sum of T_l(e | a) over the token's experts a at layer l-1 (p_l(e) at layer 0).
 *
 * Calibration (iterative proportional fitting on generated traces): the depth weights W make the
 * generated stack-depth distribution of every (layer, slot) match the real one; the expert weights U
 * keep each layer's expert popularity; the sharpness gamma (bisection) makes layer l+1 as
 * predictable from layer l as in the real trace (held-out transition recall, see stats.ts). The LRU
 * hit rate at per-layer capacity c is the probability of depth < c, so the generated trace
 * reproduces the real LRU hit-rate curve at every capacity. Gate weights are resampled from the real
 * (token, layer) weight vectors of the same layer; sequence lengths from the real sequences.
 */
import { popularityCounts } from './popularity.js';
import type { Rng } from '../rng/rng.js';
import { collectTrace, type ChunkSegment, type TraceChunk, type TraceHeader, type TraceStream } from './stream.js';
import { transitionCounts, transitionRecall } from './stats.js';
import { NO_EXPERT, type Trace } from './types.js';

export interface FittedModel {
  numLayers: number;
  numExperts: number;
  topK: number;
  layerIds?: number[];
  /** What was fitted (for provenance). */
  fittedFrom: string;
  model?: string;
  /** [l][e] probability. */
  popularity: Float64Array;
  /** [l][a][e] = P(e at l | a at l-1) for l >= 1 (the l = 0 block is unused). */
  transitions: Float64Array;
  /** Per layer: fraction of a token's experts also used by the previous token (measured, for reports). */
  persistence: number[];
  /** [l][slot][depth] calibrated weight of picking the expert at that LRU depth. */
  depthWeights: Float64Array;
  /** [l][slot][depth] real depth distribution (the calibration target). */
  targetDepths: Float64Array;
  /** [l][e] calibrated expert weights (keep the popularity under the other factors). */
  expertWeights: Float64Array;
  /** [l][position] initial LRU stack: experts by descending popularity. */
  initialStack: Uint16Array;
  sequenceLengths: number[];
  /** Per layer, real weight vectors (k floats each) to resample; undefined without weights. */
  weightSamples?: Float32Array[];
  /** Exponent applied to the transition mixture (> 1 sharpens it), a multiple of 1/8; fitted to the held-out recall. */
  transitionSharpness: number;
  calibration: {
    /** Generation rounds run while calibrating. */
    iterations: number;
    /** Tokens per calibration round. */
    tokens: number;
    /** Largest total-variation distance between real and generated depth distributions of a (layer, slot). */
    maxTotalVariation: number;
    transitionSharpness: number;
    /** Real trace's held-out transition recall (see stats), and the generated trace's. */
    targetHeldOutRecall?: number;
    heldOutRecall?: number;
  };
}

export interface FitOptions {
  /** Tokens generated per calibration round (default: max(5000, real tokens), at most 50,000). */
  calibrationTokens?: number;
  /** Final calibration rounds (default 10). */
  iterations?: number;
  /** Real weight vectors kept per layer for resampling (default 4096). */
  weightSamples?: number;
  /** Fit the transition sharpness to the real held-out recall (default true). */
  fitTransitionSharpness?: boolean;
  /** Bisection steps for the sharpness (default 5). */
  sharpnessSteps?: number;
}

/** Fit the model to `trace`; `rng` drives calibration runs and weight sampling. */
export function fitTrace(trace: Trace, rng: Rng, opts: FitOptions = {}): FittedModel {
  const L = trace.numLayers;
  const E = trace.numExperts;
  const K = trace.topK;
  const ex = trace.experts;
  if (trace.tokens === 0) throw new RangeError('cannot fit an empty trace');

  // popularity
  const counts = popularityCounts(trace, E);
  const popularity = new Float64Array(L * E);
  for (let l = 0; l < L; l++) {
    let s = 0;
    for (let e = 0; e < E; e++) s += counts[l * E + e] + 0.5;
    for (let e = 0; e < E; e++) popularity[l * E + e] = (counts[l * E + e] + 0.5) / s;
  }

  // transitions, smoothed towards the popularity of the next layer (beta pseudo-counts)
  const C = transitionCounts(trace);
  const transitions = new Float64Array(L * E * E);
  const beta = 2;
  for (let l = 1; l < L; l++) {
    for (let a = 0; a < E; a++) {
      const src = ((l - 1) * E + a) * E;
      let s = 0;
      for (let e = 0; e < E; e++) s += C[src + e];
      const dst = (l * E + a) * E;
      for (let e = 0; e < E; e++) transitions[dst + e] = (C[src + e] + beta * popularity[l * E + e]) / (s + beta);
    }
  }

  // initial stacks: experts by descending popularity
  const initialStack = new Uint16Array(L * E);
  for (let l = 0; l < L; l++) {
    const order = Array.from({ length: E }, (_, e) => e).sort((a, b) => counts[l * E + b] - counts[l * E + a] || a - b);
    initialStack.set(order, l * E);
  }

  // real depth distribution per (layer, slot), on the same warm stack the generator starts from
  const targetDepths = realDepths(trace, initialStack);
  const persistence = measurePersistence(trace);

  const model: FittedModel = {
    numLayers: L,
    numExperts: E,
    topK: K,
    fittedFrom: trace.source.path ?? trace.source.provenance ?? trace.source.format,
    popularity,
    transitions,
    persistence,
    depthWeights: new Float64Array(L * K * E),
    targetDepths,
    expertWeights: new Float64Array(L * E).fill(1),
    initialStack,
    sequenceLengths: trace.sequences.map((s) => s.length).filter((n) => n > 0),
    transitionSharpness: 1,
    calibration: { iterations: 0, tokens: 0, maxTotalVariation: 1, transitionSharpness: 1 },
  };
  if (trace.layerIds !== undefined) model.layerIds = [...trace.layerIds];
  if (trace.source.model !== undefined) model.model = trace.source.model;
  if (trace.weights !== undefined) model.weightSamples = sampleWeights(trace, opts.weightSamples ?? 4096, rng.fork('weights'));

  // calibration, starting from W = target / uniform, U = 1, gamma = 1
  const W = model.depthWeights;
  for (let i = 0; i < W.length; i++) W[i] = Math.max(1e-6, targetDepths[i] * E);
  const calTokens = opts.calibrationTokens ?? Math.min(50000, Math.max(5000, trace.tokens));
  const searchTokens = Math.min(calTokens, 4000);
  let round = 0;
  const calibrate = (rounds: number, tokens: number): number => {
    let tv = 1;
    for (let it = 0; it < rounds; it++) tv = calibrationRound(model, tokens, rng.fork(`calibrate:${round++}`));
    return tv;
  };
  const recallOfModel = (tokens: number): number =>
    transitionRecall(collectTrace(new FittedSource(model, tokens, rng.fork(`recall:${round++}`), { noWeights: true }))).meanHeldOut;
  let target: number | undefined;
  calibrate(3, searchTokens);
  if (L >= 2 && opts.fitTransitionSharpness !== false) {
    const goal = transitionRecall(trace).meanHeldOut;
    target = goal;
    // bisection on log(gamma) in [log 0.25, log 16]: the recall grows with gamma
    let lo = Math.log(0.25);
    let hi = Math.log(16);
    let best = { g: 1, err: Infinity };
    const below = (lg: number): boolean => {
      model.transitionSharpness = quantizeSharpness(Math.exp(lg));
      calibrate(2, searchTokens);
      const r = recallOfModel(searchTokens);
      if (Math.abs(r - goal) < best.err) best = { g: model.transitionSharpness, err: Math.abs(r - goal) };
      return r < goal;
    };
    if (below(0)) lo = 0;
    else hi = 0;
    for (let i = 0; i < (opts.sharpnessSteps ?? 5); i++) {
      const mid = (lo + hi) / 2;
      if (below(mid)) lo = mid;
      else hi = mid;
    }
    model.transitionSharpness = best.g;
  }
  const tv = calibrate(opts.iterations ?? 10, calTokens);
  model.calibration = {
    iterations: round,
    tokens: calTokens,
    maxTotalVariation: tv,
    transitionSharpness: model.transitionSharpness,
  };
  if (target !== undefined) {
    model.calibration.targetHeldOutRecall = target;
    model.calibration.heldOutRecall = recallOfModel(calTokens);
  }
  return model;
}

/** Sharpness is a multiple of 1/8 (generation raises to it with square roots and products). */
export function quantizeSharpness(g: number): number {
  return Math.max(1, Math.round(g * 8)) / 8;
}

/**
 * One IPF round: generate `tokens` tokens, compare the depth distributions and expert popularity
 * with the real ones, rescale W and U; returns the largest depth total-variation distance.
 */
function calibrationRound(model: FittedModel, tokens: number, rng: Rng): number {
  const { numLayers: L, numExperts: E, topK: K, depthWeights: W, targetDepths, expertWeights: U, popularity } = model;
  const src = new FittedSource(model, tokens, rng, { noWeights: true });
  const { depths: got, experts: pop } = src.runForCalibration();
  let tv = 0;
  for (let lj = 0; lj < L * K; lj++) {
    let d = 0;
    for (let x = 0; x < E; x++) {
      const i = lj * E + x;
      d += Math.abs(targetDepths[i] - got[i]);
      W[i] = Math.min(1e6, Math.max(1e-9, W[i] * ((targetDepths[i] + 1e-4) / (got[i] + 1e-4))));
    }
    tv = Math.max(tv, d / 2);
  }
  for (let l = 0; l < L; l++) {
    let s = 0;
    for (let e = 0; e < E; e++) {
      const i = l * E + e;
      U[i] = Math.min(1e6, Math.max(1e-6, U[i] * ((popularity[i] + 1e-4) / (pop[i] + 1e-4))));
      s += U[i];
    }
    for (let e = 0; e < E; e++) U[l * E + e] *= E / s;
  }
  return tv;
}

/** [l][slot][depth] distribution of real accesses on warm stacks starting at `initialStack`. */
function realDepths(trace: Trace, initialStack: Uint16Array): Float64Array {
  const L = trace.numLayers;
  const E = trace.numExperts;
  const K = trace.topK;
  const ex = trace.experts;
  const stack = initialStack.slice();
  const pos = new Int32Array(L * E);
  for (let l = 0; l < L; l++) for (let d = 0; d < E; d++) pos[l * E + stack[l * E + d]] = d;
  const h = new Float64Array(L * K * E);
  for (let t = 0; t < trace.tokens; t++) {
    for (let l = 0; l < L; l++) {
      const at = (t * L + l) * K;
      if (ex[at] === NO_EXPERT) continue;
      for (let j = 0; j < K; j++) {
        const e = ex[at + j];
        if (e === NO_EXPERT) continue;
        const d = pos[l * E + e];
        h[(l * K + j) * E + d]++;
        moveToFront(stack, pos, l * E, d, e);
      }
    }
  }
  normalizeRows(h, E);
  return h;
}

function normalizeRows(h: Float64Array, width: number): void {
  for (let r = 0; r < h.length / width; r++) {
    let s = 0;
    for (let x = 0; x < width; x++) s += h[r * width + x];
    if (s > 0) for (let x = 0; x < width; x++) h[r * width + x] /= s;
  }
}

function moveToFront(stack: Uint16Array, pos: Int32Array, base: number, d: number, e: number): void {
  for (let i = d; i > 0; i--) {
    const moved = stack[base + i - 1];
    stack[base + i] = moved;
    pos[base + moved] = i;
  }
  stack[base] = e;
  pos[base + e] = 0;
}

function measurePersistence(trace: Trace): number[] {
  const L = trace.numLayers;
  const K = trace.topK;
  const ex = trace.experts;
  const hit = new Float64Array(L);
  const n = new Float64Array(L);
  for (const s of trace.sequences) {
    for (let t = s.start + 1; t < s.start + s.length; t++) {
      for (let l = 0; l < L; l++) {
        const at = (t * L + l) * K;
        const pat = ((t - 1) * L + l) * K;
        if (ex[at] === NO_EXPERT || ex[pat] === NO_EXPERT) continue;
        for (let k = 0; k < K; k++) {
          n[l]++;
          for (let j = 0; j < K; j++) {
            if (ex[pat + j] === ex[at + k]) {
              hit[l]++;
              break;
            }
          }
        }
      }
    }
  }
  return Array.from(hit, (h, l) => (n[l] > 0 ? h / n[l] : 0));
}

function sampleWeights(trace: Trace, max: number, rng: Rng): Float32Array[] {
  const L = trace.numLayers;
  const K = trace.topK;
  const ex = trace.experts;
  const w = trace.weights as Float32Array;
  const out: Float32Array[] = [];
  for (let l = 0; l < L; l++) {
    const res = new Float32Array(max * K);
    let seen = 0;
    for (let t = 0; t < trace.tokens; t++) {
      const at = (t * L + l) * K;
      if (ex[at] === NO_EXPERT || Number.isNaN(w[at])) continue;
      // reservoir sampling
      const slot = seen < max ? seen : rng.int(seen + 1);
      seen++;
      if (slot < max) for (let k = 0; k < K; k++) res[slot * K + k] = w[at + k];
    }
    out.push(res.slice(0, Math.min(seen, max) * K));
  }
  return out;
}

export interface FittedSourceOptions {
  /** Do not emit gate weights even if the model has samples. */
  noWeights?: boolean;
}

/** Chunked generator of a trace from a fitted model (flat memory). */
export class FittedSource implements TraceStream {
  readonly header: TraceHeader;
  readonly totalTokens: number;
  private readonly m: FittedModel;
  private readonly rng: Rng;
  private readonly next: () => number;
  private readonly stride: number;
  private readonly stack: Uint16Array;
  private readonly pos: Int32Array;
  private readonly q: Float64Array;
  private readonly base: Float64Array;
  private readonly withWeights: boolean;
  private expBuf = new Uint16Array(0);
  private wBuf = new Float32Array(0);
  private produced = 0;
  private seq = -1;
  private seqLeft = 0;

  constructor(model: FittedModel, tokens: number, rng: Rng, opts: FittedSourceOptions = {}) {
    this.m = model;
    this.rng = rng;
    this.next = rng.next;
    this.totalTokens = tokens;
    this.stride = model.numLayers * model.topK;
    this.stack = model.initialStack.slice();
    this.pos = new Int32Array(model.numLayers * model.numExperts);
    const E = model.numExperts;
    for (let l = 0; l < model.numLayers; l++) for (let d = 0; d < E; d++) this.pos[l * E + this.stack[l * E + d]] = d;
    this.q = new Float64Array(E);
    this.base = new Float64Array(E);
    this.withWeights = !opts.noWeights && model.weightSamples !== undefined && model.weightSamples.every((s) => s.length > 0);
    this.header = {
      numLayers: model.numLayers,
      numExperts: model.numExperts,
      topK: model.topK,
      layerIds: model.layerIds,
      source: {
        format: 'synthetic',
        provenance: `fitted to ${model.fittedFrom} (popularity, layer transitions, LRU-depth persistence); ${tokens} tokens, seed "${rng.seed}"`,
        ...(model.model !== undefined ? { model: model.model } : {}),
      },
    };
  }

  nextChunk(maxTokens: number): TraceChunk | null {
    if (this.produced >= this.totalTokens) return null;
    const n = Math.max(1, Math.min(maxTokens, this.totalTokens - this.produced));
    if (this.expBuf.length < n * this.stride) {
      this.expBuf = new Uint16Array(n * this.stride);
      if (this.withWeights) this.wBuf = new Float32Array(n * this.stride);
    }
    const segments: ChunkSegment[] = [];
    let t = 0;
    while (t < n) {
      if (this.seqLeft === 0) {
        this.seq++;
        const lens = this.m.sequenceLengths;
        this.seqLeft = lens.length > 0 ? lens[this.rng.int(lens.length)] : this.totalTokens;
        this.seqLeft = Math.max(1, this.seqLeft);
        segments.push({ sequence: String(this.seq), start: t, length: 0, continued: false });
      } else if (segments.length === 0) segments.push({ sequence: String(this.seq), start: t, length: 0, continued: true });
      const run = Math.min(n - t, this.seqLeft);
      for (let i = 0; i < run; i++) this.token((t + i) * this.stride);
      segments[segments.length - 1].length += run;
      t += run;
      this.seqLeft -= run;
    }
    this.produced += n;
    const chunk: TraceChunk = { tokens: n, experts: this.expBuf.subarray(0, n * this.stride), segments };
    if (this.withWeights) chunk.weights = this.wBuf.subarray(0, n * this.stride);
    return chunk;
  }

  /** Generate all tokens (for calibration): [l][slot][depth] and [l][expert] distributions. */
  runForCalibration(): { depths: Float64Array; experts: Float64Array } {
    const { numLayers: L, numExperts: E, topK: K } = this.m;
    const depths = new Float64Array(L * K * E);
    const experts = new Float64Array(L * E);
    this.depthOut = depths;
    this.expertOut = experts;
    while (this.nextChunk(4096) !== null);
    this.depthOut = undefined;
    this.expertOut = undefined;
    normalizeRows(depths, E);
    normalizeRows(experts, E);
    return { depths, experts };
  }

  private depthOut: Float64Array | undefined;
  private expertOut: Float64Array | undefined;

  private token(at: number): void {
    const m = this.m;
    const L = m.numLayers;
    const E = m.numExperts;
    const K = m.topK;
    const out = this.expBuf;
    const { stack, pos, q, base } = this;
    const W = m.depthWeights;
    const U = m.expertWeights;
    const T = m.transitions;
    const pop = m.popularity;
    const next = this.next;
    const g8 = Math.round(m.transitionSharpness * 8);
    const gInt = g8 >> 3;
    const gBits = g8 & 7;
    for (let l = 0; l < L; l++) {
      const sb = l * E;
      // base distribution: popularity at layer 0, else (sum of T(e | a) over layer l-1's experts a)^gamma
      if (l === 0) for (let e = 0; e < E; e++) base[e] = pop[e] * U[e];
      else {
        const prevAt = at + (l - 1) * K;
        const row0 = (l * E + out[prevAt]) * E;
        for (let e = 0; e < E; e++) base[e] = T[row0 + e];
        for (let i = 1; i < K; i++) {
          const row = (l * E + out[prevAt + i]) * E;
          for (let e = 0; e < E; e++) base[e] += T[row + e];
        }
        if (g8 !== 8) {
          // gamma is a multiple of 1/8: an integer power times square roots (no Math.pow)
          for (let e = 0; e < E; e++) {
            const x = base[e];
            let r = 1;
            if (gBits !== 0) {
              const s1 = Math.sqrt(x);
              const s2 = Math.sqrt(s1);
              if (gBits & 4) r *= s1;
              if (gBits & 2) r *= s2;
              if (gBits & 1) r *= Math.sqrt(s2);
            }
            for (let i = 0; i < gInt; i++) r *= x;
            base[e] = r;
          }
        }
        for (let e = 0; e < E; e++) base[e] *= U[sb + e];
      }
      const dst = at + l * K;
      for (let j = 0; j < K; j++) {
        // by depth: the experts chosen for this token sit at depths < j
        const wRow = (l * K + j) * E;
        let sum = 0;
        for (let d = j; d < E; d++) {
          sum += base[stack[sb + d]] * W[wRow + d];
          q[d] = sum;
        }
        let d = j;
        if (sum > 0) {
          const u = next() * sum;
          while (d < E - 1 && q[d] <= u) d++;
        }
        const e = stack[sb + d];
        if (this.depthOut !== undefined) {
          this.depthOut[wRow + d]++;
          (this.expertOut as Float64Array)[sb + e]++;
        }
        moveToFront(stack, pos, sb, d, e);
        out[dst + j] = e;
      }
      if (this.withWeights) {
        const samples = (m.weightSamples as Float32Array[])[l];
        const pick = Math.floor(next() * (samples.length / K)) * K;
        for (let j = 0; j < K; j++) this.wBuf[dst + j] = samples[pick + j];
      }
    }
  }
}

/** Generate a whole trace of `tokens` tokens from a fitted model, in memory. */
export function generateFittedTrace(model: FittedModel, tokens: number, rng: Rng): Trace {
  return collectTrace(new FittedSource(model, tokens, rng));
}
