import { NO_EXPERT, type Trace } from './types.js';
import type { Step } from './steps.js';

/**
 * The distinct experts a step's tokens activate at one layer, in order of first appearance (token
 * order, then each token's recorded order), with the number of tokens routed to each. Scratch
 * typed arrays reused across calls: no allocation per access.
 */
export class LayerUnion {
  /** Experts of the union, `size` of them. */
  readonly experts: Int32Array;
  /** tokens[e] = tokens routed to expert e (valid for experts in the union). */
  readonly tokens: Int32Array;
  size = 0;
  private readonly stamp: Int32Array;
  private stampId = 0;

  constructor(numExperts: number) {
    this.experts = new Int32Array(numExperts);
    this.tokens = new Int32Array(numExperts);
    this.stamp = new Int32Array(numExperts);
  }

  compute(trace: Trace, step: Step, layer: number): number {
    const L = trace.numLayers;
    const K = trace.topK;
    const ids = trace.experts;
    const stamp = this.stamp;
    const tokens = this.tokens;
    const list = this.experts;
    const id = ++this.stampId;
    let u = 0;
    for (let i = 0; i < step.count; i++) {
      const base = (step.tokens[i] * L + layer) * K;
      for (let k = 0; k < K; k++) {
        const e = ids[base + k];
        if (e === NO_EXPERT) continue;
        if (stamp[e] !== id) {
          stamp[e] = id;
          tokens[e] = 1;
          list[u++] = e;
        } else tokens[e]++;
      }
    }
    this.size = u;
    return u;
  }
}

/** The keys (layer * numExperts + expert) a step source's accesses touch, in replay order. */
export function accessKeys(trace: Trace, source: { next(nowSec: number): Step | null }, numExperts: number): Int32Array {
  const union = new LayerUnion(numExperts);
  let keys = new Int32Array(1 << 16);
  let n = 0;
  for (let step = source.next(0); step !== null; step = source.next(0)) {
    for (let l = 0; l < trace.numLayers; l++) {
      const u = union.compute(trace, step, l);
      if (n + u > keys.length) {
        const g = new Int32Array(Math.max(keys.length * 2, n + u));
        g.set(keys);
        keys = g;
      }
      for (let i = 0; i < u; i++) keys[n++] = l * numExperts + union.experts[i];
    }
  }
  return keys.slice(0, n);
}
