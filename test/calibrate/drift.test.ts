/**
 * validate on a machine whose speed drifts, made deterministic: a fake backend whose operations
 * advance a fake clock by the time they stand for (a roofline expert, a latency + bandwidth
 * upload), multiplied by a slowdown that grows with the fake time. Calibrated at the start, then
 * validated while the machine gets slower: the profile as calibrated predicts every pass too fast;
 * the passes simulated on the calibration samples taken around them do not.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DeviceBuffer, DeviceExpert } from '../../src/calibrate/backends.js';
import { calibrate } from '../../src/calibrate/calibrate.js';
import { driftPoints, scaleHardware, spreadOf } from '../../src/calibrate/drift.js';
import { expertBytesMoved, expertFlops, type ExpertDtype, type ExpertWeights, type HostArray } from '../../src/calibrate/expert-graph.js';
import type { MicrobenchPlan } from '../../src/calibrate/microbench.js';
import type { CalibrationProfile } from '../../src/calibrate/profile.js';
import { setupReplay, type ReplaySetup } from '../../src/calibrate/replay-setup.js';
import { validate, type ValidateResult } from '../../src/calibrate/validate.js';
import { hardwarePresets } from '../../src/hardware/presets.js';
import { modelPresets } from '../../src/model/presets.js';
import { formatValidation, renderValidationHtml } from '../../src/report/validate.js';
import { RooflineCosts } from '../../src/timing/roofline.js';
import type { Clock } from '../../src/util/clock.js';

class FakeClock implements Clock {
  t = 0n;
  /** Seconds of `t` the fake process spent waiting for a core. */
  waited = 0;
  now(): bigint {
    return this.t;
  }
  waitedSec(): number {
    return this.waited;
  }
  advance(sec: number): void {
    this.t += BigInt(Math.round(sec * 1e9));
  }
  get sec(): number {
    return Number(this.t) / 1e9;
  }
}

/** Slowdown of expert runs and of uploads at fake time t (seconds): 1 = as calibrated. */
type Slowdown = (tSec: number) => { expert: number; upload: number };

/** The machine: 30 µs per run + a roofline at 10 GB/s and 20 GFLOP/s; uploads 20 µs + 5 GB/s per buffer. */
const RUN_OVERHEAD_SEC = 30e-6;
const MEM_BPS = 10e9;
const FLOPS = 20e9;
const UPLOAD_LATENCY_SEC = 20e-6;
const LINK_BPS = 5e9;

class DriftingBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly deviceName = 'fake';
  device = 'a fake device whose speed drifts';
  readonly dtypes: readonly ExpertDtype[] = ['float32'];
  readonly unsupported = {};
  slowdown: Slowdown = () => ({ expert: 1, upload: 1 });
  /** Every `stallEvery`-th expert run takes `stallFactor` times as long, waiting for a core (the process lost it); 0: never. */
  stallEvery = 0;
  stallFactor = 1;
  private runs = 0;
  constructor(readonly clock: FakeClock) {}

  async runExpert(x: HostArray, expert: ExpertWeights | DeviceExpert): Promise<HostArray> {
    const { shape } = expert;
    const tokens = x.length / shape.hiddenSize;
    const sec = RUN_OVERHEAD_SEC + Math.max(expertBytesMoved(shape, 'float32', tokens) / MEM_BPS, expertFlops(shape, tokens) / FLOPS);
    const stalled = this.stallEvery > 0 && ++this.runs % this.stallEvery === 0;
    const run = sec * this.slowdown(this.clock.sec).expert;
    // A stalled run waited for a core for the extra time, and the clock says so.
    if (stalled) this.clock.waited += run * (this.stallFactor - 1);
    this.clock.advance(run * (stalled ? this.stallFactor : 1));
    return new Float32Array(x.length);
  }
  async uploadBuffer(data: HostArray, dtype: ExpertDtype, dims?: readonly number[]): Promise<DeviceBuffer> {
    const sizeBytes = data.length * 4;
    this.clock.advance((UPLOAD_LATENCY_SEC + sizeBytes / LINK_BPS) * this.slowdown(this.clock.sec).upload);
    return { dtype, dims: dims ?? [1, data.length], sizeBytes, released: false };
  }
  async upload(w: ExpertWeights): Promise<DeviceExpert> {
    const { hiddenSize: h, intermediateSize: f } = w.shape;
    const w1 = await this.uploadBuffer(w.w1, w.dtype, [h, f]);
    const w3 = await this.uploadBuffer(w.w3, w.dtype, [h, f]);
    const w2 = await this.uploadBuffer(w.w2, w.dtype, [f, h]);
    return { shape: w.shape, dtype: w.dtype, sizeBytes: w1.sizeBytes + w3.sizeBytes + w2.sizeBytes, w1, w3, w2 };
  }
  evict(): void {}
  releaseBuffer(): void {}
  warmBuffers(): () => void {
    return () => {};
  }
  async sync(): Promise<void> {
    this.clock.advance(2e-6);
  }
  async launchTiny(): Promise<void> {
    this.clock.advance(20e-6);
  }
  async close(): Promise<void> {}
}

