/**
 * Trace statistics, as plain JSON: shape, per-layer popularity (entropy, Gini), exact LRU hit-rate
 * curves (Mattson's one-pass stack algorithm), inter-layer affinity and its predictive power,
 * temporal locality, gate-weight distribution.
 *
 * Access order (for the LRU curves): sequences in order, tokens ascending, layers ascending, a
 * token's experts in recorded order. Each layer has its own cache; a cache of capacity c holds the c
 * most recently used experts of its layer, and is not cleared between sequences. An access at stack
 * depth d (0 = most recent) hits in every cache of capacity > d; a first use (cold) misses in all.
 */
import { popularityCounts } from './popularity.js';
import { topExperts } from './top.js';
import { findDegenerateSequences } from './degenerate.js';
import { NO_EXPERT, type Trace } from './types.js';

export interface StackDistances {
  numLayers: number;
  numExperts: number;
  /** [layer][depth 0..E-1, E = cold (first use)] access counts. */
  histogram: Float64Array;
  /** Accesses per layer. */
  accesses: Float64Array;
}

/** Mattson's one-pass LRU stack: the histogram of stack depths of every access, per layer. */
export function stackDistances(trace: Trace): StackDistances {
  const L = trace.numLayers;
  const E = trace.numExperts;
  const K = trace.topK;
  const ex = trace.experts;
  const hist = new Float64Array(L * (E + 1));
  const accesses = new Float64Array(L);
  const stack = new Uint16Array(L * E);
  const pos = new Int32Array(L * E).fill(-1);
  const size = new Int32Array(L);
  for (let t = 0; t < trace.tokens; t++) {
    for (let l = 0; l < L; l++) {
      const at = (t * L + l) * K;
      if (ex[at] === NO_EXPERT) continue;
      const sb = l * E;
      for (let k = 0; k < K; k++) {
        const e = ex[at + k];
        if (e === NO_EXPERT) continue;
        let d = pos[sb + e];
        if (d < 0) {
          hist[l * (E + 1) + E]++;
          d = size[l]++;
        } else hist[l * (E + 1) + d]++;
        for (let i = d; i > 0; i--) {
          const moved = stack[sb + i - 1];
          stack[sb + i] = moved;
          pos[sb + moved] = i;
        }
        stack[sb] = e;
        pos[sb + e] = 0;
      }
      accesses[l] += countPresent(ex, at, K);
    }
  }
  return { numLayers: L, numExperts: E, histogram: hist, accesses };
}

function countPresent(ex: Uint16Array, at: number, K: number): number {
  let n = 0;
  for (let k = 0; k < K; k++) if (ex[at + k] !== NO_EXPERT) n++;
  return n;
}

export interface LruCurve {
  /** Per-layer cache capacities 0..E. */
  capacities: number[];
  /** Hit rate over all layers' accesses at each capacity. */
  hitRate: number[];
  /** [layer][capacity] hit rate of that layer. */
  perLayer: number[][];
  accesses: number;
  /** First uses (misses at every capacity). */
  coldMisses: number;
}

/** Exact LRU hit rate for every per-layer capacity 0..E, from the stack-depth histogram. */
export function lruCurve(sd: StackDistances): LruCurve {
  const { numLayers: L, numExperts: E, histogram: h, accesses } = sd;
  const total = new Float64Array(E + 1);
  const perLayer: number[][] = [];
  let all = 0;
  let cold = 0;
  for (let l = 0; l < L; l++) {
    const row: number[] = [0];
    let cum = 0;
    for (let c = 1; c <= E; c++) {
      cum += h[l * (E + 1) + c - 1];
      total[c] += cum;
      row.push(accesses[l] > 0 ? cum / accesses[l] : 0);
    }
    perLayer.push(row);
    all += accesses[l];
    cold += h[l * (E + 1) + E];
  }
  const capacities: number[] = [];
  const hitRate: number[] = [];
  for (let c = 0; c <= E; c++) {
    capacities.push(c);
    hitRate.push(all > 0 ? total[c] / all : 0);
  }
  return { capacities, hitRate, perLayer, accesses: all, coldMisses: cold };
}

