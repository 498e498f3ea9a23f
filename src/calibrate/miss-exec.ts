/**
 * The miss handlers a replay executes besides fetching (issue 12 item 7): Fiddler's `cpu` (a missed
 * expert computed on the CPU from host memory while the device goes on) and HOBBIT's
 * `low-precision` (a missed expert fetched as a lower-bit copy, low-bit.ts), with the simulator's
 * costs of those paths from a calibration profile.
 *
 * The CPU path runs the expert graph on ONNX Runtime's CPU execution provider in a session of its
 * own (one intra-op thread, as calibrated) on a worker thread holding its own copy of the host
 * weights: no upload. The replaying thread posts a job and goes on with the device side's uploads
 * and runs meanwhile (on the cpu backend those run on the replaying thread: two threads compute at
 * once, as the simulator's CPU and "GPU" resources do). The CPU runs its jobs one after the other in the order
 * the gate submitted them (the simulator's CPU is one serial resource); the layer ends once the
 * last is back and its output added to the hidden states.
 *
 * The simulator's costs (replayMissCosts): a CPU expert takes the profile's host-CPU expert fit
 * (fit.cpuExpert; on the cpu backend, where the device is that CPU, fit.expert) over the fp32
 * expert's bytes and FLOPs; the replay's hidden states live on the host, so nothing crosses a link
 * for it: cpuRoundTripSec is the profile's hand-off to the CPU worker (samples.cpuHandoff) plus the
 * CPU time. A lower-bit copy uploads its real bytes over the
 * profile's link, and runs in the profile's fit of that format's expert runs (fit.lowBitExpert,
 * measured by `moesim calibrate`).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Dtype } from '../model/types.js';
import type { MissDecision, MissHandler } from '../policies/miss/types.js';
import type { Hardware } from '../hardware/types.js';
import type { MissCosts, StepCosts } from '../timing/costs.js';
import { cpuExpertTimeSec, rooflineSec } from '../timing/roofline.js';
import { InputError } from '../util/errors.js';
import { buildExpertModel, expertBytesMoved, expertFlops, type ExpertShape, type ExpertWeights } from './expert-graph.js';
import { predictExpert, type ExpertFit } from './fit.js';
import { LowBitDevice, lowBitExpertBytes, lowBitFormat, quantizeExpert, type LowBitDtype, type LowBitFormat, type LowBitWeights } from './low-bit.js';
import type { Backend } from './backends.js';
import type { Scenario } from '../scenario/schema.js';
import type { Trace } from '../trace/types.js';
import type { Step } from '../trace/steps.js';
import { missLowBit } from '../policies/miss/index.js';
import { OP_CPU, OP_STAGE_LOW, type ScheduleLog } from '../sim/schedule.js';
import type { CalibrationProfile } from './profile.js';
import { KERNELS_PER_EXPERT } from '../timing/roofline.js';
import { curveSec, type ReplayShapeCurves } from './replay-shape.js';

type FitLike = Pick<ExpertFit, 'overheadSec' | 'memBandwidthBytesPerSec' | 'throughputFlopsPerSec'>;

/** Bytes one lower-bit run touches: the packed weights and scales, plus x and y in fp32. */
export function lowBitBytesMoved(shape: ExpertShape, dtype: LowBitDtype, tokens: number): number {
  return lowBitExpertBytes(shape, lowBitFormat(dtype, shape)) + 2 * tokens * shape.hiddenSize * 4;
}

/** Where the replay's miss costs come from: a calibration profile's fits, or (no profile) a Hardware's roofline. */
export type MissCostSourceSpec = { profile: CalibrationProfile; curves?: ReplayShapeCurves } | { hardware: Hardware };

/** Per-pass speed factors (drift.ts): the device's expert runs, and the CPU path's. */
export interface MissSpeed {
  device: number;
  cpu: number;
}

/**
 * The simulator's MissCosts of a replay of `shape` (fp32 experts) with lower-bit copies in `lowBit`
 * (when the handler has one), from `source`; times multiplied by `speed`.
 */
