/**
 * The operations a replay executes, measured at the replay's own expert shape and token counts
 * (session 27, issue 12 item 7): the simulator's costs of a validate pass come from these curves
 * instead of the calibration profile's fits over other shapes.
 *
 * Why (reports/calibration/s27-missval/shape-probe-*.txt, the 2-core VM, load ~4): at the replayed
 * shape 128x448 the profile's fits priced
 *   - the device's fp32 expert at 89 µs for 1 to 8 tokens, measured 96-113 µs at 1 token and
 *     132-169 µs at 2 to 8 (ORT's CPU MatMul takes another path past one row; the fit, anchored on
 *     each calibrated shape's one-token run, is flat there): the serving steps' 2-16-token runs were
 *     priced 33-47% short;
 *   - Fiddler's CPU expert (on the cpu backend the same fit) at 89 µs, while the CPU worker's own
 *     session.run (miss-exec.ts: fresh input tensors and output each job) took 114-116 µs at 1 token
 *     and 158-179 µs at 2 to 8;
 *   - int8 copy runs 5-19% long, int4 within 3%.
 * A lower-bit copy's upload (LowBitDevice.upload) measured 67 µs (int4) and 117 µs (int8) in that
 * probe against the link's 12 and 20 µs, but the probe's destinations were new pages: into warmed
 * ones (as the replay's) it took 12-19 µs, the link's time. It is measured here all the same
 * (lowBitUploadSec), the way the replay sends it.
 * The curves are measured the way the replay runs: copies rotated past twice the last-level cache
 * (cold, as the replay's many experts are), uploads into warmed destinations (as the replay's,
 * Backend.warmBuffers / LowBitDevice.warm); medians of many runs; between measured token counts
 * the time is linear in tokens, past the last it goes on at the last segment's slope.
 */
import type { Backend, DeviceExpert } from './backends.js';
import { lastLevelCacheBytes } from './backends.js';
import { expertWeightBytes, randomActivations, randomExpertWeights, type ExpertShape } from './expert-graph.js';
import { LowBitDevice, lowBitExpertBytes, lowBitFormat, quantizeExpert, type LowBitDeviceExpert, type LowBitDtype } from './low-bit.js';
import { CpuExpertRunner } from './miss-exec.js';
import type { Rng } from '../rng/rng.js';
import { hrClock, secondsOn, type Clock } from '../util/clock.js';

/** Median seconds of one operation at each measured token count (ascending, the first 1). */
export interface TokenCurve {
  tokens: number[];
  sec: number[];
}

/** What a replay of one shape executes, measured at that shape. */
export interface ReplayShapeCurves {
  shape: ExpertShape;
  /** The device's fp32 expert run (backend.runExpert). */
  expert: TokenCurve;
  /** The CPU worker's expert run, its own seconds (CpuExpertRunner: what miss-exec times), when the replay computes on the CPU. */
  cpu?: TokenCurve;
  /** Lower-bit copies' runs (LowBitDevice.run), per format the replay uses. */
  lowBit: Partial<Record<LowBitDtype, TokenCurve>>;
  /** One lower-bit copy's upload (LowBitDevice.upload: its three buffers), seconds, per format. */
  lowBitUploadSec: Partial<Record<LowBitDtype, number>>;
}

/** Seconds of `tokens` tokens on `c`: linear between measured counts, the last segment's slope past the last, the first point's time below it. */
export function curveSec(c: TokenCurve, tokens: number): number {
  const t = c.tokens;
  const s = c.sec;
  const n = t.length;
  if (n === 0) throw new Error('curveSec: an empty curve');
  if (n === 1 || tokens <= t[0]) return s[0];
  let i = 1;
  while (i < n - 1 && t[i] < tokens) i++;
  const slope = (s[i] - s[i - 1]) / (t[i] - t[i - 1]);
  return Math.max(s[i - 1], s[i - 1] + slope * (tokens - t[i - 1]));
}

/** `c` with every time multiplied by `f`. */
export function scaleCurve(c: TokenCurve, f: number): TokenCurve {
  return { tokens: c.tokens, sec: c.sec.map((x) => x * f) };
}

export interface MeasureShapeOptions {
  /** Token counts measured: 1, 2, 4, … up to the first power of two at least this (default 1). */
  maxTokens?: number;
  /** Measure the CPU worker's runs (a policy computes misses on the CPU). */
  cpu?: boolean;
  /** Lower-bit formats the replay uses. */
  lowBit?: readonly LowBitDtype[];
  /** Bytes the copies rotate through (default twice the last-level cache; validate: its drift samples' cold rotation, coldBytesFor). */
  coldBytes?: number;
  /** Timed runs per point, over all rounds (default 150). */
  runs?: number;
  clock?: Clock;
}

/** Powers of two from 1 to the first at least `max`. */
export function tokenCounts(max: number): number[] {
  const out = [1];
  while (out[out.length - 1] < max) out.push(out[out.length - 1] * 2);
  return out;
}

/**
 * Untimed runs before each point's timed ones: a session's first runs at a new input shape are
 * slower (on the 2-core VM a lower-bit copy's 1-token point measured first after the session
 * opened, with 10: 654 µs against 409 µs at 4 tokens).
 */
const WARMUP = 30;

/**
 * Rounds over a curve's points: each point timed in each round, its time the median of its rounds'
 * medians. In one pass over the points a busy minute shifts a whole run of neighbouring points (on
 * the 2-core VM an int4 copy's curve read 764, 789, 795, 501 µs at 1-8 tokens, the next run's 426,
 * 425, 434, 697 µs).
 */
const ROUNDS = 3;

