import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { topExperts } from '../../src/trace/top.js';

describe('topExperts', () => {
  it('equals sorting by (score desc, id asc) and taking k (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(0, 0.1, 0.5, 0.5, 1, 2, -1), { minLength: 1, maxLength: 40 }), fc.nat(45), fc.boolean(), (xs, k, pos) => {
        const scores = Float64Array.from(xs);
        const out = new Int32Array(scores.length + 1);
        const kk = Math.min(k, scores.length);
        const n = topExperts(scores, kk, out, pos);
        const ref = xs
          .map((s, e) => [s, e] as const)
          .filter(([s]) => !pos || s > 0)
          .sort((a, b) => b[0] - a[0] || a[1] - b[1])
          .slice(0, kk)
          .map(([, e]) => e);
        expect([...out.slice(0, n)]).toEqual(ref);
      }),
      { numRuns: 500 },
    );
  });
});
