/**
 * What a cache policy may see of the cache when it picks a victim: read-only residency, locks and
 * scope bounds. Policies decide; they never change the cache (ExpertCache implements this view).
 */
export interface CacheView {
  /** 1 = resident. */
  readonly resident: Readonly<Uint8Array>;
  /** 1 = locked (in use, in flight, pinned): never a victim. */
  readonly locked: Readonly<Uint8Array>;
  /** Keys of scope s are scopeStart[s] .. scopeStart[s + 1] - 1. */
  readonly scopeStart: Readonly<Int32Array>;
}
