import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeWebGpu } from '../../src/calibrate/backends.js';
import { readProfile } from '../../src/calibrate/profile.js';
import { replay, type ReplayResult } from '../../src/calibrate/replay.js';
import { setupReplay, type ReplaySetup } from '../../src/calibrate/replay-setup.js';
import { scaleModel } from '../../src/calibrate/scale.js';
import { simulateReplay, validate, type ValidateResult } from '../../src/calibrate/validate.js';
import { modelPresets } from '../../src/model/presets.js';
import { formatReplay, formatValidation, renderValidationHtml, tpotErrors } from '../../src/report/validate.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import { InputError } from '../../src/util/errors.js';
import { moesim, ROOT } from '../helpers/cli.js';

const PROFILE = join(ROOT, 'test/fixtures/cpu-quick-profile.json');

/** A 4-layer Mixtral-shaped model on a synthetic trace: 2 sequences of 16 tokens. */
const tinyScenario = (policies: string) => `
name: tiny
seed: 3
model: { preset: mixtral-8x7b, numLayers: 4, moeLayers: [0, 1, 2, 3] }
hardware: rtx-4090
trace: { synthetic: { layers: 4, experts: 8, topK: 2, sequences: 2, tokensPerSequence: 16, popularity: { kind: zipf, exponent: 1.0 }, locality: 0.4 } }
policies: ${policies}
`;

const POLICIES = `
  - { kind: lru, cache: { perLayer: 2 } }
  - { kind: lfu, cache: { perLayer: 2 } }
  - { kind: static, cache: { perLayer: 3 } }
  - { kind: belady, cache: { perLayer: 2 } }
  - { kind: lru, label: lru-global, cache: { experts: 9 } }
  - { kind: none }
  - { kind: lru, label: pregated, cache: { perLayer: 2 }, prefetch: { kind: pregated } }
  - { kind: lru, label: expertflow, cache: { perLayer: 2 }, prefetch: { kind: expertflow }, predictor: { kind: oracle, precision: 0.7, recall: 0.7 } }`;

let dir: string;
const write = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'moesim-replay-'));
});

const TINY = { scale: { hiddenSize: 32, intermediateSize: 64 } };

