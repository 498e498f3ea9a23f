/**
 * The ledger of one simulated run: every byte the world moves to the GPU and every second the GPU
 * waits is charged here, as a named fact, into the run's counters (metrics/counters.ts). The loop
 * (offload-sim.ts) and the prefetch plan (prefetch-plan.ts) say what happened (a prefetch was
 * issued, an expert was evicted, a GPU job started after an idle gap); only this file adds to a
 * byte, stall or prefetch counter. The host and storage tiers keep their own counters (tiers.ts).
 *
 * Stall: the GPU is idle inside a layer while it waits for an expert. Each idle interval is charged
 * to what ended it, the expert whose computation starts then, by why that expert was not ready
 * (its WAIT_* cause, set when its gate looked it up): still in the link's queue, in its transfer
 * (a capacity miss, or a misprediction when a prefetch plan did not name it), a late prefetch, on
 * the SSD (with a storage tier); idle at the end of a layer is the CPU's (or the SSD's, for a
 * CPU-computed expert read from it). The classes add up to stallSec, the layer's time minus its
 * expert compute. Idle between steps for want of requests (a serving workload) is idle, not stall.
 *
 * Allocation-free per fact: typed arrays per key, sized once.
 */
import { newCounters, type SimCounters } from '../metrics/counters.js';
import type { Step } from '../trace/steps.js';

// Why the GPU waited for an expert (the charge of the idle interval its computation ends).
/** Resident and ready: a wait for it was a wait for its launch on the host thread (charged elsewhere: not stall of an expert). */
export const WAIT_HIT = 0;
/** Missed (not planned, or no prefetch policy): its fetch is a capacity miss. */
export const WAIT_CAPACITY = 1;
/** Missed although a prefetch plan was in force and did not name it. */
export const WAIT_MISPREDICTION = 2;
/** Prefetched, still on its way at its gate. */
export const WAIT_LATE_PREFETCH = 3;

/** Kinds of bytes fetched over the link (the index into Ledger.fetchedBytes). */
export const FETCH_DEMAND = 0;
export const FETCH_STAGED = 1;
export const FETCH_PREFETCH = 2;
export const FETCH_LOW_BIT = 3;
export const FETCH_STREAM = 4;
export const FETCH_KIND_NAMES = ['demand', 'staged', 'prefetch', 'low-bit', 'stream'] as const;

/**
 * The times of a job that is starting (a SerialResource in its listener's onJobStart), read from
 * fields rather than passed: float64 arguments are boxed when a call is not inlined.
 */
export interface StartedJob {
  readonly startedSec: number;
  readonly startedEndSec: number;
}

export class Ledger {
  readonly counters: SimCounters;
  /** Bytes that arrived over the link, by FETCH_* kind (their sum is counters.bytesH2D up to rounding). */
  readonly fetchedBytes = new Float64Array(FETCH_KIND_NAMES.length);
  /** Per key: arrived by prefetch and not yet accessed (used at its first access, wasted if evicted or left at the end). */
  private readonly unusedPrefetch: Uint8Array;
  /** Per key: the WAIT_* cause of its gate's lookup. */
  private readonly waitClass: Uint8Array;
  /** Per key: when its latest transfer started. */
  private readonly fetchStartSec: Float64Array;
  /** Per key (with a storage tier): when the expert a miss waits for was in host DRAM. */
  private readonly hostReadySec: Float64Array;
  /** The latest time this layer's CPU-computed experts were in host DRAM (with a storage tier). */
  private cpuHostReadySec = 0;
  /** End of the last GPU job started. */
  private gpuFreeAtSec = 0;
  private readonly seqLastEmitSec: Float64Array;

  constructor(
    layers: number,
    keys: number,
    streams: number,
    /** Bytes of one expert's weights (the unit of a prefetch's bytes). */
    private readonly expertBytes: number,
    /** A storage tier stands behind host DRAM (stall on the SSD is charged apart). */
    private readonly storageTier: boolean,
  ) {
    this.counters = newCounters(layers, streams);
    this.seqLastEmitSec = this.counters.seqLastEmitSec;
    this.unusedPrefetch = new Uint8Array(keys);
    this.waitClass = new Uint8Array(keys);
    this.fetchStartSec = new Float64Array(keys);
    this.hostReadySec = new Float64Array(storageTier ? keys : 0);
  }

  // --- Steps and gates ------------------------------------------------------------------------

  /** A forward pass started at `nowSec`. */
  stepStarted(nowSec: number, step: Step): void {
    const c = this.counters;
    for (let i = 0; i < step.startCount; i++) c.seqStartSec[step.startSeq[i]] = nowSec;
    if (step.contextTokens > c.peakContextTokens) c.peakContextTokens = step.contextTokens;
    c.tokens += step.count;
    c.steps++;
  }