/** The LRU hit-rate curve of a trace (aggregate over layers), capacities 0..E. */
export function lruHitRateCurve(trace: Trace): LruCurve {
  return lruCurve(stackDistances(trace));
}

export interface LayerPopularity {
  layer: number;
  /** Accesses per expert. */
  counts: number[];
  /** Shannon entropy of the expert distribution, bits. */
  entropyBits: number;
  /** Entropy / log2(E): 1 = uniform. */
  normalizedEntropy: number;
  /** Gini coefficient of the counts: 0 = uniform, -> 1 = one expert takes all. */
  gini: number;
  /** Share of accesses taken by the most used expert. */
  topShare: number;
}

export interface TraceStats {
  tokens: number;
  sequences: number;
  sequenceLength: { min: number; mean: number; max: number };
  layers: number;
  layerIds?: number[];
  experts: number;
  topK: number;
  /** (token, layer) pairs with no recorded route. */
  absentRoutes: number;
  /** Layers (by id) without any recorded route: excluded from the means over layers. */
  absentLayers: number[];
  /** Layers (by id) whose routes equal an earlier layer's for every token (e.g. one file copied). */
  duplicateLayers: { layer: number; of: number }[];
  /** Warm-up-like sequences (every token one route) and exact repeats, by id, with their share of accesses. */
  degenerate: { uniform: string[]; repeats: { sequence: string; of: string }[]; accessShare: number };
  source: { format: string; path?: string; model?: string; provenance?: string };
  warnings: string[];
  popularity: { perLayer: LayerPopularity[]; meanNormalizedEntropy: number; meanGini: number };
  lru: LruCurve;
  temporalLocality: {
    /** Per layer: fraction of a token's experts that the previous token of its sequence also used. */
    perLayer: number[];
    mean: number;
  };
  affinity: {
    /**
     * Per layer pair (l, l+1): recall of layer l+1's experts when predicted as the top-k of
     * sum over layer l's experts e of P(. | e), P fitted on the whole trace (in-sample: optimistic).
     */
    transitionRecall: number[];
    /** Same with P fitted on the other half of the tokens (even/odd token index): an honest estimate. */
    heldOutRecall: number[];
    /** Same, predicting layer l+1's k most popular experts (baseline). */
    popularityRecall: number[];
    meanTransitionRecall: number;
    meanHeldOutRecall: number;
    meanPopularityRecall: number;
    /** Per pair: fraction of tokens whose layer-l top-1 expert's most likely successor is among layer l+1's experts. */
    top1Accuracy: number[];
    /** Tokens evaluated for the recalls (evenly spaced sample when the trace is large). */
    evaluatedTokens: number;
    /** [l][e][e'] = P(e' at l+1 | e at l), when small enough to include (see matricesOmitted). */
    matrices?: number[][][];
    matricesOmitted?: boolean;
  };
  gateWeights: null | {
    /** Bin edges (bins + 1 values) over [0, 1]. */
    edges: number[];
    counts: number[];
    /** [slot][bin] counts. */
    perSlot: number[][];
    meanPerSlot: number[];
    /** Mean over (token, layer) of the sum of its top-k weights. */
    meanSum: number;
    /** Weights outside [0, 1] (clamped into the edge bins). */
    outOfRange: number;
  };
}

export interface StatsOptions {
  /** Include the affinity matrices if (layers-1) * E^2 is at most this (default 250,000). */
  maxMatrixEntries?: number;
  /** Evaluate the affinity predictions on at most this many tokens (default 50,000). */
  maxAffinityTokens?: number;
  /** Gate-weight histogram bins (default 20). */
  weightBins?: number;
}

const round = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);

