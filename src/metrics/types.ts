import type { TierMetrics } from './tiers.js';
export type { TierMetrics } from './tiers.js';
/**
 * What a simulation returns: plain JSON. Everything printed (tables, CSV, HTML, SVG) is a pure
 * function of a RunResult. Times in milliseconds (`Ms`), sizes in bytes (`Bytes`).
 */

export interface GpuMemory {
  /** Peak bytes on the GPU: resident + expert cache + staging. */
  peakBytes: number;
  /** Dense weights, embeddings, KV cache at its peak, activations workspace. */
  residentBytes: number;
  /** Expert cache slots (allocated up front, capacity x expert bytes). */
  expertCacheBytes: number;
  /** Buffers for fetched experts that are not cached (bypass / policy "none"). */
  stagingBytes: number;
}

/** GPU idle time inside layers by cause (ms); capacity + misprediction + link queue + cpu (+ ssd) add up to stallMs. */
export interface StallSplit {
  /**
   * Waiting for the transfer of an expert that was not resident and not mispredicted: cold, capacity
   * and conflict misses (every miss of a run without prefetching), and planned experts that found no slot.
   */
  capacityMs: number;
  /** Waiting for the transfer of an expert the prefetch plan did not name at its gate. */
  mispredictionMs: number;
  /** Waiting while the needed expert's transfer had not started (other transfers ahead of it on the link), and for late prefetches. */
  linkQueueMs: number;
  /** The part of linkQueueMs spent waiting for prefetches that had been issued but had not arrived. */
  latePrefetchMs: number;
  /** Waiting at the end of a layer for experts computed on the CPU. */
  cpuMs: number;
  /**
   * Issue 16, three tiers only (GPU <- host DRAM <- SSD; absent otherwise): waiting for an expert's
   * SSD read into host DRAM, its place in the SSD's queue and the read, before its copy to the GPU
   * (then counted as above) or its computation on the CPU. Where the GPU fetches from the SSD itself
   * (unified memory, GPUDirect Storage) the link is the SSD, and the classes above are SSD waits.
   */
  ssdMs?: number;
}

export interface PrefetchMetrics {
  /** Prefetch transfers issued, not counting cancelled ones nor those still queued when the run ended (dropped). */
  issued: number;
  /** Cancelled while queued: no bytes moved, slot freed. */
  cancelled: number;
  /** Planned experts for which no cache slot could be freed (every candidate locked). */
  refused: number;
  /** prefetchHits: the first access to a prefetched expert after it arrived (also counted in hits). */
  hits: number;
  /** Late prefetches: accessed while still queued or in flight (counted in lateHits). */
  late: number;
  /** Prefetched experts evicted, or left at the end, without an access. */
  wasted: number;
  issuedBytes: number;
  /** Bytes of prefetches that served an access (hit or late). */
  usedBytes: number;
  /** Bytes of prefetches evicted or left unused (wasted). Prefetches still in flight at the end count in neither. */
  wastedBytes: number;
}

export interface MissHandlingMetrics {
  /** Expert computations (one per access). */
  expertComputations: number;
  /** Computed on the CPU (Fiddler), and their share of all computations. */
  cpuComputations: number;
  cpuShare: number;
  /** Computed from a lower-bit copy (HOBBIT): degraded computations, and their share (a quality proxy). */
  lowPrecisionComputations: number;
  lowPrecisionShare: number;
  /** Activations that crossed the link for CPU computations, both ways. */
  activationBytes: number;
  /** Bytes of lower-bit copies fetched (included in bytesH2D). */
  lowPrecisionBytes: number;
}

/** The prefetch plan against each gate: planned experts of the layer vs. the experts its tokens chose. */
export interface PlanAccuracy {
  predicted: number;
  actual: number;
  correct: number;
  precision: number;
  recall: number;
}

