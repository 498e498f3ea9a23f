import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExpertFile, pageCacheShare, scaleSsd } from '../../src/calibrate/disk-replay.js';
import { readProfile } from '../../src/calibrate/profile.js';
import { recordSchedules, replay, type ReplayResult, type SsdProbe } from '../../src/calibrate/replay.js';
import { setupReplay, type ReplaySetup } from '../../src/calibrate/replay-setup.js';
import { simulateReplay, ssdBrackets, validate, type ValidateResult } from '../../src/calibrate/validate.js';
import { ssdPresets } from '../../src/hardware/storage.js';
import { OP_READ, OP_STAGE, OP_UPLOAD, OP_COMPUTE } from '../../src/sim/schedule.js';
import { ssdReadSec } from '../../src/timing/storage.js';
import { InputError } from '../../src/util/errors.js';
import { moesim, ROOT } from '../helpers/cli.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import { parse as parseYaml } from 'yaml';
import { tinySsdScenario } from '../helpers/tiers.js';
import { formatValidation } from '../../src/report/validate.js';

const KiB = 1024;
const PROFILE = join(ROOT, 'test/fixtures/cpu-quick-profile.json');

/** Host DRAM holds 5 of 32 experts; the rest come from the SSD (tinySsdScenario). */
const tierScenario = tinySsdScenario('tiny-ssd', ['{ kind: lru, cache: { perLayer: 2 } }', '{ kind: none }', '{ kind: lru, label: pregated, cache: { perLayer: 2 }, prefetch: { kind: pregated } }', '{ kind: all-on-gpu }']);
/** 64 x 128 fp32 experts: 96 KiB each, read as 32 KiB requests, 2 in flight. */
const SHAPE = { scale: { hiddenSize: 64, intermediateSize: 128 } };
const SSD = { ...ssdPresets['samsung-990-pro'], blockBytes: 32 * KiB, queueDepth: 2 };

/** A replay of `setup`'s scenario (2 warm-up steps, 2 passes) with its storage tier read from `file` in the test folder. */
const replayOnDisk = (setup: ReplaySetup, file: string, extra: { ssdProbeReads?: number } = {}): Promise<ReplayResult> =>
  replay({
    backend: setup.backend,
    scenario: setup.loaded.scenario,
    prep: setup.prep,
    policies: setup.policies,
    shape: setup.scaled.shape,
    warmupSteps: 2,
    repeats: 2,
    predictors: setup.predictors,
    storage: SSD,
    diskFile: join(dir, file),
    ...extra,
  });

/**
 * Unified memory: the 4-layer Mixtral-shaped model (32 bf16 experts of 336 MiB) on an M3 Max with a
 * 4 GiB pool, which caches 9 of them (cache.hbm); the rest are read from its SSD into the pool.
 */
const unifiedScenario = (name: string, policies: string[], hardware = '{ preset: m3-max, gpu: { memoryGiB: 4 } }') => `
name: ${name}
seed: 3
model: { preset: mixtral-8x7b, numLayers: 4, moeLayers: [0, 1, 2, 3] }
hardware: ${hardware}
trace: { synthetic: { layers: 4, experts: 8, topK: 2, sequences: 2, tokensPerSequence: 8, popularity: { kind: zipf, exponent: 1.0 }, locality: 0.4 } }
policies:
${policies.map((p) => `  - ${p}`).join('\n')}
`;
const unifiedPolicies = ['{ kind: lru, cache: { hbm: true } }', '{ kind: lru, label: pregated, cache: { hbm: true }, prefetch: { kind: pregated } }', '{ kind: belady, cache: { hbm: true } }'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'moesim-disk-replay-'));
  writeFileSync(join(dir, 'tiny-ssd.yaml'), tierScenario);
  writeFileSync(join(dir, 'tiny-unified.yaml'), unifiedScenario('tiny-unified', unifiedPolicies));
});

