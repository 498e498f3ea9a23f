import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { prepareScenario, runScenario } from '../../src/sim/run.js';
import type { SemanticCostModel } from '../../src/timing/execution-semantics.js';

// A batch of 4 sequences, prompt 2, decoding to 6 tokens each, on a T4 host, MoE-Lightning with 2 micro-batches and no expert resident.
const scenario = () =>
  parseScenario({
    name: 'cgo',
    seed: 1,
    model: 'mixtral-8x7b',
    hardware: { preset: 't4', cpu: { memoryGiB: 192, bandwidthGBps: 107.37, gflops: 800 } },
    precision: { experts: 'fp16', dense: 'fp16', kvCache: 'fp16', groupSize: 128 },
    trace: { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 4, tokensPerSequence: 6, popularity: { kind: 'zipf', exponent: 1.0 }, locality: 0.3 } },
    workload: { batchSize: 4, promptTokens: 2 },
    system: { kind: 'moe-lightning', microBatches: 2, gpuWeightFraction: 0 },
  });

describe('a MoE-Lightning run: every decode step is the CGOPipe schedule of its 32 layers plus the tail', () => {
  it('TPOT lies between the steps at the smallest and the largest decode context; nothing is fetched on demand', async () => {
    const sc = scenario();
    const prep = await prepareScenario(sc, { baseDir: '.' });
    const cost = prep.cost as SemanticCostModel;
    const step = (ctx: number) => 32 * cost.cgoLayerSec(4, ctx) + cost.tailSec(4, ctx, 4, ctx);
    // decode contexts per sequence from the prompt (2) to the last token (6): 4 sequences
    const lo = step(4 * 2);
    const hi = step(4 * 7);
    const r = await runScenario(sc, { baseDir: '.' });
    const m = r.results[0].metrics;
    expect(m.tpotMs / 1000).toBeGreaterThanOrEqual(lo * (1 - 1e-9));
    expect(m.tpotMs / 1000).toBeLessThanOrEqual(hi * (1 + 1e-9));
    expect(m.misses).toBe(0);
    // the pages dominate at this batch: two pages of 4 experts (1.4 GB) per layer over PCIe 3 at 0.8
    expect(lo).toBeGreaterThan(32 * 2 * ((4 * 3 * 4096 * 14336 * 2) / cost.hardware.link.h2dBytesPerSec));
  });
});

describe('a MoE-Lightning prefill is FastMoE\'s prefill schedule (GPU attention, the KV cache offloaded), not the decode pipeline', () => {
  it('the first token comes after 32 layers of cgoPrefillSchedule plus the tail; the decode pipeline would charge another time', async () => {
    const sc = scenario();
    const prep = await prepareScenario(sc, { baseDir: '.' });
    const cost = prep.cost as SemanticCostModel;
    // 4 prompts of 2 tokens: 8 tokens, contexts 1 + 2 each
    const prefill = 32 * cost.cgoLayerSec(8, 12, true) + cost.tailSec(8, 12, 4, 12);
    expect(cost.cgoLayerSec(8, 12, true)).not.toBeCloseTo(cost.cgoLayerSec(8, 12, false), 6);
    const r = await runScenario(sc, { baseDir: '.' });
    const m = r.results[0].metrics;
    expect(m.ttftMs / 1000).toBeCloseTo(prefill, 6);
  });
});
