/**
 * The offloading world on the discrete-event engine. Resources: the GPU's compute stream, the
 * host-to-device copy engine (a bandwidth link) and the CPU, which run concurrently. Per step and
 * MoE layer:
 *
 *   1. the GPU runs the non-expert work (attention, router, shared experts, dense layers before it);
 *   2. the router's choice is known (the gate): the union of experts the step's tokens activate is
 *      looked up in the expert cache, in order of first appearance;
 *   3. a resident expert is computed at once (if a prefetch of it is still on the way, when it
 *      arrives: a late prefetch); a missing one goes to the miss handler: fetched over the link
 *      (demand fetches go ahead of prefetches) and computed when its weights have arrived, computed
 *      on the CPU, or fetched as a lower-bit copy;
 *   4. the layer ends when all its experts are computed; GPU idle time inside the layer is stall,
 *      each idle interval charged to what ended it (see StallSplit);
 *   5. the prefetch policy, if any, plans later layers (at the start of the pass and after each
 *      gate); the plan is reconciled with the cache and the link (see reconcile()).
 *
 * Locks: a prefetch being transferred into a cache slot is locked until it arrives, and a planned
 * prefetch is pinned (locked) until its layer's gate; a locked expert is never a victim. Demand
 * accesses lock nothing: they follow the cache policies' documented replay semantics exactly (an
 * expert evicted while its layer still computes with it is used from its slot before the slot is
 * reused, so the timing is unaffected).
 *
 * Steps come from a StepSource asked at the time the GPU becomes free; when it has nothing ready
 * (a serving workload waiting for arrivals) the GPU idles until it says, counted as idle, not stall.
 *
 * The cache policy decides hits, admissions and victims, the prefetch policy what to fetch ahead,
 * the miss handler how to serve a miss; this file charges the time and bytes.
 */
import { Simulator } from '../engine/simulator.js';
import { BandwidthLink, ExclusiveGroup, SerialResource, type JobListener } from '../engine/resource.js';
import { BYPASSED, wasAdmitted, type AccessOutcome, type ExpertCache } from '../policies/expert-cache.js';
import type { PrefetchMetrics, TimelineSpan } from '../metrics/types.js';
import { newCounters, type SimCounters } from '../metrics/counters.js';
export type { SimCounters } from '../metrics/counters.js';
import type { Trace } from '../trace/types.js';
import { LayerUnion } from '../trace/union.js';
import type { HostCosts, MissCosts, StepCosts } from '../timing/costs.js';
import type { Step, StepSource } from '../trace/steps.js';
import type { PrefetchPlan, PrefetchPolicy, PrefetchView } from '../policies/prefetch/types.js';
import type { MissHandler, MissQuery } from '../policies/miss/types.js';
import { missHandlerInfo } from '../policies/miss/index.js';
import type { PredictorDriver } from '../predictors/driver.js';
import { NO_EXPERT } from '../trace/types.js';
import { PrefillStreamer, type PrefillStreaming } from './prefill-stream.js';
import { JOB_EXPERT, JOB_PRE, JOB_TAIL, LINK_DEMAND, LINK_KIND_NAMES, LINK_LOW_BIT, LINK_PREFETCH, LINK_STAGED, STREAM_TAG, expertJob, jobKey, jobKind, linkJob } from './jobs.js';
import { TIER_CPU, type TierHook } from './tiers.js';
import { OP_CANCEL, OP_COMPUTE, OP_EVICT, OP_GATE, OP_LAYER, OP_STAGE, OP_STEP, OP_STEP_END, OP_UPLOAD, OP_READ, type ScheduleLog } from './schedule.js';

export type { MissCosts, StepCosts } from '../timing/costs.js';

