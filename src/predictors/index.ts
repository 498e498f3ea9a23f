import type { PredictorContext, RoutingPredictor } from './types.js';
import { oracle } from './oracle.js';
import { affinity } from './affinity.js';
import { path } from './path.js';
import { activationMatrix } from './activation-matrix.js';
import { popularity } from './popularity.js';
import type { PredictorSpec } from './spec.js';
import { publishedOracle } from './published.js';

export type PredictorKind = PredictorSpec['kind'];
export type PredictorSpecOf<K extends PredictorKind> = Extract<PredictorSpec, { kind: K }>;
export const predictorKinds = ['oracle', 'affinity', 'path', 'activation-matrix', 'popularity', 'published'] as const satisfies readonly PredictorKind[];

export interface PredictorInfo<K extends PredictorKind> {
  create: (ctx: PredictorContext, spec: PredictorSpecOf<K>) => RoutingPredictor;
  describe: string;
  /** Reads the trace's future (a bound, not a system): never trained. */
  readsFuture: boolean;
  /** "oracle 0.9/0.8", "path": how a policy's label names it. */
  label: (spec: PredictorSpecOf<K>) => string;
}

const kindLabel = (spec: PredictorSpec) => spec.kind;

/** One typed table: a kind without an implementation does not compile. */
export const predictors: { [K in PredictorKind]: PredictorInfo<K> } = {
  oracle: {
    create: oracle,
    describe: "the trace's true routing, corrupted to a given precision and recall (a bound)",
    readsFuture: true,
    label: (spec) => `oracle ${spec.precision}/${spec.recall}`,
  },
  affinity: { create: affinity, describe: 'inter-layer transitions P(expert at l+d | experts at l)', readsFuture: false, label: kindLabel },
  path: { create: path, describe: 'ExpertFlow-style whole-path softmax regression on compact features', readsFuture: false, label: kindLabel },
  'activation-matrix': { create: activationMatrix, describe: "MoE-Infinity: nearest stored request activation matrix by cosine similarity", readsFuture: false, label: kindLabel },
  popularity: { create: popularity, describe: 'per-layer expert frequency', readsFuture: false, label: kindLabel },
  published: {
    create: (ctx, spec) => ({ ...oracle(ctx, publishedOracle(spec.of)), kind: 'published' }),
    describe: "the oracle at the accuracy a system's paper publishes (precision = recall = the value; published.ts)",
    readsFuture: true,
    label: (spec) => {
      const o = publishedOracle(spec.of);
      return `published ${spec.of} (oracle ${o.precision}/${o.recall})`;
    },
  },
};

export function predictorInfo<K extends PredictorKind>(kind: K): PredictorInfo<K> {
  return predictors[kind];
}

/** A fresh, untrained predictor of `spec`'s kind (the spec's fields are its parameters). */
export function createPredictor<K extends PredictorKind>(spec: PredictorSpecOf<K> & { kind: K }, ctx: PredictorContext): RoutingPredictor {
  return predictorInfo<K>(spec.kind).create(ctx, spec);
}

export function predictorLabel<K extends PredictorKind>(spec: PredictorSpecOf<K> & { kind: K }): string {
  return predictorInfo<K>(spec.kind).label(spec);
}
