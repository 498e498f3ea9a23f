// Session 27 (s27-missval): the replay's expert shape (hidden 128, intermediate 448) measured
// directly, against what the profile predicts for it: fp32 runs on the device (backend), int4/int8
// copies (LowBitDevice, MatMulNBits), and fp32 runs on the CPU worker (CpuExpertRunner: the
// worker's own time and the round trip). Copies rotated past 2x the last-level cache, as the
// calibration's cold rotation. Median of N runs per point.
// node reports/calibration/s27-missval/shape-probe.mjs PROFILE.json (after npm run build)
import { readFileSync } from 'node:fs';
import { openBackend, lastLevelCacheBytes } from '../../../dist/src/calibrate/backends.js';
import { randomExpertWeights, randomActivations, expertBytesMoved, expertFlops } from '../../../dist/src/calibrate/expert-graph.js';
import { createRng } from '../../../dist/src/rng/rng.js';
import { LowBitDevice, lowBitFormat, quantizeExpert, lowBitExpertBytes } from '../../../dist/src/calibrate/low-bit.js';
import { CpuExpertRunner, lowBitBytesMoved } from '../../../dist/src/calibrate/miss-exec.js';
import { predictExpert } from '../../../dist/src/calibrate/fit.js';
const prof = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const shape = { hiddenSize: Number(process.env.H ?? 128), intermediateSize: Number(process.env.F ?? 448) };
const N = 200;
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const now = () => process.hrtime.bigint();
const rng = createRng('shape-probe');
const TOK = [1, 2, 4, 8, 16];
const cold = 2 * lastLevelCacheBytes();
const backend = await openBackend('cpu');
console.log(`shape ${shape.hiddenSize}x${shape.intermediateSize}, ${backend.device}, load ${load()}`);
for (const dtype of (process.env.SKIPLB ? [] : ['int4', 'int8'])) {
  const fmt = lowBitFormat(dtype, shape);
  const copies = Math.max(2, Math.ceil(cold / lowBitExpertBytes(shape, fmt)));
  const q = quantizeExpert(randomExpertWeights(shape, 'float32', rng.fork(dtype)), fmt);
  const dev = await LowBitDevice.open(backend, shape, fmt, 1);
  const devs = []; for (let c = 0; c < copies; c++) devs.push(await dev.upload(q));
  const fit = prof.fit.lowBitExpert[dtype];
  { // a copy's upload (LowBitDevice.upload: its three buffers) against the profile's link for its bytes
    const ts = []; for (let i = 0; i < 100; i++) { const t0 = now(); const d = await dev.upload(q); ts.push(Number(now() - t0) / 1e9); dev.evict(d); }
    const b = lowBitExpertBytes(shape, fmt);
    const pred = prof.fit.transfer.latencySec + b / prof.fit.transfer.bandwidthBytesPerSec;
    console.log(`${dtype} copy upload (${b} B): measured ${(med(ts) * 1e6).toFixed(1)} us, profile link ${(pred * 1e6).toFixed(1)} us, ratio ${(pred / med(ts)).toFixed(3)}`);
  }
  for (const t of TOK) {
    const x = randomActivations(t, shape.hiddenSize, 'float32', rng.fork('x' + t));
    for (let i = 0; i < 20; i++) await dev.run(x, devs[i % copies]);
    const ts = []; for (let i = 0; i < N; i++) { const t0 = now(); await dev.run(x, devs[i % copies]); ts.push(Number(now() - t0) / 1e9); }
    const pred = predictExpert(fit, lowBitBytesMoved(shape, dtype, t), expertFlops(shape, t));
    console.log(`${dtype} tokens=${t}: measured ${(med(ts) * 1e6).toFixed(1)} us, profile ${(pred * 1e6).toFixed(1)} us, ratio ${(pred / med(ts)).toFixed(3)}`);
  }
  for (const d of devs) dev.evict(d); await dev.close();
}
// the device's fp32 expert (backend.runExpert), copies rotated; the simulator's device expert is
// the profile's fit.expert through the roofline (profileCosts), predicted here with predictExpert
{
  const bytes = expertBytesMoved(shape, 'float32', 1);
  const copies = Math.max(2, Math.ceil(cold / bytes));
  const w = randomExpertWeights(shape, 'float32', rng.fork('dev'));
  const devs = []; for (let c = 0; c < copies; c++) devs.push(await backend.upload(w));
  for (const t of TOK) {
    const x = randomActivations(t, shape.hiddenSize, 'float32', rng.fork('x' + t));
    for (let i = 0; i < 20; i++) await backend.runExpert(x, devs[i % copies]);
    const ts = []; for (let i = 0; i < N; i++) { const t0 = now(); await backend.runExpert(x, devs[i % copies]); ts.push(Number(now() - t0) / 1e9); }
    const pred = predictExpert(prof.fit.expert, expertBytesMoved(shape, 'float32', t), expertFlops(shape, t));
    console.log(`device fp32 tokens=${t}: measured ${(med(ts) * 1e6).toFixed(1)} us, profile ${(pred * 1e6).toFixed(1)} us, ratio ${(pred / med(ts)).toFixed(3)}`);
  }
  for (const d of devs) backend.evict(d);
}
// the CPU worker: fp32 expert from host memory, copies rotated
{
  const bytes = expertBytesMoved(shape, 'float32', 1);
  const copies = Math.max(2, Math.ceil(cold / bytes));
  const hosts = Array.from({ length: copies }, (_, i) => randomExpertWeights(shape, 'float32', rng.fork('c' + i)));
  const runner = await CpuExpertRunner.open(hosts, hosts.keys(), 1);
  const fit = prof.fit.cpuExpert ?? prof.fit.expert;
  const handoff = prof.samples.cpuHandoff?.medianSec ?? 0;
  for (const t of TOK) {
    const x = randomActivations(t, shape.hiddenSize, 'float32', rng.fork('x' + t));
    for (let i = 0; i < 20; i++) await runner.submit(i % copies, x.slice());
    const inW = [], rt = [];
    for (let i = 0; i < N; i++) { const t0 = now(); const r = await runner.submit(i % copies, x.slice()); rt.push(Number(now() - t0) / 1e9); inW.push(r.sec); }
    const pred = predictExpert(fit, expertBytesMoved(shape, 'float32', t), expertFlops(shape, t));
    console.log(`cpu-worker fp32 tokens=${t}: in worker ${(med(inW) * 1e6).toFixed(1)} us, round trip ${(med(rt) * 1e6).toFixed(1)} us; profile cpu ${(pred * 1e6).toFixed(1)} us + handoff ${(handoff * 1e6).toFixed(1)} us = ${((pred + handoff) * 1e6).toFixed(1)} us`);
  }
  await runner.close();
}
console.log(`load ${load()}`);
await backend.close?.();
process.exit(0);
