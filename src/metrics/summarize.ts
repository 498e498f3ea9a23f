import type { SimCounters } from './counters.js';
import type { GpuMemory, Metrics } from './types.js';

/** Linear-interpolated percentile (p in [0, 100]) of sorted values; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (p / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** The median (the mean of the two middle values of an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return values.length === 0 ? NaN : s / values.length;
}

/** Metrics of one run from the simulator's counters and the memory plan. */
export function summarize(
  c: SimCounters,
  memory: { residentBytes: number; expertCacheBytes: number; stagingBytes: number; allOnGpuBytes: number; cacheCapacityExperts: number },
  /** storageTier: the run has a host tier in front of an SSD (three tiers): the stall split has its SSD class. */
  options: { prefetching?: boolean; storageTier?: boolean } = {},
): Metrics {
  const ttft: number[] = [];
  let outputs = 0;
  for (let s = 0; s < c.seqStartSec.length; s++) {
    outputs += c.seqOutputs[s];
    if (c.seqOutputs[s] > 0) ttft.push((c.seqFirstEmitSec[s] - c.seqStartSec[s]) * 1e3);
  }
  const ttftSorted = Float64Array.from(ttft).sort();
  const tpot = c.tpotSamplesSec.slice(0, c.tpotSampleCount).map((x) => x * 1e3).sort();
  const gpuMemory: GpuMemory = {
    peakBytes: memory.residentBytes + memory.expertCacheBytes + memory.stagingBytes,
    residentBytes: memory.residentBytes,
    expertCacheBytes: memory.expertCacheBytes,
    stagingBytes: memory.stagingBytes,
  };
  const perLayerHitRate = Array.from(c.perLayerAccesses, (a, l) => (a === 0 ? 0 : c.perLayerHits[l] / a));
  const ms = (sec: number) => sec * 1e3;
  const comps = c.expertComputations;
  return {
    accesses: c.accesses,
    hits: c.hits,
    misses: c.misses,
    lateHits: c.lateHits,
    hitRate: c.accesses === 0 ? 0 : c.hits / c.accesses,
    perLayerHitRate,
    bytesH2D: c.bytesH2D,
    stallMs: c.stallSec * 1e3,
    idleMs: c.idleSec * 1e3,
    ttftMs: mean(ttftSorted),
    ttftP50Ms: percentile(ttftSorted, 50),
    ttftP99Ms: percentile(ttftSorted, 99),
    tpotMs: mean(tpot),
    tpotP50Ms: percentile(tpot, 50),
    tpotP99Ms: percentile(tpot, 99),
    tokensPerSec: c.makespanSec > 0 ? outputs / c.makespanSec : 0,
    gpuMemoryBytes: gpuMemory.peakBytes,
    gpuMemory,
    allOnGpuBytes: memory.allOnGpuBytes,
    memorySavingPct: 100 * (1 - gpuMemory.peakBytes / memory.allOnGpuBytes),
    makespanMs: c.makespanSec * 1e3,
    tokens: c.tokens,
    outputTokens: outputs,
    steps: c.steps,
    cacheCapacityExperts: memory.cacheCapacityExperts,
    gpuBusyMs: c.gpuBusySec * 1e3,
    linkBusyMs: c.linkBusySec * 1e3,
    stallSplitMs: {
      capacityMs: ms(c.stallCapacitySec),
      mispredictionMs: ms(c.stallMispredictionSec),
      linkQueueMs: ms(c.stallLinkQueueSec),
      latePrefetchMs: ms(c.stallLatePrefetchSec),
      cpuMs: ms(c.stallCpuSec),
      ...(options.storageTier ? { ssdMs: ms(c.stallSsdSec) } : {}),
    },
    prefetch: { ...c.prefetch },
    onMiss: {
      expertComputations: comps,
      cpuComputations: c.cpuComputations,
      cpuShare: comps === 0 ? 0 : c.cpuComputations / comps,
      lowPrecisionComputations: c.lowBitComputations,
      lowPrecisionShare: comps === 0 ? 0 : c.lowBitComputations / comps,
      activationBytes: c.activationBytes,
      lowPrecisionBytes: c.lowBitBytes,
    },
    ...(options.prefetching
      ? {
          plan: {
            predicted: c.planPredicted,
            actual: c.planActual,
            correct: c.planCorrect,
            precision: c.planPredicted === 0 ? 0 : c.planCorrect / c.planPredicted,
            recall: c.planActual === 0 ? 0 : c.planCorrect / c.planActual,
          },
        }
      : {}),
  };
}
