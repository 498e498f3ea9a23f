/**
 * A serving workload resolved against a trace: its requests (drawn once), the batching limits, the
 * KV cache it can need at most, and one step source per (cache, scheduler) to simulate.
 */
import type { Rng } from '../rng/rng.js';
import { createScheduler, schedulerLabel, tokenSchedulers } from '../scheduling/index.js';
import { minFeasibleWait } from '../scheduling/fairness.js';
import type { SchedulerSpec } from '../scheduling/spec.js';
import type { PathPredictions } from '../scheduling/types.js';
import type { Trace } from '../trace/types.js';
import { describeLength } from './lengths.js';
import { buildRequests, type RequestTable } from './requests.js';
import type { ServingWorkload } from './schema.js';
import { ServingSource, type ServingLimits } from './serving-source.js';

export interface ServingPlan {
  workload: ServingWorkload;
  table: RequestTable;
  limits: ServingLimits;
  /** Per scheduler (same order as workload.schedulers): the wait bound it runs with. */
  maxWaitSteps: number[];
  /** KV cache tokens at most: the maxBatchSize longest requests at full length. */
  peakKvTokens: number;
  /** One line describing the workload, for reports. */
  description: string;
}

export function planServing(trace: Trace, w: ServingWorkload, rng: Rng, seedLabel: string, warnings: string[]): ServingPlan {
  const table = buildRequests(trace, w, rng, seedLabel);
  warnings.push(...table.notes);
  const micro = Math.min(w.microBatchSize ?? w.maxBatchSize, w.maxBatchTokens, w.maxBatchSize);
  const limits: ServingLimits = {
    maxBatchSize: w.maxBatchSize,
    microBatchSize: micro,
    prefillTokens: Math.min(w.prefill.microBatchTokens ?? w.maxBatchTokens, w.maxBatchTokens),
  };
  const rounds = Math.ceil(w.maxBatchSize / micro);
  const floor = minFeasibleWait(w.maxBatchSize, micro);
  const maxWaitSteps = w.schedulers.map((s, i) => {
    if (!tokenSchedulers[s.kind].bounded) return floor;
    const given = ('maxWaitSteps' in s ? s.maxWaitSteps : undefined) ?? 2 * rounds;
    if (given < floor) {
      warnings.push(
        `workload.schedulers[${i}].maxWaitSteps: ${given} cannot be kept with ${w.maxBatchSize} running requests and ${micro} tokens per micro-batch; using ${floor} (round robin's bound)`,
      );
      return floor;
    }
    return given;
  });
  const lengths = Array.from({ length: table.count }, (_, r) => table.promptTokens[r] + table.outputTokens[r]).sort((a, b) => b - a);
  let peakKvTokens = 0;
  for (let i = 0; i < Math.min(w.maxBatchSize, lengths.length); i++) peakKvTokens += lengths[i];
  const a = w.arrivals;
  const arrivals = a.kind === 'poisson' ? `Poisson arrivals at ${a.ratePerSec}/s` : `closed loop, ${a.users} users, think ${a.thinkMs} ms`;
  const description =
    `${w.requests} requests, ${arrivals}; prompt ${describeLength(w.promptTokens)}, output ${describeLength(w.outputTokens)} tokens; ` +
    `up to ${w.maxBatchSize} running, ${micro} decode tokens per micro-batch, ${limits.prefillTokens} prefill tokens per pass` +
    (w.prefill.streaming ? ` (streamed from ${w.prefill.streamingMinTokens} tokens)` : '');
  return { workload: w, table, limits, maxWaitSteps, peakKvTokens, description };
}

/**
 * A fresh step source serving the plan's requests with scheduler `index`; `predictions`: its
 * predictor's paths (expertflow with a `predictor`), fresh per run.
 */
export function servingSource(plan: ServingPlan, trace: Trace, numExperts: number, index: number, resident: Uint8Array | undefined, rng: Rng, predictions?: PathPredictions): ServingSource {
  const spec: SchedulerSpec = plan.workload.schedulers[index];
  const scheduler = createScheduler(spec, {
    trace,
    numExperts,
    maxWaitSteps: plan.maxWaitSteps[index],
    resident,
    ...(predictions ? { predictions } : {}),
    rng: rng.fork(`scheduler:${index}:${spec.kind}`),
  });
  return new ServingSource(trace, plan.table, plan.limits, scheduler, numExperts);
}

export { schedulerLabel };
