/**
 * What `moesim replay` and `moesim validate` share before anything runs: the scenario loaded and
 * prepared (the trace checked against the model), the policies picked, the model scaled to the
 * machine, the backend opened. Every bad input is an InputError here, before any timing starts.
 */
import os from 'node:os';
import { loadScenarioFile, type LoadedScenario } from '../scenario/load.js';
import { prepareScenario } from '../sim/run.js';
import { policyLabel, setupPolicyPredictors, type PolicyPredictors, type PreparedScenario } from '../sim/world.js';
import { pickPolicyIndices } from '../scenario/pick.js';
import { staticBatches } from '../trace/steps.js';
import { truncateTrace } from '../trace/truncate.js';
import { InputError } from '../util/errors.js';
import { missHandlerInfo, missLowBit } from '../policies/miss/index.js';
import { lowBitDtypes } from './low-bit.js';
import { checkServingReplayable } from './serving-replay.js';
import { lastLevelCacheBytes, openBackend, parseBackendName, type Backend, type OpenBackendOptions } from './backends.js';
import { deviceExpertsNeeded } from './replay.js';
import { checkPoolBackend } from './disk-replay.js';
import { fmtSize, scaleModel, type ScaleRequest, type ScaledModel } from './scale.js';

export interface ReplaySetupOptions {
  scenarioFile: string;
  backend: string;
  /** Policies to replay, each a kind ("lru"), a label, or an index into the scenario's list. Default: all. */
  policies?: string[];
  scale?: ScaleRequest;
  /** Use only the first N tokens of the trace. */
  maxTokens?: number;
  backendOptions?: OpenBackendOptions;
}

export interface ReplaySetup {
  loaded: LoadedScenario;
  prep: PreparedScenario;
  policies: number[];
  scaled: ScaledModel;
  backend: Backend;
  /** The policies' predictors, set up (training traces loaded). */
  predictors: PolicyPredictors;
}

/** Indices of the policies named by index or label (a kind where only one policy has it); all when none are named. */
export function pickPolicies(loaded: LoadedScenario, names: string[] | undefined): number[] {
  const all = loaded.scenario.policies;
  if (names === undefined || names.length === 0) return all.map((_, i) => i);
  return pickPolicyIndices(all, all.map((p) => policyLabel(p, Number.NaN)), names, loaded.file);
}

/**
 * Replay executes every miss handler (fetch; cpu: the expert on ORT's CPU EP beside the device;
 * low-precision: an int4/int8 copy, miss-exec.ts). Refused by name: CPU-computed misses with
 * prefetching (which prefetches run while the CPU finishes would depend on durations: no single
 * order to execute), and lower-bit formats the replay does not build.
 */
export function checkReplayable(loaded: LoadedScenario, indices: number[]): void {
  for (const i of indices) {
    const p = loaded.scenario.policies[i];
    const onMiss = 'onMiss' in p ? p.onMiss : undefined;
    if (!onMiss) continue;
    if (missHandlerInfo(onMiss.kind).bypassesCache && 'prefetch' in p && p.prefetch) {
      throw new InputError(`${loaded.file}: policies[${i}].onMiss: replay and validate execute ${onMiss.kind} on a miss without prefetching; pick other policies with --policy`);
    }
    const lowBit = missLowBit(onMiss);
    if (lowBit !== undefined && !(lowBitDtypes as readonly string[]).includes(lowBit)) {
      throw new InputError(`${loaded.file}: policies[${i}].onMiss.dtype: replay and validate execute lower-bit copies as ${lowBitDtypes.join(' or ')}, not ${lowBit}; pick other policies with --policy`);
    }
  }
}

export async function setupReplay(o: ReplaySetupOptions): Promise<ReplaySetup> {
  parseBackendName(o.backend);
  const loaded = loadScenarioFile(o.scenarioFile);
  const { scenario } = loaded;
  const workload = scenario.workload;
  let prep = await prepareScenario(scenario, { baseDir: loaded.baseDir, file: loaded.file });
  if (o.maxTokens !== undefined && workload.kind !== 'serving') {
    if (!(Number.isInteger(o.maxTokens) && o.maxTokens > 0)) throw new InputError(`--max-tokens: expected a positive integer, got ${o.maxTokens}`);
    const trace = truncateTrace(prep.trace, o.maxTokens);
    const batching = { batchSize: workload.batchSize, promptTokens: workload.promptTokens };
    prep = { ...prep, trace, warnings: [...prep.warnings, ...trace.warnings.slice(prep.trace.warnings.length)], newSource: () => staticBatches(trace, batching), nextUse: undefined };
  }
  const policies = pickPolicies(loaded, o.policies);
  checkReplayable(loaded, policies);
  checkServingReplayable(loaded, policies, o.maxTokens);
  checkPoolBackend(prep, scenario, policies, o.backend);
  const scaled = scaleModel(prep.model, o.scale ?? {}, deviceExpertsNeeded(prep, scenario, policies));
  // A policy computing misses on the CPU: its worker thread holds a copy of the host weights (miss-exec.ts).
  const cpuCopy = policies.some((i) => {
    const p = scenario.policies[i];
    return 'onMiss' in p && p.onMiss !== undefined && missHandlerInfo(p.onMiss.kind).bypassesCache;
  });
  // The cpu backend's device copies, and the buffers warmed past its reuse threshold (replay.ts warmReplayDevice):
  // one threshold for the fp32 matrices, one for each of a lower-bit format's three buffers.
  const lowBitFormats = new Set(policies.map((i) => scenario.policies[i]).flatMap((p) => ('onMiss' in p && p.onMiss ? [missLowBit(p.onMiss)] : [])).filter((d) => d !== undefined));
  const warmBytes = o.backend === 'cpu' ? (o.backendOptions?.cpuReuseAfterBytes ?? 2 * lastLevelCacheBytes()) * (1 + 3 * lowBitFormats.size) + scaled.expertBytes : 0;
  const onHost = (o.backend === 'cpu' ? scaled.hostBytes + scaled.deviceBytes + warmBytes : scaled.hostBytes) + (cpuCopy ? scaled.hostBytes : 0);
  const free = os.freemem();
  if (onHost > 0.8 * free) {
    throw new InputError(
      `model ${scaled.model.name} needs ${fmtSize(onHost)} of host memory (experts${o.backend === 'cpu' ? ' and the cpu backend\'s device copies' : ''}), more than 80% of the ${fmtSize(free)} free; expected a larger --scale or smaller budgets`,
    );
  }
  const predictors = await setupPolicyPredictors(scenario, prep, { baseDir: loaded.baseDir, file: loaded.file });
  const backend = await openBackend(o.backend, o.backendOptions);
  return { loaded, prep, policies, scaled, backend, predictors };
}
