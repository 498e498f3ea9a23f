import { describe, expect, test } from 'vitest';
import { tierRunner } from '../helpers/tiers.js';
import { InputError } from '../../src/util/errors.js';
import { planTiers } from '../../src/sim/tier-plan.js';
import { storageMachinePresets } from '../../src/hardware/unified.js';

// OLMoE-1B-7B, bf16: 16 x 64 experts of 12 MiB = 12 GiB of experts.
const run = tierRunner('tiers');

describe('host memory is never silently oversubscribed', () => {
  test('experts beyond host DRAM and no storage tier: a bad-input error with needed vs available and the fixes', async () => {
    const err = await run({ hardware: { preset: 'rtx-4090', cpu: { memoryGiB: 4 } } }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/^hardware\.cpu\.memoryGiB: policies\[0\] \(lru\) keeps 1024 experts \(12\.\d\d GiB\) in host memory, more than the 4\.00 GiB of DRAM/);
    expect(err.message).toMatch(/expected a storage tier \(hardware\.storage/);
  });

  test('a reserveGiB of all host DRAM or more is refused, with or without an SSD (s28-badin: ran with an empty host tier)', async () => {
    for (const hardware of [{ preset: 'rtx-4090', cpu: { memoryGiB: 16 } }, { preset: 'rtx-4090', cpu: { memoryGiB: 16 }, storage: 'samsung-990-pro' }]) {
      await expect(run({ hardware, hostTier: { reserveGiB: 16 } })).rejects.toThrow(/^hostTier\.reserveGiB: 16 GiB leaves no host DRAM at all \(.*: 16\.00 GiB\); expected less than hardware\.cpu\.memoryGiB$/);
    }
  });

  test('reserveGiB counts against host DRAM', async () => {
    await expect(run({ hardware: { preset: 'rtx-4090', cpu: { memoryGiB: 16 } }, hostTier: { reserveGiB: 8 } })).rejects.toThrow(/less hostTier\.reserveGiB 8/);
  });

  test('with an SSD the rest goes to the storage tier: three tiers, every byte charged to its link', async () => {
    const r = await run({ hardware: { preset: 'rtx-4090', cpu: { memoryGiB: 4 }, storage: 'samsung-990-pro' } });
    const t = r.results[0].tiers!;
    expect(t.mode).toBe('three-tier');
    expect(t.hostDram.capacityExperts).toBe(Math.floor((4 * 2 ** 30) / (3 * 2048 * 1024 * 2)));
    const m = r.results[0].metrics;
    expect(t.bytes.hostToGpu).toBe(m.bytesH2D);
    expect(t.bytes.ssdToHost).toBe(t.ssd!.reads * 3 * 2048 * 1024 * 2);
    expect(t.host!.requests).toBe(m.misses);
    expect(t.ssd!.reads).toBeGreaterThan(0);
  });

  test('three tiers: the stall has its SSD class, the classes add up, and the timeline has the SSD lane', async () => {
    const r = await run({ hardware: { preset: 'rtx-4090', cpu: { memoryGiB: 4 }, storage: 'samsung-990-pro' }, timeline: { fromStep: 0, steps: 6 } });
    const { metrics: m, tiers: t, timeline } = r.results[0];
    const s = m.stallSplitMs;
    expect(s.ssdMs).toBeGreaterThan(0);
    expect(s.capacityMs + s.mispredictionMs + s.linkQueueMs + s.cpuMs + s.ssdMs!).toBeCloseTo(m.stallMs, 6);
    // The GPU waits on at most the SSD's demand reads (requested -> in host DRAM).
    expect(s.ssdMs!).toBeLessThanOrEqual(t!.ssd!.demandWaitMs + 1e-6);
    const ssd = timeline!.filter((x) => x.resource === 'ssd');
    expect(ssd.length).toBe(t!.ssd!.reads);
    expect(ssd.every((x) => x.kind === 'ssd-read' && x.endMs > x.startMs)).toBe(true);
    expect(ssd.reduce((a, x) => a + x.endMs - x.startMs, 0)).toBeCloseTo(t!.ssd!.busyMs, 6);
  });

  test('it fits: host DRAM holds it (reported once the machine has an SSD), and the run equals the two-tier run', async () => {
    const two = await run({ hardware: 'rtx-4090' });
    const three = await run({ hardware: { preset: 'rtx-4090', storage: 'samsung-990-pro' } });
    expect(two.results[0].tiers).toBeUndefined();
    expect(three.results[0].tiers!.mode).toBe('dram');
    expect(three.results[0].metrics).toEqual(two.results[0].metrics);
    expect('ssdMs' in three.results[0].metrics.stallSplitMs).toBe(false);
  });

  test('unified memory: the pool caches, the SSD is the fetch path; no SSD -> an error', async () => {
    const r = await run({ hardware: { preset: 'm3-max', gpu: { memoryGiB: 8 } }, policies: [{ kind: 'lru', cache: { hbm: true, reserveGiB: 2 } }], timeline: { fromStep: 0, steps: 6 } });
    const t = r.results[0].tiers!;
    expect(t.mode).toBe('ssd-direct');
    // The GPU's fetches are SSD reads: on the SSD lane, none on the copy engine's.
    const lanes = new Set(r.results[0].timeline!.map((x) => x.resource));
    expect([lanes.has('ssd'), lanes.has('link')]).toEqual([true, false]);
    expect(t.bytes.ssdToGpu).toBe(r.results[0].metrics.bytesH2D);
    expect(t.bytes.hostToGpu).toBe(0);
    await expect(
      run({ hardware: { preset: 'jetson-agx-orin-64gb', gpu: { memoryGiB: 8 }, storage: { seqReadMBps: 1000, randReadKiops: 10, latencyUs: 100 } }, policies: [{ kind: 'lru', cache: { hbm: true, reserveGiB: 2 } }] }),
    ).resolves.toBeDefined();
  });

  test('a unified pool that holds every expert: warm (the default), each computed in place, nothing fetched; cold, each read from the SSD at its first use', async () => {
    const pool = { kind: 'lru', cache: { hbm: true, reserveGiB: 2 } };
    const warm = await run({ hardware: 'm3-max', policies: [pool] });
    const w = warm.results[0];
    expect(w.tiers!.mode).toBe('dram');
    expect([w.metrics.misses, w.metrics.bytesH2D, w.tiers!.bytes.hostToGpu]).toEqual([0, 0, 0]);
    expect(w.metrics.hits).toBeGreaterThan(0);
    const cold = await run({ hardware: 'm3-max', hostTier: { initial: 'cold' }, policies: [pool] });
    const c = cold.results[0];
    expect(c.tiers!.mode).toBe('ssd-direct');
    // The pool never evicts: each expert the trace touches is read once, SSD -> pool, nothing host -> GPU.
    expect(c.metrics.misses).toBeGreaterThan(0);
    expect(c.metrics.misses).toBeLessThanOrEqual(16 * 64);
    expect(c.metrics.bytesH2D).toBe(c.metrics.misses * 3 * 2048 * 1024 * 2);
    expect(c.tiers!.bytes.ssdToGpu).toBe(c.metrics.bytesH2D);
    expect(c.tiers!.bytes.hostToGpu).toBe(0);
    expect(c.metrics.hits + c.metrics.misses).toBe(w.metrics.hits);
    // all-on-gpu is resident whatever the start; cold with no storage to read from is an error.
    const all = await run({ hardware: 'm3-max', hostTier: { initial: 'cold' }, policies: [{ kind: 'all-on-gpu' }] });
    expect(all.results[0].tiers!.mode).toBe('dram');
    const { storage: _, ...noSsd } = storageMachinePresets['m3-max'];
    expect(() => planTiers(noSsd, { kind: 'lru' } as never, 0, { numLayers: 16, numExperts: 64 }, 12 * 2 ** 20, 16 * 64, { reserveGiB: 0, policy: 'lru', initial: 'cold' } as never)).toThrow(
      /^hostTier\.initial: cold on unified memory reads every expert from storage at its first use; expected hardware\.storage/,
    );
  });

  test('ssd-direct (unified memory, GPUDirect): a miss computed on the CPU or from a lower-bit copy is refused (no host tier holds it; the SSD read would go uncharged)', async () => {
    const unified = { preset: 'm3-max', gpu: { memoryGiB: 8 } };
    for (const onMiss of [{ kind: 'cpu' }, { kind: 'low-precision', dtype: 'int4' }])
      await expect(run({ hardware: unified, policies: [{ kind: 'lru', cache: { hbm: true, reserveGiB: 2 }, onMiss }] })).rejects.toThrow(
        new RegExp(`^policies\\[0\\]\\.onMiss: ${onMiss.kind} is not modelled where the GPU fetches its misses from the SSD itself \\(unified memory\\)`),
      );
    await expect(
      run({ hardware: { preset: 'rtx-4090', cpu: { memoryGiB: 4 }, storage: 'samsung-990-pro' }, hostTier: { gpuDirect: true }, policies: [{ kind: 'lru', cache: { perLayer: 8 }, onMiss: { kind: 'cpu' } }] }),
    ).rejects.toThrow(/onMiss: cpu is not modelled .*\(hostTier\.gpuDirect\)/);
    // Where the pool holds every expert (mode dram) a CPU miss reads the pool: still allowed.
    await expect(run({ hardware: 'm3-max', policies: [{ kind: 'lru', cache: { hbm: true, reserveGiB: 2 }, onMiss: { kind: 'cpu' } }] })).resolves.toBeDefined();
  });

  test('a Belady host tier is refused where its access order is not known before the run', async () => {
    await expect(
      run({ hardware: { preset: 'rtx-4090', cpu: { memoryGiB: 4 }, storage: 'samsung-990-pro' }, hostTier: { policy: 'belady' }, policies: [{ kind: 'lru', cache: { perLayer: 8 }, onMiss: { kind: 'cpu' } }] }),
    ).rejects.toThrow(/hostTier\.policy: belady/);
    const r = await run({ hardware: { preset: 'rtx-4090', cpu: { memoryGiB: 4 }, storage: 'samsung-990-pro' }, hostTier: { policy: 'belady' } });
    const lru = await run({ hardware: { preset: 'rtx-4090', cpu: { memoryGiB: 4 }, storage: 'samsung-990-pro' } });
    expect(r.results[0].tiers!.ssd!.reads).toBeLessThanOrEqual(lru.results[0].tiers!.ssd!.reads);
  });

  test('prefetching across tiers: a prefetch of an expert not in host DRAM stages it there from the SSD first', async () => {
    const hw = { preset: 'rtx-4090', cpu: { memoryGiB: 4 }, storage: 'samsung-990-pro' };
    const r = await run({ hardware: hw, policies: [{ kind: 'lru', cache: { perLayer: 8 }, prefetch: { kind: 'pregated', accuracy: 1 } }] });
    const t = r.results[0].tiers!;
    expect(t.ssd!.stagedReads).toBeGreaterThan(0);
    expect(t.ssd!.stagedUsed).toBeGreaterThan(0);
    expect(t.ssd!.stagedUsed).toBeLessThanOrEqual(t.ssd!.stagedReads);
    expect(t.ssd!.reads).toBe(t.ssd!.demandReads + t.ssd!.stagedReads);
  });

  test('what the host tier does not model is bad input, not a crash', async () => {
    const hw = { preset: 'rtx-4090', cpu: { memoryGiB: 4 }, storage: 'samsung-990-pro' };
    await expect(run({ hardware: hw, policies: [{ kind: 'lru', cache: { perLayer: 8 }, onMiss: { kind: 'low-precision', dtype: 'int4' } }] })).rejects.toThrow(InputError);
  });

  test('same scenario and seed: byte-identical results through the three tiers', async () => {
    const hw = { preset: 'rtx-4090', cpu: { memoryGiB: 4 }, storage: 'wd-sn850x' };
    const policies = [{ kind: 'lru', cache: { perLayer: 8 }, prefetch: { kind: 'pregated', accuracy: 0.8 } }];
    const a = JSON.stringify(await run({ hardware: hw, policies }));
    const b = JSON.stringify(await run({ hardware: hw, policies }));
    expect(a).toBe(b);
  });
});

describe('hardware.storage.burst in a scenario', () => {
  const hw = { preset: 'rtx-4090', cpu: { memoryGiB: 4 } };
  test('a bucket slows the SSD tier once its credit is spent; a bucket no read exhausts changes nothing', async () => {
    const plain = await run({ hardware: { ...hw, storage: 'samsung-990-pro' } });
    // 7,450 MB/s burst (the datasheet), a 100 MB bucket, 500 MB/s sustained: the 12 MiB reads drain it in the first few.
    const slow = await run({ hardware: { ...hw, storage: { preset: 'samsung-990-pro', burst: { bucketMB: 100, burstMBps: 7450, sustainedMBps: 500 } } } });
    const huge = await run({ hardware: { ...hw, storage: { preset: 'samsung-990-pro', burst: { bucketMB: 1e9, burstMBps: 1e6, sustainedMBps: 500 } } } });
    const p = plain.results[0];
    const s = slow.results[0];
    // The same reads (the order does not depend on durations here: fetch on miss) and the same bytes, charged to the SSD.
    expect(s.tiers!.ssd!.reads).toBe(p.tiers!.ssd!.reads);
    expect(s.tiers!.bytes.ssdToHost).toBe(p.tiers!.bytes.ssdToHost);
    // Throttled: no more than the bucket plus what 500 MB/s earned back over the run (credit refills while idle too).
    const bytes = s.tiers!.bytes.ssdToHost;
    expect(bytes).toBeLessThanOrEqual(100e6 + 500e6 * (s.metrics.makespanMs / 1e3));
    expect(bytes).toBeGreaterThan(100e6 + 500e6 * (p.metrics.makespanMs / 1e3));
    expect(s.metrics.makespanMs).toBeGreaterThan(p.metrics.makespanMs);
    // A bucket never exhausted and faster than the drive: the drive's own times, exactly.
    expect(huge.results[0].metrics).toEqual(p.metrics);
  });
  test('a machine that fetches from the SSD straight to the GPU refuses a bucket, by name', async () => {
    await expect(
      run({ hardware: { preset: 'm3-max', gpu: { memoryGiB: 8 }, storage: { preset: 'apple-m3-max-ssd', burst: { bucketMB: 1, burstMBps: 2, sustainedMBps: 1 } } }, policies: [{ kind: 'lru', cache: { hbm: true, reserveGiB: 2 } }] }),
    ).rejects.toThrow(/hardware\.storage\.burst: a token bucket is simulated on the host tier's SSD reads/);
  });
});