/** All statistics of a trace as a plain JSON object. */
export function computeTraceStats(trace: Trace, opts: StatsOptions = {}): TraceStats {
  const L = trace.numLayers;
  const E = trace.numExperts;
  const K = trace.topK;
  const ex = trace.experts;
  const T = trace.tokens;

  // popularity and absent routes
  const counts = popularityCounts(trace, E);
  let absent = 0;
  for (let at = 0; at < T * L * K; at += K) if (ex[at] === NO_EXPERT) absent++;
  const layerName = (l: number): number => trace.layerIds?.[l] ?? l;
  const present: boolean[] = [];
  for (let l = 0; l < L; l++) {
    let n = 0;
    for (let e = 0; e < E; e++) n += counts[l * E + e];
    present.push(n > 0);
  }
  const deg = findDegenerateSequences(trace);
  const perLayer: LayerPopularity[] = [];
  for (let l = 0; l < L; l++) {
    const c = Array.from(counts.subarray(l * E, (l + 1) * E));
    perLayer.push({ layer: trace.layerIds?.[l] ?? l, counts: c, ...distributionShape(c) });
  }

  // temporal locality
  const overlap = new Float64Array(L);
  const considered = new Float64Array(L);
  for (const s of trace.sequences) {
    for (let t = s.start + 1; t < s.start + s.length; t++) {
      for (let l = 0; l < L; l++) {
        const at = (t * L + l) * K;
        const pat = ((t - 1) * L + l) * K;
        if (ex[at] === NO_EXPERT || ex[pat] === NO_EXPERT) continue;
        for (let k = 0; k < K; k++) {
          const e = ex[at + k];
          if (e === NO_EXPERT) continue;
          considered[l]++;
          for (let j = 0; j < K; j++) {
            if (ex[pat + j] === e) {
              overlap[l]++;
              break;
            }
          }
        }
      }
    }
  }
  const locality = Array.from(overlap, (o, l) => (considered[l] > 0 ? o / considered[l] : 0));
  const allConsidered = considered.reduce((a, b) => a + b, 0);

  let minLen = Infinity;
  let maxLen = 0;
  for (const s of trace.sequences) {
    if (s.length < minLen) minLen = s.length;
    if (s.length > maxLen) maxLen = s.length;
  }
  const nSeq = trace.sequences.length;
  const stats: TraceStats = {
    tokens: T,
    sequences: nSeq,
    sequenceLength: { min: nSeq > 0 ? minLen : 0, mean: round(nSeq > 0 ? T / nSeq : 0), max: maxLen },
    layers: L,
    experts: E,
    topK: K,
    absentRoutes: absent,
    absentLayers: present.flatMap((p, l) => (p ? [] : [layerName(l)])),
    duplicateLayers: duplicateLayers(trace).map((d) => ({ layer: layerName(d.layer), of: layerName(d.of) })),
    degenerate: {
      uniform: deg.uniform.map((i) => trace.sequences[i].id),
      repeats: deg.repeats.map((r) => ({ sequence: trace.sequences[r.sequence].id, of: trace.sequences[r.of].id })),
      accessShare: round(deg.totalAccesses > 0 ? deg.accesses / deg.totalAccesses : 0),
    },
    source: { ...trace.source },
    warnings: [...trace.warnings],
    popularity: {
      perLayer: perLayer.map((p) => ({ ...p, entropyBits: round(p.entropyBits), normalizedEntropy: round(p.normalizedEntropy), gini: round(p.gini), topShare: round(p.topShare) })),
      meanNormalizedEntropy: round(mean(perLayer.filter((_, l) => present[l]).map((p) => p.normalizedEntropy))),
      meanGini: round(mean(perLayer.filter((_, l) => present[l]).map((p) => p.gini))),
    },
    lru: roundCurve(lruHitRateCurve(trace)),
    temporalLocality: {
      perLayer: locality.map(round),
      mean: round(allConsidered > 0 ? overlap.reduce((a, b) => a + b, 0) / allConsidered : 0),
    },
    affinity: affinityStats(trace, opts),
    gateWeights: gateWeightStats(trace, opts.weightBins ?? 20),
  };
  if (trace.layerIds !== undefined) stats.layerIds = [...trace.layerIds];
  return stats;
}

