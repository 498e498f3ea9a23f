/**
 * The raw counters of one run, as plain data: the simulator charges into them, metrics/ turns them
 * into a Metrics object.
 */
import type { PrefetchMetrics, TimelineSpan } from './types.js';

/** The prefetch counters a run keeps are the metrics it reports (src/metrics/types.ts). */
export type PrefetchCounters = PrefetchMetrics;

/** Raw counters of one run; metrics/ turns them into a Metrics object. */
export interface SimCounters {
  accesses: number;
  hits: number;
  misses: number;
  perLayerAccesses: Float64Array;
  perLayerHits: Float64Array;
  bytesH2D: number;
  stallSec: number;
  /** Time the GPU had nothing to run (waiting for requests to arrive); not stall. */
  idleSec: number;
  makespanSec: number;
  tokens: number;
  steps: number;
  /** Peak number of fetched-but-not-cached experts held at once (staging buffers). */
  peakStaging: number;
  /** Peak sum over running sequences of their context (KV cache tokens). */
  peakContextTokens: number;
  gpuBusySec: number;
  linkBusySec: number;
  /**
   * Per stream (trace sequence, or request of a serving workload): when its first step started, its
   * first and last outputs, and its output count.
   */
  seqStartSec: Float64Array;
  seqFirstEmitSec: Float64Array;
  seqLastEmitSec: Float64Array;
  seqOutputs: Int32Array;
  /** Prefill streaming: experts streamed, and bytes of those no router chose. */
  streamedExperts: number;
  streamWastedBytes: number;
  /** Gaps between consecutive outputs of a sequence (TPOT samples), in seconds. */
  tpotSamplesSec: Float64Array;
  tpotSampleCount: number;
  /** When each step ended, in step order (stepEndCount of them). */
  stepEndSec: Float64Array;
  stepEndCount: number;
  /** Per MoE layer: time from its non-expert work's submission to its last expert's end, summed over steps. */
  perLayerSec: Float64Array;
  timeline: TimelineSpan[];
  /** Accesses that found the expert resident but still on its way (a prefetch in flight or queued). */
  lateHits: number;
  /** GPU idle time inside layers, by cause; the five add up to stallSec. */
  stallCapacitySec: number;
  stallMispredictionSec: number;
  stallLinkQueueSec: number;
  stallCpuSec: number;
  /** With a storage tier (three tiers): waiting for an expert's SSD read into host DRAM (its queue and read). */
  stallSsdSec: number;
  /** The part of stallLinkQueueSec spent waiting for late prefetches. */
  stallLatePrefetchSec: number;
  prefetch: PrefetchCounters;
  /** Expert computations (one per access), and those done on the CPU or from a lower-bit copy. */
  expertComputations: number;
  cpuComputations: number;
  lowBitComputations: number;
  /** Activation bytes that crossed the link for CPU-computed experts (both directions). */
  activationBytes: number;
  /** Bytes of lower-bit copies fetched. */
  lowBitBytes: number;
  /** The prefetch plan against the gate, over all (step, layer) gates: planned experts, true experts, both. */
  planPredicted: number;
  planActual: number;
  planCorrect: number;
}

/** Zeroed counters for `layers` MoE layers and `nSeq` output streams. */
export function newCounters(layers: number, nSeq: number): SimCounters {
return {
    accesses: 0,
    hits: 0,
    misses: 0,
    perLayerAccesses: new Float64Array(layers),
    perLayerHits: new Float64Array(layers),
    bytesH2D: 0,
    stallSec: 0,
    idleSec: 0,
    makespanSec: 0,
    tokens: 0,
    steps: 0,
    peakStaging: 0,
    peakContextTokens: 0,
    gpuBusySec: 0,
    linkBusySec: 0,
    seqStartSec: new Float64Array(nSeq).fill(-1),
    seqFirstEmitSec: new Float64Array(nSeq).fill(-1),
    seqLastEmitSec: new Float64Array(nSeq).fill(-1),
    seqOutputs: new Int32Array(nSeq),
    streamedExperts: 0,
    streamWastedBytes: 0,
    tpotSamplesSec: new Float64Array(1024),
    tpotSampleCount: 0,
    stepEndSec: new Float64Array(256),
    stepEndCount: 0,
    perLayerSec: new Float64Array(layers),
    timeline: [],
    lateHits: 0,
    stallCapacitySec: 0,
    stallMispredictionSec: 0,
    stallLinkQueueSec: 0,
    stallCpuSec: 0,
    stallSsdSec: 0,
    stallLatePrefetchSec: 0,
    prefetch: { issued: 0, cancelled: 0, refused: 0, hits: 0, late: 0, wasted: 0, issuedBytes: 0, usedBytes: 0, wastedBytes: 0 },
    expertComputations: 0,
    cpuComputations: 0,
    lowBitComputations: 0,
    activationBytes: 0,
    lowBitBytes: 0,
    planPredicted: 0,
    planActual: 0,
    planCorrect: 0,
  };
}
