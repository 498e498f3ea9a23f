import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/rng/rng.js';
import { readCanonical, writeCanonicalStream } from '../../src/trace/canonical.js';
import { importGateCsv } from '../../src/trace/csv.js';
import { FittedSource, fitTrace, generateFittedTrace } from '../../src/trace/fit.js';
import { importJsonl } from '../../src/trace/jsonl.js';
import { computeTraceStats, lruHitRateCurve } from '../../src/trace/stats.js';
import { FLAME, MIXTRAL, tempDir } from './helpers.js';

const dir = tempDir();
const maxGap = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i])));

describe('fitted synthetic traces', () => {
  it('Mixtral, 10x longer: LRU hit-rate curve within 2 points at every per-layer capacity, locality and popularity kept', async () => {
    const real = await importJsonl(MIXTRAL, { model: 'mixtral-8x7b' });
    const model = fitTrace(real, createRng(1).fork('fit'));
    const p = join(dir, 'mixtral-fit.moesim');
    const n = await writeCanonicalStream(new FittedSource(model, real.tokens * 10, createRng(1).fork('generate')), p);
    expect(n).toBe(3380);
    const syn = await readCanonical(p);
    expect([syn.tokens, syn.numLayers, syn.numExperts, syn.topK]).toEqual([3380, 32, 8, 2]);
    expect(syn.source.model).toBe('mixtral-8x7b');
    expect(syn.weights).toBeDefined();
    const a = lruHitRateCurve(real).hitRate;
    const b = lruHitRateCurve(syn).hitRate;
    expect(maxGap(a, b)).toBeLessThan(0.02);
    const sa = computeTraceStats(real);
    const sb = computeTraceStats(syn);
    expect(Math.abs(sa.temporalLocality.mean - sb.temporalLocality.mean)).toBeLessThan(0.02);
    expect(Math.abs(sa.popularity.meanNormalizedEntropy - sb.popularity.meanNormalizedEntropy)).toBeLessThan(0.01);
    expect(Math.abs(sa.affinity.meanHeldOutRecall - sb.affinity.meanHeldOutRecall)).toBeLessThan(0.03);
    expect(Math.abs(sa.affinity.meanPopularityRecall - sb.affinity.meanPopularityRecall)).toBeLessThan(0.02);
    // gate weights resampled from the real ones: renormalised top-2, sums of 1
    expect(sb.gateWeights?.meanSum).toBeCloseTo(1, 3);
    expect(sb.gateWeights?.meanPerSlot[0]).toBeCloseTo(sa.gateWeights?.meanPerSlot[0] ?? 0, 1);
  }, 60000);

  it('FLAME (64 experts, top-6), 10x longer: curve within 2 points, layer-to-layer predictability kept', async () => {
    const real = await importGateCsv(FLAME, { tokensPerSequence: 64 });
    const syn = generateFittedTrace(fitTrace(real, createRng(2).fork('fit')), real.tokens * 10, createRng(2).fork('generate'));
    expect(maxGap(lruHitRateCurve(real).hitRate, lruHitRateCurve(syn).hitRate)).toBeLessThan(0.02);
    const sa = computeTraceStats(real);
    const sb = computeTraceStats(syn);
    expect(sb.layerIds).toEqual([2, 3, 4]);
    expect(Math.abs(sa.affinity.meanHeldOutRecall - sb.affinity.meanHeldOutRecall)).toBeLessThan(0.04);
    expect(sb.affinity.meanHeldOutRecall).toBeGreaterThan(2 * sb.affinity.meanPopularityRecall);
    expect(Math.abs(sa.temporalLocality.mean - sb.temporalLocality.mean)).toBeLessThan(0.02);
  }, 60000);

  it('is deterministic per seed', async () => {
    const real = await importJsonl(MIXTRAL);
    const m1 = fitTrace(real, createRng(5), { iterations: 3, sharpnessSteps: 1 });
    const m2 = fitTrace(real, createRng(5), { iterations: 3, sharpnessSteps: 1 });
    expect(m2.depthWeights).toEqual(m1.depthWeights);
    const g1 = generateFittedTrace(m1, 500, createRng(9));
    const g2 = generateFittedTrace(m2, 500, createRng(9));
    expect(g2.experts).toEqual(g1.experts);
    expect(g1.tokens).toBe(500);
    expect(g1.sequences.reduce((a, s) => a + s.length, 0)).toBe(500);
  }, 60000);
});