  /** A gate looked up `accesses` experts of `layer`: `hits` ready, `late` resident but on their way; `staging` held in staging buffers. */
  gated(layer: number, accesses: number, hits: number, late: number, staging: number): void {
    const c = this.counters;
    c.accesses += accesses;
    c.hits += hits;
    c.lateHits += late;
    c.misses += accesses - hits - late;
    c.perLayerAccesses[layer] += accesses;
    c.perLayerHits[layer] += hits;
    c.expertComputations += accesses;
    if (staging > c.peakStaging) c.peakStaging = staging;
  }

  /** The prefetch plan against a gate: `predicted` experts planned, `actual` chosen, `correct` both. */
  planScored(predicted: number, actual: number, correct: number): void {
    const c = this.counters;
    c.planPredicted += predicted;
    c.planActual += actual;
    c.planCorrect += correct;
  }

  /** A layer took `sec` from its non-expert work's submission to its last expert's end. */
  layerTook(layer: number, sec: number): void {
    this.counters.perLayerSec[layer] += sec;
  }

  /** The step ended at `nowSec`: its outputs are emitted (first-token and inter-token gaps). */
  stepEnded(nowSec: number, step: Step): void {
    const c = this.counters;
    if (c.stepEndCount === c.stepEndSec.length) {
      const g = new Float64Array(c.stepEndSec.length * 2);
      g.set(c.stepEndSec);
      c.stepEndSec = g;
    }
    c.stepEndSec[c.stepEndCount++] = nowSec;
    for (let i = 0; i < step.emitCount; i++) {
      const s = step.emitSeq[i];
      if (c.seqOutputs[s] === 0) c.seqFirstEmitSec[s] = nowSec;
      else this.pushTpot(nowSec - this.seqLastEmitSec[s]);
      c.seqOutputs[s]++;
      this.seqLastEmitSec[s] = nowSec;
    }
  }

  private pushTpot(gapSec: number): void {
    const c = this.counters;
    if (c.tpotSampleCount === c.tpotSamplesSec.length) {
      const g = new Float64Array(c.tpotSamplesSec.length * 2);
      g.set(c.tpotSamplesSec);
      c.tpotSamplesSec = g;
    }
    c.tpotSamplesSec[c.tpotSampleCount++] = gapSec;
  }

  // --- Bytes ----------------------------------------------------------------------------------

  /** `bytes` of kind FETCH_* arrived over the link (every link transfer that completes, in completion order). */
  fetched(kind: number, bytes: number): void {
    this.counters.bytesH2D += bytes;
    this.fetchedBytes[kind] += bytes;
  }

  /** A miss is computed on the CPU; `activationBytes` crossed the link for it (both directions; 0 inside a layer's open CPU task). */
  computedOnCpu(activationBytes: number): void {
    this.counters.cpuComputations++;
    this.counters.activationBytes += activationBytes;
  }

  /** A miss is served from a lower-bit copy of `bytes`, fetched now. */
  computedLowBit(bytes: number): void {
    this.counters.lowBitComputations++;
    this.counters.lowBitBytes += bytes;
  }

  /**
   * The run's prefill streaming (prefill-stream.ts) streamed `experts` experts, `wastedBytes` of
   * them no router chose, holding at most `peakBuffered` staging buffers (counted on top of the
   * demand staging peak: conservative).
   */
  streamed(experts: number, wastedBytes: number, peakBuffered: number): void {
    const c = this.counters;
    c.streamedExperts = experts;
    c.streamWastedBytes = wastedBytes;
    c.peakStaging += peakBuffered;
  }

  /** A prefetch of one expert went on the link's queue. */
  prefetchIssued(): void {
    const p = this.counters.prefetch;
    p.issued++;
    p.issuedBytes += this.expertBytes;
  }

  /** The cache refused to reserve a slot for a planned prefetch. */
  prefetchRefused(): void {
    this.counters.prefetch.refused++;
  }

  /** A queued prefetch the new plan no longer names was cancelled: it never moved a byte and no longer counts as issued. */
  prefetchCancelled(): void {
    const p = this.counters.prefetch;
    p.cancelled++;
    p.issued--;
    p.issuedBytes -= this.expertBytes;
  }

  /** A prefetch still queued when the run ended was dropped: never moved, not issued, not cancelled by a plan. */
  prefetchDropped(): void {
    const p = this.counters.prefetch;
    p.issued--;
    p.issuedBytes -= this.expertBytes;
  }

  /** A prefetch of `key` arrived and its gate has not asked for it yet. */
  prefetchArrived(key: number): void {
    this.unusedPrefetch[key] = 1;
  }

  /** A gate asked for a prefetch still on its way: used, late. */
  prefetchLate(): void {
    const p = this.counters.prefetch;
    p.late++;
    p.usedBytes += this.expertBytes;
  }

  /** A gate found `key` resident and ready: if a prefetch brought it and this is its first use, the prefetch is used. */
  accessedReady(key: number): void {
    if (this.unusedPrefetch[key] === 1) {
      this.unusedPrefetch[key] = 0;
      const p = this.counters.prefetch;
      p.hits++;
      p.usedBytes += this.expertBytes;
    }
  }