describe('ExpertFile', () => {
  it('reads an expert back from the file into its host memory; a poisoned expert stays NaN until read', async () => {
    const f = new ExpertFile(join(dir, 'unit.bin'), 3, 20_000, { blockBytes: 8 * KiB, queueDepth: 2 });
    const experts = [0, 1, 2].map((k) => {
      const a = f.memory.alloc('float32', 5000) as Float32Array;
      for (let i = 0; i < a.length; i++) a[i] = k * 10_000 + i;
      return a;
    });
    f.writeAll();
    f.poison(Uint8Array.from([1, 0, 0]));
    expect(Number.isNaN(experts[1][0]) && Number.isNaN(experts[2][1024])).toBe(true);
    expect(experts[0][0]).toBe(0);
    f.mark();
    await f.read(1);
    expect(Array.from(experts[1]).every((x, i) => x === 10_000 + i)).toBe(true);
    expect(Number.isNaN(experts[2][0])).toBe(true);
    await f.restore();
    expect(Array.from(experts[2]).every((x, i) => x === 20_000 + i)).toBe(true);
    // Two reads of a 20 000-byte expert: its 20 480-byte slot each.
    const since = f.sinceMark();
    expect(since.bytes).toBe(2 * 20_480);
    if (f.info.mode === 'direct' && since.deviceBytes !== undefined) expect(pageCacheShare(since)).toBeLessThan(0.05);
    // Unified memory: an expert the pool dropped is poisoned; restore(only) reads back only those marked.
    f.poisonKey(0);
    f.poisonKey(2);
    await f.restore(Uint8Array.from([0, 0, 1]));
    expect(Number.isNaN(experts[0][4096 / 4])).toBe(true);
    expect(experts[2][1024]).toBe(20_000 + 1024);
    f.close();
    expect(existsSync(join(dir, 'unit.bin'))).toBe(false);
  });
});