/** Prefetching and miss handling; without them the simulator is demand fetching into the cache. */
export interface OffloadOptions {
  prefetch?: { policy: PrefetchPolicy; predictor: PredictorDriver };
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

export const PRIORITY_DEMAND = 0;
/** Prefetches queue at PRIORITY_PREFETCH + the plan's priority (0 = most urgent). */
export const PRIORITY_PREFETCH = 1;

/** The simulator's own event: the GPU wakes up for an arrival after idling. */
const EVENT_WAKE = 1;

// Why the GPU waited for an expert (the charge of the idle interval its computation ends).
const WAIT_HIT = 0;
const WAIT_CAPACITY = 1;
const WAIT_MISPREDICTION = 2;
const WAIT_LATE_PREFETCH = 3;

export interface TimelineWindow {
  fromStep: number;
  steps: number;
}


export type { PrefetchCounters } from '../metrics/counters.js';

export class OffloadSim implements JobListener {
  readonly sim = new Simulator();
  readonly gpu: SerialResource;
  readonly link: BandwidthLink;
  readonly cpu: SerialResource;
  private readonly L: number;
  private readonly E: number;
  private step: Step | null = null;
  private layer = 0;
  private gateSec = 0;
  private pending = 0;
  private expertBusySec = 0;
  private stagingNow = 0;
  /** This gate's CPU task already carries the layer's hidden-state round trip (MissCosts.cpuTaskPerLayer). */
  private cpuTaskOpen = false;
  private readonly union: LayerUnion;
  private lastGpuEndSec = 0;
  private layerStartSec = 0;
  private readonly c: SimCounters;
  private readonly seqLastEmitSec: Float64Array;
  private readonly selfId: number;
  private readonly streamer?: PrefillStreamer;
  private lastStepEndSec = 0;
  // Per key (layer * E + expert).
  /** Link job bringing the key into its cache slot (demand or prefetch), -1 if none. */
  private readonly inflightJob: Int32Array;
  private readonly inflightIsPrefetch: Uint8Array;
  /** Tokens of a gate waiting for the key's in-flight transfer (0: none). */
  private readonly waitTokens: Int32Array;
  private readonly waitClass: Uint8Array;
  private readonly fetchStartSec: Float64Array;
  /** Arrived by prefetch and not yet accessed. */
  private readonly unusedPrefetch: Uint8Array;
  private readonly pinned: Uint8Array;
  /** Plan generation that last named the key. */
  private readonly planned: Int32Array;
  private planGen = 0;
  private readonly plannedPerLayer: Int32Array;
  // Key lists (stacks): outstanding prefetches, pins.
  private prefetchKeys: Int32Array;
  private prefetchCount = 0;
  private pinKeys: Int32Array;
  private pinCount = 0;
  private remapKey = -1;
  private readonly prefetcher?: { policy: PrefetchPolicy; predictor: PredictorDriver };
  private readonly handler?: MissHandler;
  private readonly missCosts?: MissCosts;
  private readonly planView: PrefetchView;
  private readonly plan: PrefetchPlan;
  private planKeys: Int32Array;
  private planPrio: Int32Array;
  private planCount = 0;
  private planKnown = 0;
  private gateAgreed = false;
  private readonly query: MissQuery = { tokens: 0, importance: 0, fetchFinishSec: 0, cpuFinishSec: 0 };
  /** End of the last GPU job started (for the stall split). */
  private gpuFreeAtSec = 0;
  private readonly log?: ScheduleLog;
  private readonly tiers?: TierHook;
  /** The timeline lane of the link's transfers. */
  private readonly linkLane: 'link' | 'ssd';
  /** Per key (with a storage tier): when the expert a miss waits for was in host DRAM (the request's time on a host hit). */
  private readonly hostReadySec: Float64Array;
  /** The latest time this layer's CPU-computed experts were in host DRAM (with a storage tier). */
  private cpuHostReadySec = 0;
  /** The miss handler decides per miss (its table row is not fetch-only); read once, not per miss. */
  private readonly handlerDecides: boolean;
  // The host thread (when cost.host is defined; see the "Host thread" section below).
  /** The host (launch) thread, null when launches are inside the GPU times. */
  readonly host: SerialResource | null;
  private readonly hostCost: HostCosts | null;
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

