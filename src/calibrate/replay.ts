/**
 * `moesim replay`: execute a real MoE model on a real backend, following a trace's routing step by
 * step, with a real device-side expert cache driven by the scenario's policies: the same policy
 * code (cache policy, prefetch policy, predictor) as the simulator.
 *
 * The model: the scenario model's MoE structure (layers, experts per layer, top-k) at a scaled
 * shape (scale.ts), seeded random SwiGLU experts in fp32 held in host memory. No attention or other
 * non-expert work: the simulation of a replay charges none either.
 *
 * What runs, and in which order: the policy's run is simulated once on a link that does not overlap
 * compute, recording its operations in the order they execute (sim/schedule.ts): with one
 * operation at a time that order depends only on what the policies decided, never on durations.
 * The replay then executes those operations for real, one at a time, each awaited before the next:
 *
 *   - a layer's gate: the hidden states of the step's tokens are RMS-normalised (the expert input);
 *     an expert whose weights are on the device now is a hit;
 *   - upload: the expert's weights are copied to the device (backend.upload, a real host-to-device
 *     transfer) into the cache; a prefetch is an upload ahead of its layer's gate;
 *   - evict: the cache dropped the expert; its device memory is freed (after the computations of
 *     the current layer that still use it);
 *   - stage: a miss the cache does not keep is uploaded to a staging copy, freed after its run;
 *   - compute: the expert runs on its device-resident weights over the tokens the trace routes to
 *     it, and its output, weighted by the trace's gate weight (1/k when not recorded), is added to
 *     their hidden states (the residual stream), which feed the next layer;
 *   - cpu: a miss the simulator's miss handler (Fiddler) computes on the CPU runs on ORT's CPU EP in
 *     a worker thread, from its copy of the host weights, posted at its gate while this thread goes
 *     on with the layer's device operations; the layer ends once it is back (miss-exec.ts);
 *   - stage-low: a miss fetched as a lower-bit copy (HOBBIT) uploads an int4/int8 copy, which its
 *     compute runs (ORT MatMulNBits, low-bit.ts).
 * Issue 16: a storage tier's SSD reads (read) come from a file on this disk (disk-replay.ts); on
 * unified memory an upload is that read, into the host memory the expert is then computed from.
 * A serving workload's steps are those its token scheduler gave the recording simulation, executed
 * back to back (serving-replay.ts).
 *
 * The replay keeps its own books from what is on the device: an access is a hit when its expert's
 * weights were on the device before its layer's gate; bytes are those it uploaded. It checks every
 * operation against the device (an expert computed that is not there, uploaded twice, a token
 * count that is not the trace's) and throws on a mismatch. `moesim validate` then compares its
 * counts with the simulator's.
 *
 * Timing (util/clock.ts, process.hrtime.bigint): an untimed warm-up over the first steps, then `repeats` timed
 * passes over every step, each from an empty cache, round-robin over the policies; a step's time is
 * its median over the passes. Initial residents (static placement, all-on-gpu) are uploaded before
 * a pass and not timed or counted, as the simulator charges nothing for them. `betweenPasses` runs
 * untimed before the first timed pass and after each (validate's calibration samples, drift.ts).
 */
import { median } from '../metrics/summarize.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, DeviceExpert } from './backends.js';
import { expertWeightBytes, type ExpertShape, type ExpertWeights } from './expert-graph.js';
import { SlabAllocator } from './backends.js';
import type { Progress } from './microbench.js';
import { hrClock, secondsOn, type Clock } from '../util/clock.js';
import { summarizeLatencies, tokenLatencies, type LatencySummary, type StepLog } from '../metrics/latency.js';
import type { Scenario } from '../scenario/schema.js';
import type { Hardware } from '../hardware/types.js';
import { OffloadSim, type SimCounters } from '../sim/offload-sim.js';
import { fillPool } from '../sim/tier-plan.js';
import { cachePolicyInfo } from '../policies/index.js';
import type { StepCosts } from '../timing/costs.js';
import { stepCosts } from '../timing/roofline.js';
import { buildWorld, createPolicyCache, type PolicyPredictors, type PreparedScenario } from '../sim/world.js';
import { OP_CANCEL, OP_COMPUTE, OP_CPU, OP_EVICT, OP_GATE, OP_LAYER, OP_STAGE, OP_STAGE_LOW, OP_STEP, OP_STEP_END, OP_UPLOAD, ScheduleLog } from '../sim/schedule.js';
import type { Step } from '../trace/steps.js';
import type { MissDecision } from '../policies/miss/types.js';
import { hostResidentRoundTrip, MissSide, policyMissCosts, recordingHandler, replayingHandler, type MissCostSourceSpec, type MissSpeed } from './miss-exec.js';
import { isLowBit, type LowBitDeviceExpert } from './low-bit.js';
import { emptyRecordedSteps, recordedSource, servingScheduleSource, type RecordedSteps } from './serving-replay.js';
import { OP_READ } from '../sim/schedule.js';
import type { Ssd } from '../hardware/storage.js';
import { ExpertFile, hostResident, pageCacheShare, replayTiers, type DiskSample, type ExpertFileInfo } from './disk-replay.js';

export interface ReplayOptions {
  backend: Backend;
  scenario: Scenario;
  /** The scenario, prepared (trace loaded and truncated as wanted). Capacities come from it. */
  prep: PreparedScenario;
  /** Indices into scenario.policies to replay. */
  policies: number[];
  shape: ExpertShape;
  /** Steps of the untimed warm-up pass (default 8). */
  warmupSteps?: number;
  /** Timed passes (default 3); a step's time is its median over them. */
  repeats?: number;
  /** Seed of the weights and embeddings. */
  seed?: string;
  progress?: Progress;
  /** The policies' predictors, set up (replay-setup.ts). */
  predictors: PolicyPredictors;
  /** The timer (default the process's monotonic clock); tests drive a fake backend with a fake one. */
  clock?: Clock;
  /**
   * Called between timed passes, untimed: at boundary 0 before the first pass, at boundary g + 1
   * after the pass of global order g (passes run round-robin: pass r of the j-th policy is g = r *
   * policies + j). `validate` re-measures the profile's key points there.
   */
  betweenPasses?: (boundary: number) => Promise<void>;
  /**
   * The costs the schedules are recorded with: a miss handler that decides from time estimates
   * (cpu) decides on these. Default: round-number expert times on the scenario's link; validate
   * passes the profile's (profileCosts), so the replay executes the decisions it simulates.
   */
  recordCosts?: StepCosts;
  /** Where the CPU and lower-bit paths' costs come from (miss-exec.ts); default the scenario's hardware. */
  missCosts?: MissCostSourceSpec;
  /**
   * Issue 16: the SSD of policies with a storage tier (default the scenario's hardware.storage):
   * its request size and queue depth are those of the replay's reads, and its read time is what a
   * recorded schedule is simulated with. validate passes the measured disk's.
   */
  storage?: Ssd;
  /** The experts' file on the disk the SSD tier reads (default: in the OS's temporary folder); created and deleted. */
  diskFile?: string;
  /**
   * With a disk file: time this many expert reads immediately before and immediately after each
   * timed pass, untimed by the pass (validate's disk brackets: after the pass's warm-up and the
   * other calibration samples, before them after it); default 0.
   */
  ssdProbeReads?: number;
  /** Called after each read from the disk file with its bytes (tests: a fake disk advancing a fake clock). */
  afterDiskRead?: (bytes: number) => void;
}

