/**
 * Microbenchmarks on a real backend, timed the way tinybench does: warm-up runs first, then
 * repeated samples (never one), bounded by a time budget; medians and spread, not means.
 * Fast operations are batched so one sample lasts well above the timer's resolution.
 * Timer: util/clock.ts (process.hrtime.bigint, nanoseconds, monotonic).
 *
 * Measures expert time vs tokens for several shapes (weights resident on the device), host-to-
 * device transfer time vs bytes, and the cost of the smallest possible run.
 *
 * Cold caches: a model's decode step reads each expert it uses once, and reads many of them, so an
 * expert's weights come from memory (DRAM, HBM), not from a cache that the previous run warmed.
 * The benchmarks therefore rotate through copies of their data, `coldBytes` of them in all (more
 * than the last-level cache), so that no run finds its weights, and no upload its source or
 * destination, in a cache. Timing one buffer over and over would measure cache bandwidth instead
 * (measured on a 2-core EPYC VM with 32 MiB of L3: 26 GB/s hot against about half that cold).
 */
import { createRng, type Rng } from '../rng/rng.js';
import { lastLevelCacheBytes, SlabAllocator, type Backend, type DeviceBuffer, type DeviceExpert } from './backends.js';
import { fmtBytes, fmtSec } from './format.js';
import { hrClock, type Clock } from '../util/clock.js';
import {
  expertBytesMoved,
  expertFlops,
  expertWeightBytes,
  randomActivations,
  randomArray,
  randomExpertWeights,
  toHalf,
  type ExpertDtype,
  type ExpertShape,
  type HostArray,
} from './expert-graph.js';

export interface SampleStats {
  /** Number of samples. */
  n: number;
  /** Operations timed per sample (batched when one operation is too short to time alone). */
  iterationsPerSample: number;
  medianSec: number;
  p10Sec: number;
  p90Sec: number;
  /** Median absolute deviation from the median. */
  madSec: number;
  /**
   * Mean over the samples: the total time over the operations, every interruption included (the
   * median leaves out a sample that lost its core; a replay's pass, a sum, does not). Not kept in
   * profiles.
   */
  meanSec: number;
  minSec: number;
  maxSec: number;
}

export interface MeasureOptions {
  /** Untimed runs first (JIT, allocator, shader compilation, thread pool spin-up)... */
  warmupRuns: number;
  /** ...and for at least this long, ms. */
  warmupMs: number;
  /** At least this many samples, whatever the budget. */
  minSamples: number;
  maxSamples: number;
  /** Stop taking samples (once minSamples are in) after this much wall time, ms. */
  timeBudgetMs: number;
  /**
   * Batch operations until one sample lasts at least this long, µs (0: never batch). Only for
   * operations that allocate nothing: a batch runs `after` once all its operations are timed.
   */
  minSampleUs: number;
}

export const defaultMeasureOptions: MeasureOptions = {
  warmupRuns: 2,
  warmupMs: 50,
  minSamples: 5,
  maxSamples: 50,
  timeBudgetMs: 400,
  minSampleUs: 200,
};

/** Linear-interpolated quantile of sorted values, q in [0, 1]. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('quantile of no values');
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(samplesSec: readonly number[], iterationsPerSample = 1): SampleStats {
  const s = [...samplesSec].sort((a, b) => a - b);
  const median = quantile(s, 0.5);
  const dev = s.map((v) => Math.abs(v - median)).sort((a, b) => a - b);
  return {
    n: s.length,
    iterationsPerSample,
    medianSec: median,
    p10Sec: quantile(s, 0.1),
    p90Sec: quantile(s, 0.9),
    madSec: quantile(dev, 0.5),
    meanSec: s.reduce((a, b) => a + b, 0) / s.length,
    minSec: s[0],
    maxSec: s[s.length - 1],
  };
}


/**
 * Time `op`: warm-up, then samples until minSamples are in and either maxSamples or the time budget
 * is reached. `after` runs untimed on each result (release what `op` allocated).
 */
