import { describe, expect, it } from 'vitest';
import { HF_MODEL_CODE, hfModelCode, hfRuntimeDelta } from '../../src/timing/hf-model-code.js';
import { denseTensorsPerBlock, runtimes, semanticCostModel } from '../../src/timing/execution-semantics.js';
import { hfRuntime, systemSemantics } from '../../src/systems/catalog.js';
import { modelPresets } from '../../src/model/presets.js';
import { hardwarePresets } from '../../src/hardware/presets.js';
import { baseSemantics } from '../helpers/semantics.js';

const dsv2 = modelPresets['deepseek-v2-lite'];
const mixtral = modelPresets['mixtral-8x7b'];
const hw = hardwarePresets['rtx-a5000'];
const precision = { experts: 'bf16', dense: 'bf16', kvCache: 'bf16', groupSize: 128 } as const;
const sem = baseSemantics;

describe('DeepSeek-V2-Lite\'s Hugging Face remote code, counted per decode step against Mixtral\'s', () => {
  it('pins the counts: the per-step YaRN rotary rebuild (and its blocking copy) per layer, moe_infer\'s .cpu(), 6 ops and no wait per expert', () => {
    const d = HF_MODEL_CODE['deepseek-v2-lite'];
    expect([d.attentionOps, d.attentionSyncs, d.moeBlockOps, d.moeBlockSyncs, d.expertOps, d.expertSyncs]).toEqual([114, 1, 33, 1, 6, 0]);
    expect([d.modules.attention, d.modules.moeBlock, d.fetchedParams.attention, d.fetchedParams.moeBlock, d.tensorsPerBlock, d.moeInfinityBlockOps]).toEqual([10, 7, 4, 4, 11, 50]);
    const m = HF_MODEL_CODE['mixtral-8x7b'];
    expect([m.attentionOps, m.moeBlockOps, m.expertOps, m.expertSyncs, m.modules.attention + m.modules.moeBlock, m.fetchedParams.attention]).toEqual([61, 11, 9, 1, 11, 4]);
  });

  it('a scenario that overrides a preset\'s fields keeps its model code\'s counts (name+overrides)', () => {
    expect(hfModelCode('deepseek-v2-lite+overrides')).toBe(HF_MODEL_CODE['deepseek-v2-lite']);
    expect(hfRuntimeDelta('deepseek-v2-lite+overrides', 'hf')).toEqual(hfRuntimeDelta('deepseek-v2-lite', 'hf'));
    expect(hfRuntimeDelta('deepseek-v2-lite', 'hf').layerOps).toBeGreaterThan(0);
    const m = modelPresets['deepseek-v2-lite'];
    expect(denseTensorsPerBlock({ ...m, name: 'deepseek-v2-lite+overrides', topK: 4 })).toBe(denseTensorsPerBlock(m));
    expect(hfModelCode('no-such-model')).toBeUndefined();
  });

  it('the difference per path: Hugging Face\'s block, under ZeRO-3\'s hooks, or MoE-Infinity\'s block and dispatcher', () => {
    expect(hfRuntimeDelta('deepseek-v2-lite', 'hf')).toEqual({ layerOps: 53, layerSyncs: 1, blockOps: 22, blockSyncs: 1, expertOps: -3, expertSyncs: -1 });
    // ZeRO-3: one more hooked module in attention (kv_a_layernorm; rotary as Mixtral's), five more and
    // four more fetched parameters (the 64 x 2048 gate and the shared expert's three) in the block.
    expect(hfRuntimeDelta('deepseek-v2-lite', 'deepspeed')).toEqual({ layerOps: 53 + 4, layerSyncs: 1, blockOps: 22 + 4 * 5 + 5 * 4, blockSyncs: 1 + 4, expertOps: -3, expertSyncs: -1 });
    // MoE-Infinity: its own block (the 6-slot logical_or loop, the shared experts), experts in C++.
    expect(hfRuntimeDelta('deepseek-v2-lite', 'moe-infinity')).toEqual({ layerOps: 53, layerSyncs: 1, blockOps: 28, blockSyncs: 0, expertOps: 0, expertSyncs: 0 });
    // The baseline and an uncounted model: no change.
    for (const m of ['mixtral-8x7b', 'qwen3-30b-a3b']) expect(hfRuntimeDelta(m, 'deepspeed')).toEqual({ layerOps: 0, layerSyncs: 0, blockOps: 0, blockSyncs: 0, expertOps: 0, expertSyncs: 0 });
  });

  it('the presets run their runtime with the difference; Mixtral\'s runtime is the very same object', () => {
    expect(hfRuntime(runtimes['eager-pytorch'], mixtral, 'hf')).toBe(runtimes['eager-pytorch']);
    const acc = systemSemantics({ kind: 'accelerate', gpuLayers: 9, quantization: 'fp32', callsEveryExpert: false }, dsv2).runtime;
    expect(acc.name).toBe('eager-pytorch');
    expect([acc.kernelsPerLayer, acc.syncsPerLayer, acc.moeBlock, acc.kernelsPerExpert, acc.syncsPerExpert]).toEqual([20 + 53, 1, { kernels: 22, syncs: 1 }, 6, 0]);
    const ds = systemSemantics({ kind: 'deepspeed-zero-inference', quantization: 'bf16', pinMemory: false, callsEveryExpert: false, leafMoeBlock: false }, dsv2).runtime;
    expect([ds.kernelsPerLayer, ds.syncsPerLayer, ds.moeBlock, ds.kernelsPerExpert, ds.syncsPerExpert]).toEqual([92 + 57, 1, { kernels: 62, syncs: 5 }, 41, 3]);
    const mi = systemSemantics({ kind: 'moe-infinity', reserveGiB: 3.6, dispatch: 'dispatcher' }, dsv2).runtime;
    expect([mi.name, mi.kernelsPerLayer, mi.syncsPerLayer, mi.moeBlock, mi.kernelsPerExpert, mi.syncsPerExpert]).toEqual(['moe-infinity-dispatcher', 40 + 53, 1, { kernels: 28, syncs: 0 }, 16, 6]);
    expect(systemSemantics({ kind: 'moe-infinity', reserveGiB: 3.6, dispatch: 'dispatcher' }, mixtral).runtime).toBe(runtimes['moe-infinity-dispatcher']);
  });

  it('on the host thread: per transformer layer its ops and waits, per MoE layer the block\'s (DeepSeek-V2-Lite\'s dense layer 0 before MoE layer 0)', () => {
    const rt = hfRuntime(runtimes['moe-infinity-dispatcher'], dsv2, 'moe-infinity');
    const c = semanticCostModel(dsv2, hw, precision, sem({ runtime: rt, hostThread: true }));
    const perLayer = (40 + 53) * 10e-6 + 1 * 20e-6;
    const block = 28 * 10e-6;
    expect(c.host!.preExpertSec(0, 1, 100)).toBeCloseTo(2 * perLayer + block, 12);
    expect(c.host!.preExpertSec(1, 1, 100)).toBeCloseTo(perLayer + block, 12);
    // The same runtime without the model's difference: 40 ops a layer, nothing else.
    const base = semanticCostModel(dsv2, hw, precision, sem({ runtime: runtimes['moe-infinity-dispatcher'], hostThread: true }));
    expect(base.host!.preExpertSec(1, 1, 100)).toBeCloseTo(40 * 10e-6, 12);
  });

  it('inside the GPU jobs (no host thread): per transformer layer its ops and waits (dense layer 0 charged with MoE layer 0), per MoE layer the block\'s; per expert 3 ops and the wait fewer', () => {
    const rt = hfRuntime(runtimes['eager-pytorch'], dsv2, 'hf');
    const c = semanticCostModel(dsv2, hw, precision, sem({ runtime: rt, hostThread: false }));
    const base = semanticCostModel(dsv2, hw, precision, sem({ runtime: runtimes['eager-pytorch'], hostThread: false }));
    expect(c.preExpertSec(1, 1, 100, 100) - base.preExpertSec(1, 1, 100, 100)).toBeCloseTo((53 + 22) * 10e-6 + 2 * 20e-6, 12);
    expect(dsv2.moeLayers[0]).toBe(1);
    expect(c.preExpertSec(0, 1, 100, 100) - base.preExpertSec(0, 1, 100, 100)).toBeCloseTo((2 * 53 + 22) * 10e-6 + 3 * 20e-6, 12);
    expect(c.expertSec(1) - base.expertSec(1)).toBeCloseTo(-3 * 10e-6 - 20e-6, 12);
  });
});
