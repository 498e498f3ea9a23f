import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { linkCosts } from '../../src/timing/roofline.js';
import { OffloadSim, type StepCosts } from '../../src/sim/offload-sim.js';
import { HostTier, hostAccessKeys, storageLinkCosts } from '../../src/sim/tiers.js';
import { staticBatches } from '../../src/trace/steps.js';
import { ExpertCache } from '../../src/policies/expert-cache.js';
import { cachePolicies } from '../../src/policies/index.js';
import { nextUseOf } from '../../src/policies/belady.js';
import { accessKeys } from '../../src/trace/union.js';
import { traceOf } from '../helpers/trace.js';
import { simulate } from '../helpers/sim.js';
import type { Trace } from '../../src/trace/types.js';
import { cpuOnMiss } from '../../src/policies/miss/cpu.js';
import type { SimCounters } from '../../src/metrics/counters.js';

/** Round numbers: attention 1 s, expert 2 s, LM head 0.5 s, 3-byte experts over a 1 B/s link (3 s), SSD reads 5 s. */
const costs: StepCosts = {
  expertBytes: 3,
  ...linkCosts({ name: 'test', h2dBytesPerSec: 1, d2hBytesPerSec: 1, latencySec: 0, source: 'test' }),
  expertSec: () => 2,
  preExpertSec: () => 1,
  tailSec: () => 0.5,
};
const ssdSec = () => 5;

function gpuCache(trace: Trace, perLayer: number): ExpertCache {
  const L = trace.numLayers;
  const E = trace.numExperts;
  return new ExpertCache(L, E, perLayer, true, cachePolicies.lru.create({ numLayers: L, numExperts: E, capacityPerScope: perLayer, scopes: L }));
}

function hostCache(trace: Trace, capacity: number, kind: 'lru' | 'belady', nextUse?: Int32Array): ExpertCache {
  const L = trace.numLayers;
  const E = trace.numExperts;
  return new ExpertCache(L, E, capacity, false, cachePolicies[kind].create({ numLayers: L, numExperts: E, capacityPerScope: capacity, scopes: 1, nextUse }));
}

function run(trace: Trace, host: HostTier, cost: StepCosts = costs, onMissCpu = false) {
  const source = staticBatches(trace, { batchSize: 1, promptTokens: 0 });
  const miss = onMissCpu ? { missHandler: cpuOnMiss(), missCosts: { cpuExpertSec: () => 1, activationBytes: () => 0, lowBitExpertBytes: 1, lowBitExpertSec: () => 1 } } : {};
  return new OffloadSim(trace, cost, gpuCache(trace, 1), source, { fromStep: 0, steps: 10 }, { tiers: host, ...miss }).run();
}

/** The stall classes of a run: [capacity, misprediction, link queue, cpu, ssd]. */
const split = (c: SimCounters) => [c.stallCapacitySec, c.stallMispredictionSec, c.stallLinkQueueSec, c.stallCpuSec, c.stallSsdSec];

// One layer, experts 0,1,0,2,1 (top-1); GPU: 1 slot; host DRAM: 2 experts (LRU); the SSD behind.
const trace = traceOf([[[[0]], [[1]], [[0]], [[2]], [[1]]]], 3);