/** Lines for `trace stats` on absent layers, duplicate layers and degenerate sequences (none when clean). */
export function datasetFindings(s: TraceStats): string[] {
  const out: string[] = [];
  if (s.absentLayers.length > 0) out.push(`absent     layers ${s.absentLayers.join(', ')} have no recorded route; left out of the means and charts' averages`);
  for (const d of s.duplicateLayers) out.push(`duplicate  layer ${d.layer} has exactly the routes of layer ${d.of} (the same file twice?)`);
  const g = s.degenerate;
  if (g.uniform.length > 0 || g.repeats.length > 0) {
    out.push(`degenerate ${g.uniform.length} sequences route every token identically, ${g.repeats.length} repeat another exactly; ${(100 * g.accessShare).toFixed(1)}% of the recorded accesses`);
  }
  return out;
}

/** Layers whose routes equal an earlier layer's for every token (both recorded somewhere). */
export function duplicateLayers(trace: Trace): { layer: number; of: number }[] {
  const L = trace.numLayers;
  const K = trace.topK;
  const ex = trace.experts;
  const out: { layer: number; of: number }[] = [];
  for (let l = 1; l < L; l++) {
    for (let m = 0; m < l; m++) {
      if (out.some((d) => d.layer === m)) continue;
      let same = true;
      let any = false;
      for (let t = 0; same && t < trace.tokens; t++) {
        const a = (t * L + l) * K;
        const b = (t * L + m) * K;
        for (let k = 0; k < K; k++) {
          if (ex[a + k] !== ex[b + k]) {
            same = false;
            break;
          }
        }
        if (ex[a] !== NO_EXPERT) any = true;
      }
      if (same && any) {
        out.push({ layer: l, of: m });
        break;
      }
    }
  }
  return out;
}

function roundCurve(c: LruCurve): LruCurve {
  return { ...c, hitRate: c.hitRate.map(round), perLayer: c.perLayer.map((r) => r.map(round)) };
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Entropy, normalized entropy, Gini and top share of a count vector. */
export function distributionShape(counts: ArrayLike<number>): { entropyBits: number; normalizedEntropy: number; gini: number; topShare: number } {
  const n = counts.length;
  let sum = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    sum += counts[i];
    if (counts[i] > max) max = counts[i];
  }
  if (sum === 0) return { entropyBits: 0, normalizedEntropy: 0, gini: 0, topShare: 0 };
  let h = 0;
  for (let i = 0; i < n; i++) {
    const p = counts[i] / sum;
    if (p > 0) h -= p * Math.log2(p);
  }
  const sorted = Float64Array.from(counts).sort();
  let weighted = 0;
  for (let i = 0; i < n; i++) weighted += (i + 1) * sorted[i];
  const gini = n > 1 ? (2 * weighted) / (n * sum) - (n + 1) / n : 0;
  return { entropyBits: h, normalizedEntropy: n > 1 ? h / Math.log2(n) : 0, gini: Math.max(0, gini), topShare: max / sum };
}

/**
 * Transition counts C[l][e][e'] over tokens with both layers l and l+1 present (all k x k pairs).
 * With `parity` 0 or 1, only tokens whose index has that parity are counted.
 */
export function transitionCounts(trace: Trace, parity?: 0 | 1): Float64Array {
  const L = trace.numLayers;
  const E = trace.numExperts;
  const K = trace.topK;
  const ex = trace.experts;
  const C = new Float64Array(Math.max(0, L - 1) * E * E);
  const step = parity === undefined ? 1 : 2;
  for (let t = parity ?? 0; t < trace.tokens; t += step) {
    for (let l = 0; l + 1 < L; l++) {
      const a = (t * L + l) * K;
      const b = a + K;
      if (ex[a] === NO_EXPERT || ex[b] === NO_EXPERT) continue;
      const base = l * E * E;
      for (let i = 0; i < K; i++) {
        const e = ex[a + i];
        if (e === NO_EXPERT) continue;
        for (let j = 0; j < K; j++) {
          const f = ex[b + j];
          if (f !== NO_EXPERT) C[base + e * E + f]++;
        }
      }
    }
  }
  return C;
}

