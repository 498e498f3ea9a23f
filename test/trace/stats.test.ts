import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { importJsonl } from '../../src/trace/jsonl.js';
import { computeTraceStats, distributionShape, lruHitRateCurve, stackDistances, transitionRecall } from '../../src/trace/stats.js';
import { NO_EXPERT, type Trace } from '../../src/trace/types.js';
import { MIXTRAL, traceOf } from './helpers.js';

/** Direct LRU replay: one cache of `capacity` experts per layer, in the documented access order. */
function replayLru(t: Trace, capacity: number): { hits: number; accesses: number } {
  const caches: number[][] = Array.from({ length: t.numLayers }, () => []);
  let hits = 0;
  let accesses = 0;
  for (const s of t.sequences) {
    for (let tok = s.start; tok < s.start + s.length; tok++) {
      for (let l = 0; l < t.numLayers; l++) {
        for (let k = 0; k < t.topK; k++) {
          const e = t.experts[(tok * t.numLayers + l) * t.topK + k];
          if (e === NO_EXPERT) continue;
          accesses++;
          const c = caches[l];
          const i = c.indexOf(e);
          if (i >= 0) {
            hits++;
            c.splice(i, 1);
          } else if (c.length >= capacity && capacity > 0) c.pop();
          if (capacity > 0) c.unshift(e);
        }
      }
    }
  }
  return { hits, accesses };
}

const traceArb = fc
  .record({ E: fc.integer({ min: 1, max: 9 }), L: fc.integer({ min: 1, max: 3 }) })
  .chain(({ E, L }) =>
    fc.integer({ min: 1, max: Math.min(3, E) }).chain((K) =>
      fc.record({
        E: fc.constant(E),
        seqs: fc.array(
          fc.array(fc.array(fc.option(fc.shuffledSubarray([...Array(E).keys()], { minLength: K, maxLength: K }), { freq: 6 }), { minLength: L, maxLength: L }), { minLength: 1, maxLength: 12 }),
          { minLength: 1, maxLength: 3 },
        ),
      }),
    ),
  )
  .filter(({ seqs }) => seqs.some((s) => s.some((tok) => tok.some((r) => r !== null))));

describe('LRU hit-rate curve (Mattson)', () => {
  it('equals a direct LRU replay at every per-layer capacity (property)', () => {
    fc.assert(
      fc.property(traceArb, ({ E, seqs }) => {
        const t = traceOf(E, seqs);
        const curve = lruHitRateCurve(t);
        expect(curve.capacities).toEqual([...Array(E + 1).keys()]);
        for (let c = 0; c <= E; c++) {
          const r = replayLru(t, c);
          expect(curve.accesses).toBe(r.accesses);
          expect(curve.hitRate[c]).toBeCloseTo(r.hits / r.accesses, 12);
        }
        // cold misses: one per (layer, distinct expert)
        expect(curve.hitRate[E]).toBeCloseTo(1 - curve.coldMisses / curve.accesses, 12);
      }),
      { numRuns: 300 },
    );
  });

  it('counts stack depths on a hand-worked example', () => {
    // one layer, top-1: a b a c b a  -> depths: cold cold 1 cold 2 2
    const t = traceOf(3, [[[[0]], [[1]], [[0]], [[2]], [[1]], [[0]]]]);
    const sd = stackDistances(t);
    expect(Array.from(sd.histogram)).toEqual([0, 1, 2, 3]);
    expect(lruHitRateCurve(t).hitRate).toEqual([0, 0, 1 / 6, 3 / 6]);
  });

  it('on the Mixtral trace: 21,558 accesses, 256 cold misses, monotone curve', async () => {
    const t = await importJsonl(MIXTRAL);
    const c = lruHitRateCurve(t);
    expect(c.accesses).toBe(10779 * 2);
    expect(c.coldMisses).toBe(256);
    expect(c.hitRate[8]).toBeCloseTo(1 - 256 / 21558, 12);
    for (let i = 1; i < c.hitRate.length; i++) expect(c.hitRate[i]).toBeGreaterThanOrEqual(c.hitRate[i - 1]);
  });
});

