import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/rng/rng.js';
import { computeTraceStats } from '../../src/trace/stats.js';
import { collectTrace } from '../../src/trace/stream.js';
import { generateSyntheticTrace, SyntheticSource, syntheticSpecSchema, zipfProbabilities, type SyntheticSpec } from '../../src/trace/synthetic.js';

const base: SyntheticSpec = { layers: 4, experts: 16, topK: 2, sequences: 5, tokensPerSequence: 40, popularity: { kind: 'zipf', exponent: 1 }, locality: 0.3, affinity: 0.2 };

describe('synthetic traces', () => {
  it('are deterministic per seed and differ across seeds', () => {
    const a = generateSyntheticTrace(base, createRng(42));
    const b = generateSyntheticTrace(base, createRng(42));
    const c = generateSyntheticTrace(base, createRng(43));
    expect(b.experts).toEqual(a.experts);
    expect(c.experts).not.toEqual(a.experts);
    expect([a.tokens, a.numLayers, a.numExperts, a.topK, a.sequences.length]).toEqual([200, 4, 16, 2, 5]);
    expect(a.source.format).toBe('synthetic');
    expect(a.source.provenance).toContain('zipf(s=1)');
  });

  it('give the same trace whatever the chunk size', () => {
    const whole = generateSyntheticTrace(base, createRng('c'));
    for (const chunk of [1, 7, 40, 1000]) {
      const src = new SyntheticSource(base, createRng('c'));
      expect(collectTrace(src, chunk).experts).toEqual(whole.experts);
    }
  });

  it('pick top-k distinct experts, even with top-k close to E under heavy skew (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }).chain((E) =>
          fc.record({
            layers: fc.integer({ min: 1, max: 3 }),
            experts: fc.constant(E),
            topK: fc.integer({ min: 1, max: E }),
            sequences: fc.integer({ min: 1, max: 3 }),
            tokensPerSequence: fc.integer({ min: 1, max: 20 }),
            popularity: fc.oneof(fc.constant({ kind: 'uniform' as const }), fc.double({ min: 0, max: 6, noNaN: true }).map((exponent) => ({ kind: 'zipf' as const, exponent }))),
            locality: fc.double({ min: 0, max: 1, noNaN: true }),
            affinity: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
        ),
        fc.integer(),
        (spec, seed) => {
          const t = generateSyntheticTrace(syntheticSpecSchema.parse(spec), createRng(seed));
          for (let g = 0; g < t.experts.length; g += t.topK) {
            const set = new Set(t.experts.subarray(g, g + t.topK));
            expect(set.size).toBe(t.topK);
            for (const e of set) expect(e).toBeLessThan(spec.experts);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('follow the Zipf law per layer (top-1, no locality) within 4 standard errors', () => {
    const E = 16;
    const s = 1.2;
    const T = 20000;
    const t = generateSyntheticTrace({ layers: 4, experts: E, topK: 1, sequences: 1, tokensPerSequence: T, popularity: { kind: 'zipf', exponent: s } }, createRng('zipf'));
    const p = zipfProbabilities(E, s);
    const tops: number[] = [];
    for (let l = 0; l < 4; l++) {
      const counts = new Array<number>(E).fill(0);
      for (let i = 0; i < T; i++) counts[t.experts[i * 4 + l]]++;
      const byRank = [...counts].sort((a, b) => b - a);
      for (let r = 0; r < E; r++) {
        const se = Math.sqrt((p[r] * (1 - p[r])) / T);
        expect(Math.abs(byRank[r] / T - p[r])).toBeLessThan(4 * se + 1e-3);
      }
      tops.push(counts.indexOf(byRank[0]));
    }
    // a random permutation of ranks per layer: not the same most popular expert everywhere
    expect(new Set(tops).size).toBeGreaterThan(1);
    const stats = computeTraceStats(t);
    const expectedGini = (() => {
      const sorted = [...p].sort((a, b) => a - b);
      let w = 0;
      sorted.forEach((x, i) => (w += (i + 1) * x));
      return (2 * w) / E - (E + 1) / E;
    })();
    expect(stats.popularity.meanGini).toBeCloseTo(expectedGini, 1);
  });

  it('uniform popularity has entropy close to log2(E)', () => {
    const t = generateSyntheticTrace({ layers: 2, experts: 8, topK: 2, sequences: 10, tokensPerSequence: 500, popularity: { kind: 'uniform' } }, createRng('u'));
    expect(computeTraceStats(t).popularity.meanNormalizedEntropy).toBeGreaterThan(0.998);
  });

  it('locality p gives temporal locality ~ p + (1 - p) / E (top-1, uniform)', () => {
    const E = 8;
    for (const p of [0, 0.3, 0.7]) {
      const t = generateSyntheticTrace({ layers: 2, experts: E, topK: 1, sequences: 20, tokensPerSequence: 500, popularity: { kind: 'uniform' }, locality: p }, createRng(`loc${p}`));
      expect(computeTraceStats(t).temporalLocality.mean).toBeCloseTo(p + (1 - p) / E, 1);
    }
  });

  it('affinity 1 makes each layer a function of the previous one', () => {
    const t = generateSyntheticTrace({ layers: 3, experts: 8, topK: 1, sequences: 4, tokensPerSequence: 200, popularity: { kind: 'uniform' }, affinity: 1 }, createRng('aff'));
    const s = computeTraceStats(t);
    expect(s.affinity.heldOutRecall).toEqual([1, 1]);
    expect(s.affinity.meanPopularityRecall).toBeLessThan(0.3);
  });

  it('the spec schema is strict and checks topK <= experts', () => {
    expect(syntheticSpecSchema.safeParse({ ...base, extra: 1 }).success).toBe(false);
    expect(syntheticSpecSchema.safeParse({ ...base, topK: 17 }).error?.issues[0].path).toEqual(['topK']);
    expect(syntheticSpecSchema.safeParse({ ...base, popularity: { kind: 'zipf' } }).success).toBe(false);
    expect(syntheticSpecSchema.safeParse({ ...base, popularity: { kind: 'uniform', exponent: 1 } }).success).toBe(false);
    expect(syntheticSpecSchema.safeParse({ ...base, locality: 1.5 }).success).toBe(false);
  });

  it('streams a 1,000,000-token trace with flat memory', () => {
    const spec: SyntheticSpec = { layers: 8, experts: 8, topK: 2, sequences: 1000, tokensPerSequence: 1000, popularity: { kind: 'zipf', exponent: 0.8 }, locality: 0.4 };
    const src = new SyntheticSource(spec, createRng('big'));
    const before = process.memoryUsage();
    let tokens = 0;
    let checksum = 0;
    let peak = 0;
    for (let c = src.nextChunk(65536); c !== null; c = src.nextChunk(65536)) {
      tokens += c.tokens;
      checksum += c.experts[c.experts.length - 1];
      const m = process.memoryUsage();
      peak = Math.max(peak, m.heapUsed + m.arrayBuffers - before.heapUsed - before.arrayBuffers);
    }
    expect(tokens).toBe(1_000_000);
    expect(checksum).toBeGreaterThan(0);
    // the whole trace would be 32 MB of Uint16; a chunk is 2 MB
    expect(peak).toBeLessThan(24 * 2 ** 20);
  }, 60000);
});