describe('replay on the CPU backend', () => {
  let setup: ReplaySetup;
  let r: ReplayResult;

  beforeAll(async () => {
    setup = await setupReplay({ scenarioFile: write('tiny.yaml', tinyScenario(POLICIES)), backend: 'cpu', ...TINY });
    r = await replay({ backend: setup.backend, scenario: setup.loaded.scenario, prep: setup.prep, policies: setup.policies, shape: setup.scaled.shape, warmupSteps: 2, repeats: 2, predictors: setup.predictors });
  }, 60_000);
  afterAll(async () => {
    await setup?.backend.close();
  });

  it('executes the scaled model step by step and times every step of every pass', () => {
    expect(setup.scaled.shape).toEqual({ hiddenSize: 32, intermediateSize: 64 });
    expect(r.trace).toEqual({ tokens: 32, sequences: 2, steps: 32 });
    expect(r.steps.filter((s) => s.startSeq.length > 0).map((s) => s.startSeq)).toEqual([[0], [1]]);
    for (const p of r.policies) {
      expect(p.passStepSec).toHaveLength(2);
      for (const pass of p.passStepSec) expect(pass).toHaveLength(32);
      expect(p.stepSec.every((t) => t > 0)).toBe(true);
      expect(p.perLayerSec).toHaveLength(4);
      expect(p.latency.ttftSamples).toBe(2);
      expect(p.latency.tpotSamples).toBe(30);
      expect(p.hits + p.lateHits + p.misses).toBe(p.accesses);
      expect(p.bytesH2D).toBe(p.uploads * 3 * 32 * 64 * 4);
    }
  });

  it('counts the same hits and misses as the scenario\'s own simulation for cache policies (same code)', async () => {
    const { scenario, baseDir } = loadScenarioFile(join(dir, 'tiny.yaml'));
    const sim = await runScenario(scenario, { baseDir });
    const cacheOnly = r.policies.filter((p) => !p.prefetch);
    expect(cacheOnly).toHaveLength(6);
    expect(cacheOnly.map((p) => [p.label, p.accesses, p.hits, p.misses])).toEqual(
      sim.results.filter((p) => !p.prefetch).map((p) => [p.label, p.metrics.accesses, p.metrics.hits, p.metrics.misses]),
    );
    expect(cacheOnly.map((p) => p.uploads)).toEqual(sim.results.filter((p) => !p.prefetch).map((p) => p.metrics.misses));
  });

  it('counts exactly the hits, late hits, prefetches and bytes of the simulation of the replay, prefetching policies included', async () => {
    const profile = await readProfile(PROFILE);
    const sims = simulateReplay(setup, profile.hardware, r);
    expect(sims.map((s) => [s.accesses, s.hits, s.lateHits, s.prefetchIssued, s.bytesH2D])).toEqual(
      r.policies.map((p) => [p.accesses, p.hits, p.lateHits, p.prefetchUploads, p.bytesH2D]),
    );
    expect(r.policies.find((p) => p.policy === 'none')!.hits).toBe(0);
    expect(r.policies.find((p) => p.policy === 'belady')!.hits).toBeGreaterThanOrEqual(r.policies[0].hits);
  });

  it('prefetching policies upload ahead of the gate on the device: the exact pre-gate turns misses into hits', () => {
    const lru = r.policies.find((p) => p.label === 'lru, 2/layer')!;
    const pregated = r.policies.find((p) => p.label === 'pregated')!;
    const expertflow = r.policies.find((p) => p.label === 'expertflow')!;
    expect(lru.prefetchUploads).toBe(0);
    // An exact pre-gate with room for a whole layer's union: every MoE layer after the first hits.
    expect(pregated.prefetchUploads).toBeGreaterThan(0);
    expect(pregated.hits).toBeGreaterThan(lru.hits);
    const after0 = pregated.perLayerAccesses.slice(1).reduce((a, b) => a + b, 0);
    expect(pregated.perLayerHits.slice(1).reduce((a, b) => a + b, 0)).toBe(after0);
    // A 70% path oracle: some prefetches are late (queued at the start of the pass), some wasted.
    expect(expertflow.prefetchUploads).toBeGreaterThan(0);
    expect(expertflow.lateHits).toBeGreaterThan(0);
    // The device holds the cache and a step's staging copies, no more.
    for (const p of r.policies) expect(p.peakDeviceExperts).toBeLessThanOrEqual(Math.max(0, p.capacityExperts) + 2);
  });

  it('prints a table with the measured figures', () => {
    const text = formatReplay(r, { scenario: 'tiny', scaledDescription: 'x', warnings: [] });
    expect(text).toMatch(/^policy\s+hit rate\s+hits\s+late\s+misses\s+prefetched\s+uploaded MiB\s+TTFT ms\s+TPOT ms/m);
    expect(text).toContain('lru-global');
    expect(text).toContain('2 warm-up steps untimed');
  });
});

