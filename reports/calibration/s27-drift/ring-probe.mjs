// Step 1 of issue #12 item 7 (session 27): the drift probe's upload sample (benchTransfer with the
// probe's plan: the quick plan's points, 50 ms per point) timed four times in a row on one CPU
// backend, with the destination ring as shipped (mode "today") or one whose warm-up frees more
// than the device allocator's reuse threshold (mode "past": coldBytes = 2 x threshold + 4 buffers).
// Run from the repository root after `npm run build`: node reports/calibration/s27-drift/ring-probe.mjs [today|past|both] [backends]
import { openBackend, lastLevelCacheBytes } from '../../../dist/src/calibrate/backends.js';
import { benchTransfer, quickPlan } from '../../../dist/src/calibrate/microbench.js';
import { readFileSync } from 'node:fs';
const modes = (process.argv[2] ?? 'both') === 'both' ? ['today', 'past'] : [process.argv[2]];
const reps = Number(process.argv[3] ?? 3);
const threshold = 2 * lastLevelCacheBytes();
const sizes = [128 * 1024, 256 * 1024];
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`reuse threshold (2 x sysfs LLC) ${threshold / 2 ** 20} MiB; sizes ${sizes.map((b) => b / 1024 + ' KiB').join(', ')}`);
for (const mode of modes) {
  for (let r = 0; r < reps; r++) {
    const backend = await openBackend('cpu');
    const row = [];
    for (let p = 0; p < 4; p++) {
      const coldBytes = mode === 'today' ? quickPlan.coldBytes : 2 * threshold + 4 * Math.max(...sizes);
      const plan = { ...quickPlan, transferBytes: sizes, rounds: 1, coldBytes, measure: { ...quickPlan.measure, warmupRuns: 2, warmupMs: 10, minSamples: 5, maxSamples: 200, timeBudgetMs: 50 } };
      const t = await benchTransfer(backend, plan);
      row.push(t.map((s) => (s.stats.medianSec * 1e6).toFixed(1)).join('/'));
    }
    await backend.close();
    console.log(`${mode} backend ${r + 1}: probes (128 KiB/256 KiB, us) ${row.join('  ')}  load ${load()}`);
  }
}