export function replayMissCosts(shape: ExpertShape, source: MissCostSourceSpec, lowBit?: Dtype, speed: MissSpeed = { device: 1, cpu: 1 }, where = 'onMiss.dtype'): MissCosts {
  const fmt = lowBit === undefined ? undefined : lowBitFormat(lowBit, shape, where);
  const lbBytes = fmt ? lowBitExpertBytes(shape, fmt) : 0;
  const fp32Bytes = (n: number) => expertBytesMoved(shape, 'float32', n);
  let cpuSec: (n: number) => number;
  let lowSec: (n: number) => number;
  if ('profile' in source) {
    const p = source.profile;
    const cpuFit: FitLike = p.fit.cpuExpert ?? p.fit.expert;
    cpuSec = (n) => speed.cpu * predictExpert(cpuFit, fp32Bytes(n), expertFlops(shape, n));
    const curves = source.curves && source.curves.shape.hiddenSize === shape.hiddenSize && source.curves.shape.intermediateSize === shape.intermediateSize ? source.curves : undefined;
    const lf = fmt ? p.fit.lowBitExpert?.[fmt.dtype] : undefined;
    const lowCurve = fmt ? curves?.lowBit[fmt.dtype] : undefined;
    const cpuCurve = curves?.cpu;
    const up = fmt ? curves?.lowBitUploadSec[fmt.dtype] : undefined;
    if (cpuCurve) cpuSec = (n) => speed.cpu * curveSec(cpuCurve, n);
    if (fmt && lowCurve) {
      return {
        cpuExpertSec: cpuSec,
        activationBytes: (n) => n * shape.hiddenSize * 4,
        lowBitExpertBytes: lbBytes,
        lowBitExpertSec: (n) => speed.device * curveSec(lowCurve, n),
        ...(up !== undefined ? { lowBitUploadSec: speed.device * up } : {}),
      };
    }
    if (fmt && lf === undefined) {
      throw new InputError(`profile: no ${fmt.dtype} expert runs (fit.lowBitExpert.${fmt.dtype}); re-run moesim calibrate --backend ${p.backend} to measure lower-bit copies`);
    }
    lowSec = (n) => speed.device * predictExpert(lf!, lowBitBytesMoved(shape, fmt!.dtype, n), expertFlops(shape, n));
  } else {
    const hw = source.hardware;
    cpuSec = (n) => speed.cpu * cpuExpertTimeSec(hw.cpu, fp32Bytes(n), expertFlops(shape, n));
    lowSec = (n) =>
      speed.device * rooflineSec(KERNELS_PER_EXPERT * hw.gpu.launchOverheadSec, fmt ? lowBitBytesMoved(shape, fmt.dtype, n) : fp32Bytes(n), hw.gpu.hbmBytesPerSec, expertFlops(shape, n), hw.gpu.flopsPerSec.fp32 ?? hw.gpu.flopsPerSec.bf16);
  }
  return {
    cpuExpertSec: cpuSec,
    activationBytes: (n) => n * shape.hiddenSize * 4,
    lowBitExpertBytes: lbBytes,
    lowBitExpertSec: lowSec,
  };
}

/**
 * A replay's StepCosts with the CPU round trip it has: the hidden states are on the host already,
 * nothing crosses a link; the job's hand-off to the CPU worker thread and back (the profile's
 * samples.cpuHandoff; 0 without a profile), then the CPU time.
 */
export function hostResidentRoundTrip(costs: StepCosts, source?: MissCostSourceSpec): StepCosts {
  const handoff = source && 'profile' in source ? (source.profile.samples.cpuHandoff?.medianSec ?? 0) : 0;
  return { ...costs, cpuRoundTripSec: (_bytes, cpuSec) => handoff + cpuSec };
}

/** The decisions a handler made, in order (recording), or a handler that makes recorded decisions again. */
export function recordingHandler(inner: MissHandler, out: MissDecision[]): MissHandler {
  return { kind: inner.kind, needsImportance: inner.needsImportance, needsEstimates: inner.needsEstimates, decide: (q) => {
    const d = inner.decide(q);
    out.push(d);
    return d;
  } };
}

/**
 * Makes `decisions` again, in order: the simulation of a pass on the machine's speed of its
 * minutes executes the decisions the replay executed (a handler deciding from time estimates could
 * decide otherwise on other speeds, and would simulate another schedule).
 */
