/**
 * ExpertFlow's dynamic token scheduling (He et al., arXiv 2410.17954): regroup the ready tokens
 * across micro-batches by the similarity of their predicted routing paths, so that each micro-batch
 * activates fewer distinct experts. Here: greedy union minimisation on the predicted paths (see
 * greedy.ts), within the bound on how long a request may be passed over (fairness.ts).
 *
 * Predicted paths: a routing predictor's (`predictor`, wired in as ctx.predictions and told what
 * has run), else the trace's truth with noise (`noise`).
 */
import { DEFAULT_NOISE, type SchedulerSpec } from './spec.js';
import { mandatoryCount } from './fairness.js';
import { UnionGreedy } from './greedy.js';
import { noisyRouting, routingPaths } from './paths.js';
import type { SchedulerContext, TokenScheduler } from './types.js';

export function expertflow(ctx: SchedulerContext, spec: Extract<SchedulerSpec, { kind: 'expertflow' }>): TokenScheduler {
  const { trace, numExperts: E } = ctx;
  const predictions = ctx.predictions;
  if (spec.predictor && !predictions) throw new Error('expertflow: a predictor is named but no predictions are wired in (see sim/run.ts)');
  const paths = predictions ?? routingPaths(noisyRouting(trace, E, spec.noise ?? DEFAULT_NOISE, ctx.rng), trace.numLayers, trace.topK, E);
  const greedy = new UnionGreedy(trace.numLayers, E);
  return {
    kind: 'expertflow',
    select(ready, capacity, out) {
      const need = mandatoryCount(ready, capacity, ctx.maxWaitSteps);
      return greedy.select(ready, capacity, need, paths, null, out);
    },
    ...(predictions ? { completed: (request: number, from: number, count: number) => predictions.completed(request, from, count) } : {}),
  };
}