describe('three tiers: GPU <- host DRAM <- SSD', () => {
  it('pins the timeline through all three tiers (host LRU)', () => {
    const host = new HostTier(hostCache(trace, 2, 'lru'), 3, ssdSec);
    const c = run(trace, host);
    // Step 0: attention [0,1]; 0 misses GPU and host: SSD [1,6], link [6,9], expert [9,11], head [11,11.5].
    // Step 1: attention [11.5,12.5]; 1 misses both: SSD [12.5,17.5], link [17.5,20.5], expert [20.5,22.5], head [22.5,23].
    // Step 2: attention [23,24]; 0 misses the GPU (1 slot), hits host: link [24,27], expert [27,29], head [29,29.5].
    // Step 3: attention [29.5,30.5]; 2 misses both, evicts 1 (LRU) from host: SSD [30.5,35.5], link [35.5,38.5], expert [38.5,40.5], head [40.5,41].
    // Step 4: attention [41,42]; 1 misses both (evicts 0): SSD [42,47], link [47,50], expert [50,52], head [52,52.5].
    expect(c.makespanSec).toBe(52.5);
    const spans = c.timeline.filter((s) => s.resource === 'link').map((s) => `${s.startMs / 1e3}-${s.endMs / 1e3}`);
    expect(spans).toEqual(['6-9', '17.5-20.5', '24-27', '35.5-38.5', '47-50']);
    // The SSD lane: the four demand reads, each before its copy, none in step 2 (a host hit).
    const ssd = c.timeline.filter((s) => s.resource === 'ssd').map((s) => `${s.kind} ${s.step} e${s.expert} ${s.startMs / 1e3}-${s.endMs / 1e3}`);
    expect(ssd).toEqual(['ssd-read 0 e0 1-6', 'ssd-read 1 e1 12.5-17.5', 'ssd-read 3 e2 30.5-35.5', 'ssd-read 4 e1 42-47']);
    const t = host.counters;
    expect([t.hostRequests, t.hostHits, t.hostMisses, t.hostEvictions]).toEqual([5, 1, 4, 2]);
    expect([t.ssdReads, t.ssdDemandReads, t.ssdStagedReads]).toEqual([4, 4, 0]);
    // Every byte charged to the link it crossed: 4 reads SSD -> host, 5 copies host -> GPU.
    expect(t.bytesSsdToHost).toBe(12);
    expect(c.bytesH2D).toBe(15);
    expect(t.ssdBusySec).toBe(20);
    expect(c.linkBusySec).toBe(15);
    expect(t.ssdDemandWaitSec).toBe(20);
    // The GPU waited for SSD + link: 4 x 8 s + 1 x 3 s.
    expect(c.stallSec).toBe(35);
    // Split: the four SSD reads (4 x 5 s) are SSD stall, the five copies (5 x 3 s) capacity stall; no link queue.
    expect(split(c)).toEqual([15, 0, 0, 0, 20]);
  });

  it('a CPU-computed miss waits for its SSD read: that part of the end-of-layer wait is SSD stall', () => {
    // One step, one layer, expert 0 missing everywhere; the CPU (1 s) is cheaper than a fetch (3 + 2 s).
    // Attention [0,1]; SSD read [1,6]; CPU [6,7]; the GPU idles [1,7]: 5 s SSD, 1 s CPU; head [7,7.5].
    const one = traceOf([[[[0]]]], 3);
    const host = new HostTier(hostCache(one, 2, 'lru'), 3, ssdSec);
    const c = run(one, host, costs, true);
    expect(c.cpuComputations).toBe(1);
    expect(c.makespanSec).toBe(7.5);
    expect(c.stallSec).toBe(6);
    expect(split(c)).toEqual([0, 0, 0, 1, 5]);
    expect(c.timeline.filter((s) => s.resource !== 'gpu').map((s) => `${s.resource} ${s.kind} ${s.startMs / 1e3}-${s.endMs / 1e3}`)).toEqual(['ssd ssd-read 1-6', 'cpu cpu-expert 6-7']);
  });

  it('a prefetch stages its expert SSD -> host behind the demand read (ssd-stage on the SSD lane); a later gate copies it from host DRAM', () => {
    // One token, two layers: experts 0 then 1; pregated plans layer 1 at layer 0's gate. Host DRAM: 2, cold.
    // Attention [0,1]; gate: 0 misses both: SSD read [1,6]; the plan stages 1: SSD [6,11] (queued behind).
    // Link [6,9], expert [9,11]; attention [11,12]; gate: 1 is in host DRAM: link [12,15], expert [15,17]; head [17,17.5].
    const two = traceOf([[[[0], [1]]]], 2);
    const host = new HostTier(hostCache(two, 2, 'lru'), 3, ssdSec);
    const c = simulate(two, { capacity: 1, prefetch: { kind: 'pregated' }, costs, tiers: host });
    expect(c.makespanSec).toBe(17.5);
    const lanes = c.timeline.filter((s) => s.resource !== 'gpu').map((s) => `${s.resource} ${s.kind} ${s.layer}/${s.expert} ${s.startMs / 1e3}-${s.endMs / 1e3}`);
    // In the order recorded: at 6 s the SSD starts its next read before the host hands 0 to the link.
    expect(lanes).toEqual(['ssd ssd-read 0/0 1-6', 'ssd ssd-stage 1/1 6-11', 'link fetch 0/0 6-9', 'link fetch 1/1 12-15']);
    expect([host.counters.ssdStagedReads, host.counters.ssdStagedUsed, host.counters.hostHits]).toEqual([1, 1, 1]);
    // Stall 8 s in layer 0 (5 s SSD, 3 s copy of an unplanned expert) and 3 s in layer 1 (the copy of a planned one).
    expect(c.stallSec).toBe(11);
    expect(split(c)).toEqual([3, 3, 0, 0, 5]);
  });

  it('property: the stall classes add up to the stall, and the SSD class is the demand reads the GPU waited for', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        (tokens, hostCap, onMissCpu) => {
          const tr = traceOf([tokens.map((es) => [[...new Set(es)]])], 6);
          const host = new HostTier(hostCache(tr, hostCap, 'lru'), 3, ssdSec);
          const c = run(tr, host, costs, onMissCpu);
          const parts = split(c);
          expect(parts.every((x) => x >= 0)).toBe(true);
          expect(parts.reduce((a, b) => a + b, 0)).toBeCloseTo(c.stallSec, 9);
          // The GPU never waits on the SSD for longer than the SSD was busy with demand reads.
          expect(c.stallSsdSec).toBeLessThanOrEqual(host.counters.ssdDemandWaitSec + 1e-9);
          if (host.counters.ssdReads === 0) expect(c.stallSsdSec).toBe(0);
        },
      ),
    );
  });

  it("Belady on the host tier's own access order is the bound: one SSD read fewer", () => {
    const keys = hostAccessKeys(accessKeys(trace, staticBatches(trace, { batchSize: 1, promptTokens: 0 }), 3), gpuCache(trace, 1));
    expect([...keys]).toEqual([0, 1, 0, 2, 1]);
    const host = new HostTier(hostCache(trace, 2, 'belady', nextUseOf(keys, 3)), 3, ssdSec);
    const c = run(trace, host);
    // As above to step 3, where Belady evicts 0 (never used again) and keeps 1: step 4 hits host:
    // attention [41,42], link [42,45], expert [45,47], head [47,47.5].
    expect(c.makespanSec).toBe(47.5);
    expect([host.counters.hostHits, host.counters.ssdReads]).toEqual([2, 3]);
  });

  it('unified memory / GPUDirect: the fetch path is the SSD itself (no host tier)', () => {
    const source = staticBatches(trace, { batchSize: 1, promptTokens: 0 });
    const c = new OffloadSim(trace, storageLinkCosts(costs, ssdSec), gpuCache(trace, 1), source, { fromStep: 0, steps: 2 }, { linkIsStorage: true }).run();
    // Every step: attention 1, SSD read 5, expert 2, head 0.5 = 8.5 s; 5 steps.
    expect(c.makespanSec).toBe(42.5);
    expect(c.bytesH2D).toBe(15);
    // The fetches are drawn on the SSD lane (SSD -> GPU), none on the copy engine's.
    const lanes = c.timeline.filter((s) => s.resource !== 'gpu').map((s) => `${s.resource} ${s.kind} ${s.startMs / 1e3}-${s.endMs / 1e3}`);
    expect(lanes).toEqual(['ssd fetch 1-6', 'ssd fetch 9.5-14.5']);
  });

  it('property: bytes are conserved across the tiers, and a host that holds everything reads each expert once', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 6 }), (ids, hostCap) => {
        const tr = traceOf([ids.map((e) => [[e]])], 6);
        const host = new HostTier(hostCache(tr, hostCap, 'lru'), 3, ssdSec);
        const c = run(tr, host);
        const t = host.counters;
        expect(t.hostRequests).toBe(c.misses);
        expect(t.hostHits + t.hostMisses + t.hostLateStaged).toBe(t.hostRequests);
        expect(t.bytesSsdToHost).toBe(3 * t.ssdReads);
        expect(c.bytesH2D).toBe(3 * c.misses);
        if (hostCap >= 6) expect(t.ssdReads).toBe(new Set(ids).size);
        expect(t.ssdReads).toBeGreaterThanOrEqual(new Set(ids).size);
      }),
    );
  });
});

