import { describe, expect, test } from 'vitest';
import { simulateEp, type EpStep } from '../../src/parallel/ep-sim.js';
import { roundRobin, roundRobinPlacement } from '../../src/parallel/placement/round-robin.js';
import { CollectiveCosts } from '../../src/timing/collectives.js';
import { ExpertCache } from '../../src/policies/expert-cache.js';
import { lru } from '../../src/policies/lru.js';
import { placementFromLists } from '../../src/parallel/placement/types.js';
import { repack } from '../../src/parallel/placement/lina.js';
import { roundCosts, slowLink, traceOf } from './helpers.js';

// Two GPUs, four experts (round-robin: 0, 2 on GPU 0; 1, 3 on GPU 1), one MoE layer, top-1.
// Token 0 (home GPU 0) goes to expert 1, token 1 (home GPU 1) to expert 3: GPU 1 does all the work.
const trace = traceOf(4, 1, [[[1]], [[3]]]);
const step: EpStep = { tokens: Int32Array.from([0, 1]), context: Float64Array.from([1, 1]), kv: Float64Array.from([1, 1]) };
const collectives = new CollectiveCosts({ gpus: 2, gpusPerNode: 2, intra: slowLink, inter: slowLink }, 'direct');
const plan = { placement: roundRobinPlacement(2, 1, 4), note: '' };

const spans = (r: ReturnType<typeof simulateEp>) => r.timeline.map((s) => [s.gpu, s.kind, s.startSec, s.endSec]);

describe('expert parallelism on two GPUs', () => {
  test('dispatch, compute, combine, and the slowest GPU ending the layer', () => {
    const r = simulateEp({ trace, steps: [step], plan, costs: roundCosts, collectives, attention: 'data', timelineSteps: 1 });
    expect(spans(r)).toEqual([
      [0, 'attention', 0, 1],
      [1, 'attention', 0, 1],
      // Token 0's 100 bytes GPU 0 -> GPU 1: 1 s latency + 100 B / 100 B/s, starting when both finished attention.
      [0, 'dispatch', 1, 3],
      [1, 'dispatch', 1, 3],
      // GPU 0 holds no routed token; GPU 1 runs experts 1 and 3, 2 s each.
      [1, 'expert', 3, 5],
      [1, 'expert', 5, 7],
      // Combine starts when the slowest GPU (GPU 1) is done: t = 7.
      [0, 'combine', 7, 9],
      [1, 'combine', 7, 9],
    ]);
    expect(r.stepSec).toEqual([9]);
    expect(r.layers[0].imbalance).toBe(2); // 4 s on GPU 1 against a mean of 2 s
    expect(r.layers[0].collectiveBytes).toBe(200);
    expect(r.layers[0].collectiveSec).toBe(4);
    expect(r.gpus.map((g) => g.busySec)).toEqual([1, 5]);
  });

  test("offloaded: GPU 1's misses are fetched over its own host link, the experts wait for their weights", () => {
    const caches = [0, 1].map(() => new ExpertCache(1, 4, 1, true, lru({ numLayers: 1, numExperts: 4, capacityPerScope: 1, scopes: 1 })));
    const r = simulateEp({ trace, steps: [step], plan, costs: roundCosts, collectives, attention: 'data', caches, timelineSteps: 1 });
    expect(spans(r)).toEqual([
      [0, 'attention', 0, 1],
      [1, 'attention', 0, 1],
      [0, 'dispatch', 1, 3],
      [1, 'dispatch', 1, 3],
      // Fetches issued when the routing is known (end of attention), one after the other on the link.
      [1, 'fetch', 1, 11],
      [1, 'fetch', 11, 21],
      [1, 'expert', 11, 13],
      [1, 'expert', 21, 23],
      [0, 'combine', 23, 25],
      [1, 'combine', 23, 25],
    ]);
    expect(r.gpus[1]).toMatchObject({ hits: 0, misses: 2, fetchBytes: 2000 });
    expect(r.gpus[0]).toMatchObject({ hits: 0, misses: 0 });
  });

  test('tensor-parallel attention: attention split over the GPUs, all-reduces instead of all-to-alls', () => {
    const r = simulateEp({ trace, steps: [step], plan, costs: roundCosts, collectives, attention: 'tensor', timelineSteps: 1 });
    // Attention 2 tokens / 2 GPUs = 1 s; ring all-reduce of 200 B: 2(p-1) alpha + 2(p-1)/p n beta = 2 + 2 = 4 s.
    expect(spans(r)).toEqual([
      [0, 'attention', 0, 1],
      [1, 'attention', 0, 1],
      [0, 'combine', 1, 5],
      [1, 'combine', 1, 5],
      [1, 'expert', 5, 7],
      [1, 'expert', 7, 9],
      [0, 'combine', 9, 13],
      [1, 'combine', 9, 13],
    ]);
  });

  test('tokens crossing GPUs between consecutive layers', () => {
    // Two layers; token 0: expert 0 (GPU 0) then 2 (GPU 0): stays; token 1: expert 1 (GPU 1) then 0 (GPU 0): crosses.
    const t2 = traceOf(4, 1, [[[0], [2]], [[1], [0]]]);
    const r = simulateEp({ trace: t2, steps: [step], plan: roundRobin({ trace: t2, train: { from: 0, to: 2 }, gpus: 2, gpusPerNode: 2, computeSecPerToken: 1, crossSecPerToken: 1 }), costs: roundCosts, collectives, attention: 'data', timelineSteps: 0 });
    expect(r.layers.map((l) => l.crossRoutes)).toEqual([0, 1]);
  });

  test("ExFlow's coherent mode: a token stays on its first expert's GPU, so one exchange per layer remains", () => {
    // Layer 0: token 0 (GPU 0) -> expert 1 (GPU 1), token 1 (GPU 1) -> expert 3 (GPU 1).
    // Layer 1: token 0 -> expert 3 (GPU 1), token 1 -> expert 0 (GPU 0).
    const t2 = traceOf(4, 1, [[[1], [3]], [[3], [0]]]);
    const p2 = { placement: roundRobinPlacement(2, 2, 4), note: '' };
    const run = (attention: 'data' | 'coherent') => simulateEp({ trace: t2, steps: [step], plan: p2, costs: roundCosts, collectives, attention, timelineSteps: 0 });
    // data: every layer dispatches from the token's home GPU and combines back to it.
    expect(run('data').layers.map((l) => l.collectiveBytes)).toEqual([200, 400]);
    // coherent: layer 0 sends token 0 to GPU 1 where it stays; layer 1 sends token 1 to GPU 0; no combine traffic.
    expect(run('coherent').layers.map((l) => l.collectiveBytes)).toEqual([100, 100]);
  });
});

