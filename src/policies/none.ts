import type { CachePolicy } from './types.js';

/**
 * No cache: every use of an expert fetches it into a staging buffer, which is dropped after use.
 * A class so that every instance shares its methods (see LruPolicy).
 */
export class NoCachePolicy implements CachePolicy {
  readonly kind = 'none' as const;
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
}

export function none(): CachePolicy {
  return new NoCachePolicy();
}
