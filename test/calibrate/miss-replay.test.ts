import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend, probeWebGpu, type Backend } from '../../src/calibrate/backends.js';
import { calibrate } from '../../src/calibrate/calibrate.js';
import { buildExpertModel, randomActivations, randomExpertWeights, referenceExpert, expertWeightBytes } from '../../src/calibrate/expert-graph.js';
import { dequantizeExpert, LowBitDevice, lowBitExpertBytes, lowBitFormat, quantizeExpert } from '../../src/calibrate/low-bit.js';
import type { MicrobenchPlan } from '../../src/calibrate/microbench.js';
import { CpuExpertRunner, replayMissCosts } from '../../src/calibrate/miss-exec.js';
import type { CalibrationProfile } from '../../src/calibrate/profile.js';
import { decodeDecisions, recordSchedules, simulateSchedule, type ReplayResult } from '../../src/calibrate/replay.js';
import { setupReplay, type ReplaySetup } from '../../src/calibrate/replay-setup.js';
import { profileCosts, validate, type ValidateResult } from '../../src/calibrate/validate.js';
import { createRng } from '../../src/rng/rng.js';
import { OP_CPU, OP_STAGE_LOW } from '../../src/sim/schedule.js';
import { InputError } from '../../src/util/errors.js';

/** A 4-layer Mixtral-shaped model on a synthetic trace: 2 sequences of 16 tokens, one batch with a 6-token prefill each. */
const scenario = (policies: string) => `
name: tiny-miss
seed: 5
model: { preset: mixtral-8x7b, numLayers: 4, moeLayers: [0, 1, 2, 3] }
hardware: rtx-4090
workload: { batchSize: 2, promptTokens: 6 }
trace: { synthetic: { layers: 4, experts: 8, topK: 2, sequences: 2, tokensPerSequence: 16, popularity: { kind: zipf, exponent: 1.0 }, locality: 0.4 } }
policies: ${policies}
`;

const POLICIES = `
  - { kind: static, label: fiddler, cache: { perLayer: 3 }, onMiss: { kind: cpu } }
  - { kind: static, label: cpu-below-4, cache: { perLayer: 3 }, onMiss: { kind: cpu, belowTokens: 4 } }
  - { kind: lru, label: hobbit-int4, cache: { perLayer: 2 }, onMiss: { kind: low-precision, dtype: int4, belowGateWeight: 0.5 } }
  - { kind: lru, label: hobbit-int8, cache: { perLayer: 2 }, onMiss: { kind: low-precision, dtype: int8, belowGateWeight: 0.5 } }
  - { kind: lru, label: fetch, cache: { perLayer: 2 } }`;

const SHAPE = { hiddenSize: 32, intermediateSize: 64 };
/** The cpu backend's reuse threshold in these replays: small, so that its warm sets are (the default is 2 x the last-level cache). */
const REUSE = 2 ** 20;

/** Small enough for seconds on a loaded 2-core VM, shapes 30x apart so that time grows with work through noise; the replayed 32x64 expert is below them. */
const PLAN: MicrobenchPlan = {
  shapes: [
    { hiddenSize: 64, intermediateSize: 128 },
    { hiddenSize: 256, intermediateSize: 704 },
  ],
  maxTokens: 8,
  dtype: 'float32',
  maxRunSec: Number.POSITIVE_INFINITY,
  // A 64x span up to 4 MiB: on a loaded 2-core CI machine 16-256 KiB copies (a few us each) can fit no slope at all.
  transferBytes: [64 * 1024, 512 * 1024, 4 * 1024 * 1024],
  coldBytes: 0,
  rounds: 1,
  measure: { warmupRuns: 1, warmupMs: 2, minSamples: 3, maxSamples: 6, timeBudgetMs: 10, minSampleUs: 0 },
};

let dir: string;
const write = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'moesim-miss-'));
});

