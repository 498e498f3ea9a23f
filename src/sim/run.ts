/**
 * Scenario -> RunResult: resolve the model and hardware, load the trace, then simulate each policy
 * on the same trace, hardware and workload. No file writing, no clock reading: the caller (CLI,
 * sweep worker, tests) decides what to do with the result. A policy's world (cache, prefetcher,
 * miss handler) is built in world.ts, which replay and validate share.
 */
import { resolveHardware } from '../hardware/resolve.js';
import { resolveModel } from '../model/resolve.js';
import type { PolicyResult, RunResult } from '../metrics/types.js';
import { summarize } from '../metrics/summarize.js';
import { cachePolicyInfo } from '../policies/index.js';
import type { PolicySpec, PredictorSpec, Scenario } from '../scenario/schema.js';
import { loadTrace } from '../trace/load.js';
import { createRng } from '../rng/rng.js';
import { addTierBounds, type TierBoundOptions } from './tier-bounds.js';
import { InputError } from '../util/errors.js';
import { VERSION } from '../version.js';
import { RooflineCosts } from '../timing/roofline.js';
import { semanticCostModel } from '../timing/execution-semantics.js';
import { scenarioSemantics } from '../systems/catalog.js';
import { OffloadSim } from './offload-sim.js';
import { missHandlerInfo, missLowBit } from '../policies/miss/index.js';
import { accessKeys } from '../trace/union.js';
import type { ExpertCache } from '../policies/expert-cache.js';
import { createPolicyCache } from './world.js';
import { fillPool, planTiers, setupTiers, tierMetrics, type TierPlan } from './tier-plan.js';
import type { PredictorReport, PublishedComparison, SchedulerPredictorReport } from '../metrics/types.js';
import { publishedAccuracy, systemOfStandIn, type PublishedSystem } from '../predictors/published.js';
import { prefetchInfo, type PrefetchInfo } from '../policies/prefetch/index.js';
import type { PrefetchKind } from '../policies/spec.js';
import type { Evaluation } from '../predictors/evaluate.js';
import { evaluatePredictor } from '../predictors/evaluate.js';
import { staticBatches, type StepSource } from '../trace/steps.js';
import { countedSource } from './progress.js';
import { planServing, schedulerLabel, servingSource } from '../workload/plan.js';
import { summarizeServing } from '../metrics/serving.js';
import { requestTrace } from '../workload/request-trace.js';
import { recordedOrdinals } from '../trace/layer-subset.js';
import { numMoeLayers } from '../model/derived.js';
import { recordedLayersCosts } from '../timing/recorded-layers.js';
import { PredictedPaths } from '../scheduling/predicted-paths.js';
import { mergeWarnings, policyThreads, runShares, shares, type PolicyOutcome, type ShareTask } from './policy-pool.js';
import {
  buildPredictor,
  buildWorld,
  fitTraceToModel,
  predictorSetup,
  setupPolicyPredictors,
  type PolicyPredictors,
  type PredictorSetup,
  type PreparedScenario,
  type World,
} from './world.js';

// The world's API, where it was before (callers import it from here or from world.ts).
export {
  buildWorld,
  createPolicyCache,
  fitTraceToModel,
  policyLabel,
  policyOptions,
  predictorOf,
  setupPolicyPredictors,
  type CachePlan,
  type PolicyCache,
  type PolicyPredictors,
  type PreparedScenario,
  type World,
} from './world.js';

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
  /**
   * Threads for the policies (./policy-pool.ts): a number, or 'auto' (the core count, when the
   * trace is large enough to pay for a worker). Absent: one thread. Never changes the result.
   */
  jobs?: number | 'auto';
  /**
   * Three-tier policies: attach per-tier Belady and the joint two-tier optimum (./tier-bounds.ts) to
   * each result's tiers (with the LP's size limit, if given). `moesim run` sets it; it costs up to
   * a HiGHS solve per GPU capacity.
   */
  tierBounds?: boolean | TierBoundOptions;
}

const GiB = 2 ** 30;
const gib = (b: number) => `${(b / GiB).toFixed(2)} GiB`;

