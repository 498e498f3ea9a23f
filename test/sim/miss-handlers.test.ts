import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { MissCosts } from '../../src/sim/offload-sim.js';
import { cpuOnMiss } from '../../src/policies/miss/cpu.js';
import { lowPrecisionOnMiss } from '../../src/policies/miss/low-precision.js';
import type { MissDecision, MissQuery } from '../../src/policies/miss/types.js';
import { traceOf } from '../helpers/trace.js';
import { buildSim, roundCosts, simulate } from '../helpers/sim.js';

/** CPU: 1 s per token, no activation bytes; lower-bit copy: 1 byte, 1 s on the GPU. */
const missCosts = (cpuSecPerToken = 1, activationBytesPerToken = 0): MissCosts => ({
  cpuExpertSec: (n) => cpuSecPerToken * n,
  activationBytes: (n) => activationBytesPerToken * n,
  lowBitExpertBytes: 1,
  lowBitExpertSec: () => 1,
});

/** Runs with `cpu` on miss and records every decision with what it was based on. */
function runCpu(trace: ReturnType<typeof traceOf>, costs: MissCosts, batchSize = 1, linkBytesPerSec = 1) {
  const { sim } = buildSim(trace, { capacity: 0, cache: 'none', onMiss: { kind: 'cpu' }, missCosts: costs, batchSize, costs: roundCosts(linkBytesPerSec) });
  const decisions: { q: MissQuery; d: MissDecision; backlog: number }[] = [];
  const h = (sim as unknown as { handler: { decide: (q: MissQuery) => MissDecision } }).handler;
  const decide = h.decide;
  h.decide = (q) => {
    const d = decide(q);
    decisions.push({ q: { ...q }, d, backlog: sim.link.resource.backlogSec(0) });
    return d;
  };
  return { c: sim.run(), decisions };
}

