import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { calibrateDisk, fitBurst, fitDisk, formatDiskSummary, replayDiskReads, simulateLongRun, writeDiskProfile, type DiskPoint } from '../../src/calibrate/disk.js';
import { ssdPresets } from '../../src/hardware/storage.js';
import { readDiskProfileSync } from '../../src/hardware/storage.js';
import { resolveHardware } from '../../src/hardware/resolve.js';
import { SsdBucket, ssdReadSec } from '../../src/timing/storage.js';

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

describe('fitBurst: a token bucket from a long run', () => {
  const bytesPerRead = 8 * MiB;
  /** A run of `reads` back-to-back reads through a bucket (full at the start), each `driveSec` on the drive alone. */
  const runOf = (reads: number, driveSec: number, burst?: { bucketBytes: number; burstBytesPerSec: number; sustainedBytesPerSec: number }) => {
    const k = burst ? new SsdBucket(burst) : undefined;
    const endSec: number[] = [];
    let t = 0;
    for (let i = 0; i < reads; i++) {
      t += k ? k.read(t, bytesPerRead, driveSec) : driveSec;
      endSec.push(t);
    }
    return { idleSec: 5, reads, bytesPerRead, endSec };
  };
  test('recovers the bucket and the sustained rate that generated the run; the model then reproduces the run', () => {
    // The drive: 8 MiB in 4 ms (2.1 GB/s); a 1 GiB bucket refilled at 0.9 GB/s.
    const burst = { bucketBytes: 1 * 2 ** 30, burstBytesPerSec: bytesPerRead / 4e-3, sustainedBytesPerSec: 0.9e9 };
    const run = runOf(2000, 4e-3, burst);
    const f = fitBurst(run, burst.burstBytesPerSec);
    expect(f.burst).toBeDefined();
    expect(Math.abs(f.sustainedBytesPerSec / 0.9e9 - 1)).toBeLessThan(1e-3);
    // The intercept is the bucket to within a read (reads are whole).
    expect(Math.abs(f.interceptBytes - burst.bucketBytes)).toBeLessThan(bytesPerRead);
    const ssd = { ...ssdPresets['samsung-990-pro'], seqReadBytesPerSec: 1e15, readLatencySec: 4e-3, blockBytes: 16 * MiB, queueDepth: 1 };
    expect(simulateLongRun(ssd, run, f.burst) / run.endSec[run.endSec.length - 1]).toBeCloseTo(1, 2);
    // Without the bucket the model reads at the drive's rate throughout: far too fast.
    expect(simulateLongRun(ssd, run) / run.endSec[run.endSec.length - 1]).toBeLessThan(0.5);
  });
  test('a run at one rate: a plain limit where it is below the drive, none where it is not; the reason said', () => {
    const f = fitBurst(runOf(500, 9e-3), bytesPerRead / 4e-3);
    expect(f.burst?.bucketBytes).toBe(0);
    expect(Math.abs(f.burst!.sustainedBytesPerSec / (bytesPerRead / 9e-3) - 1)).toBeLessThan(1e-9);
    expect(f.why).toMatch(/a rate limit at .* no bucket resolved/);
    const none = fitBurst(runOf(500, 4e-3), bytesPerRead / 5e-3);
    expect(none.burst).toBeUndefined();
    expect(none.why).toMatch(/not below the short reads' rate/);
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
      // The long runs in CI: short (the bucket of this machine's disk is measured with --long 20, README).
      longSec: 0.5,
      longIdleSec: 0.2,
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
    // The long runs: both timed, the held-out one simulated with the fitted bucket (if any) and without.
    const l = p.long!;
    expect(l.fitRun.reads).toBeGreaterThan(0);
    expect(l.heldOut.endSec.at(-1)).toBeGreaterThanOrEqual(0.5);
    expect(l.simulatedSec.withoutBurst).toBe(simulateLongRun(p.ssd, l.heldOut));
    expect(l.simulatedSec.withBurst).toBe(simulateLongRun(p.ssd, l.heldOut, l.burstFit.burst));
    expect(p.ssd.burst === undefined).toBe(l.burstFit.burst === undefined);
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
    // Through a bucket of two reads' bytes refilled at 1 MB/s: two at the drive's time, four at 1 MB/s less what they earn.
    const burst = { bucketBytes: 2 * (1 * MiB + 100), burstBytesPerSec: 1e12, sustainedBytesPerSec: 1e6, source: 'test' };
    const b = await replayDiskReads(file, [5, 9, 5, 1, 9, 9], 1 * MiB + 100, { ...ssd, burst });
    expect(b.simulatedSec).toBe(simulateLongRun(ssd, { reads: 6, bytesPerRead: 1 * MiB + 100 }, burst));
    expect(b.simulatedSec).toBeGreaterThan((4 * (1 * MiB + 100)) / 1e6 - 6 * ssdReadSec(ssd, 1 * MiB + 100, 256 * KiB, 2));
  });
});
