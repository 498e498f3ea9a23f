import type { PrefetchPolicy } from './types.js';
import { pregated } from './pregated.js';
import type { PublishedSystem } from '../../predictors/published.js';
import { speculative } from './speculative.js';
import { expertflow } from './expertflow.js';
import { moeInfinity } from './moe-infinity.js';
import type { PredictorKind } from '../../predictors/index.js';
import { predictorSchema, type PredictorSpec } from '../../predictors/spec.js';
import type { PrefetchKind, PrefetchSpecOf } from '../spec.js';

export type { PrefetchKind } from '../spec.js';
export const prefetchKinds = ['pregated', 'speculative', 'expertflow', 'moe-infinity'] as const satisfies readonly PrefetchKind[];

export interface PrefetchInfo<K extends PrefetchKind> {
  create: (params: Omit<PrefetchSpecOf<K>, 'kind'>) => PrefetchPolicy;
  describe: string;
  /** The predictor used when the scenario names none (pregated: an oracle at the given accuracy). */
  defaultPredictor: PredictorKind;
  /**
   * The predictor the policy itself implies, which a scenario's `predictor:` may not replace
   * (pregated: its pre-gate, an oracle at its accuracy). `reason`: why, for the error message.
   */
  ownPredictor?: { spec: (spec: PrefetchSpecOf<K>) => PredictorSpec; reason: string };
  /** The label's detail of the predictor ("pregated 0.9" rather than "pregated (oracle 0.9/0.9)"). */
  labelDetail?: (spec: PrefetchSpecOf<K>) => string;
  /**
   * The system whose predictor this prefetch's own predictor (or, without one, its default
   * predictor) stands for, whose paper's accuracy the run reports next to it (predictors/published.ts).
   */
  paperSystem?: PublishedSystem;
}

/** One typed table: a kind without an implementation does not compile. */
export const prefetchPolicies: { [K in PrefetchKind]: PrefetchInfo<K> } = {
  pregated: {
    create: pregated,
    describe: 'Pre-gated MoE: the next layer\'s experts, known one layer ahead, fetched while this layer computes',
    defaultPredictor: 'oracle',
    ownPredictor: {
      spec: (spec) => ({ kind: 'oracle', precision: spec.accuracy, recall: spec.accuracy }),
      reason: 'pregated models its pre-gate by its accuracy (an oracle); for a learned guess of the next layer use prefetch: {kind: speculative}',
    },
    labelDetail: (spec) => String(spec.accuracy),
    paperSystem: 'pregated-moe',
  },
  speculative: { create: speculative, describe: 'mixtral-offloading: guess the next layer(s) from the current state and prefetch', defaultPredictor: 'affinity', paperSystem: 'mixtral-offloading' },
  expertflow: { create: expertflow, describe: 'ExpertFlow: predict the whole path up front, plan the cache, cancel and re-plan at each gate', defaultPredictor: 'path' },
  'moe-infinity': { create: moeInfinity, describe: 'MoE-Infinity: activation-matrix prefetch of all remaining layers by decayed priority', defaultPredictor: 'activation-matrix' },
};

export function prefetchInfo<K extends PrefetchKind>(kind: K): PrefetchInfo<K> {
  return prefetchPolicies[kind];
}

/** A fresh prefetch policy of `spec`'s kind. */
export function createPrefetch<K extends PrefetchKind>(spec: PrefetchSpecOf<K> & { kind: K }): PrefetchPolicy {
  return prefetchInfo<K>(spec.kind).create(spec);
}

/**
 * The predictor of a prefetch policy: its own (pregated), else the scenario's `given`, else the
 * kind's default. Throws the reason when a policy with its own predictor is given another.
 */
export function prefetchPredictor<K extends PrefetchKind>(spec: PrefetchSpecOf<K> & { kind: K }, given: PredictorSpec | undefined): PredictorSpec | { error: string } {
  const info = prefetchInfo<K>(spec.kind);
  if (info.ownPredictor) return given ? { error: info.ownPredictor.reason } : info.ownPredictor.spec(spec);
  return given ?? predictorSchema.parse({ kind: info.defaultPredictor });
}

/** The detail a policy's label gives instead of its predictor's name, if any ("pregated 0.9"). */
export function prefetchLabelDetail<K extends PrefetchKind>(spec: PrefetchSpecOf<K> & { kind: K }): string | undefined {
  return prefetchInfo<K>(spec.kind).labelDetail?.(spec);
}
