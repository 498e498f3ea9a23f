/**
 * `moesim validate`: replay a scenario on a real backend and simulate the same replay with a
 * calibrated profile's hardware, then compare, per policy and metric, what the simulator predicts
 * with what was measured. Hits and bytes must be identical: both sides run the same policy code on
 * the same accesses, so a difference is a bug, and is thrown as one.
 *
 * The simulated world is the replayed one: the scaled model's experts (fp32, three matrices) in the
 * simulator's RooflineCosts on the profile's Hardware; no non-expert work (the replay executes none);
 * the profile's link, which does not overlap compute, with one transfer latency per uploaded matrix.
 *
 * A machine's speed drifts (drift.ts): by default validate re-measures the profile's key points
 * before the first timed pass and after each, and simulates each pass on the profile's hardware
 * scaled to the speed of the samples around it. Each pass's TPOT error is reported, with its spread
 * over the passes, beside the error with the profile as calibrated; the table's rows compare the
 * median over the passes on both sides. A storage tier's passes are bracketed by disk samples of
 * their own, immediately before and after each (ssdBrackets): the pass's SSD is the disk profile
 * scaled to them, and a pass whose brackets disagree by more than a bound is reported as such.
 *
 * Miss handlers that compute a miss elsewhere (miss-exec.ts): the replay's schedule is recorded on
 * the profile's costs, so it executes the simulator's decisions; the simulation as calibrated
 * decides again and must decide the same; the per-pass simulations make the replay's decisions.
 * Their costs come from the profile (CPU expert fit, lower-bit fits). Serving workloads: every
 * simulation of a pass executes the replay's steps (serving-replay.ts).
 */
import { median } from '../metrics/summarize.js';
import os from 'node:os';
import type { Hardware } from '../hardware/types.js';
import { summarizeLatencies, tokenLatencies, type LatencySummary } from '../metrics/latency.js';
import { RooflineCosts } from '../timing/roofline.js';
import type { StepCosts } from '../timing/costs.js';
import { InputError } from '../util/errors.js';
import type { CalibrationProfile } from './profile.js';
import { decodeDecisions, encodeDecisions, evictionsOf, recordSchedules, replay, replayCosts, simulateSchedule, type ReplayResult, type SsdProbe } from './replay.js';
import type { MissCostSourceSpec, MissSpeed } from './miss-exec.js';
import type { ReplaySetup } from './replay-setup.js';
import { describeScaled, fmtSize, type ScaledModel } from './scale.js';
import { expertWeightBytes } from './expert-graph.js';
import { coldBytesFor, type MicrobenchPlan, type Progress } from './microbench.js';
import { DriftProber, driftPoints, probePlan, scaleHardware, spreadOf, type DriftPoint, type DriftProbe, type Spread } from './drift.js';
import { hrClock, secondsOn, type Clock } from '../util/clock.js';
import type { Ssd } from '../hardware/storage.js';
import { replayTiers, scaleSsd } from './disk-replay.js';
import { ssdReadSec } from '../timing/storage.js';
import { curveSec, measureReplayShape, scaleCurve, type ReplayShapeCurves, type TokenCurve } from './replay-shape.js';
import { createRng } from '../rng/rng.js';
import { missHandlerInfo, missLowBit } from '../policies/miss/index.js';
import type { LowBitDtype } from './low-bit.js';

/**
 * The simulator's costs for a replay on `hardware` (a calibration profile's): the RooflineCosts of the
 * scaled model for the experts; nothing for non-expert work, which the replay does not execute.
 */
export function profileCosts(scaled: ScaledModel, hardware: Hardware, expertCurve?: TokenCurve, curveFactor = 1): StepCosts {
  const cost = new RooflineCosts(scaled.model, hardware, { experts: 'fp32', dense: 'fp32', kvCache: 'fp32', groupSize: 128 });
  if (cost.expertBytes !== scaled.expertBytes) throw new Error(`profileCosts: expert bytes ${cost.expertBytes} != ${scaled.expertBytes}`);
  // With the replay's shape measured (replay-shape.ts): the device's expert run from its curve at the pass's speed.
  if (expertCurve) return replayCosts(cost.expertBytes, hardware, (tokens) => curveFactor * curveSec(expertCurve, tokens));
  return replayCosts(cost.expertBytes, hardware, (tokens) => cost.expertSec(tokens));
}

export interface SimulatedPolicy {
  index: number;
  accesses: number;
  hits: number;
  lateHits: number;
  misses: number;
  bytesH2D: number;
  /** Prefetch uploads (that started). */
  prefetchIssued: number;
  stepSec: number[];
  perLayerSec: number[];
  /** Time the link and the compute stream were busy. */
  linkBusySec: number;
  gpuBusySec: number;
  /** Misses computed on the CPU, fetched as lower-bit copies (and their bytes); the CPU's busy time. */
  cpuComputations: number;
  lowBitComputations: number;
  lowBitBytes: number;
  cpuBusySec: number;
  /** A serving workload: the output tokens of each request. */
  tokensPerRequest?: number[];
  latency: LatencySummary;
  /** Issue 16: the SSD tier's reads and the time its read queue was busy (a storage tier only; unified memory: the fetches into the pool and the link's busy time). */
  ssdReads?: number;
  ssdBusySec?: number;
  /** The device cache's evictions (unified memory: experts dropped from the pool). */
  evictions: number;
}

type SimSetup = Pick<ReplaySetup, 'prep' | 'loaded' | 'policies' | 'scaled' | 'predictors'>;

/**
 * Simulate the replay of `setup`'s policies on `hardware`. Each simulation records its operations,
 * which must be those the replay executed (recorded with other durations): the order does not
 * depend on durations, and a difference is a bug, thrown as one.
 */
export function simulateReplay(setup: SimSetup, hardware: Hardware, replayed: ReplayResult, missSource?: MissCostSourceSpec): SimulatedPolicy[] {
  return simulatePasses(setup, () => hardware, replayed, 1, { source: missSource, decide: true }).map((passes) => passes[0]);
}

