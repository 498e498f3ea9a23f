// Session 27: one upload (TypedArray.set, the CPU backend's transfer) into a fresh buffer of the
// device allocator (SlabAllocator, its pages never touched) against one into a buffer reused past
// the reuse threshold (faulted in, cold), with the minor page faults per upload. Median of 200.
// node reports/calibration/s27-drift/fresh-vs-reused.mjs (after npm run build)
import { SlabAllocator, lastLevelCacheBytes } from '../../../dist/src/calibrate/backends.js';
import { readFileSync } from 'node:fs';
const T = 2 * lastLevelCacheBytes();
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
for (const kib of [128, 224, 256]) {
  const n = (kib * 1024) / 4;
  const host = new SlabAllocator(); // page-aligned sources, as benchTransfer and the replay have
  const srcs = Array.from({ length: Math.ceil(T / (kib * 1024)) }, () => host.alloc("float32", n).fill(1));
  for (const mode of ['fresh', 'reused']) {
    const m = new SlabAllocator(T);
    if (mode === 'reused') { // free past the threshold, each page written once
      const bufs = Array.from({ length: Math.ceil(T / (kib * 1024)) + 1 + 200 }, () => m.alloc('float32', n));
      for (const b of bufs) b.fill(0);
      for (const b of bufs) m.free('float32', b);
    }
    const ts = []; const f0 = process.resourceUsage().minorPageFault; const held = [];
    for (let i = 0; i < 200; i++) {
      const src = srcs[i % srcs.length];
      const t0 = process.hrtime.bigint();
      const d = m.alloc('float32', n); d.set(src);
      ts.push(Number(process.hrtime.bigint() - t0) / 1e3);
      held.push(d);
    }
    const faults = (process.resourceUsage().minorPageFault - f0) / 200;
    console.log(`${kib} KiB ${mode}: median ${med(ts).toFixed(1)} us, ${faults.toFixed(1)} minor faults per upload, load ${load()}`);
  }
}
