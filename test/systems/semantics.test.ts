import { describe, expect, it } from 'vitest';
import { RooflineCosts, linkCosts } from '../../src/timing/roofline.js';
import { modelPresets } from '../../src/model/presets.js';
import { hardwarePresets } from '../../src/hardware/presets.js';
import { attentionParams, bytesPerParam, expertParams, routerParams, sharedExpertParams } from '../../src/model/derived.js';
import {
  cpuPresets,
  effectiveHardware,
  linkPresets,
  runtimes,
  semanticCostModel,
  denseTensorsPerBlock,
  hookPerTensorSec,
  weightFormats,
  ZERO_COPY_EFFICIENCY,
  GGML_THREADS_ACROSS_SOCKETS,
  oneNodeShare,
  type LinkSemantics,
} from '../../src/timing/execution-semantics.js';
import { traceOf } from '../helpers/trace.js';
import { simulate } from '../helpers/sim.js';
import type { StepCosts } from '../../src/timing/costs.js';
import { baseSemantics } from '../helpers/semantics.js';

const model = modelPresets['mixtral-8x7b'];
const hw = hardwarePresets['rtx-4090'];
const precision = { experts: 'int4', dense: 'bf16', kvCache: 'bf16', groupSize: 128 } as const;

const sem = baseSemantics;