describe('validate on the CPU backend', () => {
  let v: ValidateResult;
  beforeAll(async () => {
    const setup = await setupReplay({ scenarioFile: write('tiny-v.yaml', tinyScenario(POLICIES)), backend: 'cpu', policies: ['0', 'lru-global', 'static', 'none', 'expertflow'], ...TINY });
    try {
      v = await validate(setup, { profile: await readProfile(PROFILE), profileFile: PROFILE, warmupSteps: 2, repeats: 2 });
    } finally {
      await setup.backend.close();
    }
  }, 60_000);

  it('reports, per policy, simulated and measured figures with the error; counts identical', () => {
    expect(v.policies.map((p) => p.label)).toEqual(['lru, 2/layer', 'lru-global', 'static, 3/layer', 'none', 'expertflow']);
    for (const p of v.policies) {
      const metrics = p.rows.map((r) => r.metric);
      const prefetching = p.label === 'expertflow' ? ['late hits', 'prefetch uploads'] : [];
      const onCore = p.passes.onCoreTpotMs ? ['TPOT mean on a core'] : [];
      expect(metrics).toEqual(['TPOT mean', ...onCore, 'TPOT p50', 'TTFT mean', 'time per step', 'upload time per step', 'expert time per step', 'bytes moved', 'hits', ...prefetching, 'hit rate']);
      for (const row of p.rows) {
        if (row.exact) expect(row.simulated).toBe(row.measured);
        else {
          expect(row.simulated).toBeGreaterThan(row.metric.startsWith('upload') && p.policy === 'static' ? -1 : 0);
          expect(row.error).toBeCloseTo((row.simulated - row.measured) / row.measured, 12);
        }
      }
      expect(p.simulatedStepSec).toHaveLength(32);
      expect(p.measuredStepSec).toHaveLength(32);
    }
    // Timing noise is not asserted (a shared 2-core VM); the error figures exist and are finite.
    for (const e of tpotErrors(v)) expect(Number.isFinite(e.error)).toBe(true);
  });

  it('re-measures the profile\'s key points on the real backend before the first pass and after each, and reports the error per pass', () => {
    // The replayed expert (32x64) is below every calibrated shape: the smallest one-token run, the smallest upload.
    expect(v.drift.interleaved).toBe(true);
    expect(v.drift.points.map((p) => p.label)).toEqual(['expert 128x352, 1 token', 'upload 64 KiB']);
    expect(v.drift.probes.map((p) => p.boundary)).toEqual(Array.from({ length: 11 }, (_, i) => i));
    for (const p of v.drift.probes) {
      expect(p.medianSec.every((t) => t > 0)).toBe(true);
      expect(p.expertRatio).toBeCloseTo(p.medianSec[0] / v.drift.points[0].profileSec, 12);
      expect(p.uploadRatio).toBeCloseTo(p.medianSec[1] / v.drift.points[1].profileSec, 12);
    }
    expect(v.drift.expertRatio!.n).toBe(11);
    for (const p of v.policies) {
      expect(p.passes.order).toHaveLength(2);
      expect(p.passes.tpotErrorSpread.n).toBe(2);
      expect(p.passes.tpotError.every(Number.isFinite)).toBe(true);
    }
    // On Linux the replaying thread's waits for a core are measured: the time on a core is at most the wall time
    // (up to rounding: TPOT takes differences of cumulative step times, so with no waits the two can differ in the last bit).
    if (v.policies[0].passes.waitShare) {
      for (const p of v.policies) {
        p.passes.onCoreTpotMs!.forEach((t, k) => expect(t).toBeLessThanOrEqual(p.passes.measuredTpotMs[k] * (1 + 1e-12)));
        expect(p.passes.waitShare!.every((w) => w >= 0 && w < 1)).toBe(true);
      }
    }
    // Passes ran round-robin: pass 1 of each of the 5 policies, then pass 2 of each.
    expect(v.policies.map((p) => p.passes.order)).toEqual([[0, 5], [1, 6], [2, 7], [3, 8], [4, 9]]);
  });

  it('prints the comparison and renders a self-contained HTML report', () => {
    const text = formatValidation(v);
    expect(text).toMatch(/^metric\s+simulated\s+measured\s+error$/m);
    expect(text).toMatch(/^hits\s+\d+\s+\d+\s+identical$/m);
    expect(text).toMatch(/^TPOT mean \(ms\)\s+[\d.]+\s+[\d.]+\s+[+-][\d.]+%$/m);
    expect(text).toContain('TPOT mean error: lru, 2/layer ');
    const html = renderValidationHtml(v, { vega: '/*vega*/', vegaLite: '/*vl*/', vegaEmbed: '/*embed*/' });
    for (const id of ['errors', 'per-step', 'scatter', 'residuals', 'per-layer']) expect(html).toContain(`id="chart-${id}"`);
    expect(html).toContain('/*vega*/');
    expect(html).not.toMatch(/<script src=/);
  });
});

