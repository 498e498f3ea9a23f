import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  clusterDeviation,
  clusterLayer,
  clusterMapChain,
  clusterMapObjective,
  greedyClusters,
  memoryBalanced,
  moetunerTwoStage,
  solveClusterMap,
  type ClusterMapProgram,
} from '../../../src/parallel/placement/two-stage.js';
import { createPlacement } from '../../../src/parallel/placement/index.js';
import { slotsUsed } from '../../../src/parallel/placement/types.js';
import { traceOf } from '../helpers.js';

const exact = { maxNodes: 100000, relGap: 0 };

/** Every map of E items to G labels (G^E of them). */
function* labellings(E: number, G: number): Generator<number[]> {
  const a = new Array<number>(E).fill(0);
  for (;;) {
    yield a.slice();
    let i = 0;
    while (i < E && ++a[i] === G) a[i++] = 0;
    if (i === E) return;
  }
}

/** Every one-to-one map of L layers' G clusters to G GPUs, layer by layer. */
function* layerMaps(L: number, G: number): Generator<number[]> {
  for (const a of labellings(L * G, G)) {
    let ok = true;
    for (let l = 0; l < L && ok; l++) ok = new Set(a.slice(l * G, (l + 1) * G)).size === G;
    if (ok) yield a;
  }
}

describe("MoETuner's ILP 1: token-balanced clusters", () => {
  test('by hand: loads 50, 30, 20, 10, 10 in 2 clusters: {50, 10} and {30, 20, 10}, deviation 0 (sizes 2 and 3: the count is free)', async () => {
    const { cluster } = await clusterLayer([50, 30, 20, 10, 10], 2, exact);
    expect(clusterDeviation([50, 30, 20, 10, 10], cluster, 2)).toBe(0);
    const sizes = [0, 0];
    for (const c of cluster) sizes[c]++;
    expect(sizes.sort()).toEqual([2, 3]);
  });

  test('its optimum equals the best of every labelling with no empty cluster (and with exactly E/G a cluster when asked)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 6, maxLength: 6 }), fc.constantFrom(2, 3), async (load, G) => {
        let best = Infinity, bestSized = Infinity;
        for (const a of labellings(6, G)) {
          const sizes = new Array<number>(G).fill(0);
          for (const c of a) sizes[c]++;
          if (sizes.some((n) => n === 0)) continue;
          const d = clusterDeviation(load, a, G);
          best = Math.min(best, d);
          if (sizes.every((n) => n === 6 / G)) bestSized = Math.min(bestSized, d);
        }
        const free = await clusterLayer(load, G, exact);
        expect(clusterDeviation(load, free.cluster, G)).toBeCloseTo(best, 9);
        const sized = await clusterLayer(load, G, exact, 6 / G);
        expect(clusterDeviation(load, sized.cluster, G)).toBeCloseTo(bestSized, 9);
        for (let c = 0; c < G; c++) expect(free.cluster.includes(c)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });
});

describe("ILP 1's start (greedy, heaviest first to the lightest cluster)", () => {
  test('by hand: 9, 7, 5, 3, 1 in 2 clusters: {9, 3, 1} and {7, 5}; with 2 a cluster from 4 experts {9, 3} and {7, 5}', () => {
    expect([...greedyClusters([9, 7, 5, 3, 1], 2)]).toEqual([0, 1, 1, 0, 0]);
    expect([...greedyClusters([9, 7, 5, 3], 2, 2)]).toEqual([0, 1, 1, 0]);
  });

  test('no cluster left empty, sizes respected; with a node limit of 1 HiGHS returns no worse than the start', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 12, maxLength: 12 }), fc.constantFrom(2, 3, 4), fc.boolean(), async (load, G, sized) => {
        const size = sized ? 12 / G : undefined;
        const g = greedyClusters(load, G, size);
        for (let c = 0; c < G; c++) {
          const n = [...g].filter((x) => x === c).length;
          expect(n).toBeGreaterThanOrEqual(1);
          if (size !== undefined) expect(n).toBe(size);
        }
        expect(g[0]).toBe(0);
        const r = await clusterLayer(load, G, { maxNodes: 1, relGap: 0 }, size);
        expect(clusterDeviation(load, r.cluster, G)).toBeLessThanOrEqual(clusterDeviation(load, g, G));
      }),
      { numRuns: 25 },
    );
  });
});