/**
 * The CPU and lower-bit paths of a simulation of a replay (miss-exec.ts): their costs' source
 * (default: the hardware of the pass), their speed per pass, and whether the miss handler decides
 * (then its decisions must be the replay's: the replay executed the simulator's plan) or makes the
 * replay's decisions again (a pass simulated on the machine's speed of its minutes).
 */
export interface SimulatedMiss {
  /**
   * The hardware the replay's schedule was planned on (a serving workload's steps, a time-estimate
   * handler's decisions): the profile as calibrated. Default: the first pass's.
   */
  planHardware?: Hardware;
  /** The miss costs the replay's schedule was planned with (the profile's fits); default `source`. */
  planSource?: MissCostSourceSpec;
  source?: MissCostSourceSpec;
  speedOf?: (j: number, pass: number) => MissSpeed;
  decide?: boolean;
  /** The device's fp32 expert run measured at the replay's shape, at the profile's speed (replay-shape.ts); times multiplied by the pass's device speed. */
  expertCurve?: TokenCurve;
}

/**
 * Simulate each of `setup`'s policies `passes` times, pass r of the j-th policy on
 * `hardwareOf(j, r)` (the machine's speed in the minutes of that pass); the operations of every
 * simulation are checked against the replay's, as in simulateReplay.
 */
export function simulatePasses(setup: SimSetup, hardwareOf: (j: number, pass: number) => Hardware, replayed: ReplayResult, passes: number, miss: SimulatedMiss = {}): SimulatedPolicy[][] {
  const { prep, loaded, policies, scaled, predictors } = setup;
  const shape = scaled.shape;
  const sourceOf = (j: number, r: number): MissCostSourceSpec => miss.source ?? { hardware: hardwareOf(j, r) };
  const decisionsOf = (j: number) => decodeDecisions(replayed.policies[j].missDecisions);
  // The replay's operations: recorded with its decisions (any durations then give the same order)
  // on the hardware it was planned on (a serving workload's steps depend on durations).
  const planCosts = profileCosts(scaled, miss.planHardware ?? hardwareOf(0, 0));
  const executed = recordSchedules(prep, loaded.scenario, policies, predictors, scaled.expertBytes, planCosts, (j) => ({ shape, source: miss.planSource ?? sourceOf(j, 0), decisions: decisionsOf(j) }), hardwareOf(0, 0).storage);
  return policies.map((index, j) =>
    Array.from({ length: passes }, (_, r): SimulatedPolicy => {
      const hw = hardwareOf(j, r);
      const costs = profileCosts(scaled, hw, miss.expertCurve, miss.speedOf?.(j, r).device ?? 1);
      const decisions = miss.decide ? undefined : decisionsOf(j);
      // Deciding, it plans (its steps too); else it executes the replay's plan on the pass's speeds.
      const steps = miss.decide ? undefined : executed[j].served;
      const { schedule, counters: c, cpuBusySec, ssd } = simulateSchedule(prep, loaded.scenario, index, predictors, costs, { shape, source: sourceOf(j, r), speed: miss.speedOf?.(j, r), decisions }, steps, hw.storage);
      const replayedDecisions = replayed.policies[j].missDecisions ?? '';
      if (miss.decide && encodeDecisions(schedule.decisions) !== replayedDecisions) {
        throw new Error(`validate: ${schedule.label}: the simulator's miss decisions on this profile differ from those the replay executed (replay them with the profile's costs: validate does)`);
      }
      if (!schedule.log.equals(executed[j].log)) {
        throw new Error(`validate: ${schedule.label}: the simulation's operations differ from the replay's at ${schedule.log.firstDifference(executed[j].log)}`);
      }
      const ends = c.stepEndSec.subarray(0, c.stepEndCount);
      // A serving workload's steps from their start (the idle waits for arrivals are not executed by the replay).
      const starts = schedule.served?.startSec;
      const stepSec = Array.from(ends, (t, i) => t - (starts ? starts[i] : i === 0 ? 0 : ends[i - 1]));
      const { steps: stepLog, streams } = stepsOf(replayed, j, prep.trace.sequences.length);
      return {
        index,
        accesses: c.accesses,
        hits: c.hits,
        lateHits: c.lateHits,
        misses: c.misses,
        bytesH2D: c.bytesH2D,
        prefetchIssued: c.prefetch.issued,
        stepSec,
        perLayerSec: Array.from(c.perLayerSec),
        linkBusySec: c.linkBusySec,
        gpuBusySec: c.gpuBusySec,
        cpuComputations: c.cpuComputations,
        lowBitComputations: c.lowBitComputations,
        lowBitBytes: c.lowBitBytes,
        cpuBusySec,
        ...(prep.serving ? { tokensPerRequest: Array.from(c.seqOutputs.subarray(0, streams)) } : {}),
        latency: summarizeLatencies(tokenLatencies(stepLog, stepSec, streams)),
        ...(ssd ? { ssdReads: ssd.reads, ssdBusySec: ssd.busySec } : {}),
        evictions: evictionsOf(schedule.log),
      };
    }),
  );
}


/** The steps policy j executed and the streams they index: its own (serving), or the replay's (batch: the same for every policy). */
export function stepsOf(replayed: Pick<ReplayResult, 'steps' | 'policies'>, j: number, sequences: number): { steps: ReplayResult['steps']; streams: number } {
  const sv = replayed.policies[j]?.serving;
  return sv ? { steps: sv.steps, streams: sv.requests } : { steps: replayed.steps, streams: sequences };
}

/** The simulations of one policy's passes as one: per step (and layer, and busy time) the median over them. */
export function medianOverPasses(sims: readonly SimulatedPolicy[], replayed: Pick<ReplayResult, 'steps'>, sequences: number): SimulatedPolicy {
  if (sims.length === 1) return sims[0];
  const s0 = sims[0];
  const stepSec = s0.stepSec.map((_, k) => median(sims.map((s) => s.stepSec[k])));
  return {
    ...s0,
    stepSec,
    perLayerSec: s0.perLayerSec.map((_, l) => median(sims.map((s) => s.perLayerSec[l]))),
    linkBusySec: median(sims.map((s) => s.linkBusySec)),
    gpuBusySec: median(sims.map((s) => s.gpuBusySec)),
    cpuBusySec: median(sims.map((s) => s.cpuBusySec)),
    ...(s0.ssdBusySec !== undefined ? { ssdBusySec: median(sims.map((s) => s.ssdBusySec!)) } : {}),
    latency: summarizeLatencies(tokenLatencies(replayed.steps, stepSec, sequences)),
  };
}

