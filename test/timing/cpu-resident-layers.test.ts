import { describe, expect, it } from 'vitest';
import type { MoeModel } from '../../src/model/types.js';
import type { Hardware } from '../../src/hardware/types.js';
import { attentionParams, routerParams } from '../../src/model/derived.js';
import { runtimes, semanticCostModel, type ExecutionSemantics } from '../../src/timing/execution-semantics.js';
import { traceOf } from '../helpers/trace.js';
import { simulate } from '../helpers/sim.js';

/**
 * llama.cpp's -ngl placement in the timing model (ExecutionSemantics.cpuResidentLayers): a
 * CPU-resident layer's non-expert work is the CPU roofline from host DRAM, its weights are not
 * copied for a decode step, the hidden states cross the link once at each CPU/GPU boundary; at or
 * above cpuOffloadMinBatch tokens the work runs on the GPU with its weights copied in.
 * Round numbers: a 2-layer, 2-expert model with hidden size 8; GPU HBM 1024 B/s, CPU DRAM 256 B/s,
 * link 64 B/s, no latency, FLOPs free, no launch or runtime costs.
 */
const model: MoeModel = {
  name: 'tiny',
  displayName: 'tiny',
  source: 'test',
  numLayers: 2,
  moeLayers: [0, 1],
  numExperts: 2,
  topK: 1,
  numSharedExperts: 0,
  sharedExpertIntermediateSize: 0,
  hiddenSize: 8,
  expertIntermediateSize: 8,
  expertMatrices: 3,
  expertBias: false,
  denseIntermediateSize: 8,
  attention: { kind: 'gqa', numHeads: 1, numKvHeads: 1, headDim: 8 },
  vocabSize: 16,
  tiedEmbeddings: false,
};
const hw: Hardware = {
  name: 'round',
  gpu: { name: 'g', hbmBytes: 2 ** 30, hbmBytesPerSec: 1024, flopsPerSec: { bf16: 1e30, fp32: 1e30 }, launchOverheadSec: 0, source: 'test' },
  link: { name: 'l', h2dBytesPerSec: 64, d2hBytesPerSec: 64, latencySec: 0, overlapsCompute: true, source: 'test' },
  cpu: { name: 'c', dramBytes: 2 ** 34, dramBytesPerSec: 256, flopsPerSec: 1e30, source: 'test' },
};
const precision = { experts: 'bf16', dense: 'bf16', kvCache: 'bf16', groupSize: 128 } as const;
const sem = (over: Partial<ExecutionSemantics>): ExecutionSemantics => ({
  // Unit efficiencies: the test pins the placement, not ggml's measured HBM fraction (test/timing/cpu-kernel-efficiency.test.ts).
  runtime: { ...runtimes['llama-cpp-ggml'], perKernelSec: 0, syncsPerExpert: 0, perStepSec: 0, hbmEfficiency: undefined },
  link: { memory: 'pinned', efficiency: { pinned: 1, pageable: 1, mapped: 1 }, perTransferSec: { pinned: 0, pageable: 0, mapped: 0 }, sources: ['test'], fitted: false },
  expertCopies: 'copy-engine',
  writeBackEvicted: false,
  cpu: { bandwidthEfficiency: 1, flopsEfficiency: 1, describe: 'test', sources: ['test'], fitted: false },
  hostThread: false,
  sources: ['test'],
  ...over,
});

describe('CPU-resident layers (llama.cpp -ngl)', () => {
  const layerBytes = (attentionParams(model) + routerParams(model)) * 2;
  it('the shapes give round weights', () => {
    expect(layerBytes).toBe(544); // (attention 4 x 8 x 8 + router 8 x 2 params) x 2 bytes (bf16)
  });

  it('a CPU layer is its weights at DRAM speed; the next GPU layer pays one hidden-state crossing; no weight copy at decode', () => {
    const c = semanticCostModel(model, hw, precision, sem({ cpuResidentLayers: [0], cpuOffloadMinBatch: 32 }));
    const gpu = semanticCostModel(model, hw, precision, sem({}));
    expect(c.preExpertSec(0, 1, 0, 0)).toBe(544 / 256); // 2.125 s on the CPU
    expect(gpu.preExpertSec(0, 1, 0, 0)).toBe(544 / 1024);
    // Layer 1 on the GPU: its roofline plus 16 bytes of hidden state at 64 B/s.
    expect(c.preExpertSec(1, 1, 0, 0)).toBe(544 / 1024 + 0.25);
    // 32 tokens: ggml offloads the op to the GPU and copies the layer's weights (544 B at 64 B/s).
    expect(c.preExpertSec(0, 32, 0, 0)).toBe(gpu.preExpertSec(0, 32, 0, 0) + 544 / 64);
    // Its dense weights and KV cache stay in host memory: not counted against the GPU.
    expect(gpu.residentWeightBytes - c.residentWeightBytes).toBe(544);
    expect(c.kvBytesPerToken).toBe(gpu.kvBytesPerToken / 2);
  });

  it('the output layer on the CPU (-ngl <= n_layer): the LM head at DRAM speed, one crossing after a GPU layer', () => {
    const c = semanticCostModel(model, hw, precision, sem({ cpuResidentTail: true }));
    const lmHeadBytes = 8 * 16 * 2;
    expect(c.tailSec(1, 0, 1, 0)).toBe(lmHeadBytes / 256 + 0.25);
  });

  it('timeline: CPU attention of layer 0, its expert on the CPU, then the GPU layer after one crossing', () => {
    const c = semanticCostModel(model, hw, precision, sem({ cpuResidentLayers: [0], cpuOffloadMinBatch: 32 }));
    // One token, expert 0 at both layers; one slot per layer, pre-filled by nothing: layer 0's
    // expert runs on the CPU (onMiss cpu), layer 1's miss too (the handler serves every miss), so the pass is the placement's alone.
    const trace = traceOf([[[[0], [0]]]], 2);
    const r = simulate(trace, { capacity: 1, costs: c, onMiss: { kind: 'cpu', belowTokens: 32 }, missCosts: c.missCosts() });
    const spans = r.timeline.filter((s) => s.kind !== 'stall').map((s) => `${s.resource}:${s.kind}:${s.startMs / 1e3}-${s.endMs / 1e3}`);
    expect(spans).toEqual([
      // layer 0 on the CPU: 544 B of weights + 32 B of KV at 256 B/s
      'gpu:attention:0-2.25',
      // its expert on the CPU: 384 B at 256 B/s + the 16-byte hidden state each way at 64 B/s
      'cpu:cpu-expert:2.25-4.25',
      // layer 1 on the GPU: 576 B at 1024 B/s + one crossing (0.25 s)
      'gpu:attention:4.25-5.0625',
      'cpu:cpu-expert:5.0625-7.0625',
      // the output layer on the GPU: 256 B at 1024 B/s
      'gpu:lm-head:7.0625-7.3125',
    ]);
    expect(r.makespanSec).toBe(7.3125);
  });
});
