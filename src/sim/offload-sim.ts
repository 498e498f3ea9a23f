/**
 * The loop of the offloading world on the discrete-event engine. Resources: the GPU's compute
 * stream, the host-to-device copy engine (a bandwidth link) and the CPU, which run concurrently
 * (and, when the timing model has one, the host thread that launches the GPU's work). Per step and
 * MoE layer:
 *
 *   1. the GPU runs the non-expert work (attention, router, shared experts, dense layers before it);
 *   2. the router's choice is known (the gate): the union of experts the step's tokens activate is
 *      looked up in the expert cache, in order of first appearance;
 *   3. a resident expert is computed at once (if a prefetch of it is still on the way, when it
 *      arrives: a late prefetch); a missing one goes to the miss handler: fetched over the link
 *      (demand fetches go ahead of prefetches) and computed when its weights have arrived, computed
 *      on the CPU, or fetched as a lower-bit copy;
 *   4. the layer ends when all its experts are computed;
 *   5. the prefetch policy, if any, plans later layers (at the start of the pass and after each
 *      gate), and prefetch-plan.ts reconciles the plan with the cache and the link.
 *
 * Who does what: the cache policy decides hits, admissions and victims, the prefetch policy what to
 * fetch ahead, the miss handler how to serve a miss (policies/); the timing model (timing/) says
 * how long each job takes, and the engine queues it; this file submits the jobs; the ledger
 * (ledger.ts) charges every byte and every second of stall; the observers (observers.ts: the
 * timeline, the schedule log) record what happened. Job tags are encoded in jobs.ts only.
 *
 * Locks: a prefetch being transferred into a cache slot is locked until it arrives, and a planned
 * prefetch is pinned (locked) until its layer's gate; a locked expert is never a victim. Demand
 * accesses lock nothing: they follow the cache policies' documented replay semantics exactly (an
 * expert evicted while its layer still computes with it is used from its slot before the slot is
 * reused, so the timing is unaffected).
 *
 * Steps come from a StepSource asked at the time the GPU becomes free; when it has nothing ready
 * (a serving workload waiting for arrivals) the GPU idles until it says, counted as idle, not stall.
 */
import { Simulator } from '../engine/simulator.js';
import { BandwidthLink, ExclusiveGroup, SerialResource, type JobListener } from '../engine/resource.js';
import { BYPASSED, wasAdmitted, type ExpertCache } from '../policies/expert-cache.js';
import type { SimCounters } from '../metrics/counters.js';
export type { SimCounters, PrefetchCounters } from '../metrics/counters.js';
import type { Trace } from '../trace/types.js';
import { LayerUnion } from '../trace/union.js';
import type { MissCosts, StepCosts } from '../timing/costs.js';
import type { Step, StepSource } from '../trace/steps.js';
import type { MissHandler, MissQuery } from '../policies/miss/types.js';
import { missHandlerInfo } from '../policies/miss/index.js';
import { PrefillStreamer, type PrefillStreaming } from './prefill-stream.js';
import { FETCH_STREAM, Ledger, WAIT_CAPACITY, WAIT_HIT, WAIT_LATE_PREFETCH, WAIT_MISPREDICTION } from './ledger.js';
import { InFlight, fetchInto } from './inflight.js';
import { BUF_DROPPED, BUF_UNCACHED, BUF_WAITING, PrefetchBuffers } from './prefetch-buffers.js';
import { HostLauncher } from './host-launch.js';
import { PRIORITY_DEMAND, PRIORITY_PREFETCH, PrefetchReconciler, type Prefetcher } from './prefetch-plan.js';
import { LANE_CPU, LANE_GPU, LANE_HOST, LANE_LINK, ScheduleRecorder, TimelineRecorder, observe, type LoopPosition, type SimObserver, type TimelineWindow } from './observers.js';
import { JOB_EXPERT, JOB_PRE, JOB_TAIL, LINK_DEMAND, LINK_LOW_BIT, LINK_PREFETCH, LINK_STAGED, STREAM_TAG, WRITE_BACK_TAG, expertJob, jobKey, jobKind, linkJob } from './jobs.js';
import { TIER_CPU, type TierHook } from './tiers.js';
import type { ScheduleLog } from './schedule.js';