/** Issue 16: a policy's SSD-tier reads, executed from a file on this machine's disk (disk-replay.ts). */
export interface ReplaySsd {
  file: ExpertFileInfo;
  reads: number;
  /** Bytes read (each read an expert's slot, its bytes aligned up to 4 KiB). */
  bytes: number;
  /** Time inside the reads, summed over the steps: median over the passes, and per pass. */
  sec: number;
  passSec: number[];
  /** Per pass: of passSec, the replaying thread's waits for a core (a read's completion is handled on it); absent where not reported. */
  passWaitSec?: number[];
  /**
   * Per pass: of passSec, what the other threads' waits for a core could have added to the reads
   * (libuv's pool threads run a read's requests and post their completions): per read, the least
   * of the threads' increases over it summed and `rounds` times the largest one
   * (util/thread-waits.ts ioWaitBound, an upper bound; counting only the threads that made a read
   * system call in it), at most the read's time less the replaying thread's waits in it, summed
   * over the reads. Absent where not reported.
   */
  passOtherWaitSec?: number[];
  /** Per pass: the threads' increases over the reads, summed over threads and reads (the loose bound, for the record). */
  passOtherWaitSumSec?: number[];
  /** Per pass: the share of the bytes read that the page cache served, not the disk (/proc/self/io); absent where not reported. */
  passPageCacheShare?: number[];
  /** Unified memory: each read is a fetch into the pool (host memory), computed in place; no host tier, no upload after it. */
  pool?: true;
}

export interface ReplayPolicyResult {
  /** Index into scenario.policies. */
  index: number;
  policy: string;
  /** Its prefetch policy, if any. */
  prefetch?: string;
  label: string;
  capacityExperts: number;
  accesses: number;
  hits: number;
  /** Computed from a prefetch still to be uploaded at its layer's gate (neither hit nor miss). */
  lateHits: number;
  misses: number;
  hitRate: number;
  perLayerAccesses: number[];
  perLayerHits: number[];
  /** Host-to-device uploads of experts (prefetches among them), and their bytes (initial residents not counted). */
  uploads: number;
  prefetchUploads: number;
  bytesH2D: number;
  evictions: number;
  /** Most experts on the device at once (cache, staging copies, victims still in use). */
  peakDeviceExperts: number;
  /** Misses computed on the CPU (onMiss: cpu), and misses fetched as a lower-bit copy (onMiss: low-precision) with its bytes (in bytesH2D too). */
  cpuExperts: number;
  lowBitFetches: number;
  lowBitBytes: number;
  /** Time the CPU side's runs took (from their start), summed over the steps, median over the passes. */
  cpuSec: number;
  /** Of cpuSec, the CPU worker thread's waits for a core during its runs (Linux schedstat), median over the passes; in the step times whenever the device side waited for the worker. */
  cpuWaitSec: number;
  /** The miss handler's decisions the replay executed, in order (f fetch, c cpu, l lower-bit); absent without a deciding handler. */
  missDecisions?: string;
  /** A serving workload (serving-replay.ts): the steps this policy executed (the simulator's plan for it), its requests and the output tokens of each. */
  serving?: { requests: number; steps: StepLog[]; tokensPerRequest: number[] };
  /** Per step, seconds: the median over the timed passes. */
  stepSec: number[];
  /** Per pass, per step, seconds. */
  passStepSec: number[][];
  /** Per MoE layer, seconds summed over the steps, median over the passes. */
  perLayerSec: number[];
  /** Time inside backend.upload and backend.runExpert, summed over the steps, median over the passes. */
  uploadSec: number;
  computeSec: number;
  /** Mean step time of each pass (its spread shows the run-to-run noise). */
  passMeanStepSec: number[];
  /** Per pass: its place in the order all passes ran in (round-robin over the policies), from 0. */
  passOrder: number[];
  /** Per pass: time inside backend.upload and backend.runExpert, summed over the steps. */
  passUploadSec: number[];
  passComputeSec: number[];
  /**
   * Per pass, per step: seconds of the step's time the replaying thread spent waiting for a core
   * that other work held (the clock's waitedSec: Linux schedstat); absent where not reported. The
   * replay runs on one thread (ONNX Runtime's CPU EP with one intra-op thread runs on the caller).
   */
  passStepWaitSec?: number[][];
  latency: LatencySummary;
  /** Issue 16: its SSD reads, when its plan has a storage tier. */
  ssd?: ReplaySsd;
}

export interface ReplayResult {
  backend: { name: string; device: string };
  shape: ExpertShape;
  expertBytes: number;
  warmupSteps: number;
  repeats: number;
  trace: { tokens: number; sequences: number; steps: number };
  steps: StepLog[];
  policies: ReplayPolicyResult[];
  /** Seconds spent creating the host weights. */
  setupSec: number;
  /**
   * The cpu backend: device buffers (fp32 experts' and lower-bit copies') the warm-up and timed
   * passes carved out of new memory, whose first write paid a page fault per 4 KiB. 0 when
   * warmReplayDevice covered every upload, as it must: then the passes' uploads time what
   * calibrate's and the drift probes' do. Absent where the backend does not report it (webgpu).
   */
  freshDeviceBuffers?: number;
  /** Issue 16: the disk's speed immediately before and after each timed pass: its expert reads from the file, timed. */
  ssdProbes?: SsdProbe[];
}

