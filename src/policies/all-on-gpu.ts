import type { CachePolicy, PolicyContext } from './types.js';

/**
 * Every expert resident from the start: the bound when the whole model fits in GPU memory.
 * A class so that every instance shares its methods (see LruPolicy).
 */
export class AllOnGpuPolicy implements CachePolicy {
  readonly kind = 'all-on-gpu' as const;
  private readonly numKeys: number;
  constructor(ctx: PolicyContext) {
    this.numKeys = ctx.numLayers * ctx.numExperts;
  }
  onAccess(): void {}
  onHit(): void {}
  onInsert(): void {}
  onEvict(): void {}
  admit(): boolean {
    return true;
  }
  victim(): number {
    return -1;
  }
  initialResidents(): Iterable<number> {
    return Array.from({ length: this.numKeys }, (_, i) => i);
  }
}

export function allOnGpu(ctx: PolicyContext): CachePolicy {
  return new AllOnGpuPolicy(ctx);
}