export interface Metrics {
  /** Expert accesses: one per (step, MoE layer, distinct expert the step's tokens activate). */
  accesses: number;
  /** Accesses that found the expert resident and arrived (including prefetch hits). */
  hits: number;
  /** Accesses that found it not resident (fetched, computed on the CPU, or fetched at lower precision). */
  misses: number;
  /** Accesses that found it resident but still on the link (late prefetches). hits + lateHits + misses = accesses. */
  lateHits: number;
  hitRate: number;
  /** Hit rate per MoE layer (index = MoE layer ordinal). */
  perLayerHitRate: number[];
  bytesH2D: number;
  /** Time the GPU waited for expert weights (sum over steps). */
  stallMs: number;
  /** Time the GPU had nothing to run (serving: no request had arrived); not stall. */
  idleMs: number;
  /** Mean time to first token over sequences. */
  ttftMs: number;
  ttftP50Ms: number;
  ttftP99Ms: number;
  /** Mean time per output token after the first, over sequences' inter-token gaps. */
  tpotMs: number;
  tpotP50Ms: number;
  tpotP99Ms: number;
  /** Generated tokens per second of simulated time (all sequences). */
  tokensPerSec: number;
  /** Peak GPU memory (same as gpuMemory.peakBytes). */
  gpuMemoryBytes: number;
  gpuMemory: GpuMemory;
  /** What keeping every expert on the GPU would need (resident + all experts). */
  allOnGpuBytes: number;
  /** 100 * (1 - gpuMemoryBytes / allOnGpuBytes). */
  memorySavingPct: number;
  /** Simulated wall time of the whole run. */
  makespanMs: number;
  /** Tokens processed (prefill + decode). */
  tokens: number;
  /** Expert cache capacity in experts (total over layers); -1 = unbounded. */
  cacheCapacityExperts: number;
  stallSplitMs: StallSplit;
  prefetch: PrefetchMetrics;
  onMiss: MissHandlingMetrics;
  /** Present when the policy prefetches. */
  plan?: PlanAccuracy;
  [extra: string]: unknown;
}

/** Predictor accuracy at one lookahead distance (see predictors/evaluate.ts for the definitions). */
export interface LookaheadAccuracy {
  lookahead: number;
  samples: number;
  precision: number;
  recall: number;
  topKAccuracy: number;
}

/** Every layer asked before the token's forward pass (see predictors/evaluate.ts). */
export interface BeforePassAccuracy {
  samples: number;
  precision: number;
  recall: number;
  layerMeanRecall: number;
}

export interface PredictorReport {
  kind: string;
  /** The predictor's parameters as resolved (defaults filled). */
  spec: unknown;
  training: {
    /** 'online' (causal, from the run's own past), 'offline', 'offline+online', or 'none' (oracle). */
    mode: string;
    /** What offline training used, in words. */
    offlineOn?: string;
    offlineTokens: number;
    /** What the accuracy below was measured on, in words. */
    evaluatedOn: string;
  };
  /** Learned numbers after offline training (stored matrices grow online). */
  parameters: number;
  fit?: { examples: number; epochs: number; finalLoss: number };
  /** Wall-clock offline training time (only when the caller supplied a clock: not deterministic). */
  trainMs?: number;
  evaluation: { tokens: number; perLookahead: LookaheadAccuracy[]; beforePass: BeforePassAccuracy };
  /**
   * For a predictor standing for a system's (path: ExpertFlow, activation-matrix: MoE-Infinity,
   * affinity in a mixtral-offloading scenario, published: its `of`): the accuracy in the paper's
   * own metric measured here, next to the one the paper publishes (src/predictors/published.ts).
   */
  published?: PublishedComparison;
}

export interface PublishedComparison {
  system: string;
  paper: string;
  where: string;
  /** The paper's metric, by name (published.ts PublishedMetric); null: the paper defines none. */
  metric: string | null;
  /** What was measured here in that metric, in words (which evaluation field). */
  measuredAs: string;
  /** Measured on this run's trace in the paper's metric; null when the paper defines none. */
  measured: number | null;
  /** The paper's value; null when it publishes no number (see note). */
  value: number | null;
  bound?: 'lower';
  setting: string;
  note: string;
}

/** The predictor a token scheduler (expertflow) predicted routing paths with, and how well it did over the run. */
export interface SchedulerPredictorReport {
  kind: string;
  /** The predictor's parameters as resolved (defaults filled). */
  spec: unknown;
  training: {
    /** 'online', 'offline', 'offline+online', or 'none' (oracle); as PredictorReport's. */
    mode: string;
    offlineOn?: string;
    offlineTokens: number;
  };
  /** Learned numbers after offline training. */
  parameters: number;
  fit?: { examples: number; epochs: number; finalLoss: number };
  /**
   * Each decode token's path as the scheduler predicted it before the token's forward pass, against
   * its routing once it ran: precision and recall over (token, MoE layer) pairs.
   */
  accuracy: { tokens: number; precision: number; recall: number };
  /** ExpertFlow's published accuracy next to accuracy.recall (path or published predictors; PredictorReport.published). */
  published?: PublishedComparison;
}

/**
 * The timeline's lanes: the GPU's compute stream, the host -> GPU link (copy engine), the SSD's
 * read queue (issue 16: SSD -> host reads of a three-tier run, or the GPU's fetches on a machine
 * that fetches from the SSD: unified memory, GPUDirect Storage), the CPU (and host thread).
 */
export type TimelineResource = 'gpu' | 'link' | 'ssd' | 'cpu';