export type { MissCosts, StepCosts } from '../timing/costs.js';
export type { TimelineWindow } from './observers.js';
export { PRIORITY_DEMAND, PRIORITY_PREFETCH } from './prefetch-plan.js';

/** Prefetching and miss handling; without them the simulator is demand fetching into the cache. */
export interface OffloadOptions {
  prefetch?: Prefetcher;
  missHandler?: MissHandler;
  missCosts?: MissCosts;
  /** Stream long prefills layer by layer (see prefill-stream.ts). */
  prefillStreaming?: PrefillStreaming;
  /**
   * Record the operations in the order they execute (schedule.ts), for `moesim replay`. Needs a
   * link that does not overlap compute, and fetching on a miss.
   */
  schedule?: ScheduleLog;
  /** Issue 16: host DRAM and the SSD behind the GPU's cache (tiers.ts); misses and prefetches ask it first. */
  tiers?: TierHook;
  /**
   * Issue 16: the link is the SSD (unified memory, GPUDirect Storage: storageLinkCosts); its
   * transfers are drawn on the timeline's SSD lane.
   */
  linkIsStorage?: boolean;
}
/** The name the serving workloads know the options by. */
export type OffloadSimOptions = OffloadOptions;

/** The simulator's own event: the GPU wakes up for an arrival after idling. */
const EVENT_WAKE = 1;

export class OffloadSim implements JobListener, LoopPosition {
  readonly sim = new Simulator();
  readonly gpu: SerialResource;
  readonly link: BandwidthLink;
  readonly cpu: SerialResource;
  /** Every byte and second of stall of this run (ledger.ts). */
  readonly ledger: Ledger;
  private readonly L: number;
  private readonly E: number;
  /** The step being computed (null between steps) and its MoE layer (L: the tail); read by the observers. */
  step: Step | null = null;
  layer = 0;
  private gateSec = 0;
  private pending = 0;
  private expertBusySec = 0;
  private stagingNow = 0;
  /** This gate's CPU task already carries the layer's hidden-state round trip (MissCosts.cpuTaskPerLayer). */
  private cpuTaskOpen = false;
  private readonly union: LayerUnion;
  private layerStartSec = 0;
  private readonly selfId: number;
  private readonly streamer?: PrefillStreamer;
  private lastStepEndSec = 0;
  private readonly inflight: InFlight;
  /** Per key: tokens of a gate waiting for the key's in-flight transfer (0: none). */
  private readonly waitTokens: Int32Array;
  private readonly planner: PrefetchReconciler | null;
  private readonly handler?: MissHandler;
  private readonly missCosts?: MissCosts;
  private readonly query: MissQuery = { tokens: 0, importance: 0, fetchFinishSec: 0, cpuFinishSec: 0 };
  private readonly observer: SimObserver | null;
  private readonly tiers?: TierHook;
  /** The miss handler decides per miss (its table row is not fetch-only); read once, not per miss. */
  private readonly handlerDecides: boolean;
  /** The host (launch) thread, null when launches are inside the GPU times; host-launch.ts orders its launches. */
  readonly host: SerialResource | null;
  private readonly launcher: HostLauncher | null;
  /** Device buffers the prefetches land in, outside the cache (PrefetchPolicy.buffers); null: into cache slots. */
  private readonly buffers: PrefetchBuffers | null;
  /** StepCosts.evictWriteBackSec: link seconds of copying an evicted expert back to the host (0: none). */
  private readonly writeBackSec: number;

