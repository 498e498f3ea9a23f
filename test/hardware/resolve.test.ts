import { describe, expect, test } from 'vitest';
import { cpuPresets, gpuPresets, hardwarePresets, linkPresets } from '../../src/hardware/presets.js';
import { describeHardware, hardwareSpecSchema, resolveHardware } from '../../src/hardware/resolve.js';
import { InputError } from '../../src/util/errors.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

function errorOf(spec: unknown, fieldPath?: string): string {
  try {
    resolveHardware(spec, fieldPath);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('presets by name', () => {
  test('a machine name resolves to the catalog machine', () => {
    expect(resolveHardware('h100-sxm')).toEqual(hardwarePresets['h100-sxm']);
  });
  test('the result is a copy', () => {
    const hw = resolveHardware('rtx-4090');
    hw.gpu.hbmBytes = 1;
    expect(gpuPresets['rtx-4090'].hbmBytes).toBe(24 * 2 ** 30);
  });
  test('an unknown name suggests near ones', () => {
    expect(errorOf('h100')).toMatch(/^hardware: unknown hardware "h100"; did you mean "h100-pcie", "h100-sxm"/);
    expect(errorOf({ preset: 'h100-sxm', gpu: { preset: 'a100' } })).toMatch(/^hardware\.gpu\.preset: unknown GPU "a100"; did you mean/);
    expect(errorOf({ preset: 'h100-sxm', link: { preset: 'pcie6-x16' } })).toMatch(/^hardware\.link\.preset: unknown link "pcie6-x16"/);
  });
});

describe('overrides in user units', () => {
  test('a preset with a slower link: GB/s and us become bytes/s and s', () => {
    const hw = resolveHardware({ preset: 'rtx-4090', link: { bandwidthGBps: 25, latencyUs: 20 } });
    expect(hw.name).toBe('rtx-4090+overrides');
    expect(hw.link.h2dBytesPerSec).toBe(25e9);
    expect(hw.link.d2hBytesPerSec).toBe(25e9); // follows h2d unless given
    expect(hw.link.latencySec).toBeCloseTo(20e-6, 12);
    expect(hw.link.source).toContain('overridden in scenario: bandwidthGBps, latencyUs');
    expect(hw.gpu).toEqual(gpuPresets['rtx-4090']);
  });
  test('GPU memory in GiB, bandwidth in GB/s, TFLOP/s per dtype, launch overhead in us', () => {
    const hw = resolveHardware({ preset: 'h100-sxm', gpu: { memoryGiB: 40, bandwidthGBps: 1000, tflops: { bf16: 500 }, launchOverheadUs: 3 } });
    expect(hw.gpu.hbmBytes).toBe(40 * 2 ** 30);
    expect(hw.gpu.hbmBytesPerSec).toBe(1e12);
    expect(hw.gpu.flopsPerSec.bf16).toBe(500e12);
    expect(hw.gpu.flopsPerSec.fp8).toBe(gpuPresets['h100-sxm'].flopsPerSec.fp8);
    expect(hw.gpu.launchOverheadSec).toBeCloseTo(3e-6, 12);
    expect(hw.gpu.source).toContain('tflops.bf16');
  });
  test('CPU in GiB, GB/s and GFLOP/s', () => {
    const hw = resolveHardware({ preset: 'rtx-4090', cpu: { memoryGiB: 128, bandwidthGBps: 60, gflops: 1000 } });
    expect(hw.cpu).toMatchObject({ dramBytes: 128 * 2 ** 30, dramBytesPerSec: 60e9, flopsPerSec: 1e12 });
  });
  test('components can come from other presets', () => {
    const hw = resolveHardware({ preset: 'h100-sxm', link: { preset: 'pcie4-x16' }, cpu: { preset: 'ryzen-7950x' } });
    expect(hw.link).toEqual(linkPresets['pcie4-x16']);
    expect(hw.cpu).toEqual(cpuPresets['ryzen-7950x']);
    expect(hw.name).toBe('h100-sxm+overrides');
  });
  test('a preset object with nothing overridden keeps its name', () => {
    expect(resolveHardware({ preset: 'l4' }).name).toBe('l4');
  });
});

describe('custom machines', () => {
  test('from component presets', () => {
    const hw = resolveHardware({ gpu: { preset: 'l4' }, link: { preset: 'pcie4-x16' }, cpu: { preset: 'epyc-7742-2s' } });
    expect(hw.name).toBe('custom');
    expect(hw.gpu).toEqual(gpuPresets.l4);
  });
  test('from numbers only', () => {
    const hw = resolveHardware({
      gpu: { name: 'toy', memoryGiB: 8, bandwidthGBps: 400, tflops: { fp32: 10, bf16: 40 }, launchOverheadUs: 4 },
      link: { bandwidthGBps: 16, latencyUs: 10 },
      cpu: { memoryGiB: 32, bandwidthGBps: 50, gflops: 500 },
    });
    expect(hw.gpu).toMatchObject({ name: 'toy', hbmBytes: 8 * 2 ** 30, flopsPerSec: { fp32: 10e12, bf16: 40e12 }, source: 'inline in scenario' });
    expect(hw.link.h2dBytesPerSec).toBe(16e9);
  });
  test('a component without a preset must give every number', () => {
    expect(errorOf({ gpu: { memoryGiB: 8 }, link: { preset: 'pcie4-x16' }, cpu: { preset: 'ryzen-7950x' } })).toBe(
      'hardware.gpu: without a GPU preset, give bandwidthGBps, tflops.fp32, tflops.bf16, launchOverheadUs',
    );
    expect(errorOf({ gpu: { preset: 'l4' }, cpu: { preset: 'ryzen-7950x' } })).toBe('hardware.link: without a link preset, give bandwidthGBps, latencyUs');
  });
});

describe('errors name the field', () => {
  test('zero or negative bandwidth', () => {
    expect(errorOf({ preset: 'h100-sxm', link: { bandwidthGBps: 0 } })).toBe('hardware.link.bandwidthGBps: expected a positive number, got 0');
    expect(errorOf({ preset: 'h100-sxm', gpu: { bandwidthGBps: -5 } })).toBe('hardware.gpu.bandwidthGBps: expected a positive number, got -5');
    expect(errorOf({ preset: 'h100-sxm', gpu: { tflops: { bf16: 0 } } })).toBe('hardware.gpu.tflops.bf16: expected a positive number, got 0');
  });
  test('wrong types', () => {
    expect(errorOf({ preset: 'h100-sxm', cpu: { gflops: '100' } })).toBe('hardware.cpu.gflops: expected a positive number, got "100"');
    expect(errorOf(7)).toBe('hardware: expected a preset name or an object, got 7');
    expect(errorOf({ preset: 'h100-sxm', link: { latencyUs: -1 } })).toBe('hardware.link.latencyUs: expected a number >= 0, got -1');
  });
  test('unknown keys, with suggestions', () => {
    expect(errorOf({ preset: 'h100-sxm', gpu: { memoryGB: 80 } })).toBe('hardware.gpu: unknown key "memoryGB"; did you mean "memoryGiB"?');
    expect(errorOf({ preset: 'h100-sxm', gpu: { tflops: { int4: 1 } } })).toMatch(/^hardware\.gpu\.tflops: unknown key "int4"/);
    expect(errorOf({ preset: 'h100-sxm', ssd: {} })).toMatch(/^hardware: unknown key "ssd"/);
  });
  test("the caller's field path", () => {
    expect(errorOf({ preset: 'h100-sxm', link: { bandwidthGBps: 0 } }, 'sweep.hardware[1]')).toBe(
      'sweep.hardware[1].link.bandwidthGBps: expected a positive number, got 0',
    );
  });
  test('the schema reports the same issue with its path', () => {
    const r = hardwareSpecSchema.safeParse({ preset: 'h100-sxm', link: { bandwidthGBps: 0 } });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['link', 'bandwidthGBps'], message: 'expected a positive number, got 0' });
  });
});

