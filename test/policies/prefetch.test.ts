import { describe, expect, it } from 'vitest';
import { prefetchPolicies } from '../../src/policies/prefetch/index.js';
import type { PrefetchView } from '../../src/policies/prefetch/types.js';

/** A view with scores[layer][expert]; plans are collected as "layer/expert@priority". */
function plan(kind: keyof typeof prefetchPolicies, params: object, scores: number[][], known: number, setValued = false, topK = 1, stepTokens = 1, gateAgreed = false): string[] | 'kept' {
  const view: PrefetchView = { numLayers: scores.length, numExperts: scores[0].length, topK, stepTokens, setValued, gateAgreed, scores: (l, out) => out.set(scores[l]) };
  const out: string[] = [];
  const create = prefetchPolicies[kind].create as (p: object) => ReturnType<typeof prefetchPolicies.expertflow.create>;
  const r = create(params).plan(view, known, { add: (key, prio) => out.push(`${Math.floor(key / view.numExperts)}/${key % view.numExperts}@${prio}`) });
  return r === false ? 'kept' : out;
}

const S = [
  [0.9, 0.1, 0, 0],
  [0.2, 0.7, 0.6, 0],
  [0, 0, 0.3, 0.8],
];

describe('prefetch policies', () => {
  it('pregated plans exactly the next layer, nothing before the first gate', () => {
    expect(plan('pregated', {}, S, 0, true)).toEqual([]);
    expect(plan('pregated', {}, S, 1, true)).toEqual(['1/1@0', '1/2@0', '1/0@0']);
    expect(plan('pregated', {}, S, 3, true)).toEqual([]);
  });

  it('speculative takes the best `experts` guesses of the next `lookahead` layers, nearest first', () => {
    expect(plan('speculative', { lookahead: 1 }, S, 0)).toEqual([]);
    expect(plan('speculative', { lookahead: 1 }, S, 1)).toEqual(['1/1@0']);
    expect(plan('speculative', { lookahead: 2, experts: 2 }, S, 1)).toEqual(['1/1@0', '1/2@0', '2/3@1', '2/2@1']);
    // Default: topK x tokens in the step.
    expect(plan('speculative', { lookahead: 1 }, S, 1, false, 1, 2)).toEqual(['1/1@0', '1/2@0']);
  });

  it('expertflow plans every remaining layer (or `lookahead` of them) from the start of the pass', () => {
    expect(plan('expertflow', {}, S, 0)).toEqual(['0/0@0', '1/1@1', '2/3@2']);
    expect(plan('expertflow', { lookahead: 2 }, S, 0)).toEqual(['0/0@0', '1/1@1']);
    expect(plan('expertflow', {}, S, 2)).toEqual(['2/3@0']);
    // A gate that agreed with the plan keeps it; at the start of a pass there is no gate to agree.
    expect(plan('expertflow', {}, S, 2, false, 1, 1, true)).toBe('kept');
    expect(plan('expertflow', {}, S, 0, false, 1, 1, true)).toEqual(['0/0@0', '1/1@1', '2/3@2']);
    expect(plan('moe-infinity', { decay: true }, S, 2, false, 1, 1, true)).toEqual(['2/3@0']);
    expect(prefetchPolicies.expertflow.create({}).cancelStale).toBe(true);
    expect(prefetchPolicies.speculative.create({ lookahead: 1 }).cancelStale).toBe(false);
  });

  it('moe-infinity orders all remaining layers by score x (1 - distance / layers)', () => {
    // From known 0: 0/0 0.9, 1/1 0.7 x 2/3 = 0.467, 1/2 0.4, 2/3 0.8 x 1/3 = 0.267, 2/2 0.1, 0/1 0.1.
    expect(plan('moe-infinity', { experts: 2, decay: true }, S, 0)).toEqual(['0/0@0', '1/1@1', '1/2@2', '2/3@3', '0/1@4', '2/2@5']);
    // Without decay: by score alone.
    expect(plan('moe-infinity', { experts: 1, decay: false }, S, 0)).toEqual(['0/0@0', '2/3@1', '1/1@2']);
  });
});
