import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createPlacement, placementPolicies } from '../../../src/parallel/placement/index.js';
import { placementObjective, crossCost } from '../../../src/parallel/placement/objective.js';
import { solveLayer } from '../../../src/parallel/placement/ilp.js';
import { balancedPacking, replicateExperts } from '../../../src/parallel/placement/eplb.js';
import { roundRobinPlacement } from '../../../src/parallel/placement/round-robin.js';
import { contiguousPlacement } from '../../../src/parallel/placement/contiguous.js';
import { layerFlow, routeLoad } from '../../../src/parallel/placement/stats.js';
import { canonicalOwners, improveByLayers, jointObjective, solveJoint } from '../../../src/parallel/placement/joint.js';
import { chainOptimum } from '../../../src/parallel/placement/chain-dp.js';
import { assignmentChain, decomposedBound } from '../../../src/parallel/placement/bound.js';
import { moetunerJoint } from '../../../src/parallel/placement/moetuner.js';
import { loadTrace } from '../../../src/trace/load.js';
import { createRng } from '../../../src/rng/rng.js';
import { join } from 'node:path';
import { ownersOf, slotsUsed, type PlacementContext } from '../../../src/parallel/placement/types.js';
import type { PlacementSpec } from '../../../src/scenario/schema.js';
import { traceOf } from '../helpers.js';

/** A random small routing trace: E experts, top-K distinct per (token, layer), some absent routes. */
const arbCase = fc
  .record({ L: fc.integer({ min: 1, max: 3 }), shape: fc.constantFrom<[number, number]>([4, 2], [8, 2], [8, 4], [6, 3], [4, 4]), K: fc.integer({ min: 1, max: 2 }), T: fc.integer({ min: 2, max: 24 }), seed: fc.integer() })
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
  { kind: 'contiguous' },
  { kind: 'eplb', redundantPerGpu: 1 },
  { kind: 'eplb', redundantPerGpu: 2 },
  { kind: 'exflow', maxNodes: 100000, relGap: 0 },
  { kind: 'moetuner', program: 'per-layer', maxNodes: 100000, relGap: 0, jointMaxNodes: 1 },
  { kind: 'moetuner', program: 'joint', maxNodes: 100000, relGap: 0, jointMaxNodes: 50 },
  { kind: 'moetuner', program: 'two-stage', maxNodes: 100000, relGap: 0, jointMaxNodes: 1 },
  { kind: 'lina', intervalSteps: 4 },
];

