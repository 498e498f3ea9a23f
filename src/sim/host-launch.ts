/**
 * The host thread (when the timing model has one: StepCosts.host). The host issues, in program
 * order: the pre-expert work of a layer; after the gate (the host needs the router's choice: it
 * waits for that GPU job) each expert, resident ones first; then the next layer's loads (the
 * prefetch plan); then the next layer's pre-expert work (or the tail). A GPU job starts when its
 * launch is issued AND what it needs is there (an expert's weights; for a stage, the previous
 * layer's experts computed). So the host runs ahead of the GPU, and copies queued on the stream run
 * while the host issues. With `syncPerExpert` the host waits, before each expert, until the stream
 * has drained.
 *
 * The loop (offload-sim.ts) owns the host's SerialResource as it owns the GPU's, hears its jobs'
 * ends and hands them here (jobDone); it submits every GPU job of a run with a host thread through
 * submitStage / submitExpert below.
 */
import type { BandwidthLink, SerialResource } from '../engine/resource.js';
import type { ExpertCache } from '../policies/expert-cache.js';
import type { HostCosts } from '../timing/costs.js';
import type { LayerUnion } from '../trace/union.js';
import type { InFlight } from './inflight.js';
import { BUF_WAITING, type PrefetchBuffers } from './prefetch-buffers.js';
import { JOB_EXPERT, JOB_PRE, JOB_TAIL, expertJob, jobKey, jobKind } from './jobs.js';
import type { LoopPosition } from './observers.js';

export interface HostWorld {
  readonly numLayers: number;
  readonly numExperts: number;
  readonly gpu: SerialResource;
  readonly host: SerialResource;
  readonly link: BandwidthLink;
  readonly costs: HostCosts;
  /** A copy engine apart from the compute stream: a sync need not wait for the link. */
  readonly linkOverlapsCompute: boolean;
  readonly cache: ExpertCache;
  readonly inflight: InFlight;
  /** Prefetch buffers outside the cache (prefetch-buffers.ts); a guess waiting in one is ready to launch. */
  readonly buffers: PrefetchBuffers | null;
  readonly at: LoopPosition;
  /** The experts of the layer are issued: the loop issues the next layer's loads (the prefetch plan). */
  launched(nextLayer: number): void;
}

export class HostLauncher {
  /** Per key: 1 while its expert's launch has not been issued by the host. */
  private readonly hostLaunching: Uint8Array;
  /** Per key: GPU seconds of an expert whose weights are ready but whose launch is not (-1: none). */
  private readonly deferredSec: Float64Array;
  private readonly deferredTokens: Int32Array;
  /** Per key: the stream place its launch took (SerialResource.reserveSeq), -1 before its launch. */
  private readonly launchSeq: Float64Array;
  /** The layer's experts in the host's launch order, and how many were issued. */
  private readonly launchKeys: Int32Array;
  private readonly launchTokens: Int32Array;
  private launchCount = 0;
  private launchPos = 0;
  /** Experts launched and not yet computed (a host sync waits for 0). */
  private launchedNotDone = 0;
  private hostSyncWaiting = false;
  /** The host issued the next stage (pre-expert work of the next layer, or the tail); its GPU part, if waiting for that. */
  private stageLaunched = false;
  private stageWaitingSec = -1;
  private stageWaitingTag = 0;
  private stageSeq = -1;

  constructor(private readonly w: HostWorld) {
    const nKeys = w.numLayers * w.numExperts;
    this.hostLaunching = new Uint8Array(nKeys);
    this.deferredSec = new Float64Array(nKeys).fill(-1);
    this.deferredTokens = new Int32Array(nKeys);
    this.launchSeq = new Float64Array(nKeys).fill(-1);
    this.launchKeys = new Int32Array(2 * w.numExperts);
    this.launchTokens = new Int32Array(2 * w.numExperts);
  }

  /** A step starts: the host issues its first layer's pre-expert work. */
  stepStarted(): void {
    this.launchStage(0);
  }