describe('the SSD behind a token bucket (hardware.storage.burst)', () => {
  it('pins the SSD lane: reads within the bucket at the drive/burst rate, then at the sustained rate, refilled while idle', () => {
    // One layer, top-3: step 0 needs experts 0,1,2, step 1 needs 3,4,5; GPU 3 slots, host DRAM 6 (cold).
    // The drive alone: 1 s per 3-byte expert (3 B/s). Bucket 3 B, burst 3 B/s, refill 1 B/s.
    const tr = traceOf([[[[0, 1, 2]], [[3, 4, 5]]]], 6);
    const burst = { bucketBytes: 3, burstBytesPerSec: 3, sustainedBytesPerSec: 1 };
    const host = new HostTier(hostCache(tr, 6, 'lru'), 3, () => 1, burst);
    const L = tr.numLayers;
    const E = tr.numExperts;
    const gpu = new ExpertCache(L, E, 3, true, cachePolicies.lru.create({ numLayers: L, numExperts: E, capacityPerScope: 3, scopes: L }));
    const c = new OffloadSim(tr, costs, gpu, staticBatches(tr, { batchSize: 1, promptTokens: 0 }), { fromStep: 0, steps: 10 }, { tiers: host }).run();
    const ssd = c.timeline.filter((s) => s.resource === 'ssd').map((s) => `e${s.expert} ${s.startMs / 1e3}-${s.endMs / 1e3}`);
    // Step 0, gate at 1 s: e0 full bucket: 1 s (credit 3 + 1 - 3 = 1); e1: credit 1 lasts 1 x 3 / 2 = 1.5 B
    // at 3 B/s (0.5 s), 1.5 B at 1 B/s (1.5 s): 2 s (credit 0); e2 empty: 3 s.
    expect(ssd.slice(0, 3)).toEqual(['e0 1-2', 'e1 2-4', 'e2 4-7']);
    // e2's copy [8,11] (the link: e0 [2,5], e1 [5,8]), its expert [11,13], head [13,13.5]; step 1's gate at 14.5:
    // 7.5 s idle refill the bucket (capped at 3 B): e3 1 s again, then e4 2 s, e5 3 s.
    expect(ssd.slice(3)).toEqual(['e3 14.5-15.5', 'e4 15.5-17.5', 'e5 17.5-20.5']);
    // Every byte charged to the SSD; its busy time is the throttled one.
    expect(host.counters.bytesSsdToHost).toBe(18);
    expect(host.counters.ssdBusySec).toBe(12);
  });
});
