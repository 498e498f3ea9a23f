import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { simulateEp } from '../../src/parallel/ep-sim.js';
import { EpServingSteps } from '../../src/parallel/serving.js';
import { runParallelScenario } from '../../src/parallel/run.js';
import { parallelTable } from '../../src/parallel/table.js';
import { roundRobinPlacement } from '../../src/parallel/placement/round-robin.js';
import { CollectiveCosts } from '../../src/timing/collectives.js';
import { newCounters } from '../../src/metrics/counters.js';
import { summarizeServing } from '../../src/metrics/serving.js';
import { planServing, servingSource } from '../../src/workload/plan.js';
import { servingWorkloadSchema } from '../../src/workload/schema.js';
import { createRng } from '../../src/rng/rng.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import { loadTrace } from '../../src/trace/load.js';
import type { Trace } from '../../src/trace/types.js';
import { roundCosts, slowLink, traceOf } from './helpers.js';

const ROOT = join(import.meta.dirname, '../..');

/**
 * The EP run trains its placement on the first token(s): a one-token training sequence is put in
 * front, so its evaluation part is exactly the trace the single-GPU run serves from.
 */
function pad(t: Trace): Trace {
  const row = t.numLayers * t.topK;
  const experts = new Uint16Array(t.experts.length + row);
  experts.set(t.experts.subarray(0, row));
  experts.set(t.experts, row);
  return { ...t, tokens: t.tokens + 1, experts, sequences: [{ id: 'train', start: 0, length: 1 }, ...t.sequences.map((s) => ({ ...s, start: s.start + 1 }))] };
}

/** TTFT and TPOT mean, p50 and p99 equal to 9 digits. */
function expectSameLatencies(a: { ttftMs: Record<'mean' | 'p50' | 'p99', number>; tpotMs: Record<'mean' | 'p50' | 'p99', number> }, b: typeof a): void {
  for (const k of ['mean', 'p50', 'p99'] as const) {
    expect(a.ttftMs[k]).toBeCloseTo(b.ttftMs[k], 9);
    expect(a.tpotMs[k]).toBeCloseTo(b.tpotMs[k], 9);
  }
}

