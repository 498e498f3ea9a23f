/**
 * The offloading world on the discrete-event engine. Resources: the GPU's compute stream and the
 * host-to-device copy engine (a bandwidth link), which run concurrently. Per step and MoE layer:
 *
 *   1. the GPU runs the non-expert work (attention, router, shared experts, dense layers before it);
 *   2. the router's choice is known (the gate): the union of experts the step's tokens activate is
 *      looked up in the expert cache, in order of first appearance;
 *   3. a resident expert is computed at once; a missing one is fetched over the link (demand
 *      fetches go ahead of prefetches) and computed when its weights have arrived;
 *   4. the layer ends when all its experts are computed; GPU idle time inside the layer is stall.
 *
 * The cache policy decides hits, admissions and victims; this file charges the time and bytes.
 */
import { Simulator } from '../engine/simulator.js';
import { BandwidthLink, ExclusiveGroup, SerialResource, type JobListener } from '../engine/resource.js';
import type { ExpertCache } from '../policies/expert-cache.js';
import type { TimelineSpan } from '../metrics/types.js';
import type { Trace } from '../trace/types.js';
import { LayerUnion } from './union.js';
import type { HostLink } from '../hardware/types.js';
import type { Step, StepSource } from './steps.js';

/** The costs the simulator charges (CostModel implements it; tests use round numbers). */
export interface StepCosts {
  readonly expertBytes: number;
  readonly hardware: { link: HostLink };
  expertSec(tokens: number): number;
  preExpertSec(moeLayer: number, tokens: number, contextTokens: number): number;
  tailSec(tokens: number, contextTokens: number, outputs: number): number;
}

export const PRIORITY_DEMAND = 0;
export const PRIORITY_PREFETCH = 1;

const JOB_PRE = 0;
const JOB_EXPERT = 1;
const JOB_TAIL = 2;

export interface TimelineWindow {
  fromStep: number;
  steps: number;
}

/** Raw counters of one run; metrics/ turns them into a Metrics object. */
export interface SimCounters {
  accesses: number;
  hits: number;
  misses: number;
  perLayerAccesses: Float64Array;
  perLayerHits: Float64Array;
  bytesH2D: number;
  stallSec: number;
  makespanSec: number;
  tokens: number;
  steps: number;
  /** Peak number of fetched-but-not-cached experts held at once (staging buffers). */
  peakStaging: number;
  /** Peak sum over running sequences of their context (KV cache tokens). */
  peakContextTokens: number;
  gpuBusySec: number;
  linkBusySec: number;
  /** Per trace sequence: when its first step started, its first output, and its output count. */
  seqStartSec: Float64Array;
  seqFirstEmitSec: Float64Array;
  seqOutputs: Int32Array;
  /** Gaps between consecutive outputs of a sequence (TPOT samples), in seconds. */
  tpotSamplesSec: Float64Array;
  tpotSampleCount: number;
  /** When each step ended, in step order (stepEndCount of them). */
  stepEndSec: Float64Array;
  stepEndCount: number;
  /** Per MoE layer: time from its non-expert work's submission to its last expert's end, summed over steps. */
  perLayerSec: Float64Array;
  timeline: TimelineSpan[];
}

export class OffloadSim implements JobListener {
  readonly sim = new Simulator();
  readonly gpu: SerialResource;
  readonly link: BandwidthLink;
  private readonly L: number;
  private readonly E: number;
  private step: Step | null = null;
  private layer = 0;
  private gateSec = 0;
  private pending = 0;
  private expertBusySec = 0;
  private stagingNow = 0;
  private readonly union: LayerUnion;
  private lastGpuEndSec = 0;
  private layerStartSec = 0;
  private readonly c: SimCounters;
  private readonly seqLastEmitSec: Float64Array;
  private readonly seqContext: Float64Array;

  constructor(
    private readonly trace: Trace,
    private readonly cost: StepCosts,
    private readonly cache: ExpertCache,
    private readonly source: StepSource,
    private readonly window?: TimelineWindow,
  ) {
    this.L = trace.numLayers;
    this.E = cache.numExperts;
    this.gpu = new SerialResource(this.sim, 'gpu', this);
    const link = cost.hardware.link;
    this.link = new BandwidthLink(this.sim, 'link', link.h2dBytesPerSec, link.latencySec, this);
    // No copy engine: a transfer and a kernel never run at once; each waits for the other, in order.
    if (link.overlapsCompute === false) new ExclusiveGroup([this.gpu, this.link.resource]);
    this.union = new LayerUnion(this.E);
    const nSeq = trace.sequences.length;
    this.seqLastEmitSec = new Float64Array(nSeq);
    this.seqContext = new Float64Array(nSeq);
    this.c = {
      accesses: 0,
      hits: 0,
      misses: 0,
      perLayerAccesses: new Float64Array(this.L),
      perLayerHits: new Float64Array(this.L),
      bytesH2D: 0,
      stallSec: 0,
      makespanSec: 0,
      tokens: 0,
      steps: 0,
      peakStaging: 0,
      peakContextTokens: 0,
      gpuBusySec: 0,
      linkBusySec: 0,
      seqStartSec: new Float64Array(nSeq).fill(-1),
      seqFirstEmitSec: new Float64Array(nSeq).fill(-1),
      seqOutputs: new Int32Array(nSeq),
      tpotSamplesSec: new Float64Array(1024),
      tpotSampleCount: 0,
      stepEndSec: new Float64Array(256),
      stepEndCount: 0,
      perLayerSec: new Float64Array(this.L),
      timeline: [],
    };
  }

