import type { CachePolicy, PolicyContext } from './types.js';
import type { CacheView } from './cache-view.js';

/**
 * Least frequently used: evicts the resident expert with the fewest accesses since the run began
 * (counts survive eviction), ties to the least recently used. A class so that every instance shares
 * its methods (see LruPolicy).
 */
export class LfuPolicy implements CachePolicy {
  readonly kind = 'lfu' as const;
  private readonly count: Float64Array;
  private readonly lastUse: Float64Array;

  constructor(ctx: PolicyContext) {
    const n = ctx.numLayers * ctx.numExperts;
    this.count = new Float64Array(n);
    this.lastUse = new Float64Array(n).fill(-1);
  }

  onAccess(key: number, access: number): void {
    this.count[key]++;
    this.lastUse[key] = access;
  }

  onHit(): void {}
  onInsert(): void {}
  onEvict(): void {}

  admit(): boolean {
    return true;
  }

  victim(scope: number, cache: CacheView): number {
    const count = this.count;
    const lastUse = this.lastUse;
    let best = -1;
    for (let k = cache.scopeStart[scope], end = cache.scopeStart[scope + 1]; k < end; k++) {
      if (cache.resident[k] === 0 || cache.locked[k] === 1) continue;
      if (best < 0 || count[k] < count[best] || (count[k] === count[best] && lastUse[k] < lastUse[best])) best = k;
    }
    return best;
  }
}

export function lfu(ctx: PolicyContext): CachePolicy {
  return new LfuPolicy(ctx);
}
