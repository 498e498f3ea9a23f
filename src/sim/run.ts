/**
 * Scenario -> RunResult: resolve the model and hardware, load the trace, then simulate each policy
 * on the same trace, hardware and workload. No file writing, no clock reading: the caller (CLI,
 * sweep worker, tests) decides what to do with the result.
 */
import { resolveHardware } from '../hardware/resolve.js';
import { resolveModel } from '../model/resolve.js';
import { numMoeLayers } from '../model/derived.js';
import type { MoeModel } from '../model/types.js';
import type { Hardware } from '../hardware/types.js';
import type { PolicyResult, RunResult } from '../metrics/types.js';
import { summarize } from '../metrics/summarize.js';
import { ExpertCache } from '../policies/expert-cache.js';
import { cachePolicies } from '../policies/index.js';
import { nextUseOf } from '../policies/belady.js';
import { predictorSchema, type Capacity, type PolicySpec, type PredictorSpec, type Scenario } from '../scenario/schema.js';
import { loadTrace } from '../trace/load.js';
import { NO_EXPERT, type Trace } from '../trace/types.js';
import { createRng } from '../rng/rng.js';
import { InputError } from '../util/errors.js';
import { VERSION } from '../version.js';
import { RooflineCosts } from '../timing/roofline.js';
import { semanticCostModel } from '../timing/execution-semantics.js';
import { scenarioSemantics } from '../systems/catalog.js';
import { OffloadSim, type OffloadOptions } from './offload-sim.js';
import type { PredictorReport, SchedulerPredictorReport } from '../metrics/types.js';
import { predictors } from '../predictors/index.js';
import type { RoutingPredictor } from '../predictors/types.js';
import { trainOffline, type TrainingReport, type TrainingSource } from '../predictors/train.js';
import { evaluatePredictor } from '../predictors/evaluate.js';
import { PredictorDriver } from '../predictors/driver.js';
import { TraceView } from '../predictors/trace-view.js';
import { prefetchPolicies } from '../policies/prefetch/index.js';
import { missHandlers } from '../policies/miss/index.js';
import type { Rng } from '../rng/rng.js';
import type { Dtype } from '../model/types.js';
import { bytesPerParam } from '../model/derived.js';
import { staticBatches, type StepSource } from '../trace/steps.js';
import { countedSource } from './progress.js';
import { planServing, schedulerLabel, servingSource } from '../workload/plan.js';
import { summarizeServing } from '../metrics/serving.js';
import { accessKeys } from '../trace/union.js';
import { requestTrace } from '../workload/request-trace.js';
import { fitLayerSubset } from '../trace/layer-subset.js';
import { PredictedPaths } from '../scheduling/predicted-paths.js';

export interface RunContext {
  /** Folder relative trace paths resolve against (the scenario file's folder). */
  baseDir: string;
  /** The scenario file, for messages and the result's provenance. */
  file?: string;
  /** Loads the trace (default: trace/load.ts's loadTrace); a sweep worker passes one that caches. */
  loadTrace?: typeof loadTrace;
  /**
   * A clock in milliseconds (performance.now), to report predictor training time. Without one no
   * wall-clock time is measured and the result is a pure function of the scenario.
   */
  clock?: () => number;
  /** Progress, optional (never changes the result): tokens simulated so far of `total` (every policy's run). */
  progress?: (done: number, total: number) => void;
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
  if (p.kind === 'all-on-gpu') return p.kind;
  let label: string = p.kind;
  if (p.kind !== 'none') {
    const c = p.cache;
    const cap = 'perLayer' in c ? `${c.perLayer}/layer` : 'experts' in c ? `${c.experts} experts` : 'hbm' in c ? `HBM, ${capacityExperts} experts` : `${capacityExperts} experts`;
    label += `, ${cap}`;
  }
  if ('prefetch' in p && p.prefetch) {
    const pf = p.prefetch;
    label += ` + ${pf.kind}`;
    if (pf.kind === 'pregated') label += ` ${pf.accuracy}`;
    else {
      const pr = 'predictor' in p ? p.predictor : undefined;
      label += ` (${pr ? (pr.kind === 'oracle' ? `oracle ${pr.precision}/${pr.recall}` : pr.kind) : prefetchPolicies[pf.kind].defaultPredictor})`;
    }
  }
  if ('onMiss' in p && p.onMiss && p.onMiss.kind !== 'fetch') label += ` + ${p.onMiss.kind === 'low-precision' ? `${p.onMiss.dtype} on miss` : 'cpu on miss'}`;
  return label;
}

