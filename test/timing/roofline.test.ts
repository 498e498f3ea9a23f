import { describe, expect, test } from 'vitest';
import { gpuPresets, linkPresets, cpuPresets } from '../../src/hardware/presets.js';
import { computeDtype, cpuExpertTimeSec, gpuFlopsPerSec, kernelTimeSec, linkCosts } from '../../src/timing/roofline.js';
import type { Gpu } from '../../src/hardware/types.js';

/** A GPU with round numbers: 1 TB/s, 100 TFLOP/s bf16, 200 fp8, 10 fp32, 5 us per launch. */
const gpu: Gpu = {
  name: 'round',
  hbmBytes: 1e10,
  hbmBytesPerSec: 1e12,
  flopsPerSec: { fp32: 10e12, bf16: 100e12, fp8: 200e12 },
  launchOverheadSec: 5e-6,
  source: 'test',
};

describe('kernelTimeSec', () => {
  test('memory-bound: bytes over bandwidth plus one launch', () => {
    expect(kernelTimeSec(gpu, 1e9, 1e9, 'bf16')).toBeCloseTo(5e-6 + 1e-3, 12);
  });
  test('compute-bound: FLOPs over the dtype rate', () => {
    expect(kernelTimeSec(gpu, 1e3, 1e14, 'bf16')).toBeCloseTo(5e-6 + 1, 9);
    expect(kernelTimeSec(gpu, 1e3, 1e14, 'fp8')).toBeCloseTo(5e-6 + 0.5, 9);
    expect(kernelTimeSec(gpu, 1e3, 1e14, 'fp32')).toBeCloseTo(5e-6 + 10, 9);
  });
  test('a dtype without a listed rate (int4 weights) and no dtype compute at the bf16 rate', () => {
    expect(gpuFlopsPerSec(gpu, 'int4')).toBe(100e12);
    expect(gpuFlopsPerSec(gpu, undefined)).toBe(100e12);
    expect(kernelTimeSec(gpu, 0, 1e14)).toBeCloseTo(5e-6 + 1, 9);
    // No FP8 on Ampere: fp8 weights compute in bf16, at the bf16 rate (the measured sustained one on this preset).
    expect(gpuFlopsPerSec(gpuPresets['a100-80gb'], 'fp8')).toBe(gpuFlopsPerSec(gpuPresets['a100-80gb'], 'bf16'));
  });
  test('each kernel pays its launch', () => {
    expect(kernelTimeSec(gpu, 0, 0, 'bf16', 3)).toBeCloseTo(15e-6, 12);
    expect(kernelTimeSec(gpu, 0, 0, 'bf16', 0)).toBe(0);
  });
  test('decoding one Mixtral expert on an H100 is memory-bound (~105 us for 352 MB)', () => {
    const bytes = 3 * 4096 * 14336 * 2;
    const flops = 2 * 3 * 4096 * 14336; // one token
    const t = kernelTimeSec(gpuPresets['h100-sxm'], bytes, flops, 'bf16');
    expect(t).toBeCloseTo(5e-6 + bytes / 3.35e12, 9);
  });
});

describe('transfers', () => {
  test('latency plus bytes over bandwidth', () => {
    const link = { name: 'round', h2dBytesPerSec: 10e9, d2hBytesPerSec: 5e9, latencySec: 10e-6, source: 'test' };
    expect(linkCosts(link).h2dSec(10e9)).toBeCloseTo(10e-6 + 1, 9);
    expect(linkCosts(link).d2hSec(10e9)).toBeCloseTo(10e-6 + 2, 9);
  });
  test('a CPU round trip pays the link both ways around the CPU work', () => {
    const link = { name: 'round', h2dBytesPerSec: 10e9, d2hBytesPerSec: 5e9, latencySec: 10e-6, source: 'test' };
    expect(linkCosts(link).cpuRoundTripSec(10e9, 3)).toBeCloseTo(20e-6 + 2 + 3 + 1, 9);
  });
  test('a non-positive bandwidth is refused', () => {
    expect(() => linkCosts({ ...linkPresets['pcie4-x16'], h2dBytesPerSec: 0 })).toThrow(/positive/);
  });
  test('a bf16 Mixtral expert over PCIe 4 takes about 11 ms', () => {
    expect(linkCosts(linkPresets['pcie4-x16']).h2dSec(352_321_536)).toBeCloseTo(0.01119, 4);
  });
});

describe('cpuExpertTimeSec', () => {
  test('the slower of reading the weights and computing', () => {
    const cpu = cpuPresets['ryzen-7950x'];
    expect(cpuExpertTimeSec(cpu, 83.2e9, 1)).toBeCloseTo(1, 9);
    expect(cpuExpertTimeSec(cpu, 1, cpu.flopsPerSec * 2)).toBeCloseTo(2, 9);
  });
});

describe('sustained large-GEMM rate (Gpu.sustainedFlopsPerSec)', () => {
  test('a compute-bound fp16 kernel on the T4 takes peak / sustained = 65 / 24 times as long', () => {
    const t4 = gpuPresets.t4;
    const peakOnly: Gpu = { ...t4, sustainedFlopsPerSec: undefined };
    const flops = 1e13; // 1e3 bytes: compute-bound
    const atPeak = kernelTimeSec(peakOnly, 1e3, flops, 'fp16') - t4.launchOverheadSec;
    const sustained = kernelTimeSec(t4, 1e3, flops, 'fp16') - t4.launchOverheadSec;
    expect(atPeak).toBeCloseTo(flops / 65e12, 12);
    expect(sustained).toBeCloseTo(flops / 24e12, 12);
    expect(sustained / atPeak).toBeCloseTo(65 / 24, 9);
    // int4 weights on the T4 compute in fp16 (no bf16 tensor cores): the same sustained rate.
    expect(gpuFlopsPerSec(t4, 'int4')).toBe(24e12);
  });
  test('a memory-bound kernel is unchanged; a dtype without a measurement runs at its peak', () => {
    const t4 = gpuPresets.t4;
    expect(kernelTimeSec(t4, 1e9, 1e9, 'fp16')).toBe(kernelTimeSec({ ...t4, sustainedFlopsPerSec: undefined }, 1e9, 1e9, 'fp16'));
    expect(gpuFlopsPerSec(t4, 'fp32')).toBe(8.1e12);
    expect(gpuFlopsPerSec(gpuPresets['a100-80gb'], 'fp16')).toBe(312e12); // measured in bf16 only
    expect(gpuFlopsPerSec(gpuPresets['a100-80gb'], 'bf16')).toBe(271.2e12);
  });
  test('presets without the field charge the datasheet peak, as before', () => {
    for (const [k, g] of Object.entries(gpuPresets)) {
      if (g.sustainedFlopsPerSec) continue;
      for (const d of ['fp32', 'bf16', 'fp16', 'fp8', 'int8', 'int4', 'int2'] as const) {
        // The rate before issue 12's field: the peak of the compute dtype.
        const peak = g.flopsPerSec[computeDtype(d, g.flopsPerSec)] ?? g.flopsPerSec.bf16;
        expect(gpuFlopsPerSec(g, d), `${k} ${d}`).toBe(peak);
      }
    }
  });
});