export async function measure<T>(
  op: () => Promise<T>,
  options: Partial<MeasureOptions> = {},
  after?: (result: T) => void | Promise<void>,
  clock: Clock = hrClock,
): Promise<SampleStats> {
  const { samples, iterations } = await measureSamples(op, options, after, clock);
  return summarize(samples, iterations);
}

/** Pooled samples of one point over the rounds of a plan, summarized at the end. */
class Pool {
  samples: number[] = [];
  iterations = 1;
  add(r: { samples: number[]; iterations: number }): void {
    this.samples.push(...r.samples);
    this.iterations = Math.max(this.iterations, r.iterations);
  }
  stats(): SampleStats {
    return summarize(this.samples, this.iterations);
  }
  /** The pool of `key` in `pools`, made if new. */
  static of<K>(pools: Map<K, Pool>, key: K): Pool {
    let p = pools.get(key);
    if (p === undefined) pools.set(key, (p = new Pool()));
    return p;
  }
}

/** A plan's measure options for one of its rounds: the samples and the time budget split among them. */
function perRound(plan: MicrobenchPlan, extra: Partial<MeasureOptions> = {}): Partial<MeasureOptions> {
  const m = { ...defaultMeasureOptions, ...plan.measure, ...extra };
  const r = plan.rounds;
  return { ...m, minSamples: Math.max(2, Math.ceil(m.minSamples / r)), maxSamples: Math.max(2, Math.ceil(m.maxSamples / r)), timeBudgetMs: m.timeBudgetMs / r };
}

async function measureSamples<T>(
  op: () => Promise<T>,
  options: Partial<MeasureOptions> = {},
  after?: (result: T) => void | Promise<void>,
  clock: Clock = hrClock,
): Promise<{ samples: number[]; iterations: number }> {
  const o = { ...defaultMeasureOptions, ...options };
  const now = () => clock.now();
  let single = Infinity;
  const warmStart = now();
  const warmNs = BigInt(Math.round(o.warmupMs * 1e6));
  for (let i = 0; i < Math.max(1, o.warmupRuns) || now() - warmStart < warmNs; i++) {
    const t0 = now();
    const r = await op();
    single = Math.min(single, Number(now() - t0));
    if (after) await after(r);
  }
  const iterations = Math.max(1, Math.min(1000, Math.ceil((o.minSampleUs * 1e3) / Math.max(single, 1))));
  const results: T[] = new Array<T>(iterations);
  const samples: number[] = [];
  const start = now();
  const budgetNs = BigInt(Math.round(o.timeBudgetMs * 1e6));
  while (samples.length < o.minSamples || (samples.length < o.maxSamples && now() - start < budgetNs)) {
    const t0 = now();
    for (let i = 0; i < iterations; i++) results[i] = await op();
    const dt = Number(now() - t0) / 1e9;
    samples.push(dt / iterations);
    if (after) for (let i = 0; i < iterations; i++) await after(results[i]);
  }
  return { samples, iterations };
}

// ---------------------------------------------------------------------------------------------

export interface ExpertSample {
  hiddenSize: number;
  intermediateSize: number;
  dtype: ExpertDtype;
  tokens: number;
  /** Bytes the run reads and writes (weights + x + y). */
  bytes: number;
  flops: number;
  stats: SampleStats;
}

export interface TransferSample {
  bytes: number;
  stats: SampleStats;
}

export interface MicrobenchPlan {
  shapes: ExpertShape[];
  /** Tokens 1, 2, 4, … up to this. */
  maxTokens: number;
  dtype: ExpertDtype;
  /** Stop growing tokens for a shape once one run's median exceeds this, seconds. */
  maxRunSec: number;
  /** Upload sizes, bytes. */
  transferBytes: number[];
  /** Bytes of copies to rotate through so that caches are cold (0: one copy, caches warm). */
  coldBytes: number;
  /**
   * The plan runs this many times over, each round taking its share of every point's samples and
   * time budget; a point's figures are over all its samples. A machine whose speed drifts (a shared
   * VM: its memory bandwidth moved by a third between two calibrations minutes apart) then moves
   * every point a little instead of one point a lot.
   */
  rounds: number;
  measure: Partial<MeasureOptions>;
}