describe('replay with a storage tier', () => {
  let setup: ReplaySetup;
  let r: ReplayResult;
  beforeAll(async () => {
    setup = await setupReplay({ scenarioFile: join(dir, 'tiny-ssd.yaml'), backend: 'cpu', ...SHAPE });
    r = await replayOnDisk(setup, 'experts.bin', { ssdProbeReads: 3 });
  }, 60_000);
  afterAll(async () => {
    await setup?.backend.close();
  });

  it("records each SSD read where it starts, before the expert's upload, in an order that does not depend on the SSD's speed", () => {
    const slow = recordSchedules(setup.prep, setup.loaded.scenario, setup.policies, setup.predictors, setup.scaled.expertBytes, undefined, undefined, { ...SSD, seqReadBytesPerSec: 1e6, readLatencySec: 5e-3 });
    const fast = recordSchedules(setup.prep, setup.loaded.scenario, setup.policies, setup.predictors, setup.scaled.expertBytes, undefined, undefined, SSD);
    for (let j = 0; j < slow.length; j++) expect(slow[j].log.equals(fast[j].log)).toBe(true);
    const [lru, , pregated, all] = fast;
    expect(all.hostResident).toBeUndefined();
    expect(Array.from(lru.hostResident!).every((x) => x === 0)).toBe(true);
    // Every expert reaches the GPU only after it was read into host DRAM at least once.
    for (const s of [lru, fast[1], pregated]) {
      const read = new Set<number>();
      let reads = 0;
      for (let i = 0; i < s.log.length; i++) {
        const op = s.log.op(i);
        if (op === OP_READ) {
          read.add(s.log.a(i));
          reads++;
        } else if (op === OP_UPLOAD || op === OP_STAGE) expect(read.has(s.log.a(i))).toBe(true);
        else if (op === OP_COMPUTE) expect(read.has(s.log.a(i))).toBe(true);
      }
      expect(reads).toBeGreaterThan(read.size); // host DRAM (5 experts) re-reads some
    }
  });

  it('reads every SSD-tier expert from the file on this disk, with the page cache bypassed, and counts what the simulation does', async () => {
    expect(readdirSync(dir)).not.toContain('experts.bin');
    const all = r.policies.find((p) => p.policy === 'all-on-gpu')!;
    expect(all.ssd).toBeUndefined();
    const sims = simulateReplay(setup, { ...(await readProfile(PROFILE)).hardware, storage: SSD }, r);
    for (const [j, p] of r.policies.entries()) {
      if (p.policy === 'all-on-gpu') continue;
      const ssd = p.ssd!;
      expect(ssd.reads).toBeGreaterThan(0);
      expect(ssd.reads).toBe(sims[j].ssdReads);
      expect(ssd.bytes).toBe(ssd.reads * 96 * KiB);
      expect(ssd.passSec).toHaveLength(2);
      expect(ssd.sec).toBeGreaterThan(0);
      expect(sims[j].ssdBusySec).toBeCloseTo(ssd.reads * ssdReadSec(SSD, 96 * KiB, SSD.blockBytes, SSD.queueDepth), 12);
      expect(['direct', 'buffered']).toContain(ssd.file.mode);
      if (ssd.file.mode === 'direct' && ssd.passPageCacheShare) for (const s of ssd.passPageCacheShare) expect(s).toBeLessThan(0.05);
    }
  });

  it("samples the disk's read time immediately before and after each timed pass of a storage tier (untimed); a pass is simulated on its brackets", () => {
    // 4 policies x 2 passes (global order g = r * 4 + j); all-on-gpu (j = 3) has no storage tier, no samples.
    const withTier = [0, 1, 2, 4, 5, 6];
    expect(r.ssdProbes!.map((p) => `${p.pass}${p.side[0]}`)).toEqual(withTier.flatMap((g) => [`${g}b`, `${g}a`]));
    expect(r.ssdProbes!.every((p) => p.readSec.length === 3 && p.readSec.every((t) => t > 0))).toBe(true);
    const b = ssdBrackets(r, SSD)!;
    expect([...b.keys()]).toEqual(withTier);
    const model = ssdReadSec(SSD, 96 * KiB, SSD.blockBytes, SSD.queueDepth);
    // On a core where the clock reports the replaying thread's waits (Linux), else the wall clock.
    const onCore = r.ssdProbes!.every((p) => p.onCoreSec !== undefined) && r.policies.every((p) => !p.ssd || p.ssd.passWaitSec);
    const mean = (p: SsdProbe) => (onCore ? p.onCoreSec! : p.readSec).reduce((x, y) => x + y, 0) / 3;
    const [before, after] = r.ssdProbes!.filter((p) => p.pass === 5);
    expect(b.get(5)!.factor).toBeCloseTo(Math.sqrt(mean(before) * mean(after)) / model, 12);
    expect(b.get(5)!.drift).toBeCloseTo(mean(after) / mean(before) - 1, 12);
    const relSe = (p: SsdProbe) => {
      const xs = onCore ? p.onCoreSec! : p.readSec;
      const m = mean(p);
      return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)) / Math.sqrt(xs.length) / m;
    };
    expect(b.get(5)!.driftNoise).toBeCloseTo(Math.hypot(relSe(before), relSe(after)), 12);
    if (onCore) for (const p of r.ssdProbes!) p.onCoreSec!.forEach((t, k) => expect(t).toBeLessThanOrEqual(p.readSec[k]));
    // Scaling the Ssd scales every read's time exactly (latency and transfer alike).
    for (const bytes of [4 * KiB, 96 * KiB, 5_000_000]) expect(ssdReadSec(scaleSsd(SSD, 2.5), bytes, SSD.blockBytes, 2)).toBeCloseTo(2.5 * ssdReadSec(SSD, bytes, SSD.blockBytes, 2), 15);
  });
});