/** A disk sample bracketing a timed pass: the seconds of each expert read, wall clock and less the replaying thread's waits for a core (where reported). */
export interface SsdProbe extends DiskSample {
  /** The pass's place in the order of all passes (g), and which side of it. */
  pass: number;
  side: 'before' | 'after';
  /** When the sample started: seconds on the replay's clock since the replay started. */
  startSec: number;
}


/** FNV-1a of a string: the seed of one expert's weights. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0 || 1;
}

/** Uniform values in [-scale, scale) from xorshift32 seeded with `seed`: fast enough for a GiB of weights. */
function fillUniform(out: Float32Array, seed: number, scale: number): void {
  let x = seed >>> 0 || 1;
  const k = (2 * scale) / 4294967296;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) * k - scale;
  }
}

/**
 * Every expert's weights in host memory, page-aligned (like pinned host memory), each expert's
 * three matrices contiguous. Scaled like a trained layer (uniform ±1/sqrt(fan-in)).
 */
export function hostExperts(numKeys: number, shape: ExpertShape, seed: string, memory: Pick<SlabAllocator, 'alloc'>): ExpertWeights[] {
  const { hiddenSize: h, intermediateSize: f } = shape;
  const out: ExpertWeights[] = [];
  for (let key = 0; key < numKeys; key++) {
    const all = memory.alloc('float32', 3 * h * f) as Float32Array;
    const w1 = all.subarray(0, h * f);
    const w3 = all.subarray(h * f, 2 * h * f);
    const w2 = all.subarray(2 * h * f);
    fillUniform(w1, hash32(`${seed}/expert/${key}/w1`), 1 / Math.sqrt(h));
    fillUniform(w3, hash32(`${seed}/expert/${key}/w3`), 1 / Math.sqrt(h));
    fillUniform(w2, hash32(`${seed}/expert/${key}/w2`), 1 / Math.sqrt(f));
    out.push({ shape, dtype: 'float32', w1, w3, w2 });
  }
  return out;
}

/** One policy's operations, recorded by a simulation (sim/schedule.ts). */
export interface RecordedSchedule {
  index: number;
  label: string;
  capacityExperts: number;
  log: ScheduleLog;
  /** Its miss handler's decisions, in order (empty without one that decides). */
  decisions: MissDecision[];
  /** A serving workload: the steps the scheduler gave the simulation, which the replay executes. */
  served?: RecordedSteps;
  /** Per EVICT operation: 1 when the victim is still computed later in the same layer. */
  evictLater: Uint8Array;
  /** Issue 16: with a storage tier, the experts in host DRAM (unified memory: in the pool) before the run (the rest come from the SSD). */
  hostResident?: Uint8Array;
  /**
   * Unified memory (issue 16): the device's cache is the pool, host memory. An upload is the
   * expert's SSD read into its host slot, an eviction poisons that slot, and an expert is computed
   * in place from it (the cpu backend; replay-setup.ts refuses others).
   */
  pool?: true;
}

/**
 * The simulator's costs for a replay: the scaled experts (fp32, three matrices) on `hardware`, no
 * non-expert work (the replay executes none), a link that does not overlap compute (one thread
 * issues everything) with one transfer latency per uploaded matrix.
 */
export function replayCosts(expertBytes: number, hardware: Hardware, expertSec: (tokens: number) => number): StepCosts {
  return stepCosts(
    { ...hardware.link, latencySec: UPLOADS_PER_EXPERT * hardware.link.latencySec, overlapsCompute: false },
    { expertBytes, expertSec, preExpertSec: () => 0, tailSec: () => 0 },
  );
}

/** backend.upload sends an expert's three matrices as three transfers. */
export const UPLOADS_PER_EXPERT = 3;

/**
 * Simulates policy `index` on `costs` (whose link must not overlap compute), recording its
 * operations. Returns the run's counters too.
 */
export function simulateSchedule(
  prep: PreparedScenario,
  scenario: Scenario,
  index: number,
  predictors: PolicyPredictors,
  costs: StepCosts,
  miss?: ScheduleMiss,
  /** A serving workload: execute these steps (a replay's) instead of asking the scheduler. */
  steps?: RecordedSteps,
  storage: Ssd | undefined = prep.hardware.storage,
): { schedule: RecordedSchedule; counters: SimCounters; cpuBusySec: number; ssd?: { reads: number; busySec: number } } {
  const world = buildWorld(prep, scenario, index, predictors);
  const { cache, plan, label } = world;
  const log = new ScheduleLog();
  const decisions: MissDecision[] = [];
  const tiers = replayTiers(prep, scenario, index, hostResidentRoundTrip(costs, miss?.source), storage);
  const tier = tiers.host;
  const hostResidentBefore = tier ? hostResident(tier) : undefined;
  let options = { ...world.options, schedule: log, ...(tier ? { tiers: tier } : {}) };
  const pf = world.options.prefetch;
  if (pf?.policy.buffers) {
    // The schedule has no operation for a copy into a spare buffer: the guesses go into cache
    // slots here (and in validate's simulation of the same schedule), as before buffers existed.
    const w = `${label}: prefetch.buffers is not replayed: the replay's guesses are fetched into cache slots (moesim run keeps the buffers)`;
    if (!prep.warnings.includes(w)) prep.warnings.push(w);
    const policy = pf.policy;
    options = { ...options, prefetch: { ...pf, policy: { kind: policy.kind, cancelStale: policy.cancelStale, plan: policy.plan.bind(policy) } } };
  }
  const handler = options.missHandler;
  if (handler && options.missCosts) {
    // The replay's own miss costs (its CPU, its lower-bit copies), and its decisions recorded or made again.
    options.missCosts = policyMissCosts(scenario, index, miss?.source ?? { hardware: prep.hardware }, miss?.shape, miss?.speed);
    options.missHandler = miss?.decisions ? replayingHandler(handler, miss.decisions, label) : recordingHandler(handler, decisions);
  }
  const served = prep.serving && !steps ? emptyRecordedSteps() : undefined;
  const source = steps ? recordedSource(steps) : (servingScheduleSource(prep, cache, served) ?? prep.newSource());
  fillPool(tiers.poolHoldsAll, cachePolicyInfo(scenario.policies[index].kind).fillsOnMiss, cache, prep.trace.numLayers * prep.model.numExperts);
  const sim = new OffloadSim(prep.trace, tiers.cost, cache, source, undefined, options);
  const counters = sim.run();
  // Unified memory: the pool holds what the cache holds before the run (its initial residents); the rest is read from the SSD.
  const resident = hostResidentBefore ?? (tiers.direct ? poolResident(log, prep.trace.numLayers * prep.model.numExperts) : undefined);
  return {
    schedule: {
      index,
      label,
      capacityExperts: plan.capacityExperts,
      log,
      decisions: miss?.decisions ? [...miss.decisions] : decisions,
      ...(served ? { served } : {}),
      evictLater: evictLater(log),
      ...(resident ? { hostResident: resident } : {}),
      ...(tiers.direct ? { pool: true as const } : {}),
    },
    counters,
    cpuBusySec: sim.cpu.busySec,
    ...(tier ? { ssd: { reads: tier.counters.ssdReads, busySec: tier.counters.ssdBusySec } } : {}),
    // Unified memory: every transfer is an SSD read into the pool, the link's busy time the SSD's.
    ...(tiers.direct ? { ssd: { reads: transfers(log), busySec: counters.linkBusySec } } : {}),
  };
}