export interface MetricRow {
  metric: string;
  unit: string;
  simulated: number;
  measured: number;
  /** (simulated - measured) / measured; 0 for identical counts. */
  error: number;
  /** Counts that must match exactly (same policy code). */
  exact: boolean;
}

export interface PolicyValidation {
  index: number;
  policy: string;
  label: string;
  rows: MetricRow[];
  /** Per step: simulated and measured (median over passes) seconds. */
  simulatedStepSec: number[];
  measuredStepSec: number[];
  /** Per MoE layer, seconds per step. */
  simulatedLayerSec: number[];
  measuredLayerSec: number[];
  /** The TPOT of each timed pass, simulated and measured, and its error. */
  passes: PassErrors;
  /** Issue 16: the SSD tier's read time per step of each pass, simulated and measured from the disk file, and its error. */
  ssd?: SsdPassErrors;
}

export interface SsdPassErrors {
  reads: number;
  measuredMsPerStep: number[];
  simulatedMsPerStep: number[];
  /** The validation's figure: simulated (on the disk samples where taken) against onCoreMsPerStep, against the wall clock where waits are not reported. */
  error: number[];
  errorSpread: Spread;
  /**
   * Per pass: measured less the replaying thread's waits for a core during the reads (a read's
   * completion is handled on it) and, where reported, less the other threads' (otherWaitMsPerStep).
   */
  onCoreMsPerStep?: number[];
  /** Per pass: of measuredMsPerStep, what the other threads' (libuv's pool) waits for a core could have added to the reads (an upper bound: ReplaySsd.passOtherWaitSec). */
  otherWaitMsPerStep?: number[];
  /**
   * Per pass: the error with only the replaying thread's waits subtracted, on both sides of the
   * brackets (session 24's figure; the simulation's SSD time scales with the disk factor exactly).
   * The I/O threads' subtraction being an upper bound on their delay, the pass's time on a core lies
   * between the two measured figures. Absent without the other threads' waits or brackets.
   */
  replayingThreadError?: number[];
  replayingThreadErrorSpread?: Spread;
  /** The simulated against the wall clock. */
  wallError: number[];
  wallErrorSpread: Spread;
  /** Simulated on the disk profile as calibrated (no samples), per pass. */
  profileError: number[];
  profileErrorSpread: Spread;
  /** Per pass: the disk's read time in its minutes over the profile's (the samples around it); absent without samples. */
  diskFactor?: number[];
  /** Per pass: how far the disk's speed moved across it (after / before - 1 of its brackets); absent without samples. */
  bracketDrift?: number[];
  /** Per pass: whether its brackets agree within the bound (validate's DiskDriftReport.bound). */
  bracketed?: boolean[];
  /** The error over the bracketed passes only; absent where none is (or without samples). */
  bracketedErrorSpread?: Spread;
  /** Per pass: the share of the bytes read that the page cache served (0 with O_DIRECT on a local disk). */
  pageCacheShare?: number[];
}

export interface PassErrors {
  /** Per pass (in this policy's pass order): its place in the order of all passes, from 0. */
  order: number[];
  /** Measured TPOT of each pass, wall clock. */
  measuredTpotMs: number[];
  /**
   * Measured TPOT of each pass on a core: each step's time less the time the replaying thread
   * waited for a core that other work held; absent where the OS does not report those waits.
   */
  onCoreTpotMs?: number[];
  /** Per pass: the share of its steps' time spent waiting for a core. */
  waitShare?: number[];
  waitShareSpread?: Spread;
  /** Simulated on the machine's speed of the pass's minutes (the probes around it), or on the profile as calibrated with interleaving off. */
  simulatedTpotMs: number[];
  /** The validation's figure: simulatedTpotMs against onCoreTpotMs (against measuredTpotMs where waits are not reported). */
  tpotError: number[];
  tpotErrorSpread: Spread;
  /** simulatedTpotMs against the wall-clock measuredTpotMs. */
  wallTpotError: number[];
  wallTpotErrorSpread: Spread;
  /** Simulated on the profile as calibrated, against the wall clock: what validate reported before it measured drift. */
  profileTpotError: number[];
  profileTpotErrorSpread: Spread;
}

export interface DriftReport {
  /** Whether calibration samples were interleaved with the passes (and the passes simulated on them). */
  interleaved: boolean;
  points: DriftPoint[];
  probes: DriftProbe[];
  /** Over the probes: measured / profile, expert runs and uploads; absent without probes. */
  expertRatio?: Spread;
  uploadRatio?: Spread;
  /** Seconds the probes took, in all (untimed by the replay). */
  probeSec: number;
  /** Issue 16: the disk samples bracketing each pass of a storage tier; absent without them. */
  disk?: DiskDriftReport;
}

export interface DiskDriftReport {
  /** Expert reads per sample. */
  reads: number;
  /** A pass's brackets agree when max / min - 1 of their mean reads is at most this. */
  bound: number;
  /** Per pass, in the order of all passes. */
  brackets: SsdBracket[];
  /** Over the passes: the drift across each (after / before - 1), and the bracket factors (the disk's read time over the profile's). */
  driftSpread: Spread;
  factorSpread: Spread;
  /** Passes whose brackets differ by more than the bound. */
  outside: number[];
}

function diskDriftReport(brackets: Map<number, SsdBracket>, bound: number, reads: number): DiskDriftReport {
  const all = [...brackets.values()].sort((a, b) => a.pass - b.pass);
  return {
    reads,
    bound,
    brackets: all,
    driftSpread: spreadOf(all.map((b) => b.drift)),
    factorSpread: spreadOf(all.map((b) => b.factor)),
    outside: all.filter((b) => !b.within).map((b) => b.pass),
  };
}

