import { describe, expect, it } from 'vitest';
import { UnionStats } from '../../src/workload/union-stats.js';
import type { Step } from '../../src/trace/steps.js';
import { traceOf } from '../helpers/trace.js';

const stepOf = (tokens: number[], prefill = false): Step => ({
  index: 0,
  count: tokens.length,
  tokens: Int32Array.from(tokens),
  contextTokens: 0,
  kvTokens: 0,
  emitSeq: new Int32Array(0),
  emitCount: 0,
  startSeq: new Int32Array(0),
  startCount: 0,
  prefill,
});

describe('UnionStats', () => {
  // 4 tokens, 2 layers, 4 experts.
  const trace = traceOf([[[[0, 1], [2]], [[1], [3]], [[2, 3], [2]], [[0], null]]], 4);

  it('distinct experts per layer, by step kind', () => {
    const s = new UnionStats(trace, 4);
    s.record(stepOf([0, 1]));
    s.record(stepOf([2, 3]));
    s.record(stepOf([0, 1, 2, 3], true));
    expect([...s.decodePerLayer]).toEqual([2 + 3, 2 + 1]);
    expect([...s.prefillPerLayer]).toEqual([4, 2]);
    expect([s.decodeSteps, s.prefillSteps, s.decodeTokens]).toEqual([2, 1, 4]);
  });

  it('counts decode tokens that share a micro-batch with a token of identical routing', () => {
    const s = new UnionStats(trace, 4);
    s.record(stepOf([1, 1, 2, 1]));
    expect(s.twinTokens).toBe(3);
    s.record(stepOf([0, 2, 3]));
    expect(s.twinTokens).toBe(3);
    s.record(stepOf([2, 2, 2], true)); // prefill passes are not counted
    expect(s.twinTokens).toBe(3);
  });
});
