import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { traceOf } from '../helpers/trace.js';
import { buildSim, roundCosts } from '../helpers/sim.js';
import type { PrefetchKind } from '../../src/policies/prefetch/index.js';
import { FETCH_DEMAND, FETCH_KIND_NAMES, FETCH_LOW_BIT, FETCH_PREFETCH, FETCH_STAGED } from '../../src/sim/ledger.js';

/** Random small traces: 1-3 sequences of 1-6 tokens over 3 layers of 6 experts, top-2. */
const traceArb = fc
  .array(fc.array(fc.array(fc.tuple(fc.nat(5), fc.nat(5)), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 })
  .map((seqs) => traceOf(seqs.map((s) => s.map((tok) => tok.map(([a, b]) => (a === b ? [a] : [a, b])))), 6));

const kinds: PrefetchKind[] = ['pregated', 'speculative', 'expertflow', 'moe-infinity'];

describe('the ledger', () => {
  it('charges each fetched byte once, by kind, as the link moved it; every prefetch issued is used or wasted, and its bytes are the link\'s', () => {
    const seen = { cancelled: 0, wasted: 0, late: 0, hits: 0 };
    fc.assert(
      fc.property(traceArb, fc.constantFrom(...kinds), fc.integer({ min: 1, max: 4 }), fc.constantFrom(0.5, 1, 3), fc.boolean(), fc.integer({ min: 1, max: 3 }), (trace, kind, capacity, bw, cancelStale, batchSize) => {
        const { sim } = buildSim(trace, {
          capacity,
          batchSize,
          prefetch: { kind },
          predictor: { kind: 'oracle', precision: 0.6, recall: 0.7 },
          cancelStale,
          costs: roundCosts(bw),
        });
        const c = sim.run();
        for (const k of ['cancelled', 'wasted', 'late', 'hits'] as const) seen[k] += c.prefetch[k];
        const f = sim.ledger.fetchedBytes;
        // Every byte the link moved is charged once, to one kind.
        expect(c.bytesH2D).toBe(sim.link.bytesMoved);
        expect(f.reduce((a, b) => a + b, 0)).toBe(sim.link.bytesMoved);
        expect(f[FETCH_LOW_BIT]).toBe(0);
        // Prefetches: what the plan issued (net of cancellations and drops) is what crossed the link as prefetches...
        expect(c.prefetch.issuedBytes).toBe(f[FETCH_PREFETCH]);
        expect(c.prefetch.issuedBytes).toBe(3 * c.prefetch.issued);
        // ... and each of them was used (at its gate, or late) or wasted.
        expect(c.prefetch.hits + c.prefetch.late + c.prefetch.wasted).toBe(c.prefetch.issued);
        expect(c.prefetch.usedBytes + c.prefetch.wastedBytes).toBe(c.prefetch.issuedBytes);
        // Demand fetches: one per miss, into a slot or a staging buffer.
        expect((f[FETCH_DEMAND] + f[FETCH_STAGED]) / 3).toBe(c.misses);
        // Stall, by cause, adds up to the layers' stall.
        expect(c.stallCapacitySec + c.stallMispredictionSec + c.stallLinkQueueSec + c.stallCpuSec + c.stallSsdSec).toBeCloseTo(c.stallSec, 9);
      }),
      { numRuns: 150, seed: 11 },
    );
    // The runs went through every prefetch outcome the ledger charges.
    for (const k of ['cancelled', 'wasted', 'late', 'hits'] as const) expect(seen[k]).toBeGreaterThan(0);
  });

  it('names each kind of fetched byte', () => {
    expect(FETCH_KIND_NAMES).toEqual(['demand', 'staged', 'prefetch', 'low-bit', 'stream']);
  });
});
