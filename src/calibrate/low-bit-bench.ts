/**
 * `moesim calibrate`: expert runs of lower-bit copies (low-bit.ts) on the backend, for the
 * simulator's cost of a low-precision miss in a replay (miss-exec.ts). As benchExpert does for the
 * fp32 expert: each plan shape's copy uploaded (untimed) as many times as the plan's cold-cache
 * rotation asks, runs rotating through the copies, tokens 1, 2, 4, … until a run takes the plan's
 * maxRunSec; fitted (fitExpertAnchored) over the copy's bytes (packed weights, scales, x and y).
 * A copy's upload is not benchmarked apart: it is three uploads of its bytes, which the transfer
 * fit (bytes-based) covers.
 */
import type { Rng } from '../rng/rng.js';
import type { Backend } from './backends.js';
import { expertFlops, randomActivations, randomExpertWeights, type ExpertShape } from './expert-graph.js';
import { fitExpert, type ExpertFit } from './fit.js';
import { fmtSec } from './format.js';
import { LowBitDevice, lowBitDtypes, lowBitExpertBytes, lowBitFormat, quantizeExpert, type LowBitDeviceExpert, type LowBitDtype } from './low-bit.js';
import { coldBytesFor, measure, rotationCount, summarize, type MicrobenchPlan, type Progress, type SampleStats } from './microbench.js';
import { CpuExpertRunner, lowBitBytesMoved } from './miss-exec.js';
import type { LowBitSampleRecord } from './profile.js';
import { hrClock, secondsOn, type Clock } from '../util/clock.js';

/** Plan shapes a lower-bit copy can be built for (sizes multiples of 16). */
function lowBitShapes(plan: MicrobenchPlan): ExpertShape[] {
  return plan.shapes.filter((s) => s.hiddenSize % 16 === 0 && s.intermediateSize % 16 === 0);
}

export async function benchLowBit(backend: Backend, plan: MicrobenchPlan, rng: Rng, progress: Progress = () => {}, clock: Clock = hrClock, dtypes: readonly LowBitDtype[] = lowBitDtypes): Promise<LowBitSampleRecord[]> {
  const out: LowBitSampleRecord[] = [];
  const threads = Number(/(\d+) intra-op thread/.exec(backend.device)?.[1] ?? 1);
  for (const dtype of dtypes) {
    for (const shape of lowBitShapes(plan)) {
      const fmt = lowBitFormat(dtype, shape);
      const label = `${shape.hiddenSize}x${shape.intermediateSize}`;
      const q = quantizeExpert(randomExpertWeights(shape, 'float32', rng.fork(`lw:${label}`)), fmt);
      const dev = await LowBitDevice.open(backend, shape, fmt, threads);
      const copies = rotationCount(lowBitExpertBytes(shape, fmt), coldBytesFor(plan));
      const devs: LowBitDeviceExpert[] = [];
      try {
        for (let c = 0; c < copies; c++) devs.push(await dev.upload(q));
        let next = 0;
        for (let tokens = 1; tokens <= plan.maxTokens; tokens *= 2) {
          const x = randomActivations(tokens, shape.hiddenSize, 'float32', rng.fork(`lx:${label}:${tokens}`)) as Float32Array;
          const stats = await measure(() => dev.run(x, devs[next++ % copies]), plan.measure, undefined, clock);
          const { meanSec: _mean, ...rest } = stats;
          void _mean;
          out.push({ dtype, hiddenSize: shape.hiddenSize, intermediateSize: shape.intermediateSize, tokens, bytes: lowBitBytesMoved(shape, dtype, tokens), flops: expertFlops(shape, tokens), ...rest });
          progress(`${dtype} copy ${label} tokens=${tokens}: ${fmtSec(stats.medianSec)}`);
          if (stats.medianSec > plan.maxRunSec) break;
        }
      } finally {
        for (const d of devs) dev.evict(d);
        await dev.close();
      }
    }
  }
  return out;
}

/**
 * One fit per format measured: the joint fit over all its points (fitExpert), not the anchored one
 * of the fp32 expert. ORT's CPU MatMulNBits with its weights as a graph input (not a constant it
 * can prepack) dequantises at run time, and its one-token runs were not the cheapest (on the 2-core
 * VM a 256x704 int4 copy: 13 ms at 1 token, 1.3 ms at 2): anchored on them, the fit was off by 10x.
 */
export async function fitLowBit(samples: readonly LowBitSampleRecord[], progress: Progress = () => {}): Promise<Partial<Record<LowBitDtype, ExpertFit>>> {
  const fits: Partial<Record<LowBitDtype, ExpertFit>> = {};
  for (const d of lowBitDtypes) {
    const s = samples.filter((x) => x.dtype === d);
    if (s.length === 0) continue;
    try {
      fits[d] = await fitExpert(s.map((x) => ({ bytes: x.bytes, flops: x.flops, timeSec: x.medianSec })));
    } catch (e) {
      // Noise drowned the work (a loaded machine, tiny shapes): no fit of this format; its samples
      // stay in the profile, and validating a policy with it asks for a new calibration.
      progress(`${d} copies: no fit (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return fits;
}

/**
 * The CPU side's hand-off: one-token runs of a tiny expert (32x64) posted one at a time to the CPU
 * worker (miss-exec.ts) and awaited; each sample is the wall time of the round trip less the run's
 * time in the worker: the posting, the worker's wake-up, the result's way back and this thread's
 * wake-up. The replay's simulation charges it per CPU-computed expert (cpuRoundTripSec).
 */
export async function benchCpuHandoff(plan: MicrobenchPlan, rng: Rng, clock: Clock = hrClock, threads = 1): Promise<SampleStats> {
  const shape = { hiddenSize: 32, intermediateSize: 64 };
  const runner = await CpuExpertRunner.open([randomExpertWeights(shape, 'float32', rng.fork('handoff'))], [0], threads);
  try {
    const x = randomActivations(1, 32, 'float32', rng.fork('handoff-x')) as Float32Array;
    const m = { warmupRuns: 10, maxSamples: 200, minSamples: 20, timeBudgetMs: 200, ...plan.measure };
    const out: number[] = [];
    for (let i = 0; i < m.warmupRuns; i++) await runner.submit(0, x.slice());
    const start = clock.now();
    const budget = BigInt(Math.round(m.timeBudgetMs * 1e6));
    while (out.length < m.minSamples || (out.length < m.maxSamples && clock.now() - start < budget)) {
      const t0 = clock.now();
      const r = await runner.submit(0, x.slice());
      out.push(Math.max(1e-9, secondsOn(clock, t0) - r.sec));
    }
    return summarize(out);
  } finally {
    await runner.close();
  }
}
