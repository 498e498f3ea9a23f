/**
 * A machine whose speed drifts (a shared VM: other tenants, frequency scaling, memory contention)
 * makes a validation against a profile measured minutes earlier compare two different machines:
 * on the shared 2-core VM, `calibrate` then `validate` gave a worst TPOT error of +13.7% once and
 * -27.3% twenty minutes later, every policy too fast.
 *
 * So `validate` re-measures the profile's key points between the replay's timed passes (a
 * calibration sample before the first pass and after each one), with the calibration's own
 * microbenchmarks (microbench.ts: the same warm-up, cold-cache rotation, batching and medians),
 * and compares each with the profile's sample of the same point:
 *
 *   - expert: the fewest-token run (the fit's anchor of overhead and bandwidth: the one-token run
 *     of a decode step) of the calibrated shapes nearest the replayed expert's size, one on each
 *     side where there are both;
 *   - upload: the calibrated upload sizes nearest one of the replayed expert's matrices (an
 *     upload sends three of them), one on each side where there are both.
 *
 * A point's ratio is its median now over its median in the profile: 1.2 means that operation takes
 * 20% longer than when the machine was calibrated: the speed of the machine while the process
 * holds a core (memory bandwidth others share, clock frequency). The time the process waits for a
 * core that other work holds is not in it, and a short sample cannot estimate it (on the 2-core VM
 * at a load average of 4 to 7, the means of samples of about 4 ms per point ranged x0.7 to x4.2);
 * validate measures those waits during the passes themselves instead (the clock's waitedSec:
 * Linux's schedstat of the replaying thread) and compares the simulation with the time on a core.
 * A probe's expert (upload) ratio is the geometric mean over its expert (upload) points. A pass is simulated on the profile's hardware
 * with its expert time and its link time multiplied by the geometric mean of the ratios of the
 * probes before and after it: the fitted model (the roofline's shape, the interpolation to the
 * replayed size) is still the profile's, only the machine's speed is that of the same minutes.
 * Homogeneous scaling is exact for the simulator's costs: expert time = 3 launches + max(bytes /
 * bandwidth, FLOPs / throughput) and upload time = latency + bytes / bandwidth both scale by the
 * factor when every term does.
 */
import type { Hardware } from '../hardware/types.js';
import { createRng, type Rng } from '../rng/rng.js';
import { hrClock, secondsOn, type Clock } from '../util/clock.js';
import type { Backend } from './backends.js';
import { expertWeightBytes, type ExpertShape } from './expert-graph.js';
import { fmtBytes } from './format.js';
import { benchExpert, benchTransfer, fullPlan, quantile, quickPlan, type MicrobenchPlan } from './microbench.js';
import type { CalibrationProfile, ExpertSampleRecord, TransferSampleRecord } from './profile.js';

/** One re-measured point of the profile. */
export interface DriftPoint {
  kind: 'expert' | 'upload';
  /** "expert 256x704, 1 token", "upload 1 MiB". */
  label: string;
  /** The profile's median for it, seconds. */
  profileSec: number;
}

/** The points re-measured, with what the microbenchmarks need to measure them. */
export interface DriftPoints {
  points: DriftPoint[];
  shapes: ExpertShape[];
  tokens: number;
  transferBytes: number[];
}

/** One calibration sample between passes. */
export interface DriftProbe {
  /** 0: before the first timed pass; g + 1: after the pass of global order g. */
  boundary: number;
  /** Seconds since the first probe started. */
  atSec: number;
  /** Per point (DriftPoints order): the median sample now, seconds (what the ratios use). */
  medianSec: number[];
  /** Per point: the mean time per operation now, seconds. */
  meanSec: number[];
  /** Per point: the median absolute deviation of its samples over their median (the sample's own noise). */
  relativeMad: number[];
  /** Geometric mean of median now / median in the profile, over the expert points and over the upload points. */
  expertRatio: number;
  uploadRatio: number;
  /** The same with the mean now (which includes the sample's waits for a core). */
  expertMeanRatio: number;
  uploadMeanRatio: number;
}

export interface Spread {
  n: number;
  min: number;
  median: number;
  max: number;
  mean: number;
  /** Sample standard deviation (0 for one value). */
  sd: number;
}