export function replayingHandler(inner: MissHandler, decisions: readonly MissDecision[], label: string): MissHandler {
  let i = 0;
  return { kind: inner.kind, needsImportance: false, needsEstimates: false, decide: () => {
    if (i >= decisions.length) throw new Error(`${label}: the simulation asked for more miss decisions than the replay made (${decisions.length})`);
    return decisions[i++];
  } };
}


/**
 * The worker thread of the CPU side (CommonJS, run with `eval`: it loads onnxruntime-node by path,
 * like backends.ts's WebGPU probe). onnxruntime-node's `session.run` executes synchronously on the
 * calling thread (its promise is resolved from a setImmediate), so a session on the replaying
 * thread would never run beside the device's runs: the CPU's session lives on a thread of its own.
 * It holds its own copy of the experts' host weights (sent once, untimed) and runs its jobs one
 * after the other, in the order they were posted. A job's seconds are timed in the worker with
 * performance.now() (util/clock.ts cannot be loaded by an eval'd worker); they are reported as the
 * CPU side's busy time only, never as a step's time.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const weights = new Map();
const queue = [];
// This thread's run-queue wait so far, seconds: field 2 of /proc/thread-self/schedstat (the kernel's
// Documentation/scheduler/sched-stats.rst); 0 where it does not read (not Linux).
const fs = require('node:fs');
function queued() {
  try { return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) / 1e9; } catch { return 0; }
}
let session;
let busy = false;
async function pump() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const m = queue.shift();
    try {
      const w = weights.get(m.key);
      if (w === undefined) throw new Error('no host weights of expert ' + m.key);
      const T = ort.Tensor;
      const q0 = queued();
      const t0 = performance.now();
      const out = await session.run({ x: new T('float32', m.x, [m.x.length / w.h, w.h]), w1: new T('float32', w.w1, [w.h, w.f]), w3: new T('float32', w.w3, [w.h, w.f]), w2: new T('float32', w.w2, [w.f, w.h]) });
      const sec = (performance.now() - t0) / 1e3;
      const waitSec = queued() - q0;
      const y = out.y.data;
      parentPort.postMessage({ id: m.id, y, sec, waitSec }, [y.buffer]);
    } catch (e) {
      parentPort.postMessage({ id: m.id, error: String(e && e.message ? e.message : e) });
    }
  }
  busy = false;
}
parentPort.on('message', (m) => {
  if (m.weights) {
    for (const w of m.weights) weights.set(w.key, w);
    parentPort.postMessage({ loaded: m.weights.length });
  } else {
    queue.push(m);
    pump();
  }
});
ort.InferenceSession.create(workerData.model, { executionProviders: ['cpu'], intraOpNumThreads: workerData.threads, logSeverityLevel: 3 })
  .then((s) => { session = s; parentPort.postMessage({ ready: true }); })
  .catch((e) => parentPort.postMessage({ fatal: String(e && e.message ? e.message : e) }));
`;

/**
 * The CPU side of a replay: the expert graph on ONNX Runtime's CPU EP (one intra-op thread, as
 * calibrated) in a worker thread, from its own copy of the experts' host weights; jobs run one
 * after the other in submission order (a serial CPU) while the replaying thread goes on.
 */
