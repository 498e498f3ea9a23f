// Session 27: benchTransfer (full plan, one round) at 4, 8 and 16 MiB from a build of the code before the fix
// (git archive ac2c356 src tsconfig.json package.json, tsc, in /tmp/drift-old) and of the code after it, alternating.
// node big-uploads.mjs <repository root whose dist/ to use>; output in big-uploads.txt
const root = process.argv[2];
const { openBackend } = await import(`${root}/dist/src/calibrate/backends.js`);
const { benchTransfer, fullPlan } = await import(`${root}/dist/src/calibrate/microbench.js`);
const b = await openBackend('cpu');
const plan = { ...fullPlan, transferBytes: [4 * 2 ** 20, 8 * 2 ** 20, 16 * 2 ** 20], rounds: 1 };
const f0 = process.resourceUsage().minorPageFault;
const t = await benchTransfer(b, plan);
console.log(root, t.map((s) => `${s.bytes / 2 ** 20} MiB ${(s.stats.medianSec * 1e6).toFixed(0)} us (p10 ${(s.stats.p10Sec * 1e6).toFixed(0)}, p90 ${(s.stats.p90Sec * 1e6).toFixed(0)}, n ${s.stats.n})`).join('; '), 'faults', process.resourceUsage().minorPageFault - f0);
await b.close();
