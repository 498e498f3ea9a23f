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
import { checkTraceDims } from './checks.js';
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
  /** [layer][column] alias-table keep probability and alias expert (popularity sampling). */
  private readonly aliasProb: Float64Array;
  private readonly aliasIdx: Uint16Array;
  /** [layer][expert at layer-1] -> preferred expert at layer. */
  private readonly successor: Uint16Array;
  private readonly next: () => number;
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
    this.next = rng.fork('routes').next;
    this.aliasProb = new Float64Array(L * E);
    this.aliasIdx = new Uint16Array(L * E);
    this.probabilities = new Float64Array(L * E);
    this.successor = new Uint16Array(L * E);
    const rankP = spec.popularity.kind === 'zipf' ? zipfProbabilities(E, spec.popularity.exponent) : new Float64Array(E).fill(1 / E);
    for (let l = 0; l < L; l++) {
      const perm = this.zipf ? randomPermutation(E, popRng) : Uint16Array.from({ length: E }, (_, i) => i);
      for (let r = 0; r < E; r++) this.probabilities[l * E + perm[r]] = rankP[r];
      const table = aliasTable(this.probabilities.subarray(l * E, (l + 1) * E));
      this.aliasProb.set(table.prob, l * E);
      this.aliasIdx.set(table.alias, l * E);
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
    const L = this.L;
    const E = this.E;
    const K = this.K;
    const prev = this.prev;
    const locality = hasPrev ? this.locality : 0;
    const affinity = this.affinity;
    const successor = this.successor;
    const aliasProb = this.aliasProb;
    const aliasIdx = this.aliasIdx;
    const next = this.next;
    for (let l = 0; l < L; l++) {
      const base = at + l * K;
      const lb = l * E;
      for (let j = 0; j < K; j++) {
        let cand = -1;
        if (locality > 0 && next() < locality) cand = prev[l * K + j];
        else if (affinity > 0 && l > 0 && next() < affinity) cand = successor[lb + out[base - K + j]];
        if (cand >= 0) {
          for (let i = 0; i < j; i++) {
            if (out[base + i] === cand) {
              cand = -1;
              break;
            }
          }
        }
        if (cand < 0) {
          // popularity: alias method (one uniform draw), rejecting experts already chosen
          for (let tries = 0; tries < 32 && cand < 0; tries++) {
            const x = next() * E;
            const col = x | 0;
            const e = x - col < aliasProb[lb + col] ? col : aliasIdx[lb + col];
            cand = e;
            for (let i = 0; i < j; i++) {
              if (out[base + i] === e) {
                cand = -1;
                break;
              }
            }
          }
          if (cand < 0) cand = this.drawRemaining(l, out, base, j);
        }
        out[base + j] = cand;
      }
    }
    for (let i = 0; i < this.stride; i++) prev[i] = out[at + i];
  }

  /** Rare (top-k close to E under heavy skew): draw exactly from the experts not chosen yet. */
  private drawRemaining(l: number, out: Uint16Array, base: number, j: number): number {
    const E = this.E;
    const p = this.probabilities;
    let rest = 0;
    for (let e = 0; e < E; e++) if (!chosen(out, base, j, e)) rest += p[l * E + e];
    let u = this.next() * rest;
    let last = -1;
    for (let e = 0; e < E; e++) {
      if (chosen(out, base, j, e)) continue;
      last = e;
      u -= p[l * E + e];
      if (u < 0) return e;
    }
    return last;
  }
}

/** Walker's alias table of a distribution: P(column i) = 1/n, keep i with prob[i], else alias[i]. */
export function aliasTable(p: ArrayLike<number>): { prob: Float64Array; alias: Uint16Array } {
  const n = p.length;
  const prob = new Float64Array(n);
  const alias = new Uint16Array(n);
  const scaled = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += p[i];
  for (let i = 0; i < n; i++) scaled[i] = (p[i] * n) / sum;
  const small: number[] = [];
  const large: number[] = [];
  for (let i = n - 1; i >= 0; i--) (scaled[i] < 1 ? small : large).push(i);
  while (small.length > 0 && large.length > 0) {
    const s = small.pop() as number;
    const g = large.pop() as number;
    prob[s] = scaled[s];
    alias[s] = g;
    scaled[g] = scaled[g] + scaled[s] - 1;
    (scaled[g] < 1 ? small : large).push(g);
  }
  for (const i of large) {
    prob[i] = 1;
    alias[i] = i;
  }
  for (const i of small) {
    prob[i] = 1;
    alias[i] = i;
  }
  return { prob, alias };
}

function chosen(out: Uint16Array, base: number, j: number, e: number): boolean {
  for (let i = 0; i < j; i++) if (out[base + i] === e) return true;
  return false;
}

/** Generate a whole synthetic trace in memory. */
export function generateSyntheticTrace(spec: SyntheticSpec, rng: Rng): Trace {
  // the size is known up front: refuse it before generating anything
  checkTraceDims('trace.synthetic: ', { tokens: spec.sequences * spec.tokensPerSequence, layers: spec.layers, topK: spec.topK, experts: spec.experts });
  return collectTrace(new SyntheticSource(spec, rng));
}
