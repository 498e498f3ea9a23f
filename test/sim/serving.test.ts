import { describe, expect, it } from 'vitest';
import { linkCosts } from '../../src/timing/roofline.js';
import { runScenario } from '../../src/sim/run.js';
import { parseScenario } from '../../src/scenario/load.js';
import { OffloadSim, type StepCosts } from '../../src/sim/offload-sim.js';
import { ExpertCache } from '../../src/policies/expert-cache.js';
import { cachePolicies } from '../../src/policies/index.js';
import { ServingSource } from '../../src/workload/serving-source.js';
import { buildRequests } from '../../src/workload/requests.js';
import { createScheduler } from '../../src/scheduling/index.js';
import { createRng } from '../../src/rng/rng.js';
import type { Trace } from '../../src/trace/types.js';
import type { RunResult } from '../../src/metrics/types.js';
import { traceOf } from '../helpers/trace.js';
import { servingSpec } from '../helpers/serving.js';

const base = {
  name: 'serving-test',
  seed: 11,
  model: 'mixtral-8x7b',
  hardware: 'rtx-4090',
  precision: { experts: 'int4' },
  trace: { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 3, tokensPerSequence: 80, popularity: { kind: 'zipf', exponent: 1.2 }, locality: 0.3 } },
  policies: [{ kind: 'lru', cache: { perLayer: 4 } }],
};

const servingWorkload = {
  kind: 'serving',
  requests: 12,
  arrivals: { kind: 'poisson', ratePerSec: 0.5 },
  maxBatchSize: 6,
  microBatchSize: 2,
  promptTokens: { kind: 'uniform', min: 4, max: 12 },
  outputTokens: { kind: 'uniform', min: 2, max: 12 },
  window: 'random',
  schedulers: [{ kind: 'fifo' }, { kind: 'expertflow', noise: 0.1 }, { kind: 'lookahead' }],
  slo: { ttftMs: 20000, tpotMs: 3000 },
};

async function run(over: object = {}, workload: object = servingWorkload): Promise<RunResult> {
  return runScenario(parseScenario({ ...base, workload, ...over }), { baseDir: '.' });
}

