import { describe, expect, it } from 'vitest';
import { showTrace } from '../../src/trace/show.js';
import { InputError } from '../../src/util/errors.js';
import { traceOf } from './helpers.js';

describe('showTrace (moesim trace head|show)', () => {
  const one = traceOf(4, [[[[0, 1], [2, 3]], [[1, 2], null]]]);

  it('counts sequences in the header with the right number', () => {
    const lines = showTrace(one);
    expect(lines[0]).toBe('2 tokens in 1 sequence, 2 layers (ids 0, 1), 4 experts, top-2');
    expect(lines.slice(1)).toEqual(['s0\t0\tL0: 0,1  L1: 2,3', 's0\t1\tL0: 1,2  L1: -']);
    expect(showTrace(traceOf(4, [[[[0, 1]]], [[[2, 3]]]]))[0]).toMatch(/^2 tokens in 2 sequences,/);
  });

  it('refuses an unknown --sequence as bad input, naming the ids it has', () => {
    const named = { ...one, source: { ...one.source, path: 'r.moesim' } };
    expect(() => showTrace(named, { sequence: '1' })).toThrow(InputError);
    expect(() => showTrace(named, { sequence: '1' })).toThrow(/^r\.moesim: --sequence 1: no such sequence; expected one of its 1 sequence ids: "s0"$/);
    expect(showTrace(named, { sequence: 's0', tokens: 1 })).toHaveLength(2);
  });
});