export class CpuExpertRunner {
  private next = 0;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly waiting = new Map<number, { resolve: (r: { y: Float32Array; sec: number; waitSec: number }) => void; reject: (e: Error) => void }>();

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: { id?: number; y?: Float32Array; sec?: number; waitSec?: number; error?: string }) => {
      if (m.id === undefined) return;
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined) w.reject(new Error(`CPU expert run: ${m.error}`));
      else w.resolve({ y: m.y!, sec: m.sec!, waitSec: m.waitSec ?? 0 });
    });
  }

  /** Starts the worker with the host weights of `keys` (copied to it, untimed). */
  static async open(hosts: readonly ExpertWeights[], keys: Iterable<number>, threads = 1): Promise<CpuExpertRunner> {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    const worker = new Worker(WORKER, { eval: true, workerData: { ortPath, model: buildExpertModel('float32'), threads } });
    const reply = (what: string) =>
      new Promise<void>((resolve, reject) => {
        const on = (m: Record<string, unknown>) => {
          if (m.fatal !== undefined) reject(new Error(`CPU worker: ${String(m.fatal)}`));
          else if (what in m) resolve();
          else return;
          worker.off('message', on);
        };
        worker.on('message', on);
        worker.once('error', reject);
      });
    await reply('ready');
    const weights = [...keys].map((key) => {
      const w = hosts[key];
      return { key, h: w.shape.hiddenSize, f: w.shape.intermediateSize, w1: w.w1, w3: w.w3, w2: w.w2 };
    });
    const loaded = reply('loaded');
    worker.postMessage({ weights });
    await loaded;
    return new CpuExpertRunner(worker);
  }

  /** Queues one run of expert `key` on x ([tokens, hidden]); resolves with y and the seconds the run took in the worker. */
  submit(key: number, x: Float32Array): Promise<{ y: Float32Array; sec: number; waitSec: number }> {
    const id = this.next++;
    const done = new Promise<{ y: Float32Array; sec: number; waitSec: number }>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.inflight.add(done);
    done.then(
      () => this.inflight.delete(done),
      () => this.inflight.delete(done),
    );
    // x is the job's own buffer: handed over, not copied.
    this.worker.postMessage({ id, key, x }, [x.buffer as ArrayBuffer]);
    return done;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    await this.worker.terminate();
  }
}

/** The replay's MissCosts of `scenario.policies[index]`'s handler (its lower-bit format, if any). */
export function policyMissCosts(scenario: Scenario, index: number, source: MissCostSourceSpec, shape: ExpertShape | undefined, speed?: MissSpeed): MissCosts {
  const p = scenario.policies[index];
  const onMiss = 'onMiss' in p ? p.onMiss : undefined;
  if (!onMiss || !shape) throw new Error(`policies[${index}]: a replay's miss costs need its onMiss and the replayed shape`);
  return replayMissCosts(shape, source, missLowBit(onMiss), speed, `policies[${index}].onMiss.dtype`);
}

/** One CPU job of the current layer: its rows, their gate weights, its run. */
interface CpuJob {
  rows: Int32Array;
  gates: Float32Array;
  run: Promise<{ y: Float32Array; sec: number; waitSec: number }>;
}

/**
 * What a replay pass needs for the CPU and lower-bit paths: the CPU runner, the devices of the
 * lower-bit formats and every copy the schedules upload (quantised before any pass, untimed), and
 * the CPU jobs of the layer in flight.
 */
export class MissSide {
  private pending: CpuJob[] = [];

  private constructor(
    private readonly cpu: CpuExpertRunner | undefined,
    private readonly devices: Map<number, LowBitDevice>,
    private readonly copies: Map<number, Map<number, LowBitWeights>>,
    private readonly trace: Trace,
    private readonly hiddenSize: number,
    private readonly numExperts: number,
  ) {}

  static async open(backend: Backend, scenario: Scenario, schedules: readonly { index: number; log: ScheduleLog }[], hosts: readonly ExpertWeights[], shape: ExpertShape, trace: Trace): Promise<MissSide> {
    const threads = Number(/(\d+) intra-op thread/.exec(backend.device)?.[1] ?? 1);
    let cpu: CpuExpertRunner | undefined;
    const devices = new Map<number, LowBitDevice>();
    const copies = new Map<number, Map<number, LowBitWeights>>();
    const byFormat = new Map<string, { dev: LowBitDevice; copies: Map<number, LowBitWeights>; fmt: LowBitFormat }>();
    const cpuKeys = new Set<number>();
    for (const { log } of schedules) for (let i = 0; i < log.length; i++) if (log.op(i) === OP_CPU) cpuKeys.add(log.a(i));
    if (cpuKeys.size > 0) cpu = await CpuExpertRunner.open(hosts, cpuKeys, threads);
    for (const { index, log } of schedules) {
      const keys = new Set<number>();
      for (let i = 0; i < log.length; i++) if (log.op(i) === OP_STAGE_LOW) keys.add(log.a(i));
      if (keys.size === 0) continue;
      const p = scenario.policies[index];
      const lowBit = 'onMiss' in p && p.onMiss ? missLowBit(p.onMiss) : undefined;
      if (!lowBit) throw new Error(`policies[${index}]: lower-bit copies in the schedule of a policy without a lower-bit format`);
      const fmt = lowBitFormat(lowBit, shape, `policies[${index}].onMiss.dtype`);
      const id = `${fmt.dtype}/${fmt.block}`;
      let f = byFormat.get(id);
      if (!f) {
        f = { dev: await LowBitDevice.open(backend, shape, fmt, threads), copies: new Map(), fmt };
        byFormat.set(id, f);
      }
      for (const k of keys) if (!f.copies.has(k)) f.copies.set(k, quantizeExpert(hosts[k], fmt));
      devices.set(index, f.dev);
      copies.set(index, f.copies);
    }
    return new MissSide(cpu, devices, copies, trace, shape.hiddenSize, hosts.length / trace.numLayers);
  }

