import type { CachePolicy } from './types.js';

/**
 * What a cache access or insert decided, as one number (no allocation per access): HIT, BYPASSED
 * (a miss not kept, or an insert refused), ADMITTED (kept without evicting), or a key >= 0: kept,
 * evicting that key.
 */
export type AccessOutcome = number;
export const HIT = -1;
export const BYPASSED = -2;
export const ADMITTED = -3;

/** Whether the outcome kept the key in the cache (admitted, with or without a victim). */
export function wasAdmitted(o: AccessOutcome): boolean {
  return o === ADMITTED || o >= 0;
}

/**
 * Expert residency with a capacity per scope (one scope per MoE layer, or one global scope), driven
 * by a CachePolicy. Typed arrays only; no allocation per access.
 */
export class ExpertCache {
  readonly numKeys: number;
  readonly resident: Uint8Array;
  /** Locked keys (in use, in flight, pinned by a prefetch plan) are never chosen as victims. 1 = locked. */
  readonly locked: Uint8Array;
  /** Holders of each key's lock: locked[key] = lockCount[key] > 0. */
  readonly lockCount: Uint16Array;
  /** Resident count per scope. */
  readonly occupancy: Int32Array;
  /** Members of each scope, for policies that scan: scopeKeys[scope] = keys of that scope. */
  readonly scopeStart: Int32Array;
  residentCount = 0;
  peakResident = 0;
  private accessCount = 0;

  constructor(
    readonly numLayers: number,
    readonly numExperts: number,
    /** Experts per scope; Infinity for unbounded. */
    readonly capacityPerScope: number,
    readonly perLayer: boolean,
    readonly policy: CachePolicy,
  ) {
    this.numKeys = numLayers * numExperts;
    this.resident = new Uint8Array(this.numKeys);
    this.locked = new Uint8Array(this.numKeys);
    this.lockCount = new Uint16Array(this.numKeys);
    const scopes = perLayer ? numLayers : 1;
    this.occupancy = new Int32Array(scopes);
    this.scopeStart = new Int32Array(scopes + 1);
    for (let s = 0; s <= scopes; s++) this.scopeStart[s] = perLayer ? s * numExperts : s * this.numKeys;
    const initial = policy.initialResidents?.();
    if (initial) for (const key of initial) this.insertKey(key, -1);
  }

  get scopes(): number {
    return this.occupancy.length;
  }

  scopeOf(key: number): number {
    return this.perLayer ? (key / this.numExperts) | 0 : 0;
  }

  /** Capacity in experts over all scopes; -1 if unbounded. */
  get capacityExperts(): number {
    return Number.isFinite(this.capacityPerScope) ? this.capacityPerScope * this.scopes : -1;
  }

  get accesses(): number {
    return this.accessCount;
  }

  /** Takes one hold on key's lock (locks nest: each lock() needs its unlock()). */
  lock(key: number): void {
    this.lockCount[key]++;
    this.locked[key] = 1;
  }

  unlock(key: number): void {
    if (this.lockCount[key] === 0) throw new Error(`unlock of key ${key}, which is not locked`);
    if (--this.lockCount[key] === 0) this.locked[key] = 0;
  }

  /**
   * One demand access. On a miss the policy decides whether to keep the expert (unless `admit` is
   * false: the caller serves the miss without caching it, e.g. on the CPU); if kept and the scope is
   * full, it picks a victim. Returns the outcome: HIT, BYPASSED, ADMITTED or the evicted key.
   */
  access(key: number, admit = true): AccessOutcome {
    const a = this.accessCount++;
    const p = this.policy;
    p.onAccess(key, a);
    if (this.resident[key] === 1) {
      p.onHit(key, a);
      return HIT;
    }
    if (admit && p.admit(key)) return this.makeRoomAndInsert(key, a);
    return BYPASSED;
  }

  /**
   * Demand accesses of `keys[from .. to)` in order, each admitted if the policy keeps it: the same
   * decisions as calling access(key) on each. Returns how many hit; the missed keys, in order, go
   * to `misses[0 ..]` when given (it needs room for to - from keys). The loop lives here so that it
   * and the policy's hooks are compiled together, with no per-access call from the caller.
   */
  accessMany(keys: Int32Array, from: number, to: number, misses?: Int32Array): number {
    let hits = 0;
    let m = 0;
    for (let i = from; i < to; i++) {
      const key = keys[i];
      if (this.access(key) === HIT) hits++;
      else if (misses !== undefined) misses[m++] = key;
    }
    return hits;
  }

  /** Inserts a key outside a demand access (a prefetch): HIT if resident, BYPASSED if no room could be made, else ADMITTED or the evicted key. */
  insert(key: number): AccessOutcome {
    if (this.resident[key] === 1) return HIT;
    return this.makeRoomAndInsert(key, this.accessCount);
  }

  /** Removes a key (a cancelled prefetch). Its locks must have been released. */
  evict(key: number): void {
    if (this.resident[key] !== 1) return;
    if (this.locked[key] === 1) throw new Error(`evict of locked key ${key}`);
    this.resident[key] = 0;
    this.occupancy[this.scopeOf(key)]--;
    this.residentCount--;
    this.policy.onEvict(key);
  }

  private makeRoomAndInsert(key: number, a: number): AccessOutcome {
    if (this.capacityPerScope <= 0) return BYPASSED;
    const scope = this.scopeOf(key);
    let outcome = ADMITTED;
    if (this.occupancy[scope] >= this.capacityPerScope) {
      const v = this.policy.victim(scope, this);
      if (v < 0) return BYPASSED;
      this.evict(v);
      outcome = v;
    }
    this.insertKey(key, a);
    return outcome;
  }

  private insertKey(key: number, a: number): void {
    this.resident[key] = 1;
    this.occupancy[this.scopeOf(key)]++;
    if (++this.residentCount > this.peakResident) this.peakResident = this.residentCount;
    this.policy.onInsert(key, a);
  }
}