/** Per op, the median over ROUNDS rounds of the median of `runs` timed runs; the ops interleaved round by round. */
async function curveOf(ops: Array<(i: number) => Promise<unknown>>, runs: number, clock: Clock): Promise<number[]> {
  const per = ops.map(() => [] as number[]);
  const r = Math.max(1, Math.round(runs / ROUNDS));
  for (let k = 0; k < ROUNDS; k++) for (let j = 0; j < ops.length; j++) per[j].push(await medianOf(ops[j], r, clock));
  return per.map((xs) => xs.sort((a, b) => a - b)[xs.length >> 1]);
}

/** Median of `runs` timed runs of `op` (after WARMUP untimed ones), seconds. */
async function medianOf(op: (i: number) => Promise<unknown>, runs: number, clock: Clock): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await op(i);
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = clock.now();
    await op(i);
    ts.push(secondsOn(clock, t0));
  }
  ts.sort((a, b) => a - b);
  return ts[ts.length >> 1];
}

/** Measures `backend`'s runs of a replay of `shape` (see the module's comment). */
export async function measureReplayShape(backend: Backend, shape: ExpertShape, rng: Rng, o: MeasureShapeOptions = {}): Promise<ReplayShapeCurves> {
  const clock = o.clock ?? hrClock;
  const runs = o.runs ?? 150;
  const cold = o.coldBytes ?? 2 * lastLevelCacheBytes();
  const tokens = tokenCounts(o.maxTokens ?? 1);
  const copiesFor = (bytes: number) => Math.max(cold > 0 ? 2 : 1, Math.ceil(cold / bytes));
  const xs = tokens.map((t) => randomActivations(t, shape.hiddenSize, 'float32', rng.fork(`rs-x:${t}`)) as Float32Array);
  const threads = Number(/(\d+) intra-op thread/.exec(backend.device)?.[1] ?? 1);

  const fp32 = randomExpertWeights(shape, 'float32', rng.fork('rs-w'));
  const copies = copiesFor(expertWeightBytes(shape, 'float32'));
  const devs: DeviceExpert[] = [];
  const expert: TokenCurve = { tokens, sec: [] };
  try {
    for (let c = 0; c < copies; c++) devs.push(await backend.upload(fp32));
    let next = 0;
    expert.sec = await curveOf(xs.map((x) => () => backend.runExpert(x, devs[next++ % copies])), runs, clock);
  } finally {
    for (const d of devs) backend.evict(d);
  }

  let cpu: TokenCurve | undefined;
  if (o.cpu) {
    // Distinct host weights per copy (the replay's worker holds every expert's own): one array
    // shared by all would run from the cache.
    const hosts = Array.from({ length: copies }, (_, c) => (c === 0 ? fp32 : randomExpertWeights(shape, 'float32', rng.fork(`rs-cpu:${c}`))));
    const runner = await CpuExpertRunner.open(hosts, hosts.keys(), threads);
    cpu = { tokens, sec: [] };
    try {
      // The worker's own seconds of each run, as the replay reports the CPU side's busy time; in rounds as curveOf.
      const per = xs.map(() => [] as number[]);
      const r = Math.max(1, Math.round(runs / ROUNDS));
      for (let k = 0; k < ROUNDS; k++) {
        for (const [j, x] of xs.entries()) {
          for (let i = 0; i < WARMUP; i++) await runner.submit(i % copies, x.slice());
          const own: number[] = [];
          for (let i = 0; i < r; i++) own.push((await runner.submit(i % copies, x.slice())).sec);
          own.sort((a, b) => a - b);
          per[j].push(own[own.length >> 1]);
        }
      }
      cpu.sec = per.map((v) => v.sort((a, b) => a - b)[v.length >> 1]);
    } finally {
      await runner.close();
    }
  }

  const lowBit: ReplayShapeCurves['lowBit'] = {};
  const lowBitUploadSec: ReplayShapeCurves['lowBitUploadSec'] = {};
  for (const dtype of o.lowBit ?? []) {
    const fmt = lowBitFormat(dtype, shape);
    const q = quantizeExpert(fp32, fmt);
    const dev = await LowBitDevice.open(backend, shape, fmt, threads);
    // Its destinations warmed as the replay warms its own (LowBitDevice.warm): an upload into new
    // pages takes their page faults, which the replay's uploads do not (s27-drift).
    const unwarm = dev.warm(2);
    const held: LowBitDeviceExpert[] = [];
    try {
      // Uploads timed one copy at a time (each evicted after) into warmed destinations; runs
      // timed rotating through copies past the cold-cache size, as the fp32 runs. Timed right after
      // its own upload instead (s27-missval run 3 of this helper), a copy ran 10-20% faster than
      // the replay's copies did per step (its "expert time per step"): in the replay a layer's
      // copies are uploaded, then the layer's experts run, so a copy is not the last thing written.
      lowBitUploadSec[dtype] = await medianOf(async () => dev.evict(await dev.upload(q)), runs, clock);
      const n = Math.max(2, Math.ceil(cold / lowBitExpertBytes(shape, fmt)));
      for (let c = 0; c < n; c++) held.push(await dev.upload(q));
      let next = 0;
      const curve: TokenCurve = { tokens, sec: [] };
      curve.sec = await curveOf(xs.map((x) => () => dev.run(x, held[next++ % n])), runs, clock);
      lowBit[dtype] = curve;
    } finally {
      for (const d of held) dev.evict(d);
      unwarm();
      await dev.close();
    }
  }
  return { shape, expert, ...(cpu ? { cpu } : {}), lowBit, lowBitUploadSec };
}