  constructor(
    private readonly trace: Trace,
    private readonly cost: StepCosts,
    private readonly cache: ExpertCache,
    private readonly source: StepSource,
    window?: TimelineWindow,
    options: OffloadOptions = {},
  ) {
    this.L = trace.numLayers;
    this.E = cache.numExperts;
    this.gpu = new SerialResource(this.sim, 'gpu', this);
    this.link = new BandwidthLink(this.sim, 'link', cost.h2dSec, this);
    this.cpu = new SerialResource(this.sim, 'cpu', this);
    this.host = cost.host ? new SerialResource(this.sim, 'host', this) : null;
    this.union = new LayerUnion(this.E);
    const nKeys = this.L * this.E;
    this.inflight = new InFlight(nKeys, this.link);
    this.waitTokens = new Int32Array(nKeys);
    this.writeBackSec = cost.evictWriteBackSec ?? 0;
    const bufferCap = options.prefetch?.policy.buffers ?? 0;
    this.buffers = bufferCap > 0 ? new PrefetchBuffers(bufferCap, nKeys) : null;
    if (this.buffers && (options.schedule || options.tiers || options.prefillStreaming)) throw new Error('prefetch.buffers (speculative) is simulated without recorded schedules (replay, validate), storage tiers or prefill streaming');
    this.handler = options.missHandler;
    this.missCosts = options.missCosts;
    if (this.handler && !missHandlerInfo(this.handler.kind).fetchesOnly && !this.missCosts) throw new Error(`miss handler ${this.handler.kind} needs missCosts`);
    this.handlerDecides = this.handler !== undefined && !missHandlerInfo(this.handler.kind).fetchesOnly;
    this.tiers = options.tiers;
    this.ledger = new Ledger(this.L, nKeys, source.streams ?? trace.sequences.length, cost.expertBytes, this.tiers !== undefined);
    const observers: SimObserver[] = [];
    const log = options.schedule;
    if (this.tiers && (options.prefillStreaming || (this.handler !== undefined && missHandlerInfo(this.handler.kind).lowBit !== undefined))) {
      throw new Error('a storage tier is simulated without prefill streaming or lower-bit copies');
    }
    if (log) {
      // With overlap, which operation runs next would depend on durations: no single order exists.
      if (cost.linkOverlapsCompute) throw new Error('a schedule is recorded on a link that does not overlap compute (overlapsCompute: false)');
      if (options.prefillStreaming) throw new Error('a schedule is recorded without prefill streaming');
      // With CPU-computed misses and prefetching, which prefetch uploads run while the CPU finishes would depend on durations.
      if (this.handler && missHandlerInfo(this.handler.kind).bypassesCache && options.prefetch) throw new Error('a schedule with CPU-computed misses is recorded without prefetching');
      if (this.host) throw new Error('a schedule is recorded without a host thread');
      observers.push(new ScheduleRecorder(log, cache.resident));
    }
    if (window) observers.push(new TimelineRecorder(this.ledger.counters.timeline, window, this.E, options.linkIsStorage ? 'ssd' : 'link', this));
    this.observer = observe(observers);
    if (this.tiers) {
      const obs = this.observer;
      this.tiers.bind(
        this.sim,
        (key, kind, n) => this.fromHost(key, kind, n),
        obs ? (key, demand, startSec, endSec) => obs.ssdRead(key, demand, startSec, endSec) : undefined,
      );
    }
    // No copy engine: a transfer and a kernel never run at once; each waits for the other, in order.
    // A recorded schedule is executed by one thread, one operation at a time: the SSD's reads too.
    if (!cost.linkOverlapsCompute) {
      const ssd = log ? this.tiers?.ssdResource : undefined;
      new ExclusiveGroup(ssd ? [this.gpu, this.link.resource, ssd] : [this.gpu, this.link.resource]);
    }
    this.planner = options.prefetch
      ? new PrefetchReconciler(options.prefetch, {
          numLayers: this.L,
          numExperts: this.E,
          topK: trace.topK,
          cache,
          link: this.link,
          inflight: this.inflight,
          ledger: this.ledger,
          observer: this.observer,
          tiers: this.tiers,
          expertBytes: cost.expertBytes,
          writeBackSec: this.writeBackSec,
          buffers: this.buffers,
          at: this,
        })
      : null;
    this.launcher =
      this.host && cost.host
        ? new HostLauncher({
            numLayers: this.L,
            numExperts: this.E,
            gpu: this.gpu,
            host: this.host,
            link: this.link,
            costs: cost.host,
            linkOverlapsCompute: cost.linkOverlapsCompute,
            cache,
            inflight: this.inflight,
            buffers: this.buffers,
            at: this,
            launched: (next) => {
              if (this.planner && next < this.L) this.planner.reconcile(next);
            },
          })
        : null;
    this.selfId = this.sim.register({
      onEvent: (kind) => {
        if (kind === EVENT_WAKE) this.startStep();
      },
    });
    if (options.prefillStreaming) {
      this.streamer = new PrefillStreamer(options.prefillStreaming, this.L, this.E, this.link, cost.expertBytes, cache.resident, PRIORITY_PREFETCH);
    }
  }

