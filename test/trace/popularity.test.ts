import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/rng/rng.js';
import { fitTrace } from '../../src/trace/fit.js';
import { importJsonl } from '../../src/trace/jsonl.js';
import { popularityCounts } from '../../src/trace/popularity.js';
import { computeTraceStats } from '../../src/trace/stats.js';
import { MIXTRAL, traceOf } from './helpers.js';

describe('popularityCounts', () => {
  it('counts each present slot at its (layer, expert), skips absent routes, stops after `tokens`', () => {
    // 2 layers, top-2, 4 experts; token 1 has layer 1 absent.
    const t = traceOf(4, [[[[0, 1], [2, 3]], [[0, 2], null], [[3, 1], [3, 2]]]]);
    expect([...popularityCounts(t, 4)]).toEqual([2, 2, 1, 1, 0, 0, 2, 2]);
    expect([...popularityCounts(t, 4, 1)]).toEqual([1, 1, 0, 0, 0, 0, 1, 1]);
    // a wider expert space (the model's) keeps the keys layer * numExperts + expert
    expect(popularityCounts(t, 6, 1)[6 + 2]).toBe(1);
  });

  it('`trace stats` and `trace synth --fit` read the same popularity from one trace', async () => {
    const trace = await importJsonl(MIXTRAL, {});
    const stats = computeTraceStats(trace);
    const fitted = fitTrace(trace, createRng(0));
    const E = trace.numExperts;
    for (const [l, layer] of stats.popularity.perLayer.entries()) {
      // the fit smooths the counts by half a pseudo-count per expert (trace/fit.ts)
      const total = layer.counts.reduce((a, b) => a + b + 0.5, 0);
      const fromStats = layer.counts.map((c) => (c + 0.5) / total);
      expect([...fitted.popularity.subarray(l * E, (l + 1) * E)].map((p) => p.toFixed(12))).toEqual(fromStats.map((p) => p.toFixed(12)));
    }
  });
});
