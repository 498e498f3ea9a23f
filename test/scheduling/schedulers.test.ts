import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createScheduler, schedulerKinds, tokenSchedulers } from '../../src/scheduling/index.js';
import { mandatoryCount, minFeasibleWait } from '../../src/scheduling/fairness.js';
import { noisyRouting, popcount32 } from '../../src/scheduling/paths.js';
import type { ReadyTokens } from '../../src/scheduling/types.js';
import type { SchedulerSpec } from '../../src/scheduling/spec.js';
import { createRng } from '../../src/rng/rng.js';
import { LayerUnion } from '../../src/trace/union.js';
import type { Step } from '../../src/trace/steps.js';
import { traceOf } from '../helpers/trace.js';
import type { Trace } from '../../src/trace/types.js';

/** A ready set over tokens 0..n-1 of `trace`, with the given waits (sorted descending). */
function readyOf(tokens: number[], waited: number[]): ReadyTokens {
  const n = tokens.length;
  const order = waited.map((w, i) => [w, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return {
    count: n,
    request: Int32Array.from(order.map(([, i]) => i)),
    token: Int32Array.from(order.map(([, i]) => tokens[i])),
    waited: Int32Array.from(order.map(([w]) => w)),
  };
}

/** Distinct (layer, expert) pairs the chosen ready tokens activate, by the trace's truth. */
function distinctPairs(trace: Trace, ready: ReadyTokens, picked: number[]): number {
  const step: Step = {
    index: 0,
    count: picked.length,
    tokens: Int32Array.from(picked.map((i) => ready.token[i])),
    contextTokens: 0,
    kvTokens: 0,
    emitSeq: new Int32Array(0),
    emitCount: 0,
    startSeq: new Int32Array(0),
    startCount: 0,
    prefill: false,
  };
  const u = new LayerUnion(trace.numExperts);
  let sum = 0;
  for (let l = 0; l < trace.numLayers; l++) sum += u.compute(trace, step, l);
  return sum;
}

function pick(spec: SchedulerSpec, trace: Trace, ready: ReadyTokens, capacity: number, maxWaitSteps: number, resident?: Uint8Array): number[] {
  const s = createScheduler(spec, { trace, numExperts: trace.numExperts, maxWaitSteps, resident, rng: createRng(1) });
  const out = new Int32Array(ready.count);
  const k = s.select(ready, capacity, out);
  return [...out.slice(0, k)];
}

/** A random trace of `tokens` single-token sequences: L layers, E experts, top-2. */
const arbTrace = fc
  .record({ L: fc.integer({ min: 1, max: 4 }), E: fc.integer({ min: 2, max: 40 }), n: fc.integer({ min: 1, max: 12 }) })
  .chain(({ L, E, n }) =>
    fc.array(fc.array(fc.uniqueArray(fc.integer({ min: 0, max: E - 1 }), { minLength: 1, maxLength: 2 }), { minLength: L, maxLength: L }), { minLength: n, maxLength: n }).map((toks) => traceOf(toks.map((t) => [t]), E)),
  );

describe('token schedulers', () => {
  it('the typed table has every kind', () => {
    expect(Object.keys(tokenSchedulers).sort()).toEqual([...schedulerKinds].sort());
  });

  it('fifo takes the longest-passed-over tokens, then admission order', () => {
    const trace = traceOf([[[[0]]], [[[1]]], [[[2]]], [[[3]]]], 4);
    const ready = readyOf([0, 1, 2, 3], [0, 2, 0, 1]);
    expect([...ready.request]).toEqual([1, 3, 0, 2]);
    expect(pick({ kind: 'fifo' }, trace, ready, 2, 5)).toEqual([0, 1]);
  });

  it('expertflow groups tokens that share experts', () => {
    // Tokens 0 and 2 use experts {0,1}; tokens 1 and 3 use {2,3}.
    const trace = traceOf([[[[0, 1]]], [[[2, 3]]], [[[0, 1]]], [[[2, 3]]]], 4);
    const ready = readyOf([0, 1, 2, 3], [0, 0, 0, 0]);
    const ef = pick({ kind: 'expertflow', noise: 0 }, trace, ready, 2, 8);
    expect(ef.map((i) => ready.token[i])).toEqual([0, 2]);
    expect(distinctPairs(trace, ready, ef)).toBe(2);
    expect(distinctPairs(trace, ready, pick({ kind: 'fifo' }, trace, ready, 2, 8))).toBe(4);
  });

  it('lookahead prefers tokens whose experts are on the GPU', () => {
    const trace = traceOf([[[[0, 1]]], [[[2, 3]]], [[[0, 1]]], [[[2, 3]]]], 4);
    const ready = readyOf([0, 1, 2, 3], [0, 0, 0, 0]);
    const resident = Uint8Array.from([0, 0, 1, 1]);
    expect(pick({ kind: 'lookahead' }, trace, ready, 2, 8, resident).map((i) => ready.token[i])).toEqual([1, 3]);
    expect(pick({ kind: 'lookahead' }, trace, ready, 2, 8).map((i) => ready.token[i])).toEqual([0, 2]);
  });

  it('expertflow never activates more distinct experts per micro-batch than fifo on the same ready set (property)', () => {
    fc.assert(
      fc.property(arbTrace, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 4 }), fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 12, maxLength: 12 }), (trace, cap, W, waits) => {
        const n = trace.tokens;
        const ready = readyOf(Array.from({ length: n }, (_, i) => i), waits.slice(0, n));
        const ef = pick({ kind: 'expertflow', noise: 0 }, trace, ready, cap, W);
        const ff = pick({ kind: 'fifo' }, trace, ready, cap, W);
        expect(distinctPairs(trace, ready, ef)).toBeLessThanOrEqual(distinctPairs(trace, ready, ff));
        const la = pick({ kind: 'lookahead' }, trace, ready, cap, W);
        expect(distinctPairs(trace, ready, la)).toBeLessThanOrEqual(distinctPairs(trace, ready, ff));
      }),
      { numRuns: 300 },
    );
  });

  it('every scheduler fills the micro-batch with distinct tokens and includes the mandatory ones (property)', () => {
    fc.assert(
      fc.property(arbTrace, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 4 }), fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 12, maxLength: 12 }), fc.double({ min: 0, max: 1, noNaN: true }), (trace, cap, W, waits, noise) => {
        const n = trace.tokens;
        const ready = readyOf(Array.from({ length: n }, (_, i) => i), waits.slice(0, n));
        const need = mandatoryCount(ready, cap, W);
        const resident = Uint8Array.from({ length: trace.numLayers * trace.numExperts }, (_, i) => i % 3 === 0 ? 1 : 0);
        for (const spec of [{ kind: 'fifo' }, { kind: 'expertflow', noise }, { kind: 'lookahead' }] as SchedulerSpec[]) {
          const p = pick(spec, trace, ready, cap, W, resident);
          expect(p.length).toBe(Math.min(cap, n));
          expect(new Set(p).size).toBe(p.length);
          expect([...p].sort((a, b) => a - b)).toEqual(p);
          for (let i = 0; i < need; i++) expect(p).toContain(i);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('fairness bound', () => {
  it('mandatoryCount: requests at the bound must run; earlier deadlines crowd later places', () => {
    const r = (w: number[]) => readyOf(w.map((_, i) => i), w);
    expect(mandatoryCount(r([3, 3, 0, 0]), 2, 3)).toBe(2);
    expect(mandatoryCount(r([3, 3, 3, 0]), 2, 3)).toBe(2); // infeasible: capped at the capacity
    expect(mandatoryCount(r([2, 2, 2, 0]), 2, 3)).toBe(1); // three due within two micro-batches of two places
    expect(mandatoryCount(r([0, 0, 0, 0]), 2, 3)).toBe(0);
    expect(mandatoryCount(r([0, 0, 0, 0, 0, 0, 0]), 2, 3)).toBe(1); // 7 requests, 4 micro-batches of 2: one must run now
    expect(mandatoryCount(r([0, 0, 0, 0, 0, 0, 0, 0, 0]), 2, 3)).toBe(2); // 9 cannot all run within 4: capped
    expect(minFeasibleWait(9, 2)).toBe(4);
    expect(minFeasibleWait(8, 2)).toBe(3);
  });
});

describe('predicted routing', () => {
  it('noise 0 is the truth; noise changes about that share of slots, never to the same expert, the same for a seed', () => {
    const seqs = Array.from({ length: 200 }, (_, t) => [[[t % 8, (t + 3) % 8], [(t * 5) % 8, (t * 5 + 1) % 8]]]);
    const trace = traceOf(seqs, 8);
    expect(noisyRouting(trace, 8, 0, createRng(1))).toBe(trace.experts);
    const a = noisyRouting(trace, 8, 0.25, createRng(7));
    const b = noisyRouting(trace, 8, 0.25, createRng(7));
    expect([...a]).toEqual([...b]);
    let changed = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== trace.experts[i]) changed++;
    expect(changed / a.length).toBeGreaterThan(0.18);
    expect(changed / a.length).toBeLessThan(0.32);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeLessThan(8);
  });

  it('popcount32', () => {
    expect(popcount32(0)).toBe(0);
    expect(popcount32(0xffffffff | 0)).toBe(32);
    expect(popcount32(0b1011)).toBe(3);
    expect(popcount32(1 << 31)).toBe(1);
  });
});
