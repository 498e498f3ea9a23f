/**
 * The world one policy runs in: its expert cache (capacity planned against HBM, popularity or
 * Belady's future given), its prefetch policy with a freshly trained predictor, its miss handler and
 * their costs. `buildWorld` is the one API that `run` (sim/run.ts), `replay` and `validate`
 * (calibrate/) share: the simulator and the real device-side cache are driven by the same objects.
 * Every question about a policy kind is asked of its table (policies/, predictors/).
 */
import { numMoeLayers } from '../model/derived.js';
import type { MoeModel } from '../model/types.js';
import type { Hardware } from '../hardware/types.js';
import { ExpertCache } from '../policies/expert-cache.js';
import { cachePolicyInfo, popularityOf } from '../policies/index.js';
import { nextUseOf } from '../policies/belady.js';
import type { Capacity, PolicySpec, PredictorSpec, Scenario } from '../scenario/schema.js';
import { loadTrace } from '../trace/load.js';
import { NO_EXPERT, type Trace } from '../trace/types.js';
import type { Rng } from '../rng/rng.js';
import { InputError } from '../util/errors.js';
import type { RooflineCosts } from '../timing/roofline.js';
import type { OffloadOptions } from './offload-sim.js';
import { createPredictor, predictorInfo, predictorLabel } from '../predictors/index.js';
import type { RoutingPredictor } from '../predictors/types.js';
import { trainOffline, type TrainingReport, type TrainingSource } from '../predictors/train.js';
import { PredictorDriver } from '../predictors/driver.js';
import { TraceView } from '../predictors/trace-view.js';
import { createPrefetch, prefetchLabelDetail, prefetchPolicies, prefetchPredictor } from '../policies/prefetch/index.js';
import { createMissHandler, missCostsOf, missHandlerInfo, missLabel, missLowBit } from '../policies/miss/index.js';
import { bytesPerParam } from '../model/derived.js';
import { precisionBytesPerParam, tierLabel } from '../model/formats.js';
import type { StepSource } from '../trace/steps.js';
import type { planServing } from '../workload/plan.js';
import { accessKeys } from '../trace/union.js';
import { fitLayerSubset } from '../trace/layer-subset.js';

/** What building a world reads of the run's context (sim/run.ts's RunContext has it). */
export interface WorldContext {
  /** Folder relative trace paths (a predictor's training trace) resolve against. */
  baseDir: string;
  /** The scenario file, for messages. */
  file?: string;
}

const GiB = 2 ** 30;
const gib = (b: number) => `${(b / GiB).toFixed(2)} GiB`;

/** Checks the trace against the model and returns it with the model's expert count. */
export function fitTraceToModel(trace: Trace, model: MoeModel, where: string): Trace {
  const L = numMoeLayers(model);
  if (trace.numLayers !== L) trace = fitLayerSubset(trace, model.moeLayers, model.name, where, trace.missingLayers);
  const ids = trace.experts;
  for (let i = 0; i < ids.length; i++) {
    const e = ids[i];
    if (e !== NO_EXPERT && e >= model.numExperts) {
      const token = Math.floor(i / (trace.numLayers * trace.topK));
      const layer = Math.floor(i / trace.topK) % trace.numLayers;
      throw new InputError(`${where}: expert id ${e} at token ${token}, MoE layer ${layer}; model ${model.name} has experts 0..${model.numExperts - 1}`);
    }
  }
  return trace.numExperts === model.numExperts ? trace : { ...trace, numExperts: model.numExperts };
}

/** Human label for a policy: "lru, 4/layer", "lru, 4/layer + expertflow (path) + cpu". */
export function policyLabel(p: PolicySpec, capacityExperts: number): string {
  if (p.label) return p.label;
  const info = cachePolicyInfo(p.kind);
  if (info.capacity === 'all') return p.kind;
  let label: string = p.kind;
  if (info.capacity === 'configured' && 'cache' in p) {
    const c = p.cache;
    const cap = 'perLayer' in c ? `${c.perLayer}/layer` : 'experts' in c ? `${c.experts} experts` : 'hbm' in c ? `HBM, ${capacityExperts} experts` : `${capacityExperts} experts`;
    label += `, ${cap}`;
  }
  if ('prefetch' in p && p.prefetch) {
    const pf = p.prefetch;
    label += ` + ${pf.kind}`;
    const detail = prefetchLabelDetail(pf);
    if (detail !== undefined) label += ` ${detail}`;
    else {
      const pr = 'predictor' in p ? p.predictor : undefined;
      label += ` (${pr ? predictorLabel(pr) : prefetchPolicies[pf.kind].defaultPredictor})`;
    }
  }
  if ('onMiss' in p && p.onMiss && !missHandlerInfo(p.onMiss.kind).fetchesOnly) label += ` + ${missLabel(p.onMiss)}`;
  return label;
}

