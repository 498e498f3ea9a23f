import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ServingSource, type ServingLimits } from '../../src/workload/serving-source.js';
import { buildRequests, tokensNeeded, type RequestTable } from '../../src/workload/requests.js';
import { createScheduler } from '../../src/scheduling/index.js';
import { mandatoryCount } from '../../src/scheduling/fairness.js';
import type { TokenScheduler } from '../../src/scheduling/types.js';
import type { SchedulerSpec } from '../../src/scheduling/spec.js';
import { createRng } from '../../src/rng/rng.js';
import type { Trace } from '../../src/trace/types.js';
import { drive, lengthsTrace, servingSpec } from '../helpers/serving.js';

/** Respects the bound as little as it may: the mandatory tokens, then the most recently served. */
const grudging = (W: number): TokenScheduler => ({
  kind: 'fifo',
  select(ready, capacity, out) {
    const m = Math.min(capacity, ready.count);
    const need = mandatoryCount(ready, capacity, W);
    let k = 0;
    for (let i = 0; i < need; i++) out[k++] = i;
    for (let i = ready.count - (m - need); i < ready.count; i++) out[k++] = i;
    return k;
  },
});

/** Ignores the bound: always the most recently served. */
const unfair: TokenScheduler = {
  kind: 'fifo',
  select(ready, capacity, out) {
    const m = Math.min(capacity, ready.count);
    for (let i = 0; i < m; i++) out[i] = ready.count - m + i;
    return m;
  },
};

function source(trace: Trace, table: RequestTable, limits: ServingLimits, sched: TokenScheduler | SchedulerSpec, W = 8) {
  const s = 'select' in sched ? sched : createScheduler(sched, { trace, numExperts: trace.numExperts, maxWaitSteps: W, rng: createRng(1) });
  return new ServingSource(trace, table, limits, s, trace.numExperts);
}

const arbCase = fc.record({
  lengths: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 12 }),
  prompt: fc.integer({ min: 0, max: 5 }),
  maxBatchSize: fc.integer({ min: 1, max: 6 }),
  micro: fc.integer({ min: 1, max: 6 }),
  prefillTokens: fc.integer({ min: 1, max: 8 }),
  rate: fc.double({ min: 0.05, max: 20, noNaN: true }),
  kind: fc.constantFrom('fifo', 'expertflow', 'lookahead', 'grudging'),
  seed: fc.integer({ min: 0, max: 1000 }),
});