describe('lower-bit copies (MatMulNBits)', () => {
  let cpu: Backend;
  beforeAll(async () => {
    cpu = await openBackend('cpu');
  });
  afterAll(async () => {
    await cpu?.close();
  });

  it('upload fewer bytes than the fp32 expert, and compute the dequantised expert on the CPU EP', async () => {
    const shape = { hiddenSize: 64, intermediateSize: 96 };
    const w = randomExpertWeights(shape, 'float32', createRng('lb'));
    const x = randomActivations(3, 64, 'float32', createRng('lx')) as Float32Array;
    for (const dtype of ['int4', 'int8'] as const) {
      const fmt = lowBitFormat(dtype, shape);
      expect(fmt.block).toBe(32);
      const q = quantizeExpert(w, fmt);
      // int4: half a byte per weight and a 4-byte scale per 32; int8: a byte and the scales.
      const perWeight = dtype === 'int4' ? 0.5 + 4 / 32 : 1 + 4 / 32;
      expect(lowBitExpertBytes(shape, fmt)).toBe(3 * 64 * 96 * perWeight);
      const dev = await LowBitDevice.open(cpu, shape, fmt);
      try {
        const d = await dev.upload(q);
        expect(d.sizeBytes).toBe(lowBitExpertBytes(shape, fmt));
        expect(d.sizeBytes).toBeLessThan(expertWeightBytes(shape, 'float32') / (dtype === 'int4' ? 6 : 3));
        const y = await dev.run(x, d);
        const ref = referenceExpert(x, dequantizeExpert(q), 3);
        const exact = referenceExpert(x, w, 3);
        let err = 0;
        let scale = 0;
        let qerr = 0;
        for (let i = 0; i < ref.length; i++) {
          err = Math.max(err, Math.abs(y[i] - ref[i]));
          qerr = Math.max(qerr, Math.abs(ref[i] - exact[i]));
          scale = Math.max(scale, Math.abs(exact[i]));
        }
        expect(err).toBeLessThan(1e-4 * Math.max(1, scale));
        // A degraded computation: not the fp32 expert, but close to it.
        expect(qerr).toBeGreaterThan(0);
        expect(qerr).toBeLessThan((dtype === 'int4' ? 0.25 : 0.02) * scale);
        dev.evict(d);
        await expect(dev.run(x, d)).rejects.toThrow(/evicted/);
      } finally {
        await dev.close();
      }
    }
  });

  it('refuses formats and shapes the replay does not build, by name', () => {
    expect(() => lowBitFormat('int2', SHAPE, 'policies[2].onMiss.dtype')).toThrow(InputError);
    expect(() => lowBitFormat('int2', SHAPE, 'policies[2].onMiss.dtype')).toThrow(/^policies\[2\]\.onMiss\.dtype: .*int4 or int8.*not int2$/);
    expect(() => lowBitFormat('int4', { hiddenSize: 24, intermediateSize: 64 })).toThrow(/multiples of 16/);
  });
});

describe('the CPU side', () => {
  it('runs the expert on the CPU EP in a worker thread, from its copy of the host weights, in submission order, beside this thread', async () => {
    const shape = { hiddenSize: 256, intermediateSize: 704 };
    const ws = [0, 1, 2].map((i) => randomExpertWeights(shape, 'float32', createRng(`c${i}`)));
    const runner = await CpuExpertRunner.open(ws, [0, 1, 2]);
    try {
      const x = randomActivations(2, 256, 'float32', createRng('cx')) as Float32Array;
      const order: number[] = [];
      const runs = [0, 1, 2, 0, 1, 2].map((k, i) => runner.submit(k, x.slice()).then((r) => (order.push(i), r)));
      await Promise.all(runs);
      expect(order).toEqual([0, 1, 2, 3, 4, 5]);
      // The worker computes while this thread is blocked (not yielding to its event loop): after a
      // 3 s block, its jobs' results are all there at once, not computed after the block.
      const big = { hiddenSize: 512, intermediateSize: 1408 };
      const bw = randomExpertWeights(big, 'float32', createRng('big'));
      const heavy = await CpuExpertRunner.open([bw], [0]);
      try {
        const xb = randomActivations(4, 512, 'float32', createRng('bx')) as Float32Array;
        const jobs = Array.from({ length: 8 }, () => heavy.submit(0, xb.slice()));
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
        const t0 = performance.now();
        const res = await Promise.all(jobs);
        const after = (performance.now() - t0) / 1e3;
        const work = res.reduce((a, r) => a + r.sec, 0);
        expect(after).toBeLessThan(0.5 * work);
      } finally {
        await heavy.close();
      }
      const done = await Promise.all(runs);
      done.forEach((r, i) => {
        const ref = referenceExpert(x, ws[i % 3], 2);
        for (let k = 0; k < ref.length; k++) expect(Math.abs(r.y[k] - ref[k])).toBeLessThan(1e-4);
        expect(r.sec).toBeGreaterThan(0);
      });
    } finally {
      await runner.close();
    }
  });
});