  constructor(
    private readonly trace: Trace,
    private readonly cost: StepCosts,
    private readonly cache: ExpertCache,
    private readonly source: StepSource,
    private readonly window?: TimelineWindow,
    options: OffloadOptions = {},
  ) {
    this.L = trace.numLayers;
    this.E = cache.numExperts;
    this.gpu = new SerialResource(this.sim, 'gpu', this);
    this.link = new BandwidthLink(this.sim, 'link', cost.h2dSec, this);
    this.cpu = new SerialResource(this.sim, 'cpu', this);
    this.hostCost = cost.host ?? null;
    this.host = this.hostCost ? new SerialResource(this.sim, 'host', this) : null;
    this.link.resource.remap = (_old, job) => {
      this.inflightJob[this.remapKey] = job;
    };
    this.union = new LayerUnion(this.E);
    const nKeys = this.L * this.E;
    this.inflightJob = new Int32Array(nKeys).fill(-1);
    this.inflightIsPrefetch = new Uint8Array(nKeys);
    this.waitTokens = new Int32Array(nKeys);
    this.waitClass = new Uint8Array(nKeys);
    this.fetchStartSec = new Float64Array(nKeys);
    this.unusedPrefetch = new Uint8Array(nKeys);
    this.pinned = new Uint8Array(nKeys);
    this.planned = new Int32Array(nKeys).fill(-1);
    this.plannedPerLayer = new Int32Array(this.L);
    this.prefetchKeys = new Int32Array(64);
    this.pinKeys = new Int32Array(64);
    this.planKeys = new Int32Array(64);
    this.planPrio = new Int32Array(64);
    this.hostLaunching = new Uint8Array(this.host ? nKeys : 0);
    this.deferredSec = new Float64Array(this.host ? nKeys : 0).fill(-1);
    this.deferredTokens = new Int32Array(this.host ? nKeys : 0);
    this.launchSeq = new Float64Array(this.host ? nKeys : 0).fill(-1);
    this.launchKeys = new Int32Array(this.host ? 2 * this.E : 0);
    this.launchTokens = new Int32Array(this.host ? 2 * this.E : 0);
    this.prefetcher = options.prefetch;
    this.handler = options.missHandler;
    this.missCosts = options.missCosts;
    if (this.handler && !missHandlerInfo(this.handler.kind).fetchesOnly && !this.missCosts) throw new Error(`miss handler ${this.handler.kind} needs missCosts`);
    this.log = options.schedule;
    this.handlerDecides = this.handler !== undefined && !missHandlerInfo(this.handler.kind).fetchesOnly;
    this.tiers = options.tiers;
    this.linkLane = options.linkIsStorage ? 'ssd' : 'link';
    this.hostReadySec = new Float64Array(this.tiers ? nKeys : 0);
    if (this.tiers) {
      if (options.prefillStreaming || (this.handler !== undefined && missHandlerInfo(this.handler.kind).lowBit !== undefined)) throw new Error('a storage tier is simulated without prefill streaming or lower-bit copies');
      this.tiers.bind(
        this.sim,
        (key, kind, n) => this.fromHost(key, kind, n),
        (key, demand, startSec, endSec) => {
          this.log?.push(OP_READ, key, demand ? 1 : 0);
          if (!this.inWindow()) return;
          this.c.timeline.push({ resource: 'ssd', kind: demand ? 'ssd-read' : 'ssd-stage', startMs: startSec * 1e3, endMs: endSec * 1e3, step: this.step!.index, layer: (key / this.E) | 0, expert: key % this.E });
        },
      );
    }
    // No copy engine: a transfer and a kernel never run at once; each waits for the other, in order.
    // A recorded schedule is executed by one thread, one operation at a time: the SSD's reads too.
    if (!cost.linkOverlapsCompute) {
      const ssd = this.log ? this.tiers?.ssdResource : undefined;
      new ExclusiveGroup(ssd ? [this.gpu, this.link.resource, ssd] : [this.gpu, this.link.resource]);
    }
    if (this.log) {
      // With overlap, which operation runs next would depend on durations: no single order exists.
      if (cost.linkOverlapsCompute) throw new Error('a schedule is recorded on a link that does not overlap compute (overlapsCompute: false)');
      if ((this.handler && !missHandlerInfo(this.handler.kind).fetchesOnly) || options.prefillStreaming) throw new Error('a schedule is recorded with fetching on a miss and no prefill streaming');
      if (this.host) throw new Error('a schedule is recorded without a host thread');
      this.log.initial = Int32Array.from(Array.from(cache.resident).flatMap((r, key) => (r === 1 ? [key] : [])));
    }
    const self = this;
    this.planView = {
      numLayers: this.L,
      numExperts: this.E,
      topK: trace.topK,
      get stepTokens() {
        return self.step!.count;
      },
      get setValued() {
        return self.prefetcher!.predictor.setValued;
      },
      get gateAgreed() {
        return self.gateAgreed;
      },
      scores(layer, out) {
        self.prefetcher!.predictor.stepScores(self.step!, self.planKnown, layer, out);
      },
    };
    this.plan = {
      add(key, priority) {
        if (self.planCount === self.planKeys.length) {
          self.planKeys = grow(self.planKeys);
          self.planPrio = grow(self.planPrio);
        }
        self.planKeys[self.planCount] = key;
        self.planPrio[self.planCount++] = priority;
      },
    };
    this.selfId = this.sim.register({
      onEvent: (kind) => {
        if (kind === EVENT_WAKE) this.startStep();
      },
    });
    if (options.prefillStreaming) {
      this.streamer = new PrefillStreamer(options.prefillStreaming, this.L, this.E, this.link, cost.expertBytes, cache.resident, PRIORITY_PREFETCH);
    }
    const nSeq = source.streams ?? trace.sequences.length;
    this.c = newCounters(this.L, nSeq);
    this.seqLastEmitSec = this.c.seqLastEmitSec;
  }

  run(): SimCounters {
    this.startStep();
    this.sim.run();
    const c = this.c;
    // The run ends with its last step; transfers still on the link then are not waited for.
    c.makespanSec = this.lastStepEndSec;
    c.bytesH2D = this.link.bytesMoved;
    c.gpuBusySec = this.gpu.busySec;
    c.linkBusySec = this.link.resource.busySec;
    this.tiers?.finish();
    if (this.streamer) {
      c.streamedExperts = this.streamer.streamedExperts;
      c.streamWastedBytes = this.streamer.wastedBytes;
      // Conservative: streaming buffers at their peak on top of the demand staging peak.
      c.peakStaging += this.streamer.peakBuffered;
    }
    // Prefetched experts never accessed by the end of the run are waste.
    for (let k = 0; k < this.unusedPrefetch.length; k++) {
      if (this.unusedPrefetch[k] === 1) {
        this.unusedPrefetch[k] = 0;
        c.prefetch.wasted++;
        c.prefetch.wastedBytes += this.cost.expertBytes;
      }
    }
    return c;
  }

  private inWindow(): boolean {
    const w = this.window;
    const s = this.step;
    return w !== undefined && s !== null && s.index >= w.fromStep && s.index < w.fromStep + w.steps;
  }

  private startStep(): void {
    const now = this.sim.now;
    const step = this.source.next(now);
    this.step = step;
    if (step === null) {
      const resume = this.source.resumeSec ?? Infinity;
      if (resume === Infinity) return;
      if (!(resume > now)) throw new Error(`step source asked to resume at ${resume}, not after now (${now})`);
      this.c.idleSec += resume - now;
      this.lastGpuEndSec = resume; // the gap is idle time, not stall, on the timeline
      this.gpuFreeAtSec = resume;
      this.sim.at(resume, this.selfId, EVENT_WAKE);
      return;
    }
    this.log?.push(OP_STEP, step.index);
    for (let i = 0; i < step.startCount; i++) this.c.seqStartSec[step.startSeq[i]] = now;
    if (step.contextTokens > this.c.peakContextTokens) this.c.peakContextTokens = step.contextTokens;
    this.c.tokens += step.count;
    this.c.steps++;
    this.layer = 0;
    this.streamer?.stepStarted(step.prefill, step.count);
    if (this.host) this.launchStage(0);
    this.startLayer();
  }

