import { describe, expect, test } from 'vitest';
import { cpuPresets, gpuPresets, hardwarePresets, linkPresets } from '../../src/hardware/presets.js';

const GiB = 2 ** 30;

describe.each(Object.entries(gpuPresets))('GPU %s', (_key, gpu) => {
  test('has positive numbers and a datasheet source', () => {
    expect(gpu.hbmBytes).toBeGreaterThan(0);
    expect(gpu.hbmBytesPerSec).toBeGreaterThan(0);
    expect(gpu.launchOverheadSec).toBeGreaterThan(0);
    for (const flops of Object.values(gpu.flopsPerSec)) expect(flops).toBeGreaterThan(0);
    expect(gpu.source).toMatch(/NVIDIA .*https:\/\//);
  });
  test('tensor-core rates are at least the fp32 rate, and int8/fp8 at least fp16', () => {
    const f = gpu.flopsPerSec;
    expect(f.bf16).toBeGreaterThanOrEqual(f.fp32);
    if (f.fp16 !== undefined && f.int8 !== undefined) expect(f.int8).toBeGreaterThanOrEqual(f.fp16);
    if (f.fp16 !== undefined && f.fp8 !== undefined) expect(f.fp8).toBeGreaterThanOrEqual(f.fp16);
  });
});

test('capacities follow the GiB convention and datasheet figures', () => {
  expect(gpuPresets['h100-sxm'].hbmBytes).toBe(80 * GiB);
  expect(gpuPresets['h100-sxm'].hbmBytesPerSec).toBe(3.35e12);
  expect(gpuPresets['h100-sxm'].flopsPerSec.bf16).toBe(989.5e12);
  expect(gpuPresets['a100-40gb'].hbmBytes).toBe(40 * GiB);
  expect(gpuPresets['rtx-4090'].hbmBytesPerSec).toBe(1008e9);
});

test('PCIe x16 links at PCI-SIG rates per direction', () => {
  // 16 lanes x GT/s x 128/130 / 8: 15.754, 31.508, 63.015 GB/s, marketed as 15.75, 31.5 and 63.
  expect(linkPresets['pcie3-x16'].h2dBytesPerSec).toBeCloseTo(15.754e9, -6);
  expect(linkPresets['pcie4-x16'].h2dBytesPerSec).toBeCloseTo(31.508e9, -6);
  expect(linkPresets['pcie5-x16'].h2dBytesPerSec).toBeCloseTo(63.015e9, -6);
  for (const link of Object.values(linkPresets)) {
    expect(link.d2hBytesPerSec).toBe(link.h2dBytesPerSec);
    expect(link.latencySec).toBe(10e-6);
  }
});

test('CPU DRAM bandwidth is sockets x channels x MT/s x 8 bytes', () => {
  expect(cpuPresets['xeon-8480plus-2s'].dramBytesPerSec).toBe(614.4e9);
  expect(cpuPresets['epyc-7742-2s'].dramBytesPerSec).toBe(409.6e9);
  expect(cpuPresets['ryzen-7950x'].dramBytesPerSec).toBe(83.2e9);
});

describe.each(Object.entries(hardwarePresets))('machine %s', (key, hw) => {
  test('is named after its key and its GPU preset', () => {
    expect(hw.name).toBe(key);
    expect(hw.gpu).toBe(gpuPresets[key]);
  });
  test('uses catalog components', () => {
    expect(Object.values(linkPresets)).toContain(hw.link);
    expect(Object.values(cpuPresets)).toContain(hw.cpu);
  });
});

test('there is one machine per GPU', () => {
  expect(Object.keys(hardwarePresets).sort()).toEqual(Object.keys(gpuPresets).sort());
});

test('T4 sits on PCIe 3, desktop cards on PCIe 4 with a desktop CPU', () => {
  expect(hardwarePresets.t4.link).toBe(linkPresets['pcie3-x16']);
  expect(hardwarePresets['rtx-4090'].link).toBe(linkPresets['pcie4-x16']);
  expect(hardwarePresets['rtx-4090'].cpu).toBe(cpuPresets['ryzen-7950x']);
  expect(hardwarePresets['h100-sxm'].link).toBe(linkPresets['pcie5-x16']);
});

describe.each(Object.entries(cpuPresets))('CPU %s', (_key, cpu) => {
  test('has positive numbers and a source', () => {
    expect(cpu.dramBytes).toBeGreaterThan(0);
    expect(cpu.dramBytesPerSec).toBeGreaterThan(0);
    expect(cpu.flopsPerSec).toBeGreaterThan(0);
    expect(cpu.source.length).toBeGreaterThan(20);
    expect(cpu.source).toMatch(/ark\.intel\.com|https:\/\//);
  });
  test('the optional ISA fields are consistent', () => {
    for (const f of Object.values(cpu.flopsPerSecByIsa ?? {})) {
      expect(f).toBeGreaterThan(0);
      expect(f).toBeLessThanOrEqual(cpu.flopsPerSec * 1.0000001);
    }
    if (cpu.matrixFlopsPerSec !== undefined) {
      expect(cpu.isa).toContain('amx');
      expect(cpu.matrixFlopsPerSec.bf16).toBeGreaterThan(cpu.flopsPerSec);
    }
    if (cpu.flopsPerSecByIsa?.avx512 !== undefined) expect(cpu.isa).toContain('avx512');
    if (cpu.cores !== undefined) expect(cpu.flopsPerSec / cpu.cores).toBeLessThan(300e9); // below 300 GFLOP/s per core
  });
});

test('published-setup GPUs at datasheet figures', () => {
  expect(gpuPresets['rtx-3060'].hbmBytesPerSec).toBe(360e9);
  expect(gpuPresets['rtx-3080-laptop'].hbmBytes).toBe(16 * GiB);
  expect(gpuPresets['rtx-4080'].flopsPerSec.bf16).toBe(97.5e12);
  expect(gpuPresets['rtx-5090'].hbmBytesPerSec).toBe(1792e9);
  expect(gpuPresets.a10.flopsPerSec.bf16).toBe(125e12);
  expect(gpuPresets.l40s.hbmBytes).toBe(48 * GiB);
  expect(gpuPresets.v100.flopsPerSec.fp16).toBe(125e12);
  expect(gpuPresets.p40.hbmBytesPerSec).toBe(346e9);
  expect(gpuPresets['quadro-rtx-6000'].hbmBytesPerSec).toBe(672e9);
  // RTX 2080 (Turing whitepaper): 256-bit GDDR6 at 14 Gbps; GeForce FP32-accumulate tensor = half the FP16-accumulate 80.5.
  expect(gpuPresets['rtx-2080'].hbmBytesPerSec).toBe((256 / 8) * 14e9);
  expect(gpuPresets['rtx-2080'].hbmBytes).toBe(8 * GiB);
  expect(gpuPresets['rtx-2080'].flopsPerSec.fp16).toBeCloseTo(46 * 1.71e9 * 512, -11);
  expect(gpuPresets['rtx-2080'].flopsPerSec.fp16! * 2).toBeCloseTo(80.5e12, -11);
  expect(hardwarePresets['rtx-2080'].link).toBe(linkPresets['pcie3-x16']);
  expect(gpuPresets.h200.hbmBytes).toBe(141 * GiB);
  expect(gpuPresets.h200.hbmBytesPerSec).toBe(4.8e12);
  expect(gpuPresets.b200.flopsPerSec.bf16).toBe(2.25e15);
  // GeForce rates: FP32-accumulate tensor = SMs x boost x 512 FLOP/clk.
  expect(gpuPresets['rtx-3060'].flopsPerSec.bf16).toBeCloseTo(28 * 1.777e9 * 512, -11);
});

test('GH200 reaches its Grace CPU over NVLink-C2C at 450 GB/s per direction', () => {
  expect(hardwarePresets.gh200.link).toBe(linkPresets['nvlink-c2c']);
  expect(linkPresets['nvlink-c2c'].h2dBytesPerSec).toBe(450e9);
  expect(hardwarePresets.gh200.cpu).toBe(cpuPresets['grace-72c']);
});

test('server CPUs of published setups: DRAM bandwidth is sockets x channels x MT/s x 8 bytes', () => {
  expect(cpuPresets['xeon-gold-6126-2s'].dramBytesPerSec).toBeCloseTo(255.936e9, -6);
  expect(cpuPresets['xeon-8280-2s'].dramBytesPerSec).toBeCloseTo(281.568e9, -6);
  expect(cpuPresets['xeon-e5-2698v4-2s'].dramBytesPerSec).toBe(153.6e9);
  expect(cpuPresets['xeon-gold-6454s-2s'].dramBytesPerSec).toBe(614.4e9);
  expect(cpuPresets['epyc-7763-2s'].dramBytesPerSec).toBe(409.6e9);
  expect(cpuPresets['epyc-9654-2s'].dramBytesPerSec).toBe(921.6e9);
  expect(cpuPresets['ryzen-5950x'].dramBytesPerSec).toBe(51.2e9);
  expect(cpuPresets['xeon-gold-6454s-2s'].isa).toContain('amx');
});

test('the numbers no datasheet gives (launch 5 us, 10 us per transfer) say so in the preset source', () => {
  for (const [k, g] of Object.entries(gpuPresets)) if (g.launchOverheadSec === 5e-6) expect(g.source, k).toContain('launchOverheadSec 5 us: not from the datasheet');
  for (const [k, l] of Object.entries(linkPresets)) if (l.latencySec === 10e-6) expect(l.source, k).toContain('latencySec 10 us per transfer: not from the specification');
});

test("Table 2's cloud T4 hosts (s27-hosts): Colab's 2 vCPUs of a Broadwell Xeon with 12.7 GiB, Azure NCasT4_v3's 4 cores of an EPYC 7V12 with 28 GiB", () => {
  const colab = cpuPresets['colab-xeon-2vcpu'];
  expect(colab.dramBytes).toBeCloseTo(12.7 * GiB, -3);
  expect(colab.cores).toBe(1); // siblings 2, cpu cores 1: the 2 vCPUs are one core's hyperthreads
  expect(colab.flopsPerSec).toBeCloseTo(2.2e9 * 32, -3);
  expect(colab.isa).not.toContain('avx512');
  expect(colab.source).toContain('googlecolab/colabtools/issues/4134');
  expect(colab.source).toContain('dramBytesPerSec not sourced');
  const azure = cpuPresets['epyc-7v12-nc4as'];
  expect(azure.name).toContain('EPYC 7V12');
  expect(azure.dramBytes).toBe(28 * GiB);
  expect(azure.cores).toBe(4);
  expect(azure.flopsPerSec).toBeCloseTo(4 * 2.45e9 * 32, -3);
  expect(azure.source).toContain('nct4-v3-series');
  expect(azure.source).toContain('dramBytesPerSec not sourced');
});
