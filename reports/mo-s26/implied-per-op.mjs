// Implied per-op host cost per mixtral-offloading point (round s26-mo): node reports/mo-s26/implied-per-op.mjs [repo] [id-regex], after npm run build. implied-per-op.txt: the run before countsPromptTokens.
import { readFileSync } from 'node:fs';
const W = (await import('node:path')).resolve(process.argv[2] ?? process.cwd());
const { simulatePoint, perKernelCost, suiteBaseDir, defaultSuiteFile } = await import(W + '/dist/src/reproduce/run.js');
const { secPerToken } = await import(W + '/dist/src/reproduce/points.js');
const file = defaultSuiteFile(W);
const suite = JSON.parse(readFileSync(file, 'utf8'));
const base = suiteBaseDir(file);
const grid = [10, 20, 40, 60, 80, 120, 160];
const filt = process.argv[3] ? new RegExp(process.argv[3]) : null;
for (const p of suite.points) {
  if (p.system !== 'mixtral-offloading') continue;
  if (filt && !filt.test(p.id)) continue;
  const pub = secPerToken(p.metric, p.value);
  const ys = [];
  for (const v of grid) ys.push(await simulatePoint(p, base, { parameter: perKernelCost, value: v, suite }));
  // linear in v: fit slope/intercept from the ends
  const n = grid.length; let sx=0,sy=0,sxx=0,sxy=0; for (let i=0;i<n;i++){sx+=grid[i];sy+=ys[i];sxx+=grid[i]**2;sxy+=grid[i]*ys[i];}
  const b=(n*sxy-sx*sy)/(n*sxx-sx*sx), a=(sy-b*sx)/n;
  console.log(`${p.id.padEnd(52)} pub ${pub.toFixed(3)}  sim@80 ${ys[4].toFixed(3)}  a ${a.toFixed(3)} s  b ${(b*1e3).toFixed(3)} ms/us  implied ${((pub-a)/b).toFixed(1)} us`);
}