  private startLayer(): void {
    const step = this.step!;
    this.layerStartSec = this.sim.now;
    if (this.layer === this.L) {
      // Every MoE layer is computed: the step's routing is known from now on.
      if (this.prefetcher) this.prefetcher.predictor.observeStep(step);
      this.submitStage(this.cost.tailSec(step.count, step.contextTokens, step.emitCount), JOB_TAIL);
    } else {
      this.log?.push(OP_LAYER, this.layer);
      this.streamer?.layerStarted(this.layer);
      this.submitStage(this.cost.preExpertSec(this.layer, step.count, step.contextTokens), JOB_PRE);
      if (this.layer === 0 && this.prefetcher) this.reconcile(0);
    }
  }

  /** The router has chosen: look up the union of the step's experts at this layer. */
  private gate(): void {
    const layer = this.layer;
    const union = this.union;
    const u = union.compute(this.trace, this.step!, layer);
    this.gateSec = this.sim.now;
    this.log?.push(OP_GATE, layer);
    this.pending = u;
    this.expertBusySec = 0;
    this.stagingNow = 0;
    this.cpuTaskOpen = false;
    this.cpuHostReadySec = 0;
    const c = this.c;
    const cache = this.cache;
    const keyBase = layer * this.E;
    const prefetching = this.prefetcher !== undefined;
    if (prefetching) {
      this.releasePins(layer);
      c.planPredicted += this.plannedPerLayer[layer];
      c.planActual += u;
    }
    let hits = 0;
    let late = 0;
    let correct = 0;
    if (this.host) this.planLaunches(u, keyBase);
    for (let i = 0; i < u; i++) {
      const e = union.experts[i];
      const n = union.tokens[e];
      const key = keyBase + e;
      const planned = prefetching && this.planned[key] === this.planGen;
      if (planned) correct++;
      if (cache.resident[key] === 1) {
        cache.access(key);
        const job = this.inflightJob[key];
        if (job >= 0) {
          // On its way: wait for it, at demand priority.
          late++;
          if (this.inflightIsPrefetch[key] === 1) {
            c.prefetch.late++;
            c.prefetch.usedBytes += this.cost.expertBytes;
            this.inflightIsPrefetch[key] = 0;
          }
          if (this.link.resource.isQueued(job)) {
            this.remapKey = key;
            this.link.resource.reprioritize(job, PRIORITY_DEMAND);
          }
          this.waitTokens[key] = n;
          this.waitClass[key] = WAIT_LATE_PREFETCH;
        } else {
          hits++;
          if (this.unusedPrefetch[key] === 1) {
            this.unusedPrefetch[key] = 0;
            c.prefetch.hits++;
            c.prefetch.usedBytes += this.cost.expertBytes;
          }
          this.waitClass[key] = WAIT_HIT;
          this.submitExpert(this.cost.expertSec(n), key, n);
        }
      } else if (this.miss(key, n, layer, prefetching && !planned ? WAIT_MISPREDICTION : WAIT_CAPACITY) && this.host) {
        this.dropLaunch(key); // computed on the CPU: no GPU launch
      }
    }
    this.streamer?.gateDone(layer);
    c.accesses += u;
    c.hits += hits;
    c.lateHits += late;
    c.misses += u - hits - late;
    c.perLayerAccesses[layer] += u;
    c.perLayerHits[layer] += hits;
    c.expertComputations += u;
    if (this.stagingNow > c.peakStaging) c.peakStaging = this.stagingNow;
    if (prefetching) {
      c.planCorrect += correct;
      this.gateAgreed = correct === u && this.plannedPerLayer[layer] === u;
      // With a host thread, the next layer's loads are issued after this layer's expert launches (launchesDone).
      if (layer + 1 < this.L && !this.host) this.reconcile(layer + 1);
    }
    if (this.host) {
      if (this.launchCount === 0) this.launchesDone();
      else this.launchNext();
    }
    if (u === 0) this.layerDone();
  }

  /** Serves a miss: fetch into the cache (or a staging buffer), compute on the CPU, or fetch a lower-bit copy. True if on the CPU. */
  private miss(key: number, n: number, layer: number, waitClass: number): boolean {
    const c = this.c;
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
    this.waitClass[key] = waitClass;
    // A host hit waits for no SSD read; fromHost() moves this to the read's arrival.
    if (this.tiers) this.hostReadySec[key] = this.sim.now;
    if (decision === 'cpu') {
      this.evicted(cache.access(key, false), key);
      c.cpuComputations++;
      if (!this.cpuTaskOpen) c.activationBytes += 2 * mc!.activationBytes(n);
      if (!this.tiers || this.tiers.request(key, TIER_CPU, n)) this.cpu.submit(this.cpuTaskSec(n), 0, expertJob(key), n);
      return true;
    } else if (decision === 'low-bit') {
      this.evicted(cache.access(key, false), key);
      c.lowBitComputations++;
      c.lowBitBytes += mc!.lowBitExpertBytes;
      this.stagingNow++;
      this.link.transfer(mc!.lowBitExpertBytes, PRIORITY_DEMAND, linkJob(key, LINK_LOW_BIT), n);
    } else {
      const outcome = cache.access(key);
      this.evicted(outcome, key);
      const streamed = this.streamer ? this.streamer.claim(key, n) : -1;
      if (streamed >= 0) {
        // Streamed ahead by a prefill (into a staging buffer): compute now, or when it arrives.
        if (streamed > 0) this.submitExpert(this.cost.expertSec(n), key, n);
      } else if (wasAdmitted(outcome)) {
        this.inflightIsPrefetch[key] = 0;
        if (!this.tiers || this.tiers.request(key, LINK_DEMAND, n)) this.inflightJob[key] = this.link.transfer(this.cost.expertBytes, PRIORITY_DEMAND, linkJob(key, LINK_DEMAND), n);
      } else {
        this.stagingNow++;
        if (!this.tiers || this.tiers.request(key, LINK_STAGED, n)) this.link.transfer(this.cost.expertBytes, PRIORITY_DEMAND, linkJob(key, LINK_STAGED), n);
      }
    }
    return false;
  }