export interface ValidateResult {
  scenario: { name: string; file: string };
  backend: { name: string; device: string };
  profile: { file: string; backend: string; device: string; createdAt: string; plan: string; hardware: Hardware };
  scaled: { name: string; hiddenSize: number; intermediateSize: number; expertBytes: number; factor: number; description: string };
  trace: ReplayResult['trace'];
  /** The replay's operations measured at its shape after the passes, at the profile's speed (replay-shape.ts); the passes' simulations use them. */
  replayShape?: ReplayShapeCurves;
  warmupSteps: number;
  repeats: number;
  policies: PolicyValidation[];
  /** How the machine's speed moved during the run, from the calibration samples between passes. */
  drift: DriftReport;
  warnings: string[];
  /** Load averages (1, 5, 15 minutes) when the replay ended, where the OS reports them: other work on the machine adds timing noise. */
  loadAverage?: number[];
  /** Everything measured. */
  replay: ReplayResult;
  /** Issue 16: the measured disk the SSD tier was simulated on (moesim calibrate --backend disk). */
  disk?: { profileFile: string; ssd: Ssd };
}

const sumOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const pct = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole);
const rel = (sim: number, meas: number) => (meas === 0 ? (sim === 0 ? 0 : Infinity) : (sim - meas) / meas);

/** The comparison rows of one policy; throws if a count differs (a bug, not an error figure). */
export function compare(r: ReplayResult['policies'][number], s: SimulatedPolicy, steps: number, onCoreTpotMs?: number): MetricRow[] {
  if (r.serving && s.tokensPerRequest?.join(',') !== r.serving.tokensPerRequest.join(',')) {
    throw new Error(`validate: ${r.label}: simulated tokens per request differ from the replayed ones: the simulator and the replay did not run the same steps`);
  }
  for (const [what, a, b] of [
    ['accesses', s.accesses, r.accesses],
    ['hits', s.hits, r.hits],
    ['late hits', s.lateHits, r.lateHits],
    ['prefetch uploads', s.prefetchIssued, r.prefetchUploads],
    ['bytes moved', s.bytesH2D, r.bytesH2D],
    ['CPU-computed experts', s.cpuComputations, r.cpuExperts],
    ['lower-bit fetches', s.lowBitComputations, r.lowBitFetches],
    ['lower-bit bytes', s.lowBitBytes, r.lowBitBytes],
  ] as const) {
    if (a !== b) throw new Error(`validate: ${r.label}: simulated ${what} ${a} != replayed ${b}: the simulator and the replay did not run the same policy on the same accesses`);
  }
  if (r.ssd && s.ssdReads !== r.ssd.reads) throw new Error(`validate: ${r.label}: simulated SSD reads ${s.ssdReads} != replayed ${r.ssd.reads}`);
  if (s.evictions !== r.evictions) throw new Error(`validate: ${r.label}: simulated evictions ${s.evictions} != replayed ${r.evictions}`);
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  const row = (metric: string, unit: string, simulated: number, measured: number, exact = false): MetricRow => ({
    metric,
    unit,
    simulated,
    measured,
    error: exact ? 0 : rel(simulated, measured),
    exact,
  });
  return [
    row('TPOT mean', 'ms', s.latency.tpotMs, r.latency.tpotMs),
    ...(onCoreTpotMs === undefined ? [] : [row('TPOT mean on a core', 'ms', s.latency.tpotMs, onCoreTpotMs)]),
    row('TPOT p50', 'ms', s.latency.tpotP50Ms, r.latency.tpotP50Ms),
    row('TTFT mean', 'ms', s.latency.ttftMs, r.latency.ttftMs),
    row('time per step', 'ms', (1e3 * sum(s.stepSec)) / steps, (1e3 * sum(r.stepSec)) / steps),
    row('upload time per step', 'ms', (1e3 * s.linkBusySec) / steps, (1e3 * r.uploadSec) / steps),
    row('expert time per step', 'ms', (1e3 * s.gpuBusySec) / steps, (1e3 * r.computeSec) / steps),
    ...(r.ssd ? [row('SSD read time per step', 'ms', (1e3 * (s.ssdBusySec ?? 0)) / steps, (1e3 * r.ssd.sec) / steps), row('SSD reads', '', s.ssdReads ?? 0, r.ssd.reads, true), row('evictions', '', s.evictions, r.evictions, true)] : []),
    row('bytes moved', 'MiB', s.bytesH2D / 2 ** 20, r.bytesH2D / 2 ** 20, true),
    row('hits', '', s.hits, r.hits, true),
    ...(r.prefetch ? [row('late hits', '', s.lateHits, r.lateHits, true), row('prefetch uploads', '', s.prefetchIssued, r.prefetchUploads, true)] : []),
    ...(r.cpuExperts > 0 || s.cpuComputations > 0
      ? [row('CPU expert time per step', 'ms', (1e3 * s.cpuBusySec) / steps, (1e3 * r.cpuSec) / steps), row('CPU-computed experts', '', s.cpuComputations, r.cpuExperts, true)]
      : []),
    ...(r.lowBitFetches > 0 || s.lowBitComputations > 0
      ? [row('lower-bit fetches', '', s.lowBitComputations, r.lowBitFetches, true), row('lower-bit bytes', 'MiB', s.lowBitBytes / 2 ** 20, r.lowBitBytes / 2 ** 20, true)]
      : []),
    row('hit rate', '%', pct(s.hits, s.accesses), pct(r.hits, r.accesses), true),
    ...(r.serving
      ? [row('requests', '', r.serving.requests, r.serving.requests, true), row('output tokens', '', sumOf(s.tokensPerRequest ?? []), sumOf(r.serving.tokensPerRequest), true)]
      : []),
  ];
}