describe('miss handlers', () => {
  it('cpu (Fiddler) decides by the estimates alone: the CPU exactly when it finishes sooner', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), fc.nat(64), (cpu, fetch, tokens) => {
        const d = cpuOnMiss().decide({ tokens, importance: 1, cpuFinishSec: cpu, fetchFinishSec: fetch });
        expect(d).toBe(cpu < fetch ? 'cpu' : 'fetch');
      }),
    );
  });

  it('cpu is chosen exactly when the hardware model says it is cheaper, per expert and token count', () => {
    // A batch of 6 tokens: expert 0 gets all 6, expert 1 one, expert 2 one. Fetch = 3 s + 2 s on the GPU.
    const trace = traceOf([[[[0, 1]]], [[[0, 2]]], [[[0]]], [[[0]]], [[[0]]], [[[0]]]], 3);
    const { c, decisions } = runCpu(trace, missCosts(1), 6);
    // Expert 0: CPU 6 s vs fetch 5 s (link idle): fetch. Expert 1: CPU 1 s vs 3 s queued + 5 s: CPU.
    // Expert 2: CPU queue 1 s + 1 s = 2 s vs 8 s: CPU.
    expect(decisions.map((x) => [x.q.tokens, x.d])).toEqual([
      [6, 'fetch'],
      [1, 'cpu'],
      [1, 'cpu'],
    ]);
    expect(decisions.map((x) => [x.q.fetchFinishSec, x.q.cpuFinishSec])).toEqual([
      [5, 6],
      [8, 1],
      [8, 2],
    ]);
    expect([c.cpuComputations, c.expertComputations, c.bytesH2D]).toEqual([2, 3, 3]);
    // The layer: gate at 1; fetch 1-4; GPU 4-6; CPU 1-2, 2-3. No wait for the CPU at the end.
    expect(c.stallCpuSec).toBe(0);
    expect(c.stallSec).toBe(3);
  });

  it('cpu: the estimates follow the link and CPU queues, and every decision matches them (property)', () => {
    const arb = fc.array(fc.array(fc.tuple(fc.nat(4), fc.nat(4)), { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(arb, fc.double({ min: 0.1, max: 4, noNaN: true }), fc.integer({ min: 1, max: 3 }), (toks, cpuPerToken, batch) => {
        const trace = traceOf(toks.map((tok) => [tok.map(([a, b]) => (a === b ? [a] : [a, b]))]), 5);
        const { c, decisions } = runCpu(trace, missCosts(cpuPerToken), batch);
        for (const { q, d, backlog } of decisions) {
          expect(d).toBe(q.cpuFinishSec < q.fetchFinishSec ? 'cpu' : 'fetch');
          expect(q.fetchFinishSec).toBeCloseTo(backlog + 3 + 2, 9);
        }
        expect(c.cpuComputations).toBe(decisions.filter((x) => x.d === 'cpu').length);
        expect(c.stallCapacitySec + c.stallMispredictionSec + c.stallLinkQueueSec + c.stallCpuSec).toBeCloseTo(c.stallSec, 9);
      }),
      { numRuns: 150 },
    );
  });

  it('cpuTaskPerLayer (kTransformers: one cpuinfer task per layer): the hidden states cross once per layer, not per CPU expert', () => {
    // One token routed to experts 0 and 1 at each of two layers; CPU 2 s per expert, 1 activation byte each way at 1 B/s.
    const trace = traceOf([[[[0, 1], [0, 1]]]], 2);
    const spans = (c: ReturnType<typeof runCpu>['c']) => c.timeline.filter((s) => s.resource === 'cpu').map((s) => [s.startMs / 1e3, s.endMs / 1e3]);
    // The runtime's fixed rule (every expert of one token on the CPU), as kTransformers and Fiddler decide.
    const run = (mc: MissCosts) => buildSim(trace, { capacity: 0, cache: 'none', onMiss: { kind: 'cpu', belowTokens: 2 }, missCosts: mc, costs: roundCosts() }).sim.run();
    const perExpert = run(missCosts(2, 1));
    // Per expert: 1 + 2 + 1 = 4 s each, the two of a layer back to back.
    expect(spans(perExpert)).toEqual([[1, 5], [5, 9], [10, 14], [14, 18]]);
    expect(perExpert.activationBytes).toBe(8);
    const batched = run({ ...missCosts(2, 1), cpuTaskPerLayer: true });
    // The layer's task: the first expert carries the round trip (4 s), the second only its 2 s; again at layer 1.
    expect(spans(batched)).toEqual([[1, 5], [5, 7], [8, 12], [12, 14]]);
    expect(batched.activationBytes).toBe(4);
    expect(batched.cpuComputations).toBe(4);
    expect(batched.makespanSec).toBe(1 + 6 + 1 + 6 + 0.5);
  });

  it('cpu: activations cross the link both ways and the GPU waits for a slow CPU expert', () => {
    // One token, one expert, CPU 4 s + activations 2 x (1 B at 1 B/s): 6 s on the CPU vs 5 s fetch: fetch.
    const one = traceOf([[[[0]]]], 1);
    expect(runCpu(one, missCosts(4, 1)).c.cpuComputations).toBe(0);
    // CPU 2 s + 2 s of activations = 4 s < 5 s: CPU; the layer waits 4 s for it.
    const { c } = runCpu(one, missCosts(2, 1));
    expect(c.cpuComputations).toBe(1);
    expect(c.activationBytes).toBe(2);
    expect(c.bytesH2D).toBe(0);
    expect(c.stallCpuSec).toBe(4);
    expect(c.stallSec).toBe(4);
    expect(c.makespanSec).toBe(1 + 4 + 0.5);
    expect(c.timeline.filter((s) => s.resource === 'cpu').map((s) => [s.kind, s.startMs / 1e3, s.endMs / 1e3])).toEqual([['cpu-expert', 1, 5]]);
  });

  it('low-precision (HOBBIT): misses below the gate-weight threshold fetch the lower-bit copy, uncached', () => {
    // Two layers; token 0 routes 0 (weight 0.7) and 1 (0.3) at both.
    const trace = traceOf([[[[0, 1], [0, 1]]]], 2);
    trace.weights = Float32Array.from([0.7, 0.3, 0.7, 0.3]);
    const c = simulate(trace, { capacity: 2, onMiss: { kind: 'low-precision', belowGateWeight: 0.5 }, missCosts: missCosts() });
    expect([c.misses, c.lowBitComputations, c.expertComputations]).toEqual([4, 2, 4]);
    expect(c.lowBitBytes).toBe(2);
    expect(c.bytesH2D).toBe(2 * 3 + 2 * 1);
    // Layer 0: gate 1; fetch 0 (3 B) 1-4, low-bit 1 (1 B) 4-5; GPU 4-6 (full), 6-7 (low-bit: 1 s).
    expect(c.timeline.filter((s) => s.layer === 0 && s.resource !== 'gpu' || s.kind === 'expert').slice(0, 4).map((s) => `${s.kind}:${s.startMs / 1e3}-${s.endMs / 1e3}`)).toEqual([
      'fetch:1-4',
      'fetch-low-bit:4-5',
      'expert:4-6',
      'expert:6-7',
    ]);
    // A threshold of 0 sends everything at full precision; 1, everything at low precision.
    expect(simulate(trace, { capacity: 2, onMiss: { kind: 'low-precision', belowGateWeight: 0 }, missCosts: missCosts() }).lowBitComputations).toBe(0);
    expect(simulate(trace, { capacity: 2, onMiss: { kind: 'low-precision', belowGateWeight: 1 }, missCosts: missCosts() }).lowBitComputations).toBe(4);
  });

  it('low-precision without recorded weights treats a token\'s first choice as important', () => {
    const trace = traceOf([[[[0, 1]]], [[[1, 0]]]], 2);
    // Batch of both tokens: expert 0 and 1 are each some token's first choice.
    expect(simulate(trace, { capacity: 0, cache: 'none', batchSize: 2, onMiss: { kind: 'low-precision' }, missCosts: missCosts() }).lowBitComputations).toBe(0);
    // One token at a time: the second choice of each is below the threshold.
    expect(simulate(trace, { capacity: 0, cache: 'none', onMiss: { kind: 'low-precision' }, missCosts: missCosts() }).lowBitComputations).toBe(2);
    expect(lowPrecisionOnMiss({ belowGateWeight: 0.5 }).decide({ tokens: 1, importance: 0.49, cpuFinishSec: 0, fetchFinishSec: 0 })).toBe('low-bit');
  });
});