/** The predictor a policy uses: its own, or its prefetch policy's default (pregated: an oracle at its accuracy). */
export function predictorOf(p: PolicySpec, i: number): PredictorSpec | undefined {
  const pf = 'prefetch' in p ? p.prefetch : undefined;
  if (pf?.kind === 'pregated') {
    if ('predictor' in p && p.predictor) throw new InputError(`policies[${i}].predictor: pregated models its pre-gate by its accuracy (an oracle); for a learned guess of the next layer use prefetch: {kind: speculative}`);
    return { kind: 'oracle', precision: pf.accuracy, recall: pf.accuracy };
  }
  if ('predictor' in p && p.predictor) return p.predictor;
  if (pf) return predictorSchema.parse({ kind: prefetchPolicies[pf.kind].defaultPredictor });
  return undefined;
}

interface BuiltPredictor {
  predictor: RoutingPredictor;
  online: boolean;
  report: TrainingReport;
  trainMs?: number;
}

interface PredictorSetup {
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
async function predictorSetup(spec: PredictorSpec, where: string, trace: Trace, model: MoeModel, ctx: RunContext, rng: Rng, warnings: string[], scheduler = false): Promise<PredictorSetup> {
  const S = trace.sequences.length;
  const all = Array.from({ length: S }, (_, s) => s);
  if (spec.kind === 'oracle') {
    return { spec, source: { sequences: 0, online: false }, mode: 'none', evalSequences: all, evaluatedOn: `all ${S} sequences (the oracle reads the trace)` };
  }
  const t = spec.train ?? {};
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

function buildPredictor(setup: PredictorSetup, trace: Trace, E: number, rng: Rng, clock?: () => number): BuiltPredictor {
  const { spec } = setup;
  const { kind, ...params } = spec;
  delete (params as { train?: unknown }).train;
  const prng = rng.fork(`predictor:${JSON.stringify(spec)}`);
  // One typed table; the spec's fields are the kind's parameters.
  const create = predictors[kind].create as (c: Parameters<typeof predictors.oracle.create>[0], p: unknown) => RoutingPredictor;
  const predictor = create({ numLayers: trace.numLayers, numExperts: E, topK: trace.topK, rng: prng.fork('init') }, params);
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
  if (p.kind === 'none') return { perLayer: true, capacityPerScope: 0, capacityExperts: 0 };
  if (p.kind === 'all-on-gpu') return { perLayer: true, capacityPerScope: E, capacityExperts: total };
  const c: Capacity = p.cache;
  const field = `policies[${i}].cache`;
  let plan: CachePlan;
  if ('perLayer' in c) {
    let n = c.perLayer;
    if (n > E) {
      warnings.push(`${field}.perLayer: ${n} is more than the ${E} experts of a layer; using ${E}`);
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

/** Access counts per key over the first `warmupTokens` tokens of the trace (static placement). */
function popularityOf(trace: Trace, numExperts: number, warmupTokens: number): Float64Array {
  const L = trace.numLayers;
  const K = trace.topK;
  const pop = new Float64Array(L * numExperts);
  const end = Math.min(warmupTokens, trace.tokens) * L * K;
  for (let i = 0; i < end; i++) {
    const e = trace.experts[i];
    if (e !== NO_EXPERT) pop[Math.floor(i / K) % L * numExperts + e]++;
  }
  return pop;
}

/** Everything a scenario resolves to before any policy runs: shared by `run`, `replay` and `validate`. */
export interface PreparedScenario {
  model: MoeModel;
  hardware: Hardware;
  trace: Trace;
  cost: RooflineCosts;
  warnings: string[];
  rng: ReturnType<typeof createRng>;
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

/** Resolve the model and hardware, load the trace and check it against the model, size the memory. */
export async function prepareScenario(scenario: Scenario, ctx: RunContext): Promise<PreparedScenario> {
  const model = resolveModel(scenario.model, 'model');
  const hardware = resolveHardware(scenario.hardware, 'hardware', ctx.baseDir);
  const rng = createRng(scenario.seed);
  const where = scenario.trace && 'path' in scenario.trace ? String(scenario.trace.path) : 'trace';
  const loaded = await (ctx.loadTrace ?? loadTrace)(scenario.trace, ctx.baseDir, rng.fork('trace'), { modelExperts: model.numExperts });
  const trace = fitTraceToModel(loaded, model, where);
  const warnings = [...trace.warnings];
  if (trace.topK !== model.topK) warnings.push(`trace top-k ${trace.topK} differs from model ${model.name}'s ${model.topK}; the trace's routing is simulated as recorded`);

  // Seam (issue 12): a `system:` or `execution:` adds a runtime's execution semantics to the roofline costs.
  const semantics = scenarioSemantics(scenario.system, scenario.execution, model);
  const cost = semantics ? semanticCostModel(model, hardware, scenario.precision, semantics) : new RooflineCosts(model, hardware, scenario.precision);
  const E = model.numExperts;
  const L = trace.numLayers;
  const workload = scenario.workload;
  const serving = workload.kind === 'serving' ? planServing(trace, workload, rng.fork('workload'), String(scenario.seed), warnings) : undefined;
  const batching = workload.kind === 'serving' ? { batchSize: 1, promptTokens: 0 } : { batchSize: workload.batchSize, promptTokens: workload.promptTokens };
  const newSource = () => staticBatches(trace, batching);

  // KV cache at its peak: the largest batch group's sequences at full length (serving: the
  // maxBatchSize longest requests).
  let peakKvTokens = 0;
  if (serving) peakKvTokens = serving.peakKvTokens;
  else {
    for (let g = 0; g < trace.sequences.length; g += batching.batchSize) {
      let sum = 0;
      for (let s = g; s < Math.min(g + batching.batchSize, trace.sequences.length); s++) sum += trace.sequences[s].length;
      peakKvTokens = Math.max(peakKvTokens, sum);
    }
  }
  const residentBytes = cost.residentWeightBytes + peakKvTokens * cost.kvBytesPerToken;
  const allOnGpuBytes = residentBytes + L * E * cost.expertBytes;
  const hbm = hardware.gpu.hbmBytes;
  if (residentBytes > hbm) {
    throw new InputError(`hardware: model ${model.name}'s resident weights and KV cache need ${gib(residentBytes)}, more than the GPU's ${gib(hbm)}; expected a larger GPU or lower precision.dense`);
  }
  // A step's union of experts at one layer, upper bound: what an un-cached fetch must stage
  // (prefill streaming stages up to one more layer).
  const maxStepTokens = serving ? Math.max(serving.limits.prefillTokens, serving.limits.microBatchSize) : newSource().maxTokens;
  const streaming = serving?.workload.prefill.streaming ? { minTokens: serving.workload.prefill.streamingMinTokens } : undefined;
  const maxUnion = Math.min(E, maxStepTokens * trace.topK) + (streaming ? E : 0);

  return { model, hardware, trace, cost, warnings, rng, newSource, serving, streaming, residentBytes, allOnGpuBytes, maxUnion };
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
  const info = cachePolicies[p.kind];
  const staging = p.kind === 'none' || p.kind === 'static' ? prep.maxUnion * cost.expertBytes : 0;
  const plan = planCapacity(p, i, model, cost, prep.residentBytes, staging, prep.hardware.gpu.hbmBytes, warnings);
  if (info.offline && !prep.nextUse) prep.nextUse = nextUseOf(accessKeys(trace, prep.newSource(), E), L * E);
  let popularity: Float64Array | undefined;
  if (p.kind === 'static') {
    if (p.profile) {
      if (p.profile.length !== L || p.profile.some((row) => row.length !== E)) {
        throw new InputError(`policies[${i}].profile: expected ${L} rows (MoE layers) of ${E} counts (experts)`);
      }
      popularity = Float64Array.from(p.profile.flat());
    } else {
      popularity = popularityOf(trace, E, p.warmupTokens ?? Math.max(1, Math.ceil(trace.tokens * 0.1)));
    }
  }
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
export async function setupPolicyPredictors(scenario: Scenario, prep: PreparedScenario, ctx: RunContext): Promise<PolicyPredictors> {
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
    const { kind, ...params } = pf;
    const create = prefetchPolicies[kind].create as (params: unknown) => ReturnType<typeof prefetchPolicies.expertflow.create>;
    options.prefetch = { policy: create(params), predictor: new PredictorDriver(built.predictor, new TraceView(trace, E), built.online) };
  }
  if (onMiss && onMiss.kind !== 'fetch') {
    const { kind, ...params } = onMiss;
    const create = missHandlers[kind].create as (params: unknown) => ReturnType<typeof missHandlers.fetch.create>;
    options.missHandler = create(params);
    const lowBit: Dtype | undefined = onMiss.kind === 'low-precision' ? onMiss.dtype : undefined;
    if (lowBit && bytesPerParam(lowBit, scenario.precision.groupSize) >= bytesPerParam(scenario.precision.experts, scenario.precision.groupSize)) {
      warn(`policies[${i}].onMiss.dtype: ${lowBit} is no smaller than the experts' ${scenario.precision.experts}; the lower-bit copy saves nothing`);
    }
    options.missCosts = cost.missCosts(lowBit);
    if (onMiss.kind === 'cpu' && !pf && (p.kind === 'lru' || p.kind === 'lfu' || p.kind === 'belady')) {
      warn(
        `${label}: experts computed on the CPU are not cached, and nothing else fills this ${p.kind} cache; Fiddler pairs CPU computation with static placement (kind: static)`,
      );
    }
  }
  return options;
}

export async function runScenario(scenario: Scenario, ctx: RunContext): Promise<RunResult> {
  const prep = await prepareScenario(scenario, ctx);
  const { model, hardware, trace, cost, warnings, rng, newSource, serving, streaming, residentBytes, allOnGpuBytes } = prep;
  const E = model.numExperts;
  const hbm = hardware.gpu.hbmBytes;
  const results: PolicyResult[] = [];
  const policyPredictors = await setupPolicyPredictors(scenario, prep, ctx);
  const { specs: predictorSpecs, setups } = policyPredictors;
  // Token schedulers' predictors (expertflow's `predictor`): set up once per scheduler; built fresh
  // per run (online ones learn from the run), on the requests' own routing (request-trace.ts).
  const schedulerSetups: (PredictorSetup | undefined)[] = [];
  for (const [j, s] of (serving?.workload.schedulers ?? []).entries()) {
    schedulerSetups.push(s.kind === 'expertflow' && s.predictor ? await predictorSetup(s.predictor, `workload.schedulers[${j}].predictor`, trace, model, ctx, rng, warnings, true) : undefined);
  }
  const requests = serving && schedulerSetups.some((s) => s) ? requestTrace(trace, serving.table) : undefined;
  const reports = new Map<string, PredictorReport>();
  const reportOf = (spec: PredictorSpec): PredictorReport => {
    const key = JSON.stringify(spec);
    let r = reports.get(key);
    if (r) return r;
    const setup = setups.get(key)!;
    const built = buildPredictor(setup, trace, E, rng, ctx.clock);
    const evaluation = evaluatePredictor(built.predictor, trace, {
      sequences: setup.evalSequences,
      online: built.online,
      maxLookahead: scenario.evaluation.maxLookahead,
      maxTokens: scenario.evaluation.maxTokens,
      numExperts: E,
    });
    r = {
      kind: spec.kind,
      spec,
      training: { mode: setup.mode, ...(setup.offlineOn ? { offlineOn: setup.offlineOn } : {}), offlineTokens: built.report.offlineTokens, evaluatedOn: setup.evaluatedOn },
      parameters: built.predictor.parameterCount(),
      ...(built.report.fit ? { fit: built.report.fit } : {}),
      ...(built.trainMs !== undefined ? { trainMs: built.trainMs } : {}),
      evaluation,
    };
    reports.set(key, r);
    return r;
  };
  const runs = scenario.policies.length * (serving ? serving.workload.schedulers.length : 1);
  let runsDone = 0;
  ctx.progress?.(0, runs * trace.tokens);
  scenario.policies.forEach((p, i) => {
    const info = cachePolicies[p.kind];
    if (serving && info.offline) {
      throw new InputError(
        `policies[${i}]: ${p.kind} needs the whole access order before the run, but a serving workload's order depends on simulated time (arrivals, step times); use it with a batch workload`,
      );
    }
    if (serving && 'prefetch' in p && p.prefetch) {
      throw new InputError(
        `policies[${i}].prefetch: prefetching is not supported with serving workloads yet (its predictors follow trace sequences, which serving requests reuse and enter mid-way); use a batch workload, or a serving scheduler with a predictor`,
      );
    }
    let first: PolicyCache | undefined = createPolicyCache(prep, p, i);
    const { plan, label } = first;
    /** The first call returns the cache made above (its capacity checked); later calls fresh ones. */
    const newCache = (): ExpertCache => {
      const c = first ?? createPolicyCache(prep, p, i);
      first = undefined;
      return c.cache;
    };
    const pspec = predictorSpecs[i];
    const pf = 'prefetch' in p ? p.prefetch : undefined;
    const onMiss = 'onMiss' in p ? p.onMiss : undefined;
    const warn = (w: string) => {
      if (!warnings.includes(w)) warnings.push(w);
    };
    /** Fresh per run: prefetchers and online predictors keep state. */
    const newOptions = (): OffloadOptions => policyOptions(prep, scenario, i, policyPredictors, label);
    const simulate = (cache: ExpertCache, source: StepSource) => {
      const options = newOptions();
      const base = runsDone++ * trace.tokens;
      const counted = ctx.progress && !serving ? countedSource(source, (n) => ctx.progress!(base + Math.min(n, trace.tokens), runs * trace.tokens)) : source;
      const counters = new OffloadSim(trace, cost, cache, counted, scenario.timeline, options).run();
      ctx.progress?.(runsDone * trace.tokens, runs * trace.tokens);
      const metrics = summarize(
        counters,
        {
          residentBytes,
          expertCacheBytes: plan.capacityExperts * cost.expertBytes,
          stagingBytes: counters.peakStaging * cost.expertBytes,
          allOnGpuBytes,
          cacheCapacityExperts: plan.capacityExperts,
        },
        { prefetching: options.prefetch !== undefined },
      );
      if (p.kind === 'all-on-gpu' && metrics.gpuMemoryBytes > hbm) {
        metrics.fitsInHbm = false;
        warn(`${label}: needs ${gib(metrics.gpuMemoryBytes)}, more than the GPU's ${gib(hbm)}; shown as a bound only`);
      }
      return { counters, metrics };
    };
    const described = {
      ...(pf ? { prefetch: pf.kind } : {}),
      ...(p.kind !== 'all-on-gpu' ? { onMiss: onMiss?.kind ?? 'fetch' } : {}),
      ...(pspec ? { predictor: reportOf(pspec) } : {}),
    };
    if (!serving) {
      const { counters, metrics } = simulate(newCache(), newSource());
      results.push({ policy: p.kind, label, ...described, metrics, ...(scenario.timeline ? { timeline: counters.timeline } : {}) });
      return;
    }
    serving.workload.schedulers.forEach((spec, j) => {
      const cache = newCache();
      const setup = schedulerSetups[j];
      const built = setup ? buildPredictor(setup, trace, E, rng) : undefined;
      const parameters = built?.predictor.parameterCount() ?? 0;
      const predictions = built ? new PredictedPaths(built.predictor, built.online, requests!, serving.table.firstToken, E) : undefined;
      const source = servingSource(serving, trace, E, j, cache.resident, rng.fork('workload'), predictions);
      const { counters, metrics } = simulate(cache, source);
      const servingMetrics = summarizeServing(counters, { table: serving.table, source, waitBound: serving.maxWaitSteps[j], slo: serving.workload.slo });
      const schedulerPredictor: SchedulerPredictorReport | undefined =
        setup && built && predictions
          ? {
              kind: setup.spec.kind,
              spec: setup.spec,
              training: { mode: setup.mode, ...(setup.offlineOn ? { offlineOn: setup.offlineOn } : {}), offlineTokens: built.report.offlineTokens },
              parameters,
              ...(built.report.fit ? { fit: built.report.fit } : {}),
              accuracy: predictions.accuracy(),
            }
          : undefined;
      results.push({
        policy: p.kind,
        label: `${label} · ${schedulerLabel(spec)}`,
        scheduler: spec.kind,
        ...(schedulerPredictor ? { schedulerPredictor } : {}),
        ...described,
        metrics,
        serving: servingMetrics,
        ...(scenario.timeline ? { timeline: counters.timeline } : {}),
      });
    });
  });

  if (serving?.table.reusedSequences) {
    const twins = results.filter((r) => (r.serving?.twinTokenPct ?? 0) >= 1).map((r) => `${r.label} ${r.serving!.twinTokenPct.toFixed(1)}%`);
    if (twins.length > 0) {
      warnings.push(
        `workload: decode tokens that ran next to a token of identical routing (requests reusing a sequence at the same position): ${twins.join(', ')}; ` +
          'this flatters routing-aware schedulers; a trace with as many sequences as requests avoids it',
      );
    }
  }

  return {
    moesimVersion: VERSION,
    scenario: { name: scenario.name, seed: scenario.seed, ...(ctx.file ? { file: ctx.file } : {}), resolved: scenario },
    model: model.name,
    hardware: hardware.name,
    trace: { path: 'path' in scenario.trace ? String(scenario.trace.path) : undefined, format: trace.source.format, provenance: trace.source.provenance, tokens: trace.tokens, sequences: trace.sequences.length },
    ...(serving
      ? {
          workload: {
            kind: 'serving' as const,
            description: serving.description,
            requests: serving.table.count,
            reusedSequences: serving.table.reusedSequences,
            cappedRequests: serving.table.capped,
          },
        }
      : {}),
    results,
    warnings,
  };
}
