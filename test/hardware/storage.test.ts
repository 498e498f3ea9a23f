import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DISK_PROFILE_KIND, resolveStorage, ssdPresets } from '../../src/hardware/storage.js';
import { allMachinePresets, resolveHardware } from '../../src/hardware/resolve.js';
import { storageMachinePresets } from '../../src/hardware/unified.js';
import { InputError } from '../../src/util/errors.js';

const GiB = 2 ** 30;

describe.each(Object.entries(ssdPresets))('SSD %s', (_k, s) => {
  test('positive figures and a source', () => {
    expect(s.seqReadBytesPerSec).toBeGreaterThan(1e9);
    expect(s.randReadIops).toBeGreaterThan(0);
    expect(s.readLatencySec).toBeGreaterThan(0);
    expect(s.source.length).toBeGreaterThan(40);
  });
});

test('datasheet figures', () => {
  expect(ssdPresets['samsung-990-pro'].seqReadBytesPerSec).toBe(7.45e9);
  expect(ssdPresets['samsung-990-pro'].randReadIops).toBe(1.4e6);
  expect(ssdPresets['wd-sn850x'].seqReadBytesPerSec).toBe(7.3e9);
});

test('sourced figures of session 28, and estimates marked as such in their sources', () => {
  // M3 Max SSD read: MacRumors' measured 5,032 MB/s (was the 6,000 MB/s estimate).
  expect(ssdPresets['apple-m3-max-ssd'].seqReadBytesPerSec).toBe(5.032e9);
  expect(storageMachinePresets['m3-max'].storage?.seqReadBytesPerSec).toBe(5.032e9);
  // DGX Spark dense bf16: 1 PFLOP sparse FP4 / 16, the consumer Blackwell ratio (was 125 = / 8).
  expect(storageMachinePresets['dgx-spark'].gpu.flopsPerSec.bf16).toBe(62.5e12);
  // What is still an estimate says so in its source.
  for (const k of ['wd-sn850x', 'solidigm-d7-p5520', 'apple-m3-max-ssd', 'apple-m4-max-ssd']) expect(ssdPresets[k].source).toMatch(/estimate/);
});

test('hardware.storage: a preset name, overrides, and errors naming the field', () => {
  const h = resolveHardware({ preset: 'rtx-4090', storage: 'samsung-990-pro' });
  expect(h.storage?.name).toMatch(/990 PRO/);
  const o = resolveHardware({ preset: 'rtx-4090', storage: { preset: 'wd-sn850x', queueDepth: 1, blockKiB: 128 } });
  expect(o.storage?.queueDepth).toBe(1);
  expect(o.storage?.source).toMatch(/overridden in scenario: queueDepth, blockKiB/);
  expect(() => resolveHardware({ preset: 'rtx-4090', storage: 'nope' })).toThrow(/hardware\.storage\.preset: .*SSD/);
  expect(() => resolveHardware({ preset: 'rtx-4090', storage: { seqReadMBps: 1000 } })).toThrow(/hardware\.storage: without an SSD preset or profile, give randReadKiops, latencyUs/);
  expect(() => resolveHardware({ preset: 'rtx-4090', storage: { preset: 'wd-sn850x', queueDepth: 0 } })).toThrow(InputError);
});

test('hardware.storage.profile reads a disk profile; a bad one is an input error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moesim-disk-'));
  const ssd = { ...ssdPresets['samsung-990-pro'], name: 'measured' };
  writeFileSync(join(dir, 'disk.json'), JSON.stringify({ kind: DISK_PROFILE_KIND, version: 1, ssd }));
  expect(resolveStorage({ profile: 'disk.json' }, 'hardware.storage', dir).name).toBe('measured');
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ kind: DISK_PROFILE_KIND, version: 1, ssd: { name: 'x' } }));
  expect(() => resolveStorage({ profile: 'bad.json' }, 'hardware.storage', dir)).toThrow(/hardware\.storage\.profile: bad\.json: ssd\./);
});

test('unified machines: one pool, an SSD, sources', () => {
  for (const key of ['m3-max', 'm4-max', 'm3-ultra', 'jetson-agx-orin-64gb', 'dgx-spark', 'strix-halo']) {
    const h = storageMachinePresets[key];
    expect(h.unified).toBe(true);
    expect(h.cpu.dramBytes).toBe(h.gpu.hbmBytes);
    expect(h.storage).toBeDefined();
    expect(h.gpu.source.length).toBeGreaterThan(40);
  }
  expect(storageMachinePresets['m3-max'].gpu.hbmBytesPerSec).toBe(400e9);
  expect(storageMachinePresets['m3-ultra'].gpu.hbmBytes).toBe(512 * GiB);
  expect(allMachinePresets['gh200-nvme'].unified).toBeUndefined();
  // An overridden pool size is the pool of both views.
  const h = resolveHardware({ preset: 'm3-max', gpu: { memoryGiB: 64 } });
  expect(h.cpu.dramBytes).toBe(64 * GiB);
  expect(() => resolveHardware({ preset: 'm3-max', gpu: { memoryGiB: 64 }, cpu: { memoryGiB: 32 } })).toThrow(/one pool/);
});

test('hardware.storage.burst: no preset has one (datasheet drives burst no reads); inline, from a profile, or removed with null', () => {
  for (const s of Object.values(ssdPresets)) expect(s.burst).toBeUndefined();
  expect(resolveStorage({ preset: 'samsung-990-pro' }, 'hardware.storage', '.').burst).toBeUndefined();
  const inline = resolveStorage({ preset: 'samsung-990-pro', burst: { bucketMB: 500, burstMBps: 2000, sustainedMBps: 900 } }, 'hardware.storage', '.');
  expect(inline.burst).toEqual({ bucketBytes: 5e8, burstBytesPerSec: 2e9, sustainedBytesPerSec: 9e8, source: 'inline in scenario (hardware.storage.burst)' });
  const dir = mkdtempSync(join(tmpdir(), 'moesim-burst-'));
  const ssd = { name: 'measured', seqReadBytesPerSec: 2e9, randReadIops: 1e5, readLatencySec: 1e-4, pcieGen: 0, lanes: 0, blockBytes: 1 << 20, queueDepth: 4, source: 'test' };
  const burst = { bucketBytes: 1e9, burstBytesPerSec: 2e9, sustainedBytesPerSec: 1e9, source: 'measured' };
  writeFileSync(join(dir, 'b.json'), JSON.stringify({ kind: DISK_PROFILE_KIND, version: 1, ssd: { ...ssd, burst } }));
  expect(resolveStorage({ profile: 'b.json' }, 'hardware.storage', dir).burst).toEqual(burst);
  expect(resolveStorage({ profile: 'b.json', burst: null }, 'hardware.storage', dir).burst).toBeUndefined();
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ kind: DISK_PROFILE_KIND, version: 1, ssd: { ...ssd, burst: { ...burst, burstBytesPerSec: 1 } } }));
  expect(() => resolveStorage({ profile: 'bad.json' }, 'hardware.storage', dir)).toThrow(/bad\.json: ssd\.burst: burstBytesPerSec must be at least sustainedBytesPerSec/);
  expect(() => resolveHardware({ preset: 'rtx-4090', storage: { preset: 'wd-sn850x', burst: { bucketMB: 1, burstMBps: 1, sustainedMBps: 2 } } })).toThrow(/hardware\.storage\.burst: burstMBps must be at least sustainedMBps/);
});