test('describeHardware is one line with the headline numbers', () => {
  const line = describeHardware(hardwarePresets['h100-sxm']);
  expect(line).not.toContain('\n');
  expect(line).toBe(
    'h100-sxm: NVIDIA H100 SXM5 80GB (80 GiB, 3350 GB/s, 990 TFLOP/s bf16) | PCIe 5.0 x16 (63 GB/s) | 2x Intel Xeon Platinum 8480+ (1024 GiB, 614 GB/s)',
  );
});

describe('a calibration profile as the hardware', () => {
  const profile = JSON.parse(readFileSync(join(FIXTURES, 'cpu-quick-profile.json'), 'utf8'));

  test('profile: a path relative to the scenario folder gives the profile\'s Hardware', () => {
    const hw = resolveHardware({ profile: 'cpu-quick-profile.json' }, 'hardware', FIXTURES);
    expect(hw).toEqual({ ...profile.hardware, name: 'profile:cpu-quick-profile.json' });
    expect(hw.link.overlapsCompute).toBe(false);
  });

  test('overrides apply on top of the profile', () => {
    const hw = resolveHardware({ profile: 'cpu-quick-profile.json', link: { bandwidthGBps: 1, overlapsCompute: true } }, 'hardware', FIXTURES);
    expect(hw.name).toBe('profile:cpu-quick-profile.json+overrides');
    expect(hw.link.h2dBytesPerSec).toBe(1e9);
    expect(hw.link.overlapsCompute).toBe(true);
    expect(hw.gpu).toEqual(profile.hardware.gpu);
  });

  test('bad files are one-line errors naming the field and the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moesim-hw-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...profile, hardware: { ...profile.hardware, gpu: { ...profile.hardware.gpu, hbmBytesPerSec: -1 } } }));
    writeFileSync(join(dir, 'text.json'), 'not json');
    const at = (spec: unknown) => {
      try {
        resolveHardware(spec, 'hardware', dir);
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as Error).message;
      }
      throw new Error('expected an InputError');
    };
    expect(at({ profile: 'missing.json' })).toBe('hardware.profile: missing.json: cannot read calibration profile: no such file or folder');
    expect(at({ profile: 'bad.json' })).toMatch(/^hardware\.profile: bad\.json: not a valid moesim calibration profile: hardware\.gpu\.hbmBytesPerSec: /);
    expect(at({ profile: 'text.json' })).toMatch(/^hardware\.profile: text\.json: not JSON/);
    expect(at({ profile: 'bad.json', preset: 'h100-sxm' })).toBe('hardware: give a preset or a profile, not both');
    for (const m of [at({ profile: 'missing.json' }), at({ profile: 'bad.json' })]) expect(m).not.toContain('\n');
  });

  test('link.overlapsCompute must be a boolean', () => {
    expect(errorOf({ preset: 'rtx-4090', link: { overlapsCompute: 'no' } })).toBe('hardware.link.overlapsCompute: expected true or false, got "no"');
  });
});

test('a CPU keeps its preset\'s sockets unless its bandwidth is overridden (then it describes another host)', () => {
  expect(resolveHardware({ preset: 'rtx-4090d' }, 'h').cpu.sockets).toBe(2);
  expect(resolveHardware({ preset: 'rtx-4090d', cpu: { preset: 'xeon-gold-6454s-2s', memoryGiB: 512 } }, 'h').cpu.sockets).toBe(2);
  expect(resolveHardware({ preset: 'rtx-4090d', cpu: { preset: 'xeon-gold-6454s-2s', bandwidthGBps: 307.2 } }, 'h').cpu.sockets).toBeUndefined();
});
