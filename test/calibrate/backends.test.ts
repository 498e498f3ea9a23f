import { describe, expect, it } from 'vitest';
import { SlabAllocator } from '../../src/calibrate/backends.js';

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
});
