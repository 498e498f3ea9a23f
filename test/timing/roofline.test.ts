import { describe, expect, test } from 'vitest';
import { gpuPresets, linkPresets, cpuPresets } from '../../src/hardware/presets.js';
import { cpuExpertTimeSec, gpuFlopsPerSec, kernelTimeSec, linkCosts } from '../../src/timing/roofline.js';
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
    expect(gpuFlopsPerSec(gpuPresets['a100-80gb'], 'fp8')).toBe(312e12); // no FP8 on Ampere
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