describe('execution semantics: the named parameters', () => {
  it('every preset names a source', () => {
    for (const p of [...Object.values(runtimes), ...Object.values(linkPresets), ...Object.values(weightFormats), ...Object.values(cpuPresets)]) {
      expect(p.sources.length).toBeGreaterThan(0);
      for (const s of p.sources) expect(s.length).toBeGreaterThan(10);
    }
  });

  it('the link is the datasheet rate times the efficiency of its host memory, plus a per-transfer cost', () => {
    const pinned = effectiveHardware(hw, sem());
    expect(pinned.link.h2dBytesPerSec).toBeCloseTo(hw.link.h2dBytesPerSec * 0.8, 0);
    expect(pinned.link.latencySec).toBeCloseTo(hw.link.latencySec + 10e-6, 12);
    const pageable = effectiveHardware(hw, sem({ link: linkPresets.pageable }));
    expect(pageable.link.h2dBytesPerSec).toBeCloseTo(hw.link.h2dBytesPerSec * 0.45, 0);
    expect(pageable.link.latencySec).toBeCloseTo(hw.link.latencySec + 30e-6, 12);
    expect(pinned.link.overlapsCompute).toBe(hw.link.overlapsCompute);
  });

  it('mapped (zero-copy, UVA) host memory: the kernels read it at the zero-copy efficiency with no copy call per read', () => {
    // EMOGI: coalesced 128-byte zero-copy requests nearly saturate PCIe, so the DMA figure, and no
    // per-transfer cost (the kernel's loads are the transfer): only the link's own latency remains.
    expect(ZERO_COPY_EFFICIENCY).toBe(linkPresets.pinned.efficiency.pinned);
    const mapped = effectiveHardware(hw, sem({ link: linkPresets.mapped }));
    expect(mapped.link.h2dBytesPerSec).toBeCloseTo(hw.link.h2dBytesPerSec * ZERO_COPY_EFFICIENCY, 0);
    expect(mapped.link.latencySec).toBe(hw.link.latencySec);
    // One 1 MiB read: the pinned copy's time less exactly its 10 us copy call.
    const read = (link: LinkSemantics) => linkCosts(effectiveHardware(hw, sem({ link })).link).h2dSec(2 ** 20);
    expect(read(linkPresets.pinned) - read(linkPresets.mapped)).toBeCloseTo(10e-6, 12);
    expect(linkPresets.mapped.sources.join(' ')).toMatch(/EMOGI/);
  });

  it('copies on the compute stream never overlap compute; write-back is the evicted expert\'s device-to-host copy, charged per eviction', () => {
    const s = sem({ expertCopies: 'compute-stream', writeBackEvicted: true });
    const h = effectiveHardware(hw, s);
    expect(h.link.overlapsCompute).toBe(false);
    // Not in every transfer's latency (a fetch into a free slot or a staging buffer writes nothing back) ...
    expect(h.link.latencySec).toBeCloseTo(hw.link.latencySec + 10e-6, 12);
    // ... but the simulator's per-eviction charge: one expert at the achieved device-to-host rate.
    const c = semanticCostModel(model, hw, precision, s);
    expect(c.evictWriteBackSec).toBeCloseTo(c.expertBytes / (hw.link.d2hBytesPerSec * 0.8), 12);
    expect(semanticCostModel(model, hw, precision, sem()).evictWriteBackSec).toBe(0);
  });

  it('cpuWeightsOnOneNode: a runtime whose weights sit in one NUMA node reads at one socket\'s share of the DRAM bandwidth', () => {
    const twoSockets = { ...hw, cpu: { ...hw.cpu, sockets: 2 } };
    expect(effectiveHardware(twoSockets, sem({ cpuWeightsOnOneNode: true })).cpu.dramBytesPerSec).toBeCloseTo((hw.cpu.dramBytesPerSec * 0.7) / 2, 0);
    expect(effectiveHardware(twoSockets, sem()).cpu.dramBytesPerSec).toBeCloseTo(hw.cpu.dramBytesPerSec * 0.7, 0);
    // One socket (or not stated): unchanged
    expect(effectiveHardware(hw, sem({ cpuWeightsOnOneNode: true })).cpu.dramBytesPerSec).toBeCloseTo(hw.cpu.dramBytesPerSec * 0.7, 0);
  });

  it('cpuThreadsAcrossSocketsFraction: threads on every socket over one node\'s weights reach that fraction of the node\'s rate', () => {
    const twoSockets = { ...hw, cpu: { ...hw.cpu, sockets: 2 } };
    const across = sem({ cpuWeightsOnOneNode: true, cpuThreadsAcrossSocketsFraction: 0.5 });
    // 2 sockets: one node's half of the DRAM bandwidth, then half of that (0.7 is the CPU preset's efficiency)
    expect(effectiveHardware(twoSockets, across).cpu.dramBytesPerSec).toBeCloseTo((hw.cpu.dramBytesPerSec * 0.7) / 4, 0);
    expect(oneNodeShare(twoSockets, across)).toBe(0.25);
    // One socket: no remote threads, unchanged; without cpuWeightsOnOneNode the fraction does nothing
    expect(effectiveHardware(hw, across).cpu.dramBytesPerSec).toBeCloseTo(hw.cpu.dramBytesPerSec * 0.7, 0);
    expect(oneNodeShare(twoSockets, sem({ cpuThreadsAcrossSocketsFraction: 0.5 }))).toBe(1);
    // llama.cpp's value: llamafile issue #765, ~4 t/s unpinned against ~8 t/s bound to one node
    expect(GGML_THREADS_ACROSS_SOCKETS).toBe(0.5);
  });

  it('cpuTaskPerLayer reaches the miss costs the simulator reads (and is absent otherwise)', () => {
    expect(semanticCostModel(model, hw, precision, sem({ cpuTaskPerLayer: true })).missCosts().cpuTaskPerLayer).toBe(true);
    expect(semanticCostModel(model, hw, precision, sem()).missCosts().cpuTaskPerLayer).toBeUndefined();
  });

  it('CPU efficiency scales the CPU roofline', () => {
    const h = effectiveHardware(hw, sem());
    expect(h.cpu.dramBytesPerSec).toBeCloseTo(hw.cpu.dramBytesPerSec * 0.7, 0);
    expect(h.cpu.flopsPerSec).toBeCloseTo(hw.cpu.flopsPerSec * 0.5, 0);
  });

  it('an expert pays the runtime\'s kernels beyond the roofline\'s 3, its syncs, and the dequantisation\'s bytes and kernels', () => {
    const s = sem({ expertFormat: weightFormats['hqq-4bit'] });
    const c = semanticCostModel(model, hw, precision, s);
    const plain = new RooflineCosts(model, effectiveHardware(hw, s), precision);
    const rt = runtimes['eager-pytorch'];
    const dequant = (expertParams(model) * 4) / hw.gpu.hbmBytesPerSec + 12 * rt.perKernelSec;
    expect(c.expertSec(1)).toBeCloseTo(plain.expertSec(1) + (9 - 3) * rt.perKernelSec + rt.syncSec + dequant, 12);
    // A fused format (gguf) pays no dequantisation.
    const g = semanticCostModel(model, hw, precision, sem({ expertFormat: weightFormats['gguf-q4_k'] }));
    expect(g.expertSec(1)).toBeCloseTo(plain.expertSec(1) + 6 * rt.perKernelSec + rt.syncSec, 12);
  });

  it('a layer pays the runtime\'s kernels beyond the roofline\'s 8; a pass pays the per-step cost', () => {
    const s = sem();
    const c = semanticCostModel(model, hw, precision, s);
    const plain = new RooflineCosts(model, effectiveHardware(hw, s), precision);
    expect(c.preExpertSec(3, 1, 100, 100)).toBeCloseTo(plain.preExpertSec(3, 1, 100, 100) + 12 * 10e-6, 12);
    expect(c.tailSec(1, 100, 1, 100)).toBeCloseTo(plain.tailSec(1, 100, 1, 100) + 2e-3, 12);
  });

  it('streamed embeddings and head (ZeRO-3): the embedding table, the tail and the LM head cross the link once per pass, after the last layer', () => {
    const c = semanticCostModel(model, hw, precision, sem());
    const s = semanticCostModel(model, hw, precision, sem({ streamEmbeddingsAndHead: true }));
    const link = effectiveHardware(hw, sem()).link;
    const table = model.vocabSize * model.hiddenSize * bytesPerParam('bf16', 128);
    expect(s.tailSec(1, 100, 1, 100) - c.tailSec(1, 100, 1, 100)).toBeCloseTo(link.latencySec + (c.tailWeightBytes() + table) / link.h2dBytesPerSec, 12);
    // Nothing else moves: the layers' time is unchanged.
    expect(s.preExpertSec(3, 1, 100, 100)).toBeCloseTo(c.preExpertSec(3, 1, 100, 100), 15);
  });

  it('empty expert calls (a loop over every expert) pay the runtime\'s per-expert kernels and syncs per layer, on the host or in line', () => {
    const rt = runtimes['eager-pytorch'];
    const per = rt.kernelsPerExpert * rt.perKernelSec + rt.syncsPerExpert * rt.syncSec;
    const inline = semanticCostModel(model, hw, precision, sem({ emptyExpertCallsPerLayer: 6 }));
    const none = semanticCostModel(model, hw, precision, sem());
    expect(inline.preExpertSec(2, 1, 100, 100) - none.preExpertSec(2, 1, 100, 100)).toBeCloseTo(6 * per, 12);
    const host = semanticCostModel(model, hw, precision, sem({ emptyExpertCallsPerLayer: 6, hostThread: true }));
    const hostNone = semanticCostModel(model, hw, precision, sem({ hostThread: true }));
    expect(host.host!.preExpertSec(2, 1, 100) - hostNone.host!.preExpertSec(2, 1, 100)).toBeCloseTo(6 * per, 12);
    expect(host.preExpertSec(2, 1, 100, 100)).toBeCloseTo(hostNone.preExpertSec(2, 1, 100, 100), 15);
  });

  it('Triton launches (mixtral-offloading\'s HQQ linears) cost the runtime\'s Triton launch time, per layer and per expert, on the host thread or in the GPU jobs', () => {
    const rt = runtimes['eager-pytorch-hqq-triton'];
    const t = rt.triton!;
    expect(t).toMatchObject({ launchesPerLayer: 4, launchesPerExpert: 3 });
    const base = { ...rt, triton: undefined };
    // Inside the GPU jobs: the launches add to the expert's and the layer's time.
    const withT = semanticCostModel(model, hw, precision, sem({ runtime: rt }));
    const without = semanticCostModel(model, hw, precision, sem({ runtime: base }));
    expect(withT.expertSec(1) - without.expertSec(1)).toBeCloseTo(3 * t.launchSec, 12);
    expect(withT.preExpertSec(3, 1, 100, 100) - without.preExpertSec(3, 1, 100, 100)).toBeCloseTo(4 * t.launchSec, 12);
    // On the host thread: the host's expert and pre-expert times carry them.
    const hostT = semanticCostModel(model, hw, precision, sem({ runtime: rt, hostThread: true })).host!;
    const hostB = semanticCostModel(model, hw, precision, sem({ runtime: base, hostThread: true })).host!;
    expect(hostT.expertSec(1) - hostB.expertSec(1)).toBeCloseTo(3 * t.launchSec, 12);
    expect(hostT.preExpertSec(1, 1, 100) - hostB.preExpertSec(1, 1, 100)).toBeCloseTo((model.moeLayers[1] - model.moeLayers[0]) * 4 * t.launchSec, 12);
  });

  it('streamed dense layers copy their weights (and, fused, all experts) before the layer computes', () => {
    const s = sem({ streamedDenseLayers: [1] });
    const c = semanticCostModel(model, hw, precision, s);
    const link = c.hardware.link;
    const dense = (attentionParams(model) + routerParams(model) + sharedExpertParams(model)) * bytesPerParam('bf16', 128);
    expect(c.streamedDenseSec(0)).toBe(0);
    expect(c.streamedDenseSec(1)).toBeCloseTo(link.latencySec + dense / link.h2dBytesPerSec, 12);
    const all = semanticCostModel(model, hw, precision, sem({ streamedDenseLayers: [1], streamAllExpertsOfStreamedLayers: true }));
    expect(all.streamedDenseSec(1)).toBeCloseTo(link.latencySec + (dense + 8 * all.expertBytes) / link.h2dBytesPerSec, 12);
  });

  it('tensor-by-tensor uploads (Accelerate\'s hooks): every copy call pays the link latency, the per-transfer cost and the hook, 3 per expert and one per dense tensor', () => {
    const base = sem({ link: linkPresets.pageable });
    const one = effectiveHardware(hw, base).link.latencySec;
    expect(one).toBeCloseTo(hw.link.latencySec + linkPresets.pageable.perTransferSec.pageable, 15);
    // The hook: 6 ops at eager PyTorch's 10 us and 2 syncs at its 20 us = 100 us per tensor.
    const s = sem({ link: linkPresets.pageable, tensorsPerExpertTransfer: 3, hookPerTensor: { ops: 6, syncs: 2 }, streamedDenseLayers: [1] });
    expect(hookPerTensorSec(s)).toBeCloseTo(100e-6, 15);
    expect(hookPerTensorSec(sem())).toBe(0);
    const call = hw.link.latencySec + linkPresets.pageable.perTransferSec.pageable + 100e-6;
    // One expert upload: three calls.
    expect(effectiveHardware(hw, s).link.latencySec).toBeCloseTo(3 * call, 15);
    const c = semanticCostModel(model, hw, precision, s);
    const link = c.hardware.link;
    expect(c.h2dSec(c.expertBytes)).toBeCloseTo(3 * call + c.expertBytes / link.h2dBytesPerSec, 12);
    // A streamed Mixtral block: q/k/v/o, two norms and the router, 7 calls (no dense layer before it).
    const dense = (attentionParams(model) + routerParams(model) + sharedExpertParams(model)) * bytesPerParam('bf16', 128);
    expect(denseTensorsPerBlock(model)).toBe(7);
    expect(c.streamedDenseSec(1)).toBeCloseTo(7 * call + dense / link.h2dBytesPerSec, 12);
    // Streaming every expert too: 8 x 3 more calls.
    const all = semanticCostModel(model, hw, precision, { ...s, streamAllExpertsOfStreamedLayers: true });
    expect(all.streamedDenseSec(1)).toBeCloseTo((7 + 24) * call + (dense + 8 * all.expertBytes) / link.h2dBytesPerSec, 12);
    // DeepSeek-V2-Lite's block as its modeling code registers it (src/timing/hf-model-code.ts): MLA's
    // q_proj, kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj, 2 norms, the gate, and the 2 shared
    // experts fused into one DeepseekV2MLP (3), not 3 per shared expert.
    expect(denseTensorsPerBlock(modelPresets['deepseek-v2-lite'])).toBe(11);
    // A model whose code was not counted keeps the Mixtral-shaped rule.
    expect(denseTensorsPerBlock(modelPresets['qwen3-30b-a3b'])).toBe(7 + 3 * modelPresets['qwen3-30b-a3b'].numSharedExperts);
  });
});

