import { describe, expect, it } from 'vitest';
import type { MoeModel } from '../../src/model/types.js';
import type { Hardware } from '../../src/hardware/types.js';
import { modelPresets } from '../../src/model/presets.js';
import { systems } from '../../src/systems/catalog.js';
import {
  GGML_SCHED_CPU_EXPERTS_HANDOFF,
  runtimes,
  semanticCostModel,
  splitTensorBytes,
  type ExecutionSemantics,
} from '../../src/timing/execution-semantics.js';
import { traceOf } from '../helpers/trace.js';
import { simulate } from '../helpers/sim.js';

/**
 * llama.cpp's CPU-expert hand-off (ExecutionSemantics.cpuSplitHandoff): the ggml scheduler copies
 * the CPU split's inputs (the normed hidden state in f32, the int32 expert ids) and the next GPU
 * split's input (the down outputs, one f32 row per routed slot), each one blocking copy at the
 * link's latency; nothing inside a CPU-resident layer.
 * Round numbers: a 2-layer, 2-expert, top-2 model with hidden size 8; link 64 B/s each way with
 * 0.5 s latency; CPU DRAM 256 B/s; FLOPs free; no launch or runtime costs.
 */
const model: MoeModel = {
  name: 'tiny',
  displayName: 'tiny',
  source: 'test',
  numLayers: 2,
  moeLayers: [0, 1],
  numExperts: 2,
  topK: 2,
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
  link: { name: 'l', h2dBytesPerSec: 64, d2hBytesPerSec: 64, latencySec: 0.5, overlapsCompute: true, source: 'test' },
  cpu: { name: 'c', dramBytes: 2 ** 34, dramBytesPerSec: 256, flopsPerSec: 1e30, source: 'test' },
};
const precision = { experts: 'bf16', dense: 'bf16', kvCache: 'bf16', groupSize: 128 } as const;
const sem = (over: Partial<ExecutionSemantics>): ExecutionSemantics => ({
  runtime: { ...runtimes['llama-cpp-ggml'], perKernelSec: 0, syncsPerExpert: 0, perStepSec: 0, hbmEfficiency: undefined },
  link: { memory: 'pinned', efficiency: { pinned: 1, pageable: 1, mapped: 1 }, perTransferSec: { pinned: 0, pageable: 0, mapped: 0 }, sources: ['test'], fitted: false },
  expertCopies: 'copy-engine',
  writeBackEvicted: false,
  cpu: { bandwidthEfficiency: 1, flopsEfficiency: 1, describe: 'test', sources: ['test'], fitted: false },
  hostThread: false,
  cpuTaskPerLayer: true,
  sources: ['test'],
  ...over,
});

// One token: to the host 8 x 4 B (hidden, f32) and 2 x 4 B (ids); back 2 x 8 x 4 B (down rows).
const HANDOFF_SEC = 3 * 0.5 + (32 + 8) / 64 + 64 / 64;

describe('ggml scheduler hand-off of a layer\'s CPU experts (cpuSplitHandoff)', () => {
  it('the preset: two tensors to the CPU split, one back, sized from the model', () => {
    expect(GGML_SCHED_CPU_EXPERTS_HANDOFF.toHost.map((t) => splitTensorBytes(t, model, 1))).toEqual([32, 8]);
    expect(GGML_SCHED_CPU_EXPERTS_HANDOFF.toDevice.map((t) => splitTensorBytes(t, model, 1))).toEqual([64]);
    expect(splitTensorBytes(GGML_SCHED_CPU_EXPERTS_HANDOFF.toDevice[0], model, 3)).toBe(192);
  });

  it('three blocking copies at a GPU layer, none inside a CPU-resident layer', () => {
    const c = semanticCostModel(model, hw, precision, sem({ cpuSplitHandoff: GGML_SCHED_CPU_EXPERTS_HANDOFF, cpuResidentLayers: [1] }));
    expect(c.cpuSplitHandoffSec(0, 1)).toBe(HANDOFF_SEC); // 2.625 s
    expect(c.cpuSplitHandoffSec(1, 1)).toBe(0);
    expect(c.missCosts().cpuTaskHandoffSec!(0, 1)).toBe(HANDOFF_SEC);
    // Without it the miss handler keeps the generic round trip (kTransformers, Fiddler).
    expect(semanticCostModel(model, hw, precision, sem({})).missCosts().cpuTaskHandoffSec).toBeUndefined();
  });

  it('timeline: the layer\'s first CPU expert carries the hand-off, the second its CPU time alone', () => {
    const c = semanticCostModel(model, hw, precision, sem({ cpuSplitHandoff: GGML_SCHED_CPU_EXPERTS_HANDOFF }));
    // One token routed to both experts at both layers; no GPU slot: every expert on the CPU.
    const trace = traceOf([[[[0, 1], [0, 1]]]], 2);
    const r = simulate(trace, { capacity: 0, costs: c, onMiss: { kind: 'cpu', belowTokens: 32 }, missCosts: c.missCosts() });
    const cpu = r.timeline.filter((s) => s.resource === 'cpu').map((s) => (s.endMs - s.startMs) / 1e3);
    const expertSec = (3 * 8 * 8 * 2) / 256; // 384 B at 256 B/s = 1.5 s
    expect(cpu).toEqual([HANDOFF_SEC + expertSec, expertSec, HANDOFF_SEC + expertSec, expertSec]);
    // The ledger counts the bytes those copies move, once per layer's task: (32 + 8 + 64) B x 2 layers.
    expect(r.activationBytes).toBe(2 * 104);
    expect(c.missCosts().cpuTaskHandoffBytes!(0, 1)).toBe(104);
  });

  it('no hand-off bytes inside a CPU-resident layer', () => {
    const c = semanticCostModel(model, hw, precision, sem({ cpuSplitHandoff: GGML_SCHED_CPU_EXPERTS_HANDOFF, cpuResidentLayers: [1] }));
    expect(c.cpuSplitHandoffBytes(0, 3)).toBe(3 * 104);
    expect(c.cpuSplitHandoffBytes(1, 3)).toBe(0);
  });

  it('the llama-cpp system hands its CPU experts over this way; kTransformers does not', () => {
    const m = modelPresets['qwen3-30b-a3b'];
    const ll = systems['llama-cpp'].semantics({ kind: 'llama-cpp', nCpuMoe: 36, quantization: 'gguf-q4_k' }, m);
    expect(ll.cpuSplitHandoff?.toHost.map((t) => t.name)).toEqual(['the normed hidden state (ffn_norm output, f32)', 'selected_experts (int32 expert ids)']);
    expect(ll.cpuSplitHandoff?.toDevice.map((t) => splitTensorBytes(t, m, 1))).toEqual([8 * 2048 * 4]);
    const kt = systems.ktransformers.semantics({ kind: 'ktransformers', quantization: 'gguf-q4_k' }, modelPresets['deepseek-v3']);
    expect(kt.cpuSplitHandoff).toBeUndefined();
  });
});