function rowNormalize(C: Float64Array, E: number): Float64Array {
  for (let r = 0; r < C.length / E; r++) {
    let s = 0;
    for (let f = 0; f < E; f++) s += C[r * E + f];
    if (s > 0) for (let f = 0; f < E; f++) C[r * E + f] /= s;
  }
  return C;
}

export interface TransitionRecall {
  /** Per layer pair: recall of layer l+1's experts from the top-k of sum over layer l's experts of P(.|e), in-sample. */
  inSample: number[];
  /** Same with P fitted on the other half of the tokens (even / odd token index): no overfitting. */
  heldOut: number[];
  /** Same predicting layer l+1's k most popular experts. */
  popularity: number[];
  /** Fraction of tokens whose layer-l top-1 expert's argmax successor is among layer l+1's experts (in-sample). */
  top1: number[];
  meanInSample: number;
  meanHeldOut: number;
  meanPopularity: number;
  evaluatedTokens: number;
  /** Row-normalized P(e' at l+1 | e at l), [l][e][e'] flat. */
  matrix: Float64Array;
}

/** How well layer l's experts predict layer l+1's, on at most `maxTokens` evenly spaced tokens. */
export function transitionRecall(trace: Trace, maxTokens = 50000): TransitionRecall {
  const L = trace.numLayers;
  const E = trace.numExperts;
  const K = trace.topK;
  const ex = trace.experts;
  const even = transitionCounts(trace, 0);
  const odd = transitionCounts(trace, 1);
  const C = new Float64Array(even.length);
  for (let i = 0; i < C.length; i++) C[i] = even[i] + odd[i];
  rowNormalize(C, E);
  rowNormalize(even, E);
  rowNormalize(odd, E);
  const counts = popularityCounts(trace, E);
  const popTop: Int32Array[] = [];
  for (let l = 0; l < L; l++) popTop.push(topIndices(counts.subarray(l * E, (l + 1) * E), K));
  const step = trace.tokens > maxTokens ? trace.tokens / maxTokens : 1;
  const pairs = Math.max(0, L - 1);
  const hitIn = new Float64Array(pairs);
  const hitOut = new Float64Array(pairs);
  const hitP = new Float64Array(pairs);
  const hit1 = new Float64Array(pairs);
  const n = new Float64Array(pairs);
  const score = new Float64Array(E);
  const pred = new Int32Array(K);
  let evaluated = 0;
  const predictRecall = (M: Float64Array, a: number, b: number, l: number): number => {
    score.fill(0);
    for (let i = 0; i < K; i++) {
      if (ex[a + i] === NO_EXPERT) continue;
      const row = (l * E + ex[a + i]) * E;
      for (let f = 0; f < E; f++) score[f] += M[row + f];
    }
    let total = 0;
    for (let f = 0; f < E; f++) total += score[f];
    // rows never seen (held-out half): fall back to popularity
    if (total > 0) topExperts(score, K, pred);
    else pred.set(popTop[l + 1]);
    let h = 0;
    for (let j = 0; j < K; j++) if (contains(ex, b, K, pred[j])) h++;
    return h / K;
  };
  for (let x = 0; x < trace.tokens; x += step) {
    const t = Math.floor(x);
    evaluated++;
    const other = t % 2 === 0 ? odd : even;
    for (let l = 0; l < pairs; l++) {
      const a = (t * L + l) * K;
      const b = a + K;
      if (ex[a] === NO_EXPERT || ex[b] === NO_EXPERT) continue;
      hitIn[l] += predictRecall(C, a, b, l);
      hitOut[l] += predictRecall(other, a, b, l);
      let hp = 0;
      for (let j = 0; j < K; j++) if (contains(ex, b, K, popTop[l + 1][j])) hp++;
      hitP[l] += hp / K;
      const row1 = (l * E + ex[a]) * E;
      let best = 0;
      for (let f = 1; f < E; f++) if (C[row1 + f] > C[row1 + best]) best = f;
      if (contains(ex, b, K, best)) hit1[l]++;
      n[l]++;
    }
  }
  const per = (h: Float64Array): number[] => Array.from(h, (v, l) => (n[l] > 0 ? v / n[l] : 0));
  const total = n.reduce((a, b) => a + b, 0);
  const meanOf = (h: Float64Array): number => (total > 0 ? h.reduce((a, b) => a + b, 0) / total : 0);
  return {
    inSample: per(hitIn),
    heldOut: per(hitOut),
    popularity: per(hitP),
    top1: per(hit1),
    meanInSample: meanOf(hitIn),
    meanHeldOut: meanOf(hitOut),
    meanPopularity: meanOf(hitP),
    evaluatedTokens: evaluated,
    matrix: C,
  };
}

