import type { CachePolicy, PolicyContext } from './types.js';

/**
 * Static placement: pin the most popular experts (per scope) before the run and never change the
 * set; other experts are fetched into a staging buffer on every use. This is llama.cpp's `-ot`
 * tensor overrides and Fiddler's popularity-based placement. Popularity is measured on a warm-up
 * prefix of the trace or given as a profile. A class so that every instance shares its methods
 * (see LruPolicy).
 */
export class StaticPolicy implements CachePolicy {
  readonly kind = 'static' as const;
  private readonly pinned: number[] = [];

  constructor(ctx: PolicyContext) {
    const pop = ctx.popularity;
    if (!pop) throw new Error('static placement needs a popularity profile');
    const keysPerScope = (ctx.numLayers * ctx.numExperts) / ctx.scopes;
    for (let s = 0; s < ctx.scopes; s++) {
      const keys = Array.from({ length: keysPerScope }, (_, i) => s * keysPerScope + i);
      // Most accessed first; ties to the lower key, so the placement is deterministic.
      keys.sort((a, b) => pop[b] - pop[a] || a - b);
      this.pinned.push(...keys.slice(0, Math.min(ctx.capacityPerScope, keysPerScope)));
    }
    this.pinned.sort((a, b) => a - b);
  }

  onAccess(): void {}
  onHit(): void {}
  onInsert(): void {}
  onEvict(): void {}

  admit(): boolean {
    return false;
  }

  victim(): number {
    return -1;
  }

  initialResidents(): Iterable<number> {
    return this.pinned;
  }
}

export function staticPlacement(ctx: PolicyContext): CachePolicy {
  return new StaticPolicy(ctx);
}