/** Unified memory: 1 for each expert the cache holds before the run (the schedule's initial residents), which the pool holds; the rest start on the SSD. */
function poolResident(log: ScheduleLog, numKeys: number): Uint8Array {
  const out = new Uint8Array(numKeys);
  for (const k of log.initial) out[k] = 1;
  return out;
}

/** The schedule's transfers to the device (uploads and staging copies; unified memory: its SSD reads). */
const transfers = (log: ScheduleLog): number => log.count(OP_UPLOAD, OP_STAGE);

/** The schedule's evictions. */
export const evictionsOf = (log: ScheduleLog): number => log.count(OP_EVICT);

/** How a simulation of a replay prices and decides its misses (policies with a cpu or low-precision handler). */
export interface ScheduleMiss {
  /** The replayed expert shape (the lower-bit copy's bytes depend on it). */
  shape?: ExpertShape;
  source?: MissCostSourceSpec;
  speed?: MissSpeed;
  /** Make these decisions again instead of deciding. */
  decisions?: readonly MissDecision[];
}

/**
 * The operations of each of `policies`, recorded with round-number durations: any durations give
 * the same order on a link that does not overlap compute (validate checks it with the profile's).
 */
export function recordSchedules(
  prep: PreparedScenario,
  scenario: Scenario,
  policies: number[],
  predictors: PolicyPredictors,
  expertBytes: number,
  costs?: StepCosts,
  miss?: ScheduleMiss | ((j: number) => ScheduleMiss),
  storage: Ssd | undefined = prep.hardware.storage,
): RecordedSchedule[] {
  const c = costs ?? replayCosts(expertBytes, prep.hardware, (tokens) => 1e-3 + 1e-6 * tokens);
  return policies.map((index, j) => simulateSchedule(prep, scenario, index, predictors, c, typeof miss === 'function' ? miss(j) : miss, undefined, storage).schedule);
}

const DECISION_LETTERS: Record<MissDecision, string> = { fetch: 'f', cpu: 'c', 'low-bit': 'l' };

export function encodeDecisions(d: readonly MissDecision[]): string {
  return d.map((x) => DECISION_LETTERS[x]).join('');
}

export function decodeDecisions(s: string | undefined): MissDecision[] | undefined {
  if (s === undefined) return undefined;
  const back = Object.fromEntries(Object.entries(DECISION_LETTERS).map(([k, v]) => [v, k])) as Record<string, MissDecision>;
  return Array.from(s, (ch) => {
    const d = back[ch];
    if (d === undefined) throw new Error(`replay: unknown miss decision "${ch}"`);
    return d;
  });
}

/** For each EVICT operation, whether its old copy is computed later in the same layer (then it is freed after that). */
function evictLater(log: ScheduleLog): Uint8Array {
  const out = new Uint8Array(log.length);
  for (let i = 0; i < log.length; i++) {
    if (log.op(i) !== OP_EVICT) continue;
    const v = log.a(i);
    for (let j = i + 1; j < log.length; j++) {
      const op = log.op(j);
      if (op === OP_LAYER || op === OP_STEP_END || ((op === OP_UPLOAD || op === OP_STAGE || op === OP_STAGE_LOW || op === OP_CPU) && log.a(j) === v)) break;
      if (op === OP_COMPUTE && log.a(j) === v) {
        out[i] = 1;
        break;
      }
    }
  }
  return out;
}

interface PassCounters {
  accesses: number;
  hits: number;
  /** Computed from a prefetch that was still to be uploaded at its layer's gate. */
  lateHits: number;
  uploads: number;
  prefetchUploads: number;
  bytesH2D: number;
  evictions: number;
  peakDeviceExperts: number;
  cpuExperts: number;
  lowBitFetches: number;
  lowBitBytes: number;
  cpuSec: number;
  cpuWaitSec: number;
  perLayerAccesses: Float64Array;
  perLayerHits: Float64Array;
  stepSec: number[];
  perLayerSec: Float64Array;
  uploadSec: number;
  computeSec: number;
  /** Per step: seconds spent waiting for a core (empty when the clock does not say). */
  stepWaitSec: number[];
  /** SSD-tier reads from the disk file: count, seconds, and the page cache's share of their bytes. */
  ssdReads: number;
  ssdSec: number;
  /** Of ssdSec: the replaying thread's waits for a core (0 where the clock does not say). */
  ssdWaitSec: number;
  /** Of ssdSec: the other threads' waits for a core during the reads (ReplaySsd.passOtherWaitSec, passOtherWaitSumSec; 0 where not reported). */
  ssdOtherWaitSec: number;
  ssdOtherWaitSumSec: number;
  ssdPageCacheShare?: number;
}

/** Unified memory: an expert in the pool, which is its host slot (computed in place; nothing was copied). */
interface PoolExpert {
  readonly pool: true;
  readonly key: number;
  readonly weights: ExpertWeights;
  readonly sizeBytes: number;
}

function poolExpert(key: number, weights: ExpertWeights): PoolExpert {
  return { pool: true, key, weights, sizeBytes: expertWeightBytes(weights.shape, weights.dtype) };
}

function isPoolExpert(d: object): d is PoolExpert {
  return 'pool' in d;
}