  run(): SimCounters {
    this.startStep();
    this.sim.run();
    // The run ends with its last step; transfers still on the link then are not waited for.
    const c = this.ledger.runEnded(this.lastStepEndSec, this.gpu.busySec, this.link.resource.busySec);
    this.tiers?.finish();
    if (this.streamer) this.ledger.streamed(this.streamer.streamedExperts, this.streamer.wastedBytes, this.streamer.peakBuffered);
    return c;
  }

  private startStep(): void {
    const now = this.sim.now;
    const step = this.source.next(now);
    this.step = step;
    if (step === null) {
      const resume = this.source.resumeSec ?? Infinity;
      if (resume === Infinity) return;
      if (!(resume > now)) throw new Error(`step source asked to resume at ${resume}, not after now (${now})`);
      this.ledger.idleUntil(now, resume);
      this.observer?.idleUntil(resume);
      this.sim.at(resume, this.selfId, EVENT_WAKE);
      return;
    }
    this.observer?.stepStarted(step);
    this.ledger.stepStarted(now, step);
    this.layer = 0;
    this.streamer?.stepStarted(step.prefill, step.count);
    this.launcher?.stepStarted();
    this.startLayer();
  }

  private startLayer(): void {
    const step = this.step!;
    this.layerStartSec = this.sim.now;
    if (this.layer === this.L) {
      // Every MoE layer is computed: the step's routing is known from now on.
      this.planner?.stepRouted();
      this.submitStage(this.cost.tailSec(step.count, step.contextTokens, step.emitCount, step.kvTokens), JOB_TAIL);
    } else {
      this.observer?.layerStarted(this.layer);
      this.streamer?.layerStarted(this.layer);
      this.submitStage(this.cost.preExpertSec(this.layer, step.count, step.contextTokens, step.kvTokens, step.prefill), JOB_PRE);
      if (this.layer === 0 && this.planner) this.planner.reconcile(0);
    }
  }

  /** The router has chosen: look up the union of the step's experts at this layer. */
  private gate(): void {
    const layer = this.layer;
    const union = this.union;
    const u = union.compute(this.trace, this.step!, layer);
    this.gateSec = this.sim.now;
    this.observer?.gated(layer);
    this.pending = u;
    this.expertBusySec = 0;
    this.stagingNow = 0;
    this.cpuTaskOpen = false;
    const ledger = this.ledger;
    ledger.layerGated();
    const cache = this.cache;
    const inflight = this.inflight;
    const keyBase = layer * this.E;
    const planner = this.planner;
    if (planner) planner.gateOpened(layer);
    let hits = 0;
    let late = 0;
    let correct = 0;
    const launcher = this.launcher;
    if (launcher) launcher.gateOpened(union, u, keyBase);
    for (let i = 0; i < u; i++) {
      const e = union.experts[i];
      const n = union.tokens[e];
      const key = keyBase + e;
      const planned = planner !== null && planner.named(key);
      if (planned) correct++;
      const fromBuffer = this.buffers !== null && this.buffers.state[key] === BUF_WAITING && cache.resident[key] !== 1 && this.adopt(key);
      if (cache.resident[key] === 1 || fromBuffer) {
        if (cache.resident[key] === 1) cache.access(key);
        if (inflight.job[key] >= 0) {
          // On its way: wait for it, at demand priority.
          late++;
          if (inflight.isPrefetch[key] === 1) {
            ledger.prefetchLate();
            inflight.isPrefetch[key] = 0;
          }
          inflight.reprioritize(key, PRIORITY_DEMAND);
          this.waitTokens[key] = n;
          ledger.waitsFor(key, WAIT_LATE_PREFETCH, this.gateSec);
        } else {
          hits++;
          ledger.accessedReady(key);
          ledger.waitsFor(key, WAIT_HIT, this.gateSec);
          this.submitExpert(this.cost.expertSec(n), key, n);
        }
      } else if (this.miss(key, n, layer, planner !== null && !planned ? WAIT_MISPREDICTION : WAIT_CAPACITY) && launcher) {
        launcher.computedOnCpu(key); // no GPU launch
      }
    }
    if (this.buffers !== null) this.dropBuffered(keyBase);
    this.streamer?.gateDone(layer);
    ledger.gated(layer, u, hits, late, this.stagingNow);
    if (planner) {
      ledger.planScored(planner.plannedAt(layer), u, correct);
      planner.gateClosed(layer, u, correct);
      // With a host thread, the next layer's loads are issued after this layer's expert launches (launchesDone).
      if (layer + 1 < this.L && !launcher) planner.reconcile(layer + 1);
    }
    launcher?.gateDone();
    if (u === 0) this.layerDone();
  }