describe('replay and validate of the cpu and low-precision miss handlers on the CPU backend', () => {
  let profile: CalibrationProfile;
  let setup: ReplaySetup;
  let v: ValidateResult;
  let r: ReplayResult;

  beforeAll(async () => {
    profile = await calibrate({ backend: 'cpu', plan: PLAN, createdAt: new Date(0) });
    setup = await setupReplay({ scenarioFile: write('s.yaml', scenario(POLICIES)), backend: 'cpu', scale: SHAPE, backendOptions: { cpuReuseAfterBytes: REUSE } });
    try {
      v = await validate(setup, { profile, profileFile: 'tiny-profile', warmupSteps: 1, repeats: 2, probePlan: { coldBytes: 0 } });
      r = v.replay;
    } finally {
      await setup.backend.close();
    }
  }, 180_000);

  it('no upload of a pass went into fresh pages: fp32 and lower-bit device buffers warmed before the warm-up pass', () => {
    expect(r.freshDeviceBuffers).toBe(0);
    expect(r.policies.some((p) => p.lowBitFetches > 0) && r.policies.some((p) => p.uploads > p.lowBitFetches)).toBe(true);
  });

  it('calibrate measured the CPU worker\'s hand-off, which the simulation charges per CPU expert', () => {
    const h = profile.samples.cpuHandoff!;
    expect(h.medianSec).toBeGreaterThan(0);
    const below = v.policies.find((p) => p.label.startsWith('cpu-below-4'))!;
    const cpuRow = below.rows.find((x) => x.metric === 'CPU expert time per step')!;
    const n = r.policies.find((p) => p.label.startsWith('cpu-below-4'))!.cpuExperts;
    expect(cpuRow.simulated).toBeGreaterThan((1e3 * h.medianSec * n) / r.trace.steps);
  });

  it('calibrate measured the lower-bit copies: samples and a fit per format', () => {
    expect(Object.keys(profile.fit.lowBitExpert ?? {}).sort()).toEqual(['int4', 'int8']);
    const s = profile.samples.lowBitExpert!;
    expect(new Set(s.map((x) => `${x.dtype} ${x.hiddenSize}x${x.intermediateSize}`)).size).toBe(4);
    for (const x of s) expect(x.medianSec).toBeGreaterThan(0);
  });

  it('executes the simulator\'s schedule: CPU experts, lower-bit fetches and bytes identical to the simulation', () => {
    const by = (label: string) => v.policies.find((p) => p.label.startsWith(label))!;
    const row = (label: string, metric: string) => by(label).rows.find((x) => x.metric === metric);
    // The CPU handlers compute misses on the CPU; nothing is uploaded (static placement, uploaded untimed).
    // cpu-below-4 decides by token count; fiddler from the profile's estimates (measured: it may fetch everything).
    for (const label of ['fiddler', 'cpu-below-4']) {
      const p = r.policies.find((q) => q.label.startsWith(label))!;
      if (label === 'fiddler' && p.cpuExperts === 0) continue;
      expect(row(label, 'CPU-computed experts')!.exact).toBe(true);
      expect(row(label, 'CPU-computed experts')!.measured).toBe(p.cpuExperts);
      expect(row(label, 'CPU expert time per step')!.measured).toBeGreaterThan(0);
      expect(p.hits + p.cpuExperts).toBe(p.accesses - p.uploads);
    }
    // belowTokens 4: a prefill's misses routed to 4 tokens or more are fetched; decodes' are on the CPU.
    const below = r.policies.find((q) => q.label.startsWith('cpu-below-4'))!;
    expect(below.cpuExperts).toBeGreaterThan(0);
    expect(below.uploads).toBeGreaterThan(0);
    for (const label of ['hobbit-int4', 'hobbit-int8']) {
      const p = r.policies.find((q) => q.label.startsWith(label))!;
      const fmt = lowBitFormat(label.endsWith('int4') ? 'int4' : 'int8', SHAPE);
      expect(p.lowBitFetches).toBeGreaterThan(0);
      expect(p.lowBitBytes).toBe(p.lowBitFetches * lowBitExpertBytes(SHAPE, fmt));
      expect(p.bytesH2D).toBe(p.lowBitBytes + (p.uploads - p.lowBitFetches) * expertWeightBytes(SHAPE, 'float32'));
      expect(row(label, 'lower-bit fetches')!.simulated).toBe(p.lowBitFetches);
      expect(row(label, 'lower-bit bytes')!.exact).toBe(true);
    }
    // Same misses, fewer bytes: the int4 copies move less than the int8 ones, both less than fetching.
    const b = (l: string) => r.policies.find((q) => q.label.startsWith(l))!;
    expect(b('hobbit-int4').misses).toBe(b('hobbit-int8').misses);
    expect(b('hobbit-int4').bytesH2D).toBeLessThan(b('hobbit-int8').bytesH2D);
    expect(b('hobbit-int8').bytesH2D).toBeLessThan(b('fetch').bytesH2D);
    for (const p of v.policies) {
      for (const x of p.rows) if (x.exact) expect(x.simulated).toBe(x.measured);
      expect(p.passes.tpotError.every(Number.isFinite)).toBe(true);
    }
  });

  it('records CPU jobs and lower-bit stages in the schedule; the estimate-deciding handler decides on the profile', () => {
    const { prep, loaded, policies, predictors, scaled } = setup;
    const miss = { shape: SHAPE, source: { profile } };
    const s = recordSchedules(prep, loaded.scenario, policies, predictors, scaled.expertBytes, profileCosts(scaled, profile.hardware), miss);
    const count = (j: number, op: number) => {
      let n = 0;
      for (let i = 0; i < s[j].log.length; i++) if (s[j].log.op(i) === op) n++;
      return n;
    };
    expect(count(0, OP_CPU)).toBe(r.policies[0].cpuExperts);
    expect(count(1, OP_CPU)).toBe(r.policies[1].cpuExperts);
    expect(count(1, OP_CPU)).toBeGreaterThan(0);
    expect(count(2, OP_STAGE_LOW)).toBe(r.policies[2].lowBitFetches);
    // The replay executed the decisions the simulator makes on the profile.
    expect(s.map((x) => x.decisions.length > 0)).toEqual([true, true, true, true, false]);
    expect(decodeDecisions(r.policies[0].missDecisions)).toEqual(s[0].decisions);
    // Made again on other speeds, they give the same operations: the per-pass simulations' order.
    const slow = { ...profile.hardware, gpu: { ...profile.hardware.gpu, hbmBytesPerSec: profile.hardware.gpu.hbmBytesPerSec / 7 } };
    const again = simulateSchedule(prep, loaded.scenario, policies[0], predictors, profileCosts(scaled, slow), { ...miss, decisions: s[0].decisions });
    expect(again.schedule.log.equals(s[0].log)).toBe(true);
    // The estimate-deciding handler's plan depends on the costs (validate records on the profile's):
    // with a CPU 1000x slower every miss is fetched, 1000x faster every miss is on the CPU.
    const cpuAt = (k: number): CalibrationProfile => ({ ...profile, samples: { ...profile.samples, cpuHandoff: { ...profile.samples.cpuHandoff!, medianSec: profile.samples.cpuHandoff!.medianSec * k } }, fit: { ...profile.fit, expert: { ...profile.fit.expert, overheadSec: profile.fit.expert.overheadSec * k, memBandwidthBytesPerSec: profile.fit.expert.memBandwidthBytesPerSec / k, throughputFlopsPerSec: profile.fit.expert.throughputFlopsPerSec / k } } });
    const decide = (k: number) => new Set(simulateSchedule(prep, loaded.scenario, policies[0], predictors, profileCosts(scaled, profile.hardware), { shape: SHAPE, source: { profile: cpuAt(k) } }).schedule.decisions);
    expect(decide(1000)).toEqual(new Set(['fetch']));
    expect(decide(1e-3)).toEqual(new Set(['cpu']));
  });

  it('miss costs come from the profile: the CPU fit for CPU experts, the lower-bit fit for copies', () => {
    const c = replayMissCosts(SHAPE, { profile }, 'int4');
    expect(c.lowBitExpertBytes).toBe(lowBitExpertBytes(SHAPE, lowBitFormat('int4', SHAPE)));
    expect(c.cpuExpertSec(1)).toBeGreaterThan(profile.fit.expert.overheadSec);
    expect(c.lowBitExpertSec(1)).toBeGreaterThanOrEqual(profile.fit.lowBitExpert!.int4!.overheadSec);
    const old: CalibrationProfile = { ...profile, fit: { ...profile.fit, lowBitExpert: undefined } };
    expect(() => replayMissCosts(SHAPE, { profile: old }, 'int8')).toThrow(/no int8 expert runs .*re-run moesim calibrate/);
  });
});

