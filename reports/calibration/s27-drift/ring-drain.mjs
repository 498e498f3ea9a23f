// Session 27: which of benchTransfer's uploads go into fresh pages (F: the upload paid minor faults) or reused buffers (r), in runs, with the
// destination ring past the threshold (coldBytes = 2 x threshold + 4 buffers), two probe-plan calls on one backend. Output in ring-drain.txt (old code, 21:47 UTC, load about 1).
import { openBackend, lastLevelCacheBytes } from '../../../dist/src/calibrate/backends.js';
import { benchTransfer, quickPlan } from '../../../dist/src/calibrate/microbench.js';
const T = 2 * lastLevelCacheBytes();
const backend = await openBackend('cpu');
const up = backend.uploadBuffer; let log = [];
backend.uploadBuffer = async (d, t, dims) => { const f = process.resourceUsage().minorPageFault; const r = await up(d, t, dims); log.push([d.length*4/1024, process.resourceUsage().minorPageFault - f]); return r; };
for (const sizes of [[128*1024,256*1024],[128*1024,256*1024]]) {
  const plan = { ...quickPlan, transferBytes: sizes, rounds: 1, coldBytes: 2*T+4*256*1024, measure: { ...quickPlan.measure, warmupRuns: 2, warmupMs: 10, minSamples: 5, maxSamples: 200, timeBudgetMs: 50 } };
  log = [];
  const t = await benchTransfer(backend, plan);
  // runs of (size, faulted?) 
  const runs = []; for (const [kb, f] of log) { const k = `${kb}:${f > 0 ? 'F' : 'r'}`; if (runs.length && runs[runs.length-1][0] === k) runs[runs.length-1][1]++; else runs.push([k, 1]); }
  console.log(t.map(s => (s.stats.medianSec*1e6).toFixed(1)).join('/'), runs.map(([k,n]) => `${k}x${n}`).join(' '));
}
