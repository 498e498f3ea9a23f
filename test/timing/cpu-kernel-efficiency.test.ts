import { describe, expect, it } from 'vitest';
import { modelPresets } from '../../src/model/presets.js';
import { bytesPerParam, expertParams, numMoeLayers } from '../../src/model/derived.js';
import { cpuPresets as hostPresets, hardwarePresets } from '../../src/hardware/presets.js';
import { cpuPresets, semanticCostModel } from '../../src/timing/execution-semantics.js';
import { systemSemantics } from '../../src/systems/catalog.js';

/**
 * kTransformers v0.2's CPU expert kernel: its achieved DRAM bandwidth is measured from the
 * tutorial's V0.2 table by difference (8 vs 6 routed experts on one machine: every fixed cost
 * cancels), the declared fit subset of the preset (src/timing/execution-semantics.ts).
 */
describe('ktransformers-v02-avx512 CPU preset', () => {
  const m = modelPresets['deepseek-v3'];
  // Two experts of every MoE layer at Q4_K_M as the suite sizes it (int4, groups of 37).
  const twoExpertsBytes = 2 * numMoeLayers(m) * expertParams(m) * bytesPerParam('int4', 37);
  const socket = hostPresets['xeon-gold-6454s-2s'].dramBytesPerSec / 2;

  it('is the marginal bandwidth of the V0.2 rows, dual and single socket alike', () => {
    // kvcache-ai/ktransformers@034a116:doc/en/DeepseekR1_V3_tutorial.md, V0.2 Benchmark Results.
    const dual = twoExpertsBytes / (1 / 12.208 - 1 / 13.69) / (2 * socket);
    const single = twoExpertsBytes / (1 / 8.73 - 1 / 10.303) / socket;
    expect(dual).toBeCloseTo(0.57, 2);
    expect(single).toBeCloseTo(0.578, 2);
    expect(cpuPresets['ktransformers-v02-avx512'].bandwidthEfficiency).toBeCloseTo((dual + single) / 2, 1);
    expect(cpuPresets['ktransformers-v02-avx512'].fitted).toBe(true);
  });

  it('the ktransformers system reads its CPU experts at 0.57 of the host DRAM rate; a decode token of one expert is its bytes at that rate', () => {
    const sem = systemSemantics({ kind: 'ktransformers', quantization: 'gguf-q4_k' }, m);
    expect(sem.cpu).toBe(cpuPresets['ktransformers-v02-avx512']);
    const hw = hardwarePresets['rtx-4090d'];
    const precision = { experts: 'int4', dense: 'int4', kvCache: 'bf16', groupSize: 37 } as const;
    const costs = semanticCostModel(m, hw, precision, sem);
    expect(costs.hardware.cpu.dramBytesPerSec).toBeCloseTo(0.57 * hw.cpu.dramBytesPerSec, 0);
    // One token is memory-bound (2 FLOP per parameter, far below the AVX-512 peak): bytes / bandwidth.
    const expected = (expertParams(m) * bytesPerParam('int4', 37)) / (0.57 * hw.cpu.dramBytesPerSec);
    expect(costs.cpuExpertSec(1)).toBeCloseTo(expected, 9);
    // llama.cpp keeps the desktop STREAM-class preset (a different kernel).
    expect(systemSemantics({ kind: 'llama-cpp', nCpuMoe: 0, quantization: 'gguf-q4_k' }, m).cpu).toBe(cpuPresets['llamafile-avx512']);
  });
});