/** Executes the operations of `s` up to (not including) operation `end` on the backend. */
async function replayPass(o: ReplayOptions, hosts: ExpertWeights[], s: RecordedSchedule, end: number, steps: StepLog[] | null, side: MissSide, disk?: ExpertFile): Promise<PassCounters> {
  const { backend, prep } = o;
  const clock = o.clock ?? hrClock;
  const now = () => clock.now();
  const secondsSince = (t0: bigint) => secondsOn(clock, t0);
  const { trace } = prep;
  const { log } = s;
  const L = trace.numLayers;
  const E = prep.model.numExperts;
  const K = trace.topK;
  const h = o.shape.hiddenSize;
  const c: PassCounters = {
    accesses: 0,
    hits: 0,
    lateHits: 0,
    uploads: 0,
    prefetchUploads: 0,
    bytesH2D: 0,
    evictions: 0,
    peakDeviceExperts: 0,
    cpuExperts: 0,
    lowBitFetches: 0,
    lowBitBytes: 0,
    cpuSec: 0,
    cpuWaitSec: 0,
    perLayerAccesses: new Float64Array(L),
    perLayerHits: new Float64Array(L),
    stepSec: [],
    perLayerSec: new Float64Array(L),
    uploadSec: 0,
    computeSec: 0,
    stepWaitSec: [],
    ssdReads: 0,
    ssdSec: 0,
    ssdWaitSec: 0,
    ssdOtherWaitSec: 0,
    ssdOtherWaitSumSec: 0,
  };
  const waited = clock.waitedSec?.bind(clock);
  const othersWaited = waited !== undefined && disk !== undefined && disk.otherWaits;
  let w0 = 0;
  // Per key: its copy in the cache; a copy the cache dropped that this layer still computes with
  // (freed after that); a staging copy; whether its queued upload was dropped by the cache before
  // it started (it lands as a dropped copy); the operation that uploaded it (-1: before the run),
  // and whether that upload was a prefetch.
  const cached: (DeviceExpert | PoolExpert | undefined)[] = new Array(L * E);
  const dropped: (DeviceExpert | PoolExpert | undefined)[] = new Array(L * E);
  const staged: (DeviceExpert | LowBitDeviceExpert | PoolExpert | undefined)[] = new Array(L * E);
  const droppedBeforeUpload = new Uint8Array(L * E);
  const uploadedAt = new Int32Array(L * E).fill(-1);
  const byPrefetch = new Uint8Array(L * E);
  let live = 0;
  // Unified memory: the pool's copy is the host slot; dropping it poisons the slot (its memory is another expert's now).
  const pool = s.pool === true;
  if (pool && (!disk || !s.hostResident)) throw new Error(`replay: ${s.label}: a unified-memory schedule without its disk file`);
  const release = (d: DeviceExpert | LowBitDeviceExpert | PoolExpert): void => {
    if (!isPoolExpert(d)) (isLowBit(d) ? side.lowBit(s.index).evict(d) : backend.evict(d));
  };
  // The time a dropped pool copy's poisoning takes is not the pass's (the simulation charges nothing for an eviction): taken out of the step's and the layer's.
  let untimed = 0n;
  const free = (d: DeviceExpert | LowBitDeviceExpert | PoolExpert): void => {
    if (isPoolExpert(d)) {
      const tp = now();
      disk!.poisonKey(d.key);
      untimed += now() - tp;
    } else release(d);
    live--;
  };
  // The other threads' waits, read around each SSD read: the reading itself (one pread per thread,
  // ~50 us on this VM) is not the pass's and is taken out of the step's and the layer's time.
  const othersBegin = (): void => {
    const tq = now();
    disk!.otherWaitBegin();
    untimed += now() - tq;
  };
  const othersEnd = (leftSec: number): void => {
    const tq = now();
    c.ssdOtherWaitSec += disk!.otherWaitEnd(leftSec);
    c.ssdOtherWaitSumSec += disk!.otherWaitSumSec;
    untimed += now() - tq;
  };
  const bug = (i: number, what: string): Error => new Error(`replay: ${s.label}: operation ${i} (${log.describe(i)}): ${what}`);
  try {
    for (let i = 0; i < log.initial.length; i++) {
      const k = log.initial[i];
      cached[k] = pool ? poolExpert(k, hosts[k]) : await backend.upload(hosts[k]);
      live++;
    }
    await backend.sync();
    // Issue 16: what the host tier (unified memory: the pool) does not hold comes from the disk file (poisoned until read back);
    // what it holds is read back first where an earlier pass left it poisoned.
    if (disk && s.hostResident) {
      await disk.restore(s.hostResident);
      disk.poison(s.hostResident);
    } else if (disk) await disk.restore();
    disk?.mark();

    const source = s.served ? recordedSource(s.served) : prep.newSource();
    const maxTokens = source.maxTokens;
    const hidden = new Float32Array(maxTokens * h);
    const normed = new Float32Array(maxTokens * h);
    const rows = new Int32Array(maxTokens);
    const gates = new Float32Array(maxTokens);
    const ids = trace.experts;
    const weights = trace.weights;
    let step: Step | null = null;
    let layer = -1;
    let gateOp = 0;
    let t0 = now();
    let tl = t0;

    for (let i = 0; i < end; i++) {
      const op = log.op(i);
      const key = log.a(i);
      if (op === OP_STEP) {
        step = source.next(0);
        if (step === null || step.index !== key) throw bug(i, `the replay's step source gives step ${step?.index ?? 'none'}`);
        if (steps) steps.push({ count: step.count, prefill: step.prefill, startSeq: Array.from(step.startSeq.subarray(0, step.startCount)), emitSeq: Array.from(step.emitSeq.subarray(0, step.emitCount)) });
        // The tokens' embeddings: seeded by token index, untimed (the simulation charges no embedding).
        for (let t = 0; t < step.count; t++) fillUniform(hidden.subarray(t * h, (t + 1) * h), hash32(`token/${step.tokens[t]}`), 1);
        layer = -1;
        untimed = 0n;
        t0 = now();
        tl = t0;
        // The waits are read inside the step's clock readings, never outside them: a wait for a core
        // between the two readings (reading schedstat is a system call, a point of preemption) would
        // otherwise be counted as the step's without being in its time (seen: waits >= 100% of a
        // pass's step time under a load of 10 on 2 cores).
        if (waited) w0 = waited();
      } else if (op === OP_LAYER) {
        await side.layerEnd(hidden, h, c);
        const t = now() - untimed;
        if (layer >= 0) c.perLayerSec[layer] += Number(t - tl) / 1e9;
        tl = t;
        layer = key;
      } else if (op === OP_GATE) {
        if (key !== layer) throw bug(i, `the gate of layer ${key} in layer ${layer}`);
        gateOp = i;
        for (let r = 0; r < step!.count; r++) {
          let ss = 0;
          for (let j = r * h; j < (r + 1) * h; j++) ss += hidden[j] * hidden[j];
          const inv = 1 / Math.sqrt(ss / h + 1e-6);
          for (let j = r * h; j < (r + 1) * h; j++) normed[j] = hidden[j] * inv;
        }
      } else if (op === OP_EVICT) {
        const d = cached[key];
        cached[key] = undefined;
        c.evictions++;
        if (d === undefined) droppedBeforeUpload[key] = 1;
        else if (s.evictLater[i] === 1) dropped[key] = d;
        else free(d);
      } else if (op === OP_READ) {
        if (!disk) throw bug(i, 'an SSD read without a disk file');
        const wr = waited ? waited() : 0;
        if (othersWaited) othersBegin();
        const tr = now();
        await disk.read(key);
        const sec = secondsSince(tr);
        c.ssdSec += sec;
        const wm = waited ? waited() - wr : 0;
        c.ssdWaitSec += wm;
        if (othersWaited) othersEnd(sec - wm);
        c.ssdReads++;
      } else if (op === OP_CANCEL) {
        if (cached[key] !== undefined) throw bug(i, 'a cancelled prefetch is on the device');
      } else if (op === OP_CPU) {
        // Computed on the CPU from its host weights, while this thread goes on with the device's operations.
        const n = side.submitCpu(step!, layer, key - layer * E, normed);
        if (n !== log.b(i)) throw bug(i, `the trace routes ${n} tokens to it`);
        c.accesses++;
        c.perLayerAccesses[layer]++;
        c.cpuExperts++;
      } else if (op === OP_STAGE_LOW) {
        if (staged[key] !== undefined || cached[key] !== undefined) throw bug(i, 'the expert is already on the device');
        const tu = now();
        const d = await side.lowBit(s.index).upload(side.quantized(s.index, key));
        c.uploadSec += secondsSince(tu);
        c.uploads++;
        c.bytesH2D += d.sizeBytes;
        c.lowBitFetches++;
        c.lowBitBytes += d.sizeBytes;
        if (++live > c.peakDeviceExperts) c.peakDeviceExperts = live;
        staged[key] = d;
      } else if (op === OP_UPLOAD || op === OP_STAGE) {
        if ((op === OP_UPLOAD ? cached : staged)[key] !== undefined || dropped[key] !== undefined) throw bug(i, 'the expert is already on the device');
        let d: DeviceExpert | PoolExpert;
        if (pool) {
          // Unified memory: the SSD read into the pool is the transfer (no copy over a bus).
          const wr = waited ? waited() : 0;
          if (othersWaited) othersBegin();
          const tu = now();
          await disk!.read(key);
          const sec = secondsSince(tu);
          c.uploadSec += sec;
          c.ssdSec += sec;
          const wm = waited ? waited() - wr : 0;
          c.ssdWaitSec += wm;
          if (othersWaited) othersEnd(sec - wm);
          c.ssdReads++;
          d = poolExpert(key, hosts[key]);
        } else {
          const tu = now();
          d = await backend.upload(hosts[key]);
          c.uploadSec += secondsSince(tu);
        }
        c.uploads++;
        c.bytesH2D += d.sizeBytes;
        if (++live > c.peakDeviceExperts) c.peakDeviceExperts = live;
        if (op === OP_STAGE) staged[key] = d;
        else {
          if (droppedBeforeUpload[key] === 1) dropped[key] = d;
          else cached[key] = d;
          droppedBeforeUpload[key] = 0;
          uploadedAt[key] = i;
          byPrefetch[key] = log.b(i);
          if (log.b(i) === 1) c.prefetchUploads++;
        }
      } else if (op === OP_COMPUTE) {
        const e = key - layer * E;
        if (!(e >= 0 && e < E)) throw bug(i, `an expert of layer ${(key / E) | 0} computed in layer ${layer}`);
        const st = staged[key];
        const gone = dropped[key];
        const dev = st ?? gone ?? cached[key];
        if (dev === undefined) throw bug(i, 'the expert is not on the device');
        // The rows routed to e, and their gate weights.
        let n = 0;
        for (let r = 0; r < step!.count; r++) {
          const slot = (step!.tokens[r] * L + layer) * K;
          for (let k = 0; k < K; k++) {
            if (ids[slot + k] !== e) continue;
            const w = weights ? weights[slot + k] : NaN;
            rows[n] = r;
            gates[n++] = Number.isFinite(w) ? w : 1 / K;
          }
        }
        if (n !== log.b(i)) throw bug(i, `the trace routes ${n} tokens to it`);
        const x = new Float32Array(n * h);
        for (let r = 0; r < n; r++) x.set(normed.subarray(rows[r] * h, rows[r] * h + h), r * h);
        const tc = now();
        // Unified memory: computed in place, from the host slot the SSD read filled.
        const y = isPoolExpert(dev) ? ((await backend.runExpert(x, dev.weights)) as Float32Array) : isLowBit(dev) ? await side.lowBit(s.index).run(x, dev) : ((await backend.runExpert(x, dev as DeviceExpert)) as Float32Array);
        c.computeSec += secondsSince(tc);
        for (let r = 0; r < n; r++) {
          const g = gates[r];
          const off = rows[r] * h;
          for (let j = 0; j < h; j++) hidden[off + j] += g * y[r * h + j];
        }
        c.accesses++;
        c.perLayerAccesses[layer]++;
        if (st !== undefined) {
          staged[key] = undefined;
          free(st);
        } else {
          if (uploadedAt[key] < gateOp) {
            c.hits++;
            c.perLayerHits[layer]++;
          } else if (byPrefetch[key] === 1) c.lateHits++;
          if (gone !== undefined) {
            dropped[key] = undefined;
            free(gone);
          }
        }
      } else if (op === OP_STEP_END) {
        await side.layerEnd(hidden, h, c);
        const w1 = waited ? waited() : 0;
        const t = now() - untimed;
        if (layer >= 0) c.perLayerSec[layer] += Number(t - tl) / 1e9;
        c.stepSec.push(Number(t - t0) / 1e9);
        if (waited) c.stepWaitSec.push(w1 - w0);
        for (let j = 0; j < step!.count * h; j++) {
          if (!Number.isFinite(hidden[j])) throw new Error(`replay: the hidden state diverged at step ${c.stepSec.length - 1}`);
        }
      }
    }
    if (disk) {
      const share = pageCacheShare(disk.sinceMark());
      if (share !== undefined) c.ssdPageCacheShare = share;
    }
    return c;
  } finally {
    await side.drain();
    for (const copies of [cached, dropped, staged]) for (const d of copies) if (d !== undefined) release(d);
  }
}