/** The bytes to rotate through: the plan's, or twice the last-level cache if that is more. */
export function coldBytesFor(plan: Pick<MicrobenchPlan, 'coldBytes'>): number {
  return plan.coldBytes === 0 ? 0 : Math.max(plan.coldBytes, 2 * lastLevelCacheBytes());
}

/** Copies of a buffer of `bytes` that together reach `coldBytes` (at least one, at most 4096). */
export function rotationCount(bytes: number, coldBytes: number): number {
  return Math.max(1, Math.min(4096, Math.ceil(coldBytes / Math.max(1, bytes))));
}

const KiB = 1024;
const MiB = 1024 * KiB;

function powersOfTwo(from: number, to: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v *= 2) out.push(v);
  return out;
}

/** The plan of `moesim calibrate`: experts of 0.5 to 33 MiB in fp32, up to 512 tokens, 64 KiB … 64 MiB uploads. */
export const fullPlan: MicrobenchPlan = {
  shapes: [
    { hiddenSize: 128, intermediateSize: 352 },
    { hiddenSize: 256, intermediateSize: 704 },
    { hiddenSize: 512, intermediateSize: 1408 },
    { hiddenSize: 1024, intermediateSize: 2816 },
  ],
  maxTokens: 512,
  dtype: 'float32',
  maxRunSec: 0.25,
  transferBytes: powersOfTwo(64 * KiB, 64 * MiB),
  coldBytes: 256 * MiB,
  rounds: 4,
  measure: { warmupRuns: 2, warmupMs: 100, minSamples: 8, maxSamples: 60, timeBudgetMs: 600, minSampleUs: 200 },
};

/** `--quick` and the test suite: small shapes, a few seconds on 2 cores. */
export const quickPlan: MicrobenchPlan = {
  shapes: [
    { hiddenSize: 128, intermediateSize: 352 },
    { hiddenSize: 256, intermediateSize: 704 },
  ],
  maxTokens: 64,
  dtype: 'float32',
  maxRunSec: 0.05,
  transferBytes: powersOfTwo(64 * KiB, 4 * MiB),
  coldBytes: 64 * MiB,
  rounds: 1,
  measure: { warmupRuns: 2, warmupMs: 20, minSamples: 5, maxSamples: 25, timeBudgetMs: 60, minSampleUs: 200 },
};

export type Progress = (message: string) => void;

/**
 * Expert time vs tokens, weights resident on the device: each shape's weights uploaded (untimed)
 * as many times as coldBytes asks, and the runs rotate through the copies. Over the plan's rounds;
 * token counts grow until a run takes maxRunSec (decided in the first round).
 */
export async function benchExpert(
  backend: Backend,
  plan: MicrobenchPlan,
  rng: Rng = createRng('calibrate'),
  progress: Progress = () => {},
  clock: Clock = hrClock,
): Promise<ExpertSample[]> {
  const pools = plan.shapes.map(() => new Map<number, Pool>());
  for (let round = 0; round < plan.rounds; round++) await expertRound(backend, plan, rng, round, pools, clock);
  const out: ExpertSample[] = [];
  plan.shapes.forEach((shape, i) => {
    for (const [tokens, pool] of pools[i]) {
      const stats = pool.stats();
      out.push({
        hiddenSize: shape.hiddenSize,
        intermediateSize: shape.intermediateSize,
        dtype: plan.dtype,
        tokens,
        bytes: expertBytesMoved(shape, plan.dtype, tokens),
        flops: expertFlops(shape, tokens),
        stats,
      });
      progress(`expert ${shape.hiddenSize}x${shape.intermediateSize} ${plan.dtype} tokens=${tokens}: ${fmtSec(stats.medianSec)}`);
    }
  });
  return out;
}

