/**
 * Greedy micro-batch forming on routing paths: start from the tokens that must run (the fairness
 * bound), then repeatedly add the ready token that adds the fewest experts to the micro-batch's
 * union over all layers (ties: the earlier token in FIFO order), until the micro-batch is full.
 * The result is compared with FIFO's pick (the first `capacity` tokens) on the same objective and
 * FIFO's is kept when it is not worse, so the greedy pick never costs more than FIFO's on the
 * paths it is given.
 *
 * Objective of a set of tokens: the (layer, expert) pairs of its union; with a `costly` mask
 * (experts not on the GPU), first the costly pairs, then all pairs.
 */
import { maskWords, popcount32 } from './paths.js';
import type { PathSource, ReadyTokens } from './types.js';

export class UnionGreedy {
  private readonly stride: number;
  private paths = new Uint32Array(0);
  private chosen = new Uint8Array(0);
  private readonly union: Uint32Array;
  /** Pairs of the last selection's union by the paths given (for tests and statistics). */
  lastPairs = 0;

  constructor(numLayers: number, numExperts: number) {
    this.stride = numLayers * maskWords(numExperts);
    this.union = new Uint32Array(this.stride);
  }

  /** Cost weight of one costly pair: larger than any count of pairs. */
  private get big(): number {
    return this.stride * 32 + 1;
  }

  select(ready: ReadyTokens, capacity: number, need: number, source: PathSource, costly: Uint32Array | null, out: Int32Array): number {
    const n = ready.count;
    const m = Math.min(capacity, n);
    if (m <= 0) return 0;
    const S = this.stride;
    if (this.chosen.length < n) {
      this.chosen = new Uint8Array(Math.max(n, 2 * this.chosen.length));
      this.paths = new Uint32Array(this.chosen.length * S);
    }
    const paths = this.paths;
    const chosen = this.chosen;
    const union = this.union;
    for (let i = 0; i < n; i++) {
      source.fill(ready, i, paths, i * S);
      chosen[i] = 0;
    }
    union.fill(0);
    let picked = 0;
    for (let i = 0; i < need && i < m; i++, picked++) this.take(i);
    const big = this.big;
    while (picked < m) {
      let best = -1;
      let bestCost = Infinity;
      for (let c = 0; c < n; c++) {
        if (chosen[c] === 1) continue;
        const o = c * S;
        let cost = 0;
        for (let j = 0; j < S; j++) {
          const add = paths[o + j] & ~union[j];
          if (add === 0) continue;
          cost += popcount32(add);
          if (costly !== null) cost += big * popcount32(add & costly[j]);
        }
        if (cost < bestCost) {
          bestCost = cost;
          best = c;
        }
      }
      this.take(best);
      picked++;
    }
    const greedyCost = this.cost(union, costly);
    // FIFO's pick: the first m tokens.
    union.fill(0);
    for (let c = 0; c < m; c++) {
      const o = c * S;
      for (let j = 0; j < S; j++) union[j] |= paths[o + j];
    }
    const fifoCost = this.cost(union, costly);
    let k = 0;
    if (fifoCost <= greedyCost) {
      for (let c = 0; c < m; c++) out[k++] = c;
      this.lastPairs = this.pairs(union);
    } else {
      union.fill(0);
      for (let c = 0; c < n; c++) {
        if (chosen[c] !== 1) continue;
        out[k++] = c;
        const o = c * S;
        for (let j = 0; j < S; j++) union[j] |= paths[o + j];
      }
      this.lastPairs = this.pairs(union);
    }
    return k;
  }

  private take(c: number): void {
    const S = this.stride;
    const paths = this.paths;
    const union = this.union;
    this.chosen[c] = 1;
    const o = c * S;
    for (let j = 0; j < S; j++) union[j] |= paths[o + j];
  }

  private pairs(u: Uint32Array): number {
    let p = 0;
    for (let j = 0; j < u.length; j++) p += popcount32(u[j]);
    return p;
  }

  private cost(u: Uint32Array, costly: Uint32Array | null): number {
    let c = 0;
    const big = this.big;
    for (let j = 0; j < u.length; j++) {
      c += popcount32(u[j]);
      if (costly !== null) c += big * popcount32(u[j] & costly[j]);
    }
    return c;
  }
}