  /** Serves a miss: fetch into the cache (or a staging buffer), compute on the CPU, or fetch a lower-bit copy. True if on the CPU. */
  private miss(key: number, n: number, layer: number, waitClass: number): boolean {
    const cache = this.cache;
    const h = this.handler;
    let decision: 'fetch' | 'cpu' | 'low-bit' = 'fetch';
    const mc = this.missCosts;
    if (h && this.handlerDecides && mc) {
      const q = this.query;
      q.tokens = n;
      q.importance = h.needsImportance ? this.importance(layer, key - layer * this.E) : 1;
      if (h.needsEstimates) {
        q.fetchFinishSec = this.link.resource.backlogSec(PRIORITY_DEMAND) + this.cost.h2dSec(this.cost.expertBytes) + this.cost.expertSec(n);
        q.cpuFinishSec = this.cpu.backlogSec(0) + this.cpuJobSec(n, this.cpuTaskOpen);
      }
      decision = h.decide(q);
    }
    this.ledger.waitsFor(key, waitClass, this.sim.now);
    if (decision === 'cpu') {
      this.evicted(cache.access(key, false), key);
      // The bytes the task's hand-off moves: once per layer's task; a runtime's own split copies
      // (llama.cpp) move what they move, the whole step's tensors, none inside a CPU-resident layer.
      const handoff = this.cpuTaskOpen ? 0 : mc!.cpuTaskHandoffBytes ? mc!.cpuTaskHandoffBytes(layer, this.step!.count) : 2 * mc!.activationBytes(n);
      this.ledger.computedOnCpu(handoff);
      this.observer?.cpuSubmitted(key, n);
      if (!this.tiers || this.tiers.request(key, TIER_CPU, n)) this.cpu.submit(this.cpuTaskSec(n), 0, expertJob(key), n);
      return true;
    } else if (decision === 'low-bit') {
      this.evicted(cache.access(key, false), key);
      this.ledger.computedLowBit(mc!.lowBitExpertBytes);
      this.stagingNow++;
      if (mc!.lowBitUploadSec !== undefined) this.link.resource.submit(mc!.lowBitUploadSec, PRIORITY_DEMAND, linkJob(key, LINK_LOW_BIT), n, mc!.lowBitExpertBytes);
      else this.link.transfer(mc!.lowBitExpertBytes, PRIORITY_DEMAND, linkJob(key, LINK_LOW_BIT), n);
    } else {
      const outcome = cache.access(key);
      this.evicted(outcome, key);
      const streamed = this.streamer ? this.streamer.claim(key, n) : -1;
      if (streamed >= 0) {
        // Streamed ahead by a prefill (into a staging buffer): compute now, or when it arrives.
        if (streamed > 0) this.submitExpert(this.cost.expertSec(n), key, n);
      } else if (wasAdmitted(outcome)) {
        this.inflight.isPrefetch[key] = 0;
        if (!this.tiers || this.tiers.request(key, LINK_DEMAND, n)) this.inflight.job[key] = fetchInto(this.link, this.cost.expertBytes, outcome, this.writeBackSec, PRIORITY_DEMAND, linkJob(key, LINK_DEMAND), n);
      } else {
        this.stagingNow++;
        if (!this.tiers || this.tiers.request(key, LINK_STAGED, n)) this.link.transfer(this.cost.expertBytes, PRIORITY_DEMAND, linkJob(key, LINK_STAGED), n);
      }
    }
    return false;
  }