const measure = { warmupRuns: 2, warmupMs: 0.5, minSamples: 5, maxSamples: 9, timeBudgetMs: 2, minSampleUs: 200 };
const PLAN: MicrobenchPlan = {
  shapes: [
    { hiddenSize: 32, intermediateSize: 64 },
    { hiddenSize: 64, intermediateSize: 128 },
  ],
  maxTokens: 16,
  dtype: 'float32',
  maxRunSec: 1,
  transferBytes: [4096, 16384, 65536],
  coldBytes: 0,
  rounds: 1,
  measure,
};
/** A probe: a few samples of each key point, short next to a pass. */
const PROBE = { coldBytes: 0, measure: { ...measure, warmupMs: 0.2, minSamples: 3, maxSamples: 3, timeBudgetMs: 0.2 } };

const scenarioText = `
name: drift
seed: 5
model: { preset: mixtral-8x7b, numLayers: 4, moeLayers: [0, 1, 2, 3] }
hardware: rtx-4090
trace: { synthetic: { layers: 4, experts: 8, topK: 2, sequences: 2, tokensPerSequence: 16, popularity: { kind: zipf, exponent: 1.0 }, locality: 0.4 } }
policies:
  - { kind: lru, cache: { perLayer: 2 } }
  - { kind: static, cache: { perLayer: 3 } }
  - { kind: none }
`;

let clock: FakeClock;
let backend: DriftingBackend;
let profile: CalibrationProfile;
let setup: ReplaySetup;

beforeAll(async () => {
  clock = new FakeClock();
  backend = new DriftingBackend(clock);
  profile = await calibrate({ backend: 'cpu', plan: PLAN, open: async () => backend, clock, createdAt: new Date(0) });
  const dir = mkdtempSync(join(tmpdir(), 'moesim-drift-'));
  const file = join(dir, 'drift.yaml');
  writeFileSync(file, scenarioText);
  const real = await setupReplay({ scenarioFile: file, backend: 'cpu', scale: { hiddenSize: 32, intermediateSize: 64 } });
  await real.backend.close();
  setup = { ...real, backend };
}, 60_000);

const run = (interleave: boolean): Promise<ValidateResult> =>
  validate(setup, { profile, profileFile: 'fake.json', warmupSteps: 2, repeats: 3, interleave, clock, probePlan: PROBE });

/** Every |TPOT error| of every pass. */
const worst = (v: ValidateResult, which: 'tpotError' | 'profileTpotError'): number => Math.max(...v.policies.flatMap((p) => p.passes[which].map(Math.abs)));

