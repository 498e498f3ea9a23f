import { describe, expect, it } from 'vitest';
import { linkCosts } from '../../src/timing/roofline.js';
import { summarizeLatencies, tokenLatencies, type StepLog } from '../../src/metrics/latency.js';
import { OffloadSim, type StepCosts } from '../../src/sim/offload-sim.js';
import { staticBatches } from '../../src/trace/steps.js';
import { summarize } from '../../src/metrics/summarize.js';
import { ExpertCache } from '../../src/policies/expert-cache.js';
import { cachePolicies } from '../../src/policies/index.js';
import { traceOf } from '../helpers/trace.js';

describe('tokenLatencies', () => {
  it('TTFT from a sequence\'s first step start to its first output; TPOT the gaps after', () => {
    const steps: StepLog[] = [
      { count: 2, prefill: true, startSeq: [0, 1], emitSeq: [0, 1] },
      { count: 2, prefill: false, startSeq: [], emitSeq: [0, 1] },
      { count: 1, prefill: false, startSeq: [], emitSeq: [1] },
      { count: 1, prefill: true, startSeq: [2], emitSeq: [2] },
    ];
    const l = tokenLatencies(steps, [4, 1, 2, 3], 3);
    expect(l.ttftSec).toEqual([4, 4, 3]);
    expect(l.tpotSec).toEqual([1, 1, 2]);
    expect(summarizeLatencies(l)).toMatchObject({ ttftMs: (11 / 3) * 1e3, tpotMs: (4 / 3) * 1e3, tpotSamples: 3, ttftSamples: 3 });
  });

  it('agrees with the simulator\'s own TTFT and TPOT given its step times', () => {
    const trace = traceOf([[[[0, 1]], [[0, 2]], [[1, 2]]], [[[2, 3]], [[0, 3]]]], 4);
    const costs: StepCosts = {
      expertBytes: 3,
      ...linkCosts({ name: 't', h2dBytesPerSec: 2, d2hBytesPerSec: 2, latencySec: 0.1, source: 't' }),
      expertSec: (n) => 0.5 * n,
      preExpertSec: () => 1,
      tailSec: () => 0.25,
    };
    const policy = cachePolicies.lru.create({ numLayers: 1, numExperts: 4, capacityPerScope: 2, scopes: 1 });
    const source = staticBatches(trace, { batchSize: 2, promptTokens: 1 });
    const c = new OffloadSim(trace, costs, new ExpertCache(1, 4, 2, true, policy), source).run();
    const log: StepLog[] = [];
    const s2 = staticBatches(trace, { batchSize: 2, promptTokens: 1 });
    for (let s = s2.next(0); s !== null; s = s2.next(0)) log.push({ count: s.count, prefill: s.prefill, startSeq: Array.from(s.startSeq.subarray(0, s.startCount)), emitSeq: Array.from(s.emitSeq.subarray(0, s.emitCount)) });
    const ends = Array.from(c.stepEndSec.subarray(0, c.stepEndCount));
    expect(ends).toHaveLength(log.length);
    const mine = summarizeLatencies(tokenLatencies(log, ends.map((t, i) => t - (i ? ends[i - 1] : 0)), 2));
    const sims = summarize(c, { residentBytes: 0, expertCacheBytes: 0, stagingBytes: 0, allOnGpuBytes: 1, cacheCapacityExperts: 2 });
    expect(mine.tpotMs).toBeCloseTo(sims.tpotMs, 9);
    expect(mine.ttftMs).toBeCloseTo(sims.ttftMs, 9);
    expect(c.perLayerSec[0]).toBeGreaterThan(0);
  });
});
