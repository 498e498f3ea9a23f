/**
 * Cache policies decide; the simulator charges time and bytes. A policy sees accesses and
 * residency changes and answers two questions: admit a missed expert? which resident expert to
 * evict? It never advances a clock or counts bytes. The same code drives the simulator's cache
 * and the real device-side cache of `moesim replay`.
 *
 * Experts are identified by a key: layer * numExperts + expert (layer = MoE layer ordinal).
 */
import type { CacheView } from './cache-view.js';
import type { CachePolicyKind } from './spec.js';

export interface CachePolicy {
  readonly kind: CachePolicyKind;
  /** Every access, in replay order, before hit or miss is known. `access` counts from 0. */
  onAccess(key: number, access: number): void;
  /** A resident key was accessed. */
  onHit(key: number, access: number): void;
  /** A key became resident. */
  onInsert(key: number, access: number): void;
  /** A key stopped being resident. */
  onEvict(key: number): void;
  /** Whether a missed key is kept after its fetch (false: fetched into a staging buffer and dropped). */
  admit(key: number): boolean;
  /** A resident, unlocked key of `scope` to evict, or -1 if none can be. */
  victim(scope: number, cache: CacheView): number;
  /** Keys resident before the first access (static placement, all-on-gpu). */
  initialResidents?(): Iterable<number>;
}

/** What every policy factory is given. */
export interface PolicyContext {
  numLayers: number;
  numExperts: number;
  /** Per-scope capacity in experts and the number of scopes (numLayers for per-layer, 1 for global). */
  capacityPerScope: number;
  scopes: number;
  /** For offline policies (Belady): next access index of the same key after access i, or -1. */
  nextUse?: Int32Array;
  /**
   * For Belady on a cache that holds keys before its first access (a warm host tier): per key, the
   * index of its first access, -1 never (belady.ts firstUseOf). Without it such residents rank as
   * never used, and MIN evicts ones needed soon.
   */
  firstUse?: Int32Array;
  /** For static placement: access counts per key, measured on a warm-up prefix or given. */
  popularity?: Float64Array;
}

/** The hooks a policy that keeps no per-access state leaves empty; spread into a policy object. */
export const noHooks = {
  onAccess(): void {},
  onHit(): void {},
  onInsert(): void {},
  onEvict(): void {},
} as const;