describe('eplb: replicas', () => {
  test('more slots per GPU than the layer has experts is refused by field (s28-badin: ran with an expert beside itself)', async () => {
    const trace = traceOf(8, 2, [[[0, 1]], [[2, 3]]]);
    await expect(async () => createPlacement(ctxOf({ trace, G: 2 }), { kind: 'eplb', redundantPerGpu: 5 })).rejects.toThrow(/^redundantPerGpu: 5 gives each GPU 9 expert slots per layer, more than the model's 8 experts; expected at most 4$/);
    await expect((async () => createPlacement(ctxOf({ trace, G: 2 }), { kind: 'eplb', redundantPerGpu: 4 }))()).resolves.toBeDefined();
  });
});

describe('placement invariants', () => {
  test('the table covers every kind', () => {
    expect(Object.keys(placementPolicies).sort()).toEqual(['contiguous', 'eplb', 'exflow', 'lina', 'moetuner', 'round-robin']);
  });

  test("contiguous is Megatron-LM's layout: EP rank g holds experts g x E/G .. (g+1) x E/G - 1 of every layer", () => {
    const owners = [...ownersOf(contiguousPlacement(4, 2, 8))];
    expect(owners).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3]);
    // It differs from round-robin (e mod G) whenever a GPU holds more than one expert, and equals it at E = G.
    expect(owners).not.toEqual([...ownersOf(roundRobinPlacement(4, 2, 8))]);
    expect([...ownersOf(contiguousPlacement(8, 1, 8))]).toEqual([...ownersOf(roundRobinPlacement(8, 1, 8))]);
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
        if (spec.kind === 'moetuner' && spec.program === 'two-stage') {
          // MoETuner's memory balance is over the model: every GPU L E / G experts, at least one of every layer.
          for (let g = 0; g < c.G; g++) {
            let held = 0;
            for (let l = 0; l < L; l++) {
              expect(slotsUsed(p, l, g)).toBeGreaterThanOrEqual(1);
              held += slotsUsed(p, l, g);
            }
            expect(held).toBe((L * E) / c.G);
          }
        } else expect(p.slotsPerGpu).toBe(E / c.G + extra);
        expect(p.repGpu.length).toBe(L * (E + extra * c.G));
      }),
      { numRuns: 30 },
    );
  });

  test("the ILP placements' objective is never worse than round-robin's on their own training trace", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbCase,
        fc.constantFrom<PlacementSpec>(
          { kind: 'moetuner', program: 'per-layer', maxNodes: 100000, relGap: 0, jointMaxNodes: 1 },
          { kind: 'moetuner', program: 'joint', maxNodes: 100000, relGap: 0, jointMaxNodes: 20 },
          { kind: 'exflow', maxNodes: 100000, relGap: 0 },
        ),
        async (c, spec) => {
        const ctx = ctxOf(c);
        const { placement } = await createPlacement(ctx, spec);
        const load = routeLoad(c.trace, ctx.train);
        const rrOwner = ownersOf(roundRobinPlacement(c.G, c.trace.numLayers, c.trace.numExperts));
        if (spec.kind === 'moetuner' && spec.program === 'joint') {
          // The joint program's own objective (pairwise inter-layer dependency), evaluated without the solver.
          const prog = { numLayers: c.trace.numLayers, numExperts: c.trace.numExperts, gpus: c.G, load, flow: layerFlow(c.trace, ctx.train), wLoad: ctx.computeSecPerToken, wCross: ctx.crossSecPerToken };
          expect(jointObjective(prog, ownersOf(placement)).total).toBeLessThanOrEqual(jointObjective(prog, rrOwner).total + 1e-12);
          return;
        }
        // Each policy's own objective: ExFlow prices crossings only, MoETuner load and crossings.
        const w = { computeSecPerToken: spec.kind === 'exflow' ? 0 : ctx.computeSecPerToken, crossSecPerToken: ctx.crossSecPerToken };
        const mine = placementObjective(c.trace, ctx.train, ownersOf(placement), c.G, w, load).totalSec;
        const rr = placementObjective(c.trace, ctx.train, rrOwner, c.G, w, load).totalSec;
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

/** Every balanced assignment of E experts to G GPUs (P = E / G each), as owner arrays. */
function balanced(E: number, G: number): number[][] {
  const out: number[][] = [];
  const o = new Array<number>(E).fill(0);
  const cnt = new Array<number>(G).fill(0);
  const rec = (e: number) => {
    if (e === E) return void out.push([...o]);
    for (let g = 0; g < G; g++) {
      if (cnt[g] === E / G) continue;
      o[e] = g;
      cnt[g]++;
      rec(e + 1);
      cnt[g]--;
    }
  };
  rec(0);
  return out;
}

/** Random small placement programs: L layers, E experts, G GPUs, T tokens of one or two experts a layer. */
const arbProgram = (shapes: [number, number, number][]) =>
  fc.record({ shape: fc.constantFrom(...shapes), T: fc.integer({ min: 2, max: 16 }), seed: fc.integer(), wLoad: fc.integer({ min: 0, max: 5 }), wCross: fc.integer({ min: 0, max: 5 }) }).map(({ shape: [L, E, G], T, seed, wLoad, wCross }) => {
    let x = seed >>> 0 || 1;
    const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const routes = Array.from({ length: T }, () => Array.from({ length: L }, () => {
      const a = Math.floor(E * rnd() * rnd());
      let b = Math.floor(E * rnd());
      if (b === a) b = (a + 1) % E;
      return rnd() < 0.5 ? [a] : [a, b];
    }));
    const trace = traceOf(E, 2, routes);
    const range = { from: 0, to: T };
    return { L, E, G, prog: { numLayers: L, numExperts: E, gpus: G, load: routeLoad(trace, range), flow: layerFlow(trace, range), wLoad, wCross } };
  });


describe("MoETuner's joint program over all layers (joint.ts)", () => {
  const arbJoint = arbProgram([[2, 4, 2], [3, 4, 2], [2, 6, 2], [2, 6, 3], [3, 6, 2]]);

  test('solved to optimality, it equals the best of every balanced placement of every layer (exhaustive)', async () => {
    await fc.assert(
      fc.asyncProperty(arbJoint, async ({ L, E, G, prog }) => {
        const per = balanced(E, G);
        let best = Infinity;
        const owner = new Int32Array(L * E);
        const rec = (l: number) => {
          if (l === L) return void (best = Math.min(best, jointObjective(prog, owner).total));
          for (const o of per) {
            owner.set(o, l * E);
            rec(l + 1);
          }
        };
        rec(0);
        const sol = await solveJoint({ ...prog, maxNodes: 1_000_000, relGap: 0 });
        // The dynamic program over the layer chain finds the same optimum, and its placement attains it.
        const dp = chainOptimum(prog)!;
        expect(dp.total).toBeCloseTo(best, 9);
        expect(jointObjective(prog, dp.owner).total).toBeCloseTo(best, 9);
        expect(sol.status).toBe('Optimal');
        expect(jointObjective(prog, sol.owner!).total).toBeCloseTo(best, 9);
        expect(sol.objective).toBeCloseTo(best, 6);
      }),
      { numRuns: 25 },
    );
  });

  test('a warm start is kept: after one node the incumbent is no worse than the start; descent never raises the objective', async () => {
    await fc.assert(
      fc.asyncProperty(arbJoint, fc.integer({ min: 0, max: 1000 }), async ({ L, E, G, prog }, pick) => {
        const per = balanced(E, G);
        const start = new Int32Array(L * E);
        for (let l = 0; l < L; l++) start.set(per[(pick * (l + 7)) % per.length], l * E);
        const v0 = jointObjective(prog, start).total;
        const imp = await improveByLayers({ ...prog, maxNodes: 100000, relGap: 0 }, start, 4);
        expect(jointObjective(prog, imp.owner).total).toBeLessThanOrEqual(v0 + 1e-9);
        const sol = await solveJoint({ ...prog, start, maxNodes: 1, relGap: 0 });
        if (sol.owner) expect(jointObjective(prog, sol.owner).total).toBeLessThanOrEqual(v0 + 1e-9);
        expect(sol.objective).toBeLessThanOrEqual(v0 + 1e-6);
        if (Number.isFinite(sol.dualBound)) expect(sol.dualBound).toBeLessThanOrEqual(sol.objective + 1e-6);
      }),
      { numRuns: 25 },
    );
  });

  test("the placement's note says what HiGHS proved: status, nodes, and the dual bound and gap when not optimal", async () => {
    const c = fc.sample(arbCase.filter((x) => x.trace.numLayers >= 2 && x.G === 2), { numRuns: 1, seed: 7 })[0];
    const { note } = await createPlacement(ctxOf(c), { kind: 'moetuner', program: 'joint', maxNodes: 1000, relGap: 0, jointMaxNodes: 1 });
    expect(note).toMatch(/^MoETuner joint ILP \(HiGHS, \d+ columns, \d+ rows\): (Optimal|Node limit reached) after -?\d+ nodes/);
    if (!/: Optimal after/.test(note)) expect(note).toMatch(/HiGHS dual bound [\d.]+ us \(its gap [\d.]+%\)/);
    expect(note).toMatch(/round-robin [\d.]+ us on the training tokens; decomposed bound [\d.]+ us, exact optimum by dynamic programming over the layers \(\d+ assignments a layer\) [\d.]+ us; proven gap [\d.]+%$/);
  });

  test('the objective by hand, and the symmetry relabelling leaves it unchanged', () => {
    // Layer 0 -> 1: token 0 routes 0 -> 1, token 1 routes 1 -> 1, token 2 routes 2 -> 3 (E = 4, one expert each).
    const t = traceOf(4, 1, [[[0], [1]], [[1], [1]], [[2], [3]]]);
    const range = { from: 0, to: 3 };
    const prog = { numLayers: 2, numExperts: 4, gpus: 2, load: routeLoad(t, range), flow: layerFlow(t, range), wLoad: 10, wCross: 1 };
    // Layer 0: {0,1} on GPU 1, {2,3} on GPU 0; layer 1: {1,3} on GPU 1, {0,2} on GPU 0.
    const owner = [1, 1, 0, 0, 0, 1, 0, 1];
    // Busiest GPU: layer 0 GPU 1 has 2 routes, layer 1 GPU 1 has 3. Crossings: 2 -> 3 (GPU 0 -> 1) only.
    expect(jointObjective(prog, owner)).toMatchObject({ total: 10 * 2 + 10 * 3 + 1 });
    const c = canonicalOwners(owner, 4, 2);
    expect([...c]).toEqual([0, 0, 1, 1, 1, 0, 1, 0]);
    expect(jointObjective(prog, c).total).toBe(jointObjective(prog, owner).total);
  });
});

describe('the decomposed lower bound (bound.ts)', () => {
  const exhaustive = (L: number, E: number, G: number, f: (o: Int32Array) => number) => {
    const per = balanced(E, G);
    let best = Infinity;
    const owner = new Int32Array(L * E);
    const rec = (l: number) => {
      if (l === L) return void (best = Math.min(best, f(owner)));
      for (const o of per) {
        owner.set(o, l * E);
        rec(l + 1);
      }
    };
    rec(0);
    return best;
  };

  test('never above the optimum (exhaustive), and equal to it with one expert per GPU, where assignmentChain attains it', async () => {
    await fc.assert(
      fc.asyncProperty(arbProgram([[2, 4, 2], [3, 4, 2], [2, 6, 3], [3, 6, 2], [2, 3, 3], [3, 4, 4], [4, 3, 3]]), async ({ L, E, G, prog }) => {
        const best = exhaustive(L, E, G, (o) => jointObjective(prog, o).total);
        const lb = await decomposedBound(prog);
        expect(lb.total).toBeLessThanOrEqual(best + 1e-9);
        expect(lb.exact).toBe(E === G);
        if (lb.exact) {
          expect(lb.total).toBeCloseTo(best, 9);
          expect(jointObjective(prog, assignmentChain(E, L, lb.chosen)).total).toBeCloseTo(best, 9);
        }
      }),
      { numRuns: 40 },
    );
  });

  test("the shipped Mixtral trace (scenarios/parallel-mixtral*.yaml: 2, 4 and 8 GPUs, first half trained): MoETuner's placements never worse than round-robin's on the joint objective, a proven gap reported (0 at 8 GPUs)", async () => {
    const trace = await loadTrace({ path: join(import.meta.dirname, '../../../traces/mixtral-8x7b-instruct/humaneval-decode.jsonl') }, '.', createRng(1));
    const train = { from: 0, to: Math.round(trace.tokens / 2) };
    // Prices of the 8x H100 scenario's order (3 ns a token-expert, 20 ns a crossing); the property does not depend on them.
    const base = { trace, train, computeSecPerToken: 3e-9, crossSecPerToken: 2e-8 };
    for (const G of [2, 4, 8]) {
      const ctx: PlacementContext = { ...base, gpus: G, gpusPerNode: G };
      const prog = { numLayers: trace.numLayers, numExperts: trace.numExperts, gpus: G, load: routeLoad(trace, train), flow: layerFlow(trace, train), wLoad: 3, wCross: 20 };
      const rr = jointObjective(prog, ownersOf(roundRobinPlacement(G, trace.numLayers, trace.numExperts))).total;
      const per = await createPlacement(ctx, { kind: 'moetuner', program: 'per-layer', maxNodes: 2000, relGap: 0.01, jointMaxNodes: 1 });
      const perObj = jointObjective(prog, ownersOf(per.placement)).total;
      expect(perObj).toBeLessThanOrEqual(rr);
      const m = /: ([\d.]+)% above the best bound$/.exec(per.note);
      expect(m).not.toBeNull();
      if (G === 8) {
        // One expert per GPU: the joint program is solved exactly (no branch and bound), its gap is 0.
        const j = await moetunerJoint(ctx, { maxNodes: 2000, relGap: 0.01, jointMaxNodes: 1 }, ownersOf(per.placement));
        expect(j.objective).toBeLessThanOrEqual(j.roundRobinObjective);
        expect(j.gap).toBeLessThan(1e-9);
        expect(j.objective).toBeLessThanOrEqual(perObj * (1 + 1e-9));
      }
    }
  }, 120_000);
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
