// Screen of a host-clock-scaled per-op cost (round s26-mo, not adopted): node reports/mo-s26/st-screen.mjs from the repository root after npm run build; clocks as recalled from vendor pages (base, max boost).
import { readFileSync } from 'node:fs';
const W = process.cwd(); // run from the repository root after npm run build
const { simulatePoint, perKernelCost, suiteBaseDir, defaultSuiteFile } = await import(W + '/dist/src/reproduce/run.js');
const { secPerToken } = await import(W + '/dist/src/reproduce/points.js');
const file = defaultSuiteFile(W); const suite = JSON.parse(readFileSync(file, 'utf8')); const base = suiteBaseDir(file);
const H = { 'epyc-7742': [2.25, 3.4], 'ryzen-5950x': [3.4, 4.9], 'i9-13900k': [3.0, 5.8], 'xeon-8480+': [2.0, 3.8], 'ryzen-7950x': [4.5, 5.7], colab: [2.2, 3.7], azure: [2.45, 3.3] };
const host = (id, t4s) => id.includes('a100') ? 'epyc-7742' : id.includes('3060') ? 'ryzen-5950x' : id.includes('3080') ? 'i9-13900k' : id.includes('t4') ? (t4s ? (id.includes('2bit') ? 'colab' : 'azure') : 'xeon-8480+') : 'ryzen-7950x';
const pts = suite.points.filter((p) => p.system === 'mixtral-offloading');
const med = (a) => { const s = [...a].sort((x, y) => x - y); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const err = (p, sim) => p.metric === 'secPerToken' ? sim / p.value - 1 : (1 / sim) / p.value - 1;
for (const [t4s, k] of [[false, 0], [true, 0], [true, 1]]) {
  const Ks = k === 0 ? [150, 180, 210, 240, 270, 300] : [250, 300, 350, 400, 450, 500];
  const sims = new Map();
  for (const K of Ks) for (const p of pts) sims.set(K + p.id, await simulatePoint(p, base, { parameter: perKernelCost, value: K / H[host(p.id, t4s)][k], suite }));
  let best;
  for (const K of Ks) { const o = med(pts.filter((p) => p.id.startsWith('mo-t2-3bit')).map((p) => Math.abs(Math.log(sims.get(K + p.id) / secPerToken(p.metric, p.value))))); if (!best || o < best[1]) best = [K, o]; }
  const K = best[0];
  const es = pts.map((p) => [p.id, err(p, sims.get(K + p.id))]);
  const out = es.filter((e) => !e[0].startsWith('mo-t2-3bit'));
  console.log(`T4 hosts sourced ${t4s}, ${k ? 'boost' : 'base'} clock: K ${K} us*GHz (grid ${Ks}), fit ${best[1].toFixed(3)}; all 34 median ${(med(es.map((e) => Math.abs(e[1]))) * 100).toFixed(1)}% within25 ${es.filter((e) => Math.abs(e[1]) <= 0.25).length}; held-out 22 median ${(med(out.map((e) => Math.abs(e[1]))) * 100).toFixed(1)}% within25 ${out.filter((e) => Math.abs(e[1]) <= 0.25).length}`);
  console.log('   ' + es.map((e) => `${e[0].replace('mo-t2-', '').replace('mo-fork-h39s-', 'fork-').replace('-mixtral-8x7b-mixtral-offloading', '')} ${(e[1] * 100).toFixed(0)}`).join(', '));
}
