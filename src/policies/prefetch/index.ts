import type { PrefetchPolicy } from './types.js';
import { pregated } from './pregated.js';
import { speculative, type SpeculativeParams } from './speculative.js';
import { expertflow, type ExpertFlowParams } from './expertflow.js';
import { moeInfinity, type MoeInfinityParams } from './moe-infinity.js';
import type { PredictorKind } from '../../predictors/index.js';

/** Parameters of each kind (the scenario schema's fields besides `kind`). */
export interface PrefetchParams {
  pregated: object;
  speculative: SpeculativeParams;
  expertflow: ExpertFlowParams;
  'moe-infinity': MoeInfinityParams;
}
export type PrefetchKind = keyof PrefetchParams;
export const prefetchKinds = ['pregated', 'speculative', 'expertflow', 'moe-infinity'] as const satisfies readonly PrefetchKind[];

export interface PrefetchInfo<P> {
  create: (params: P) => PrefetchPolicy;
  describe: string;
  /** The predictor used when the scenario names none (pregated: an oracle at the given accuracy). */
  defaultPredictor: PredictorKind;
}

/** One typed table: a kind without an implementation does not compile. */
export const prefetchPolicies: { [K in PrefetchKind]: PrefetchInfo<PrefetchParams[K]> } = {
  pregated: { create: pregated, describe: 'Pre-gated MoE: the next layer\'s experts, known one layer ahead, fetched while this layer computes', defaultPredictor: 'oracle' },
  speculative: { create: speculative, describe: 'mixtral-offloading: guess the next layer(s) from the current state and prefetch', defaultPredictor: 'affinity' },
  expertflow: { create: expertflow, describe: 'ExpertFlow: predict the whole path up front, plan the cache, cancel and re-plan at each gate', defaultPredictor: 'path' },
  'moe-infinity': { create: moeInfinity, describe: 'MoE-Infinity: activation-matrix prefetch of all remaining layers by decayed priority', defaultPredictor: 'activation-matrix' },
};
