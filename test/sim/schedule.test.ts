import { describe, expect, it } from 'vitest';
import { linkCosts } from '../../src/timing/roofline.js';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { parseScenario } from '../../src/scenario/load.js';
import { createPolicyCache, policyOptions, prepareScenario, setupPolicyPredictors } from '../../src/sim/run.js';
import { OffloadSim, type StepCosts } from '../../src/sim/offload-sim.js';
import { OP_CANCEL, OP_COMPUTE, OP_GATE, OP_STAGE, OP_STEP_END, OP_UPLOAD, ScheduleLog } from '../../src/sim/schedule.js';

/** Every kind of decision a fetching policy makes: cache-only, prefetching with and without cancellation. */
const POLICIES = [
  '{ kind: lru, cache: { perLayer: 2 } }',
  '{ kind: lfu, cache: { experts: 7 } }',
  '{ kind: static, cache: { perLayer: 2 } }',
  '{ kind: belady, cache: { perLayer: 2 } }',
  '{ kind: none }',
  '{ kind: lru, cache: { perLayer: 2 }, prefetch: { kind: pregated, accuracy: 0.7 } }',
  '{ kind: lru, cache: { perLayer: 3 }, prefetch: { kind: expertflow }, predictor: { kind: oracle, precision: 0.6, recall: 0.6 } }',
  '{ kind: lfu, cache: { experts: 9 }, prefetch: { kind: speculative } }',
  '{ kind: lru, cache: { experts: 10 }, prefetch: { kind: moe-infinity } }',
];

const scenarioOf = (seed: number, batchSize: number) =>
  parseScenario({
    name: 'schedule',
    seed,
    model: { preset: 'mixtral-8x7b', numLayers: 4, moeLayers: [0, 1, 2, 3] },
    hardware: 'rtx-4090',
    workload: { batchSize, promptTokens: 0 },
    trace: { synthetic: { layers: 4, experts: 8, topK: 2, sequences: 3, tokensPerSequence: 10, popularity: { kind: 'zipf', exponent: 1 }, locality: 0.5 } },
    policies: POLICIES.map((p) => parseYaml(p) as unknown),
  });

/** A link that does not overlap compute; expert time and bandwidth as given. */
const costs = (expertSec: (n: number) => number, bytesPerSec: number, latencySec: number, preSec = 0): StepCosts => ({
  expertBytes: 1000,
  ...linkCosts({ name: 't', h2dBytesPerSec: bytesPerSec, d2hBytesPerSec: bytesPerSec, latencySec, overlapsCompute: false, source: 'test' }),
  expertSec,
  preExpertSec: () => preSec,
  tailSec: () => 0,
});

async function record(seed: number, batchSize: number, policy: number, c: StepCosts) {
  const scenario = scenarioOf(seed, batchSize);
  const prep = await prepareScenario(scenario, { baseDir: '.' });
  const predictors = await setupPolicyPredictors(scenario, prep, { baseDir: '.' });
  const { cache, label } = createPolicyCache(prep, scenario.policies[policy], policy);
  const log = new ScheduleLog();
  const counters = new OffloadSim(prep.trace, c, cache, prep.newSource(), undefined, { ...policyOptions(prep, scenario, policy, predictors, label), schedule: log }).run();
  return { log, counters };
}

const count = (log: ScheduleLog, op: number, b?: number) => {
  let n = 0;
  for (let i = 0; i < log.length; i++) if (log.op(i) === op && (b === undefined || log.b(i) === b)) n++;
  return n;
};

describe('ScheduleLog (operations in the order a non-overlapping run executes them)', () => {
  it('counts the operations of the kinds asked for', () => {
    const log = new ScheduleLog();
    for (const op of [OP_UPLOAD, OP_COMPUTE, OP_STAGE, OP_UPLOAD, OP_STEP_END]) log.push(op, 1, 2);
    expect(log.count(OP_UPLOAD)).toBe(2);
    expect(log.count(OP_UPLOAD, OP_STAGE)).toBe(3);
    expect(log.count(OP_CANCEL)).toBe(0);
  });

  it('the order does not depend on durations, for every kind of policy', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(1000),
        fc.constantFrom(1, 2),
        fc.nat(POLICIES.length - 1),
        fc.double({ min: 1e-4, max: 1, noNaN: true }),
        fc.double({ min: 1e3, max: 1e9, noNaN: true }),
        fc.double({ min: 0, max: 1e-2, noNaN: true }),
        async (seed, batch, policy, perToken, bw, latency) => {
          const a = await record(seed, batch, policy, costs(() => 1, 1e6, 0));
          const b = await record(seed, batch, policy, costs((n) => 0.5 + perToken * n, bw, latency, perToken));
          if (!a.log.equals(b.log)) expect.fail(`${POLICIES[policy]}: ${a.log.firstDifference(b.log)}`);
        },
      ),
      { numRuns: 25, seed: 7 },
    );
  }, 120_000);

  it('records what the run counted: one computation per access, every byte uploaded, every prefetch', async () => {
    for (let policy = 0; policy < POLICIES.length; policy++) {
      const { log, counters: c } = await record(1, 2, policy, costs(() => 1, 1e6, 0));
      expect(count(log, OP_COMPUTE)).toBe(c.accesses);
      expect(count(log, OP_GATE)).toBe(c.steps * 4);
      expect(count(log, OP_STEP_END)).toBe(c.steps);
      expect((count(log, OP_UPLOAD) + count(log, OP_STAGE)) * 1000).toBe(c.bytesH2D);
      expect(count(log, OP_UPLOAD, 1)).toBe(c.prefetch.issued);
      expect(count(log, OP_CANCEL)).toBe(c.prefetch.cancelled);
    }
    // The expertflow policy re-plans and cancels: the test covers cancellations.
    expect(count((await record(1, 2, 6, costs(() => 1, 1e6, 0))).log, OP_CANCEL)).toBeGreaterThan(0);
  });

  it('is refused on a link that overlaps compute (the order would depend on durations)', async () => {
    const c = costs(() => 1, 1e6, 0);
    const overlapping = { ...c, linkOverlapsCompute: true };
    await expect(record(1, 1, 0, overlapping)).rejects.toThrow(/does not overlap compute/);
  });
});