/** The predictor a policy uses: its own, or its prefetch policy's default (pregated: an oracle at its accuracy). */
export function predictorOf(p: PolicySpec, i: number): PredictorSpec | undefined {
  const given = 'predictor' in p && p.predictor ? p.predictor : undefined;
  const pf = 'prefetch' in p ? p.prefetch : undefined;
  if (!pf) return given;
  const spec = prefetchPredictor(pf, given);
  if ('error' in spec) throw new InputError(`policies[${i}].predictor: ${spec.error}`);
  return spec;
}

export interface BuiltPredictor {
  predictor: RoutingPredictor;
  online: boolean;
  report: TrainingReport;
  trainMs?: number;
}

export interface PredictorSetup {
  spec: PredictorSpec;
  source: TrainingSource;
  mode: string;
  offlineOn?: string;
  /** Sequences of the scenario trace the accuracy is measured on. */
  evalSequences: number[];
  evaluatedOn: string;
}

/**
 * How `spec` is trained for a run. `scheduler`: it predicts a token scheduler's paths, whose
 * accuracy is measured over the run (all requests) rather than on held-out sequences.
 */
export async function predictorSetup(spec: PredictorSpec, where: string, trace: Trace, model: MoeModel, ctx: WorldContext, rng: Rng, warnings: string[], scheduler = false): Promise<PredictorSetup> {
  const S = trace.sequences.length;
  const all = Array.from({ length: S }, (_, s) => s);
  if (predictorInfo(spec.kind).readsFuture) {
    return { spec, source: { sequences: 0, online: false }, mode: 'none', evalSequences: all, evaluatedOn: `all ${S} sequences (the oracle reads the trace)` };
  }
  const t = ('train' in spec ? spec.train : undefined) ?? {};
  const offline = t.fraction !== undefined || t.path !== undefined;
  const online = t.online ?? !offline;
  const mode = offline ? (online ? 'offline+online' : 'offline') : 'online';
  if (!offline) {
    return { spec, source: { sequences: 0, online }, mode, evalSequences: all, evaluatedOn: `all ${S} sequences, causally (each token predicted before it is learned from)` };
  }
  if (t.fraction !== undefined) {
    if (S < 2) throw new InputError(`${where}.train.fraction: the trace has ${S} sequence; a split by sequences needs at least 2 (use train: {online: true} or {path: ...})`);
    const n = Math.min(S - 1, Math.max(1, Math.round(t.fraction * S)));
    warnings.push(
      scheduler
        ? `${where}: trained on the first ${n} of ${S} sequences, which the requests also replay (its predictions there, and the accuracy reported over the run, are optimistic)`
        : `${where}: trained on the first ${n} of ${S} sequences, which the simulation also replays (its prefetches there are optimistic); its accuracy is measured on the other ${S - n}`,
    );
    return {
      spec,
      source: { trace, sequences: n, online },
      mode,
      offlineOn: `the first ${n} of ${S} sequences of the scenario trace`,
      evalSequences: all.slice(n),
      evaluatedOn: `the held-out sequences ${n}..${S - 1}${online ? ', learning online as they go' : ''}`,
    };
  }
  const path = t.path!;
  const loaded = await loadTrace({ path }, ctx.baseDir, rng.fork('train-trace'));
  const other = fitTraceToModel(loaded, model, `${where}.train.path (${path})`);
  return {
    spec,
    source: { trace: other, sequences: other.sequences.length, online },
    mode,
    offlineOn: `${path}: ${other.sequences.length} sequences, ${other.tokens} tokens`,
    evalSequences: all,
    evaluatedOn: `all ${S} sequences of the scenario trace${online ? ', learning online as they go' : ''}`,
  };
}

