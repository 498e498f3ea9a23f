import { describe, expect, it } from 'vitest';
import { modelPresets } from '../../src/model/presets.js';
import { activeParamsPerToken, bytesPerParam, expertParams, numMoeLayers } from '../../src/model/derived.js';
import { cpuPresets as hostPresets, hardwarePresets } from '../../src/hardware/presets.js';
import { resolveHardware } from '../../src/hardware/resolve.js';
import { cpuBandwidthEfficiency, cpuPresets, GGML_CPU_DESKTOP_DECODE, ggmlCpuDesktopFraction, gpuHbmEfficiency, runtimes, semanticCostModel } from '../../src/timing/execution-semantics.js';
import { systemSemantics } from '../../src/systems/catalog.js';

/**
 * A host's measured quantised mat-vec bandwidth (Cpu.quantGemvBandwidthFraction) caps the CPU
 * preset's efficiency for GGUF k-quant kernels. The 2x Xeon Gold 6454S figure is measured from
 * kTransformers' V0.2 table by difference (8 vs 6 routed experts on one machine: every fixed cost
 * cancels), the declared fit subset (src/hardware/presets.ts).
 */
describe('quantised mat-vec bandwidth of a host', () => {
  const m = modelPresets['deepseek-v3'];
  // Two experts of every MoE layer at Q4_K_M as the suite sizes it (int4, groups of 37).
  const twoExpertsBytes = 2 * numMoeLayers(m) * expertParams(m) * bytesPerParam('int4', 37);
  const spr = hostPresets['xeon-gold-6454s-2s'];
  const socket = spr.dramBytesPerSec / 2;

  it('the 6454S figure is the marginal bandwidth of the V0.2 rows, dual and single socket alike', () => {
    // kvcache-ai/ktransformers@034a116:doc/en/DeepseekR1_V3_tutorial.md, V0.2 Benchmark Results.
    const dual = twoExpertsBytes / (1 / 12.208 - 1 / 13.69) / (2 * socket);
    const single = twoExpertsBytes / (1 / 8.73 - 1 / 10.303) / socket;
    expect(dual).toBeCloseTo(0.57, 2);
    expect(single).toBeCloseTo(0.578, 2);
    expect(spr.quantGemvBandwidthFraction).toBeCloseTo((dual + single) / 2, 1);
  });

  it('caps quantGemv kernels only, and only on a host that has a figure', () => {
    const kt = systemSemantics({ kind: 'ktransformers', quantization: 'gguf-q4_k' }, m);
    const ll = systemSemantics({ kind: 'llama-cpp', nCpuMoe: 0, quantization: 'gguf-q4_k' }, m);
    const fid = systemSemantics({ kind: 'fiddler', reserveGiB: 1.2 }, m);
    const sprHost = hardwarePresets['rtx-4090d'];
    const desktop = hardwarePresets['rtx-4090'];
    expect(cpuBandwidthEfficiency(sprHost, kt)).toBe(0.57);
    expect(cpuBandwidthEfficiency(sprHost, ll)).toBe(0.57);
    expect(cpuBandwidthEfficiency(desktop, kt)).toBe(cpuPresets['llamafile-avx512'].bandwidthEfficiency);
    // Fiddler's eager-PyTorch bf16 expert is not a k-quant kernel: its own 0.2 on any host.
    expect(cpuBandwidthEfficiency(sprHost, fid)).toBe(cpuPresets['pytorch-bf16-cpu'].bandwidthEfficiency);
  });

  it('one socket of the 6454S keeps the figure; a CPU expert at one token is its bytes at 0.57 of the socket', () => {
    const hw = resolveHardware({ preset: 'rtx-4090d', cpu: { preset: 'xeon-gold-6454s-2s', bandwidthGBps: 307.2 } }, 'hardware', '.');
    expect(hw.cpu.quantGemvBandwidthFraction).toBe(0.57);
    const kt = systemSemantics({ kind: 'ktransformers', quantization: 'gguf-q4_k' }, m);
    const costs = semanticCostModel(m, hw, { experts: 'int4', dense: 'int4', kvCache: 'bf16', groupSize: 37 }, kt);
    expect(costs.hardware.cpu.dramBytesPerSec).toBeCloseTo(0.57 * 307.2e9, 0);
    // One token is memory-bound (2 FLOP per parameter, far below the AVX-512 peak): bytes / bandwidth.
    expect(costs.cpuExpertSec(1)).toBeCloseTo((expertParams(m) * bytesPerParam('int4', 37)) / (0.57 * 307.2e9), 9);
  });

  it('llama.cpp without --numa on the 2-socket host: one node at the capped fraction, at half of it with threads on both sockets', () => {
    const ll = systemSemantics({ kind: 'llama-cpp', nCpuMoe: 0, ngl: 3, quantization: 'gguf-q4_k' }, m);
    const hw = hardwarePresets['rtx-4090d'];
    const costs = semanticCostModel(m, hw, { experts: 'int4', dense: 'int4', kvCache: 'bf16', groupSize: 37 }, ll);
    expect(costs.hardware.cpu.dramBytesPerSec).toBeCloseTo(((0.57 * hw.cpu.dramBytesPerSec) / 2) * 0.5, 0);
  });
});

