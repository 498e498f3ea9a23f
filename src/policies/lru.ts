import type { CachePolicy, PolicyContext } from './types.js';
import type { CacheView } from './cache-view.js';

/** Least recently used: a doubly linked recency list per scope in typed arrays; hits refresh. */
export function lru(ctx: PolicyContext): CachePolicy {
  const n = ctx.numLayers * ctx.numExperts;
  const prev = new Int32Array(n).fill(-1);
  const next = new Int32Array(n).fill(-1);
  const head = new Int32Array(ctx.scopes).fill(-1); // most recent
  const tail = new Int32Array(ctx.scopes).fill(-1); // least recent
  const scopeOf = ctx.scopes === 1 ? () => 0 : (key: number) => (key / ctx.numExperts) | 0;

  const unlink = (key: number): void => {
    const s = scopeOf(key);
    const p = prev[key], q = next[key];
    if (p >= 0) next[p] = q; else head[s] = q;
    if (q >= 0) prev[q] = p; else tail[s] = p;
    prev[key] = next[key] = -1;
  };
  const pushFront = (key: number): void => {
    const s = scopeOf(key);
    const h = head[s];
    prev[key] = -1;
    next[key] = h;
    if (h >= 0) prev[h] = key; else tail[s] = key;
    head[s] = key;
  };

  return {
    kind: 'lru',
    onAccess() {},
    onHit(key) {
      if (head[scopeOf(key)] === key) return;
      unlink(key);
      pushFront(key);
    },
    onInsert: pushFront,
    onEvict: unlink,
    admit: () => true,
    victim(scope: number, cache: CacheView) {
      for (let k = tail[scope]; k >= 0; k = prev[k]) if (cache.locked[k] === 0) return k;
      return -1;
    },
  };
}