/** Output tokens of each stream in executed steps. */
function tokensPerStream(steps: readonly StepLog[], streams: number): number[] {
  const out = new Array<number>(streams).fill(0);
  for (const s of steps) for (const q of s.emitSeq) out[q]++;
  return out;
}

/** Replay every requested policy: record its schedule, warm up, then timed passes. */
export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const { prep, scenario, backend } = o;
  const warmupSteps = o.warmupSteps ?? 8;
  const repeats = Math.max(1, o.repeats ?? 3);
  const progress = o.progress ?? (() => {});
  const L = prep.trace.numLayers;
  const E = prep.model.numExperts;
  const { predictors } = o;
  const expertBytes = expertWeightBytes(o.shape, 'float32');
  const storage = o.storage ?? prep.hardware.storage;
  const miss: ScheduleMiss = { shape: o.shape, source: o.missCosts ?? { hardware: prep.hardware } };
  const schedules = recordSchedules(prep, scenario, o.policies, predictors, expertBytes, o.recordCosts, miss, storage);
  const memory = new SlabAllocator();
  const clock = o.clock ?? hrClock;
  const t0 = clock.now();
  // Issue 16: with a storage tier, the experts' host memory is the disk file's aligned mirror.
  const disk = schedules.some((s) => s.hostResident) ? new ExpertFile(o.diskFile ?? defaultDiskFile(), L * E, expertBytes, storage!, clock, o.afterDiskRead) : undefined;
  const hosts = hostExperts(L * E, o.shape, o.seed ?? `${scenario.seed}`, disk?.memory ?? memory);
  disk?.writeAll();
  const setupSec = secondsOn(clock, t0);
  if (disk) progress(`SSD tier: ${L * E} experts in ${disk.info.file} (${disk.info.mode === 'direct' ? 'O_DIRECT, the page cache bypassed' : 'buffered: the file system refused O_DIRECT, the page cache may serve the reads'}), read in ${disk.info.blockBytes / 1024} KiB requests, ${disk.info.queueDepth} in flight${disk.info.queueDepth > uvPool() ? ` (at most ${uvPool()} at once: libuv's thread pool; UV_THREADPOOL_SIZE sets it)` : ''}`);
  const between = o.betweenPasses ?? (async () => {});
  progress(`host weights: ${L * E} experts of ${o.shape.hiddenSize}x${o.shape.intermediateSize} in ${setupSec.toFixed(1)} s`);
  const policies: ReplayPolicyResult[] = [];
  let steps: StepLog[] = [];
  const side = await MissSide.open(backend, scenario, schedules, hosts, o.shape, prep.trace);
  const ssdProbes: SsdProbe[] = [];
  let freshDeviceBuffers: number | undefined;
  const unwarm = warmReplayDevice(backend, side, o.shape, schedules, deviceExpertsNeeded(prep, scenario, o.policies), prep.maxUnion);
  try {
    // Passes go round-robin over the policies (pass 1 of each, then pass 2 of each, ...), so that
    // a burst of other work on the machine slows every policy alike rather than one of them.
    const passes: PassCounters[][] = o.policies.map(() => []);
    const stepsOf: StepLog[][] = o.policies.map(() => []);
    const probeReads = o.ssdProbeReads ?? 0;
    // A policy with a storage tier: its pass bracketed by disk samples, the closest to it of everything untimed.
    const probeDisk = async (pass: number, side: SsdProbe['side'], s: RecordedSchedule) => {
      if (disk && s.hostResident && probeReads > 0) ssdProbes.push({ pass, side, startSec: secondsOn(clock, t0), ...(await disk.probe(probeReads)) });
    };
    const fresh = (): number => (backend.freshBuffers?.() ?? 0) + side.lowBitFreshBuffers;
    let freshInPasses = 0;
    await between(0);
    for (let r = 0; r < repeats; r++) {
      for (let j = 0; j < o.policies.length; j++) {
        const s = schedules[j];
        const g = r * o.policies.length + j;
        const f0 = fresh();
        if (r === 0 && warmupSteps > 0) await replayPass(o, hosts, s, s.log.endOfSteps(warmupSteps), null, side, disk);
        freshInPasses += fresh() - f0;
        const log: StepLog[] | null = r === 0 ? [] : null;
        await probeDisk(g, 'before', s);
        const f1 = fresh();
        const c = await replayPass(o, hosts, s, s.log.length, log, side, disk);
        freshInPasses += fresh() - f1;
        await probeDisk(g, 'after', s);
        if (log) stepsOf[j] = log;
        if (log && j === 0) steps = log;
        const first = passes[j][0];
        if (first && (first.hits !== c.hits || first.bytesH2D !== c.bytesH2D || first.accesses !== c.accesses || first.cpuExperts !== c.cpuExperts || first.lowBitFetches !== c.lowBitFetches || first.ssdReads !== c.ssdReads || first.stepSec.length !== c.stepSec.length)) {
          throw new Error(`replay: pass ${r} of ${s.label} counted ${c.hits} hits and ${c.bytesH2D} bytes, pass 0 ${first.hits} and ${first.bytesH2D}`);
        }
        passes[j].push(c);
        const mean = c.stepSec.reduce((a, b) => a + b, 0) / c.stepSec.length;
        progress(`${s.label} pass ${r + 1}/${repeats}: ${c.stepSec.length} steps, mean ${(mean * 1e3).toFixed(3)} ms/step, ${c.hits}/${c.accesses} hits`);
        await between(g + 1);
      }
    }
    if (backend.freshBuffers) freshDeviceBuffers = freshInPasses;
    for (let j = 0; j < o.policies.length; j++) {
      const s = schedules[j];
      const p = scenario.policies[s.index];
      const ps = passes[j];
      const c0 = ps[0];
      const nSteps = c0.stepSec.length;
      const stepSec = Array.from({ length: nSteps }, (_, k) => median(ps.map((q) => q.stepSec[k])));
      policies.push({
        index: s.index,
        policy: p.kind,
        ...('prefetch' in p && p.prefetch ? { prefetch: p.prefetch.kind } : {}),
        label: s.label,
        capacityExperts: s.capacityExperts,
        accesses: c0.accesses,
        hits: c0.hits,
        lateHits: c0.lateHits,
        misses: c0.accesses - c0.hits - c0.lateHits,
        hitRate: c0.accesses === 0 ? 0 : c0.hits / c0.accesses,
        perLayerAccesses: Array.from(c0.perLayerAccesses),
        perLayerHits: Array.from(c0.perLayerHits),
        uploads: c0.uploads,
        prefetchUploads: c0.prefetchUploads,
        bytesH2D: c0.bytesH2D,
        evictions: c0.evictions,
        peakDeviceExperts: c0.peakDeviceExperts,
        cpuExperts: c0.cpuExperts,
        lowBitFetches: c0.lowBitFetches,
        lowBitBytes: c0.lowBitBytes,
        cpuSec: median(ps.map((q) => q.cpuSec)),
        cpuWaitSec: median(ps.map((q) => q.cpuWaitSec)),
        ...(s.decisions.length > 0 ? { missDecisions: encodeDecisions(s.decisions) } : {}),
        stepSec,
        passStepSec: ps.map((q) => q.stepSec),
        perLayerSec: Array.from({ length: L }, (_, l) => median(ps.map((q) => q.perLayerSec[l]))),
        uploadSec: median(ps.map((q) => q.uploadSec)),
        computeSec: median(ps.map((q) => q.computeSec)),
        passMeanStepSec: ps.map((q) => q.stepSec.reduce((a, b) => a + b, 0) / q.stepSec.length),
        passOrder: ps.map((_, r) => r * o.policies.length + j),
        passUploadSec: ps.map((q) => q.uploadSec),
        passComputeSec: ps.map((q) => q.computeSec),
        ...(c0.stepWaitSec.length === nSteps ? { passStepWaitSec: ps.map((q) => q.stepWaitSec) } : {}),
        ...(s.served ? { serving: { requests: s.served.streams, steps: stepsOf[j], tokensPerRequest: tokensPerStream(stepsOf[j], s.served.streams) } } : {}),
        ...(disk && s.hostResident
          ? {
              ssd: {
                file: disk.info,
                reads: c0.ssdReads,
                bytes: c0.ssdReads * disk.info.slotBytes,
                sec: median(ps.map((q) => q.ssdSec)),
                passSec: ps.map((q) => q.ssdSec),
                ...(c0.stepWaitSec.length === nSteps ? { passWaitSec: ps.map((q) => q.ssdWaitSec) } : {}),
                ...(c0.stepWaitSec.length === nSteps && disk.otherWaits ? { passOtherWaitSec: ps.map((q) => q.ssdOtherWaitSec), passOtherWaitSumSec: ps.map((q) => q.ssdOtherWaitSumSec) } : {}),
                ...(ps.every((q) => q.ssdPageCacheShare !== undefined) ? { passPageCacheShare: ps.map((q) => q.ssdPageCacheShare!) } : {}),
                ...(s.pool ? { pool: true as const } : {}),
              },
            }
          : {}),
        latency: summarizeLatencies(tokenLatencies(stepsOf[j], stepSec, s.served?.streams ?? prep.trace.sequences.length)),
      });
    }
  } finally {
    unwarm();
    await side.close();
    memory.clear();
    disk?.close();
  }
  return {
    backend: { name: backend.name, device: backend.device },
    shape: o.shape,
    expertBytes,
    warmupSteps,
    repeats,
    trace: { tokens: prep.trace.tokens, sequences: prep.trace.sequences.length, steps: steps.length },
    steps,
    policies,
    setupSec,
    ...(freshDeviceBuffers !== undefined ? { freshDeviceBuffers } : {}),
    ...(ssdProbes.length > 0 ? { ssdProbes } : {}),
  };
}

/**
 * The device memory of the replay's uploads put, before the warm-up pass and so before every timed
 * pass, in the state calibrate's and the drift probes' uploads find (Backend.warmBuffers, the same
 * routine benchTransfer calls): every expert matrix's upload goes into a faulted-in buffer reused
 * past the device allocator's threshold, with up to `deviceExperts` experts (three matrices each)
 * on the device at once; likewise each lower-bit format's three buffers for `staged` copies (a
 * layer's misses at most). Without it a size's first threshold's worth of uploads (2 x the
 * last-level cache) went into fresh pages, x4 to x6 slower, and the rest into reused ones
 * (reports/calibration/s27-drift/fresh-vs-reused.txt). Not for unified memory (nothing uploaded).
 */
export function warmReplayDevice(backend: Backend, side: Pick<MissSide, 'warmLowBit'>, shape: ExpertShape, schedules: readonly { pool?: boolean }[], deviceExperts: number, staged: number): () => void {
  const undo: (() => void)[] = [];
  if (schedules.some((s) => s.pool !== true)) undo.push(backend.warmBuffers('float32', shape.hiddenSize * shape.intermediateSize, UPLOADS_PER_EXPERT * deviceExperts));
  undo.push(side.warmLowBit(staged));
  return () => {
    for (const u of undo) u();
  };
}

/** Largest number of experts any of these policies holds on the device at once: its cache and a step's staging copies. */
export function deviceExpertsNeeded(prep: PreparedScenario, scenario: Scenario, policies: number[]): number {
  let most = 1;
  for (const i of policies) {
    const { plan } = createPolicyCache(prep, scenario.policies[i], i);
    most = Math.max(most, plan.capacityExperts + prep.maxUnion);
  }
  return most;
}

/** The disk file of a replay's SSD tier when none is given: in the OS's temporary folder, one per process. */
function defaultDiskFile(): string {
  return join(tmpdir(), `moesim-experts-${process.pid}.bin`);
}

/** Threads of libuv's pool, which runs fs.read: the most reads in flight at once. */
function uvPool(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? n : 4;
}