  /**
   * The gate chose a buffered guess: the cache adopts it (the buffer becomes its slot, the victim's
   * slot a free buffer, as mixtral-offloading's ExpertCache._swap trades them) and the victim goes
   * back to host memory now. Still on the link: its slot is locked until it lands. A cache that
   * refuses it leaves it in its buffer (BUF_UNCACHED) until computed. True: the expert is computed
   * from where it landed.
   */
  private adopt(key: number): boolean {
    const buffers = this.buffers!;
    const outcome = this.cache.insert(key);
    if (outcome === BYPASSED) {
      if (this.inflight.job[key] >= 0) buffers.state[key] = BUF_UNCACHED;
      else buffers.free(key);
      return true;
    }
    this.evicted(outcome, key);
    // Device to host: no H2D bytes.
    if (outcome >= 0 && this.writeBackSec > 0) this.link.resource.submit(this.writeBackSec, PRIORITY_DEMAND, linkJob(outcome, LINK_STAGED), WRITE_BACK_TAG, 0);
    buffers.free(key);
    if (this.inflight.job[key] >= 0) this.cache.lock(key);
    return true;
  }

  /** After a gate: the guesses for its layer it did not choose are dropped (a copy still on the link keeps its buffer until it lands). */
  private dropBuffered(keyBase: number): void {
    const buffers = this.buffers!;
    for (let e = 0; e < this.E; e++) {
      const key = keyBase + e;
      if (buffers.state[key] !== BUF_WAITING) continue;
      this.ledger.prefetchDiscarded(key);
      if (this.inflight.job[key] >= 0) buffers.state[key] = BUF_DROPPED;
      else buffers.free(key);
    }
  }

  /** The cache's access of `key` evicted `victim` (an outcome >= 0; no-op otherwise). */
  private evicted(victim: number, key: number): void {
    if (victim < 0) return;
    this.observer?.evicted(victim, key);
    this.ledger.evicted(victim);
  }

  /** An expert a miss waited for reached host DRAM from the SSD (tiers.ts): on to the GPU, or to the CPU. */
  private fromHost(key: number, kind: number, n: number): void {
    this.ledger.hostReady(key, this.sim.now, kind === TIER_CPU);
    if (kind === TIER_CPU) {
      this.cpu.submit(this.cpuTaskSec(n), 0, expertJob(key), n);
    } else {
      const job = this.link.transfer(this.cost.expertBytes, PRIORITY_DEMAND, linkJob(key, kind), n);
      if (kind === LINK_DEMAND) this.inflight.job[key] = job;
    }
  }

  /**
   * CPU job of one expert: activations to the host, the expert on the CPU, results back; with
   * MissCosts.cpuTaskPerLayer, a later CPU expert of the same layer (`inTask`) is its CPU time alone.
   */
  private cpuJobSec(n: number, inTask = false): number {
    const mc = this.missCosts!;
    if (inTask && mc.cpuTaskPerLayer) return mc.cpuExpertSec(n);
    // A runtime's own hand-off (llama.cpp's split copies) moves the whole step's hidden states.
    if (mc.cpuTaskHandoffSec) return mc.cpuTaskHandoffSec(this.layer, this.step!.count) + mc.cpuExpertSec(n);
    return this.cost.cpuRoundTripSec(mc.activationBytes(n), mc.cpuExpertSec(n));
  }

  /** cpuJobSec for a job submitted now: the first CPU expert of a layer opens the layer's task. */
  private cpuTaskSec(n: number): number {
    const sec = this.cpuJobSec(n, this.cpuTaskOpen);
    if (this.missCosts!.cpuTaskPerLayer) this.cpuTaskOpen = true;
    return sec;
  }

  /**
   * Largest gate weight of expert e among the step's tokens at `layer`. Without recorded weights: 1
   * if e is some token's first choice (slot 0), else 0.
   */
  private importance(layer: number, e: number): number {
    const t = this.trace;
    const step = this.step!;
    const K = t.topK;
    const w = t.weights;
    let best = 0;
    for (let i = 0; i < step.count; i++) {
      const base = (step.tokens[i] * t.numLayers + layer) * K;
      for (let k = 0; k < K; k++) {
        if (t.experts[base + k] !== e) continue;
        const v = w ? w[base + k] : k === 0 ? 1 : 0;
        if (v > best) best = v;
      }
    }
    return best;
  }

  private layerDone(): void {
    const now = this.sim.now;
    this.ledger.layerEnded(now, now - this.gateSec - this.expertBusySec);
    this.ledger.layerTook(this.layer, this.sim.now - this.layerStartSec);
    this.layer++;
    this.startLayer();
  }

  private stepDone(): void {
    const now = this.sim.now;
    this.ledger.stepEnded(now, this.step!);
    this.observer?.stepEnded();
    this.startStep();
  }