function affinityStats(trace: Trace, opts: StatsOptions): TraceStats['affinity'] {
  const E = trace.numExperts;
  const pairs = Math.max(0, trace.numLayers - 1);
  const r = transitionRecall(trace, opts.maxAffinityTokens ?? 50000);
  const out: TraceStats['affinity'] = {
    transitionRecall: r.inSample.map(round),
    heldOutRecall: r.heldOut.map(round),
    popularityRecall: r.popularity.map(round),
    meanTransitionRecall: round(r.meanInSample),
    meanHeldOutRecall: round(r.meanHeldOut),
    meanPopularityRecall: round(r.meanPopularity),
    top1Accuracy: r.top1.map(round),
    evaluatedTokens: r.evaluatedTokens,
  };
  if (pairs * E * E <= (opts.maxMatrixEntries ?? 250000)) {
    const m: number[][][] = [];
    for (let l = 0; l < pairs; l++) {
      const rows: number[][] = [];
      for (let e = 0; e < E; e++) rows.push(Array.from(r.matrix.subarray((l * E + e) * E, (l * E + e + 1) * E), round));
      m.push(rows);
    }
    out.matrices = m;
  } else out.matricesOmitted = true;
  return out;
}

function contains(ex: Uint16Array, at: number, K: number, e: number): boolean {
  for (let k = 0; k < K; k++) if (ex[at + k] === e) return true;
  return false;
}

/** Indices of the k largest values (ties: lower index first), descending. */
/** The k largest entries' indices, largest first, ties to the lower index (trace/top.ts's topExperts). */
export function topIndices(v: ArrayLike<number>, k: number): Int32Array {
  const out = new Int32Array(Math.min(k, v.length));
  topExperts(v, out.length, out);
  return out;
}

function gateWeightStats(trace: Trace, bins: number): TraceStats['gateWeights'] {
  const w = trace.weights;
  if (w === undefined) return null;
  const L = trace.numLayers;
  const K = trace.topK;
  const ex = trace.experts;
  const counts = new Float64Array(bins);
  const perSlot = new Float64Array(K * bins);
  const slotSum = new Float64Array(K);
  const slotN = new Float64Array(K);
  let sumOfSums = 0;
  let routes = 0;
  let outOfRange = 0;
  for (let t = 0; t < trace.tokens; t++) {
    for (let l = 0; l < L; l++) {
      const at = (t * L + l) * K;
      if (ex[at] === NO_EXPERT || Number.isNaN(w[at])) continue;
      let s = 0;
      for (let k = 0; k < K; k++) {
        const x = w[at + k];
        if (Number.isNaN(x)) continue;
        if (x < 0 || x > 1) outOfRange++;
        const b = Math.min(bins - 1, Math.max(0, Math.floor(x * bins)));
        counts[b]++;
        perSlot[k * bins + b]++;
        slotSum[k] += x;
        slotN[k]++;
        s += x;
      }
      sumOfSums += s;
      routes++;
    }
  }
  if (routes === 0) return null;
  const edges: number[] = [];
  for (let b = 0; b <= bins; b++) edges.push(round(b / bins));
  const slots: number[][] = [];
  for (let k = 0; k < K; k++) slots.push(Array.from(perSlot.subarray(k * bins, (k + 1) * bins)));
  return {
    edges,
    counts: Array.from(counts),
    perSlot: slots,
    meanPerSlot: Array.from(slotSum, (s, k) => round(slotN[k] > 0 ? s / slotN[k] : 0)),
    meanSum: round(sumOfSums / routes),
    outOfRange,
  };
}