/** One busy interval on a resource, for the Gantt chart (a window of one run). */
export interface TimelineSpan {
  resource: TimelineResource;
  /**
   * 'attention' (non-expert work), 'expert', 'fetch', 'prefetch', 'write-back' (an evicted expert
   * copied back to the host on its own, after a buffered prefetch is adopted), 'stall', 'cpu-expert', ...; on
   * the SSD lane 'ssd-read' (a read a miss waits for) and 'ssd-stage' (staged ahead by a prefetch
   * plan), or 'fetch' / 'prefetch' where the SSD is the GPU's fetch path.
   */
  kind: string;
  startMs: number;
  endMs: number;
  step: number;
  layer: number;
  /** Expert id, -1 when not about one expert. */
  expert: number;
}

export interface PolicyResult {
  /** Cache policy kind ("lru", ...). */
  policy: string;
  /** Prefetch policy kind, when the policy prefetches. */
  prefetch?: string;
  /** Miss handler kind (fetch when none is given). */
  onMiss?: string;
  predictor?: PredictorReport;
  /** Human label ("lru, 4/layer"; serving workloads: "lru, 4/layer · expertflow"). */
  label: string;
  /** Serving workloads: the token scheduler's kind. */
  scheduler?: string;
  /** Serving workloads: the predictor the token scheduler predicted routing with, when it has one. */
  schedulerPredictor?: SchedulerPredictorReport;
  metrics: Metrics;
  /** Serving workloads: per-request latency, throughput, SLO attainment, micro-batch unions. */
  serving?: ServingMetrics;
  timeline?: TimelineSpan[];
  /** Issue 16: host DRAM and the storage tier (where each byte came from, time per tier). */
  tiers?: TierMetrics;
}

/** Mean and percentiles of a sample (NaN when empty). */
export interface Percentiles {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

/** One request of a serving workload (times from the start of the run). */
export interface RequestRecord {
  /** Trace sequence it follows. */
  sequence: number;
  promptTokens: number;
  outputTokens: number;
  arrivalMs: number;
  /** When its first step (prefill or decode) started. */
  startMs: number;
  firstTokenMs: number;
  lastTokenMs: number;
  /** Most decode micro-batches in a row it was passed over. */
  maxPassedOver: number;
}

export interface ServingMetrics {
  requests: number;
  /** Requests that emitted all their output tokens (all of them: a run ends when they have). */
  completed: number;
  /** Time to first token, from arrival. */
  ttftMs: Percentiles;
  /** Per request: (last token - first token) / (outputs - 1); requests with 2+ outputs. */
  tpotMs: Percentiles;
  /** First scheduled - arrival. */
  queueingMs: Percentiles;
  /** Last token - arrival. */
  e2eMs: Percentiles;
  /** Output tokens per second of simulated time (makespan). */
  throughputTokensPerSec: number;
  requestsPerSec: number;
  /** Requests meeting each target, in percent of requests (TPOT: vacuous for one output). */
  slo?: { ttftMs: number; tpotMs: number; ttftPct: number; tpotPct: number; bothPct: number };
  /** GPU time with nothing to run (no request had arrived); not stall. */
  idleMs: number;
  /** Distinct experts a micro-batch activates at one MoE layer (the union over its tokens). */
  distinctExpertsPerMicroBatch: {
    /** Mean over decode micro-batches and layers. */
    decode: number;
    /** Mean over prefill passes and layers. */
    prefill: number;
    decodePerLayer: number[];
    prefillPerLayer: number[];
  };
  decodeMicroBatches: number;
  prefillPasses: number;
  /** Mean tokens per decode micro-batch. */
  meanDecodeTokens: number;
  /**
   * Percent of decode tokens that ran in a micro-batch with another token of identical routing (the
   * same trace token: requests reusing a sequence at the same position). Flatters routing-aware
   * schedulers; 0 when no sequence is reused.
   */
  twinTokenPct: number;
  /** Decode micro-batches where more tokens were ready than places (the scheduler had a choice). */
  contestedMicroBatches: number;
  /** Most decode micro-batches in a row any request was passed over, and the bound kept. */
  maxPassedOver: number;
  waitBound: number;
  /** Prefill streaming: experts streamed and the bytes of those no router chose. */
  streamedExperts: number;
  streamWastedBytes: number;
  perRequest: RequestRecord[];
}

export interface RunResult {
  moesimVersion: string;
  scenario: {
    name: string;
    seed: number | string;
    /** Path of the scenario file, when loaded from one. */
    file?: string;
    /** The scenario as validated (defaults filled), so a run can be reproduced. */
    resolved: unknown;
  };
  model: string;
  hardware: string;
  trace: {
    path?: string;
    format: string;
    provenance?: string;
    tokens: number;
    sequences: number;
  };
  /** Serving workloads: what was served. */
  workload?: {
    kind: 'serving';
    description: string;
    requests: number;
    /** More requests than trace sequences: sequences were reused by seeded sampling. */
    reusedSequences: boolean;
    /** Requests cut to fit their trace sequence. */
    cappedRequests: number;
  };
  results: PolicyResult[];
  warnings: string[];
}
