import { describe, expect, it } from 'vitest';
import { linkCosts } from '../../src/timing/roofline.js';
import fc from 'fast-check';
import { OffloadSim, type StepCosts } from '../../src/sim/offload-sim.js';
import { staticBatches } from '../../src/trace/steps.js';
import { ExpertCache } from '../../src/policies/expert-cache.js';
import { cachePolicies } from '../../src/policies/index.js';
import { traceOf } from '../helpers/trace.js';
import type { Trace } from '../../src/trace/types.js';

/** Round numbers: attention 1 s, any expert 2 s, LM head 0.5 s, 3-byte experts over a 1 B/s link. */
const costs = (linkBytesPerSec = 1, overlapsCompute?: boolean): StepCosts => ({
  expertBytes: 3,
  ...linkCosts({ name: 'test', h2dBytesPerSec: linkBytesPerSec, d2hBytesPerSec: linkBytesPerSec, latencySec: 0, overlapsCompute, source: 'test' }),
  expertSec: () => 2,
  preExpertSec: () => 1,
  tailSec: () => 0.5,
});

function simulate(trace: Trace, kind: 'lru' | 'none' | 'all-on-gpu', capacity: number, linkBytesPerSec = 1, batchSize = 1, overlapsCompute?: boolean) {
  const E = trace.numExperts;
  const L = trace.numLayers;
  const policy = cachePolicies[kind].create({ numLayers: L, numExperts: E, capacityPerScope: capacity, scopes: L });
  const cache = new ExpertCache(L, E, capacity, true, policy);
  return new OffloadSim(trace, costs(linkBytesPerSec, overlapsCompute), cache, staticBatches(trace, { batchSize, promptTokens: 0 }), { fromStep: 0, steps: 10 }).run();
}

describe('OffloadSim', () => {
  it('charges attention, demand fetches, expert compute and stalls as the timeline says', () => {
    const trace = traceOf([[[[0, 1]], [[0, 2]]]], 3);
    const c = simulate(trace, 'lru', 2);
    // Step 0: attention [0,1]; fetch 0 [1,4], fetch 1 [4,7]; experts [4,6], [7,9]; LM head [9,9.5].
    // Step 1: attention [9.5,10.5]; 0 hits [10.5,12.5]; 2 misses: fetch [10.5,13.5], compute [13.5,15.5]; LM head [15.5,16].
    expect(c.makespanSec).toBe(16);
    expect([c.accesses, c.hits, c.misses]).toEqual([4, 1, 3]);
    expect(c.bytesH2D).toBe(9);
    expect(c.stallSec).toBe(5);
    expect(c.seqFirstEmitSec[0]).toBe(9.5);
    expect([...c.tpotSamplesSec.slice(0, c.tpotSampleCount)]).toEqual([6.5]);
    const spans = c.timeline.map((s) => `${s.resource}:${s.kind}:${s.startMs / 1e3}-${s.endMs / 1e3}`);
    expect(spans).toEqual([
      'gpu:attention:0-1',
      'link:fetch:1-4',
      'link:fetch:4-7',
      'gpu:stall:1-4',
      'gpu:expert:4-6',
      'gpu:stall:6-7',
      'gpu:expert:7-9',
      'gpu:lm-head:9-9.5',
      'gpu:attention:9.5-10.5',
      'gpu:expert:10.5-12.5',
      'link:fetch:10.5-13.5',
      'gpu:stall:12.5-13.5',
      'gpu:expert:13.5-15.5',
      'gpu:lm-head:15.5-16',
    ]);
  });

  it('without a copy engine (link.overlapsCompute false) transfers and compute take turns', () => {
    const trace = traceOf([[[[0, 1]], [[0, 2]]]], 3);
    const c = simulate(trace, 'lru', 2, 1, 1, false);
    // Step 0: attention [0,1]; fetch 0 [1,4]; fetch 1 [4,7] (queued before expert 0's compute); experts [7,9], [9,11]; LM head [11,11.5].
    // Step 1: attention [11.5,12.5]; hit 0 [12.5,14.5]; fetch 2 [14.5,17.5]; compute [17.5,19.5]; LM head [19.5,20].
    expect(c.makespanSec).toBe(20);
    expect(c.makespanSec).toBe(c.gpuBusySec + c.linkBusySec);
    expect([c.accesses, c.hits, c.misses, c.bytesH2D]).toEqual([4, 1, 3, 9]);
    expect(c.stallSec).toBe(9); // the layers' time not spent computing experts: the three fetches
    const spans = c.timeline.map((s) => `${s.resource}:${s.kind}:${s.startMs / 1e3}-${s.endMs / 1e3}`);
    expect(spans.slice(0, 4)).toEqual(['gpu:attention:0-1', 'link:fetch:1-4', 'link:fetch:4-7', 'gpu:stall:1-7']);
  });

  it('a batch fetches the union of its tokens\' experts once', () => {
    const trace = traceOf([[[[0, 1]]], [[[1, 2]]]], 3);
    const c = simulate(trace, 'none', 0, 1, 2);
    expect(c.accesses).toBe(3);
    expect(c.bytesH2D).toBe(9);
    expect(c.peakStaging).toBe(3);
  });

  it('all-on-gpu never stalls and moves no bytes', () => {
    const trace = traceOf([[[[0, 1]], [[0, 2]]]], 3);
    const c = simulate(trace, 'all-on-gpu', 3);
    expect(c.stallSec).toBe(0);
    expect(c.bytesH2D).toBe(0);
    expect(c.makespanSec).toBe(2 * (1 + 2 + 2 + 0.5));
  });

  it('hits + misses = accesses, and time only grows when the link slows (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 6 }),
        (seqs, cap) => {
          const trace = traceOf(seqs.map((s) => s.map(([a, b]) => [a === b ? [a] : [a, b]])), 6);
          const fast = simulate(trace, 'lru', cap, 10);
          const slow = simulate(trace, 'lru', cap, 1);
          expect(fast.hits + fast.misses).toBe(fast.accesses);
          expect(fast.hits).toBe(slow.hits);
          expect(slow.makespanSec).toBeGreaterThanOrEqual(fast.makespanSec);
          expect(slow.stallSec).toBeGreaterThanOrEqual(fast.stallSec - 1e-9);
        },
      ),
      { numRuns: 100 },
    );
  });
});
