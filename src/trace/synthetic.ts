/**
 * Seeded synthetic routing traces.
 *
 * Every (token, layer) picks topK distinct experts, slot by slot:
 * 1. with probability `locality`, the expert the sequence's previous token used at the same
 *    (layer, slot) (temporal locality);
 * 2. else, with probability `affinity` (layers >= 1), a fixed random successor of the expert this
 *    token used at the same slot of the previous layer (inter-layer affinity);
 * 3. else a draw from the layer's popularity: uniform, or Zipf with exponent s over expert ranks,
 *    ranks mapped to experts by a random permutation per layer (p(rank r) ~ 1 / r^s).
 * A candidate already chosen for this (token, layer) falls through to popularity, which draws
 * without replacement. `SyntheticSource` produces the trace in chunks with flat memory (a
 * million-token benchmark never holds the whole trace); `generateSyntheticTrace` collects it.
 */
import { z } from 'zod';
import type { Rng } from '../rng/rng.js';
import { collectTrace, type ChunkSegment, type TraceChunk, type TraceHeader, type TraceStream } from './stream.js';
import { NO_EXPERT, type Trace } from './types.js';

export const popularitySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('uniform') }),
  z.strictObject({ kind: z.literal('zipf'), exponent: z.number().min(0).max(20) }),
]);

export const syntheticSpecSchema = z
  .strictObject({
    layers: z.number().int().min(1).max(4096),
    experts: z.number().int().min(1).max(NO_EXPERT - 1),
    topK: z.number().int().min(1),
    sequences: z.number().int().min(1),
    tokensPerSequence: z.number().int().min(1),
    popularity: popularitySchema,
    /** Probability that a slot reuses the previous token's expert at that (layer, slot). */
    locality: z.number().min(0).max(1).optional(),
    /** Probability that a slot follows the previous layer's expert at that slot (fixed random map). */
    affinity: z.number().min(0).max(1).optional(),
  })
  .refine((s) => s.topK <= s.experts, { message: 'topK must not exceed experts', path: ['topK'] });

export type SyntheticSpec = z.infer<typeof syntheticSpecSchema>;
export type Popularity = z.infer<typeof popularitySchema>;

/** Zipf probabilities over ranks 1..n: p(r) ~ 1 / r^s. */
export function zipfProbabilities(n: number, s: number): Float64Array {
  const p = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) {
    p[r] = 1 / (r + 1) ** s;
    sum += p[r];
  }
  for (let r = 0; r < n; r++) p[r] /= sum;
  return p;
}

/** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
export function randomPermutation(n: number, rng: Rng): Uint16Array {
  const a = new Uint16Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

function describe(spec: SyntheticSpec, seed: string): string {
  const pop = spec.popularity.kind === 'zipf' ? `zipf(s=${spec.popularity.exponent})` : 'uniform';
  return `synthetic: ${spec.layers} layers, ${spec.experts} experts, top-${spec.topK}, ${pop}, locality ${spec.locality ?? 0}, affinity ${spec.affinity ?? 0}, ${spec.sequences} x ${spec.tokensPerSequence} tokens, seed "${seed}"`;
}

/** Chunked generator of a synthetic trace (flat memory: one chunk buffer, reused). */
export class SyntheticSource implements TraceStream {
  readonly header: TraceHeader;
  readonly totalTokens: number;
  /** [layer][expert] probability of each expert (after the rank permutation). */
  readonly probabilities: Float64Array;
  private readonly spec: SyntheticSpec;
  private readonly L: number;
  private readonly E: number;
  private readonly K: number;
  private readonly stride: number;
  private readonly locality: number;
  private readonly affinity: number;
  private readonly zipf: boolean;
  /** [layer][rank] cumulative probability (zipf only). */
  private readonly cdf: Float64Array;
  /** [layer][rank] -> expert. */
  private readonly perm: Uint16Array;
  /** [layer][expert at layer-1] -> preferred expert at layer. */
  private readonly successor: Uint16Array;
  private readonly draws: Rng;
  private readonly prev: Uint16Array;
  private buf = new Uint16Array(0);
  private seq = 0;
  private pos = 0;