/** Requests arriving at once, served by a cache-aware token scheduler: its steps depend on the simulated times. */
const serving = (schedulers: string, extra = '') => `
name: tiny-serving
seed: 7
model: { preset: mixtral-8x7b, numLayers: 4, moeLayers: [0, 1, 2, 3] }
hardware: rtx-4090
trace: { synthetic: { layers: 4, experts: 8, topK: 2, sequences: 12, tokensPerSequence: 24, popularity: { kind: zipf, exponent: 1.0 }, locality: 0.4 } }
workload:
  kind: serving
  requests: 8
  arrivals: { kind: poisson, ratePerSec: 2000 }
  maxBatchSize: 4
  maxBatchTokens: 64
  microBatchSize: 4
  promptTokens: { kind: uniform, min: 4, max: 8 }
  outputTokens: { kind: uniform, min: 3, max: 6 }
  schedulers: ${schedulers}
${extra}policies:
  - { kind: lru, cache: { perLayer: 2 } }
  - { kind: static, label: fiddler, cache: { perLayer: 3 }, onMiss: { kind: cpu, belowTokens: 1000 } }
  - { kind: lru, label: hobbit, cache: { perLayer: 2 }, onMiss: { kind: low-precision, dtype: int4 } }
`;

describe('replay and validate of a serving workload on the CPU backend', () => {
  let v: ValidateResult;
  let setup: ReplaySetup;
  beforeAll(async () => {
    const profile = await calibrate({ backend: 'cpu', plan: PLAN, createdAt: new Date(0) });
    setup = await setupReplay({ scenarioFile: write('serving.yaml', serving('[{ kind: expertflow }]')), backend: 'cpu', scale: SHAPE, backendOptions: { cpuReuseAfterBytes: REUSE } });
    try {
      v = await validate(setup, { profile, profileFile: 'tiny-profile', warmupSteps: 1, repeats: 2, probePlan: { coldBytes: 0 } });
    } finally {
      await setup.backend.close();
    }
  }, 180_000);

  it('executes the steps the scheduler gave the simulation: requests, tokens per request and counts identical', () => {
    for (const [j, p] of v.replay.policies.entries()) {
      const sv = p.serving!;
      expect(sv.requests).toBe(8);
      // Every request emits its output tokens (3 to 6 each), in the steps this policy executed.
      expect(sv.tokensPerRequest.every((n) => n >= 3 && n <= 6)).toBe(true);
      const emitted = sv.steps.reduce((a, s) => a + s.emitSeq.length, 0);
      expect(emitted).toBe(sv.tokensPerRequest.reduce((a, b) => a + b, 0));
      expect(p.stepSec).toHaveLength(sv.steps.length);
      const rows = v.policies[j].rows;
      expect(rows.find((r) => r.metric === 'requests')!.measured).toBe(8);
      for (const r of rows) if (r.exact) expect(r.simulated).toBe(r.measured);
      expect(v.policies[j].passes.tpotError.every(Number.isFinite)).toBe(true);
    }
    expect(v.replay.policies[1].cpuExperts).toBeGreaterThan(0);
    expect(v.replay.policies[2].lowBitFetches).toBeGreaterThan(0);
    // Its steps' uploads, fp32 and lower-bit, all into warmed buffers.
    expect(v.replay.freshDeviceBuffers).toBe(0);
  });
});