  lowBit(index: number): LowBitDevice {
    const d = this.devices.get(index);
    if (!d) throw new Error(`policies[${index}]: no lower-bit device`);
    return d;
  }

  /** Warms every lower-bit device's buffers for `live` copies held at once (LowBitDevice.warm); until the returned function is called. */
  warmLowBit(live: number): () => void {
    const undo = [...new Set(this.devices.values())].map((d) => d.warm(live));
    return () => {
      for (const u of undo) u();
    };
  }

  /** Buffers the lower-bit devices carved out of new pages so far. */
  get lowBitFreshBuffers(): number {
    let n = 0;
    for (const d of new Set(this.devices.values())) n += d.freshBuffers;
    return n;
  }

  quantized(index: number, key: number): LowBitWeights {
    const q = this.copies.get(index)?.get(key);
    if (!q) throw new Error(`policies[${index}]: expert ${key} has no lower-bit copy`);
    return q;
  }

  /**
   * Starts expert `e` of `layer` on the CPU over the step's tokens routed to it (their normalised
   * hidden states), from the worker's copy of its host weights; returns how many tokens that is.
   */
  submitCpu(step: Step, layer: number, e: number, normed: Float32Array): number {
    if (!this.cpu) throw new Error('replay: a CPU job without a CPU runner');
    const t = this.trace;
    const L = t.numLayers;
    const K = t.topK;
    const h = this.hiddenSize;
    const rows: number[] = [];
    const gates: number[] = [];
    for (let r = 0; r < step.count; r++) {
      const slot = (step.tokens[r] * L + layer) * K;
      for (let k = 0; k < K; k++) {
        if (t.experts[slot + k] !== e) continue;
        const w = t.weights ? t.weights[slot + k] : NaN;
        rows.push(r);
        gates.push(Number.isFinite(w) ? w : 1 / K);
      }
    }
    const n = rows.length;
    const x = new Float32Array(n * h);
    for (let r = 0; r < n; r++) x.set(normed.subarray(rows[r] * h, rows[r] * h + h), r * h);
    if (n > 0) this.pending.push({ rows: Int32Array.from(rows), gates: Float32Array.from(gates), run: this.cpu.submit(layer * this.numExperts + e, x) });
    return n;
  }

  /** The layer's CPU jobs are waited for, in order, and their outputs added to the hidden states. */
  async layerEnd(hidden: Float32Array, h: number, c: { cpuSec: number; cpuWaitSec: number }): Promise<void> {
    if (this.pending.length === 0) return;
    const jobs = this.pending;
    this.pending = [];
    for (const j of jobs) {
      const { y, sec, waitSec } = await j.run;
      c.cpuSec += sec;
      c.cpuWaitSec += waitSec;
      for (let r = 0; r < j.rows.length; r++) {
        const g = j.gates[r];
        const off = j.rows[r] * h;
        for (let k = 0; k < h; k++) hidden[off + k] += g * y[r * h + k];
      }
    }
  }

  /** Waits for CPU jobs still running (a pass that failed), ignoring their results. */
  async drain(): Promise<void> {
    const jobs = this.pending;
    this.pending = [];
    await Promise.allSettled(jobs.map((j) => j.run));
  }

  async close(): Promise<void> {
    await this.drain();
    await this.cpu?.close();
    for (const d of new Set(this.devices.values())) await d.close();
  }
}
