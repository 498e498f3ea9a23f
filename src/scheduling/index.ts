import type { SchedulerKind, SchedulerSpec } from './spec.js';
import type { SchedulerContext, TokenScheduler } from './types.js';
import { expertflow } from './expertflow.js';
import { fifo } from './fifo.js';
import { lookahead } from './lookahead.js';
import { predictorLabel } from '../predictors/index.js';

export { schedulerKinds, type SchedulerKind, type SchedulerSpec } from './spec.js';

export interface SchedulerInfo<K extends SchedulerKind> {
  create: (ctx: SchedulerContext, spec: Extract<SchedulerSpec, { kind: K }>) => TokenScheduler;
  describe: string;
  /** Uses the fairness bound (maxWaitSteps); FIFO keeps it by construction. */
  bounded: boolean;
}

/** One typed table: a kind without an implementation does not compile. */
export const tokenSchedulers: { [K in SchedulerKind]: SchedulerInfo<K> } = {
  fifo: { create: fifo, describe: 'first in, first out (round robin over running requests); the baseline', bounded: false },
  expertflow: {
    create: expertflow,
    describe: 'ExpertFlow: regroup ready tokens by predicted routing paths (a routing predictor\'s, or the truth with noise) to shrink each micro-batch\'s expert union, within a wait bound',
    bounded: true,
  },
  lookahead: {
    create: lookahead,
    describe: 'Read-ME lookahead: expert-aware batching on routing known ahead (pre-gating router), preferring experts on the GPU',
    bounded: true,
  },
};

export function schedulerInfo<K extends SchedulerKind>(kind: K): SchedulerInfo<K> {
  return tokenSchedulers[kind];
}

export function createScheduler<K extends SchedulerKind>(spec: Extract<SchedulerSpec, { kind: K }> & { kind: K }, ctx: SchedulerContext): TokenScheduler {
  // The table is indexed by the spec's own kind, so the spec matches the factory's parameter.
  return schedulerInfo<K>(spec.kind).create(ctx, spec);
}

/** The spec's label, or its kind: "expertflow", "expertflow (path)", "expertflow (oracle 0.9/0.9)". */
export function schedulerLabel(spec: SchedulerSpec): string {
  if (spec.label) return spec.label;
  if (!('predictor' in spec) || !spec.predictor) return spec.kind;
  return `${spec.kind} (${predictorLabel(spec.predictor)})`;
}