describe("Lina-like re-placement: the migration is charged before the step", () => {
  test('two experts move after a step that loaded GPU 1 only; each copy is one peer message, the step waits for it', () => {
    // Steps of 2 tokens, both routed to experts 1 and 3 (GPU 1 under round-robin), re-planned every step.
    const t4 = traceOf(4, 1, [[[1]], [[3]], [[1]], [[3]]]);
    const steps: EpStep[] = [0, 2].map((t) => ({ tokens: Int32Array.from([t, t + 1]), context: Float64Array.from([1, 1]), kv: Float64Array.from([1, 1]) }));
    const dyn = { placement: roundRobinPlacement(2, 1, 4), note: '', dynamic: { intervalSteps: 1, replan: repack } };
    const r = simulateEp({ trace: t4, steps, plan: dyn, costs: roundCosts, collectives, attention: 'data', timelineSteps: 2 });
    // Load since the last plan: experts 1 and 3 one route each. Packing (heaviest first, lightest pack):
    // {1, 0} and {3, 2}; relabelled to keep the most experts in place: {1, 0} on GPU 0, {3, 2} on GPU 1.
    // Experts 1 (GPU 1 -> 0) and 2 (GPU 0 -> 1) move: 1000 bytes each, 1 s + 1000 B / 100 B/s = 11 s, in parallel.
    expect(r.timeline.filter((s) => s.kind === 'migration').map((s) => [s.step, s.gpu, s.startSec, s.endSec])).toEqual([
      [1, 0, 9, 20],
      [1, 1, 9, 20],
    ]);
    expect(r).toMatchObject({ migrations: 2, migrationSec: 11, migrationBytes: 2000 });
    // Step 1 after the move: token 2 (home GPU 0) to expert 1 now on GPU 0, token 3 to expert 3 on GPU 1; nothing crosses.
    expect(r.timeline.filter((s) => s.step === 1 && s.kind !== 'migration').map((s) => [s.gpu, s.kind, s.startSec, s.endSec])).toEqual([
      [0, 'attention', 20, 21],
      [1, 'attention', 20, 21],
      [0, 'expert', 21, 23],
      [1, 'expert', 21, 23],
    ]);
    // The step's time includes its migration: 11 + 1 + 2.
    expect(r.stepSec).toEqual([9, 14]);
    expect(r.totalSec).toBe(23);
  });
});