export interface ValidateOptions {
  profile: CalibrationProfile;
  profileFile: string;
  warmupSteps?: number;
  repeats?: number;
  seed?: string;
  progress?: Progress;
  /**
   * Re-measure the profile's key points before the first timed pass and after each, and simulate
   * each pass on the machine's speed of its minutes (default true). False: every pass on the
   * profile as calibrated, no samples taken.
   */
  interleave?: boolean;
  /** Overrides of the probes' microbenchmark plan (tests: no cold-cache rotation). */
  probePlan?: Partial<MicrobenchPlan>;
  /** The timer of the replay and the probes (tests: a fake clock driven by a fake backend). */
  clock?: Clock;
  /** Issue 16: the measured disk (a disk profile's Ssd) a storage tier is simulated on and read with. */
  disk?: { profileFile: string; ssd: Ssd };
  /** The experts' file the SSD tier reads (default in the OS's temporary folder). */
  diskFile?: string;
  /**
   * After the passes, measure the operations the replay executed at its shape and token counts
   * (replay-shape.ts) and simulate each pass with them instead of the profile's fits (default true;
   * needs the calibration samples, interleave).
   */
  replayShape?: boolean;
  /**
   * Sample the disk immediately before and after each timed pass of a storage tier and simulate
   * the pass on the disk profile scaled to them (default: interleave).
   */
  diskBrackets?: boolean;
  /** Expert reads per disk sample (default SSD_PROBE_READS). */
  diskProbeReads?: number;
  /** A pass's brackets may differ by this much (max / min - 1) and it still counts as bracketed (default DISK_BRACKET_BOUND). */
  diskBracketBound?: number;
  /** Called after each read from the disk file (tests: a fake disk advancing the fake clock). */
  afterDiskRead?: (bytes: number) => void;
}

