// Session 26 (moesim README, storage tier): `node reports/calibration/disk-s26/iowait.mjs [file]` from the repo root, after `npm run build`.
// O_DIRECT reads of a 2.6 MiB slot (1 MiB requests, 4 in flight: 3 requests, one round), back to back vs after 3 ms of CPU
// work each (as the replay's expert runs), 60 each; per read: wall, the main thread's wait, and the other threads' waits
// (dist/src/util/thread-waits.js) summed over all of them, bounded over all of them, and bounded over those that read (io syscr).
import { openSync, writeSync, closeSync, constants, read, readdirSync, unlinkSync, fsyncSync } from 'node:fs';
import { ThreadWaits, ioWaitBound } from '../../../dist/src/util/thread-waits.js';
import { threadWaitedSec } from '../../../dist/src/util/clock.js';
const F = process.argv[2] ?? '/tmp/moesim-iowait.bin', SLOT = 2752512, N = 32, BS = 1 << 20, QD = 4;
const w = openSync(F, 'w'); const chunk = Buffer.alloc(SLOT * 16, 7); for (let i = 0; i < N / 16; i++) writeSync(w, chunk); fsyncSync(w); closeSync(w);
const fd = openSync(F, constants.O_RDONLY | constants.O_DIRECT);
const buf = Buffer.allocUnsafeSlow(SLOT + 8192); let base = 0; for (; base < 4096; base += 8) { try { await new Promise((res, rej) => read(fd, buf, base, 4096, 0, (e) => (e ? rej(e) : res()))); break; } catch {} }
const one = (k) => new Promise((res, rej) => { let next = 0, done = 0; const n = Math.ceil(SLOT / BS); const go = () => { if (next >= n) return; const i = next++; const len = Math.min(BS, SLOT - i * BS); read(fd, buf, base, Math.ceil(len / 4096) * 4096, k * SLOT + i * BS, (e) => { if (e) return rej(e); if (++done === n) res(); else go(); }); }; for (let q = 0; q < Math.min(QD, n); q++) go(); });
await one(0);
// Two windows over the same threads: one counting every thread (io files hidden by a task dir without them is not possible, so: a second instance reading all), one io-filtered.
const filt = new ThreadWaits(); filt.rescan();
class All extends ThreadWaits { } const all = new All(); all.rescan(); all['ioFds'] = all['ioFds'].map(() => -1);
console.log('threads', readdirSync('/proc/self/task').length, 'io-filtered', filt.ioFiltered);
for (const mode of ['back-to-back', 'after 3 ms CPU']) {
  const r = { wall: [], main: [], sumAll: [], boundAll: [], boundIo: [] };
  for (let i = 0; i < 60; i++) {
    if (mode !== 'back-to-back') { const t = performance.now(); let x = 0; while (performance.now() - t < 3) x += Math.sqrt(x + 1); }
    const m0 = threadWaitedSec(); all.begin(); filt.begin(); const t0 = performance.now();
    await one((i * 7919 + 13) % N);
    const t = performance.now() - t0; const m = (threadWaitedSec() - m0) * 1e3; all.end(); filt.end();
    r.wall.push(t); r.main.push(m); r.sumAll.push(all.sumSec * 1e3); r.boundAll.push(ioWaitBound(all.sumSec, all.maxSec, 1) * 1e3); r.boundIo.push(ioWaitBound(filt.sumSec, filt.maxSec, 1) * 1e3);
  }
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  const on = (k) => mean(r.wall.map((x, i) => x - r.main[i] - (k ? r[k][i] : 0))).toFixed(2);
  console.log(`${mode}: wall ${mean(r.wall).toFixed(2)} ms, main waits ${mean(r.main).toFixed(2)}; others: summed ${mean(r.sumAll).toFixed(2)}, bound (all threads) ${mean(r.boundAll).toFixed(2)}, bound (threads that read) ${mean(r.boundIo).toFixed(2)} ms/read; on a core: less main ${on()}, less the sum ${on('sumAll')}, less bound-all ${on('boundAll')}, less bound-io ${on('boundIo')} ms`);
}
closeSync(fd); unlinkSync(F);
