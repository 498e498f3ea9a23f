import type { CachePolicy, PolicyContext } from './types.js';
import type { CachePolicyKind, PolicySpecOf } from './spec.js';
import { allOnGpu } from './all-on-gpu.js';
import { belady } from './belady.js';
import { lfu } from './lfu.js';
import { lru } from './lru.js';
import { none } from './none.js';
import { staticPlacement } from './static.js';
import { popularityCounts } from '../trace/popularity.js';
import type { Trace } from '../trace/types.js';
import { InputError } from '../util/errors.js';

export type { CachePolicyKind } from './spec.js';
export const cachePolicyKinds = ['none', 'lru', 'lfu', 'belady', 'static', 'all-on-gpu'] as const satisfies readonly CachePolicyKind[];

/**
 * How a policy's capacity is set: `none` holds nothing, `all` every expert (a bound), `configured`
 * the scenario's `cache:` (per layer, experts, bytes, or what HBM leaves).
 */
export type CapacityKind = 'none' | 'all' | 'configured';

export interface CachePolicyInfo<K extends CachePolicyKind> {
  create: (ctx: PolicyContext) => CachePolicy;
  describe: string;
  /** Reads the trace's future (a bound, not a system). */
  offline: boolean;
  capacity: CapacityKind;
  /** Misses it does not admit are fetched into a staging buffer, which must fit in HBM beside the cache. */
  stagesMisses: boolean;
  /** Its cache is filled only by admitted misses (nothing placed before the run). */
  fillsOnMiss: boolean;
  /** Needs a popularity profile: access counts per key, from the spec or measured on the trace. */
  popularity?: (spec: PolicySpecOf<K>, trace: Trace, numExperts: number, where: string) => Float64Array;
}

/** One typed table: a kind without an implementation does not compile. */
export const cachePolicies: { [K in CachePolicyKind]: CachePolicyInfo<K> } = {
  none: { create: none, describe: 'no cache: fetch every use, keep nothing', offline: false, capacity: 'none', stagesMisses: true, fillsOnMiss: false },
  lru: { create: lru, describe: 'least recently used; hits refresh', offline: false, capacity: 'configured', stagesMisses: false, fillsOnMiss: true },
  lfu: { create: lfu, describe: 'least frequently used since the run began, ties to LRU', offline: false, capacity: 'configured', stagesMisses: false, fillsOnMiss: true },
  belady: { create: belady, describe: "Belady's MIN: evict the farthest next use (offline bound)", offline: true, capacity: 'configured', stagesMisses: false, fillsOnMiss: true },
  static: {
    create: staticPlacement,
    describe: 'pin the most popular experts (warm-up prefix or profile); llama.cpp -ot / Fiddler placement',
    offline: false,
    capacity: 'configured',
    stagesMisses: true,
    fillsOnMiss: false,
    popularity: (spec, trace, E, where) => {
      const L = trace.numLayers;
      if (spec.profile) {
        if (spec.profile.length !== L || spec.profile.some((row) => row.length !== E)) {
          throw new InputError(`${where}.profile: expected ${L} rows (MoE layers) of ${E} counts (experts)`);
        }
        return Float64Array.from(spec.profile.flat());
      }
      return popularityCounts(trace, E, spec.warmupTokens ?? Math.max(1, Math.ceil(trace.tokens * 0.1)));
    },
  },
  'all-on-gpu': { create: allOnGpu, describe: 'every expert resident: the bound when the model fits', offline: false, capacity: 'all', stagesMisses: false, fillsOnMiss: false },
};

export function cachePolicyInfo<K extends CachePolicyKind>(kind: K): CachePolicyInfo<K> {
  return cachePolicies[kind];
}

/** The popularity profile `spec`'s policy needs, or undefined when it needs none. */
export function popularityOf<K extends CachePolicyKind>(spec: PolicySpecOf<K> & { kind: K }, trace: Trace, numExperts: number, where: string): Float64Array | undefined {
  return cachePolicyInfo<K>(spec.kind).popularity?.(spec, trace, numExperts, where);
}
