import { describe, expect, it } from 'vitest';
import { buildRequests, tokensNeeded } from '../../src/workload/requests.js';
import { servingWorkloadSchema, type ServingWorkload } from '../../src/workload/schema.js';
import { drawLength } from '../../src/workload/lengths.js';
import { createRng } from '../../src/rng/rng.js';
import { lengthsTrace } from '../helpers/serving.js';

const serving = (w: object): ServingWorkload => servingWorkloadSchema.parse({ kind: 'serving', arrivals: { kind: 'poisson', ratePerSec: 2 }, ...w });

describe('buildRequests', () => {
  it('one request per sequence, in order, when the trace has enough; outputs = the rest of the sequence', () => {
    const trace = lengthsTrace([5, 3, 4]);
    const t = buildRequests(trace, serving({ requests: 3, promptTokens: 2 }), createRng(1), '1');
    expect([...t.seq]).toEqual([0, 1, 2]);
    expect([...t.firstToken]).toEqual([0, 5, 8]);
    expect([...t.promptTokens]).toEqual([2, 2, 2]);
    expect([...t.outputTokens]).toEqual([4, 2, 3]); // P + O - 1 = length
    expect(t.reusedSequences).toBe(false);
    expect(t.notes).toEqual([]);
  });

  it('more requests than a trace may hold routes (2^29) is refused before anything is allocated (s28-badin: 1e9 was killed for memory)', () => {
    // a wide trace (4096 layers x top-8) keeps the limit small, so a broken check allocates little
    const trace = { ...lengthsTrace([5, 3, 4]), numLayers: 4096, topK: 8 };
    const limit = Math.floor(2 ** 29 / (trace.numLayers * trace.topK));
    expect(() => buildRequests(trace, serving({ requests: limit + 1, promptTokens: 2 }), createRng(1), '1')).toThrow(
      new RegExp(`^workload\\.requests: ${(limit + 1).toLocaleString('en-US')} requests of at least one token each route .* more than the limit of 536,870,912 a trace may hold; expected at most ${limit.toLocaleString('en-US')} requests$`),
    );
  });

  it('reuses sequences by seeded sampling when requests outnumber them, and says so', () => {
    const trace = lengthsTrace([40, 60]);
    const w = serving({ requests: 50, promptTokens: 4, outputTokens: { kind: 'uniform', min: 2, max: 10 }, window: 'random' });
    const a = buildRequests(trace, w, createRng(3), '3');
    const b = buildRequests(trace, w, createRng(3), '3');
    expect(a).toEqual(b);
    expect(a.reusedSequences).toBe(true);
    expect(new Set(a.seq).size).toBe(2);
    expect(a.notes.join('\n')).toMatch(/50 requests from a trace of 2 sequences: sequences are reused.*seed "3"/);
    const c = buildRequests(trace, w, createRng(4), '4');
    expect([...c.seq]).not.toEqual([...a.seq]);
  });

  it('never invents routing: every request fits in its sequence; cut requests are counted', () => {
    const trace = lengthsTrace([6, 30]);
    const w = serving({ requests: 40, promptTokens: { kind: 'uniform', min: 0, max: 8 }, outputTokens: { kind: 'uniform', min: 1, max: 20 }, window: 'random' });
    const t = buildRequests(trace, w, createRng(5), '5');
    let capped = 0;
    for (let r = 0; r < t.count; r++) {
      const s = trace.sequences[t.seq[r]];
      expect(t.outputTokens[r]).toBeGreaterThanOrEqual(1);
      expect(t.firstToken[r]).toBeGreaterThanOrEqual(s.start);
      expect(t.firstToken[r] + tokensNeeded(t.promptTokens[r], t.outputTokens[r])).toBeLessThanOrEqual(s.start + s.length);
      if (s.length === 6) capped++;
    }
    expect(t.capped).toBeGreaterThan(0);
    expect(t.capped).toBeLessThanOrEqual(capped);
    expect(t.notes.join('\n')).toMatch(/cut to fit their trace sequence/);
  });

  it('Poisson arrivals: ascending, mean gap 1 / rate; closed loop leaves them to the run', () => {
    const trace = lengthsTrace([10]);
    const t = buildRequests(trace, serving({ requests: 4000, arrivals: { kind: 'poisson', ratePerSec: 5 } }), createRng(9), '9');
    for (let r = 1; r < t.count; r++) expect(t.arrivalSec[r]).toBeGreaterThanOrEqual(t.arrivalSec[r - 1]);
    expect(t.arrivalSec[t.count - 1] / t.count).toBeCloseTo(0.2, 1);
    const c = buildRequests(trace, serving({ requests: 3, arrivals: { kind: 'closed', users: 2, thinkMs: 10 } }), createRng(9), '9');
    expect(c.closed).toEqual({ users: 2, thinkSec: 0.01 });
    expect([...c.arrivalSec].every(Number.isNaN)).toBe(true);
  });

  it('length distributions stay in range', () => {
    const rng = createRng(2);
    for (let i = 0; i < 500; i++) {
      const u = drawLength({ kind: 'uniform', min: 3, max: 7 }, rng);
      expect(u).toBeGreaterThanOrEqual(3);
      expect(u).toBeLessThanOrEqual(7);
      const l = drawLength({ kind: 'lognormal', median: 50, sigma: 1, min: 5, max: 300 }, rng);
      expect(l).toBeGreaterThanOrEqual(5);
      expect(l).toBeLessThanOrEqual(300);
    }
  });
});
