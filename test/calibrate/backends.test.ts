import { describe, expect, it } from 'vitest';
import { SlabAllocator, warmBufferCount } from '../../src/calibrate/backends.js';

describe('SlabAllocator (the CPU backend\'s device memory)', () => {
  it('hands out page-aligned buffers and, without a cold size, reuses the one freed longest ago', () => {
    const m = new SlabAllocator();
    const a = m.alloc('float32', 1000);
    const b = m.alloc('float32', 1000);
    expect(a.byteOffset % 4096).toBe(0);
    expect(b.byteOffset % 4096).toBe(0);
    m.free('float32', a);
    m.free('float32', b);
    expect(m.alloc('float32', 1000)).toBe(a);
    expect(m.alloc('float32', 1000)).toBe(b);
  });

  it('with a cold size, reuses a freed buffer only once that many bytes of its size were freed after it', () => {
    const bytes = 1000 * 4;
    const m = new SlabAllocator(3 * bytes);
    const bufs = Array.from({ length: 5 }, () => m.alloc('float32', 1000));
    m.free('float32', bufs[0]);
    m.free('float32', bufs[1]);
    m.free('float32', bufs[2]);
    // Only 2 buffers' bytes were freed after bufs[0]: a new buffer, not bufs[0].
    const fresh = m.alloc('float32', 1000);
    expect(bufs).not.toContain(fresh);
    m.free('float32', bufs[3]);
    // Now 3 were freed after bufs[0]: it is cold enough.
    expect(m.alloc('float32', 1000)).toBe(bufs[0]);
    // A staging copy freed and asked for again at once is never handed straight back.
    m.free('float32', fresh);
    expect(m.alloc('float32', 1000)).not.toBe(fresh);
  });

  it('bounds what the free lists hold: a size freed into longest ago is dropped, the current one kept (calibrate over many sizes ran out of memory)', () => {
    const cold = 4 * 4096;
    const m = new SlabAllocator(cold); // bound: 3 x cold
    const sizes = [1024, 2048, 3072, 4096, 5120];
    for (const n of sizes) {
      const bufs = Array.from({ length: 5 }, () => m.alloc('float32', n));
      for (const b of bufs) m.free('float32', b);
      expect(m.heldFreeBytes).toBeLessThanOrEqual(Math.max(3 * cold, 5 * n * 4));
    }
    // The last size's buffers are all still there, cold reuse intact: the first freed comes back once enough followed it.
    const last = sizes[sizes.length - 1];
    expect(m.heldFreeBytes).toBeGreaterThanOrEqual(5 * last * 4);
    const again = m.alloc('float32', last);
    expect(again.length).toBe(last);
    // The first size's list was dropped: a new buffer, not one freed long ago.
    const before = m.heldFreeBytes;
    m.alloc('float32', sizes[0]);
    expect(m.heldFreeBytes).toBe(before);
    // Without a cold size nothing is bounded (buffers come back at once, so lists never grow).
    const hot = new SlabAllocator();
    for (const n of sizes) hot.free('float32', hot.alloc('float32', n));
    expect(hot.heldFreeBytes).toBe(sizes.reduce((a, n) => a + 4 * n, 0));
  });

  it('warm: the buffers to free past the reuse threshold are ceil(threshold / bytes) + those held at once (session 26: 960 MiB, 256 KiB, its ring of 3840 held -> 3840 + 3843)', () => {
    expect(warmBufferCount(256 * 1024, 960 * 2 ** 20, 1)).toBe(3841); // one more than the cold rotation, for a single upload
    expect(warmBufferCount(256 * 1024, 960 * 2 ** 20, 3840 + 3)).toBe(3840 + 3843); // benchTransfer's ring and a sample
    expect(warmBufferCount(224 * 1024, 64 * 2 ** 20, 384)).toBe(293 + 384); // this VM's threshold, lru 4/layer x 32 layers x 3 matrices
    expect(warmBufferCount(4096, 0, 5)).toBe(5);
  });

  it('warm: with `live` buffers held at once every alloc reuses a faulted-in buffer; the old warm-up ring (the cold rotation alone) falls short', () => {
    const n = 1024;
    const bytes = 4 * n;
    const threshold = 8 * bytes;
    const live = 5;
    // The ring of session 26: as many buffers as the cold rotation, faulted in and freed.
    const old = new SlabAllocator(threshold);
    const ring = Array.from({ length: Math.ceil(threshold / bytes) }, () => old.alloc('float32', n));
    for (const b of ring) old.free('float32', b);
    const before = old.freshAllocations;
    old.alloc('float32', n);
    expect(old.freshAllocations).toBe(before + 1); // into fresh pages
    // The warm set: every alloc of a churn with `live` held reuses one.
    const m = new SlabAllocator(threshold);
    const unwarm = m.warm('float32', n, live);
    expect(m.freshAllocations).toBe(0);
    expect(m.heldFreeBytes).toBe(warmBufferCount(bytes, threshold, live) * bytes);
    const held: Float32Array[] = [];
    for (let i = 0; i < 200; i++) {
      if (held.length === live) m.free('float32', held.shift()!);
      held.push(m.alloc('float32', n) as Float32Array);
    }
    expect(m.freshAllocations).toBe(0);
    // One more held than warmed for: a fresh buffer.
    held.push(m.alloc('float32', n) as Float32Array);
    expect(m.freshAllocations).toBe(1);
    unwarm();
  });

  it('warm: a warm size stays out of the bound while other sizes come and go; released, it counts again', () => {
    const cold = 4 * 4096;
    const m = new SlabAllocator(cold); // bound: 3 x cold
    const n = 1024;
    const unwarm = m.warm('float32', n, 20); // 4 + 20 buffers of 4 KiB: more than the bound alone
    const warmBytes = m.heldFreeBytes;
    for (const other of [2048, 3072, 4096, 5120]) {
      const bufs = Array.from({ length: 5 }, () => m.alloc('float32', other));
      for (const b of bufs) m.free('float32', b);
    }
    for (let i = 0; i < 30; i++) m.free('float32', m.alloc('float32', n));
    expect(m.freshAllocations).toBe(20); // the other sizes' only
    expect(m.heldFreeBytes).toBeGreaterThanOrEqual(warmBytes);
    unwarm();
    // Released and over the bound: dropped once another size is freed into.
    m.free('float32', m.alloc('float32', 2048));
    const f = m.freshAllocations;
    m.alloc('float32', n);
    expect(m.freshAllocations).toBe(f + 1);
  });
});
