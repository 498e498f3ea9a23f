/**
 * Observers of a simulated run: they are told what the loop (offload-sim.ts) and the prefetch plan
 * (prefetch-plan.ts) do, in the order they do it, and record it; they charge nothing and decide
 * nothing. Two exist: the timeline of a window of steps (TimelineRecorder, the report's Gantt chart)
 * and the schedule log (ScheduleRecorder, what `moesim replay` executes). A run without either has
 * no observer, and the loop pays one null check per fact.
 */
import type { TimelineSpan } from '../metrics/types.js';
import type { Step } from '../trace/steps.js';
import { JOB_EXPERT, JOB_PRE, LINK_DEMAND, LINK_KIND_NAMES, LINK_LOW_BIT, LINK_PREFETCH, LINK_STAGED, STREAM_TAG, WRITE_BACK_TAG, jobKey, jobKind } from './jobs.js';
import { OP_CANCEL, OP_COMPUTE, OP_CPU, OP_EVICT, OP_GATE, OP_LAYER, OP_READ, OP_STAGE, OP_STAGE_LOW, OP_STEP, OP_STEP_END, OP_UPLOAD, type ScheduleLog } from './schedule.js';

/** The resource a job runs on. */
export const LANE_GPU = 0;
export const LANE_LINK = 1;
export const LANE_CPU = 2;
export const LANE_HOST = 3;

/** Where the loop is: the step being computed (null between steps) and its MoE layer (numLayers: the tail). */
export interface LoopPosition {
  readonly step: Step | null;
  readonly layer: number;
}

export interface SimObserver {
  /** A forward pass starts. */
  stepStarted(step: Step): void;
  /** MoE layer `layer` starts (its non-expert work is submitted); not told for the tail. */
  layerStarted(layer: number): void;
  /** The router of `layer` has chosen; its experts are looked up next. */
  gated(layer: number): void;
  /** The cache gave `victim`'s slot to `key`. */
  evicted(victim: number, key: number): void;
  /** A queued prefetch of `key` was cancelled before it started. */
  cancelled(key: number): void;
  /** The step's tail is computed. */
  stepEnded(): void;
  /** The GPU idles, with no step, until `sec`. */
  idleUntil(sec: number): void;
  /** A miss of `key` over `tokens` tokens is computed on the CPU: its job is submitted (it starts when the CPU is free). */
  cpuSubmitted(key: number, tokens: number): void;
  /** A job (tags as in jobs.ts) starts on `lane` (LANE_*). */
  jobStarted(lane: number, tag: number, tag2: number, startSec: number, endSec: number): void;
  /** An SSD read of `key` (with a storage tier) starts; `demand`: a miss waits for it. */
  ssdRead(key: number, demand: boolean, startSec: number, endSec: number): void;
}

/** Several observers told the same facts, in the order given. */
export class Observers implements SimObserver {
  constructor(private readonly list: readonly SimObserver[]) {}
  stepStarted(step: Step): void {
    for (const o of this.list) o.stepStarted(step);
  }
  layerStarted(layer: number): void {
    for (const o of this.list) o.layerStarted(layer);
  }
  gated(layer: number): void {
    for (const o of this.list) o.gated(layer);
  }
  cpuSubmitted(key: number, tokens: number): void {
    for (const o of this.list) o.cpuSubmitted(key, tokens);
  }
  evicted(victim: number, key: number): void {
    for (const o of this.list) o.evicted(victim, key);
  }
  cancelled(key: number): void {
    for (const o of this.list) o.cancelled(key);
  }
  stepEnded(): void {
    for (const o of this.list) o.stepEnded();
  }
  idleUntil(sec: number): void {
    for (const o of this.list) o.idleUntil(sec);
  }
  jobStarted(lane: number, tag: number, tag2: number, startSec: number, endSec: number): void {
    for (const o of this.list) o.jobStarted(lane, tag, tag2, startSec, endSec);
  }
  ssdRead(key: number, demand: boolean, startSec: number, endSec: number): void {
    for (const o of this.list) o.ssdRead(key, demand, startSec, endSec);
  }
}

/** One observer for the list (null for none). */
export function observe(list: SimObserver[]): SimObserver | null {
  return list.length === 0 ? null : list.length === 1 ? list[0] : new Observers(list);
}

export interface TimelineWindow {
  fromStep: number;
  steps: number;
}

/**
 * The timeline of the steps in a window: one span per job on its lane (GPU, link or SSD, CPU; the
 * host thread's launches on the CPU lane), and a GPU 'stall' span for each gap between GPU jobs
 * inside a step (a gap while no step runs is idle and drawn as nothing).
 */
export class TimelineRecorder implements SimObserver {
  private lastGpuEndSec = 0;
  private readonly toMs = 1e3;

  constructor(
    private readonly spans: TimelineSpan[],
    private readonly window: TimelineWindow,
    private readonly numExperts: number,
    /** The lane of the link's transfers: the SSD's when the link is the SSD (unified memory, GPUDirect Storage). */
    private readonly linkLane: 'link' | 'ssd',
    private readonly at: LoopPosition,
  ) {}

  private inWindow(): boolean {
    const w = this.window;
    const s = this.at.step;
    return s !== null && s.index >= w.fromStep && s.index < w.fromStep + w.steps;
  }

