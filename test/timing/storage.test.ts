import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { ssdIops, ssdReadRate, ssdReadSec } from '../../src/timing/storage.js';
import { ssdPresets } from '../../src/hardware/storage.js';

const round = { seqReadBytesPerSec: 1e9, randReadIops: 1e9, readLatencySec: 1e-4 };

describe('ssdReadSec', () => {
  test('one request: latency + bytes / bandwidth', () => {
    expect(ssdReadSec(round, 1e5, 1e6, 1)).toBeCloseTo(1e-4 + 1e-4, 15);
  });
  test('QD1: N x (latency + block / bandwidth)', () => {
    // 4 requests of 1 MB: each 100 us + 1 ms.
    expect(ssdReadSec(round, 4e6, 1e6, 1)).toBeCloseTo(4 * 1.1e-3, 12);
  });
  test('deep queue: latency + bytes / bandwidth', () => {
    // qd 64 x 1 MB / 1.1 ms > 1 GB/s: bandwidth-bound after the first request.
    expect(ssdReadSec(round, 4e6, 1e6, 64)).toBeCloseTo(1e-4 + 4e-3, 12);
  });
  test('the IOPS ceiling caps small requests', () => {
    const ssd = { ...round, randReadIops: 1000 };
    expect(ssdReadRate(ssd, 4096, 1024)).toBe(1000 * 4096);
  });
  test('datasheet conditions (128 KiB, QD32) reproduce the datasheet bandwidth', () => {
    for (const s of Object.values(ssdPresets)) expect(ssdReadRate(s, s.blockBytes, s.queueDepth)).toBeCloseTo(s.seqReadBytesPerSec, -3);
  });
  test('990 PRO: 4 KiB QD1 is the datasheet 22K IOPS within the transfer time', () => {
    const s = ssdPresets['samsung-990-pro'];
    const iops = ssdIops(s, 4096, 1);
    expect(iops).toBeLessThan(22_000);
    expect(iops).toBeGreaterThan(21_700);
  });
  test('property: more queue depth never slows a read; more bytes never read faster', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e8 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 512, max: 4 << 20 }), (bytes, qd, block) => {
        const s = ssdPresets['wd-sn850x'];
        expect(ssdReadSec(s, bytes, block, qd + 1)).toBeLessThanOrEqual(ssdReadSec(s, bytes, block, qd) + 1e-15);
        expect(ssdReadSec(s, bytes + 1, block, qd)).toBeGreaterThanOrEqual(ssdReadSec(s, bytes, block, qd));
        expect(ssdReadSec(s, bytes, block, qd)).toBeGreaterThanOrEqual(s.readLatencySec + bytes / s.seqReadBytesPerSec - 1e-15);
      }),
    );
  });
});