describe('validate on a machine whose speed drifts (fake backend, fake clock)', () => {
  it('the fake machine calibrates to itself: the fitted profile is its roofline', () => {
    expect(profile.fit.expert.overheadSec).toBeCloseTo(RUN_OVERHEAD_SEC, 7);
    expect(profile.hardware.link.h2dBytesPerSec / LINK_BPS).toBeCloseTo(1, 3);
    expect(profile.hardware.link.latencySec).toBeCloseTo(UPLOAD_LATENCY_SEC, 8);
  });

  it('on a steady machine both simulations agree with every pass, and the samples read x1', async () => {
    backend.slowdown = () => ({ expert: 1, upload: 1 });
    const v = await run(true);
    expect(worst(v, 'tpotError')).toBeLessThan(0.02);
    expect(worst(v, 'profileTpotError')).toBeLessThan(0.02);
    // 3 policies x 3 passes: a sample before the first pass and after each.
    expect(v.drift.probes.map((p) => p.boundary)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(v.drift.expertRatio!.min).toBeGreaterThan(0.99);
    expect(v.drift.expertRatio!.max).toBeLessThan(1.01);
    expect(v.drift.uploadRatio!.max).toBeLessThan(1.01);
  });

  it('when the machine slows down during the run, the profile as calibrated is too fast and the interleaved samples are not', async () => {
    // Expert runs take twice as long, uploads 1.5 times, by the time a steady run would end.
    const steady = await run(false);
    const t0 = clock.sec;
    const D = steady.policies.reduce((a, p) => a + p.passes.measuredTpotMs.length, 0) * steady.replay.policies[0].passStepSec[0].reduce((a, b) => a + b, 0);
    backend.slowdown = (t) => ({ expert: 1 + Math.max(0, t - t0) / D, upload: 1 + (0.5 * Math.max(0, t - t0)) / D });
    const v = await run(true);
    backend.slowdown = () => ({ expert: 1, upload: 1 });

    // The drift is seen: the samples grow, expert runs faster than uploads.
    const e = v.drift.probes.map((p) => p.expertRatio);
    const u = v.drift.probes.map((p) => p.uploadRatio);
    for (let i = 1; i < e.length; i++) expect(e[i]).toBeGreaterThan(e[i - 1]);
    expect(v.drift.expertRatio!.max).toBeGreaterThan(1.8);
    expect(v.drift.uploadRatio!.max - 1).toBeLessThan(0.75 * (v.drift.expertRatio!.max - 1));
    expect(v.drift.uploadRatio!.max).toBeGreaterThan(1.3);

    // With the profile as calibrated every pass is predicted too fast, later passes more so.
    for (const p of v.policies) {
      expect(p.passes.profileTpotErrorSpread.max).toBeLessThan(-0.05);
      expect(p.passes.profileTpotError[2]).toBeLessThan(p.passes.profileTpotError[0]);
    }
    expect(Math.min(...v.policies.map((p) => p.passes.profileTpotErrorSpread.min))).toBeLessThan(-0.35);
    // Simulated on the samples around each pass, every pass is within 5%.
    expect(worst(v, 'tpotError')).toBeLessThan(0.05);
    // And so is the table's TPOT mean row (median over the passes on both sides).
    for (const p of v.policies) expect(Math.abs(p.rows.find((r) => r.metric === 'TPOT mean')!.error)).toBeLessThan(0.05);
    // Counts are the simulator's, whatever the speed.
    for (const p of v.policies) for (const r of p.rows.filter((x) => x.exact)) expect(r.simulated).toBe(r.measured);

    // --no-interleave on the same drifting machine: no samples, every pass on the profile, too fast.
    const t1 = clock.sec;
    backend.slowdown = (t) => ({ expert: 1 + Math.max(0, t - t1) / D, upload: 1 + (0.5 * Math.max(0, t - t1)) / D });
    const off = await run(false);
    backend.slowdown = () => ({ expert: 1, upload: 1 });
    expect(off.drift).toMatchObject({ interleaved: false, probes: [], probeSec: 0 });
    expect(off.drift.expertRatio).toBeUndefined();
    for (const p of off.policies) expect(p.passes.tpotError).toEqual(p.passes.profileTpotError);
    expect(worst(off, 'tpotError')).toBeGreaterThan(0.3);

    // The report shows the spread over passes and the drift.
    const text = formatValidation(v);
    expect(text).toMatch(/^policy\s+passes\s+waited for a core\s+TPOT error on a core: median\s+min\s+max\s+mean ± sd\s+wall clock: median \(min to max\)\s+profile as calibrated, wall clock$/m);
    expect(text).toMatch(/^lru, 2\/layer\s+3\s+0% \(0-0%\)\s+[+-]\d+\.\d%\s+[+-]\d+\.\d%\s+[+-]\d+\.\d%\s+[+-]\d+\.\d% ± \d+\.\d%\s+[+-]\d+\.\d% \([+-]\d+\.\d% to [+-]\d+\.\d%\)\s+-\d+\.\d% \(-\d+\.\d% to -\d+\.\d%\)$/m);
    expect(text).toMatch(/^machine speed over the run, now \/ profile, median \(min to max\) over 10 samples: expert runs x\d\.\d{3} \(x1\.0\d{2} to x\d\.\d{3}\), uploads x1\.\d{3}/m);
    expect(text).toContain("drift: a calibration sample of the profile's key points (expert 32x64, 1 token; upload 4 KiB; upload 16 KiB)");
    const offText = formatValidation(off);
    expect(offText).toContain('drift: not measured (--no-interleave)');
    const html = renderValidationHtml(v, { vega: '', vegaLite: '', vegaEmbed: '' });
    for (const id of ['passes', 'drift']) expect(html).toContain(`id="chart-${id}"`);
    expect(renderValidationHtml(off, { vega: '', vegaLite: '', vegaEmbed: '' })).not.toContain('id="chart-drift"');
  }, 60_000);
});

describe('a machine where the replay loses its core now and then (fake backend)', () => {
  it('the waits for a core are measured during the passes and left out of the time compared; the samples (medians) see the machine as calibrated', async () => {
    // One expert run in 10 takes 11 times as long: 2x on average, the median run unchanged.
    backend.stallEvery = 10;
    backend.stallFactor = 11;
    // Unbatched samples, as many as a stall period allows to average over.
    const probePlan = { coldBytes: 0, measure: { ...measure, warmupRuns: 0, warmupMs: 0, minSampleUs: 0, minSamples: 20, maxSamples: 20, timeBudgetMs: 0 } };
    let v: ValidateResult;
    try {
      v = await validate(setup, { profile, profileFile: 'fake.json', warmupSteps: 2, repeats: 2, clock, probePlan });
    } finally {
      backend.stallEvery = 0;
    }
    // The machine's speed on a core is as calibrated; the samples' means see the waits, their medians do not.
    expect(v.drift.expertRatio!.max).toBeLessThan(1.02);
    expect(v.drift.uploadRatio!.max).toBeLessThan(1.02);
    expect(Math.min(...v.drift.probes.map((p) => p.expertMeanRatio))).toBeGreaterThan(1.8);
    for (const p of v.policies) {
      // The expert runs are about half of a step's time here, and a tenth of them wait 10 runs long.
      expect(p.passes.waitShareSpread!.min).toBeGreaterThan(0.2);
      expect(p.passes.wallTpotErrorSpread.max).toBeLessThan(-0.15);
      expect(p.passes.profileTpotErrorSpread.max).toBeLessThan(-0.15);
      expect(Math.abs(p.rows.find((r) => r.metric === 'TPOT mean on a core')!.error)).toBeLessThan(0.03);
    }
    // On a core, every pass is within 3%.
    expect(worst(v, 'tpotError')).toBeLessThan(0.03);
  }, 60_000);
});

describe('validate warns', () => {
  it('when the CPU backend runs several ORT threads: the waits are measured for the replaying thread only', async () => {
    const device = backend.device;
    backend.device = 'a fake device, 2 intra-op threads';
    let v: ValidateResult;
    try {
      v = await run(false);
    } finally {
      backend.device = device;
    }
    expect(v.warnings).toContain('the CPU backend runs 2 ONNX Runtime threads, but the waits for a core are measured for the replaying thread only: the time on a core overstates what the pool\'s threads got');
    expect((await run(false)).warnings.some((w) => w.includes('ONNX Runtime threads'))).toBe(false);
  }, 60_000);
});

describe('drift helpers', () => {
  it('spreadOf: min, median, max, mean and sample sd', () => {
    expect(spreadOf([3, -1, 1])).toEqual({ n: 3, min: -1, median: 1, max: 3, mean: 1, sd: 2 });
    expect(spreadOf([0.5])).toEqual({ n: 1, min: 0.5, median: 0.5, max: 0.5, mean: 0.5, sd: 0 });
    expect(() => spreadOf([])).toThrow(/no values/);
  });

  it('scaleHardware scales the simulator\'s expert and upload times by exactly the factors', () => {
    const hw = hardwarePresets['rtx-4090'];
    const model = modelPresets['mixtral-8x7b'];
    const precision = { experts: 'fp32', dense: 'fp32', kvCache: 'fp32', groupSize: 128 } as const;
    const a = new RooflineCosts(model, hw, precision);
    const b = new RooflineCosts(model, scaleHardware(hw, 1.7, 0.8), precision);
    for (const tokens of [1, 64, 4096]) expect(b.expertSec(tokens) / a.expertSec(tokens)).toBeCloseTo(1.7, 12);
    for (const bytes of [1, 1e6, 1e9]) expect(b.h2dSec(bytes) / a.h2dSec(bytes)).toBeCloseTo(0.8, 12);
  });

  it('scaleHardware scales a measured sustained GEMM rate with the peaks (the T4 in fp16, compute-bound at 4096 tokens)', () => {
    const hw = hardwarePresets.t4;
    expect(hw.gpu.sustainedFlopsPerSec?.fp16).toBeDefined();
    const precision = { experts: 'fp16', dense: 'fp16', kvCache: 'fp16', groupSize: 128 } as const;
    const model = modelPresets['mixtral-8x7b'];
    const a = new RooflineCosts(model, hw, precision);
    const b = new RooflineCosts(model, scaleHardware(hw, 1.7, 0.8), precision);
    for (const tokens of [1, 4096]) expect(b.expertSec(tokens) / a.expertSec(tokens)).toBeCloseTo(1.7, 12);
    expect(scaleHardware(hw, 2, 1).gpu.sustainedFlopsPerSec).toEqual({ ...hw.gpu.sustainedFlopsPerSec, fp16: 12e12 });
  });

  it('driftPoints: the calibrated one-token runs and upload sizes on each side of the replayed expert', () => {
    const bytesOf = (h: number, f: number) => 12 * h * f;
    const names = (e: number) => driftPoints(profile, e).points.map((p) => p.label);
    expect(names(bytesOf(32, 64))).toEqual(['expert 32x64, 1 token', 'upload 4 KiB', 'upload 16 KiB']);
    expect(names(bytesOf(48, 96))).toEqual(['expert 32x64, 1 token', 'expert 64x128, 1 token', 'upload 16 KiB', 'upload 64 KiB']);
    expect(names(bytesOf(256, 704))).toEqual(['expert 64x128, 1 token', 'upload 64 KiB']);
    expect(names(bytesOf(8, 16))).toEqual(['expert 32x64, 1 token', 'upload 4 KiB']);
    const p = driftPoints(profile, bytesOf(32, 64));
    expect(p.points[0].profileSec).toBe(profile.samples.expert.find((s) => s.hiddenSize === 32 && s.tokens === 1)!.medianSec);
  });
});