/** Resolve the model and hardware, load the trace and check it against the model, size the memory. */
export async function prepareScenario(scenario: Scenario, ctx: RunContext): Promise<PreparedScenario> {
  const model = resolveModel(scenario.model, 'model');
  const hardware = resolveHardware(scenario.hardware, 'hardware', ctx.baseDir);
  const rng = createRng(scenario.seed);
  const where = scenario.trace && 'path' in scenario.trace ? String(scenario.trace.path) : 'trace';
  const loaded = await (ctx.loadTrace ?? loadTrace)(scenario.trace, ctx.baseDir, rng.fork('trace'), { modelExperts: model.numExperts, modelTopK: model.topK, modelHiddenLayers: model.numLayers });
  const trace = fitTraceToModel(loaded, model, where);
  const warnings = [...trace.warnings];
  if (trace.topK !== model.topK) warnings.push(`trace top-k ${trace.topK} differs from model ${model.name}'s ${model.topK}; the trace's routing is simulated as recorded`);

  // Seam (issue 12): a `system:` or `execution:` adds a runtime's execution semantics to the roofline costs.
  const semantics = scenarioSemantics(scenario.system, scenario.execution, model);
  let cost = semantics ? semanticCostModel(model, hardware, scenario.precision, semantics) : new RooflineCosts(model, hardware, scenario.precision);
  // missingLayers: recorded (issue 14): the trace's layers only, the others' time folded into the costs
  const ords = trace.numLayers !== numMoeLayers(model) ? recordedOrdinals(trace, model.moeLayers) : undefined;
  if (Array.isArray(ords)) cost = recordedLayersCosts(cost, ords, numMoeLayers(model), trace.topK, model.numExperts);
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

/**
 * A run: prepare the scenario, set up the predictors, then per policy build its world, simulate it
 * (per scheduler, for a serving workload) and summarize; the result is plain JSON.
 */
export async function runScenario(scenario: Scenario, ctx: RunContext): Promise<RunResult> {
  const prep = await prepareScenario(scenario, ctx);
  const predictors = await setupPolicyPredictors(scenario, prep, ctx);
  const schedulers = await setupSchedulerPredictors(prep, ctx);
  const reportOf = predictorReports(scenario, prep, predictors, ctx.clock);
  const perPolicy = prep.serving ? prep.serving.workload.schedulers.length : 1;
  const runs = scenario.policies.length * perPolicy;
  const progress: RunProgress = { report: ctx.progress, runs, done: 0, tokens: prep.trace.tokens };
  ctx.progress?.(0, runs * prep.trace.tokens);
  const { trace } = prep;
  const threads = policyThreads(ctx.jobs, scenario.policies.length, trace.tokens * trace.numLayers * trace.topK * perPolicy);
  let results: PolicyResult[];
  if (threads <= 1) {
    results = scenario.policies.flatMap((_, i) => runPolicy(scenario, prep, i, predictors, schedulers, reportOf, progress));
  } else {
    // This thread runs the first share while the workers run the others (./policy-pool.ts).
    const [mine, ...theirs] = shares(scenario.policies.length, threads);
    const tasks = theirs.map((indices): ShareTask => ({ scenario, baseDir: ctx.baseDir, file: ctx.file, timings: ctx.clock !== undefined, indices }));
    const elsewhere = runShares(tasks);
    // A rejection is awaited below; until then it is not unhandled.
    elsewhere.catch(() => {});
    const own = isolatedPolicies(scenario, prep, mine, predictors, schedulers, reportOf, progress);
    const outcomes = [...own, ...(await elsewhere).flat()];
    progress.done = runs;
    ctx.progress?.(runs * trace.tokens, runs * trace.tokens);
    mergeWarnings(prep.warnings, outcomes.map((o) => o.warnings));
    results = outcomes.flatMap((o) => o.results);
  }
  warnTwins(prep, results);
  if (ctx.tierBounds) await addTierBounds(scenario, prep, results, ctx.tierBounds === true ? {} : ctx.tierBounds);
  return runResult(scenario, ctx, prep, results);
}

/**
 * Prepare the scenario and run only the policies `indices`: a worker's share of a run on several
 * threads (./policy-worker.ts). Preparing is deterministic, so it is the same as the caller's.
 */
export async function runPolicyShare(scenario: Scenario, ctx: RunContext, indices: number[]): Promise<PolicyOutcome[]> {
  const prep = await prepareScenario(scenario, ctx);
  const predictors = await setupPolicyPredictors(scenario, prep, ctx);
  const schedulers = await setupSchedulerPredictors(prep, ctx);
  const reportOf = predictorReports(scenario, prep, predictors, ctx.clock);
  const perPolicy = prep.serving ? prep.serving.workload.schedulers.length : 1;
  const progress: RunProgress = { runs: indices.length * perPolicy, done: 0, tokens: prep.trace.tokens };
  return isolatedPolicies(scenario, prep, indices, predictors, schedulers, reportOf, progress);
}

/**
 * Run policies each as if first after the preparation: the warnings a policy adds are taken out
 * and returned with its results, so that shares run on different threads merge into the
 * sequential run's warnings (policy-pool.ts mergeWarnings). The warnings array is edited in place:
 * the closures of the preparation hold it.
 */
function isolatedPolicies(
  scenario: Scenario,
  prep: PreparedScenario,
  indices: number[],
  predictors: PolicyPredictors,
  schedulers: SchedulerPredictors,
  reportOf: (spec: PredictorSpec) => PredictorReport,
  progress: RunProgress,
): PolicyOutcome[] {
  const { warnings } = prep;
  const base = warnings.slice();
  const out: PolicyOutcome[] = [];
  for (const i of indices) {
    const results = runPolicy(scenario, prep, i, predictors, schedulers, reportOf, progress);
    out.push({ results, warnings: warnings.slice(base.length) });
    warnings.length = base.length;
  }
  return out;
}

/** Token schedulers' predictors (expertflow's `predictor`), set up once per scheduler, and the requests' own routing they predict. */
interface SchedulerPredictors {
  setups: (PredictorSetup | undefined)[];
  requests?: ReturnType<typeof requestTrace>;
}

async function setupSchedulerPredictors(prep: PreparedScenario, ctx: RunContext): Promise<SchedulerPredictors> {
  const { serving, trace, model, rng, warnings } = prep;
  // Built fresh per run (online ones learn from the run), on the requests' own routing (request-trace.ts).
  const setups: (PredictorSetup | undefined)[] = [];
  for (const [j, s] of (serving?.workload.schedulers ?? []).entries()) {
    setups.push('predictor' in s && s.predictor ? await predictorSetup(s.predictor, `workload.schedulers[${j}].predictor`, trace, model, ctx, rng, warnings, true) : undefined);
  }
  const requests = serving && setups.some((s) => s) ? requestTrace(trace, serving.table) : undefined;
  return { setups, requests };
}

/** A predictor's report (trained and evaluated once per distinct spec, when first asked). */
function predictorReports(scenario: Scenario, prep: PreparedScenario, predictors: PolicyPredictors, clock?: () => number): (spec: PredictorSpec) => PredictorReport {
  const { trace, rng } = prep;
  const E = prep.model.numExperts;
  const reports = new Map<string, PredictorReport>();
  return (spec) => {
    const key = JSON.stringify(spec);
    let r = reports.get(key);
    if (r) return r;
    const setup = predictors.setups.get(key)!;
    const built = buildPredictor(setup, trace, E, rng, clock);
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
    const published = publishedComparison(spec, scenario, evaluation);
    if (published) r.published = published;
    reports.set(key, r);
    return r;
  };
}

/**
 * The paper's accuracy next to the one measured here in the paper's metric, for a predictor that
 * stands for a system's: path (ExpertFlow), activation-matrix (MoE-Infinity), affinity in a
 * mixtral-offloading scenario or next to a speculative prefetch (the stand-in of its guess), the
 * oracle of a pregated prefetch (Pre-gated MoE's pre-gate), published (its `of`).
 */
function publishedComparison(spec: PredictorSpec, scenario: Scenario, evaluation: Evaluation): PublishedComparison | undefined {
  const system = publishedSystemOf(spec, scenario);
  if (!system) return undefined;
  const p = publishedAccuracy(system);
  const d1 = evaluation.perLookahead.find((a) => a.lookahead === 1);
  const [measuredAs, measured] =
    p.metric === 'before-pass-layer-recall'
      ? ['mean over layers of the recall of each layer, predicted before the pass (evaluation.beforePass.layerMeanRecall)', evaluation.beforePass.layerMeanRecall]
      : p.metric === 'lookahead-recall'
        ? ['recall of the top-k set one layer ahead (evaluation.perLookahead d = 1)', d1 && d1.samples > 0 ? d1.recall : null]
        : p.metric === 'by-construction'
          ? ['recall one layer ahead (evaluation.perLookahead d = 1)', d1 && d1.samples > 0 ? d1.recall : null]
          : ['the paper defines no accuracy metric', null];
  return {
    system,
    paper: p.paper,
    where: p.where,
    metric: p.metric,
    measuredAs,
    measured,
    value: p.value,
    ...(p.bound ? { bound: p.bound } : {}),
    setting: p.setting,
    note: p.note,
  };
}

/**
 * A token scheduler's path predictor against ExpertFlow's paper: its recall over (token, MoE
 * layer) pairs, each path predicted before the token's pass. The paper's B_acc ORs a batch's paths
 * per layer and averages the layers' recalls; this pools single tokens' paths instead.
 */
function schedulerPublished(spec: PredictorSpec, recall: number): PublishedComparison | undefined {
  const system: PublishedSystem | undefined = 'of' in spec ? spec.of : systemOfStandIn(spec.kind) === 'expertflow' ? 'expertflow' : undefined;
  if (!system) return undefined;
  const p = publishedAccuracy(system);
  return {
    system,
    paper: p.paper,
    where: p.where,
    metric: p.metric,
    measuredAs: "recall of each decode token's predicted path over (token, MoE layer) pairs, pooled (the paper ORs a batch's paths per layer and averages the layers)",
    measured: recall,
    value: p.value,
    ...(p.bound ? { bound: p.bound } : {}),
    setting: p.setting,
    note: p.note,
  };
}

/**
 * The system whose paper's accuracy a predictor is compared with: a `published` predictor's `of`;
 * the predictor a prefetch of the scenario implies (pregated's pre-gate, an oracle at its accuracy)
 * or takes by default (speculative's affinity: mixtral-offloading's guess), also in a
 * mixtral-offloading system scenario; else the system the predictor kind stands in for (path:
 * ExpertFlow, activation-matrix: MoE-Infinity). Every question is a field of a table row.
 */
function publishedSystemOf(spec: PredictorSpec, scenario: Scenario): PublishedSystem | undefined {
  if ('of' in spec) return spec.of;
  const same = (a: object, b: object) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
  for (const p of scenario.policies) {
    const pf = 'prefetch' in p ? p.prefetch : undefined;
    if (!pf) continue;
    const info = prefetchInfo(pf.kind) as PrefetchInfo<PrefetchKind>;
    if (!info.paperSystem) continue;
    const own = info.ownPredictor?.spec(pf as never);
    if (own ? same(own, spec) : info.defaultPredictor === spec.kind) return info.paperSystem;
  }
  const standIn = systemOfStandIn(spec.kind);
  if (standIn === 'mixtral-offloading') return scenario.system?.kind === 'mixtral-offloading' ? standIn : undefined;
  return standIn;
}

/** A serving workload's order depends on simulated time: offline policies and trace-following prefetchers cannot run on it. */
function checkServable(p: PolicySpec, i: number): void {
  if (cachePolicyInfo(p.kind).offline) {
    throw new InputError(
      `policies[${i}]: ${p.kind} needs the whole access order before the run, but a serving workload's order depends on simulated time (arrivals, step times); use it with a batch workload`,
    );
  }
  if ('prefetch' in p && p.prefetch) {
    throw new InputError(
      `policies[${i}].prefetch: prefetching is not supported with serving workloads yet (its predictors follow trace sequences, which serving requests reuse and enter mid-way); use a batch workload, or a serving scheduler with a predictor`,
    );
  }
}

/** Tokens simulated over all of a run's policies, for RunContext.progress. */
interface RunProgress {
  report?: (done: number, total: number) => void;
  runs: number;
  done: number;
  tokens: number;
}

/** What a Belady host tier needs (tier-plan.ts setupTiers). */
type HostBelady = { allowed: string | true; gpuKeys: () => Int32Array; freshGpuCache: () => ExpertCache };

/** Simulates one world on one step source and summarizes it. */
function simulateWorld(scenario: Scenario, prep: PreparedScenario, p: PolicySpec, world: World, source: StepSource, tierPlan: TierPlan, hostBelady: HostBelady, progress: RunProgress) {
  const { trace, cost, warnings, residentBytes, allOnGpuBytes, hardware } = prep;
  const { plan, cache, options, label } = world;
  const hbm = hardware.gpu.hbmBytes;
  // Issue 16: host DRAM and the SSD as tiers where the machine has one (tier-plan.ts).
  const tiers = setupTiers(tierPlan, hardware, cost, { numLayers: trace.numLayers, numExperts: prep.model.numExperts }, hostBelady);
  if (tiers.host) options.tiers = tiers.host;
  fillPool(tierPlan.poolHoldsAll, cachePolicyInfo(p.kind).fillsOnMiss, cache, trace.numLayers * prep.model.numExperts);
  if (tiers.direct) options.linkIsStorage = true;
  const total = progress.runs * progress.tokens;
  const base = progress.done++ * progress.tokens;
  const counted = progress.report && !prep.serving ? countedSource(source, (n) => progress.report!(base + Math.min(n, progress.tokens), total)) : source;
  const counters = new OffloadSim(trace, tiers.cost, cache, counted, scenario.timeline, options).run();
  progress.report?.(progress.done * progress.tokens, total);
  const reportTiers = hardware.storage !== undefined || hardware.unified === true || scenario.hostTier !== undefined;
  const tierResult = reportTiers ? tierMetrics(tierPlan, hardware, counters, tiers.host) : undefined;
  const metrics = summarize(
    counters,
    {
      residentBytes,
      expertCacheBytes: plan.capacityExperts * cost.expertBytes,
      stagingBytes: counters.peakStaging * cost.expertBytes,
      allOnGpuBytes,
      cacheCapacityExperts: plan.capacityExperts,
    },
    { prefetching: options.prefetch !== undefined, storageTier: tiers.host !== undefined },
  );
  if (cachePolicyInfo(p.kind).capacity === 'all' && metrics.gpuMemoryBytes > hbm) {
    metrics.fitsInHbm = false;
    const w = `${label}: needs ${gib(metrics.gpuMemoryBytes)}, more than the GPU's ${gib(hbm)}; shown as a bound only`;
    if (!warnings.includes(w)) warnings.push(w);
  }
  return { counters, metrics, tierResult };
}

/** The results of `scenario.policies[i]`: one run (batch), or one per scheduler (serving). */
function runPolicy(
  scenario: Scenario,
  prep: PreparedScenario,
  i: number,
  predictors: PolicyPredictors,
  schedulers: SchedulerPredictors,
  reportOf: (spec: PredictorSpec) => PredictorReport,
  progress: RunProgress,
): PolicyResult[] {
  const { trace, rng, serving } = prep;
  const E = prep.model.numExperts;
  const p = scenario.policies[i];
  if (serving) checkServable(p, i);
  // The first world is built before the report, so that its capacity is checked first.
  let first: World | undefined = buildWorld(prep, scenario, i, predictors);
  const { label } = first;
  /** The first call returns the world made above (its capacity checked); later calls fresh ones. */
  const newWorld = (): World => {
    const w = first ?? buildWorld(prep, scenario, i, predictors);
    first = undefined;
    return w;
  };
  const pspec = predictors.specs[i];
  const pf = 'prefetch' in p ? p.prefetch : undefined;
  const onMiss = 'onMiss' in p ? p.onMiss : undefined;
  // Issue 16: host memory checked; host DRAM and the SSD as tiers where the machine has one.
  const tierPlan = planTiers(prep.hardware, p, i, { numLayers: trace.numLayers, numExperts: E }, prep.cost.expertBytes, first.plan.capacityExperts, scenario.hostTier, prep.streaming !== undefined);
  // ssd-direct (unified memory, GPUDirect): no host tier holds what the GPU misses, so a miss computed on
  // the CPU or from a lower-bit copy would read memory the SSD has not filled, and no byte be charged.
  if (tierPlan.mode === 'ssd-direct' && onMiss && (missHandlerInfo(onMiss.kind).bypassesCache || missLowBit(onMiss) !== undefined)) {
    throw new InputError(
      `policies[${i}].onMiss: ${onMiss.kind} is not modelled where the GPU fetches its misses from the SSD itself (${prep.hardware.unified ? 'unified memory' : 'hostTier.gpuDirect'}): no host tier holds the experts it would compute from, and the SSD read is not charged; expected onMiss fetch, or a host tier in front of the SSD`,
    );
  }
  const hostBelady: HostBelady = {
    allowed: !serving && !pf && (!onMiss || missHandlerInfo(onMiss.kind).fetchesOnly) ? true : 'it runs with a batch workload, fetch on miss and no prefetching',
    gpuKeys: () => accessKeys(trace, prep.newSource(), E),
    freshGpuCache: () => createPolicyCache({ ...prep, warnings: [] }, p, i).cache,
  };
  const described = {
    ...(pf ? { prefetch: pf.kind } : {}),
    ...(cachePolicyInfo(p.kind).capacity !== 'all' ? { onMiss: onMiss?.kind ?? 'fetch' } : {}),
    ...(pspec ? { predictor: reportOf(pspec) } : {}),
  };
  if (!serving) {
    const { counters, metrics, tierResult } = simulateWorld(scenario, prep, p, newWorld(), prep.newSource(), tierPlan, hostBelady, progress);
    return [{ policy: p.kind, label, ...described, metrics, ...(scenario.timeline ? { timeline: counters.timeline } : {}), ...(tierResult ? { tiers: tierResult } : {}) }];
  }
  return serving.workload.schedulers.map((spec, j): PolicyResult => {
    const world = newWorld();
    const setup = schedulers.setups[j];
    const built = setup ? buildPredictor(setup, trace, E, rng) : undefined;
    const parameters = built?.predictor.parameterCount() ?? 0;
    const predictions = built ? new PredictedPaths(built.predictor, built.online, schedulers.requests!, serving.table.firstToken, E) : undefined;
    const source = servingSource(serving, trace, E, j, world.cache.resident, rng.fork('workload'), predictions);
    const { counters, metrics, tierResult } = simulateWorld(scenario, prep, p, world, source, tierPlan, hostBelady, progress);
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
    if (schedulerPredictor) {
      const published = schedulerPublished(setup!.spec, schedulerPredictor.accuracy.recall);
      if (published) schedulerPredictor.published = published;
    }
    return {
      policy: p.kind,
      label: `${label} · ${schedulerLabel(spec)}`,
      scheduler: spec.kind,
      ...(schedulerPredictor ? { schedulerPredictor } : {}),
      ...described,
      metrics,
      serving: servingMetrics,
      ...(scenario.timeline ? { timeline: counters.timeline } : {}),
      ...(tierResult ? { tiers: tierResult } : {}),
    };
  });
}

/** Serving requests that reuse a sequence can run next to their twin: said when it happened. */
function warnTwins(prep: PreparedScenario, results: PolicyResult[]): void {
  if (!prep.serving?.table.reusedSequences) return;
  const twins = results.filter((r) => (r.serving?.twinTokenPct ?? 0) >= 1).map((r) => `${r.label} ${r.serving!.twinTokenPct.toFixed(1)}%`);
  if (twins.length > 0) {
    prep.warnings.push(
      `workload: decode tokens that ran next to a token of identical routing (requests reusing a sequence at the same position): ${twins.join(', ')}; ` +
        'this flatters routing-aware schedulers; a trace with as many sequences as requests avoids it',
    );
  }
}

function runResult(scenario: Scenario, ctx: RunContext, prep: PreparedScenario, results: PolicyResult[]): RunResult {
  const { model, hardware, trace, serving, warnings } = prep;
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