  stepStarted(): void {}
  layerStarted(): void {}
  gated(): void {}
  evicted(): void {}
  cancelled(): void {}
  stepEnded(): void {}

  idleUntil(sec: number): void {
    this.lastGpuEndSec = sec; // the gap is idle time, not stall
  }

  jobStarted(lane: number, tag: number, tag2: number, startSec: number, endSec: number): void {
    const E = this.numExperts;
    const toMs = this.toMs;
    if (lane === LANE_HOST) {
      if (this.inWindow()) {
        const expert = jobKind(tag) === JOB_EXPERT ? jobKey(tag) % E : -1;
        this.spans.push({ resource: 'cpu', kind: 'host-launch', startMs: startSec * toMs, endMs: endSec * toMs, step: this.at.step!.index, layer: this.at.layer, expert });
      }
      return;
    }
    if (!this.inWindow()) {
      if (lane === LANE_GPU) this.lastGpuEndSec = endSec;
      return;
    }
    const stepIndex = this.at.step!.index;
    const layer = this.at.layer;
    if (lane === LANE_GPU) {
      if (startSec > this.lastGpuEndSec + 1e-12) {
        this.spans.push({ resource: 'gpu', kind: 'stall', startMs: this.lastGpuEndSec * toMs, endMs: startSec * toMs, step: stepIndex, layer, expert: -1 });
      }
      this.lastGpuEndSec = endSec;
      const job = jobKind(tag);
      const kind = job === JOB_EXPERT ? 'expert' : job === JOB_PRE ? 'attention' : 'lm-head';
      const expert = job === JOB_EXPERT ? jobKey(tag) % E : -1;
      this.spans.push({ resource: 'gpu', kind, startMs: startSec * toMs, endMs: endSec * toMs, step: stepIndex, layer, expert });
    } else if (lane === LANE_CPU) {
      this.spans.push({ resource: 'cpu', kind: 'cpu-expert', startMs: startSec * toMs, endMs: endSec * toMs, step: stepIndex, layer, expert: jobKey(tag) % E });
    } else {
      const key = jobKey(tag);
      const kind = tag2 === STREAM_TAG ? 'prefetch' : tag2 === WRITE_BACK_TAG ? 'write-back' : LINK_KIND_NAMES[jobKind(tag)];
      this.spans.push({ resource: this.linkLane, kind, startMs: startSec * toMs, endMs: endSec * toMs, step: stepIndex, layer: (key / E) | 0, expert: key % E });
    }
  }

  cpuSubmitted(): void {}

  ssdRead(key: number, demand: boolean, startSec: number, endSec: number): void {
    if (!this.inWindow()) return;
    const E = this.numExperts;
    this.spans.push({ resource: 'ssd', kind: demand ? 'ssd-read' : 'ssd-stage', startMs: startSec * 1e3, endMs: endSec * 1e3, step: this.at.step!.index, layer: (key / E) | 0, expert: key % E });
  }
}

/** The schedule log (schedule.ts): the operations in the order they execute. */
export class ScheduleRecorder implements SimObserver {
  constructor(
    private readonly log: ScheduleLog,
    /** Resident before the first step (1 per key): uploaded before the run. */
    resident: Uint8Array,
  ) {
    const initial: number[] = [];
    for (let key = 0; key < resident.length; key++) if (resident[key] === 1) initial.push(key);
    log.initial = Int32Array.from(initial);
  }

  stepStarted(step: Step): void {
    this.log.push(OP_STEP, step.index);
  }
  layerStarted(layer: number): void {
    this.log.push(OP_LAYER, layer);
  }
  gated(layer: number): void {
    this.log.push(OP_GATE, layer);
  }
  evicted(victim: number, key: number): void {
    this.log.push(OP_EVICT, victim, key);
  }
  cancelled(key: number): void {
    this.log.push(OP_CANCEL, key);
  }
  stepEnded(): void {
    this.log.push(OP_STEP_END);
  }
  idleUntil(): void {}
  /** An SSD read into host DRAM (issue 16: a storage tier); b = 1 when a miss waits for it, 0 for a prefetch's staging. */
  ssdRead(key: number, demand: boolean): void {
    this.log.push(OP_READ, key, demand ? 1 : 0);
  }
  /** Recorded when the gate submits it: the CPU runs its jobs in that order beside the device (its start depends on durations). */
  cpuSubmitted(key: number, tokens: number): void {
    this.log.push(OP_CPU, key, tokens);
  }

  jobStarted(lane: number, tag: number, tag2: number): void {
    const key = jobKey(tag);
    if (lane === LANE_GPU) {
      if (jobKind(tag) === JOB_EXPERT) this.log.push(OP_COMPUTE, key, tag2);
    } else if (lane === LANE_LINK) {
      const kind = jobKind(tag);
      if (kind === LINK_STAGED) this.log.push(OP_STAGE, key);
      else if (kind === LINK_DEMAND || kind === LINK_PREFETCH) this.log.push(OP_UPLOAD, key, kind === LINK_PREFETCH ? 1 : 0);
      else if (kind === LINK_LOW_BIT) this.log.push(OP_STAGE_LOW, key);
      else throw new Error(`schedule: link transfer of kind ${kind} cannot be recorded`);
    }
    // CPU jobs are recorded when their gate submits them (cpuSubmitted).
  }
}