export function buildPredictor(setup: PredictorSetup, trace: Trace, E: number, rng: Rng, clock?: () => number): BuiltPredictor {
  const { spec } = setup;
  const prng = rng.fork(`predictor:${JSON.stringify(spec)}`);
  // One typed table; the spec's fields are the kind's parameters.
  const predictor = createPredictor(spec, { numLayers: trace.numLayers, numExperts: E, topK: trace.topK, rng: prng.fork('init') });
  const t0 = clock?.();
  const report = trainOffline(predictor, setup.source, E, prng.fork('fit'));
  const trainMs = clock && t0 !== undefined ? clock() - t0 : undefined;
  return { predictor, online: setup.source.online, report, ...(trainMs !== undefined && setup.source.sequences > 0 ? { trainMs } : {}) };
}

export interface CachePlan {
  perLayer: boolean;
  capacityPerScope: number;
  capacityExperts: number;
}

function planCapacity(p: PolicySpec, i: number, model: MoeModel, cost: RooflineCosts, residentBytes: number, stagingReserveBytes: number, hbmBytes: number, warnings: string[]): CachePlan {
  const L = cost.numMoeLayers;
  const E = model.numExperts;
  const total = L * E;
  const capacity = cachePolicyInfo(p.kind).capacity;
  if (capacity === 'all') return { perLayer: true, capacityPerScope: E, capacityExperts: total };
  if (capacity === 'none' || !('cache' in p)) return { perLayer: true, capacityPerScope: 0, capacityExperts: 0 };
  const c: Capacity = p.cache;
  const field = `policies[${i}].cache`;
  let plan: CachePlan;
  if ('perLayer' in c) {
    let n = c.perLayer;
    if (n > E) {
      const w = `${field}.perLayer: ${n} is more than the ${E} experts of a layer; using ${E}`;
      if (!warnings.includes(w)) warnings.push(w);
      n = E;
    }
    plan = { perLayer: true, capacityPerScope: n, capacityExperts: n * L };
  } else {
    let n: number;
    if ('experts' in c) n = c.experts;
    else if ('bytes' in c) n = Math.floor(c.bytes / cost.expertBytes);
    else if ('gib' in c) n = Math.floor((c.gib * GiB) / cost.expertBytes);
    else {
      const free = hbmBytes - residentBytes - stagingReserveBytes - c.reserveGiB * GiB;
      n = Math.max(0, Math.floor(free / cost.expertBytes));
    }
    if (n > total) n = total;
    plan = { perLayer: false, capacityPerScope: n, capacityExperts: n };
  }
  const need = residentBytes + plan.capacityExperts * cost.expertBytes + stagingReserveBytes;
  if (need > hbmBytes) {
    throw new InputError(
      `${field}: ${plan.capacityExperts} experts (${gib(plan.capacityExperts * cost.expertBytes)}) + resident weights and KV cache (${gib(residentBytes)}) = ${gib(need)} exceed the GPU's ${gib(hbmBytes)}; expected a smaller cache (at most ${Math.max(0, Math.floor((hbmBytes - residentBytes - stagingReserveBytes) / cost.expertBytes))} experts)`,
    );
  }
  return plan;
}

/** Everything a scenario resolves to before any policy runs: shared by `run`, `replay` and `validate`. */
export interface PreparedScenario {
  model: MoeModel;
  hardware: Hardware;
  trace: Trace;
  cost: RooflineCosts;
  warnings: string[];
  rng: Rng;
  /** A fresh step source over the trace (the scenario's batch workload). */
  newSource: () => StepSource;
  serving?: ReturnType<typeof planServing>;
  streaming?: { minTokens: number };
  residentBytes: number;
  allOnGpuBytes: number;
  /** A step's union of experts at one layer, upper bound: what an un-cached fetch must stage. */
  maxUnion: number;
  /** Belady's future, computed once when an offline policy asks for it. */
  nextUse?: Int32Array;
}

export interface PolicyCache {
  plan: CachePlan;
  cache: ExpertCache;
  label: string;
}

/**
 * The expert cache of `scenario.policies[i]`, driven by a fresh instance of its policy: the same
 * code for the simulator and for a real device-side cache. `cost` sizes byte-valued capacities.
 */
