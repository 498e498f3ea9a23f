/**
 * "Simulate the recorded layers only, with the model's other layers' time still charged"
 * (`trace.missingLayers: recorded`): a trace of some of the model's MoE layers drives the cache and the
 * transfers of those layers only, while every step still pays for the whole model.
 *
 * A decorator of the Costs seam: the simulator sees the trace's layers (ordinal i of the trace is MoE
 * ordinal `ords[i]` of the model); `preExpertSec(i)` charges the model's non-expert work of every MoE layer
 * from the previous recorded one up to `ords[i]`, plus the expert compute of the unrecorded MoE layers in
 * between; `tailSec` adds the unrecorded MoE layers after the last recorded one. Everything else is the
 * wrapped costs' own.
 *
 * Assumption (stated, not measured): an unrecorded MoE layer's experts are resident on the GPU (no
 * transfer, no miss) and its `tokens x topK` routes fall on min(tokens x topK, numExperts) distinct experts
 * evenly, each computed with `expertSec(tokens x topK / n)`. Its time is therefore a lower bound: real
 * misses in those layers would cost more. The cache capacity of the recorded layers is the model's share
 * for them (run.ts scales a global cache by recorded / total MoE layers).
 */
import type { Costs } from './costs.js';

/** Wrap `cost` (built for the full model) for a trace of MoE ordinals `ords` (ascending) of `totalLayers`. */
export function recordedLayersCosts<C extends Costs>(cost: C, ords: number[], totalLayers: number, topK: number, numExperts: number): C {
  for (let i = 1; i < ords.length; i++) if (!(ords[i] > ords[i - 1])) throw new Error('recordedLayersCosts: ordinals must ascend');
  const recorded = new Set(ords);
  const residentExpertSec = (tokens: number): number => {
    if (tokens <= 0) return 0;
    const routes = tokens * topK;
    const n = Math.min(routes, numExperts);
    return n * cost.expertSec(routes / n);
  };
  /** Unrecorded MoE layer o: its non-expert work and its (resident) experts. */
  const otherLayerSec = (o: number, tokens: number, contextTokens: number, kvTokens: number): number =>
    cost.preExpertSec(o, tokens, contextTokens, kvTokens) + residentExpertSec(tokens);
  const wrapped = Object.create(cost) as C;
  Object.defineProperty(wrapped, 'preExpertSec', {
    value: (moeLayer: number, tokens: number, contextTokens: number, kvTokens: number): number => {
      const to = ords[moeLayer];
      const from = moeLayer === 0 ? 0 : ords[moeLayer - 1] + 1;
      let sec = cost.preExpertSec(to, tokens, contextTokens, kvTokens);
      for (let o = from; o < to; o++) if (!recorded.has(o)) sec += otherLayerSec(o, tokens, contextTokens, kvTokens);
      return sec;
    },
  });
  Object.defineProperty(wrapped, 'tailSec', {
    value: (tokens: number, contextTokens: number, outputs: number, kvTokens: number): number => {
      let sec = cost.tailSec(tokens, contextTokens, outputs, kvTokens);
      for (let o = ords[ords.length - 1] + 1; o < totalLayers; o++) sec += otherLayerSec(o, tokens, contextTokens, kvTokens);
      return sec;
    },
  });
  return wrapped;
}