describe('validate on WebGPU', () => {
  it('replays and simulates through the WebGPU EP (software adapter in CI)', async (ctx) => {
    const probe = await probeWebGpu();
    if (!probe.ok) {
      console.warn(`SKIPPED WebGPU validate: ${probe.reason ?? '?'}`);
      ctx.skip(`WebGPU unavailable: ${probe.reason ?? '?'}`);
    }
    const profile = await readProfile(PROFILE);
    const setup = await setupReplay({ scenarioFile: write('tiny-g.yaml', tinyScenario(POLICIES)), backend: 'webgpu', policies: ['0', 'none', 'pregated'], maxTokens: 12, ...TINY });
    let v: ValidateResult;
    try {
      // A CPU profile stands in for a WebGPU one (the structure is under test, not the figures).
      v = await validate(setup, { profile: { ...profile, backend: 'webgpu' }, profileFile: 'cpu-as-webgpu', warmupSteps: 1, repeats: 1 });
    } finally {
      await setup.backend.close();
    }
    expect(v.backend.name).toBe('webgpu');
    expect(v.trace.steps).toBe(12);
    for (const p of v.policies) for (const row of p.rows.filter((x) => x.exact)) expect(row.simulated).toBe(row.measured);
  }, 120_000);
});

describe('bad input', () => {
  const scenario = () => write('bad.yaml', tinyScenario(POLICIES));
  const err = async (p: Promise<unknown>): Promise<string> => {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(InputError);
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  };

  it('an unknown backend names the available ones', async () => {
    expect(await err(setupReplay({ scenarioFile: scenario(), backend: 'cuda' }))).toBe('unknown backend "cuda"; expected one of: cpu, webgpu');
  });

  it('an unavailable WebGPU says why and what is available', async () => {
    const m = await err(
      setupReplay({
        scenarioFile: scenario(),
        backend: 'webgpu',
        ...TINY,
        backendOptions: { probeEnv: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' } },
      }),
    );
    expect(m).toMatch(/^backend "webgpu" is not available: .+; available backends: cpu$/);
  }, 60_000);

  it('a scaled model that does not fit says how large it would be', async () => {
    const m = await err(setupReplay({ scenarioFile: scenario(), backend: 'cpu', scale: { hiddenSize: 4096, intermediateSize: 14336 } }));
    expect(m).toBe(
      'model mixtral-8x7b+overrides scaled to hidden 4096, expert intermediate 14336 (fp32) needs 21.00 GiB of host memory for its 32 experts (672.0 MiB each), more than the host budget of 1.00 GiB; expected a larger --scale, smaller --hidden/--intermediate, or a larger --host-budget-gib',
    );
    const d = await err(setupReplay({ scenarioFile: scenario(), backend: 'cpu', scale: { scale: 8, deviceBudgetBytes: 2 ** 20 } }));
    expect(d).toMatch(/^model mixtral-8x7b\+overrides scaled to hidden 512, expert intermediate 1792 \(fp32\) needs [\d.]+ MiB of device memory for 14 resident experts \(10\.5 MiB each\), more than the device budget of 1\.0 MiB/);
  });

  it('even the smallest shape can be too large for a budget', () => {
    expect(() => scaleModel(modelPresets['mixtral-8x7b'], { hostBudgetBytes: 1000 }, 1)).toThrow(/needs [\d.]+ MiB of host memory for its 256 experts .* expected a larger --host-budget-gib$/);
  });

  it('the default shape keeps the model\'s ratio and fits the budgets', () => {
    const s = scaleModel(modelPresets['mixtral-8x7b'], {}, 129);
    expect(s.hostBytes).toBeLessThanOrEqual(2 ** 30);
    expect(s.shape.hiddenSize % 16).toBe(0);
    expect(s.shape.intermediateSize / s.shape.hiddenSize).toBeCloseTo(14336 / 4096, 1);
    expect(scaleModel(modelPresets['mixtral-8x7b'], {}, 129).shape).toEqual(s.shape);
  });

  it('a trace whose expert ids exceed the model is refused, naming the id and the model\'s range', async () => {
    const trace = write('wide.jsonl', [0, 1].map((t) => JSON.stringify({ layer: 0, token_idx: t, experts: [1, 9] })).join('\n') + '\n');
    const f = write(
      'wide.yaml',
      `name: wide\nmodel: { preset: mixtral-8x7b, numLayers: 1, moeLayers: [0] }\nhardware: rtx-4090\ntrace: { path: ${JSON.stringify(trace)} }\npolicies: [{ kind: lru, cache: { perLayer: 2 } }]\n`,
    );
    expect(await err(setupReplay({ scenarioFile: f, backend: 'cpu', ...TINY }))).toMatch(/wide\.jsonl:1: "experts"\[1\]: expert id 9 is beyond the scenario's model, which has experts 0\.\.7/);
  });

  it('a policy that computes misses on the CPU while prefetching is refused, by name (no single order to execute)', async () => {
    const f = write('pf.yaml', tinyScenario(`
  - { kind: static, cache: { perLayer: 2 }, onMiss: { kind: cpu } }
  - { kind: lru, cache: { perLayer: 2 }, prefetch: { kind: pregated }, onMiss: { kind: cpu } }`));
    expect(await err(setupReplay({ scenarioFile: f, backend: 'cpu', ...TINY }))).toMatch(/policies\[1\]\.onMiss: replay and validate execute cpu on a miss without prefetching/);
    const ok = await setupReplay({ scenarioFile: f, backend: 'cpu', policies: ['0'], ...TINY });
    expect(ok.policies).toEqual([0]);
    await ok.backend.close();
  });

  it('an unknown --policy lists the scenario\'s policies', async () => {
    expect(await err(setupReplay({ scenarioFile: scenario(), backend: 'cpu', policies: ['arc'], ...TINY }))).toMatch(/^--policy arc: no such policy in .*bad\.yaml; it has 0: "lru, 2\/layer", 1: "lfu, 2\/layer", 2: "static, 3\/layer", 3: "belady, 2\/layer", 4: "lru-global", 5: "none", 6: "pregated", 7: "expertflow"$/);
  });
});

describe('moesim validate (CLI)', () => {
  it('prints the comparison, writes the report, and refuses a profile of another backend', () => {
    const f = write('cli.yaml', tinyScenario(POLICIES));
    const out = join(dir, 'report');
    // By its label as printed ('lru' alone names four policies here, and is refused).
    const two = moesim(['validate', f, '--policy', 'lru', '--hidden', '32', '--profile', PROFILE, '--no-report']);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/--policy lru: 4 policies are lru; name one by label or index/);
    const r = moesim(['validate', f, '--policy', 'lru, 2/layer', '--hidden', '32', '--intermediate', '64', '--profile', PROFILE, '--repeats', '1', '--warmup-steps', '1', '--report-dir', out]);
    expect(r.stderr).toContain(`wrote ${join(out, 'index.html')}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^lru, 2\/layer$/m);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('vegaEmbed(');
    expect(JSON.parse(readFileSync(join(out, 'validate.json'), 'utf8')).policies[0].rows[0].metric).toBe('TPOT mean');

    const gpuProfile = write('webgpu-profile.json', JSON.stringify({ ...JSON.parse(readFileSync(PROFILE, 'utf8')), backend: 'webgpu' }));
    const bad = moesim(['validate', f, '--hidden', '32', '--profile', gpuProfile, '--no-report']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/webgpu-profile\.json: calibrated on backend webgpu, but validating on cpu; run moesim calibrate --backend cpu/);

    const missing = moesim(['validate', f, '--hidden', '32', '--no-report'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read calibration profile: no such file or folder; run moesim calibrate --backend cpu first, or give --profile/);
  }, 60_000);

  it('moesim replay prints the measured table', () => {
    const f = write('cli-r.yaml', tinyScenario(POLICIES));
    const r = moesim(['replay', f, '--policy', 'none', '--hidden', '32', '--intermediate', '64', '--repeats', '1', '--warmup-steps', '0', '--max-tokens', '6']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^none\s+0\.0%\s+0\s+\d+/m);
    expect(r.stdout).toContain('trace: 6 tokens in 1 sequence, 6 steps');
  }, 60_000);
});
