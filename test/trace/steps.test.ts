import { describe, expect, it } from 'vitest';
import { staticBatches, type Step } from '../../src/trace/steps.js';
import { traceOf } from '../helpers/trace.js';

function collect(src: { next(nowSec: number): Step | null }) {
  const out: Array<{ tokens: number[]; emit: number[]; start: number[]; prefill: boolean; ctx: number }> = [];
  for (let s = src.next(0); s; s = src.next(0)) {
    out.push({
      tokens: [...s.tokens.slice(0, s.count)],
      emit: [...s.emitSeq.slice(0, s.emitCount)],
      start: [...s.startSeq.slice(0, s.startCount)],
      prefill: s.prefill,
      ctx: s.contextTokens,
    });
  }
  return out;
}

const tok = [[0]];
// Three sequences of 3, 1 and 2 tokens; token indices 0-2, 3, 4-5.
const trace = traceOf([[tok[0], tok[0], tok[0]].map(() => [[0]]), [[[1]]], [[[0]], [[1]]]], 2);

describe('staticBatches', () => {
  it('batch 1, no prompt: one token per step, sequence by sequence', () => {
    const steps = collect(staticBatches(trace, { batchSize: 1, promptTokens: 0 }));
    expect(steps.map((s) => s.tokens)).toEqual([[0], [1], [2], [3], [4], [5]]);
    expect(steps.map((s) => s.start)).toEqual([[0], [], [], [1], [2], []]);
    expect(steps.map((s) => s.ctx)).toEqual([1, 2, 3, 1, 1, 2]);
  });

  it('batch 2 with a 1-token prompt: prefill, then lockstep decode; finished sequences leave', () => {
    const steps = collect(staticBatches(trace, { batchSize: 2, promptTokens: 1 }));
    expect(steps).toEqual([
      { tokens: [0, 3], emit: [0, 1], start: [0, 1], prefill: true, ctx: 2 },
      { tokens: [1], emit: [0], start: [], prefill: false, ctx: 2 },
      { tokens: [2], emit: [0], start: [], prefill: false, ctx: 3 },
      { tokens: [4], emit: [2], start: [2], prefill: true, ctx: 1 },
      { tokens: [5], emit: [2], start: [], prefill: false, ctx: 2 },
    ]);
  });

  it('never runs a token before an earlier token of its sequence', () => {
    const steps = collect(staticBatches(trace, { batchSize: 3, promptTokens: 0 }));
    const order = steps.flatMap((s) => s.tokens);
    for (const seq of trace.sequences) {
      const pos = Array.from({ length: seq.length }, (_, i) => order.indexOf(seq.start + i));
      expect(pos).toEqual([...pos].sort((a, b) => a - b));
    }
    expect(order.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