export async function validate(setup: ReplaySetup, o: ValidateOptions): Promise<ValidateResult> {
  const { loaded, backend, scaled, prep } = setup;
  if (o.profile.backend !== backend.name) {
    throw new InputError(`${o.profileFile}: calibrated on backend ${o.profile.backend}, but validating on ${backend.name}; run moesim calibrate --backend ${backend.name}`);
  }
  // Issue 16: a storage tier is simulated on the measured disk; refused before anything runs without one.
  const hardware: Hardware = o.disk ? { ...o.profile.hardware, storage: o.disk.ssd } : o.profile.hardware;
  for (const i of setup.policies) replayTiers(prep, loaded.scenario, i, profileCosts(scaled, hardware), hardware.storage);
  const interleave = o.interleave ?? true;
  const diskBrackets = o.diskBrackets ?? interleave;
  const bound = o.diskBracketBound ?? DISK_BRACKET_BOUND;
  if (!(bound >= 0)) throw new InputError(`--disk-bracket-bound: ${bound} is not a non-negative number`);
  if (o.diskProbeReads !== undefined && !(Number.isInteger(o.diskProbeReads) && o.diskProbeReads >= 2)) throw new InputError(`--disk-probe-reads: ${o.diskProbeReads} is not a whole number of at least 2`);
  const clock = o.clock ?? hrClock;
  const progress = o.progress ?? (() => {});
  const points = driftPoints(o.profile, scaled.expertBytes);
  const plannedProbe = probePlan(o.profile, points, o.probePlan);
  const prober = interleave ? new DriftProber(backend, points, plannedProbe, clock) : undefined;
  let probeSec = 0;
  const fmtRatio = (x: number) => `x${x.toFixed(3)}`;
  const replayed = await replay({
    ...(o.clock ? { clock: o.clock } : {}),
    ...(prober
      ? {
          betweenPasses: async (boundary: number) => {
            const t0 = clock.now();
            const p = await prober.probe(boundary);
            probeSec += secondsOn(clock, t0);
            progress(`calibration sample ${boundary}: expert runs ${fmtRatio(p.expertRatio)}, uploads ${fmtRatio(p.uploadRatio)} the profile's`);
          },
        }
      : {}),
    backend,
    scenario: loaded.scenario,
    prep,
    policies: setup.policies,
    ...(o.disk ? { storage: o.disk.ssd, ...(diskBrackets ? { ssdProbeReads: o.diskProbeReads ?? SSD_PROBE_READS } : {}) } : {}),
    ...(o.afterDiskRead ? { afterDiskRead: o.afterDiskRead } : {}),
    ...(o.diskFile ? { diskFile: o.diskFile } : {}),
    shape: scaled.shape,
    warmupSteps: o.warmupSteps,
    repeats: o.repeats,
    seed: o.seed,
    progress: o.progress,
    predictors: setup.predictors,
    // The schedules are recorded on the profile, so a miss handler deciding from time estimates makes the simulator's decisions.
    recordCosts: profileCosts(scaled, hardware),
    missCosts: { profile: o.profile },
  });
  const repeats = replayed.repeats;
  // The operations the replay executed, measured at its shape and token counts right after its last
  // pass (replay-shape.ts) and expressed at the profile's speed through the calibration samples just
  // before and just after: each pass's simulation then scales them by its own samples, as the fits.
  const lastProbe = prober?.probes[prober.probes.length - 1];
  let shapeCurves: ReplayShapeCurves | undefined;
  if (lastProbe && (o.replayShape ?? true)) {
    const sequencesOf = prep.trace.sequences.length;
    const maxTokens = Math.max(1, ...replayed.policies.map((_, j) => Math.max(0, ...stepsOf(replayed, j, sequencesOf).steps.map((st) => st.count))));
    const scenarioPolicies = setup.policies.map((i) => loaded.scenario.policies[i]);
    const lowBit = [...new Set(scenarioPolicies.flatMap((p) => ('onMiss' in p && p.onMiss ? [missLowBit(p.onMiss)] : [])).filter((d): d is LowBitDtype => d === 'int4' || d === 'int8'))];
    const cpu = scenarioPolicies.some((p) => 'onMiss' in p && p.onMiss !== undefined && missHandlerInfo(p.onMiss.kind).bypassesCache);
    const measured = await measureReplayShape(backend, scaled.shape, createRng(`replay-shape:${o.seed ?? 0}`), { maxTokens, cpu, lowBit, coldBytes: coldBytesFor(plannedProbe), ...(o.clock ? { clock: o.clock } : {}) });
    // Bracketed as a pass is: the last sample before, one more (not reported) after.
    const after = await prober!.probe(lastProbe.boundary + 1, false);
    const toProfile = 1 / Math.sqrt(lastProbe.expertRatio * after.expertRatio);
    shapeCurves = {
      shape: measured.shape,
      expert: scaleCurve(measured.expert, toProfile),
      ...(measured.cpu ? { cpu: scaleCurve(measured.cpu, toProfile) } : {}),
      lowBit: Object.fromEntries(Object.entries(measured.lowBit).map(([d, c]) => [d, scaleCurve(c, toProfile)])),
      lowBitUploadSec: Object.fromEntries(Object.entries(measured.lowBitUploadSec).map(([d, x]) => [d, x * toProfile])),
    };
    progress(`replayed shape ${scaled.shape.hiddenSize}x${scaled.shape.intermediateSize} measured (tokens ${measured.expert.tokens.join(', ')}): expert ${measured.expert.sec.map((x) => (x * 1e6).toFixed(0)).join(', ')} µs`);
  }
  const missSource: MissCostSourceSpec = { profile: o.profile };
  const passSource: MissCostSourceSpec = shapeCurves ? { profile: o.profile, curves: shapeCurves } : missSource;
  const asCalibrated = simulateReplay(setup, hardware, replayed, missSource);
  const brackets = ssdBrackets(replayed, o.disk?.ssd, bound);
  const ssdFactor = brackets ? (g: number) => brackets.get(g)?.factor ?? 1 : undefined;
  const perPass = prober || ssdFactor
    ? simulatePasses(
        setup,
        (j, r) => {
          const g = replayed.policies[j].passOrder[r];
          const f = prober?.factorsOfPass(g) ?? { expert: 1, upload: 1 };
          const h = scaleHardware(hardware, f.expert, f.upload);
          return ssdFactor && h.storage ? { ...h, storage: scaleSsd(h.storage, ssdFactor(g)) } : h;
        },
        replayed,
        repeats,
        {
          planHardware: hardware,
          planSource: missSource,
          source: passSource,
          ...(shapeCurves ? { expertCurve: shapeCurves.expert } : {}),
          // The lower-bit copies run on the device: its expert speed. The CPU path runs on the host CPU: on the cpu
          // backend that is the device, whose speed the samples measure; on webgpu it is not sampled.
          speedOf: (j, r) => {
            const f = prober?.factorsOfPass(replayed.policies[j].passOrder[r]) ?? { expert: 1, upload: 1 };
            return { device: f.expert, cpu: backend.name === 'cpu' ? f.expert : 1 };
          },
        },
      )
    : asCalibrated.map((s) => Array.from({ length: repeats }, () => s));
  const sequences = prep.trace.sequences.length;
  const simulated = perPass.map((sims, j) => {
    const own = stepsOf(replayed, j, sequences);
    return medianOverPasses(sims, own, own.streams);
  });
  const calibrated = o.profile.samples.expert.map((e) => expertWeightBytes({ hiddenSize: e.hiddenSize, intermediateSize: e.intermediateSize }, e.dtype));
  const lo = Math.min(...calibrated);
  const hi = Math.max(...calibrated);
  const extrapolated =
    scaled.expertBytes < lo / 1.5 || scaled.expertBytes > hi * 1.5
      ? [`the replayed expert (${fmtSize(scaled.expertBytes)}) is outside the calibrated shapes (${fmtSize(lo)} to ${fmtSize(hi)}): the simulated expert time is extrapolated`]
      : [];
  const otherDevice =
    o.profile.device !== backend.device ? [`the profile was measured on "${o.profile.device}", the replay ran on "${backend.device}": the simulated times are for the profile's`] : [];
  const threads = /(\d+) intra-op threads?/.exec(backend.device);
  const manyThreads =
    backend.name === 'cpu' && replayed.policies[0]?.passStepWaitSec && threads && Number(threads[1]) > 1
      ? [`the CPU backend runs ${threads[1]} ONNX Runtime threads, but the waits for a core are measured for the replaying thread only: the time on a core overstates what the pool's threads got`]
      : [];
  const policies = replayed.policies.map((r, i): PolicyValidation => {
    const s = simulated[i];
    // Per policy: a serving workload's steps are the scheduler's for that policy (batch: the trace's for all).
    const own = stepsOf(replayed, i, sequences);
    const steps = own.steps.length;
    return {
      index: r.index,
      policy: r.policy,
      label: r.label,
      rows: compare(r, s, steps, onCoreTpot(r, own.steps, own.streams)),
      simulatedStepSec: s.stepSec,
      measuredStepSec: r.stepSec,
      simulatedLayerSec: s.perLayerSec.map((t) => t / steps),
      measuredLayerSec: r.perLayerSec.map((t) => t / steps),
      passes: passErrors(r, perPass[i], asCalibrated[i], own.steps, own.streams),
      ...(r.ssd ? { ssd: ssdPassErrors(r, perPass[i], asCalibrated[i], steps, brackets ? r.passOrder.map((g) => brackets.get(g)!) : undefined) } : {}),
    };
  });
  const probes = prober?.probes ?? [];
  const load = os.loadavg();
  return {
    scenario: { name: loaded.scenario.name, file: loaded.file },
    backend: replayed.backend,
    profile: {
      file: o.profileFile,
      backend: o.profile.backend,
      device: o.profile.device,
      createdAt: o.profile.createdAt,
      plan: o.profile.plan,
      hardware: o.profile.hardware,
    },
    scaled: {
      name: scaled.model.name,
      hiddenSize: scaled.shape.hiddenSize,
      intermediateSize: scaled.shape.intermediateSize,
      expertBytes: scaled.expertBytes,
      factor: scaled.factor,
      description: describeScaled(scaled, prep.model),
    },
    trace: replayed.trace,
    warmupSteps: replayed.warmupSteps,
    repeats: replayed.repeats,
    policies,
    drift: {
      interleaved: interleave,
      points: points.points,
      probes,
      ...(probes.length > 0 ? { expertRatio: spreadOf(probes.map((p) => p.expertRatio)), uploadRatio: spreadOf(probes.map((p) => p.uploadRatio)) } : {}),
      probeSec,
      ...(brackets ? { disk: diskDriftReport(brackets, bound, o.diskProbeReads ?? SSD_PROBE_READS) } : {}),
    },
    warnings: [...new Set([...prep.warnings, ...extrapolated, ...otherDevice, ...manyThreads, ...pageCacheWarnings(replayed), ...freshBufferWarnings(replayed)])],
    ...(load.some((x) => x > 0) ? { loadAverage: load } : {}),
    replay: replayed,
    ...(shapeCurves ? { replayShape: shapeCurves } : {}),
    ...(o.disk ? { disk: o.disk } : {}),
  };
}