  /** Orders the gate's `u` experts for launch: resident (not in flight) first, then the others (load_experts(unordered=True)). */
  gateOpened(union: LayerUnion, u: number, keyBase: number): void {
    const cache = this.w.cache;
    const inflight = this.w.inflight;
    const buffers = this.w.buffers;
    let w = 0;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < u; i++) {
        const e = union.experts[i];
        const key = keyBase + e;
        const ready = (cache.resident[key] === 1 || (buffers !== null && buffers.state[key] === BUF_WAITING)) && inflight.job[key] < 0;
        if (ready !== (pass === 0)) continue;
        this.launchKeys[w] = key;
        this.launchTokens[w++] = union.tokens[e];
        this.hostLaunching[key] = 1;
      }
    }
    this.launchCount = w;
    this.launchPos = 0;
  }

  /** Removes `key` from the launch list (it is computed on the CPU). */
  computedOnCpu(key: number): void {
    for (let i = this.launchPos; i < this.launchCount; i++) {
      if (this.launchKeys[i] !== key) continue;
      this.launchKeys.copyWithin(i, i + 1, this.launchCount);
      this.launchTokens.copyWithin(i, i + 1, this.launchCount);
      this.launchCount--;
      this.hostLaunching[key] = 0;
      return;
    }
  }

  /** The gate's lookups are done: the host issues the experts (or, with none, what follows). */
  gateDone(): void {
    if (this.launchCount === 0) this.launchesDone();
    else this.launchNext();
  }

  /** An expert's GPU job ended. */
  expertDone(): void {
    this.launchedNotDone--;
  }

  /** A job ended somewhere: a host waiting in a sync re-checks whether the stream has drained. */
  jobEnded(): void {
    if (this.hostSyncWaiting) {
      this.hostSyncWaiting = false;
      this.launchNext();
    }
  }

  /** Whether the stream has drained: every launched expert computed, nothing on the GPU and, with copies on the compute stream, nothing on the link. */
  private drained(): boolean {
    const gpu = this.w.gpu;
    if (this.launchedNotDone > 0 || !gpu.idle || gpu.queued > 0) return false;
    const link = this.w.link.resource;
    return this.w.linkOverlapsCompute || (link.idle && link.queued === 0);
  }

  /** Issues the next expert's launch on the host (if the host is free and, with a sync per expert, the stream drained). */
  private launchNext(): void {
    const host = this.w.host;
    if (!host.idle || host.queued > 0) return;
    if (this.launchPos === this.launchCount) return;
    if (this.w.costs.syncPerExpert && !this.drained()) {
      this.hostSyncWaiting = true;
      return;
    }
    const i = this.launchPos++;
    host.submit(this.w.costs.expertSec(this.launchTokens[i]), 0, expertJob(this.launchKeys[i]), this.launchTokens[i]);
  }

  /** A host job (a launch) ended. */
  jobDone(tag: number): void {
    const kind = jobKind(tag);
    if (kind === JOB_EXPERT) {
      const key = jobKey(tag);
      this.hostLaunching[key] = 0;
      this.launchedNotDone++;
      const sec = this.deferredSec[key];
      if (sec >= 0) {
        this.deferredSec[key] = -1;
        this.w.gpu.submit(sec, 0, expertJob(key), this.deferredTokens[key]);
      } else this.launchSeq[key] = this.w.gpu.reserveSeq(); // its kernels wait in the stream for its weights

      if (this.launchPos < this.launchCount) this.launchNext();
      else this.launchesDone();
      return;
    }
    // A stage (pre-expert work or the tail) is issued: its GPU part runs once the previous layer is computed.
    if (this.stageWaitingSec >= 0) {
      const sec = this.stageWaitingSec;
      this.stageWaitingSec = -1;
      this.w.gpu.submit(sec, 0, this.stageWaitingTag);
    } else {
      this.stageLaunched = true;
      this.stageSeq = this.w.gpu.reserveSeq();
    }
  }

  /** The layer's experts are issued: the next layer's loads, then its pre-expert work (or the tail). */
  private launchesDone(): void {
    const next = this.w.at.layer + 1;
    this.w.launched(next);
    this.launchStage(next);
  }

  /** The host issues the pre-expert work of MoE layer `target` (the tail when `target` is L). */
  private launchStage(target: number): void {
    const step = this.w.at.step!;
    const h = this.w.costs;
    const tail = target >= this.w.numLayers;
    const sec = tail ? h.tailSec(step.count, step.contextTokens, step.emitCount) : h.preExpertSec(target, step.count, step.contextTokens);
    this.w.host.submit(sec, 0, tail ? JOB_TAIL : JOB_PRE);
  }

  /** The GPU part of a stage: now if its launch is issued, else when it is. */
  submitStage(sec: number, tag: number): void {
    if (this.stageLaunched) {
      this.stageLaunched = false;
      this.w.gpu.submit(sec, 0, tag, 0, 0, this.stageSeq);
      return;
    }
    this.stageWaitingSec = sec;
    this.stageWaitingTag = tag;
  }

  /** An expert's GPU job: when its launch is issued (now, if it is). */
  submitExpert(sec: number, key: number, n: number): void {
    if (this.hostLaunching[key] === 1) {
      this.deferredSec[key] = sec;
      this.deferredTokens[key] = n;
      return;
    }
    const seq = this.launchSeq[key];
    this.launchSeq[key] = -1;
    this.w.gpu.submit(sec, 0, expertJob(key), n, 0, seq);
  }
}
