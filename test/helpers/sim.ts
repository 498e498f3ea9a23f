import { OffloadSim, type MissCosts, type OffloadOptions, type StepCosts } from '../../src/sim/offload-sim.js';
import { linkCosts } from '../../src/timing/roofline.js';
import { staticBatches } from '../../src/trace/steps.js';
import { ExpertCache } from '../../src/policies/expert-cache.js';
import { cachePolicies, type CachePolicyKind } from '../../src/policies/index.js';
import { prefetchPolicies, type PrefetchKind } from '../../src/policies/prefetch/index.js';
import { missHandlers, type MissHandlerKind } from '../../src/policies/miss/index.js';
import { predictors, type PredictorKind } from '../../src/predictors/index.js';
import type { RoutingPredictor } from '../../src/predictors/types.js';
import { PredictorDriver } from '../../src/predictors/driver.js';
import { TraceView } from '../../src/predictors/trace-view.js';
import { createRng } from '../../src/rng/rng.js';
import type { Trace } from '../../src/trace/types.js';
import type { TierHook } from '../../src/sim/tiers.js';

/** A predictor giving fixed scores per layer: scores[layer][expert]. */
export function scripted(scores: number[][]): RoutingPredictor {
  return {
    kind: 'scripted' as RoutingPredictor['kind'], // a test stub, not a table kind
    setValued: false,
    condition() {},
    scores: (layer, out) => out.set(scores[layer]),
    learn() {},
    parameterCount: () => 0,
  };
}

/** Round numbers: attention 1 s, any expert 2 s on the GPU, LM head 0.5 s, 3-byte experts. */
export function roundCosts(linkBytesPerSec = 1, latencySec = 0): StepCosts {
  return {
    expertBytes: 3,
    ...linkCosts({ name: 'test', h2dBytesPerSec: linkBytesPerSec, d2hBytesPerSec: linkBytesPerSec, latencySec, source: 'test' }),
    expertSec: () => 2,
    preExpertSec: () => 1,
    tailSec: () => 0.5,
  };
}

export interface SimSpec {
  cache?: CachePolicyKind;
  capacity: number;
  perLayer?: boolean;
  prefetch?: { kind: PrefetchKind } & Record<string, unknown>;
  predictor?: { kind: PredictorKind } & Record<string, unknown>;
  /** Override the policy's cancellation of stale prefetches. */
  cancelStale?: boolean;
  /** A predictor object instead (scripted predictors in tests). */
  predictorImpl?: RoutingPredictor;
  onMiss?: { kind: MissHandlerKind } & Record<string, unknown>;
  missCosts?: MissCosts;
  costs?: StepCosts;
  batchSize?: number;
  online?: boolean;
  seed?: string;
  /** Issue 16: host DRAM and the SSD behind the GPU's cache (src/sim/tiers.ts). */
  tiers?: TierHook;
}

export function buildSim(trace: Trace, s: SimSpec): { sim: OffloadSim; cache: ExpertCache } {
  const L = trace.numLayers;
  const E = trace.numExperts;
  const perLayer = s.perLayer ?? true;
  const kind = s.cache ?? 'lru';
  const policy = cachePolicies[kind].create({ numLayers: L, numExperts: E, capacityPerScope: s.capacity, scopes: perLayer ? L : 1 });
  const cache = new ExpertCache(L, E, s.capacity, perLayer, policy);
  const options: OffloadOptions = {};
  if (s.prefetch) {
    const { kind: pk, ...pparams } = s.prefetch;
    const pred = s.predictor ?? { kind: 'oracle', precision: 1, recall: 1 };
    const { kind: rk, ...rparams } = pred;
    const create = predictors[rk].create as (c: unknown, p: unknown) => RoutingPredictor;
    const predictor = s.predictorImpl ?? create({ numLayers: L, numExperts: E, topK: trace.topK, rng: createRng(s.seed ?? 'sim') }, { maxDistance: 4, maxMatrices: 100, epochs: 1, learningRate: 0.1, l2: 0, maxExamples: 1e6, ...rparams });
    const createPf = prefetchPolicies[pk].create as (p: unknown) => ReturnType<typeof prefetchPolicies.expertflow.create>;
    const defaults = pk === 'speculative' ? { lookahead: 1 } : pk === 'moe-infinity' ? { decay: true } : {};
    const policy = createPf({ ...defaults, ...pparams });
    options.prefetch = { policy: s.cancelStale === undefined ? policy : { kind: policy.kind, cancelStale: s.cancelStale, plan: policy.plan.bind(policy) }, predictor: new PredictorDriver(predictor, new TraceView(trace), s.online ?? true) };
  }
  if (s.onMiss) {
    const { kind: mk, ...mparams } = s.onMiss;
    const createM = missHandlers[mk].create as (p: unknown) => ReturnType<typeof missHandlers.fetch.create>;
    options.missHandler = createM({ belowGateWeight: 0.5, ...mparams });
    options.missCosts = s.missCosts;
  }
  if (s.tiers) options.tiers = s.tiers;
  const sim = new OffloadSim(trace, s.costs ?? roundCosts(), cache, staticBatches(trace, { batchSize: s.batchSize ?? 1, promptTokens: 0 }), { fromStep: 0, steps: 1000 }, options);
  return { sim, cache };
}

export function simulate(trace: Trace, s: SimSpec) {
  return buildSim(trace, s).sim.run();
}
