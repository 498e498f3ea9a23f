/**
 * The miss handlers a replay executes besides fetching (issue 12 item 7): Fiddler's `cpu` (a missed
 * expert computed on the CPU from host memory while the device goes on) and HOBBIT's
 * `low-precision` (a missed expert fetched as a lower-bit copy, low-bit.ts), with the simulator's
 * costs of those paths from a calibration profile.
 *
 * The CPU path runs the expert graph on ONNX Runtime's CPU execution provider in a session of its
 * own (one intra-op thread, as calibrated), from the expert's host weights: no upload. Its runs are
 * started with the asynchronous `run`, which onnxruntime-node executes on a libuv worker thread, so
 * the replaying thread goes on with the device side's uploads and runs meanwhile (on the cpu
 * backend those are themselves runs on another worker: two threads compute at once, as the
 * simulator's CPU and "GPU" resources do). The CPU runs its jobs one after the other in the order
 * the gate submitted them (the simulator's CPU is one serial resource); the layer ends once the
 * last is back and its output added to the hidden states.
 *
 * The simulator's costs (replayMissCosts): a CPU expert takes the profile's host-CPU expert fit
 * (fit.cpuExpert; on the cpu backend, where the device is that CPU, fit.expert) over the fp32
 * expert's bytes and FLOPs; the replay's hidden states live on the host, so nothing crosses a link
 * for it (cpuRoundTripSec is the CPU time alone). A lower-bit copy uploads its real bytes over the
 * profile's link, and runs in the profile's fit of that format's expert runs (fit.lowBitExpert,
 * measured by `moesim calibrate`).
 */
import type { InferenceSession } from 'onnxruntime-common';
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

type FitLike = Pick<ExpertFit, 'overheadSec' | 'memBandwidthBytesPerSec' | 'throughputFlopsPerSec'>;

/** Bytes one lower-bit run touches: the packed weights and scales, plus x and y in fp32. */
export function lowBitBytesMoved(shape: ExpertShape, dtype: LowBitDtype, tokens: number): number {
  return lowBitExpertBytes(shape, lowBitFormat(dtype, shape)) + 2 * tokens * shape.hiddenSize * 4;
}

/** Where the replay's miss costs come from: a calibration profile's fits, or (no profile) a Hardware's roofline. */
export type MissCostSourceSpec = { profile: CalibrationProfile } | { hardware: Hardware };

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
    const lf = fmt ? p.fit.lowBitExpert?.[fmt.dtype] : undefined;
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

/** A replay's StepCosts with a CPU round trip that is the CPU time alone (the hidden states are on the host already). */
export function hostResidentRoundTrip(costs: StepCosts): StepCosts {
  return { ...costs, cpuRoundTripSec: (_bytes, cpuSec) => cpuSec };
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
 * The CPU side of a replay: the expert graph on ONNX Runtime's CPU EP, one session, runs queued one
 * after the other (a serial CPU), each started asynchronously so the caller goes on.
 */
export class CpuExpertRunner {
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ort: typeof import('onnxruntime-node'),
    private readonly session: InferenceSession,
  ) {}

  static async open(threads = 1): Promise<CpuExpertRunner> {
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(buildExpertModel('float32'), { executionProviders: ['cpu'], logSeverityLevel: 3, intraOpNumThreads: threads });
    return new CpuExpertRunner(ort, session);
  }

  /**
   * Queues one run of the expert on x ([tokens, hidden]) from its host weights: it starts once the
   * runs queued before it are done. Resolves with y and the seconds it ran (from its start).
   */
  submit(x: Float32Array, w: ExpertWeights, now: () => bigint): Promise<{ y: Float32Array; sec: number }> {
    const { hiddenSize: h, intermediateSize: f } = w.shape;
    const T = this.ort.Tensor;
    const feeds = {
      x: new T('float32', x, [x.length / h, h]),
      w1: new T('float32', w.w1 as Float32Array, [h, f]),
      w3: new T('float32', w.w3 as Float32Array, [h, f]),
      w2: new T('float32', w.w2 as Float32Array, [f, h]),
    };
    const run = this.tail.then(async () => {
      const t0 = now();
      const out = await this.session.run(feeds);
      return { y: out.y.data as Float32Array, sec: Number(now() - t0) / 1e9 };
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.tail;
    await this.session.release();
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
  run: Promise<{ y: Float32Array; sec: number }>;
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
  ) {}

  static async open(backend: Backend, scenario: Scenario, schedules: readonly { index: number; log: ScheduleLog }[], hosts: readonly ExpertWeights[], shape: ExpertShape, trace: Trace): Promise<MissSide> {
    const threads = Number(/(\d+) intra-op thread/.exec(backend.device)?.[1] ?? 1);
    let cpu: CpuExpertRunner | undefined;
    const devices = new Map<number, LowBitDevice>();
    const copies = new Map<number, Map<number, LowBitWeights>>();
    const byFormat = new Map<string, { dev: LowBitDevice; copies: Map<number, LowBitWeights>; fmt: LowBitFormat }>();
    for (const { index, log } of schedules) {
      let usesCpu = false;
      const keys = new Set<number>();
      for (let i = 0; i < log.length; i++) {
        if (log.op(i) === OP_CPU) usesCpu = true;
        else if (log.op(i) === OP_STAGE_LOW) keys.add(log.a(i));
      }
      if (usesCpu && !cpu) cpu = await CpuExpertRunner.open(threads);
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
    return new MissSide(cpu, devices, copies, trace, shape.hiddenSize);
  }

  lowBit(index: number): LowBitDevice {
    const d = this.devices.get(index);
    if (!d) throw new Error(`policies[${index}]: no lower-bit device`);
    return d;
  }

  quantized(index: number, key: number): LowBitWeights {
    const q = this.copies.get(index)?.get(key);
    if (!q) throw new Error(`policies[${index}]: expert ${key} has no lower-bit copy`);
    return q;
  }

  /**
   * Starts expert `e` of `layer` on the CPU over the step's tokens routed to it (their normalised
   * hidden states), from its host weights; returns how many tokens that is.
   */
  submitCpu(step: Step, layer: number, e: number, normed: Float32Array, weights: ExpertWeights, now: () => bigint): number {
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
    if (n > 0) this.pending.push({ rows: Int32Array.from(rows), gates: Float32Array.from(gates), run: this.cpu.submit(x, weights, now) });
    return n;
  }

  /** The layer's CPU jobs are waited for, in order, and their outputs added to the hidden states. */
  async layerEnd(hidden: Float32Array, h: number, c: { cpuSec: number }): Promise<void> {
    if (this.pending.length === 0) return;
    const jobs = this.pending;
    this.pending = [];
    for (const j of jobs) {
      const { y, sec } = await j.run;
      c.cpuSec += sec;
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
