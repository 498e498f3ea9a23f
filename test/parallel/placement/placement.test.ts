import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createPlacement, placementPolicies } from '../../../src/parallel/placement/index.js';
import { placementObjective, crossCost } from '../../../src/parallel/placement/objective.js';
import { solveLayer } from '../../../src/parallel/placement/ilp.js';
import { balancedPacking, replicateExperts } from '../../../src/parallel/placement/eplb.js';
import { roundRobinPlacement } from '../../../src/parallel/placement/round-robin.js';
import { routeLoad } from '../../../src/parallel/placement/stats.js';
import { ownersOf, slotsUsed, type PlacementContext } from '../../../src/parallel/placement/types.js';
import type { PlacementSpec } from '../../../src/scenario/schema.js';
import { traceOf } from '../helpers.js';

/** A random small routing trace: E experts, top-K distinct per (token, layer), some absent routes. */
const arbCase = fc
  .record({ L: fc.integer({ min: 1, max: 3 }), shape: fc.constantFrom<[number, number]>([4, 2], [8, 2], [8, 4], [6, 3]), K: fc.integer({ min: 1, max: 2 }), T: fc.integer({ min: 2, max: 24 }), seed: fc.integer() })
  .map(({ L, shape: [E, G], K, T, seed }) => {
    let x = seed >>> 0 || 1;
    const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const routes = Array.from({ length: T }, () =>
      Array.from({ length: L }, () => {
        if (rnd() < 0.05) return [];
        // Skewed: expert popularity falls off with the id.
        const picked: number[] = [];
        while (picked.length < K) {
          const e = Math.floor(E * rnd() * rnd());
          if (!picked.includes(e)) picked.push(e);
        }
        return picked;
      }),
    );
    return { trace: traceOf(E, K, routes), G };
  });

const ctxOf = (c: { trace: ReturnType<typeof traceOf>; G: number }): PlacementContext => ({
  trace: c.trace,
  train: { from: 0, to: c.trace.tokens },
  gpus: c.G,
  gpusPerNode: c.G,
  computeSecPerToken: 3e-6,
  crossSecPerToken: 1e-6,
});

const specs: PlacementSpec[] = [
  { kind: 'round-robin' },
  { kind: 'eplb', redundantPerGpu: 1 },
  { kind: 'eplb', redundantPerGpu: 2 },
  { kind: 'exflow', maxNodes: 100000, relGap: 0 },
  { kind: 'moetuner', maxNodes: 100000, relGap: 0 },
  { kind: 'lina', intervalSteps: 4 },
];

describe('placement invariants', () => {
  test('the table covers every kind', () => {
    expect(Object.keys(placementPolicies).sort()).toEqual(['eplb', 'exflow', 'lina', 'moetuner', 'round-robin']);
  });

  test('every expert placed, on real GPUs, and no GPU over its slots (every policy)', async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, fc.constantFrom(...specs), async (c, spec) => {
        const { placement: p } = await createPlacement(ctxOf(c), spec);
        const { numLayers: L, numExperts: E } = c.trace;
        for (let k = 0; k < L * E; k++) {
          expect(p.repStart[k + 1] - p.repStart[k]).toBeGreaterThanOrEqual(1);
          for (let r = p.repStart[k]; r < p.repStart[k + 1]; r++) expect(p.repGpu[r] >= 0 && p.repGpu[r] < c.G).toBe(true);
        }
        for (let l = 0; l < L; l++) for (let g = 0; g < c.G; g++) expect(slotsUsed(p, l, g)).toBeLessThanOrEqual(p.slotsPerGpu);
        const extra = spec.kind === 'eplb' ? spec.redundantPerGpu : 0;
        expect(p.slotsPerGpu).toBe(E / c.G + extra);
        expect(p.repGpu.length).toBe(L * (E + extra * c.G));
      }),
      { numRuns: 30 },
    );
  });

  test("the ILP placements' objective is never worse than round-robin's on their own training trace", async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, fc.constantFrom<PlacementSpec>({ kind: 'moetuner', maxNodes: 100000, relGap: 0 }, { kind: 'exflow', maxNodes: 100000, relGap: 0 }), async (c, spec) => {
        const ctx = ctxOf(c);
        const { placement } = await createPlacement(ctx, spec);
        const load = routeLoad(c.trace, ctx.train);
        // Each policy's own objective: ExFlow prices crossings only, MoETuner load and crossings.
        const w = { computeSecPerToken: spec.kind === 'exflow' ? 0 : ctx.computeSecPerToken, crossSecPerToken: ctx.crossSecPerToken };
        const mine = placementObjective(c.trace, ctx.train, ownersOf(placement), c.G, w, load).totalSec;
        const rr = placementObjective(c.trace, ctx.train, ownersOf(roundRobinPlacement(c.G, c.trace.numLayers, c.trace.numExperts)), c.G, w, load).totalSec;
        expect(mine).toBeLessThanOrEqual(rr + 1e-12);
      }),
      { numRuns: 40 },
    );
  });

  test("each layer's program is solved to optimality (against every balanced assignment)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 6, maxLength: 6 }), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 12, maxLength: 12 }), async (load, cost) => {
        const E = 6, G = 2;
        const value = (owner: ArrayLike<number>) => {
          const per = [0, 0];
          let x = 0;
          for (let e = 0; e < E; e++) {
            per[owner[e]] += load[e];
            x += cost[e * G + owner[e]];
          }
          return 3 * Math.max(...per) + 2 * x;
        };
        let best = Infinity;
        for (let mask = 0; mask < 1 << E; mask++) {
          const owner = Array.from({ length: E }, (_, e) => (mask >> e) & 1);
          if (owner.filter((g) => g === 1).length === E / G) best = Math.min(best, value(owner));
        }
        const sol = await solveLayer({ numExperts: E, gpus: G, load, cost, wLoad: 3, wCross: 2, maxNodes: 100000, relGap: 0 });
        expect(sol.status).toBe('Optimal');
        expect(value(sol.owner!)).toBe(best);
      }),
      { numRuns: 30 },
    );
  });

  test('cross cost counts routes leaving the GPUs of the previous layer', () => {
    // Token 0: layer 0 expert 0 (GPU 0) -> layer 1 expert 1; token 1: layer 0 expert 1 (GPU 1) -> expert 1.
    const t = traceOf(2, 1, [[[0], [1]], [[1], [1]]]);
    const c = crossCost(t, { from: 0, to: 2 }, 1, [0, 1, 0, 1], 2);
    // Expert 1 on GPU 0: token 1 crosses; on GPU 1: token 0 crosses.
    expect([...c]).toEqual([0, 0, 1, 1]);
  });
});

describe('EPLB (deepseek-ai/EPLB eplb.py)', () => {
  test('replicate_experts gives each redundant slot to the largest load per replica', () => {
    expect([...replicateExperts([90, 30, 20, 10], 7)]).toEqual([4, 1, 1, 1]);
    expect([...replicateExperts([40, 40, 10, 10], 6)]).toEqual([2, 2, 1, 1]);
  });
  test('balanced_packing: heaviest first to the lightest pack with room, equal counts', () => {
    expect([...balancedPacking([10, 9, 8, 1], 2)]).toEqual([0, 1, 1, 0]);
  });
  test('packs are filled to exactly n / packs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 30, maxLength: 30 }), (packs, per, ws) => {
        const w = ws.slice(0, packs * per);
        if (w.length < packs * per) return;
        const p = balancedPacking(w, packs);
        const counts = new Array(packs).fill(0);
        for (const x of p) counts[x]++;
        expect(counts).toEqual(new Array(packs).fill(per));
      }),
    );
  });
});