describe('prefill streaming on several GPUs', () => {
  // Two MoE layers, four experts (0, 2 on GPU 0; 1, 3 on GPU 1), caches of one expert per layer, cold.
  // Token 0 (home GPU 0): expert 1 then 2; token 1 (home GPU 1): expert 3 then 0.
  const trace2 = traceOf(4, 1, [[[1], [2]], [[3], [0]]]);
  const plan2 = { placement: roundRobinPlacement(2, 2, 4), note: '' };
  const caches = () => [0, 1].map(() => new ExpertCache(2, 4, 1, true, lru({ numLayers: 2, numExperts: 4, capacityPerScope: 1, scopes: 2 })));
  const prefill: EpStep = { tokens: Int32Array.from([0, 1]), context: Float64Array.from([1, 1]), kv: Float64Array.from([1, 1]), prefill: true };

  test("each GPU streams its held experts of the next layer behind the demand fetches; a streamed miss waits only for its weights", () => {
    const r = simulateEp({ trace: trace2, steps: [prefill], plan: plan2, costs: roundCosts, collectives, attention: 'data', caches: caches(), timelineSteps: 1, streaming: { minTokens: 2 } });
    expect(spans(r)).toEqual([
      // Layer 0's experts streamed at the step's start, 10 s each, on each GPU's own link.
      [0, 'fetch', 0, 10],
      [0, 'fetch', 10, 20],
      [1, 'fetch', 0, 10],
      [1, 'fetch', 10, 20],
      [0, 'attention', 0, 1],
      [1, 'attention', 0, 1],
      [0, 'dispatch', 1, 3],
      [1, 'dispatch', 1, 3],
      // Layer 1 streamed behind layer 0's (demand) traffic on each link: from t = 20.
      [0, 'fetch', 20, 30],
      [0, 'fetch', 30, 40],
      [1, 'fetch', 20, 30],
      [1, 'fetch', 30, 40],
      // GPU 1's misses (experts 1, 3) were streamed: they run when their weights arrived (10, 20).
      [1, 'expert', 10, 12],
      [1, 'expert', 20, 22],
      [0, 'combine', 22, 24],
      [1, 'combine', 22, 24],
      [0, 'attention', 24, 25],
      [1, 'attention', 24, 25],
      [0, 'dispatch', 25, 27],
      [1, 'dispatch', 25, 27],
      // GPU 0's misses (experts 0, 2 of layer 1) arrive at 30 and 40.
      [0, 'expert', 30, 32],
      [0, 'expert', 40, 42],
      [0, 'combine', 42, 44],
      [1, 'combine', 42, 44],
    ]);
    expect(r.stepSec).toEqual([44]);
    // 8 experts streamed (1000 B each), 4 of them chosen by no token: GPU 0's in layer 0, GPU 1's in layer 1.
    expect(r.streaming).toEqual({ streamedBytes: 8000, wastedBytes: 4000, streamedSteps: 1 });
    expect(r.gpus.map((g) => g.fetchBytes)).toEqual([4000, 4000]);
    expect(r.gpus.map((g) => g.misses)).toEqual([2, 2]);
  });

  test('without streaming (or below minTokens, or a decode step) the same step fetches on demand: 50 s', () => {
    const on = (o: Partial<Parameters<typeof simulateEp>[0]>) => simulateEp({ trace: trace2, steps: [prefill], plan: plan2, costs: roundCosts, collectives, attention: 'data', caches: caches(), timelineSteps: 0, ...o });
    // Layer 0: fetches [1, 11], [11, 21], experts [11, 13], [21, 23], combine [23, 25]; layer 1: fetches [26, 36], [36, 46], experts [36, 38], [46, 48], combine [48, 50].
    expect(on({}).stepSec).toEqual([50]);
    expect(on({ streaming: { minTokens: 3 } }).stepSec).toEqual([50]);
    expect(on({ streaming: { minTokens: 1 }, steps: [{ ...prefill, prefill: false }] }).stepSec).toEqual([50]);
    expect(on({ streaming: { minTokens: 3 } }).streaming).toEqual({ streamedBytes: 0, wastedBytes: 0, streamedSteps: 0 });
  });
});