describe('validate with a storage tier', () => {
  let v: ValidateResult;
  beforeAll(async () => {
    const setup = await setupReplay({ scenarioFile: join(dir, 'tiny-ssd.yaml'), backend: 'cpu', policies: ['0', 'pregated'], ...SHAPE });
    try {
      v = await validate(setup, { profile: await readProfile(PROFILE), profileFile: PROFILE, warmupSteps: 2, repeats: 2, interleave: false, disk: { profileFile: 'preset', ssd: SSD }, diskFile: join(dir, 'v.bin') });
    } finally {
      await setup.backend.close();
    }
  }, 60_000);

  it('compares the SSD read time per step, simulated and measured, per pass; SSD reads identical', () => {
    for (const p of v.policies) {
      const rows = Object.fromEntries(p.rows.map((x) => [x.metric, x]));
      expect(rows['SSD reads'].exact).toBe(true);
      expect(rows['SSD reads'].simulated).toBe(rows['SSD reads'].measured);
      expect(rows['SSD read time per step'].measured).toBeGreaterThan(0);
      expect(p.ssd!.error).toHaveLength(2);
      expect(p.ssd!.error.every(Number.isFinite)).toBe(true);
      // Without interleaved samples every pass is simulated on the disk profile as calibrated.
      expect(p.ssd!.profileError).toEqual(p.ssd!.wallError);
      expect(p.ssd!.diskFactor).toBeUndefined();
    }
    expect(v.disk?.ssd.blockBytes).toBe(32 * KiB);
    expect(formatValidation(v)).toMatch(/^SSD tier: experts read from .*v\.bin \((O_DIRECT|buffered)/m);
    expect(formatValidation(v)).toMatch(/^ {2}pregated: \d+ reads; SSD ms\/step measured/m);
  });

  it('refuses a storage tier without the measured disk, before anything runs', async () => {
    const setup = await setupReplay({ scenarioFile: join(dir, 'tiny-ssd.yaml'), backend: 'cpu', policies: ['0'], ...SHAPE });
    try {
      await expect(validate(setup, { profile: await readProfile(PROFILE), profileFile: PROFILE, interleave: false })).rejects.toThrow(InputError);
      await expect(validate(setup, { profile: await readProfile(PROFILE), profileFile: PROFILE, interleave: false })).rejects.toThrow(/--disk-profile/);
    } finally {
      await setup.backend.close();
    }
  });
});

describe('replay and validate on unified memory', () => {
  let setup: ReplaySetup;
  let r: ReplayResult;
  beforeAll(async () => {
    setup = await setupReplay({ scenarioFile: join(dir, 'tiny-unified.yaml'), backend: 'cpu', ...SHAPE });
    r = await replayOnDisk(setup, 'pool.bin');
  }, 60_000);
  afterAll(async () => {
    await setup?.backend.close();
  });

  it("reads every miss from the SSD into the pool and computes it there: hits, SSD reads and evictions are moesim run's", async () => {
    const run = await runScenario(parseScenario(parseYaml(unifiedScenario('tiny-unified', unifiedPolicies))), { baseDir: dir });
    const fullExpert = run.results[0].tiers!.bytes.ssdToGpu / (run.results[0].metrics.misses);
    for (const j of [0, 2]) {
      // lru and belady fetch on every miss, no prefetching: the same decisions whatever the durations.
      const sim = run.results[j];
      const p = r.policies[j];
      expect(sim.tiers!.mode).toBe('ssd-direct');
      expect(p.capacityExperts).toBe(9);
      expect([p.hits, p.misses, p.ssd!.reads]).toEqual([sim.metrics.hits, sim.metrics.misses, sim.tiers!.bytes.ssdToGpu / fullExpert]);
      // The pool starts empty and every read into the full pool drops one expert.
      expect(p.evictions).toBe(p.ssd!.reads - 9);
      // No copy over a bus: the bytes moved are the bytes read (96 KiB experts), and the time of the "uploads" is the reads'.
      expect(p.bytesH2D).toBe(p.ssd!.reads * 96 * KiB);
      expect(p.uploadSec).toBeCloseTo(p.ssd!.sec, 12);
    }
    expect([r.policies[0].hits, r.policies[0].ssd!.reads, r.policies[0].evictions, r.policies[2].hits, r.policies[2].ssd!.reads, r.policies[2].evictions]).toEqual([70, 58, 49, 86, 42, 33]);
    const sims = simulateReplay(setup, { ...(await readProfile(PROFILE)).hardware, storage: SSD }, r);
    for (const [j, p] of r.policies.entries()) {
      expect([sims[j].hits, sims[j].lateHits, sims[j].ssdReads, sims[j].evictions, sims[j].bytesH2D]).toEqual([p.hits, p.lateHits, p.ssd!.reads, p.evictions, p.bytesH2D]);
      // The SSD is the fetch path: its busy time is the link's, one read of the expert per fetch.
      expect(sims[j].ssdBusySec).toBeCloseTo(p.ssd!.reads * ssdReadSec(SSD, 96 * KiB, SSD.blockBytes, SSD.queueDepth), 12);
      expect(sims[j].linkBusySec).toBe(sims[j].ssdBusySec);
    }
  });

  it('validate reports the SSD read time per step per pass, and the counts as exact rows', async () => {
    const v = await validate(setup, { profile: await readProfile(PROFILE), profileFile: PROFILE, warmupSteps: 2, repeats: 2, interleave: false, disk: { profileFile: 'preset', ssd: SSD }, diskFile: join(dir, 'vu.bin') });
    for (const p of v.policies) {
      const rows = Object.fromEntries(p.rows.map((x) => [x.metric, x]));
      for (const m of ['SSD reads', 'evictions', 'hits', 'bytes moved']) expect([m, rows[m].exact, rows[m].simulated]).toEqual([m, true, rows[m].measured]);
      expect(p.ssd!.error).toHaveLength(2);
      expect(p.ssd!.error.every(Number.isFinite)).toBe(true);
    }
    expect(formatValidation(v)).toMatch(/^ {2}lru, HBM, 9 experts: \d+ reads into the unified pool \(computed in place\); SSD ms\/step measured/m);
  }, 60_000);

  it('refuses what it does not execute, in one line, before anything runs', async () => {
    await expect(setupReplay({ scenarioFile: join(dir, 'tiny-unified.yaml'), backend: 'webgpu', ...SHAPE })).rejects.toThrow(/^--backend webgpu: policies\[0\] \(lru\) runs on unified memory .*expected --backend cpu$/);
    const cli = moesim(['replay', join(dir, 'tiny-unified.yaml'), '--backend', 'webgpu', '--hidden', '64']);
    expect(cli.code).toBe(2);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.stderr).toMatch(/unified memory .*expected --backend cpu/);
    writeFileSync(join(dir, 'unified-cpu-miss.yaml'), unifiedScenario('unified-cpu-miss', ['{ kind: lru, cache: { hbm: true }, onMiss: { kind: cpu } }']));
    writeFileSync(join(dir, 'gpu-direct.yaml'), tinySsdScenario('gpu-direct', ['{ kind: lru, cache: { perLayer: 2 } }']).replace('hostTier: { capacityGiB: 2, initial: cold }', 'hostTier: { gpuDirect: true }'));
    for (const [file, msg] of [['unified-cpu-miss.yaml', /onMiss: cpu on a unified-memory machine is not replayed/], ['gpu-direct.yaml', /hostTier\.gpuDirect .* is not replayed/]] as const) {
      const s = await setupReplay({ scenarioFile: join(dir, file), backend: 'cpu', ...SHAPE });
      try {
        await expect(validate(s, { profile: await readProfile(PROFILE), profileFile: PROFILE, interleave: false, disk: { profileFile: 'preset', ssd: SSD } })).rejects.toThrow(msg);
      } finally {
        await s.backend.close();
      }
    }
  });
});