/** Expert reads of each disk sample bracketing a pass (untimed by it): 32, since 8-read samples (1.7-4.0 ms) moved with every burst of other work (session 22). */
export const SSD_PROBE_READS = 32;

/**
 * The largest disagreement of a pass's two disk brackets (max / min - 1 of their mean read times)
 * for which the pass counts as bracketed: where the disk's rate during the pass lies between the
 * two, their geometric mean is within sqrt(1 + bound) of it, and sqrt(1.2) = 1.095 keeps that
 * within the 10% target. A pass whose brackets differ by more changed speed during the
 * pass (or the samples did): it is reported as such, and left out of the bracketed spread.
 */
export const DISK_BRACKET_BOUND = 0.2;

/** The disk samples around one timed pass, and what validate makes of them. */
export interface SsdBracket {
  /** The pass's place in the order of all passes. */
  pass: number;
  /** The mean seconds of one expert read in the sample before and after the pass (on a core where the waits are reported, as the pass's figure). */
  beforeSec: number;
  afterSec: number;
  /** The same with the median read: the samples' typical read, without their slow tail. */
  beforeMedianSec: number;
  afterMedianSec: number;
  /** afterSec / beforeSec - 1: how far the disk's speed moved across the pass. */
  drift: number;
  /**
   * The samples' own noise in that ratio: the relative standard errors of the two means (sample
   * standard deviation / sqrt(reads) / mean) added in quadrature. A drift within about twice it is
   * what two samples of a steady disk's heavy-tailed reads differ by.
   */
  driftNoise: number;
  /** sqrt(beforeSec * afterSec) over the disk profile's time for the same read: the pass is simulated on the profile scaled by it. */
  factor: number;
  /**
   * The same factor with only the replaying thread's waits subtracted from the samples' reads (the
   * I/O threads' kept in, as session 24 measured); absent where the other threads' waits are not reported.
   */
  factorReplayingThread?: number;
  /** max / min - 1 of the two within the bound: the brackets agree. */
  within: boolean;
}

const meanOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Per pass (by its global order g): its disk brackets, from the samples taken immediately before
 * and after it, against the profile's read of the same expert (ssdReadSec at the replay's request
 * size and queue depth); undefined without samples. A pass's SSD time is the sum of its reads, so
 * the samples' mean read time (not their median, which leaves out the slow reads the sum holds) is
 * what scales the profile; both are kept.
 */
export function ssdBrackets(replayed: ReplayResult, ssd: Ssd | undefined, bound = DISK_BRACKET_BOUND): Map<number, SsdBracket> | undefined {
  const probes = replayed.ssdProbes;
  if (!ssd || !probes || probes.length === 0) return undefined;
  // On a core where both the samples and the passes report the replaying thread's waits (as the TPOT on a core).
  // The other threads' waits are subtracted on both sides or on neither (one clock measures both).
  const othersInProbes = probes.every((p) => p.otherWaitSec !== undefined);
  const othersInPasses = replayed.policies.every((p) => !p.ssd || p.ssd.passOtherWaitSec);
  const onCore = probes.every((p) => p.onCoreSec !== undefined) && replayed.policies.every((p) => !p.ssd || p.ssd.passWaitSec) && othersInProbes === othersInPasses;
  const times = (p: SsdProbe) => (onCore ? p.onCoreSec! : p.readSec);
  const model = ssdReadSec(ssd, replayed.expertBytes, ssd.blockBytes, ssd.queueDepth);
  const out = new Map<number, SsdBracket>();
  for (const before of probes) {
    if (before.side !== 'before') continue;
    const after = probes.find((p) => p.pass === before.pass && p.side === 'after');
    if (!after) throw new Error(`validate: pass ${before.pass} has a disk sample before it and none after`);
    const b = meanOf(times(before));
    const a = meanOf(times(after));
    const relSe = (xs: readonly number[]) => (xs.length < 2 ? 0 : spreadOf(xs).sd / Math.sqrt(xs.length) / meanOf(xs));
    const kept = (p: SsdProbe) => meanOf(p.onCoreSec!.map((t, i) => t + p.otherWaitSec![i]));
    out.set(before.pass, {
      pass: before.pass,
      beforeSec: b,
      afterSec: a,
      beforeMedianSec: median(times(before)),
      afterMedianSec: median(times(after)),
      drift: a / b - 1,
      driftNoise: Math.hypot(relSe(times(before)), relSe(times(after))),
      factor: Math.sqrt(a * b) / model,
      ...(onCore && othersInProbes ? { factorReplayingThread: Math.sqrt(kept(before) * kept(after)) / model } : {}),
      within: Math.max(a, b) / Math.min(a, b) - 1 <= bound,
    });
  }
  return out;
}

