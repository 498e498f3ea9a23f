import type { CachePolicy, PolicyContext } from './types.js';
import type { CacheView } from './cache-view.js';

const NEVER = 2 ** 31 - 1;

/**
 * Belady's MIN, the offline optimum for demand caching: evicts the resident expert whose next
 * access is farthest in the future (never again is farthest). It reads the trace's future, so it
 * is a bound to compare systems against, not a system. A class so that every instance shares its
 * methods (see LruPolicy).
 */
export class BeladyPolicy implements CachePolicy {
  readonly kind = 'belady' as const;
  /** Next access index after each access (the trace's future). */
  private readonly nextUseOfAccess: Int32Array;
  /** Next access index of each key; keys never seen yet are treated as "never" until accessed. */
  private readonly nextUse: Int32Array;

  constructor(ctx: PolicyContext) {
    if (!ctx.nextUse) throw new Error('belady needs the future access sequence (nextUse)');
    this.nextUseOfAccess = ctx.nextUse;
    this.nextUse = new Int32Array(ctx.numLayers * ctx.numExperts).fill(NEVER);
    if (ctx.firstUse) for (let k = 0; k < this.nextUse.length; k++) if (ctx.firstUse[k] >= 0) this.nextUse[k] = ctx.firstUse[k];
  }

  onAccess(key: number, access: number): void {
    const nu = this.nextUseOfAccess[access];
    this.nextUse[key] = nu < 0 ? NEVER : nu;
  }

  onHit(): void {}
  onInsert(): void {}
  onEvict(): void {}

  admit(): boolean {
    return true;
  }

  victim(scope: number, cache: CacheView): number {
    const nextUse = this.nextUse;
    let best = -1;
    let bestNext = -1;
    for (let k = cache.scopeStart[scope], end = cache.scopeStart[scope + 1]; k < end; k++) {
      if (cache.resident[k] === 0 || cache.locked[k] === 1) continue;
      if (nextUse[k] > bestNext) {
        bestNext = nextUse[k];
        best = k;
      }
    }
    return best;
  }
}

export function belady(ctx: PolicyContext): CachePolicy {
  return new BeladyPolicy(ctx);
}

/** next[i] = index of the next access to the same key after access i, or -1. */
export function nextUseOf(keys: Int32Array, numKeys: number): Int32Array {
  const next = new Int32Array(keys.length);
  const seen = new Int32Array(numKeys).fill(-1);
  for (let i = keys.length - 1; i >= 0; i--) {
    const k = keys[i];
    next[i] = seen[k];
    seen[k] = i;
  }
  return next;
}

/** first[k] = index of the first access to key k, or -1. */
export function firstUseOf(keys: Int32Array, numKeys: number): Int32Array {
  const first = new Int32Array(numKeys).fill(-1);
  for (let i = keys.length - 1; i >= 0; i--) first[keys[i]] = i;
  return first;
}