/** Min, median, max, mean and sample standard deviation of `xs` (at least one value). */
export function spreadOf(xs: readonly number[]): Spread {
  if (xs.length === 0) throw new Error('spreadOf: no values');
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const sd = s.length < 2 ? 0 : Math.sqrt(s.reduce((a, x) => a + (x - mean) ** 2, 0) / (s.length - 1));
  return { n: s.length, min: s[0], median: quantile(s, 0.5), max: s[s.length - 1], mean, sd };
}

/** The samples of `samples` nearest `target` in `size` on each side (one when it is outside them, or equal to one). */
function bracket<T>(samples: readonly T[], size: (s: T) => number, target: number): T[] {
  let below: T | undefined;
  let above: T | undefined;
  for (const s of samples) {
    const v = size(s);
    if (v <= target && (below === undefined || v > size(below))) below = s;
    if (v >= target && (above === undefined || v < size(above))) above = s;
  }
  const out = [below, above].filter((s): s is T => s !== undefined);
  return out.length === 2 && out[0] === out[1] ? [out[0]] : out;
}

/** The profile's key points for a replayed expert of `expertBytes` (fp32, three equal matrices). */
export function driftPoints(profile: CalibrationProfile, expertBytes: number): DriftPoints {
  // Each calibrated shape's fewest-token run: the fit's anchor.
  const anchors = new Map<string, ExpertSampleRecord>();
  for (const s of profile.samples.expert) {
    const key = `${s.hiddenSize}x${s.intermediateSize}`;
    const a = anchors.get(key);
    if (a === undefined || s.tokens < a.tokens) anchors.set(key, s);
  }
  const tokens = Math.min(...[...anchors.values()].map((s) => s.tokens));
  const weights = (s: ExpertSampleRecord) => expertWeightBytes({ hiddenSize: s.hiddenSize, intermediateSize: s.intermediateSize }, s.dtype);
  const experts = bracket([...anchors.values()].filter((s) => s.tokens === tokens), weights, expertBytes);
  const transfers: TransferSampleRecord[] = bracket(profile.samples.transfer, (s) => s.bytes, expertBytes / 3);
  return {
    points: [
      ...experts.map((s): DriftPoint => ({ kind: 'expert', label: `expert ${s.hiddenSize}x${s.intermediateSize}, ${s.tokens} token${s.tokens === 1 ? '' : 's'}`, profileSec: s.medianSec })),
      ...transfers.map((s): DriftPoint => ({ kind: 'upload', label: `upload ${fmtBytes(s.bytes)}`, profileSec: s.medianSec })),
    ],
    shapes: experts.map((s) => ({ hiddenSize: s.hiddenSize, intermediateSize: s.intermediateSize })),
    tokens,
    transferBytes: transfers.map((s) => s.bytes),
  };
}

/**
 * The microbenchmark plan of a probe: the profile's plan (its cold-cache rotation, its batching)
 * over the key points only, one round, 50 ms of samples per point. Not fewer: with at most 20
 * samples a point was measured over about 4 ms, and one burst of other work on the 2-core VM moved
 * a sample's median to x2.4 (expert) and x12 (upload) of the samples beside it.
 */
export function probePlan(profile: CalibrationProfile, points: DriftPoints, override: Partial<MicrobenchPlan> = {}): MicrobenchPlan {
  const base = profile.plan === 'full' ? fullPlan : quickPlan;
  return {
    ...base,
    dtype: profile.dtype,
    shapes: points.shapes,
    maxTokens: points.tokens,
    transferBytes: points.transferBytes,
    rounds: 1,
    measure: { ...base.measure, warmupRuns: 2, warmupMs: 10, minSamples: 5, maxSamples: 200, timeBudgetMs: 50 },
    ...override,
  };
}

const geomean = (xs: readonly number[]): number => (xs.length === 0 ? 1 : Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length));

/** Re-measures the key points on `backend` now. */
export class DriftProber {
  readonly probes: DriftProbe[] = [];
  private t0: bigint | undefined;
  private readonly rng: Rng;

