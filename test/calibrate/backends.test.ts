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
});