  /** A guess in a prefetch buffer (prefetch-buffers.ts) its gate did not choose: wasted now. */
  prefetchDiscarded(key: number): void {
    this.prefetchWasted(key);
  }

  /** A discarded guess whose copy is still on the link is named again by a new plan: no longer wasted. */
  prefetchRenamed(): void {
    const p = this.counters.prefetch;
    p.wasted--;
    p.wastedBytes -= this.expertBytes;
  }

  /** The cache evicted `victim`: a prefetch of it never used is wasted. */
  evicted(victim: number): void {
    if (this.unusedPrefetch[victim] === 1) this.prefetchWasted(victim);
  }

  private prefetchWasted(key: number): void {
    this.unusedPrefetch[key] = 0;
    const p = this.counters.prefetch;
    p.wasted++;
    p.wastedBytes += this.expertBytes;
  }

  // --- Time -----------------------------------------------------------------------------------

  /** The gate looked `key` up and found it in state `cause` (WAIT_*): what the GPU's wait for it, if any, is charged to. */
  waitsFor(key: number, cause: number, nowSec: number): void {
    this.waitClass[key] = cause;
    // A host hit waits for no SSD read; hostReady() moves this to the read's arrival.
    if (this.storageTier && cause !== WAIT_HIT && cause !== WAIT_LATE_PREFETCH) this.hostReadySec[key] = nowSec;
  }

  /** A new gate: no CPU-computed expert of it is in host DRAM yet. */
  layerGated(): void {
    this.cpuHostReadySec = 0;
  }

  /** With a storage tier: the expert a miss waits for reached host DRAM at `nowSec` (`cpu`: for a CPU computation). */
  hostReady(key: number, nowSec: number, cpu: boolean): void {
    this.hostReadySec[key] = nowSec;
    if (cpu && nowSec > this.cpuHostReadySec) this.cpuHostReadySec = nowSec;
  }

  /** A transfer of `key` started on the link (its times: `job`, the link in its onJobStart). */
  transferStarted(key: number, job: StartedJob): void {
    this.fetchStartSec[key] = job.startedSec;
  }

  /**
   * A GPU job started (the computation of expert `expertKey`, or -1 for other work; its times:
   * `job`, the GPU in its onJobStart): an idle gap before an expert is stall.
   */
  gpuJobStarted(expertKey: number, job: StartedJob): void {
    const startSec = job.startedSec;
    const endSec = job.startedEndSec;
    if (expertKey >= 0 && startSec > this.gpuFreeAtSec) this.expertWait(expertKey, job);
    if (endSec > this.gpuFreeAtSec) this.gpuFreeAtSec = endSec;
  }

  /** Charges the GPU idle interval [gpuFreeAtSec, job's start) that the computation of `key` ends, by its cause. */
  private expertWait(key: number, job: StartedJob): void {
    const from = this.gpuFreeAtSec;
    const to = job.startedSec;
    const c = this.counters;
    const cls = this.waitClass[key];
    // A resident expert the GPU waited for waited for its launch on the host thread.
    if (cls === WAIT_HIT) return;
    if (cls === WAIT_LATE_PREFETCH) {
      c.stallLinkQueueSec += to - from;
      c.stallLatePrefetchSec += to - from;
      return;
    }
    if (this.storageTier) {
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

  /**
   * The layer's last expert is computed at `nowSec`; the layer's stall is `stallSec` (its time
   * since the gate minus its expert compute). Idle since the last GPU job is the CPU's: the GPU
   * waited for CPU-computed experts (with a storage tier, on the SSD until the last of them was in
   * host DRAM).
   */
  layerEnded(nowSec: number, stallSec: number): void {
    const c = this.counters;
    if (stallSec > 0) c.stallSec += stallSec;
    if (nowSec > this.gpuFreeAtSec) {
      if (this.storageTier && this.cpuHostReadySec > this.gpuFreeAtSec) {
        const ssd = Math.min(nowSec, this.cpuHostReadySec) - this.gpuFreeAtSec;
        c.stallSsdSec += ssd;
        c.stallCpuSec += nowSec - this.gpuFreeAtSec - ssd;
      } else c.stallCpuSec += nowSec - this.gpuFreeAtSec;
      this.gpuFreeAtSec = nowSec;
    }
  }

  /** The GPU has no step to run from `nowSec` until `resumeSec` (no request has arrived): idle, not stall. */
  idleUntil(nowSec: number, resumeSec: number): void {
    this.counters.idleSec += resumeSec - nowSec;
    this.gpuFreeAtSec = resumeSec;
  }

  /** The run is over: prefetched experts never accessed are waste; the totals of the resources. */
  runEnded(makespanSec: number, gpuBusySec: number, linkBusySec: number): SimCounters {
    const c = this.counters;
    c.makespanSec = makespanSec;
    c.gpuBusySec = gpuBusySec;
    c.linkBusySec = linkBusySec;
    for (let k = 0; k < this.unusedPrefetch.length; k++) if (this.unusedPrefetch[k] === 1) this.prefetchWasted(k);
    return c;
  }
}
