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

export interface Metrics {
  /** Expert accesses: one per (step, MoE layer, distinct expert the step's tokens activate). */
  accesses: number;
  hits: number;
  misses: number;
  hitRate: number;
  /** Hit rate per MoE layer (index = MoE layer ordinal). */
  perLayerHitRate: number[];
  bytesH2D: number;
  /** Time the GPU waited for expert weights (sum over steps). */
  stallMs: number;
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
  [extra: string]: unknown;
}

export type TimelineResource = 'gpu' | 'link' | 'cpu';

/** One busy interval on a resource, for the Gantt chart (a window of one run). */
export interface TimelineSpan {
  resource: TimelineResource;
  /** 'attention' (non-expert work), 'expert', 'fetch', 'prefetch', 'stall', 'cpu-expert', ... */
  kind: string;
  startMs: number;
  endMs: number;
  step: number;
  layer: number;
  /** Expert id, -1 when not about one expert. */
  expert: number;
}

export interface PolicyResult {
  /** Policy kind ("lru", ...). */
  policy: string;
  /** Human label ("lru, 4/layer"). */
  label: string;
  metrics: Metrics;
  timeline?: TimelineSpan[];
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
  results: PolicyResult[];
  warnings: string[];
}
