/**
 * Lookahead, expert-aware batching in the manner of Read-ME (Cai et al., NeurIPS 2024,
 * arXiv 2410.19123): a pre-gating router decoupled from the backbone computes every layer's routing
 * before the forward pass, so the scheduler knows each ready token's experts exactly (the trace's
 * truth) and can batch tokens by them. Greedy union minimisation (greedy.ts) that first avoids
 * experts not on the GPU (each costs a fetch), then distinct experts; within the same fairness
 * bound as expertflow.
 */
import type { SchedulerSpec } from './spec.js';
import { mandatoryCount } from './fairness.js';
import { UnionGreedy } from './greedy.js';
import { maskWords, routingPaths } from './paths.js';
import type { SchedulerContext, TokenScheduler } from './types.js';

export function lookahead(ctx: SchedulerContext, _spec: Extract<SchedulerSpec, { kind: 'lookahead' }>): TokenScheduler {
  const { trace, numExperts: E, resident } = ctx;
  const L = trace.numLayers;
  const words = maskWords(E);
  const greedy = new UnionGreedy(L, E);
  const truth = routingPaths(trace.experts, L, trace.topK, E);
  const costly = new Uint32Array(L * words);
  return {
    kind: 'lookahead',
    select(ready, capacity, out) {
      const need = mandatoryCount(ready, capacity, ctx.maxWaitSteps);
      if (resident === undefined) return greedy.select(ready, capacity, need, truth, null, out);
      costly.fill(0);
      for (let l = 0; l < L; l++) {
        for (let e = 0; e < E; e++) if (resident[l * E + e] === 0) costly[l * words + (e >>> 5)] |= 1 << (e & 31);
      }
      return greedy.select(ready, capacity, need, truth, costly, out);
    },
  };
}