/** Per pass of one policy: the SSD tier's read time per step, simulated and measured, and the error (with the disk samples, and with the profile as calibrated). */
export function ssdPassErrors(r: ReplayResult['policies'][number], sims: readonly SimulatedPolicy[], asCalibrated: SimulatedPolicy, steps: number, brackets?: SsdBracket[]): SsdPassErrors {
  const ssd = r.ssd!;
  const measuredMsPerStep = ssd.passSec.map((t) => (1e3 * t) / steps);
  const simulatedMsPerStep = sims.map((s) => (1e3 * (s.ssdBusySec ?? 0)) / steps);
  const wallError = measuredMsPerStep.map((m, k) => rel(simulatedMsPerStep[k], m));
  const profileError = measuredMsPerStep.map((m) => rel((1e3 * (asCalibrated.ssdBusySec ?? 0)) / steps, m));
  const otherWaitMsPerStep = ssd.passWaitSec && ssd.passOtherWaitSec ? ssd.passOtherWaitSec.map((w) => (1e3 * w) / steps) : undefined;
  const onCoreMsPerStep = ssd.passWaitSec ? ssd.passSec.map((t, k) => Math.max(0, (1e3 * (t - ssd.passWaitSec![k])) / steps - (otherWaitMsPerStep?.[k] ?? 0))) : undefined;
  const error = onCoreMsPerStep ? onCoreMsPerStep.map((m, k) => rel(simulatedMsPerStep[k], m)) : wallError;
  const replayingThreadError =
    otherWaitMsPerStep && brackets && brackets.every((b) => b.factorReplayingThread !== undefined)
      ? ssd.passSec.map((t, k) => rel((simulatedMsPerStep[k] * brackets[k].factorReplayingThread!) / brackets[k].factor, (1e3 * (t - ssd.passWaitSec![k])) / steps))
      : undefined;
  return {
    reads: ssd.reads,
    measuredMsPerStep,
    simulatedMsPerStep,
    error,
    errorSpread: spreadOf(error),
    wallError,
    wallErrorSpread: spreadOf(wallError),
    profileError,
    profileErrorSpread: spreadOf(profileError),
    ...(onCoreMsPerStep ? { onCoreMsPerStep } : {}),
    ...(otherWaitMsPerStep ? { otherWaitMsPerStep } : {}),
    ...(replayingThreadError ? { replayingThreadError, replayingThreadErrorSpread: spreadOf(replayingThreadError) } : {}),
    ...(brackets
      ? {
          diskFactor: brackets.map((b) => b.factor),
          bracketDrift: brackets.map((b) => b.drift),
          bracketed: brackets.map((b) => b.within),
          ...(brackets.some((b) => b.within) ? { bracketedErrorSpread: spreadOf(error.filter((_, k) => brackets[k].within)) } : {}),
        }
      : {}),
    ...(ssd.passPageCacheShare ? { pageCacheShare: ssd.passPageCacheShare } : {}),
  };
}

/** Where the page cache, not the disk, served a storage tier's reads: said, so that its error is not taken for the disk's. */
/** Uploads of the passes that went into fresh pages (not into the warmed buffers the profile's uploads went into: replay.ts warmReplayDevice). */
function freshBufferWarnings(replayed: ReplayResult): string[] {
  const n = replayed.freshDeviceBuffers ?? 0;
  return n > 0 ? [`${n} device buffers of the passes were carved out of new memory (a page fault per 4 KiB), not the warmed ones the profile's uploads went into: their upload times are not the profile's`] : [];
}

function pageCacheWarnings(replayed: ReplayResult): string[] {
  const out: string[] = [];
  for (const p of replayed.policies) {
    if (!p.ssd) continue;
    if (p.ssd.file.mode === 'buffered') out.push(`${p.label}: ${p.ssd.file.file}: the file system refused O_DIRECT; its SSD reads went through the page cache`);
    const most = Math.max(0, ...(p.ssd.passPageCacheShare ?? []));
    if (most > 0.05) out.push(`${p.label}: the page cache served up to ${(100 * most).toFixed(0)}% of its SSD-tier bytes (/proc/self/io read_bytes): the storage error is not the disk's`);
    if (!p.ssd.passPageCacheShare) out.push(`${p.label}: whether the page cache served its SSD reads is not known (no /proc/self/io)`);
  }
  return out;
}

/** The measured TPOT on a core: per step, the median over the passes of its time less its waits for a core; undefined without waits. */
export function onCoreTpot(r: ReplayResult['policies'][number], steps: ReplayResult['steps'], sequences: number): number | undefined {
  const waits = r.passStepWaitSec;
  if (!waits) return undefined;
  const stepSec = r.stepSec.map((_, i) => median(r.passStepSec.map((pass, k) => Math.max(0, pass[i] - waits[k][i]))));
  return summarizeLatencies(tokenLatencies(steps, stepSec, sequences)).tpotMs;
}

/** Per pass of one policy: measured (wall clock and on a core) and simulated TPOT and the errors, with the profile as calibrated too. */
export function passErrors(r: ReplayResult['policies'][number], sims: readonly SimulatedPolicy[], asCalibrated: SimulatedPolicy, steps: ReplayResult['steps'], sequences: number): PassErrors {
  const tpot = (stepSec: number[]) => summarizeLatencies(tokenLatencies(steps, stepSec, sequences)).tpotMs;
  const measuredTpotMs = r.passStepSec.map(tpot);
  const waits = r.passStepWaitSec;
  const onCoreTpotMs = waits ? r.passStepSec.map((stepSec, k) => tpot(stepSec.map((t, i) => Math.max(0, t - waits[k][i])))) : undefined;
  const waitShare = waits ? r.passStepSec.map((stepSec, k) => waits[k].reduce((a, b) => a + b, 0) / stepSec.reduce((a, b) => a + b, 0)) : undefined;
  const simulatedTpotMs = sims.map((s) => s.latency.tpotMs);
  const wallTpotError = measuredTpotMs.map((m, k) => rel(simulatedTpotMs[k], m));
  const tpotError = onCoreTpotMs ? onCoreTpotMs.map((m, k) => rel(simulatedTpotMs[k], m)) : wallTpotError;
  const profileTpotError = measuredTpotMs.map((m) => rel(asCalibrated.latency.tpotMs, m));
  return {
    order: r.passOrder,
    measuredTpotMs,
    ...(onCoreTpotMs && waitShare ? { onCoreTpotMs, waitShare, waitShareSpread: spreadOf(waitShare) } : {}),
    simulatedTpotMs,
    tpotError,
    tpotErrorSpread: spreadOf(tpotError),
    wallTpotError,
    wallTpotErrorSpread: spreadOf(wallTpotError),
    profileTpotError,
    profileTpotErrorSpread: spreadOf(profileTpotError),
  };
}