describe('trace statistics', () => {
  it('entropy and Gini of uniform and concentrated counts', () => {
    expect(distributionShape([5, 5, 5, 5])).toEqual({ entropyBits: 2, normalizedEntropy: 1, gini: 0, topShare: 0.25 });
    const one = distributionShape([0, 0, 0, 8]);
    expect(one.entropyBits).toBe(0);
    expect(one.gini).toBeCloseTo(0.75, 12);
    expect(one.topShare).toBe(1);
  });

  it('temporal locality, popularity, absent routes and weights on a small trace', () => {
    // 2 layers, top-2; seq 0: tokens share 1 of 2 experts at layer 0, 2 of 2 at layer 1
    const t = traceOf(
      4,
      [
        [
          [[0, 1], [2, 3]],
          [[1, 2], [3, 2]],
          [null, [2, 3]],
        ],
        [[[0, 1], [2, 3]]],
      ],
      [
        [
          [[0.75, 0.25], [0.5, 0.5]],
          [[0.9, 0.1], [0.6, 0.4]],
          [null, [0.5, 0.5]],
        ],
        [[[0.75, 0.25], [0.5, 0.5]]],
      ],
    );
    const s = computeTraceStats(t);
    expect([s.tokens, s.sequences, s.layers, s.experts, s.topK, s.absentRoutes]).toEqual([4, 2, 2, 4, 2, 1]);
    expect(s.sequenceLength).toEqual({ min: 1, mean: 2, max: 3 });
    // layer 0: token 1 vs 0 shares 1 of 2 (token 2 absent); layer 1: 2 of 2 twice
    expect(s.temporalLocality.perLayer).toEqual([0.5, 1]);
    expect(s.temporalLocality.mean).toBeCloseTo(5 / 6, 5);
    expect(s.popularity.perLayer[0].counts).toEqual([2, 3, 1, 0]);
    const g = s.gateWeights;
    expect(g).not.toBeNull();
    expect(g?.counts.reduce((a, b) => a + b, 0)).toBe(14);
    expect(g?.meanSum).toBe(1);
    expect(g?.meanPerSlot[0]).toBeCloseTo((0.75 + 0.5 + 0.9 + 0.6 + 0.5 + 0.75 + 0.5) / 7, 5);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('affinity: a deterministic layer-to-layer map is predicted perfectly, popularity is not', () => {
    // layer 1 expert = (layer 0 expert + 1) mod 6; layer 0 cycles through all experts, each
    // used by an even and an odd token (the held-out halves)
    const tokens = Array.from({ length: 60 }, (_, i) => [[Math.floor(i / 2) % 6], [(Math.floor(i / 2) + 1) % 6]]);
    const t = traceOf(6, [tokens]);
    const r = transitionRecall(t);
    expect(r.inSample).toEqual([1]);
    expect(r.heldOut).toEqual([1]);
    expect(r.popularity[0]).toBeCloseTo(1 / 6, 5);
    const s = computeTraceStats(t);
    expect(s.affinity.matrices?.[0][2][3]).toBe(1);
    expect(s.affinity.top1Accuracy).toEqual([1]);
  });

  it('Mixtral: popularity near uniform, ~40% temporal locality, affinity above the popularity baseline', async () => {
    const s = computeTraceStats(await importJsonl(MIXTRAL));
    expect(s.popularity.meanNormalizedEntropy).toBeGreaterThan(0.95);
    expect(s.temporalLocality.mean).toBeCloseTo(0.399, 2);
    expect(s.affinity.meanHeldOutRecall).toBeGreaterThan(s.affinity.meanPopularityRecall);
    expect(s.affinity.meanTransitionRecall).toBeGreaterThanOrEqual(s.affinity.meanHeldOutRecall);
    expect(s.gateWeights?.meanSum).toBeCloseTo(1, 5);
  });
});