describe('serving workloads, end to end', () => {
  it('per-request metrics add up to the totals', async () => {
    const r = await run();
    expect(r.results).toHaveLength(3);
    expect(r.workload?.reusedSequences).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/12 requests from a trace of 3 sequences: sequences are reused/);
    for (const p of r.results) {
      const m = p.metrics as typeof p.metrics & { outputTokens: number; steps: number; gpuBusyMs: number };
      const s = p.serving!;
      const reqs = s.perRequest;
      expect(s.completed).toBe(12);
      expect(reqs.reduce((a, q) => a + q.outputTokens, 0)).toBe(m.outputTokens);
      // Tokens processed: each prompt, then one per output after the first (every output if no prompt).
      expect(reqs.reduce((a, q) => a + q.promptTokens + q.outputTokens - (q.promptTokens > 0 ? 1 : 0), 0)).toBe(m.tokens);
      expect(s.throughputTokensPerSec).toBeCloseTo(m.outputTokens / (m.makespanMs / 1e3), 9);
      // TPOT gaps: the per-request spans are the sums of their gaps.
      const gaps = reqs.reduce((a, q) => a + q.outputTokens - 1, 0);
      const span = reqs.reduce((a, q) => a + (q.lastTokenMs - q.firstTokenMs), 0);
      expect(m.tpotMs * gaps).toBeCloseTo(span, 6);
      for (const q of reqs) {
        expect(q.startMs).toBeGreaterThanOrEqual(q.arrivalMs);
        expect(q.firstTokenMs).toBeGreaterThan(q.startMs);
        expect(q.lastTokenMs).toBeGreaterThanOrEqual(q.firstTokenMs);
        expect(q.maxPassedOver).toBeLessThanOrEqual(s.waitBound);
      }
      const ttftMean = reqs.reduce((a, q) => a + q.firstTokenMs - q.arrivalMs, 0) / reqs.length;
      expect(s.ttftMs.mean).toBeCloseTo(ttftMean, 6);
      expect(s.queueingMs.mean).toBeLessThanOrEqual(s.ttftMs.mean);
      expect(s.ttftMs.p50).toBeLessThanOrEqual(s.ttftMs.p90);
      expect(s.ttftMs.p90).toBeLessThanOrEqual(s.ttftMs.p99);
      // The GPU is busy, stalled or idle: nothing else.
      expect(m.gpuBusyMs + m.stallMs + m.idleMs).toBeCloseTo(m.makespanMs, 6);
      expect(s.idleMs).toBeGreaterThan(0);
      expect(s.decodeMicroBatches + s.prefillPasses).toBe(m.steps);
      const slo = s.slo!;
      const both = reqs.filter((q) => q.firstTokenMs - q.arrivalMs <= 20000 && (q.outputTokens < 2 || (q.lastTokenMs - q.firstTokenMs) / (q.outputTokens - 1) <= 3000)).length;
      expect(slo.bothPct).toBeCloseTo((100 * both) / 12, 9);
    }
  });

  it('same seed, byte-identical JSON; another seed, other requests', async () => {
    const a = JSON.stringify(await run());
    const b = JSON.stringify(await run());
    expect(a).toBe(b);
    const c = JSON.stringify(await run({ seed: 12 }));
    expect(c).not.toBe(a);
  });

  it('with one request the schedulers coincide', async () => {
    const r = await run({}, { ...servingWorkload, requests: 1 });
    const [f, e, l] = r.results;
    expect(e.metrics).toEqual(f.metrics);
    expect(l.metrics).toEqual(f.metrics);
    expect(e.serving).toEqual({ ...f.serving, waitBound: e.serving!.waitBound });
    expect(l.serving).toEqual({ ...f.serving, waitBound: l.serving!.waitBound });
  });

  it('a micro-batch as large as the batch leaves the schedulers nothing to choose', async () => {
    const r = await run({}, { ...servingWorkload, microBatchSize: 6 });
    const [f, e, l] = r.results;
    expect(f.serving!.contestedMicroBatches).toBe(0);
    expect(e.metrics).toEqual(f.metrics);
    expect(l.metrics).toEqual(f.metrics);
  });

  it('no sequence reused, no twins: every request follows its own sequence', async () => {
    const r = await run({}, { ...servingWorkload, requests: 3 });
    expect(r.workload?.reusedSequences).toBe(false);
    for (const p of r.results) expect(p.serving!.twinTokenPct).toBe(0);
    expect(r.warnings.join('\n')).not.toMatch(/reused|identical routing/);
  });

  it('rejects offline policies: the access order depends on simulated time', async () => {
    await expect(run({ policies: [{ kind: 'belady', cache: { perLayer: 4 } }] })).rejects.toThrow(/policies\[0\]: belady needs the whole access order/);
  });

  it('scenario schema: batch stays the default; serving errors name the field', () => {
    const s = parseScenario({ ...base, workload: { batchSize: 2, promptTokens: 1 } });
    expect(s.workload).toEqual({ batchSize: 2, promptTokens: 1 });
    expect(parseScenario({ ...base }).workload).toEqual({ batchSize: 1, promptTokens: 0 });
    expect(() => parseScenario({ ...base, workload: { ...servingWorkload, arrivals: { kind: 'poisson', ratePerSec: -1 } } })).toThrow(/workload\.arrivals\.ratePerSec/);
    expect(() => parseScenario({ ...base, workload: { ...servingWorkload, schedulers: [{ kind: 'fifo', noise: 1 }] } })).toThrow(/workload\.schedulers\[0\]: unknown field "noise"/);
    expect(() => parseScenario({ ...base, workload: { ...servingWorkload, schedulers: [{ kind: 'sjf' }] } })).toThrow(/workload\.schedulers\[0\]\.kind/);
  });
});

/** Round numbers: attention 1 s, any expert 2 s, LM head 0.5 s, 3-byte experts over a 1 B/s link. */
const costs = (linkBytesPerSec = 1): StepCosts => ({
  expertBytes: 3,
  ...linkCosts({ name: 'test', h2dBytesPerSec: linkBytesPerSec, d2hBytesPerSec: linkBytesPerSec, latencySec: 0, source: 'test' }),
  expertSec: () => 2,
  preExpertSec: () => 1,
  tailSec: () => 0.5,
});

function noCache(trace: Trace) {
  const E = trace.numExperts;
  const L = trace.numLayers;
  return new ExpertCache(L, E, 0, true, cachePolicies.none.create({ numLayers: L, numExperts: E, capacityPerScope: 0, scopes: L }));
}

function simulateServing(trace: Trace, prompt: number, streaming: boolean, linkBytesPerSec = 1) {
  const E = trace.numExperts;
  const w = servingSpec({ requests: 1, promptTokens: prompt, outputTokens: 1, arrivals: { kind: 'closed', users: 1 } });
  const table = buildRequests(trace, w, createRng(1), '1');
  const scheduler = createScheduler({ kind: 'fifo' }, { trace, numExperts: E, maxWaitSteps: 0, rng: createRng(1) });
  const src = new ServingSource(trace, table, { maxBatchSize: 1, microBatchSize: 1, prefillTokens: 64 }, scheduler, E);
  return new OffloadSim(trace, costs(linkBytesPerSec), noCache(trace), src, { fromStep: 0, steps: 1 }, streaming ? { prefillStreaming: { minTokens: 2 } } : {}).run();
}