describe('replay setup refuses what it does not execute, by name', () => {
  it('serving: several schedulers, prefill streaming, an offline policy', async () => {
    const err = async (text: string, policies?: string[]) => {
      try {
        await setupReplay({ scenarioFile: write(`bad-s-${Math.random()}.yaml`, text), backend: 'cpu', scale: SHAPE, ...(policies ? { policies } : {}) });
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(await err(serving('[{ kind: fifo }, { kind: expertflow }]'))).toMatch(/workload\.schedulers: replay and validate run one scheduler of a serving workload, the scenario has 2; keep one$/);
    expect(await err(serving('[{ kind: fifo }]').replace('  schedulers:', '  prefill: { streaming: true }\n  schedulers:'))).toMatch(/workload\.prefill\.streaming: replay and validate do not stream prefills yet/);
    expect(await err(serving('[{ kind: fifo }]').replace('policies:\n', 'policies:\n  - { kind: belady, cache: { perLayer: 2 } }\n'))).toMatch(/policies\[0\]: belady needs the whole access order/);
  });

  it('CPU-computed misses with prefetching; int2 copies', async () => {
    const err = async (policies: string) => {
      try {
        await setupReplay({ scenarioFile: write(`bad-${Math.random()}.yaml`, scenario(policies)), backend: 'cpu', scale: SHAPE });
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(await err(`\n  - { kind: lru, cache: { perLayer: 2 }, prefetch: { kind: pregated }, onMiss: { kind: cpu } }`)).toMatch(/policies\[0\]\.onMiss: replay and validate execute cpu on a miss without prefetching/);
    expect(await err(`\n  - { kind: lru, cache: { perLayer: 2 }, onMiss: { kind: low-precision, dtype: int2 } }`)).toMatch(/policies\[0\]\.onMiss\.dtype: .*int4 or int8, not int2/);
  });
});

describe('on WebGPU', () => {
  it('lower-bit copies upload to the device and run there', async (ctx) => {
    const probe = await probeWebGpu();
    if (!probe.ok) {
      console.warn(`SKIPPED WebGPU lower-bit copies: ${probe.reason ?? '?'}`);
      ctx.skip(`WebGPU unavailable: ${probe.reason ?? '?'}`);
    }
    const gpu = await openBackend('webgpu');
    try {
      const shape = { hiddenSize: 64, intermediateSize: 96 };
      const w = randomExpertWeights(shape, 'float32', createRng('g'));
      const x = randomActivations(2, 64, 'float32', createRng('gx')) as Float32Array;
      for (const dtype of ['int4', 'int8'] as const) {
        const fmt = lowBitFormat(dtype, shape);
        const q = quantizeExpert(w, fmt);
        const dev = await LowBitDevice.open(gpu, shape, fmt);
        try {
          const d = await dev.upload(q);
          expect(d.w13.location).toBe('gpu-buffer');
          const y = await dev.run(x, d);
          const ref = referenceExpert(x, dequantizeExpert(q), 2);
          for (let i = 0; i < ref.length; i++) expect(Math.abs(y[i] - ref[i])).toBeLessThan(1e-3);
          dev.evict(d);
        } finally {
          await dev.close();
        }
      }
    } finally {
      await gpu.close();
    }
  }, 120_000);
});