describe("MoETuner's ILP 2: clusters to GPUs", () => {
  // 3 layers, 3 GPUs; the traffic and cluster sizes (each >= 1, 6 experts a layer) drawn at random.
  const arbProgram = fc
    .record({
      traffic: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 18, maxLength: 18 }),
      sizes: fc.array(fc.constantFrom([2, 2, 2], [1, 2, 3], [3, 2, 1], [4, 1, 1], [1, 1, 4]), { minLength: 3, maxLength: 3 }),
      nodes: fc.constantFrom(1, 3),
    })
    .map(({ traffic, sizes, nodes }): ClusterMapProgram => {
      const G = 3;
      const price = new Float64Array(G * G);
      // One node: every pair at 1 ns a token; three nodes of one GPU: 9 ns (the inter-node link's 9x).
      for (let g = 0; g < G; g++) for (let h = 0; h < G; h++) if (g !== h) price[g * G + h] = nodes === 1 ? 1 : 9;
      return { numLayers: 3, gpus: G, traffic, size: sizes.flat(), price, perGpu: 6 };
    });

  test('the dynamic program equals the best balanced map by enumeration, and HiGHS reaches the same optimum', async () => {
    await fc.assert(
      fc.asyncProperty(arbProgram, async (p) => {
        let best = Infinity;
        for (const m of layerMaps(3, 3)) if (memoryBalanced(p, m)) best = Math.min(best, clusterMapObjective(p, m));
        const dp = clusterMapChain(p);
        expect(dp.objective).toBe(best);
        if (Number.isFinite(best)) {
          expect(memoryBalanced(p, dp.gpuOf)).toBe(true);
          expect(clusterMapObjective(p, dp.gpuOf)).toBe(best);
        }
        const h = await solveClusterMap(p, exact, p.price[1] === p.price[3]);
        if (!Number.isFinite(best)) expect(h.gpuOf).toBeUndefined();
        else {
          expect(memoryBalanced(p, h.gpuOf!)).toBe(true);
          expect(clusterMapObjective(p, h.gpuOf!)).toBeCloseTo(best, 6);
        }
      }),
      { numRuns: 20 },
    );
  }, 120_000);

  test('by hand: 2 layers, 2 GPUs, 10 tokens from cluster 0 to cluster 1 and 1 from 0 to 0: the 10 stay on one GPU, 1 ns x 1 crosses', () => {
    const p: ClusterMapProgram = { numLayers: 2, gpus: 2, traffic: [1, 10, 0, 0], size: [1, 1, 1, 1], price: [0, 1, 1, 0], perGpu: 2 };
    const r = clusterMapChain(p);
    expect(r.objective).toBe(1);
    expect(r.gpuOf[0]).toBe(r.gpuOf[3]); // layer 0's cluster 0 with layer 1's cluster 1
  });
});

describe('the two-stage placement', () => {
  // 8 experts, 2 layers, top-1, 32 tokens; in both layers the loads are 8, 4, 4, 4, 4, 3, 3, 2 (mean 8 a
  // cluster of 4 GPUs), whose only zero-deviation clusters are {8}, {4, 4}, {4, 4}, {3, 3, 2}: sizes 1, 2, 2, 3.
  const list = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7, 7];
  const hot = traceOf(8, 1, list.map((e, t) => [[e], [list[(t + 5) % 32]]]));
  const ctxOf = (trace: typeof hot) => ({ trace, train: { from: 0, to: trace.tokens }, gpus: 4, gpusPerNode: 4, computeSecPerToken: 1e-9, crossSecPerToken: 1e-8 });

  test("the hot expert gets a GPU of its own in each layer, and that GPU holds 3 of the other layer's: 4 experts per GPU over the model", async () => {
    const r = await moetunerTwoStage(ctxOf(hot), exact);
    expect(r.note).toContain('ILP 1 free sizes');
    expect(r.note).not.toContain('then');
    for (const l of [0, 1]) {
      const g = r.placement.repGpu[r.placement.repStart[l * 8]];
      expect(slotsUsed(r.placement, l, g)).toBe(1);
      expect(slotsUsed(r.placement, 1 - l, g)).toBe(3);
    }
    for (let g = 0; g < 4; g++) expect(slotsUsed(r.placement, 0, g) + slotsUsed(r.placement, 1, g)).toBe(4);
    expect(r.placement.slotsPerGpu).toBe(3);
  });

  test('when the free cluster sizes cannot balance memory (one layer with a hot expert, one uniform), ILP 1 is re-solved with E/G experts a cluster', async () => {
    const uniform = traceOf(8, 1, list.map((e, t) => [[e], [t % 8]]));
    const plan = await createPlacement(ctxOf(uniform), { kind: 'moetuner', program: 'two-stage', maxNodes: 100000, relGap: 0, jointMaxNodes: 1 });
    expect(plan.note).toContain('no balanced map; then ILP 1 2 experts a cluster');
    const p = plan.placement;
    expect(p.repGpu.length).toBe(16);
    for (let l = 0; l < 2; l++) for (let g = 0; g < 4; g++) expect(slotsUsed(p, l, g)).toBe(2);
  });
});