  /** An expert a miss waited for reached host DRAM from the SSD (tiers.ts): on to the GPU, or to the CPU. */
  private fromHost(key: number, kind: number, n: number): void {
    this.hostReadySec[key] = this.sim.now;
    if (kind === TIER_CPU) {
      if (this.sim.now > this.cpuHostReadySec) this.cpuHostReadySec = this.sim.now;
      this.cpu.submit(this.cpuTaskSec(n), 0, expertJob(key), n);
    } else {
      const job = this.link.transfer(this.cost.expertBytes, PRIORITY_DEMAND, linkJob(key, kind), n);
      if (kind === LINK_DEMAND) this.inflightJob[key] = job;
    }
  }

  /**
   * CPU job of one expert: activations to the host, the expert on the CPU, results back; with
   * MissCosts.cpuTaskPerLayer, a later CPU expert of the same layer (`inTask`) is its CPU time alone.
   */
  private cpuJobSec(n: number, inTask = false): number {
    const mc = this.missCosts!;
    if (inTask && mc.cpuTaskPerLayer) return mc.cpuExpertSec(n);
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

  /** Accounts for the victim (if any) of a cache access or insert of `key` that had `outcome`. */
  private evicted(outcome: AccessOutcome, key: number): void {
    const v = outcome;
    if (v >= 0) this.log?.push(OP_EVICT, v, key);
    if (v >= 0 && this.unusedPrefetch[v] === 1) {
      this.unusedPrefetch[v] = 0;
      this.c.prefetch.wasted++;
      this.c.prefetch.wastedBytes += this.cost.expertBytes;
    }
  }

  /**
   * Applies the prefetch policy's plan made with the routing known at layers < known: fetch what it
   * names that is neither resident nor on its way (reserving a slot, locked until arrival), pin what
   * it names (until the layer's gate), unpin what it no longer names and, if the policy cancels,
   * cancel queued prefetches it no longer names (freeing their slots).
   */
  private reconcile(known: number): void {
    const pf = this.prefetcher!;
    const c = this.c;
    const cache = this.cache;
    const E = this.E;
    this.planCount = 0;
    this.planKnown = known;
    if (known === 0) this.gateAgreed = false;
    if (pf.policy.plan(this.planView, known, this.plan) === false) return;
    const gen = ++this.planGen;
    this.plannedPerLayer.fill(0);
    // Pass 1: mark the plan, pin what it names (so that no fetch below evicts a planned expert),
    // and raise the priority of planned prefetches still queued.
    let w = 0;
    for (let i = 0; i < this.planCount; i++) {
      const key = this.planKeys[i];
      const layer = (key / E) | 0;
      if (layer < known || layer >= this.L || this.planned[key] === gen) continue;
      this.planned[key] = gen;
      this.plannedPerLayer[layer]++;
      this.planKeys[w] = key;
      this.planPrio[w++] = this.planPrio[i];
      const job = this.inflightJob[key];
      if (job >= 0 && this.inflightIsPrefetch[key] === 1 && this.link.resource.isQueued(job)) {
        this.remapKey = key;
        this.link.resource.reprioritize(job, PRIORITY_PREFETCH + this.planPrio[i]);
      }
      if (cache.resident[key] === 1) this.pin(key);
    }
    // Pass 2: fetch, in plan order, what is neither resident nor on its way.
    for (let i = 0; i < w; i++) {
      const key = this.planKeys[i];
      if (cache.resident[key] === 1) continue;
      // Not in host DRAM: stage it there from the SSD first; a later plan fetches it to the GPU.
      if (this.tiers && !this.tiers.stage(key, PRIORITY_PREFETCH + this.planPrio[i])) continue;
      const outcome = cache.insert(key);
      if (outcome === BYPASSED) {
        c.prefetch.refused++;
        continue;
      }
      this.evicted(outcome, key);
      cache.lock(key); // in flight
      this.inflightJob[key] = this.link.transfer(this.cost.expertBytes, PRIORITY_PREFETCH + this.planPrio[i], linkJob(key, LINK_PREFETCH), 0);
      this.inflightIsPrefetch[key] = 1;
      if (this.prefetchCount === this.prefetchKeys.length) this.prefetchKeys = grow(this.prefetchKeys);
      this.prefetchKeys[this.prefetchCount++] = key;
      c.prefetch.issued++;
      c.prefetch.issuedBytes += this.cost.expertBytes;
      this.pin(key);
    }
    // Unpin what the plan no longer names.
    w = 0;
    for (let i = 0; i < this.pinCount; i++) {
      const key = this.pinKeys[i];
      if (this.planned[key] === gen) this.pinKeys[w++] = key;
      else {
        this.pinned[key] = 0;
        cache.unlock(key);
      }
    }
    this.pinCount = w;
    // Cancel queued prefetches the plan no longer names; forget those that left the queue.
    const cancel = pf.policy.cancelStale;
    w = 0;
    for (let i = 0; i < this.prefetchCount; i++) {
      const key = this.prefetchKeys[i];
      if (this.inflightIsPrefetch[key] === 0) continue;
      const job = this.inflightJob[key];
      if (cancel && this.planned[key] !== gen && this.link.resource.isQueued(job)) {
        this.link.cancel(job);
        this.log?.push(OP_CANCEL, key);
        this.inflightJob[key] = -1;
        this.inflightIsPrefetch[key] = 0;
        cache.unlock(key);
        cache.evict(key);
        c.prefetch.cancelled++;
        c.prefetch.issued--;
        c.prefetch.issuedBytes -= this.cost.expertBytes;
        continue;
      }
      this.prefetchKeys[w++] = key;
    }
    this.prefetchCount = w;
  }

  private pin(key: number): void {
    if (this.pinned[key] === 1) return;
    this.pinned[key] = 1;
    this.cache.lock(key);
    if (this.pinCount === this.pinKeys.length) this.pinKeys = grow(this.pinKeys);
    this.pinKeys[this.pinCount++] = key;
  }

  /** Unpins the planned experts of `layer`: its gate has come. */
  private releasePins(layer: number): void {
    let w = 0;
    const E = this.E;
    for (let i = 0; i < this.pinCount; i++) {
      const key = this.pinKeys[i];
      if (((key / E) | 0) === layer) {
        this.pinned[key] = 0;
        this.cache.unlock(key);
      } else this.pinKeys[w++] = key;
    }
    this.pinCount = w;
  }

  /** Drops every queued prefetch (the run is over): they never moved a byte and are not counted as issued. */
  private cancelAllPrefetches(): void {
    for (let i = 0; i < this.prefetchCount; i++) {
      const key = this.prefetchKeys[i];
      if (this.inflightIsPrefetch[key] === 0) continue;
      const job = this.inflightJob[key];
      if (!this.link.resource.isQueued(job)) continue;
      this.link.cancel(job);
      this.log?.push(OP_CANCEL, key);
      this.inflightJob[key] = -1;
      this.inflightIsPrefetch[key] = 0;
      this.cache.unlock(key);
      if (this.pinned[key] === 1) {
        this.pinned[key] = 0;
        this.cache.unlock(key);
      }
      this.cache.evict(key);
      this.c.prefetch.issued--;
      this.c.prefetch.issuedBytes -= this.cost.expertBytes;
    }
    this.prefetchCount = 0;
  }

  private layerDone(): void {
    const now = this.sim.now;
    const stall = now - this.gateSec - this.expertBusySec;
    if (stall > 0) this.c.stallSec += stall;
    // The GPU idled at the end of the layer only while CPU-computed experts finished: with a
    // storage tier, until the last of them was in host DRAM it waited on the SSD.
    if (now > this.gpuFreeAtSec) {
      if (this.tiers && this.cpuHostReadySec > this.gpuFreeAtSec) {
        const ssd = Math.min(now, this.cpuHostReadySec) - this.gpuFreeAtSec;
        this.c.stallSsdSec += ssd;
        this.c.stallCpuSec += now - this.gpuFreeAtSec - ssd;
      } else this.c.stallCpuSec += now - this.gpuFreeAtSec;
      this.gpuFreeAtSec = now;
    }
    this.c.perLayerSec[this.layer] += this.sim.now - this.layerStartSec;
    this.layer++;
    this.startLayer();
  }

  /** Charges the GPU idle interval [from, to) that the computation of `key` ends. */
  private chargeIdle(from: number, to: number, key: number): void {
    const c = this.c;
    const cls = this.waitClass[key];
    // A resident expert the GPU waited for waited for its launch on the host thread.
    if (cls === WAIT_HIT) return;
    if (cls === WAIT_LATE_PREFETCH) {
      c.stallLinkQueueSec += to - from;
      c.stallLatePrefetchSec += to - from;
      return;
    }
    if (this.tiers) {
      // With a storage tier: until the expert was in host DRAM it waited on the SSD (its queue and
      // read); then in the link's queue until its transfer started; then for the transfer.
      const ready = Math.min(to, Math.max(from, this.hostReadySec[key]));
      const started = Math.min(to, Math.max(ready, this.fetchStartSec[key]));
      c.stallSsdSec += ready - from;
      c.stallLinkQueueSec += started - ready;
      if (cls === WAIT_MISPREDICTION) c.stallMispredictionSec += to - started;
      else c.stallCapacitySec += to - started;
      return;
    }
    // Before the expert's own transfer started, it waited in the link's queue.
    const queued = Math.min(to, Math.max(from, this.fetchStartSec[key])) - from;
    c.stallLinkQueueSec += queued;
    if (cls === WAIT_MISPREDICTION) c.stallMispredictionSec += to - from - queued;
    else c.stallCapacitySec += to - from - queued;
  }

  private stepDone(): void {
    const step = this.step!;
    const now = this.sim.now;
    const c = this.c;
    if (c.stepEndCount === c.stepEndSec.length) {
      const g = new Float64Array(c.stepEndSec.length * 2);
      g.set(c.stepEndSec);
      c.stepEndSec = g;
    }
    c.stepEndSec[c.stepEndCount++] = now;
    this.log?.push(OP_STEP_END);
    for (let i = 0; i < step.emitCount; i++) {
      const s = step.emitSeq[i];
      if (c.seqOutputs[s] === 0) c.seqFirstEmitSec[s] = now;
      else this.pushTpot(now - this.seqLastEmitSec[s]);
      c.seqOutputs[s]++;
      this.seqLastEmitSec[s] = now;
    }
    this.startStep();
  }

  private pushTpot(gapSec: number): void {
    const c = this.c;
    if (c.tpotSampleCount === c.tpotSamplesSec.length) {
      const g = new Float64Array(c.tpotSamplesSec.length * 2);
      g.set(c.tpotSamplesSec);
      c.tpotSamplesSec = g;
    }
    c.tpotSamplesSec[c.tpotSampleCount++] = gapSec;
  }

  onJobStart(res: SerialResource, _job: number, tag: number, tag2: number, startSec: number, endSec: number): void {
    if (this.log) this.record(res, tag, tag2);
    if (res === this.host) {
      if (this.inWindow()) {
        const expert = jobKind(tag) === JOB_EXPERT ? jobKey(tag) % this.E : -1;
        this.c.timeline.push({ resource: 'cpu', kind: 'host-launch', startMs: startSec * 1e3, endMs: endSec * 1e3, step: this.step!.index, layer: this.layer, expert });
      }
      return;
    }
    if (res === this.gpu) {
      if (jobKind(tag) === JOB_EXPERT && startSec > this.gpuFreeAtSec) this.chargeIdle(this.gpuFreeAtSec, startSec, jobKey(tag));
      if (endSec > this.gpuFreeAtSec) this.gpuFreeAtSec = endSec;
    } else if (res === this.link.resource) {
      this.fetchStartSec[jobKey(tag)] = startSec;
    }
    if (!this.inWindow()) {
      if (res === this.gpu) this.lastGpuEndSec = endSec;
      return;
    }
    const stepIndex = this.step!.index;
    const toMs = 1e3;
    if (res === this.gpu) {
      if (startSec > this.lastGpuEndSec + 1e-12) {
        this.c.timeline.push({ resource: 'gpu', kind: 'stall', startMs: this.lastGpuEndSec * toMs, endMs: startSec * toMs, step: stepIndex, layer: this.layer, expert: -1 });
      }
      this.lastGpuEndSec = endSec;
      const job = jobKind(tag);
      const kind = job === JOB_EXPERT ? 'expert' : job === JOB_PRE ? 'attention' : 'lm-head';
      const expert = job === JOB_EXPERT ? jobKey(tag) % this.E : -1;
      this.c.timeline.push({ resource: 'gpu', kind, startMs: startSec * toMs, endMs: endSec * toMs, step: stepIndex, layer: this.layer, expert });
    } else if (res === this.cpu) {
      this.c.timeline.push({ resource: 'cpu', kind: 'cpu-expert', startMs: startSec * toMs, endMs: endSec * toMs, step: stepIndex, layer: this.layer, expert: jobKey(tag) % this.E });
    } else {
      const key = jobKey(tag);
      const kind = tag2 === STREAM_TAG ? 'prefetch' : LINK_KIND_NAMES[jobKind(tag)];
      this.c.timeline.push({ resource: this.linkLane, kind, startMs: startSec * toMs, endMs: endSec * toMs, step: stepIndex, layer: (key / this.E) | 0, expert: key % this.E });
    }
  }

  private record(res: SerialResource, tag: number, tag2: number): void {
    const key = jobKey(tag);
    if (res === this.gpu) {
      if (jobKind(tag) === JOB_EXPERT) this.log!.push(OP_COMPUTE, key, tag2);
    } else if (res === this.link.resource) {
      const kind = jobKind(tag);
      if (kind === LINK_STAGED) this.log!.push(OP_STAGE, key);
      else if (kind === LINK_DEMAND || kind === LINK_PREFETCH) this.log!.push(OP_UPLOAD, key, kind === LINK_PREFETCH ? 1 : 0);
      else throw new Error(`schedule: link transfer of kind ${kind} cannot be recorded`);
    } else throw new Error('schedule: CPU jobs cannot be recorded');
  }

  onJobDone(res: SerialResource, _job: number, tag: number, tag2: number, startSec: number): void {
    if (res === this.host) {
      this.hostJobDone(tag);
      return;
    }
    if (res === this.gpu) {
      const job = jobKind(tag);
      if (job === JOB_PRE) this.gate();
      else if (job === JOB_EXPERT) {
        this.expertBusySec += this.sim.now - startSec;
        if (this.host) this.launchedNotDone--;
        if (--this.pending === 0) this.layerDone();
      } else {
        this.lastStepEndSec = this.sim.now;
        this.stepDone();
        if (this.step === null) this.cancelAllPrefetches();
      }
    } else if (res === this.cpu) {
      if (--this.pending === 0) this.layerDone();
    } else {
      const key = jobKey(tag);
      const kind = jobKind(tag);
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
        this.inflightJob[key] = -1;
        const wasPrefetch = kind === LINK_PREFETCH;
        if (wasPrefetch) this.cache.unlock(key);
        const n = wasPrefetch ? this.waitTokens[key] : tag2;
        this.waitTokens[key] = 0;
        if (n > 0) this.submitExpert(this.cost.expertSec(n), key, n);
        else if (wasPrefetch) {
          this.unusedPrefetch[key] = 1;
          this.inflightIsPrefetch[key] = 0;
        }
      }
    }
    // A host waiting in a sync re-checks whether the stream has drained.
    if (this.hostSyncWaiting) {
      this.hostSyncWaiting = false;
      this.launchNext();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Host thread (cost.host defined). The host issues, in program order: the pre-expert work of a
  // layer; after the gate (the host needs the router's choice: it waits for that GPU job) each
  // expert, resident ones first; then the next layer's loads (the prefetch plan); then the next
  // layer's pre-expert work (or the tail). A GPU job starts when its launch is issued AND what it
  // needs is there (an expert's weights; for a stage, the previous layer's experts computed). So
  // the host runs ahead of the GPU, and copies queued on the stream run while the host issues.
  // With `syncPerExpert` the host waits, before each expert, until the stream has drained.

  /** Orders the layer's `u` experts for launch: resident (not in flight) first, then the others (load_experts(unordered=True)). */
  private planLaunches(u: number, keyBase: number): void {
    const union = this.union;
    const cache = this.cache;
    let w = 0;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < u; i++) {
        const e = union.experts[i];
        const key = keyBase + e;
        const ready = cache.resident[key] === 1 && this.inflightJob[key] < 0;
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
  private dropLaunch(key: number): void {
    for (let i = this.launchPos; i < this.launchCount; i++) {
      if (this.launchKeys[i] !== key) continue;
      this.launchKeys.copyWithin(i, i + 1, this.launchCount);
      this.launchTokens.copyWithin(i, i + 1, this.launchCount);
      this.launchCount--;
      this.hostLaunching[key] = 0;
      return;
    }
  }

  /** Whether the stream has drained: every launched expert computed, nothing on the GPU and, with copies on the compute stream, nothing on the link. */
  private drained(): boolean {
    if (this.launchedNotDone > 0 || !this.gpu.idle || this.gpu.queued > 0) return false;
    return this.cost.linkOverlapsCompute || (this.link.resource.idle && this.link.resource.queued === 0);
  }

  /** Issues the next expert's launch on the host (if the host is free and, with a sync per expert, the stream drained). */
  private launchNext(): void {
    const host = this.host!;
    if (!host.idle || host.queued > 0) return;
    if (this.launchPos === this.launchCount) return;
    if (this.hostCost!.syncPerExpert && !this.drained()) {
      this.hostSyncWaiting = true;
      return;
    }
    const i = this.launchPos++;
    host.submit(this.hostCost!.expertSec(this.launchTokens[i]), 0, expertJob(this.launchKeys[i]), this.launchTokens[i]);
  }

  private hostJobDone(tag: number): void {
    const kind = jobKind(tag);
    if (kind === JOB_EXPERT) {
      const key = jobKey(tag);
      this.hostLaunching[key] = 0;
      this.launchedNotDone++;
      const sec = this.deferredSec[key];
      if (sec >= 0) {
        this.deferredSec[key] = -1;
        this.gpu.submit(sec, 0, expertJob(key), this.deferredTokens[key]);
      } else this.launchSeq[key] = this.gpu.reserveSeq(); // its kernels wait in the stream for its weights

      if (this.launchPos < this.launchCount) this.launchNext();
      else this.launchesDone();
      return;
    }
    // A stage (pre-expert work or the tail) is issued: its GPU part runs once the previous layer is computed.
    if (this.stageWaitingSec >= 0) {
      const sec = this.stageWaitingSec;
      this.stageWaitingSec = -1;
      this.gpu.submit(sec, 0, this.stageWaitingTag);
    } else {
      this.stageLaunched = true;
      this.stageSeq = this.gpu.reserveSeq();
    }
  }

  /** The layer's experts are issued: the next layer's loads, then its pre-expert work (or the tail). */
  private launchesDone(): void {
    const next = this.layer + 1;
    if (this.prefetcher && next < this.L) this.reconcile(next);
    this.launchStage(next);
  }

  /** The host issues the pre-expert work of MoE layer `target` (the tail when `target` is L). */
  private launchStage(target: number): void {
    const step = this.step!;
    const h = this.hostCost!;
    const tail = target >= this.L;
    const sec = tail ? h.tailSec(step.count, step.contextTokens, step.emitCount) : h.preExpertSec(target, step.count, step.contextTokens);
    this.host!.submit(sec, 0, tail ? JOB_TAIL : JOB_PRE);
  }

  /** The GPU part of a stage: now if its launch is issued, else when it is. */
  private submitStage(sec: number, tag: number): void {
    if (!this.host) {
      this.gpu.submit(sec, 0, tag);
      return;
    }
    if (this.stageLaunched) {
      this.stageLaunched = false;
      this.gpu.submit(sec, 0, tag, 0, 0, this.stageSeq);
      return;
    }
    this.stageWaitingSec = sec;
    this.stageWaitingTag = tag;
  }

  /** An expert's GPU job: now, or (host thread) when its launch is issued. */
  private submitExpert(sec: number, key: number, n: number): void {
    if (this.host && this.hostLaunching[key] === 1) {
      this.deferredSec[key] = sec;
      this.deferredTokens[key] = n;
      return;
    }
    if (this.host) {
      const seq = this.launchSeq[key];
      this.launchSeq[key] = -1;
      this.gpu.submit(sec, 0, expertJob(key), n, 0, seq);
      return;
    }
    this.gpu.submit(sec, 0, expertJob(key), n);
  }
}


function grow(a: Int32Array): Int32Array {
  const g = new Int32Array(a.length * 2);
  g.set(a);
  return g;
}
