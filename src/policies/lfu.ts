import { noHooks, type CachePolicy, type PolicyContext } from './types.js';
import type { CacheView } from './cache-view.js';

/**
 * Least frequently used: evicts the resident expert with the fewest accesses since the run began
 * (counts survive eviction), ties to the least recently used.
 */
export function lfu(ctx: PolicyContext): CachePolicy {
  const n = ctx.numLayers * ctx.numExperts;
  const count = new Float64Array(n);
  const lastUse = new Float64Array(n).fill(-1);
  return {
    kind: 'lfu',
    onAccess(key, access) {
      count[key]++;
      lastUse[key] = access;
    },
    onHit: noHooks.onHit,
    onInsert: noHooks.onInsert,
    onEvict: noHooks.onEvict,
    admit: () => true,
    victim(scope: number, cache: CacheView) {
      let best = -1;
      for (let k = cache.scopeStart[scope], end = cache.scopeStart[scope + 1]; k < end; k++) {
        if (cache.resident[k] === 0 || cache.locked[k] === 1) continue;
        if (best < 0 || count[k] < count[best] || (count[k] === count[best] && lastUse[k] < lastUse[best])) best = k;
      }
      return best;
    },
  };
}