describe('ServingSource', () => {
  it("never runs a sequence's token before an earlier one; every request's tokens run once, all of them (property)", () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        // One sequence per request, so a trace token names its request.
        const trace = lengthsTrace(c.lengths, 2, 6);
        const w = servingSpec({ requests: c.lengths.length, promptTokens: c.prompt, arrivals: { kind: 'poisson', ratePerSec: c.rate } });
        const table = buildRequests(trace, w, createRng(c.seed), String(c.seed));
        const micro = Math.min(c.micro, c.maxBatchSize);
        const W = Math.ceil(c.maxBatchSize / micro);
        const sched = c.kind === 'grudging' ? grudging(W) : ({ kind: c.kind, ...(c.kind === 'expertflow' ? { noise: 0.3 } : {}) } as SchedulerSpec);
        const steps = drive(source(trace, table, { maxBatchSize: c.maxBatchSize, microBatchSize: micro, prefillTokens: c.prefillTokens }, sched, W));
        const order = steps.flatMap((s) => s.tokens);
        for (let r = 0; r < table.count; r++) {
          const first = table.firstToken[r];
          const mine = order.filter((t) => t >= first && t < first + trace.sequences[r].length);
          const need = tokensNeeded(table.promptTokens[r], table.outputTokens[r]);
          expect(mine).toEqual(Array.from({ length: need }, (_, i) => first + i));
        }
        // Outputs: one per emit, as many as asked.
        const emits = new Map<number, number>();
        for (const s of steps) for (const r of s.emit) emits.set(r, (emits.get(r) ?? 0) + 1);
        for (let r = 0; r < table.count; r++) expect(emits.get(r)).toBe(table.outputTokens[r]);
      }),
      { numRuns: 200 },
    );
  });

  it('no request is passed over more decode micro-batches in a row than the bound (property)', () => {
    fc.assert(
      fc.property(arbCase, fc.integer({ min: 0, max: 3 }), (c, extra) => {
        const trace = lengthsTrace(c.lengths, 2, 6);
        const w = servingSpec({ requests: 40, promptTokens: c.prompt, outputTokens: { kind: 'uniform', min: 1, max: 12 }, arrivals: { kind: 'poisson', ratePerSec: c.rate } });
        const table = buildRequests(trace, w, createRng(c.seed), String(c.seed));
        const micro = Math.min(c.micro, c.maxBatchSize);
        const W = Math.ceil(c.maxBatchSize / micro) - 1 + extra;
        const sched = c.kind === 'grudging' ? grudging(W) : ({ kind: c.kind, ...(c.kind === 'expertflow' ? { noise: 0.3 } : {}) } as SchedulerSpec);
        const src = source(trace, table, { maxBatchSize: c.maxBatchSize, microBatchSize: micro, prefillTokens: c.prefillTokens }, sched, W);
        drive(src);
        expect(Math.max(...src.maxWaited)).toBeLessThanOrEqual(W);
      }),
      { numRuns: 200 },
    );
  });

  it('a scheduler that ignores the bound starves requests (the check above can fail)', () => {
    const trace = lengthsTrace([30, 30, 30, 30]);
    const table = buildRequests(trace, servingSpec({ requests: 4, arrivals: { kind: 'closed', users: 4 } }), createRng(1), '1');
    const src = source(trace, table, { maxBatchSize: 4, microBatchSize: 2, prefillTokens: 8 }, unfair);
    drive(src);
    expect(Math.max(...src.maxWaited)).toBeGreaterThan(5);
  });

  it('continuous batching: at most maxBatchSize requests hold a place; prefill first, long prompts chunked', () => {
    const trace = lengthsTrace([12, 12, 12]);
    const w = servingSpec({ requests: 3, promptTokens: 10, outputTokens: 3, arrivals: { kind: 'closed', users: 3 } });
    const table = buildRequests(trace, w, createRng(1), '1');
    const steps = drive(source(trace, table, { maxBatchSize: 2, microBatchSize: 2, prefillTokens: 4 }, { kind: 'fifo' }));
    expect(steps.map((s) => (s.prefill ? `P${s.tokens.length}` : `D${s.tokens.length}`)).join(' ')).toBe(
      // requests 0 and 1 prefill in chunks of 4 (4, 4, 2+2, 4, 4), decode twice; then request 2.
      'P4 P4 P4 P4 P4 D2 D2 P4 P4 P2 D1 D1',
    );
    expect(steps[2].emit).toEqual([0]); // request 0's last chunk (2 tokens) gives its first output
    expect(steps[4].emit).toEqual([1]);
    expect(steps[0].start).toEqual([0]);
    expect(steps[2].start).toEqual([1]);
    expect(steps[7].start).toEqual([2]);
    // Context: prompt positions 1..4 in the first chunk.
    expect(steps[0].context).toBe(1 + 2 + 3 + 4);
  });

  it('idles until the next arrival; no step starts before its requests arrive', () => {
    const trace = lengthsTrace([4, 4, 4]);
    const w = servingSpec({ requests: 3, arrivals: { kind: 'poisson', ratePerSec: 0.01 } });
    const table = buildRequests(trace, w, createRng(2), '2');
    const src = source(trace, table, { maxBatchSize: 4, microBatchSize: 4, prefillTokens: 8 }, { kind: 'fifo' });
    const steps = drive(src, 1);
    expect(steps[0].atSec).toBe(table.arrivalSec[0]);
    for (const s of steps) for (const r of s.start) expect(s.atSec).toBeGreaterThanOrEqual(table.arrivalSec[r]);
    expect(steps.length).toBe(12);
  });

  it('closed loop: a user sends its next request thinkMs after its last one finished', () => {
    const trace = lengthsTrace([3, 3, 3]);
    const w = servingSpec({ requests: 3, arrivals: { kind: 'closed', users: 1, thinkMs: 500 } });
    const table = buildRequests(trace, w, createRng(2), '2');
    const src = source(trace, table, { maxBatchSize: 4, microBatchSize: 4, prefillTokens: 8 }, { kind: 'fifo' });
    const steps = drive(src, 1);
    // 3 steps each; request 0 finishes at t=3, request 1 arrives at 3.5.
    expect([...src.arrivalSec]).toEqual([0, 3.5, 7]);
    expect(steps.map((s) => s.atSec)).toEqual([0, 1, 2, 3.5, 4.5, 5.5, 7, 8, 9]);
  });
});