async function expertRound(backend: Backend, plan: MicrobenchPlan, rng: Rng, round: number, pools: Map<number, Pool>[], clock: Clock): Promise<void> {
  const options = perRound(plan);
  for (const [i, shape] of plan.shapes.entries()) {
    const label = `${shape.hiddenSize}x${shape.intermediateSize}`;
    const weights = randomExpertWeights(shape, plan.dtype, rng.fork(`w:${label}`));
    const copies = rotationCount(expertWeightBytes(shape, plan.dtype), coldBytesFor(plan));
    const devs: DeviceExpert[] = [];
    try {
      for (let c = 0; c < copies; c++) devs.push(await backend.upload(weights));
      let next = 0;
      for (const tokens of powersOfTwo(1, plan.maxTokens)) {
        if (round > 0 && !pools[i].has(tokens)) break;
        const x = randomActivations(tokens, shape.hiddenSize, plan.dtype, rng.fork(`x:${label}:${tokens}`));
        const r = await measureSamples(() => backend.runExpert(x, devs[next++ % copies]), options, undefined, clock);
        Pool.of(pools[i], tokens).add(r);
        if (round === 0 && summarize(r.samples).medianSec > plan.maxRunSec) break;
      }
    } finally {
      for (const d of devs) backend.evict(d);
    }
  }
}

/**
 * Uploads per transfer sample, issued back to back before the device is waited for once: how
 * backend.upload sends an expert (its three matrices) before the expert runs.
 */
export const UPLOADS_PER_SAMPLE = 3;

/** Stats of a batch of `k` operations plus a fixed cost, as the stats of one operation. */
function perOperation(s: SampleStats, fixedSec: number, k: number): SampleStats {
  const f = (x: number) => Math.max(1e-9, (x - fixedSec) / k);
  return { ...s, medianSec: f(s.medianSec), p10Sec: f(s.p10Sec), p90Sec: f(s.p90Sec), minSec: f(s.minSec), maxSec: f(s.maxSec), madSec: s.madSec / k, meanSec: f(s.meanSec) };
}

/**
 * Host-to-device transfer time vs bytes. A sample is what a miss costs in `moesim replay`:
 * UPLOADS_PER_SAMPLE uploads of `bytes` each, back to back, then one wait for the device; the
 * wait's own cost (backend.sync alone, measured first: on WebGPU a round trip of about a tiny run)
 * is subtracted and the rest divided by the uploads. Never batched further. Sources rotate through
 * copies (coldBytes in all); destinations are held in a ring of as many and released when they
 * fall out of it, so each upload gets a free device buffer (the CPU backend's pool recycles the
 * one released longest ago). Before the samples, backend.warmBuffers puts the destinations in the
 * state the replay's passes have too: enough buffers faulted in and freed that, with the ring
 * held (transferRingLive), every upload reuses one past the pool's threshold: no sample pays for
 * allocation or page faults (before session 27 the warm-up freed only as many as the ring holds,
 * so once the ring held its buffers the free list fell below the threshold and samples went into
 * fresh pages or reused ones by history), and none finds
 * its source or destination in a cache.
 */
export async function benchTransfer(
  backend: Backend,
  plan: MicrobenchPlan,
  rng: Rng = createRng('calibrate'),
  progress: Progress = () => {},
  clock: Clock = hrClock,
): Promise<TransferSample[]> {
  const k = UPLOADS_PER_SAMPLE;
  const extra = { minSampleUs: 0, maxSamples: Math.max(plan.measure.maxSamples ?? 0, 30) };
  const syncSec = (await measure(() => backend.sync(), { ...plan.measure, ...extra }, undefined, clock)).medianSec;
  const pools = new Map<number, Pool>();
  for (let round = 0; round < plan.rounds; round++) await transferRound(backend, plan, rng, perRound(plan, extra), pools, clock);
  const out: TransferSample[] = [];
  for (const [bytes, pool] of pools) {
    const stats = perOperation(pool.stats(), syncSec, k);
    out.push({ bytes, stats });
    progress(`upload ${fmtBytes(bytes)}: ${fmtSec(stats.medianSec)}`);
  }
  return out;
}