describe('copies of one trace token in a step (parallel.prefill.copies)', () => {
  // Two GPUs, two experts, one layer, top-1; expert 0 replicated on both GPUs, expert 1 on GPU 1.
  const placement = placementFromLists(2, 1, 2, 2, [[0, 1], [1]]);
  const rep = { placement, note: '' };
  const twins = traceOf(2, 1, [[[0]], [[0]]]);
  const sim = (st: EpStep) => simulateEp({ trace: twins, steps: [st], plan: rep, costs: roundCosts, collectives, attention: 'data', timelineSteps: 1 });
  const ones = Float64Array.from([1, 1]);

  test('with consecutive split keys, two copies of a token run as two distinct tokens of the same route', () => {
    const distinct = sim({ tokens: Int32Array.from([0, 1]), context: ones, kv: ones });
    const copies = sim({ tokens: Int32Array.from([0, 0]), context: ones, kv: ones, splitKey: Int32Array.from([0, 1]) });
    expect(copies.stepSec).toEqual(distinct.stepSec);
    expect(spans(copies)).toEqual(spans(distinct));
    // (key + slot) mod 2 sends key 0 to expert 0's replica on GPU 0, key 1 to the one on GPU 1: both GPUs compute.
    expect(copies.gpus.map((g) => g.expertSec)).toEqual([2, 2]);
  });

  test('without split keys both copies go to the same replica (the trace id picks it): one GPU does both', () => {
    const r = sim({ tokens: Int32Array.from([0, 0]), context: ones, kv: ones });
    expect(r.gpus.map((g) => g.expertSec)).toEqual([4, 0]);
  });
});

describe('the tail: the LM head on the tokens that emit an output (EpStep.emits)', () => {
  // Tail cost: 1 s a token through the trailing layers, 10 s a token through the LM head.
  const tailCosts = { ...roundCosts, tailSec: (n: number, _c: number, outputs: number) => n + 10 * outputs };
  // Four tokens on GPUs [0, 1, 0, 1], all to expert 0 (GPU 0) in the one layer.
  const t4 = traceOf(4, 1, [[[0]], [[0]], [[0]], [[0]]]);
  const ones4 = Float64Array.from([1, 1, 1, 1]);
  const run = (emits?: Uint8Array, attention: 'data' | 'tensor' = 'data') =>
    simulateEp({ trace: t4, steps: [{ tokens: Int32Array.from([0, 1, 2, 3]), context: ones4, kv: ones4, prefill: true, ...(emits ? { emits } : {}) }], plan, costs: tailCosts, collectives, attention, timelineSteps: 1 });
  const tails = (r: ReturnType<typeof simulateEp>) => r.timeline.filter((s) => s.kind === 'tail').map((s) => [s.gpu, s.endSec - s.startSec]);

  test('a prefill pass whose only emitting token is token 3 (GPU 1): the LM head runs once, on GPU 1', () => {
    expect(tails(run(Uint8Array.from([0, 0, 0, 1])))).toEqual([
      [0, 2],
      [1, 12],
    ]);
  });

  test('without emits every token emits (a decode step): 2 tokens + 2 LM-head rows on each GPU', () => {
    expect(tails(run())).toEqual([
      [0, 22],
      [1, 22],
    ]);
  });

  test('tensor-parallel attention: the tail of all 4 tokens and the 1 emitting one, split over the 2 GPUs', () => {
    expect(tails(run(Uint8Array.from([0, 0, 0, 1]), 'tensor'))).toEqual([
      [0, 7],
      [1, 7],
    ]);
  });
});