/**
 * llama.cpp's CPU kernels are ggml-cpu's, not kTransformers' llamafile MoE: their achieved DRAM
 * fraction is the mean of llama.cpp desktop decode measurements outside the reproduce suite
 * (ggml-org/llama.cpp issue #4716), and a host's k-quant figure measured with kTransformers' kernel
 * only bounds it from above.
 */
describe('ggml-cpu (llama.cpp) CPU kernel efficiency', () => {
  const mixtral = modelPresets['mixtral-8x7b'];
  const active = activeParamsPerToken(mixtral);

  it('each published desktop figure is tok/s x the active bytes moesim sizes / the DIMM peak; the preset is their mean', () => {
    // Mixtral-8x7B's active parameters per token: attention and router of 32 layers, 2 of 8 experts, the output layer.
    expect(active / 1e9).toBeCloseTo(12.75, 2);
    const [q8a, q8b, q4] = GGML_CPU_DESKTOP_DECODE;
    expect(q8a.gbPerToken).toBeCloseTo((active * (34 / 32)) / 1e9, 2); // Q8_0: 34 bytes per 32 weights
    expect(q4.gbPerToken).toBeCloseTo((active * bytesPerParam('int4', 37)) / 1e9, 2); // the suite's Q4_K_M sizing
    expect(q8b.gbPerToken).toBe(q8a.gbPerToken);
    // Dual-channel DIMM peaks: DDR4/DDR5-3600 57.6 GB/s, DDR4-2800 44.8 GB/s.
    expect(q8a.peakGBps).toBeCloseTo((2 * 3600e6 * 8) / 1e9, 6);
    expect(q4.peakGBps).toBeCloseTo((2 * 2800e6 * 8) / 1e9, 6);
    const f = GGML_CPU_DESKTOP_DECODE.map((d) => (d.tokPerSec * d.gbPerToken) / d.peakGBps);
    expect(f[0]).toBeCloseTo(0.842, 2);
    expect(f[1]).toBeCloseTo(0.792, 2);
    expect(f[2]).toBeCloseTo(0.787, 2);
    expect(ggmlCpuDesktopFraction()).toBe(0.81);
    expect(cpuPresets['ggml-cpu'].bandwidthEfficiency).toBe(0.81);
    expect(cpuPresets['ggml-cpu'].fitted).toBe(false);
  });

  it('llama.cpp and HOBBIT run ggml-cpu, kTransformers its llamafile kernel; on a desktop each reads at its own fraction', () => {
    const ll = systemSemantics({ kind: 'llama-cpp', nCpuMoe: 0, quantization: 'gguf-q4_k' }, mixtral);
    const hb = systemSemantics({ kind: 'hobbit', lowBit: 'int4', belowGateWeight: 0.5 }, mixtral);
    const kt = systemSemantics({ kind: 'ktransformers', quantization: 'gguf-q4_k' }, mixtral);
    expect(ll.cpu).toBe(cpuPresets['ggml-cpu']);
    expect(hb.cpu).toBe(cpuPresets['ggml-cpu']);
    expect(kt.cpu).toBe(cpuPresets['llamafile-avx512']);
    const desktop = hardwarePresets['rtx-3090'];
    expect(cpuBandwidthEfficiency(desktop, ll)).toBe(0.81);
    expect(cpuBandwidthEfficiency(desktop, kt)).toBe(0.75);
    // A CPU expert at one token on the 7950X desktop: its bytes at 0.81 of 83.2 GB/s (one socket: no NUMA split).
    const precision = { experts: 'int4', dense: 'int4', kvCache: 'fp16', groupSize: 37 } as const;
    const costs = semanticCostModel(mixtral, desktop, precision, ll);
    expect(costs.hardware.cpu.dramBytesPerSec).toBeCloseTo(0.81 * 83.2e9, 0);
    expect(costs.cpuExpertSec(1)).toBeCloseTo((expertParams(mixtral) * bytesPerParam('int4', 37)) / (0.81 * 83.2e9), 9);
  });

  it('on the 2x 6454S host the kTransformers-measured 0.57 bounds ggml from above, and without --numa one node serves threads on both sockets', () => {
    const m = modelPresets['deepseek-v3'];
    const ll = systemSemantics({ kind: 'llama-cpp', nCpuMoe: 0, ngl: 2, quantization: 'gguf-q4_k' }, m);
    const hw = hardwarePresets['rtx-4090d'];
    expect(cpuBandwidthEfficiency(hw, ll)).toBe(Math.min(0.81, 0.57));
    const costs = semanticCostModel(m, hw, { experts: 'int4', dense: 'int4', kvCache: 'bf16', groupSize: 37 }, ll);
    // one node's 307.2 GB/s at 0.57, and half of that: each mat-vec waits for the remote socket's threads (GGML_THREADS_ACROSS_SOCKETS)
    expect(costs.hardware.cpu.dramBytesPerSec).toBeCloseTo(((0.57 * 614.4e9) / 2) * 0.5, 0);
  });
});

