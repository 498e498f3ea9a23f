import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { SsdBucket, bucketPassSec, ssdIops, ssdReadRate, ssdReadSec } from '../../src/timing/storage.js';
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
  test('990 PRO: 4 KiB QD1 is the measured 20,020 IOPS (82 MB/s RND4K Q1T1) within the transfer time', () => {
    const s = ssdPresets['samsung-990-pro'];
    const iops = ssdIops(s, 4096, 1);
    expect(iops).toBeLessThan(82e6 / 4096);
    expect(iops).toBeGreaterThan(19_700);
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

describe('SsdBucket: a token bucket in front of the drive', () => {
  // Bucket 10 B, burst 10 B/s, sustained (refill) 2 B/s; the drive alone is faster (0.1 s per read).
  const b = { bucketBytes: 10, burstBytesPerSec: 10, sustainedBytesPerSec: 2 };
  test('reads within the bucket at the burst rate, then at the sustained rate, refilled while idle', () => {
    const k = new SsdBucket(b);
    // t=0, full (10): 5 B at 10 B/s = 0.5 s; credit 10 + 2 x 0.5 - 5 = 6.
    expect(k.read(0, 5, 0.1)).toBe(0.5);
    expect(k.tokens).toBe(6);
    // t=0.5: credit 6 lasts 6 x 10 / (10 - 2) = 7.5 B at 10 B/s (0.75 s), the other 2.5 B at 2 B/s (1.25 s).
    expect(k.read(0.5, 10, 0.1)).toBe(2);
    expect(k.tokens).toBe(0);
    // Empty: at the sustained rate.
    expect(k.read(2.5, 2, 0.1)).toBe(1);
    // Idle 3.5 -> 5.5: refilled 2 B/s x 2 s to 4 (then capped at 10 further on).
    expect(k.tokensAt(5.5)).toBe(4);
    expect(k.tokensAt(100)).toBe(10);
    // 4 B within 4 x 10 / 8 = 5 B of burst: at 10 B/s.
    expect(k.read(5.5, 4, 0.1)).toBeCloseTo(0.4, 15);
  });
  test('a drive slower than the bucket sets the time, and spends credit at its own rate', () => {
    const k = new SsdBucket(b);
    // 10 B that the drive serves in 2 s (5 B/s < 10 B/s): 2 s; credit 10 + 2 x 2 - 10 = 4.
    expect(k.read(0, 10, 2)).toBe(2);
    expect(k.tokens).toBe(4);
    // 10 B more, drive 2 s: credit 4 drains at 5 - 2 = 3 B/s for 4/3 s (6.67 B), then 3.33 B at 2 B/s.
    expect(k.read(2, 10, 2)).toBeCloseTo(4 / 3 + (10 - 20 / 3) / 2, 12);
  });
  test('no credit past the bucket; burst = sustained is a plain rate limit', () => {
    expect(bucketPassSec(b, 0, 6)).toBe(3);
    expect(bucketPassSec({ ...b, burstBytesPerSec: 2 }, 10, 6)).toBe(3);
  });
  test('bytes are conserved: over a long run the rate is the sustained one, plus one bucket', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 0, max: 2, noNaN: true }), fc.double({ min: 0.1, max: 20, noNaN: true })), { minLength: 1, maxLength: 40 }), (reads) => {
        const k = new SsdBucket(b);
        let t = 0;
        let bytes = 0;
        for (const [idle, n] of reads) {
          t += idle;
          t += k.read(t, n, 0);
          bytes += n;
        }
        // Never more than the bucket plus what the refill earned; never slower than the sustained rate alone.
        expect(bytes).toBeLessThanOrEqual(b.bucketBytes + b.sustainedBytesPerSec * t + 1e-9);
        expect(k.tokens).toBeGreaterThanOrEqual(0);
        expect(k.tokens).toBeLessThanOrEqual(b.bucketBytes);
      }),
    );
  });
  test('a read that starts before the previous one ended is a caller error', () => {
    const k = new SsdBucket(b);
    k.read(0, 5, 0.1);
    expect(() => k.read(0.2, 1, 0.1)).toThrow(/before the previous one ended/);
  });
});