  onJobStart(res: SerialResource, _job: number, tag: number, tag2: number): void {
    let lane: number;
    if (res === this.gpu) {
      lane = LANE_GPU;
      this.ledger.gpuJobStarted(jobKind(tag) === JOB_EXPERT ? jobKey(tag) : -1, res);
    } else if (res === this.link.resource) {
      lane = LANE_LINK;
      if (tag2 !== WRITE_BACK_TAG) this.ledger.transferStarted(jobKey(tag), res);
    } else lane = res === this.cpu ? LANE_CPU : LANE_HOST;
    if (this.observer !== null) this.observer.jobStarted(lane, tag, tag2, res.startedSec, res.startedEndSec);
  }

  onJobDone(res: SerialResource, _job: number, tag: number, tag2: number, payload: number): void {
    if (res === this.host) {
      this.launcher!.jobDone(tag);
      return;
    }
    if (res === this.gpu) {
      const job = jobKind(tag);
      if (job === JOB_PRE) this.gate();
      else if (job === JOB_EXPERT) {
        this.expertBusySec += this.sim.now - res.doneStartSec;
        this.launcher?.expertDone();
        if (--this.pending === 0) this.layerDone();
      } else {
        this.lastStepEndSec = this.sim.now;
        this.stepDone();
        if (this.step === null) this.planner?.cancelAll();
      }
    } else if (res === this.cpu) {
      if (--this.pending === 0) this.layerDone();
    } else {
      const key = jobKey(tag);
      const kind = jobKind(tag);
      if (tag2 === WRITE_BACK_TAG) {
        // An adopted guess's victim is back in host memory (no H2D bytes): nothing waits for it.
        this.launcher?.jobEnded();
        return;
      }
      // Link kinds are fetch kinds (ledger.ts); a prefill stream's transfer is its own.
      this.ledger.fetched(tag2 === STREAM_TAG ? FETCH_STREAM : kind, payload);
      if (tag2 === STREAM_TAG) {
        // A prefill-streamed expert arrived: compute it if its router chose it.
        const n = this.streamer!.arrived(key);
        if (n > 0) this.submitExpert(this.cost.expertSec(n), key, n);
      } else if (kind === LINK_LOW_BIT) {
        this.submitExpert(this.missCosts!.lowBitExpertSec(tag2), key, tag2);
      } else if (kind === LINK_STAGED) {
        this.submitExpert(this.cost.expertSec(tag2), key, tag2);
      } else {
        // Arrived in its cache slot.
        this.inflight.job[key] = -1;
        const wasPrefetch = kind === LINK_PREFETCH;
        const buf = wasPrefetch && this.buffers !== null ? this.buffers.state[key] : 0;
        if (buf === BUF_DROPPED) {
          // A wrong guess landed: its buffer is free again, nothing to compute.
          this.buffers!.free(key);
          this.inflight.isPrefetch[key] = 0;
          this.waitTokens[key] = 0;
        } else {
          if (buf === BUF_UNCACHED) this.buffers!.free(key);
          else if (wasPrefetch && buf === 0) this.cache.unlock(key);
          const n = wasPrefetch ? this.waitTokens[key] : tag2;
          this.waitTokens[key] = 0;
          if (n > 0) this.submitExpert(this.cost.expertSec(n), key, n);
          else if (wasPrefetch) {
            this.ledger.prefetchArrived(key);
            this.inflight.isPrefetch[key] = 0;
          }
        }
      }
    }
    this.launcher?.jobEnded();
  }

  /** The GPU part of a stage (pre-expert work or the tail): now, or (host thread) when its launch is issued. */
  private submitStage(sec: number, tag: number): void {
    if (this.launcher === null) {
      const gpu = this.gpu;
      gpu.nextDurationSec = sec;
      gpu.submitNext(0, tag, 0, 0, -1);
    }
    else this.launcher.submitStage(sec, tag);
  }

  /** An expert's GPU job: now, or (host thread) when its launch is issued. */
  private submitExpert(sec: number, key: number, n: number): void {
    if (this.launcher === null) {
      const gpu = this.gpu;
      gpu.nextDurationSec = sec;
      gpu.submitNext(0, expertJob(key), n, 0, -1);
    }
    else this.launcher.submitExpert(sec, key, n);
  }
}
