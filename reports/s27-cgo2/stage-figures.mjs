// Round s27-cgo2: the prefill and decode-step figures the README quotes for S1 (T4, 164 x 19) and S2 (L4, 324 x 14) at generation length 32:
// prompts of 77 tokens, decode at the mean context 77 + 16. Run from this folder after `npm run build`: node stage-figures.mjs
// (the "before" figures are this script against a build of 83ef442 with the cgoPrefill and residentExperts lines removed).
import { modelPresets } from '../../dist/src/model/presets.js';
import { hardwarePresets } from '../../dist/src/hardware/presets.js';
import { effectiveHardware, linkPresets, cpuPresets } from '../../dist/src/timing/execution-semantics.js';
import * as C from '../../dist/src/timing/cgopipe.js';
const m = modelPresets['mixtral-8x7b'];
const prec = { experts: 'fp16', dense: 'fp16', kvCache: 'fp16', groupSize: 128 };
for (const [gpu, ubs, n, bw, gen, fl] of [['t4', 164, 19, 107.37e9, 32, 0.8e12], ['l4', 324, 14, 81.6e9, 32, 1.6e12]]) {
  const hw0 = hardwarePresets[gpu];
  if (!hw0) { console.log('no', gpu); continue; }
  if (!ubs) continue;
  const hw0c = { ...hw0, cpu: { ...hw0.cpu, dramBytesPerSec: bw, flopsPerSec: fl } };
  const sem = { link: linkPresets.pinned, cpu: cpuPresets['fastmoe-cpu-attention'], runtime: { perKernelSec: 0 }, hostThread: false };
  let hw;
  try { hw = effectiveHardware(hw0c, sem); } catch (e) { console.log('eff fail', e.message); hw = hw0c; }
  const P = 77, B = ubs * n;
  const pol = C.chooseCgoPolicy(m, hw, prec, B, P + gen / 2, { microBatches: n });
  console.log(gpu, pol, 'resident experts', C.residentExperts(m, pol.gpuWeightFraction));
  const L = m.moeLayers.length;
  const ctxPre = ubs * P * (P + 1) / 2;
  const l = hw.link, eff = linkPresets.pinned.efficiency;
  const pg = { latencySec: l.latencySec + 20e-6, h2dBytesPerSec: l.h2dBytesPerSec * eff.pageable / eff.pinned, d2hBytesPerSec: l.d2hBytesPerSec * eff.pageable / eff.pinned };
  const pc = C.cgoPrefillCosts(m, hw, pg, prec, ubs * P, ctxPre, pol);
  console.log('prefill costs', pc, 'prefill total', C.cgoPrefillSchedule(L, n, pc).makespanSec);
  const dc = C.cgoStageCosts(m, hw, prec, ubs * P, ctxPre, pol);
  console.log('old (decode pipeline) prefill', C.cgoPipeSchedule(L, n, dc).makespanSec, dc);
  const dd = C.cgoStageCosts(m, hw, prec, ubs, ubs * (P + gen / 2), pol);
  console.log('decode step', C.cgoPipeSchedule(L, n, dd).makespanSec, dd);
}
