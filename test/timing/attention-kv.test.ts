import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ATTENTION_QUERY_TILE, RooflineCosts, kvReadTokens, tileKvShare } from '../../src/timing/roofline.js';
import { modelPresets } from '../../src/model/presets.js';
import { hardwarePresets } from '../../src/hardware/presets.js';
import { staticBatches } from '../../src/trace/steps.js';
import type { Trace } from '../../src/trace/types.js';

const model = modelPresets['mixtral-8x7b'];
const hw = hardwarePresets['rtx-4090'];
const cost = new RooflineCosts(model, hw, { experts: 'int4', dense: 'bf16', kvCache: 'bf16', groupSize: 128 });
const B = ATTENTION_QUERY_TILE;

/** A roofline whose FLOPs are free, so that its time is bytes over HBM bandwidth (the KV reads show). */
const memOnly = new RooflineCosts(model, { ...hw, gpu: { ...hw.gpu, flopsPerSec: { fp32: 1e30, bf16: 1e30 } } }, { experts: 'int4', dense: 'bf16', kvCache: 'bf16', groupSize: 128 });

describe('KV-cache reads of a fused attention kernel', () => {
  it('the query tile is FlashAttention-2\'s kBlockM for head dim 128 on sm80/sm90', () => {
    expect(B).toBe(128);
  });

  it('per-token shares (split over GPUs by expert parallelism) sum to the chunk\'s KV read; a lone token\'s share is its context', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20000 }), fc.integer({ min: 1, max: 1000 }), (prior, n) => {
        let sum = 0;
        for (let p = 0; p < n; p++) sum += tileKvShare(prior, n, p);
        expect(sum).toBeCloseTo(kvReadTokens(prior, n), 6);
      }),
    );
    expect(tileKvShare(41, 1, 0)).toBe(42);
    // Tokens 128..129 of a 130-token chunk share the last tile, which reads prior + 130.
    expect(tileKvShare(0, 130, 129)).toBe(65);
  });

  it('decode: one token reads its context, prior + 1', () => {
    for (const prior of [0, 1, 127, 4095, 32767]) expect(kvReadTokens(prior, 1)).toBe(prior + 1);
    expect(kvReadTokens(10, 0)).toBe(0);
  });

  it('a chunk within one tile reads its context once: ceil(n/Bq) x c with ceil = 1', () => {
    for (const [prior, n] of [[1000, 1], [1000, 64], [1000, 128], [0, 100]]) expect(kvReadTokens(prior, n)).toBe(prior + n);
  });

  it('a longer chunk: tile i reads prior + min(i x Bq, n), at most ceil(n/Bq) x (prior + n), far below n x (prior + n)', () => {
    // 8192 prompt tokens from an empty cache: 64 tiles ending at 128, 256, ..., 8192.
    expect(kvReadTokens(0, 8192)).toBe((128 * 64 * 65) / 2);
    expect(kvReadTokens(500, 300)).toBe(500 + 128 + 500 + 256 + 500 + 300);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100000 }), fc.integer({ min: 1, max: 20000 }), (prior, n) => {
        const k = kvReadTokens(prior, n);
        let direct = 0;
        for (let end = B; ; end += B) {
          direct += prior + Math.min(end, n);
          if (end >= n) break;
        }
        expect(k).toBe(direct);
        expect(k).toBeLessThanOrEqual(Math.ceil(n / B) * (prior + n));
        expect(k).toBeGreaterThanOrEqual(Math.ceil(n / B) * prior + n);
      }),
    );
  });

  it('preExpertSec charges kvTokens x kv bytes per layer; contextTokens still sets the FLOPs', () => {
    const j = 3;
    const base = memOnly.preExpertSec(j, 8192, 0, 0);
    const kv = kvReadTokens(0, 8192);
    const expected = base + (kv * memOnly.kvBytesPerToken) / model.numLayers / hw.gpu.hbmBytesPerSec;
    expect(memOnly.preExpertSec(j, 8192, (8192 * 8193) / 2, kv)).toBeCloseTo(expected, 12);
    // FLOPs: with a real peak, the (causal) context sum still costs attention FLOPs.
    expect(cost.preExpertSec(j, 8192, (8192 * 8193) / 2, kv)).toBeGreaterThan(cost.preExpertSec(j, 8192, 0, kv));
  });

  it('decode steps are charged exactly as before (kvTokens === contextTokens)', () => {
    const trace: Trace = {
      numLayers: 1, numExperts: 8, topK: 2, tokens: 40, experts: new Uint16Array(80),
      sequences: [{ id: 'a', start: 0, length: 20 }, { id: 'b', start: 20, length: 20 }], source: { format: 'test' }, warnings: [],
    };
    const src = staticBatches(trace, { batchSize: 2, promptTokens: 0 });
    let steps = 0;
    for (let s = src.next(0); s; s = src.next(0)) {
      expect(s.prefill).toBe(false);
      expect(s.kvTokens).toBe(s.contextTokens);
      steps++;
    }
    expect(steps).toBe(20);
  });

  it('a prompt step sums kvReadTokens per sequence', () => {
    const trace: Trace = {
      numLayers: 1, numExperts: 8, topK: 2, tokens: 1000, experts: new Uint16Array(2000),
      sequences: [{ id: 'a', start: 0, length: 600 }, { id: 'b', start: 600, length: 400 }], source: { format: 'test' }, warnings: [],
    };
    const s = staticBatches(trace, { batchSize: 2, promptTokens: 300 }).next(0)!;
    expect(s.prefill).toBe(true);
    expect(s.kvTokens).toBe(2 * kvReadTokens(0, 300));
    expect(s.contextTokens).toBe(300 * 301);
  });

  it('more prompt tokens are never cheaper (monotone in n, at any prior context)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50000 }), fc.integer({ min: 1, max: 10000 }), fc.integer({ min: 1, max: 300 }), (prior, n, more) => {
        expect(kvReadTokens(prior, n + more)).toBeGreaterThan(kvReadTokens(prior, n));
        const ctx = (m: number): number => m * prior + (m * (m + 1)) / 2;
        const t = (m: number): number => cost.preExpertSec(0, m, ctx(m), kvReadTokens(prior, m)) + cost.tailSec(m, ctx(m), 1, kvReadTokens(prior, m));
        expect(t(n + more)).toBeGreaterThanOrEqual(t(n));
      }),
    );
  });
});
