import type { PredictorContext, RoutingPredictor } from './types.js';
import { oracle, type OracleParams } from './oracle.js';
import { affinity, type AffinityParams } from './affinity.js';
import { path, type PathParams } from './path.js';
import { activationMatrix, type ActivationMatrixParams } from './activation-matrix.js';
import { popularity } from './popularity.js';

/** Parameters of each kind (the scenario schema's fields besides `kind` and `train`). */
export interface PredictorParams {
  oracle: OracleParams;
  affinity: AffinityParams;
  path: PathParams;
  'activation-matrix': ActivationMatrixParams;
  popularity: object;
}
export type PredictorKind = keyof PredictorParams;
export const predictorKinds = ['oracle', 'affinity', 'path', 'activation-matrix', 'popularity'] as const satisfies readonly PredictorKind[];

export interface PredictorInfo<P> {
  create: (ctx: PredictorContext, params: P) => RoutingPredictor;
  describe: string;
  /** Reads the trace's future (a bound, not a system): never trained. */
  readsFuture: boolean;
}

/** One typed table: a kind without an implementation does not compile. */
export const predictors: { [K in PredictorKind]: PredictorInfo<PredictorParams[K]> } = {
  oracle: { create: oracle, describe: "the trace's true routing, corrupted to a given precision and recall (a bound)", readsFuture: true },
  affinity: { create: affinity, describe: 'inter-layer transitions P(expert at l+d | experts at l)', readsFuture: false },
  path: { create: path, describe: 'ExpertFlow-style whole-path softmax regression on compact features', readsFuture: false },
  'activation-matrix': { create: activationMatrix, describe: "MoE-Infinity: nearest stored request activation matrix by cosine similarity", readsFuture: false },
  popularity: { create: popularity, describe: 'per-layer expert frequency', readsFuture: false },
};