describe('execution semantics on the timeline (round numbers)', () => {
  // Attention 1 s, expert 2 s, LM head 0.5 s, 3-byte experts on a 1 B/s link.
  const costs = (overlapsCompute: boolean, latencySec = 0): StepCosts => ({
    expertBytes: 3,
    ...linkCosts({ name: 't', h2dBytesPerSec: 1, d2hBytesPerSec: 1, latencySec, overlapsCompute, source: 't' }),
    expertSec: () => 2,
    preExpertSec: () => 1,
    tailSec: () => 0.5,
  });
  const spans = (c: ReturnType<typeof simulate>) => c.timeline.map((s) => `${s.resource}:${s.kind}:${s.startMs / 1e3}-${s.endMs / 1e3}`);
  // One token, two layers: expert 0 at layer 0, expert 1 at layer 1; an exact pre-gate prefetches layer 1.
  const trace = traceOf([[[[0], [1]]]], 2);

  it('a copy engine hides the prefetch behind layer 0\'s expert', () => {
    const c = simulate(trace, { capacity: 1, prefetch: { kind: 'pregated', accuracy: 1 }, costs: costs(true) });
    expect(spans(c)).toEqual([
      'gpu:attention:0-1',
      'link:fetch:1-4',
      'link:prefetch:4-7',
      'gpu:stall:1-4',
      'gpu:expert:4-6',
      'gpu:attention:6-7',
      'gpu:expert:7-9',
      'gpu:lm-head:9-9.5',
    ]);
  });

  it('on the compute stream (mixtral-offloading) the same prefetch is serialised with the kernels', () => {
    const c = simulate(trace, { capacity: 1, prefetch: { kind: 'pregated', accuracy: 1 }, costs: costs(false) });
    const s = spans(c);
    // No link span overlaps a GPU compute span.
    const parsed = c.timeline.filter((x) => x.kind !== 'stall').map((x) => [x.resource, x.startMs, x.endMs] as const);
    for (const [r1, a1, b1] of parsed) for (const [r2, a2, b2] of parsed) if (r1 !== r2) expect(a1 < b2 && a2 < b1).toBe(false);
    expect(c.makespanSec).toBe(1 + 3 + 3 + 2 + 1 + 2 + 0.5);
    // The prefetch, queued at the gate, goes before layer 0's expert: the expert waits for it.
    expect(s).toEqual([
      'gpu:attention:0-1',
      'link:fetch:1-4',
      'link:prefetch:4-7',
      'gpu:stall:1-7',
      'gpu:expert:7-9',
      'gpu:attention:9-10',
      'gpu:expert:10-12',
      'gpu:lm-head:12-12.5',
    ]);
  });

  it('write-back: each swap also pays the evicted expert\'s copy out (3 bytes at 1 B/s)', () => {
    const c = simulate(trace, { capacity: 1, costs: costs(true, 3) });
    expect(spans(c)).toEqual([
      'gpu:attention:0-1',
      'link:fetch:1-7',
      'gpu:stall:1-7',
      'gpu:expert:7-9',
      'gpu:attention:9-10',
      'link:fetch:10-16',
      'gpu:stall:10-16',
      'gpu:expert:16-18',
      'gpu:lm-head:18-18.5',
    ]);
  });
});