  constructor(spec: SyntheticSpec, rng: Rng) {
    this.spec = spec;
    const L = (this.L = spec.layers);
    const E = (this.E = spec.experts);
    const K = (this.K = spec.topK);
    if (K > E) throw new RangeError(`topK ${K} exceeds experts ${E}`);
    this.stride = L * K;
    this.locality = spec.locality ?? 0;
    this.affinity = spec.affinity ?? 0;
    this.zipf = spec.popularity.kind === 'zipf';
    this.totalTokens = spec.sequences * spec.tokensPerSequence;
    const popRng = rng.fork('popularity');
    const affRng = rng.fork('affinity');
    this.draws = rng.fork('routes');
    this.perm = new Uint16Array(L * E);
    this.cdf = new Float64Array(L * E);
    this.probabilities = new Float64Array(L * E);
    this.successor = new Uint16Array(L * E);
    const rankP = spec.popularity.kind === 'zipf' ? zipfProbabilities(E, spec.popularity.exponent) : new Float64Array(E).fill(1 / E);
    for (let l = 0; l < L; l++) {
      const perm = this.zipf ? randomPermutation(E, popRng) : Uint16Array.from({ length: E }, (_, i) => i);
      this.perm.set(perm, l * E);
      let c = 0;
      for (let r = 0; r < E; r++) {
        c += rankP[r];
        this.cdf[l * E + r] = c;
        this.probabilities[l * E + perm[r]] = rankP[r];
      }
      this.cdf[l * E + E - 1] = 1;
      this.successor.set(randomPermutation(E, affRng), l * E);
    }
    this.prev = new Uint16Array(this.stride);
    this.header = {
      numLayers: L,
      numExperts: E,
      topK: K,
      source: { format: 'synthetic', provenance: describe(spec, rng.seed) },
    };
  }

  nextChunk(maxTokens: number): TraceChunk | null {
    const spec = this.spec;
    if (this.seq >= spec.sequences) return null;
    const want = Math.max(1, Math.min(maxTokens, this.totalTokens));
    if (this.buf.length < want * this.stride) this.buf = new Uint16Array(want * this.stride);
    const out = this.buf;
    const segments: ChunkSegment[] = [];
    let t = 0;
    while (t < want && this.seq < spec.sequences) {
      const n = Math.min(want - t, spec.tokensPerSequence - this.pos);
      segments.push({ sequence: String(this.seq), start: t, length: n, continued: this.pos > 0 });
      for (let i = 0; i < n; i++) {
        this.token(out, (t + i) * this.stride, this.pos + i > 0);
      }
      t += n;
      this.pos += n;
      if (this.pos >= spec.tokensPerSequence) {
        this.seq++;
        this.pos = 0;
      }
    }
    return { tokens: t, experts: out.subarray(0, t * this.stride), segments };
  }

  /** Generate one token's routes at out[at ..], given whether the sequence has a previous token. */
  private token(out: Uint16Array, at: number, hasPrev: boolean): void {
    const { L, E, K, prev, locality, affinity } = this;
    const rng = this.draws;
    for (let l = 0; l < L; l++) {
      const base = at + l * K;
      for (let j = 0; j < K; j++) {
        let cand = -1;
        const u = locality > 0 || affinity > 0 ? rng.next() : 1;
        if (hasPrev && u < locality) cand = prev[l * K + j];
        else if (l > 0 && affinity > 0 && rng.next() < affinity) cand = this.successor[l * E + out[base - K + j]];
        if (cand >= 0) {
          for (let i = 0; i < j; i++) {
            if (out[base + i] === cand) {
              cand = -1;
              break;
            }
          }
        }
        if (cand < 0) cand = this.drawPopular(l, out, base, j);
        out[base + j] = cand;
      }
    }
    prev.set(out.subarray(at, at + this.stride));
  }

  /** An expert of layer l from its popularity, not among out[base .. base+j). */
  private drawPopular(l: number, out: Uint16Array, base: number, j: number): number {
    const rng = this.draws;
    for (let tries = 0; tries < 32; tries++) {
      const e = this.sample(l, rng.next());
      let taken = false;
      for (let i = 0; i < j; i++) {
        if (out[base + i] === e) {
          taken = true;
          break;
        }
      }
      if (!taken) return e;
    }
    // Rare (top-k close to E under heavy skew): draw exactly from the remaining experts.
    const E = this.E;
    const p = this.probabilities;
    let rest = 0;
    for (let e = 0; e < E; e++) if (!chosen(out, base, j, e)) rest += p[l * E + e];
    let u = rng.next() * rest;
    let last = -1;
    for (let e = 0; e < E; e++) {
      if (chosen(out, base, j, e)) continue;
      last = e;
      u -= p[l * E + e];
      if (u < 0) return e;
    }
    return last;
  }

  private sample(l: number, u: number): number {
    const E = this.E;
    if (!this.zipf) return Math.min(E - 1, Math.floor(u * E));
    const cdf = this.cdf;
    let lo = l * E;
    let hi = lo + E - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] <= u) lo = mid + 1;
      else hi = mid;
    }
    return this.perm[lo];
  }
}

function chosen(out: Uint16Array, base: number, j: number, e: number): boolean {
  for (let i = 0; i < j; i++) if (out[base + i] === e) return true;
  return false;
}

/** Generate a whole synthetic trace in memory. */
export function generateSyntheticTrace(spec: SyntheticSpec, rng: Rng): Trace {
  return collectTrace(new SyntheticSource(spec, rng));
}
