import type { CachePolicy, PolicyContext } from './types.js';
import { allOnGpu } from './all-on-gpu.js';
import { belady } from './belady.js';
import { lfu } from './lfu.js';
import { lru } from './lru.js';
import { none } from './none.js';
import { staticPlacement } from './static.js';

export const cachePolicyKinds = ['none', 'lru', 'lfu', 'belady', 'static', 'all-on-gpu'] as const;
export type CachePolicyKind = (typeof cachePolicyKinds)[number];

export interface CachePolicyInfo {
  create: (ctx: PolicyContext) => CachePolicy;
  describe: string;
  /** Reads the trace's future (a bound, not a system). */
  offline: boolean;
  /** Needs a popularity profile. */
  needsPopularity: boolean;
}

/** One typed table: a kind without an implementation does not compile. */
export const cachePolicies: Record<CachePolicyKind, CachePolicyInfo> = {
  none: { create: none, describe: 'no cache: fetch every use, keep nothing', offline: false, needsPopularity: false },
  lru: { create: lru, describe: 'least recently used; hits refresh', offline: false, needsPopularity: false },
  lfu: { create: lfu, describe: 'least frequently used since the run began, ties to LRU', offline: false, needsPopularity: false },
  belady: { create: belady, describe: "Belady's MIN: evict the farthest next use (offline bound)", offline: true, needsPopularity: false },
  static: { create: staticPlacement, describe: 'pin the most popular experts (warm-up prefix or profile); llama.cpp -ot / Fiddler placement', offline: false, needsPopularity: true },
  'all-on-gpu': { create: allOnGpu, describe: 'every expert resident: the bound when the model fits', offline: false, needsPopularity: false },
};
