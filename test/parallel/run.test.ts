import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { decodeSteps, prefillSteps, top1Hops, runParallelScenario } from '../../src/parallel/run.js';
import { kvReadTokens } from '../../src/timing/roofline.js';
import { parallelTable } from '../../src/parallel/table.js';
import { parallelCharts } from '../../src/report/parallel.js';
import { expandSweep } from '../../src/sweep/expand.js';
import { traceOf } from './helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const scenarioFiles = readdirSync(join(ROOT, 'scenarios')).filter((f) => f.startsWith('parallel-') && f.endsWith('.yaml'));

describe('several-GPU scenarios', () => {
  test('every parallel scenario parses and is run from the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(scenarioFiles.length).toBeGreaterThanOrEqual(5);
    for (const f of scenarioFiles) {
      const { scenario } = loadScenarioFile(join(ROOT, 'scenarios', f));
      expect(scenario.parallel, f).toBeDefined();
      expect(readme, f).toContain(`moesim run scenarios/${f}`);
    }
  });

  test('golden: Mixtral-8x7B on 2x A100 (NVLink bridge), every placement, byte-identical on a second run', async () => {
    const { scenario, baseDir, file } = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-2gpu.yaml'));
    const r = await runParallelScenario(scenario, { baseDir, file });
    const summary = r.runs.map((x) => [x.label, x.tpotMeanMs.toFixed(3), x.meanImbalance.toFixed(3), (x.crossFraction * 100).toFixed(1), x.migrations]);
    expect(summary).toEqual([
      ['round-robin | all-on-gpu', '26.585', '1.073', '21.4', 0],
      ['eplb +1/GPU | all-on-gpu', '30.818', '1.086', '21.9', 0],
      ['exflow | all-on-gpu', '26.551', '1.071', '18.7', 0],
      ['moetuner | all-on-gpu', '26.533', '1.070', '19.8', 0],
      ['lina /4 steps | all-on-gpu', '36.026', '1.068', '20.6', 178],
    ]);
    expect(r.trace).toMatchObject({ tokens: 338, trainTokens: 169, evalTokens: 169 });
    for (const x of r.runs) {
      // The slowest GPU ends every layer: no GPU is busy longer than the run.
      for (const g of x.gpus) expect(g.busySec).toBeLessThanOrEqual(x.totalSec);
      if (x.objective && x.placement === 'moetuner') expect(x.objective.trainSec).toBeLessThanOrEqual(x.objective.roundRobinTrainSec);
    }
    const table = parallelTable(r);
    expect(table).toContain('moetuner | all-on-gpu');
    // Per-GPU busy and expert time per step, printed (not only in --json).
    expect(table).toContain('per-GPU busy ms/step (expert ms/step), GPU 0..1:\n  round-robin | all-on-gpu    25.083 (22.262)  24.826 (22.006)\n');
    expect(parallelCharts(r).map((c) => c.id)).toEqual(['tpot', 'imbalance', 'traffic', 'cross']);
    const again = await runParallelScenario(scenario, { baseDir, file });
    expect(JSON.stringify(again)).toBe(JSON.stringify(r));
  }, 120_000);

  test("top1Hops is ExFlow's calculate_cost: top-1 GPU changes per token, scaled to L - 1 transitions", () => {
    // 3 layers, 2 experts on 2 GPUs (expert e on GPU e). Token 0: top-1 0 -> 1 -> 1 (one change of 2);
    // token 1: 1 -> absent -> 0 (no transition with both present: skipped); token 2: 0 -> 0 -> 1 (one change).
    const t = traceOf(2, 2, [[[0, 1], [1, 0], [1, 0]], [[1, 0], [], [0, 1]], [[0, 1], [0, 1], [1, 0]]]);
    const owner = [0, 1, 0, 1, 0, 1];
    expect(top1Hops(t, { from: 0, to: 3 }, owner)).toBe(1);
    // Layer 1's experts both on GPU 1, layer 2's expert 1 on GPU 0: tokens 0 and 2 change GPU at both transitions.
    expect(top1Hops(t, { from: 0, to: 3 }, [0, 1, 1, 1, 1, 0])).toBe(2);
    expect(top1Hops(t, { from: 0, to: 3 }, [0, 0, 0, 0, 0, 0])).toBe(0);
  });

  test('bad input: one line naming the field', () => {
    const base = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-2gpu.yaml')).raw as Record<string, unknown>;
    const bad = (p: unknown) => () => parseScenario({ ...base, parallel: { ...(base.parallel as object), ...(p as object) } }, 'x.yaml');
    expect(bad({ machine: 'dgx-h1000' })).toThrow(/parallel\.machine.*unknown machine "dgx-h1000"; expected one of/);
    expect(bad({ placements: [{ kind: 'exflw' }] })).toThrow(/parallel\.placements\[0\]/);
  });

  test("host memory is checked per node: an offloading cache keeps its node's experts in host DRAM (issue 16)", async () => {
    const { raw, baseDir, file } = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-2gpu.yaml'));
    const base = raw as Record<string, unknown>;
    // Mixtral-8x7B bf16: 256 experts of 336 MiB (84 GiB); 4 GPUs in nodes of 2 (a100-2x-nvlink), round-robin: 128 per node (42 GiB).
    const run = (gpus: number, memoryGiB: number, kind = 'round-robin') =>
      runParallelScenario(
        parseScenario(
          {
            ...base,
            hardware: { preset: 'a100-80gb', cpu: { memoryGiB } },
            workload: { batchSize: 4, promptTokens: 0 },
            policies: [{ kind: 'lru', cache: { perLayer: 1 } }],
            parallel: { ...(base.parallel as object), gpus, nodes: gpus / 2, placements: [kind === 'lina' ? { kind, intervalSteps: 4 } : { kind }] },
          },
          file,
        ),
        { baseDir, file },
      );
    await expect(run(2, 64)).rejects.toThrow(/^hardware\.cpu\.memoryGiB: policies\[0\] \(lru\) with placement round-robin keeps 256 experts \(84\.00 GiB\) in node 0's host memory, more than the 64\.00 GiB of DRAM/);
    await expect(run(4, 32)).rejects.toThrow(/keeps 128 experts \(42\.00 GiB\) in node 0's host memory, more than the 32\.00 GiB/);
    // A dynamic placement may move any expert to any GPU: each node keeps all of them.
    await expect(run(4, 64, 'lina')).rejects.toThrow(/placement lina \/4 steps keeps 256 experts \(84\.00 GiB\) in node 0's/);
    expect((await run(4, 64)).runs).toHaveLength(1);
  }, 120_000);

  test('a sweep of a several-GPU scenario is refused in one line (the sweep runner simulates one GPU)', () => {
    const raw = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-2gpu.yaml')).raw as Record<string, unknown>;
    expect(() => expandSweep({ ...raw, sweep: { grid: { 'workload.batchSize': [8, 16] } } }, { file: 'p.yaml' })).toThrow(/^p\.yaml: parallel: several GPUs are not swept yet/);
  });

  test('prefill steps: decode tokens as prefill chunks (KV read by query tile), each trace token `copies` times', () => {
    // Two sequences of 200 and 100 tokens, one layer; steps of 250 tokens: [0, 250) spans both sequences, [250, 300) the rest of the second.
    const routes = Array.from({ length: 300 }, (_, t) => [[t % 4]]);
    const t = traceOf(4, 1, routes);
    t.sequences = [{ id: 'a', start: 0, length: 200 }, { id: 'b', start: 200, length: 100 }];
    const one = prefillSteps(t, 0, 300, 250, 10, 1);
    const dec = decodeSteps(t, 0, 300, 250, 10);
    expect(one.map((s) => [...s.tokens])).toEqual(dec.map((s) => [...s.tokens]));
    expect(one.map((s) => [...s.context])).toEqual(dec.map((s) => [...s.context]));
    expect(one.every((s) => s.prefill === true && s.splitKey === undefined)).toBe(true);
    // KV reads: chunk a (200 tokens after 10 cached), chunk b (its first 50 after 10), then b's last 50 after 10 + 50.
    const sum = (xs: Float64Array) => xs.reduce((x, y) => x + y, 0);
    expect(sum(one[0].kv)).toBeCloseTo(kvReadTokens(10, 200) + kvReadTokens(10, 50), 9);
    expect(sum(one[1].kv)).toBeCloseTo(kvReadTokens(60, 50), 9);
    // Far less than decode's per-token context reads of the same tokens.
    expect(sum(one[0].kv)).toBeLessThan(sum(dec[0].kv) / 2);
    // The LM head runs where a chunk completes its sequence: a's last token (199), b's (299, in the second pass); not b's first chunk.
    const emitting = (s: { emits?: Uint8Array }) => [...s.emits!.entries()].filter(([, v]) => v === 1).map(([i]) => i);
    expect(one.map(emitting)).toEqual([[199], [49]]);

    const three = prefillSteps(t, 0, 300, 250, 10, 3);
    expect(three.map((s) => s.tokens.length)).toEqual([750, 150]);
    for (const [j, s] of three.entries()) {
      const n = one[j].tokens.length;
      for (let c = 0; c < 3; c++) {
        expect([...s.tokens.subarray(c * n, (c + 1) * n)]).toEqual([...one[j].tokens]);
        expect([...s.kv.subarray(c * n, (c + 1) * n)]).toEqual([...one[j].kv]);
      }
      // Every copy of an emitting token emits.
      expect(emitting(s)).toEqual([0, 1, 2].flatMap((c) => emitting(one[j]).map((i) => c * n + i)));
      // Split keys t x copies + c: distinct within the step, consecutive over a token's copies.
      expect(new Set(s.splitKey).size).toBe(s.tokens.length);
      expect(s.splitKey![n] - s.splitKey![0]).toBe(1);
    }
  });

  test('parallel.prefill on a scenario: the step is batchSize x copies tokens, copies scale the collective bytes; refused with serving', async () => {
    const raw = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-2gpu.yaml')).raw as Record<string, unknown>;
    const { baseDir, file } = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-2gpu.yaml'));
    const with_ = (copies: number) =>
      parseScenario({ ...raw, workload: { batchSize: 169, promptTokens: 0 }, parallel: { ...(raw.parallel as object), placements: [{ kind: 'contiguous' }], prefill: { copies } } }, 'x.yaml');
    const [a, b] = [await runParallelScenario(with_(1), { baseDir, file }), await runParallelScenario(with_(4), { baseDir, file })];
    expect([a.batchTokens, b.batchTokens]).toEqual([169, 676]);
    expect(b.runs[0].tokens).toBe(4 * a.runs[0].tokens);
    // About 4x the bytes (not exactly: a copy's home GPU is its index in the step mod G, so the copies of a token start from different GPUs).
    expect(Math.abs(b.runs[0].collectiveBytes / (4 * a.runs[0].collectiveBytes) - 1)).toBeLessThan(0.01);
    expect(b.runs[0].crossFraction).toBeCloseTo(a.runs[0].crossFraction, 12);
    // Four times the tokens: longer steps, more tokens a second (the weights are read once a step).
    expect(b.runs[0].tpotMeanMs).toBeGreaterThan(a.runs[0].tpotMeanMs);
    expect(b.runs[0].throughputTokPerSec).toBeGreaterThan(a.runs[0].throughputTokPerSec);
    const serving = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-serving.yaml'));
    const bad = parseScenario({ ...(serving.raw as object), parallel: { ...((serving.raw as Record<string, unknown>).parallel as object), prefill: { copies: 2 } } }, 'x.yaml');
    await expect(runParallelScenario(bad, { baseDir: serving.baseDir, file: serving.file })).rejects.toThrow(/^parallel\.prefill: applies to batch workloads/);
    expect(() => parseScenario({ ...raw, parallel: { ...(raw.parallel as object), prefill: { copies: 0 } } }, 'x.yaml')).toThrow(/parallel\.prefill\.copies/);
  }, 120_000);

  test('train.inSample: the placement is evaluated on its own training tokens (its evaluation objective is its training one); refused with serving', async () => {
    const { raw, baseDir, file } = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-2gpu.yaml'));
    const rawP = raw as Record<string, Record<string, unknown>>;
    const sc = (inSample: boolean) => parseScenario({ ...rawP, parallel: { ...rawP.parallel, placements: [{ kind: 'moetuner', program: 'per-layer' }], train: { fraction: 0.5, inSample } } }, file);
    const [held, ins] = [await runParallelScenario(sc(false), { baseDir, file }), await runParallelScenario(sc(true), { baseDir, file })];
    expect(ins.inSample).toBe(true);
    expect(held.inSample).toBeUndefined();
    expect(ins.trace).toMatchObject({ trainTokens: 169, evalTokens: 169 });
    const [h, i] = [held.runs[0], ins.runs[0]];
    // In sample the evaluation objective is the training one; held out it is not.
    expect(i.objective!.evalSec).toBeCloseTo(i.objective!.trainSec, 12);
    expect(Math.abs(h.objective!.evalSec - h.objective!.trainSec)).toBeGreaterThan(1e-6);
    const serving = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-serving.yaml'));
    const sr = serving.raw as Record<string, Record<string, unknown>>;
    const bad = parseScenario({ ...sr, parallel: { ...sr.parallel, train: { fraction: 0.5, inSample: true } } }, 'x.yaml');
    await expect(runParallelScenario(bad, { baseDir: serving.baseDir, file: serving.file })).rejects.toThrow(/^parallel\.train\.inSample: applies to batch workloads/);
  }, 120_000);
});