  run(): SimCounters {
    this.startStep();
    this.sim.run();
    const c = this.c;
    c.makespanSec = this.sim.now;
    c.bytesH2D = this.link.bytesMoved;
    c.gpuBusySec = this.gpu.busySec;
    c.linkBusySec = this.link.resource.busySec;
    return c;
  }

  private inWindow(): boolean {
    const w = this.window;
    const s = this.step;
    return w !== undefined && s !== null && s.index >= w.fromStep && s.index < w.fromStep + w.steps;
  }

  private startStep(): void {
    const step = this.source.next();
    this.step = step;
    if (step === null) return;
    const now = this.sim.now;
    for (let i = 0; i < step.startCount; i++) this.c.seqStartSec[step.startSeq[i]] = now;
    if (step.contextTokens > this.c.peakContextTokens) this.c.peakContextTokens = step.contextTokens;
    this.c.tokens += step.count;
    this.c.steps++;
    this.layer = 0;
    this.startLayer();
  }

  private startLayer(): void {
    const step = this.step!;
    this.layerStartSec = this.sim.now;
    if (this.layer === this.L) {
      this.gpu.submit(this.cost.tailSec(step.count, step.contextTokens, step.emitCount), 0, JOB_TAIL);
    } else {
      this.gpu.submit(this.cost.preExpertSec(this.layer, step.count, step.contextTokens), 0, JOB_PRE);
    }
  }

  /** The router has chosen: look up the union of the step's experts at this layer. */
  private gate(): void {
    const layer = this.layer;
    const union = this.union;
    const u = union.compute(this.trace, this.step!, layer);
    this.gateSec = this.sim.now;
    this.pending = u;
    this.expertBusySec = 0;
    this.stagingNow = 0;
    const c = this.c;
    const cache = this.cache;
    const keyBase = layer * this.E;
    let hits = 0;
    for (let i = 0; i < u; i++) {
      const e = union.experts[i];
      const n = union.tokens[e];
      const key = keyBase + e;
      if (cache.access(key)) {
        hits++;
        this.gpu.submit(this.cost.expertSec(n), 0, (key << 2) | JOB_EXPERT, n);
      } else {
        if (!cache.lastAdmitted) this.stagingNow++;
        this.link.transfer(this.cost.expertBytes, PRIORITY_DEMAND, key, n);
      }
    }
    c.accesses += u;
    c.hits += hits;
    c.misses += u - hits;
    c.perLayerAccesses[layer] += u;
    c.perLayerHits[layer] += hits;
    if (this.stagingNow > c.peakStaging) c.peakStaging = this.stagingNow;
    if (u === 0) this.layerDone();
  }

  private layerDone(): void {
    const stall = this.sim.now - this.gateSec - this.expertBusySec;
    if (stall > 0) this.c.stallSec += stall;
    this.c.perLayerSec[this.layer] += this.sim.now - this.layerStartSec;
    this.layer++;
    this.startLayer();
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
      const job = tag & 3;
      const kind = job === JOB_EXPERT ? 'expert' : job === JOB_PRE ? 'attention' : 'lm-head';
      const expert = job === JOB_EXPERT ? (tag >> 2) % this.E : -1;
      this.c.timeline.push({ resource: 'gpu', kind, startMs: startSec * toMs, endMs: endSec * toMs, step: stepIndex, layer: this.layer, expert });
    } else {
      void tag2;
      this.c.timeline.push({ resource: 'link', kind: 'fetch', startMs: startSec * toMs, endMs: endSec * toMs, step: stepIndex, layer: (tag / this.E) | 0, expert: tag % this.E });
    }
  }

  onJobDone(res: SerialResource, _job: number, tag: number, tag2: number, startSec: number): void {
    if (res === this.gpu) {
      const job = tag & 3;
      if (job === JOB_PRE) this.gate();
      else if (job === JOB_EXPERT) {
        this.expertBusySec += this.sim.now - startSec;
        if (--this.pending === 0) this.layerDone();
      } else this.stepDone();
    } else {
      // A demand fetch arrived: compute the expert for its tokens.
      this.gpu.submit(this.cost.expertSec(tag2), 0, (tag << 2) | JOB_EXPERT, tag2);
    }
  }
}