/**
 * ggml-cuda's decode mat-vecs reach a measured fraction of the GPU's HBM bandwidth (llama-bench
 * tg128 on llama 7B, llama.cpp PRs #4766 and #4812): 0.57 for 4-bit blocks, 0.82 for F16.
 */
describe('GPU decode HBM efficiency of a runtime', () => {
  const m = modelPresets['mixtral-8x7b'];
  it('is the mean of the published 4-bit llama-bench runs, and the F16 one', () => {
    const GiB = 2 ** 30;
    // t/s x bytes / datasheet bandwidth: P40 (346 GB/s) Q4_0 and Q4_K_S, RTX 3090 Ti (1008 GB/s) Q4_0; RTX 4090 F16.
    const q4 = [(56.79 * 3.56 * GiB) / 346e9, (54.23 * 3.59 * GiB) / 346e9, (127.43 * 3.56 * GiB) / 1008e9];
    const mean = q4.reduce((a, b) => a + b, 0) / q4.length;
    expect(runtimes['llama-cpp-ggml'].hbmEfficiency!.quantized).toBeCloseTo(mean, 2);
    expect(runtimes['llama-cpp-ggml'].hbmEfficiency!.float).toBeCloseTo((61.03 * 12.55 * GiB) / 1008e9, 2);
  });

  it('follows the experts\' format under llama.cpp; runtimes without a figure keep the datasheet rate', () => {
    const q = systemSemantics({ kind: 'llama-cpp', nCpuMoe: 0, quantization: 'gguf-q4_k' }, m);
    const f = systemSemantics({ kind: 'llama-cpp', nCpuMoe: 0, quantization: 'bf16' }, m);
    const mo = systemSemantics({ kind: 'mixtral-offloading', offloadPerLayer: 4, quantization: 'hqq-2bit', speculative: true }, m);
    expect(gpuHbmEfficiency(q)).toBe(0.57);
    expect(gpuHbmEfficiency(f)).toBe(0.82);
    expect(gpuHbmEfficiency(mo)).toBe(1);
    const hw = hardwarePresets['rtx-3090'];
    const precision = { experts: 'int4', dense: 'int8', kvCache: 'bf16', groupSize: 32 } as const;
    const costs = semanticCostModel(m, hw, precision, q);
    expect(costs.hardware.gpu.hbmBytesPerSec).toBeCloseTo(0.57 * hw.gpu.hbmBytesPerSec, 0);
    // A resident expert at one token (memory-bound on the GPU): its bytes at 0.57 of 936 GB/s, against the datasheet rate bare.
    const bare = semanticCostModel(m, hw, precision, { ...q, runtime: { ...q.runtime, hbmEfficiency: undefined } });
    expect(costs.expertSec(1) - bare.expertSec(1)).toBeCloseTo(costs.expertBytes / (0.57 * hw.gpu.hbmBytesPerSec) - costs.expertBytes / hw.gpu.hbmBytesPerSec, 9);
  });
});

/**
 * Fiddler's CPU expert is priced per token (latency_cpu = 7 x tokens, efeslab/fiddler@f2c111c:
 * src/fiddler/mixtral.py mixtral_forward): compute-bound, so a 4-token prefill expert costs four
 * one-token ones, not one (the bandwidth roof alone would give ~1x).
 */
describe("Fiddler's CPU expert on the paper's Environment 1 host", () => {
  const m = modelPresets['mixtral-8x7b'];
  const fid = systemSemantics({ kind: 'fiddler', reserveGiB: 1.2 }, m);
  const costs = semanticCostModel(m, hardwarePresets['quadro-rtx-6000'], { experts: 'bf16', dense: 'bf16', kvCache: 'bf16', groupSize: 128 }, fid);

  it('one token takes latency_cpu = 7 ms, and each further token as much again', () => {
    expect(cpuPresets['pytorch-bf16-cpu'].flopsEfficiency).toBe(0.0126);
    expect(costs.cpuExpertSec(1)).toBeCloseTo(7e-3, 4);
    expect(costs.cpuExpertSec(4) / costs.cpuExpertSec(1)).toBeCloseTo(4, 2);
    expect(costs.cpuExpertSec(9) / costs.cpuExpertSec(1)).toBeCloseTo(9, 2);
  });
});