export function createPolicyCache(prep: PreparedScenario, p: PolicySpec, i: number, cost: RooflineCosts = prep.cost): PolicyCache {
  const { model, trace, warnings } = prep;
  const E = model.numExperts;
  const L = trace.numLayers;
  const info = cachePolicyInfo(p.kind);
  const staging = info.stagesMisses ? prep.maxUnion * cost.expertBytes : 0;
  const plan = planCapacity(p, i, model, cost, prep.residentBytes, staging, prep.hardware.gpu.hbmBytes, warnings);
  // missingLayers: recorded: a global cache holds the recorded layers' share of the model's experts
  if (!plan.perLayer && prep.trace.numLayers < cost.numMoeLayers) plan.capacityPerScope = plan.capacityExperts = Math.floor((plan.capacityExperts * prep.trace.numLayers) / cost.numMoeLayers);
  if (info.offline && !prep.nextUse) prep.nextUse = nextUseOf(accessKeys(trace, prep.newSource(), E), L * E);
  const popularity = popularityOf(p, trace, E, `policies[${i}]`);
  const policy = info.create({
    numLayers: L,
    numExperts: E,
    capacityPerScope: plan.capacityPerScope,
    scopes: plan.perLayer ? L : 1,
    nextUse: prep.nextUse,
    popularity,
  });
  const cache = new ExpertCache(L, E, plan.capacityPerScope, plan.perLayer, policy);
  return { plan, cache, label: policyLabel(p, plan.capacityExperts) };
}

/** The predictors of a scenario's policies: each policy's spec, and one setup per distinct spec. */
export interface PolicyPredictors {
  specs: (PredictorSpec | undefined)[];
  setups: Map<string, PredictorSetup>;
}

/** Sets up (and loads the training traces of) the policies' predictors, before any run. */
export async function setupPolicyPredictors(scenario: Scenario, prep: PreparedScenario, ctx: WorldContext): Promise<PolicyPredictors> {
  const specs = scenario.policies.map((p, i) => predictorOf(p, i));
  const setups = new Map<string, PredictorSetup>();
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i];
    if (!spec) continue;
    const key = JSON.stringify(spec);
    if (!setups.has(key)) setups.set(key, await predictorSetup(spec, `policies[${i}].predictor`, prep.trace, prep.model, ctx, prep.rng, prep.warnings));
  }
  return { specs, setups };
}

/**
 * Fresh simulator options of `scenario.policies[i]`: its prefetch policy with a freshly trained
 * predictor, its miss handler (prefetchers and online predictors keep state: one per run).
 */
export function policyOptions(prep: PreparedScenario, scenario: Scenario, i: number, predictors: PolicyPredictors, label: string): OffloadOptions {
  const { trace, model, rng, cost, streaming, warnings } = prep;
  const p = scenario.policies[i];
  const E = model.numExperts;
  const pspec = predictors.specs[i];
  const pf = 'prefetch' in p ? p.prefetch : undefined;
  const onMiss = 'onMiss' in p ? p.onMiss : undefined;
  const warn = (w: string) => {
    if (!warnings.includes(w)) warnings.push(w);
  };
  const options: OffloadOptions = streaming ? { prefillStreaming: streaming } : {};
  if (pf && pspec) {
    const built = buildPredictor(predictors.setups.get(JSON.stringify(pspec))!, trace, E, rng);
    options.prefetch = { policy: createPrefetch(pf), predictor: new PredictorDriver(built.predictor, new TraceView(trace, E), built.online) };
  }
  if (onMiss && !missHandlerInfo(onMiss.kind).fetchesOnly) {
    options.missHandler = createMissHandler(onMiss);
    const lowBit = missLowBit(onMiss);
    if (lowBit && bytesPerParam(lowBit, scenario.precision.groupSize) >= precisionBytesPerParam(scenario.precision, 'experts', model)) {
      warn(`policies[${i}].onMiss.dtype: ${lowBit} is no smaller than the experts' ${tierLabel(scenario.precision.experts)}; the lower-bit copy saves nothing`);
    }
    options.missCosts = missCostsOf(onMiss, cost);
    if (missHandlerInfo(onMiss.kind).bypassesCache && !pf && cachePolicyInfo(p.kind).fillsOnMiss) {
      warn(
        `${label}: experts computed on the CPU are not cached, and nothing else fills this ${p.kind} cache; Fiddler pairs CPU computation with static placement (kind: static)`,
      );
    }
  }
  return options;
}


/** One policy's world: what OffloadSim (or the device-side replay) is built from. */
export interface World extends PolicyCache {
  options: OffloadOptions;
}

/**
 * The world of `scenario.policies[i]`: a fresh cache (capacity checked against HBM) and fresh
 * options (prefetchers and online predictors keep state: one world per run).
 */
export function buildWorld(prep: PreparedScenario, scenario: Scenario, i: number, predictors: PolicyPredictors): World {
  const pc = createPolicyCache(prep, scenario.policies[i], i);
  return { ...pc, options: policyOptions(prep, scenario, i, predictors, pc.label) };
}
