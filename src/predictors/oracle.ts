/**
 * The trace's true future, corrupted to a given precision and recall: a bound to sweep predictor
 * quality against latency, not a system (Pre-gated MoE's pre-gate is this with precision = recall =
 * its accuracy). For each (token, layer): each true expert is kept with probability `recall`; each
 * other expert is added with probability q = recall * |true| * (1 - precision) / precision / (E - |true|),
 * so that kept / (kept + added) = precision in expectation (recall 0: nothing is predicted). The draws are a hash of (seed, token,
 * layer, expert): the same question always gets the same answer, whatever the order of questions.
 */
import { NO_EXPERT } from '../trace/types.js';
import type { PredictorContext, RoutingPredictor } from './types.js';
import type { TraceView } from './trace-view.js';

export interface OracleParams {
  precision: number;
  recall: number;
}

/** A uniform number in [0, 1) from four integers (murmur3-style finalizer over a mixed word). */
export function hashUniform(seed: number, a: number, b: number, c: number): number {
  let h = seed ^ Math.imul(a + 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x297a2d39) ^ Math.imul(c + 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

export function oracle(ctx: PredictorContext, params: OracleParams): RoutingPredictor {
  const { numLayers: L, numExperts: E, topK: K } = ctx;
  const seed = ctx.rng.int(2 ** 31);
  const { precision, recall } = params;
  const isTrue = new Uint8Array(E);
  let view: TraceView | undefined;
  let token = 0;
  return {
    kind: 'oracle',
    setValued: true,
    condition(v, t) {
      view = v;
      token = t;
    },
    scores(layer, out) {
      out.fill(0);
      const ids = view!.trace.experts;
      const base = (token * L + layer) * K;
      let n = 0;
      isTrue.fill(0);
      for (let k = 0; k < K; k++) {
        const e = ids[base + k];
        if (e === NO_EXPERT || isTrue[e]) continue;
        isTrue[e] = 1;
        n++;
      }
      // False positives in proportion to the true positives kept: with recall 0 nothing is predicted.
      const falseRate = n === 0 || n === E || recall === 0 ? 0 : precision <= 0 ? 1 : Math.min(1, (recall * n * (1 - precision)) / precision / (E - n));
      for (let e = 0; e < E; e++) {
        const u = hashUniform(seed, token, layer, e);
        if (isTrue[e] ? u < recall : u < falseRate) out[e] = 1;
      }
    },
    learn() {},
    parameterCount: () => 0,
  };
}
