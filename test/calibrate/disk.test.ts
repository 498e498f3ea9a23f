import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { calibrateDisk, fitDisk, formatDiskSummary, replayDiskReads, writeDiskProfile, type DiskPoint } from '../../src/calibrate/disk.js';
import { ssdPresets } from '../../src/hardware/storage.js';
import { readDiskProfileSync } from '../../src/hardware/storage.js';
import { resolveHardware } from '../../src/hardware/resolve.js';
import { ssdReadSec } from '../../src/timing/storage.js';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('fitDisk', () => {
  test('recovers the latency and bandwidth that generated the points (through the same timing primitive)', () => {
    const truth = { readLatencySec: 80e-6, seqReadBytesPerSec: 2.5e9, randReadIops: 20_000 };
    const points: DiskPoint[] = [];
    for (const block of [4 * KiB, 128 * KiB, 1 * MiB])
      for (const qd of [1, 2, 4])
        for (const bytes of [128 * KiB, 1 * MiB, 16 * MiB]) {
          if (block === 4 * KiB && bytes > 128 * KiB) continue;
          points.push({ blockBytes: block, queueDepth: qd, bytes, sec: ssdReadSec(truth, bytes, block, qd), repeats: 1 });
        }
    const f = fitDisk(points);
    expect(Math.abs(f.randReadIops / 20_000 - 1)).toBeLessThan(0.03);
    expect(Math.abs(f.readLatencySec / truth.readLatencySec - 1)).toBeLessThan(0.03);
    expect(Math.abs(f.seqReadBytesPerSec / truth.seqReadBytesPerSec - 1)).toBeLessThan(0.03);
    expect(f.fitRmsRel).toBeLessThan(0.03);
  });
});

describe('calibrate --backend disk on this machine', () => {
  test('times O_DIRECT reads, fits, validates held-out expert reads, writes a profile a scenario reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'moesim-disk-'));
    const file = join(dir, 'test.bin');
    const p = await calibrateDisk({
      file,
      fileBytes: 48 * MiB,
      expertBytes: 3 * MiB,
      blocks: [128 * KiB, 1 * MiB],
      queueDepths: [1, 2, 4],
      fitBytes: [128 * KiB, 1 * MiB, 4 * MiB],
      repeats: 3,
      replayReads: 4,
      seed: 1,
    });
    expect(existsSync(file)).toBe(false);
    expect(p.measurements.length).toBe(2 * 3 * 3 - 2 + 1);
    expect(p.fit.readLatencySec).toBeGreaterThanOrEqual(0);
    expect(p.fit.seqReadBytesPerSec).toBeGreaterThan(1e6);
    expect(p.validation.points).toHaveLength(4);
    for (const v of p.validation.points) {
      expect(v.measuredSec).toBeGreaterThan(0);
      expect(v.simulatedSec).toBe(v.what.startsWith('replay') ? 4 * ssdReadSec(p.ssd, 3 * MiB, 1 * MiB, 4) : ssdReadSec(p.ssd, 3 * MiB, 1 * MiB, v.queueDepth));
      expect(Number.isFinite(v.error)).toBe(true);
    }
    const out = join(dir, 'disk.json');
    writeDiskProfile(out, p);
    expect(readDiskProfileSync(out).seqReadBytesPerSec).toBe(p.ssd.seqReadBytesPerSec);
    const h = resolveHardware({ preset: 'rtx-4090', storage: { profile: 'disk.json' } }, 'hardware', dir);
    expect(h.storage?.readLatencySec).toBe(p.fit.readLatencySec);
    // The measured error is reported (README), not asserted: it is a property of this machine's disk.
    console.log(formatDiskSummary(p));
  }, 60_000);
});

describe('replayDiskReads', () => {
  test("reads a run's SSD read sequence from a file on this disk; simulated is the model's time of the same reads", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'moesim-disk-'));
    const file = join(dir, 'experts.bin');
    const ssd = { ...ssdPresets['samsung-990-pro'], blockBytes: 256 * KiB, queueDepth: 2 };
    const r = await replayDiskReads(file, [5, 9, 5, 1, 9, 9], 1 * MiB + 100, ssd);
    expect(existsSync(file)).toBe(false);
    expect([r.reads, r.distinctExperts]).toEqual([6, 3]);
    expect(r.simulatedSec).toBe(6 * ssdReadSec(ssd, 1 * MiB + 100, 256 * KiB, 2));
    expect(r.measuredSec).toBeGreaterThan(0);
  });
});
