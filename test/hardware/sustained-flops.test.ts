import { describe, expect, test } from 'vitest';
import { gpuPresets, hardwarePresets } from '../../src/hardware/presets.js';
import { gpuSchema, hardwareSchema } from '../../src/hardware/schema.js';
import { resolveHardware } from '../../src/hardware/resolve.js';
import { InputError } from '../../src/util/errors.js';

/** The GPU presets with a measured sustained large-GEMM rate (issue 12), by compute dtype, TFLOP/s. */
const MEASURED: Record<string, Record<string, number>> = {
  t4: { fp16: 24 },
  l4: { fp16: 52.47, bf16: 56.9 },
  'a100-80gb': { bf16: 271.2 },
  'rtx-3060': { fp16: 24.8, bf16: 25.47 },
  'rtx-3080-laptop': { fp16: 33.65, bf16: 33.3 },
};

function errorOf(spec: unknown): string {
  try {
    resolveHardware(spec);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('sustainedFlopsPerSec on the GPU presets', () => {
  test('exactly the presets with a cited measurement have one, at the measured figures', () => {
    const withField = Object.entries(gpuPresets).filter(([, g]) => g.sustainedFlopsPerSec !== undefined).map(([k]) => k);
    expect(withField.sort()).toEqual(Object.keys(MEASURED).sort());
    for (const [k, rates] of Object.entries(MEASURED)) {
      const s = gpuPresets[k].sustainedFlopsPerSec!;
      for (const [d, tflops] of Object.entries(rates)) expect(s[d as 'fp16'], `${k} ${d}`).toBeCloseTo(tflops * 1e12, -6);
      expect(s.source, k).toMatch(/https:\/\//);
    }
  });
  test('the T4 sustains 24 of its 65 TFLOP/s fp16 (power-capped at 70 W), its peaks unchanged', () => {
    expect(gpuPresets.t4.flopsPerSec.fp16).toBe(65e12);
    expect(gpuPresets.t4.sustainedFlopsPerSec?.fp16).toBe(24e12);
    expect(gpuPresets.t4.sustainedFlopsPerSec?.source).toContain('forums.developer.nvidia.com/t/about-gpu-peak-performance/264462');
  });
  test.each(Object.entries(hardwarePresets))('machine %s passes the hardware schema (sustained at most the peak)', (_k, hw) => {
    expect(hardwareSchema.safeParse(hw).success).toBe(true);
  });
});

describe('the schema bounds a sustained rate by its peak', () => {
  const t4 = gpuPresets.t4;
  test('above the peak: an issue at the field, naming the peak', () => {
    const r = gpuSchema.safeParse({ ...t4, sustainedFlopsPerSec: { fp16: 70e12, source: 'x' } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0].path).toEqual(['sustainedFlopsPerSec', 'fp16']);
    expect(r.error!.issues[0].message).toBe('expected at most the peak flopsPerSec.fp16 (65000000000000), got 70000000000000');
  });
  test('equal to the peak is allowed; zero, a dtype without a peak and a missing source are not', () => {
    expect(gpuSchema.safeParse({ ...t4, sustainedFlopsPerSec: { fp16: 65e12, source: 'x' } }).success).toBe(true);
    expect(gpuSchema.safeParse({ ...t4, sustainedFlopsPerSec: { fp16: 0, source: 'x' } }).success).toBe(false);
    const fp8 = gpuSchema.safeParse({ ...t4, sustainedFlopsPerSec: { fp8: 1e12, source: 'x' } });
    expect(fp8.error?.issues[0].path).toEqual(['sustainedFlopsPerSec', 'fp8']);
    expect(gpuSchema.safeParse({ ...t4, sustainedFlopsPerSec: { fp16: 1e12 } }).success).toBe(false);
  });
});

describe('scenario override hardware.gpu.sustainedTflops', () => {
  test('a preset without a measurement takes one from the scenario, noted in both sources', () => {
    const hw = resolveHardware({ preset: 'rtx-a5000', gpu: { sustainedTflops: { fp16: 90 } } });
    expect(hw.gpu.sustainedFlopsPerSec).toEqual({ fp16: 90e12, source: 'inline in scenario' });
    expect(hw.gpu.source).toContain('overridden in scenario: sustainedTflops.fp16');
  });
  test("the preset's measurement is kept, and overridden per dtype", () => {
    expect(resolveHardware('t4').gpu.sustainedFlopsPerSec).toEqual(gpuPresets.t4.sustainedFlopsPerSec);
    const hw = resolveHardware({ preset: 'l4', gpu: { sustainedTflops: { fp16: 40 } } });
    expect(hw.gpu.sustainedFlopsPerSec?.fp16).toBe(40e12);
    expect(hw.gpu.sustainedFlopsPerSec?.bf16).toBe(56.9e12);
    expect(hw.gpu.sustainedFlopsPerSec?.source).toMatch(/issues\/120.*overridden in scenario: sustainedTflops\.fp16$/);
  });
  test("overriding a dtype's peak drops the preset's measurement of it (it was of the preset's part)", () => {
    expect(resolveHardware({ preset: 't4', gpu: { tflops: { fp16: 20 } } }).gpu.sustainedFlopsPerSec).toBeUndefined();
    const l4 = resolveHardware({ preset: 'l4', gpu: { tflops: { fp16: 100 } } }).gpu.sustainedFlopsPerSec;
    expect(l4?.fp16).toBeUndefined();
    expect(l4?.bf16).toBe(56.9e12);
  });
  test('above the peak, or for a dtype without one: a one-line error naming the field', () => {
    expect(errorOf({ preset: 't4', gpu: { sustainedTflops: { fp16: 66 } } })).toBe('hardware.gpu.sustainedTflops.fp16: expected at most the fp16 peak (65 TFLOP/s), got 66');
    expect(errorOf({ preset: 't4', gpu: { sustainedTflops: { fp8: 1 } } })).toBe('hardware.gpu.sustainedTflops.fp8: the GPU has no fp8 peak (give tflops.fp8 too)');
    expect(errorOf({ preset: 't4', gpu: { sustainedTflops: { fp16: 0 } } })).toBe('hardware.gpu.sustainedTflops.fp16: expected a positive number, got 0');
    expect(errorOf({ preset: 't4', gpu: { sustainedTflops: { int4: 1 } } })).toMatch(/^hardware\.gpu\.sustainedTflops: unknown key "int4"/);
  });
});
