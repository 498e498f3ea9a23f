import type { CachePolicy, PolicyContext } from './types.js';
import type { CacheView } from './cache-view.js';

/**
 * Least recently used: a doubly linked recency list per scope in typed arrays; hits refresh.
 * A class, not an object of closures: every instance shares one set of methods, so the cache's
 * call sites see one target (closures made per instance deoptimised them on the second cache).
 */
export class LruPolicy implements CachePolicy {
  readonly kind = 'lru' as const;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** Most recent key of each scope. */
  private readonly head: Int32Array;
  /** Least recent key of each scope. */
  private readonly tail: Int32Array;
  private readonly numExperts: number;
  private readonly oneScope: boolean;

  constructor(ctx: PolicyContext) {
    const n = ctx.numLayers * ctx.numExperts;
    this.prev = new Int32Array(n).fill(-1);
    this.next = new Int32Array(n).fill(-1);
    this.head = new Int32Array(ctx.scopes).fill(-1);
    this.tail = new Int32Array(ctx.scopes).fill(-1);
    this.numExperts = ctx.numExperts;
    this.oneScope = ctx.scopes === 1;
  }

  private scopeOf(key: number): number {
    return this.oneScope ? 0 : (key / this.numExperts) | 0;
  }

  private unlink(key: number): void {
    const s = this.scopeOf(key);
    const prev = this.prev;
    const next = this.next;
    const p = prev[key], q = next[key];
    if (p >= 0) next[p] = q; else this.head[s] = q;
    if (q >= 0) prev[q] = p; else this.tail[s] = p;
    prev[key] = next[key] = -1;
  }

  private pushFront(key: number): void {
    const s = this.scopeOf(key);
    const h = this.head[s];
    this.prev[key] = -1;
    this.next[key] = h;
    if (h >= 0) this.prev[h] = key; else this.tail[s] = key;
    this.head[s] = key;
  }

  onAccess(): void {}

  onHit(key: number): void {
    // unlink + pushFront, fused: key is resident (in its list) and not the head, so it has a predecessor
    const s = this.scopeOf(key);
    const h = this.head[s];
    if (h === key) return;
    const prev = this.prev;
    const next = this.next;
    const p = prev[key], q = next[key];
    next[p] = q;
    if (q >= 0) prev[q] = p; else this.tail[s] = p;
    prev[key] = -1;
    next[key] = h;
    prev[h] = key;
    this.head[s] = key;
  }

  onInsert(key: number): void {
    this.pushFront(key);
  }

  onEvict(key: number): void {
    this.unlink(key);
  }

  admit(): boolean {
    return true;
  }

  victim(scope: number, cache: CacheView): number {
    const prev = this.prev;
    const locked = cache.locked;
    for (let k = this.tail[scope]; k >= 0; k = prev[k]) if (locked[k] === 0) return k;
    return -1;
  }
}

export function lru(ctx: PolicyContext): CachePolicy {
  return new LruPolicy(ctx);
}
