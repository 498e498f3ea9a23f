/**
 * HOBBIT (Tang et al., 2024): replace less critical cache-miss experts by a lower-bit copy, which is
 * several times smaller to load. Modelled as: a missed expert whose largest gate weight this step is
 * below `belowGateWeight` is fetched as a `dtype` copy into a staging buffer (not cached) and
 * computed at that precision (a degraded computation); more important misses are fetched at full
 * precision and cached as usual.
 */
import type { MissHandler } from './types.js';

export interface LowPrecisionParams {
  belowGateWeight: number;
}

export function lowPrecisionOnMiss(params: LowPrecisionParams): MissHandler {
  return {
    kind: 'low-precision',
    needsImportance: true,
    needsEstimates: false,
    decide: (q) => (q.importance < params.belowGateWeight ? 'low-bit' : 'fetch'),
  };
}