describe('token scheduling in the simulator', () => {
  // Four requests, closed loop; requests 0 and 2 route to experts {0, 1} at both layers, 1 and 3 to {2, 3}.
  const trace = traceOf([0, 1, 2, 3].map((s) => Array.from({ length: 20 }, () => [s % 2 === 0 ? [0, 1] : [2, 3], s % 2 === 0 ? [0, 1] : [2, 3]])), 4);
  const simulate = (kind: 'fifo' | 'expertflow' | 'lookahead') => {
    const w = servingSpec({ requests: 4, arrivals: { kind: 'closed', users: 4 } });
    const table = buildRequests(trace, w, createRng(1), '1');
    const cache = noCache(trace);
    const scheduler = createScheduler(kind === 'expertflow' ? { kind, noise: 0 } : { kind }, { trace, numExperts: 4, maxWaitSteps: 3, resident: cache.resident, rng: createRng(1) });
    const src = new ServingSource(trace, table, { maxBatchSize: 4, microBatchSize: 2, prefillTokens: 64 }, scheduler, 4);
    const counters = new OffloadSim(trace, costs(), cache, src).run();
    return { counters, src };
  };

  it('regrouping tokens by routing halves the experts each micro-batch fetches', () => {
    const f = simulate('fifo');
    const e = simulate('expertflow');
    const l = simulate('lookahead');
    const distinct = (x: typeof f) => x.src.stats.decodePerLayer.reduce((a, b) => a + b, 0) / (2 * x.src.stats.decodeSteps);
    expect(distinct(f)).toBe(4);
    expect(distinct(e)).toBe(2);
    expect(distinct(l)).toBe(2);
    expect(e.counters.bytesH2D).toBe(f.counters.bytesH2D / 2);
    expect(e.counters.makespanSec).toBeLessThan(f.counters.makespanSec);
    expect(e.counters.seqOutputs).toEqual(f.counters.seqOutputs);
  });
});

describe('prefill streaming', () => {
  // One 4-token prompt over 3 layers of 4 experts; every layer's union is all 4 experts.
  const all = traceOf([[0, 1, 2, 3].map((t) => [[t], [(t + 1) % 4], [(t + 2) % 4]])], 4);

  it('lowers prefill time when the link is the bottleneck', () => {
    const plain = simulateServing(all, 4, false);
    const streamed = simulateServing(all, 4, true);
    // Plain, per layer: attention 1, then 4 fetches of 3 s back to back, the last computed 2 s after: 15 s.
    expect(plain.makespanSec).toBe(3 * 15 + 0.5);
    // Streamed: the link never pauses (36 s), then the last expert (2 s) and the LM head.
    expect(streamed.makespanSec).toBe(36 + 2 + 0.5);
    expect(streamed.bytesH2D).toBe(plain.bytesH2D);
    expect(streamed.streamedExperts).toBe(12);
    expect(streamed.streamWastedBytes).toBe(0);
    expect(streamed.gpuBusySec + streamed.stallSec + streamed.idleSec).toBeCloseTo(streamed.makespanSec, 9);
    expect(streamed.timeline.some((s) => s.kind === 'prefetch')).toBe(true);
  });

  it('streams only long enough prefills, and drops experts the router did not choose', () => {
    // Two prompt tokens using experts {0, 1} only: streaming fetches experts 2 and 3 for nothing.
    const few = traceOf([[0, 1].map((t) => [[t], [t], [t]])], 4);
    const plain = simulateServing(few, 2, false);
    const streamed = simulateServing(few, 2, true);
    expect(streamed.accesses).toBe(plain.accesses);
    expect(streamed.seqOutputs[0]).toBe(1);
    // Slow link: the unchosen experts are still queued when the router has chosen; they are cancelled.
    expect(streamed.bytesH2D).toBe(plain.bytesH2D);
    expect(streamed.streamWastedBytes).toBe(0);
    // Fast link: they arrived (or were on the way) before the router chose; their bytes are wasted.
    const fast = simulateServing(few, 2, true, 10);
    expect(fast.streamWastedBytes).toBeGreaterThan(0);
    expect(fast.bytesH2D).toBe(simulateServing(few, 2, false, 10).bytesH2D + fast.streamWastedBytes);
    // minTokens 2: a 1-token prompt is not streamed.
    expect(simulateServing(few, 1, true).streamedExperts).toBe(0);
  });
});
