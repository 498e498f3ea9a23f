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
import type { Capacity, PolicySpec, Scenario } from '../scenario/schema.js';
import { loadTrace } from '../trace/load.js';
import { NO_EXPERT, type Trace } from '../trace/types.js';
import { createRng } from '../rng/rng.js';
import { InputError } from '../util/errors.js';
import { VERSION } from '../version.js';
import { CostModel } from './cost-model.js';
import { OffloadSim } from './offload-sim.js';
import { staticBatches, type StepSource } from './steps.js';
import { accessKeys } from './union.js';

export interface RunContext {
  /** Folder relative trace paths resolve against (the scenario file's folder). */
  baseDir: string;
  /** The scenario file, for messages and the result's provenance. */
  file?: string;
}

const GiB = 2 ** 30;
const gib = (b: number) => `${(b / GiB).toFixed(2)} GiB`;

/** Checks the trace against the model and returns it with the model's expert count. */
export function fitTraceToModel(trace: Trace, model: MoeModel, where: string): Trace {
  const L = numMoeLayers(model);
  if (trace.numLayers !== L) {
    throw new InputError(`${where}: the trace has ${trace.numLayers} MoE layers, model ${model.name} has ${L}; expected a trace recorded on this model`);
  }
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

/** Human label for a policy: "lru, 4/layer". */
export function policyLabel(p: PolicySpec, capacityExperts: number): string {
  if (p.label) return p.label;
  if (p.kind === 'none' || p.kind === 'all-on-gpu') return p.kind;
  const c = p.cache;
  const cap = 'perLayer' in c ? `${c.perLayer}/layer` : 'experts' in c ? `${c.experts} experts` : 'hbm' in c ? `HBM, ${capacityExperts} experts` : `${capacityExperts} experts`;
  return `${p.kind}, ${cap}`;
}

export interface CachePlan {
  perLayer: boolean;
  capacityPerScope: number;
  capacityExperts: number;
}

function planCapacity(p: PolicySpec, i: number, model: MoeModel, cost: CostModel, residentBytes: number, stagingReserveBytes: number, hbmBytes: number, warnings: string[]): CachePlan {
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
  cost: CostModel;
  warnings: string[];
  /** A fresh step source over the trace (the scenario's batching). */
  newSource: () => StepSource;
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
  const loaded = await loadTrace(scenario.trace, ctx.baseDir, rng.fork('trace'));
  const trace = fitTraceToModel(loaded, model, where);
  const warnings = [...trace.warnings];
  if (trace.topK !== model.topK) warnings.push(`trace top-k ${trace.topK} differs from model ${model.name}'s ${model.topK}; the trace's routing is simulated as recorded`);

  const cost = new CostModel(model, hardware, scenario.precision);
  const E = model.numExperts;
  const L = trace.numLayers;
  const batching = { batchSize: scenario.workload.batchSize, promptTokens: scenario.workload.promptTokens };
  const newSource = () => staticBatches(trace, batching);

  // KV cache at its peak: the largest batch group's sequences at full length.
  let peakKvTokens = 0;
  for (let g = 0; g < trace.sequences.length; g += batching.batchSize) {
    let sum = 0;
    for (let s = g; s < Math.min(g + batching.batchSize, trace.sequences.length); s++) sum += trace.sequences[s].length;
    peakKvTokens = Math.max(peakKvTokens, sum);
  }
  const residentBytes = cost.residentWeightBytes + peakKvTokens * cost.kvBytesPerToken;
  const allOnGpuBytes = residentBytes + L * E * cost.expertBytes;
  const hbm = hardware.gpu.hbmBytes;
  if (residentBytes > hbm) {
    throw new InputError(`hardware: model ${model.name}'s resident weights and KV cache need ${gib(residentBytes)}, more than the GPU's ${gib(hbm)}; expected a larger GPU or lower precision.dense`);
  }
  const maxUnion = Math.min(E, newSource().maxTokens * trace.topK);
  return { model, hardware, trace, cost, warnings, newSource, residentBytes, allOnGpuBytes, maxUnion };
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
export function createPolicyCache(prep: PreparedScenario, p: PolicySpec, i: number, cost: CostModel = prep.cost): PolicyCache {
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

export async function runScenario(scenario: Scenario, ctx: RunContext): Promise<RunResult> {
  const prep = await prepareScenario(scenario, ctx);
  const { model, hardware, trace, cost, warnings, residentBytes, allOnGpuBytes } = prep;
  const hbm = hardware.gpu.hbmBytes;

  const results: PolicyResult[] = [];
  scenario.policies.forEach((p, i) => {
    const { plan, cache, label } = createPolicyCache(prep, p, i);
    const sim = new OffloadSim(trace, cost, cache, prep.newSource(), scenario.timeline);
    const counters = sim.run();
    const metrics = summarize(counters, {
      residentBytes,
      expertCacheBytes: plan.capacityExperts * cost.expertBytes,
      stagingBytes: counters.peakStaging * cost.expertBytes,
      allOnGpuBytes,
      cacheCapacityExperts: plan.capacityExperts,
    });
    if (p.kind === 'all-on-gpu' && metrics.gpuMemoryBytes > hbm) {
      metrics.fitsInHbm = false;
      warnings.push(`${label}: needs ${gib(metrics.gpuMemoryBytes)}, more than the GPU's ${gib(hbm)}; shown as a bound only`);
    }
    results.push({ policy: p.kind, label, metrics, ...(scenario.timeline ? { timeline: counters.timeline } : {}) });
  });

  return {
    moesimVersion: VERSION,
    scenario: { name: scenario.name, seed: scenario.seed, ...(ctx.file ? { file: ctx.file } : {}), resolved: scenario },
    model: model.name,
    hardware: hardware.name,
    trace: { path: 'path' in scenario.trace ? String(scenario.trace.path) : undefined, format: trace.source.format, provenance: trace.source.provenance, tokens: trace.tokens, sequences: trace.sequences.length },
    results,
    warnings,
  };
}