describe('serving on several GPUs', () => {
  test('two GPUs, two requests: TTFT and TPOT from the EP step costs, checked by hand', () => {
    // Two experts, one MoE layer, top-1; round-robin: expert 0 on GPU 0, expert 1 on GPU 1.
    // Request 0 = sequence a (tokens 0-2), request 1 = sequence b (tokens 3-5): prompt 2, output 2.
    const trace: Trace = { ...traceOf(2, 1, [[[0]], [[0]], [[1]], [[1]], [[1]], [[1]]]), sequences: [{ id: 'a', start: 0, length: 3 }, { id: 'b', start: 3, length: 3 }] };
    const w = servingWorkloadSchema.parse({ kind: 'serving', requests: 2, arrivals: { kind: 'closed', users: 2 }, maxBatchSize: 2, promptTokens: 2, outputTokens: 2 });
    const rng = createRng(1);
    const plan = planServing(trace, w, rng.fork('workload'), '1', []);
    const source = servingSource(plan, trace, 2, 0, undefined, rng.fork('workload'));
    const counters = newCounters(1, 2);
    const collectives = new CollectiveCosts({ gpus: 2, gpusPerNode: 2, intra: slowLink, inter: slowLink }, 'direct');
    const r = simulateEp({ trace, steps: new EpServingSteps(source, counters), plan: { placement: roundRobinPlacement(2, 1, 2), note: '' }, costs: roundCosts, collectives, attention: 'data', timelineSteps: 0 });
    // Prefill pass, tokens [0, 1, 3, 4] on GPUs [0, 1, 0, 1]: attention 2 tokens x 1 s = 2 s on each;
    // token 1 goes to GPU 0 (expert 0), token 3 to GPU 1 (expert 1): 100 B each way, 1 s + 1 s = 2 s (t = 4);
    // each GPU runs its expert on 2 tokens, 4 s (t = 8); the combine, 2 s (t = 10). Both first outputs at 10 s.
    // Decode, tokens [2, 5] on GPUs [0, 1]: attention 1 s (t = 11); token 2 to GPU 1, 2 s (t = 13);
    // expert 1 on 2 tokens, 4 s (t = 17); combine 2 s (t = 19): the second outputs, 9 s after the first.
    expect(r.stepSec).toEqual([10, 9]);
    counters.makespanSec = r.totalSec;
    const m = summarizeServing(counters, { table: plan.table, source, waitBound: plan.maxWaitSteps[0] });
    expect(m.completed).toBe(2);
    expect(m.ttftMs).toMatchObject({ mean: 10_000, p50: 10_000, p99: 10_000 });
    expect(m.tpotMs).toMatchObject({ mean: 9_000, p50: 9_000, p99: 9_000 });
    expect(m.throughputTokensPerSec).toBeCloseTo(4 / 19, 12);
    expect(m.prefillPasses).toBe(1);
    expect(m.decodeMicroBatches).toBe(1);
    // The prefill's all-to-all carried both crossing prompt tokens, the decode's one token: 200 + 200 + 100 + 100 bytes.
    expect(r.layers[0].collectiveBytes).toBe(600);
  });

  test("the LM head runs on the prompts' last tokens in a prefill pass, on every token in decode", () => {
    // The case above with a tail of 3 s per output: the prompts' last tokens (1 and 4) are both on GPU 1.
    const trace: Trace = { ...traceOf(2, 1, [[[0]], [[0]], [[1]], [[1]], [[1]], [[1]]]), sequences: [{ id: 'a', start: 0, length: 3 }, { id: 'b', start: 3, length: 3 }] };
    const w = servingWorkloadSchema.parse({ kind: 'serving', requests: 2, arrivals: { kind: 'closed', users: 2 }, maxBatchSize: 2, promptTokens: 2, outputTokens: 2 });
    const rng = createRng(1);
    const plan = planServing(trace, w, rng.fork('workload'), '1', []);
    const source = servingSource(plan, trace, 2, 0, undefined, rng.fork('workload'));
    const collectives = new CollectiveCosts({ gpus: 2, gpusPerNode: 2, intra: slowLink, inter: slowLink }, 'direct');
    const costs = { ...roundCosts, tailSec: (_n: number, _c: number, outputs: number) => 3 * outputs };
    const r = simulateEp({ trace, steps: new EpServingSteps(source, newCounters(1, 2)), plan: { placement: roundRobinPlacement(2, 1, 2), note: '' }, costs, collectives, attention: 'data', timelineSteps: 2 });
    const tails = r.timeline.filter((s) => s.kind === 'tail').map((s) => [s.step, s.gpu, s.endSec - s.startSec]);
    // Prefill: GPU 0 holds tokens 0 and 3 (no output), GPU 1 tokens 1 and 4 (both outputs); decode: one output on each.
    expect(tails).toEqual([
      [0, 1, 6],
      [1, 0, 3],
      [1, 1, 3],
    ]);
    expect(r.stepSec).toEqual([16, 12]);
  });

  test('the shipped serving scenario: every placement in one table, TTFT/TPOT percentiles ordered, every request served', async () => {
    const { scenario, baseDir, file } = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-serving.yaml'));
    const r = await runParallelScenario(scenario, { baseDir, file });
    expect(r.runs.map((x) => x.placement)).toEqual(['round-robin', 'eplb', 'exflow', 'moetuner', 'lina']);
    for (const x of r.runs) {
      const s = x.serving!;
      expect(s.completed).toBe(s.requests);
      expect(s.ttftMs.p99).toBeGreaterThanOrEqual(s.ttftMs.p50);
      expect(s.tpotMs.p99).toBeGreaterThanOrEqual(s.tpotMs.p50);
      expect(x.tpotMeanMs).toBe(s.tpotMs.mean);
      // A request starts after it arrives; its first output ends a step that started with it.
      for (const q of s.perRequest) {
        expect(q.startMs).toBeGreaterThanOrEqual(q.arrivalMs);
        expect(q.firstTokenMs).toBeGreaterThan(q.startMs);
        expect(q.lastTokenMs).toBeGreaterThanOrEqual(q.firstTokenMs);
      }
    }
    const table = parallelTable(r);
    expect(table).toContain('TTFT ms');
    expect(table).toContain('moetuner | all-on-gpu');
  }, 120_000);

  test('with one GPU the expert-parallel path serves the same requests in the same times as the single-GPU simulator', async () => {
    const { scenario, baseDir, file } = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-serving.yaml'));
    const one = { ...scenario, parallel: { ...scenario.parallel!, gpus: 1, train: { fraction: 0.001 }, placements: [{ kind: 'round-robin' as const }] } };
    const ep = await runParallelScenario(one, { baseDir, file, loadTrace: async (...a) => pad(await loadTrace(...a)) });
    const { parallel: _, ...single } = scenario;
    const sg = await runScenario(single, { baseDir, file });
    const a = ep.runs[0].serving!;
    const b = sg.results[0].serving!;
    expect(a.prefillPasses).toBe(b.prefillPasses);
    expect(a.decodeMicroBatches).toBe(b.decodeMicroBatches);
    expectSameLatencies(a, b);
    expect(a.throughputTokensPerSec).toBeCloseTo(b.throughputTokensPerSec, 9);
    expect(a.ttftMs.mean).toBeGreaterThan(0);
  }, 120_000);

  test('cache policies the expert-parallel world does not run are refused in one line naming the field', async () => {
    const base = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-serving.yaml')).raw as Record<string, unknown>;
    const run = (policies: unknown) => runParallelScenario(parseScenario({ ...base, policies }, 'x.yaml'), { baseDir: join(ROOT, 'scenarios') });
    await expect(run([{ kind: 'belady', cache: { perLayer: 2 } }])).rejects.toThrow(/^policies\[0\]\.kind: belady is not supported with parallel:/);
  });

  test('prefill streaming runs with parallel: and per-GPU caches; every request served, the streamed and wasted bytes reported', async () => {
    const { raw, baseDir, file } = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-serving.yaml'));
    const r0 = raw as Record<string, Record<string, unknown>>;
    const sc = (streaming: boolean) =>
      parseScenario({ ...r0, policies: [{ kind: 'lru', cache: { perLayer: 2 } }], workload: { ...r0.workload, requests: 12, prefill: { streaming } }, parallel: { ...r0.parallel, placements: [{ kind: 'round-robin' }] } }, file);
    const on = await runParallelScenario(sc(true), { baseDir, file });
    const off = await runParallelScenario(sc(false), { baseDir, file });
    const x = on.runs[0];
    expect(x.serving!.completed).toBe(x.serving!.requests);
    expect(x.streaming!.streamedSteps).toBe(x.serving!.prefillPasses);
    expect(x.streaming!.streamedBytes).toBeGreaterThan(0);
    expect(x.streaming!.wastedBytes).toBeLessThanOrEqual(x.streaming!.streamedBytes);
    expect(off.runs[0].streaming).toBeUndefined();
    // Streamed experts are fetched ahead of the router: the prefill passes wait less for weights.
    expect(x.serving!.ttftMs.mean).toBeLessThan(off.runs[0].serving!.ttftMs.mean);
  }, 120_000);

  test("a scheduler's routing predictor runs with parallel: at one GPU it serves as the single-GPU simulator does", async () => {
    const { raw, baseDir, file } = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-serving.yaml'));
    const r0 = raw as Record<string, Record<string, unknown>>;
    const withPred = parseScenario({ ...r0, workload: { ...r0.workload, microBatchSize: 4, schedulers: [{ kind: 'expertflow', predictor: { kind: 'path' } }] } }, file);
    const scenario = withPred;
    const one = { ...withPred, parallel: { ...scenario.parallel!, gpus: 1, train: { fraction: 0.001 }, placements: [{ kind: 'round-robin' as const }] } };
    const ep = await runParallelScenario(one, { baseDir, file, loadTrace: async (...a) => pad(await loadTrace(...a)) });
    const { parallel: _, ...single } = withPred;
    const sg = await runScenario(single, { baseDir, file });
    const a = ep.runs[0].serving!;
    const b = sg.results[0].serving!;
    expect(a.completed).toBe(a.requests);
    expect(a.decodeMicroBatches).toBe(b.decodeMicroBatches);
    expectSameLatencies(a, b);
    // The predictor is used: the same scheduler reading the trace's routing instead serves differently.
    const truth = parseScenario({ ...r0, workload: { ...r0.workload, microBatchSize: 4, schedulers: [{ kind: 'expertflow' }] } }, file);
    const epTruth = await runParallelScenario({ ...truth, parallel: one.parallel }, { baseDir, file, loadTrace: async (...a) => pad(await loadTrace(...a)) });
    expect(JSON.stringify(epTruth.runs[0].serving!.ttftMs)).not.toBe(JSON.stringify(a.ttftMs));
    // And on the shipped 2-GPU scenario it runs beside the predictor-less scheduler.
    const two = await runParallelScenario({ ...withPred, parallel: { ...scenario.parallel!, placements: [{ kind: 'round-robin' as const }] } }, { baseDir, file });
    expect(two.runs[0].serving!.completed).toBe(two.runs[0].serving!.requests);
  }, 120_000);
});