  constructor(
    private readonly backend: Backend,
    readonly points: DriftPoints,
    private readonly plan: MicrobenchPlan,
    private readonly clock: Clock = hrClock,
  ) {
    this.rng = createRng('moesim-validate-drift');
  }

  /** A sample; `record` false: not kept in `probes` (validate's bracket of its replay-shape measurement). */
  async probe(boundary: number, record = true): Promise<DriftProbe> {
    this.t0 ??= this.clock.now();
    const atSec = secondsOn(this.clock, this.t0);
    const expert = this.points.shapes.length > 0 ? await benchExpert(this.backend, this.plan, this.rng.fork('expert'), undefined, this.clock) : [];
    const transfer = this.points.transferBytes.length > 0 ? await benchTransfer(this.backend, this.plan, this.rng.fork('transfer'), undefined, this.clock) : [];
    const stats = [
      ...this.points.shapes.map((sh) => {
        const s = expert.find((e) => e.hiddenSize === sh.hiddenSize && e.intermediateSize === sh.intermediateSize && e.tokens === this.points.tokens);
        if (!s) throw new Error(`drift probe: no run of ${sh.hiddenSize}x${sh.intermediateSize} at ${this.points.tokens} tokens`);
        return s.stats;
      }),
      ...this.points.transferBytes.map((b) => {
        const s = transfer.find((t) => t.bytes === b);
        if (!s) throw new Error(`drift probe: no upload of ${b} bytes`);
        return s.stats;
      }),
    ];
    const meanSec = stats.map((s) => s.meanSec);
    const medianSec = stats.map((s) => s.medianSec);
    const relativeMad = stats.map((s) => s.madSec / s.medianSec);
    const ratio = (kind: DriftPoint['kind'], now: number[]) => geomean(this.points.points.flatMap((p, i) => (p.kind === kind ? [now[i] / p.profileSec] : [])));
    const probe: DriftProbe = {
      boundary,
      atSec,
      meanSec,
      medianSec,
      relativeMad,
      expertRatio: ratio('expert', medianSec),
      uploadRatio: ratio('upload', medianSec),
      expertMeanRatio: ratio('expert', meanSec),
      uploadMeanRatio: ratio('upload', meanSec),
    };
    if (record) this.probes.push(probe);
    return probe;
  }

  /** The speed factors of the pass of global order g: the geometric mean of the probes around it. */
  factorsOfPass(g: number): { expert: number; upload: number } {
    const before = this.probes.find((p) => p.boundary === g);
    const after = this.probes.find((p) => p.boundary === g + 1);
    if (!before || !after) throw new Error(`drift: no probes around pass ${g}`);
    return { expert: Math.sqrt(before.expertRatio * after.expertRatio), upload: Math.sqrt(before.uploadRatio * after.uploadRatio) };
  }
}

/**
 * `hardware` on a machine whose expert runs take `expert` times and whose uploads take `upload`
 * times as long: every term of both costs scaled.
 */
export function scaleHardware(hardware: Hardware, expert: number, upload: number): Hardware {
  const flops = Object.fromEntries(Object.entries(hardware.gpu.flopsPerSec).map(([k, v]) => [k, v === undefined ? v : v / expert])) as Hardware['gpu']['flopsPerSec'];
  const s = hardware.gpu.sustainedFlopsPerSec;
  const sustained = s
    ? (Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v / expert : v])) as NonNullable<Hardware['gpu']['sustainedFlopsPerSec']>)
    : undefined;
  return {
    ...hardware,
    gpu: {
      ...hardware.gpu,
      hbmBytesPerSec: hardware.gpu.hbmBytesPerSec / expert,
      flopsPerSec: flops,
      // A measured sustained rate (Gpu.sustainedFlopsPerSec) slows with the peaks.
      ...(sustained ? { sustainedFlopsPerSec: sustained } : {}),
      launchOverheadSec: hardware.gpu.launchOverheadSec * expert,
    },
    link: { ...hardware.link, h2dBytesPerSec: hardware.link.h2dBytesPerSec / upload, d2hBytesPerSec: hardware.link.d2hBytesPerSec / upload, latencySec: hardware.link.latencySec * upload },
  };
}