/**
 * Device buffers a transfer benchmark holds at once: its ring of `copies` destinations (each
 * released once it falls out of the ring) and the UPLOADS_PER_SAMPLE of the sample in flight.
 */
export function transferRingLive(copies: number): number {
  return copies + UPLOADS_PER_SAMPLE;
}

async function transferRound(backend: Backend, plan: MicrobenchPlan, rng: Rng, options: Partial<MeasureOptions>, pools: Map<number, Pool>, clock: Clock): Promise<void> {
  const elem = plan.dtype === 'float32' ? 4 : 2;
  const k = UPLOADS_PER_SAMPLE;
  const host = new SlabAllocator(); // page-aligned sources, like pinned host memory
  for (const bytes of plan.transferBytes) {
    const n = Math.max(1, Math.floor(bytes / elem));
    const values = randomArray(n, rng.fork(`t:${bytes}`), 1);
    const copies = Math.max(k + 1, rotationCount(n * elem, coldBytesFor(plan)));
    const sources: HostArray[] = [];
    for (let i = 0; i < copies; i++) {
      const data = host.alloc(plan.dtype, n);
      if (plan.dtype === 'float32') (data as Float32Array).set(values);
      else (data as Uint16Array).set(toHalf(values));
      sources.push(data);
    }
    // The destinations' state, the same as the drift probes' and the replay's passes' (warmBuffers):
    // with the ring held, plus a sample's uploads, every timed upload goes into a faulted-in buffer
    // reused past the device allocator's threshold, none into fresh pages.
    const unwarm = backend.warmBuffers(plan.dtype, n, transferRingLive(copies));
    const held: DeviceBuffer[] = [];
    for (const src of sources) held.push(await backend.uploadBuffer(src, plan.dtype));
    await backend.sync();
    for (const b of held.splice(0)) backend.releaseBuffer(b);
    let next = 0;
    const batch = await measureSamples(
      async () => {
        const bs: DeviceBuffer[] = [];
        for (let i = 0; i < k; i++) bs.push(await backend.uploadBuffer(sources[next++ % copies], plan.dtype));
        await backend.sync();
        return bs;
      },
      options,
      (bs) => {
        held.push(...bs);
        while (held.length > copies) backend.releaseBuffer(held.shift()!);
      },
      clock,
    );
    for (const b of held) backend.releaseBuffer(b);
    unwarm();
    host.clear();
    Pool.of(pools, n * elem).add(batch);
  }
}

/** The smallest run: a 1x1 Identity, host to host. */
export async function benchLaunch(backend: Backend, plan: MicrobenchPlan, progress: Progress = () => {}, clock: Clock = hrClock): Promise<SampleStats> {
  const stats = await measure(() => backend.launchTiny(), { ...plan.measure, maxSamples: Math.max(plan.measure.maxSamples ?? 0, 30) }, undefined, clock);
  progress(`tiny run: ${fmtSec(stats.medianSec)}`);
  return stats;
}

export interface MicrobenchResult {
  expert: ExpertSample[];
  transfer: TransferSample[];
  launch: SampleStats;
}

export async function runMicrobench(
  backend: Backend,
  plan: MicrobenchPlan,
  options: { rng?: Rng; progress?: Progress; clock?: Clock } = {},
): Promise<MicrobenchResult> {
  const rng = options.rng ?? createRng('calibrate');
  const progress = options.progress ?? (() => {});
  const clock = options.clock ?? hrClock;
  if (!backend.dtypes.includes(plan.dtype)) {
    throw new Error(`${backend.name} backend does not run ${plan.dtype}: ${backend.unsupported[plan.dtype] ?? '?'}`);
  }
  const launch = await benchLaunch(backend, plan, progress, clock);
  const transfer = await benchTransfer(backend, plan, rng.fork('transfer'), progress, clock);
  const expert = await benchExpert(backend, plan, rng.fork('expert'), progress, clock);
  return { expert, transfer, launch };
}
