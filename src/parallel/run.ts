/**
 * A scenario with `parallel:` -> ParallelRunResult: resolve the model, one GPU's hardware and the
 * fabric, load the trace, split it into a training and an evaluation part, compute every placement
 * on the training part, and simulate every (cache policy, placement) pair on the evaluation part.
 * No file writing, no clock reading: same scenario and seed, same result.
 */
import { resolveHardware } from '../hardware/resolve.js';
import type { Hardware } from '../hardware/types.js';
import { interconnectPresets, machinePresets, type Fabric } from '../hardware/interconnect.js';
import { resolveModel } from '../model/resolve.js';
import { createRng } from '../rng/rng.js';
import type { PlacementSpec, PolicySpec, Scenario } from '../scenario/schema.js';
import { fitTraceToModel, type RunContext } from '../sim/run.js';
import { loadTrace } from '../trace/load.js';
import { NO_EXPERT, type Trace } from '../trace/types.js';
import { bytesSec, RooflineCosts, tileKvShare } from '../timing/roofline.js';
import { semanticCostModel } from '../timing/execution-semantics.js';
import { scenarioSemantics } from '../systems/catalog.js';
import { CollectiveCosts } from '../timing/collectives.js';
import { ExpertCache } from '../policies/expert-cache.js';
import { cachePolicies, cachePolicyInfo } from '../policies/index.js';
import { missHandlerInfo, missLowBit } from '../policies/miss/index.js';
import { InputError } from '../util/errors.js';
import { VERSION } from '../version.js';
import { newCounters } from '../metrics/counters.js';
import { summarizeServing } from '../metrics/serving.js';
import type { ServingMetrics } from '../metrics/types.js';
import { planServing, schedulerLabel, servingSource, type ServingPlan } from '../workload/plan.js';
import type { ServingWorkload } from '../workload/schema.js';
import { EpServingSteps } from './serving.js';
import { buildPredictor, predictorSetup, type PredictorSetup } from '../sim/world.js';
import { requestTrace } from '../workload/request-trace.js';
import { PredictedPaths } from '../scheduling/predicted-paths.js';
import { simulateEp, type EpSpan, type EpStep } from './ep-sim.js';
import { createPlacement, placementLabel } from './placement/index.js';
import { placementObjective } from './placement/objective.js';
import { routeLoad } from './placement/stats.js';
import { ownersOf, type Placement, type PlacementContext } from './placement/types.js';

export interface ParallelLayerRow {
  layer: number;
  imbalance: number;
  tokenImbalance: number;
  collectiveBytes: number;
  collectiveSec: number;
  crossRoutes: number;
  crossFraction: number;
}

export interface ParallelRun {
  label: string;
  placement: PlacementSpec['kind'];
  policy: string;
  /** Serving workloads: the token scheduler's label. */
  scheduler?: string;
  note: string;
  /** Expert slots per GPU per layer. */
  slotsPerGpu: number;
  steps: number;
  tokens: number;
  totalSec: number;
  /** Batch: mean and p99 step time. Serving: the requests' TPOT (serving.tpotMs). */
  tpotMeanMs: number;
  tpotP99Ms: number;
  /** Batch: tokens per second. Serving: output tokens per second of makespan. */
  throughputTokPerSec: number;
  /** Serving workloads: per-request TTFT, TPOT, queueing, end-to-end (metrics/serving.ts, as on one GPU). */
  serving?: ServingMetrics;
  /** Mean over layers of the per-layer expert-time imbalance (max / mean over GPUs; 1 = balanced). */
  meanImbalance: number;
  meanTokenImbalance: number;
  collectiveBytes: number;
  collectiveSec: number;
  /** Share of routes (layers 1..L-1) that go to a GPU holding none of the token's previous-layer experts. */
  crossFraction: number;
  /**
   * ExFlow's routing cost (YJHMITWEB/ExFlow@a1b5c455 solve_affinity.py calculate_cost): per
   * evaluation token, the layer transitions whose top-1 expert (trace slot 0, the larger gate weight)
   * sits on another GPU than the previous layer's, scaled to L - 1 transitions, averaged over tokens.
   * Static placements; a replicated expert counts at its first replica.
   */
  top1Hops?: number;
  /** The placement objective (placement/objective.ts) on the training and the evaluation tokens; single-replica static placements. */
  objective?: { trainSec: number; evalSec: number; roundRobinTrainSec: number; roundRobinEvalSec: number };
  migrations: number;
  migrationSec: number;
  migrationBytes: number;
  /** Serving with prefill streaming and an expert cache: bytes streamed and those no token chose. */
  streaming?: { streamedBytes: number; wastedBytes: number; streamedSteps: number };
  layers: ParallelLayerRow[];
  gpus: Array<{ gpu: number; busySec: number; expertSec: number; hits: number; misses: number; fetchBytes: number }>;
  /** Expert GPU of each (layer, expert) at the start (first replica), for inspection. */
  owners: number[][];
  timeline?: EpSpan[];
}

export interface ParallelRunResult {
  kind: 'parallel';
  moesimVersion: string;
  scenario: { name: string; file?: string; seed: string | number };
  model: string;
  hardware: string;
  fabric: { gpus: number; gpusPerNode: number; nodes: number; intraNode: string; interNode: string; allToAll: string; attention: string };
  trace: { source: string; tokens: number; trainTokens: number; evalTokens: number; layers: number; experts: number; topK: number };
  /** Batch: tokens per decode step. Serving: decode tokens per micro-batch at most. */
  batchTokens: number;
  /** Serving workloads: the workload as planned (planServing's description). */
  workload?: string;
  /** parallel.train.inSample: evaluated on the training tokens themselves. */
  inSample?: boolean;
  prices: { computeSecPerToken: number; crossSecPerToken: number };
  warnings: string[];
  runs: ParallelRun[];
}

const percentile = (xs: number[], p: number): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
};

/** The fabric the scenario's `parallel:` describes. */
export function resolveFabric(p: NonNullable<Scenario['parallel']>): Fabric & { intraKey: string; interKey: string; nodes: number } {
  const m = p.machine !== undefined ? machinePresets[p.machine] : undefined;
  const nodes = p.nodes;
  const gpusPerNode = p.gpusPerNode ?? (p.gpus !== undefined ? p.gpus / nodes : m?.gpusPerNode);
  if (gpusPerNode === undefined) throw new InputError('parallel: give gpus, gpusPerNode or a machine');
  if (!Number.isInteger(gpusPerNode)) throw new InputError(`parallel.gpus: ${p.gpus} GPUs do not split evenly over ${nodes} nodes`);
  const gpus = p.gpus ?? gpusPerNode * nodes;
  if (gpus !== gpusPerNode * nodes) throw new InputError(`parallel.gpus: ${gpus}, expected gpusPerNode x nodes = ${gpusPerNode * nodes}`);
  if (m && gpusPerNode > m.gpusPerNode) throw new InputError(`parallel.gpus: machine ${p.machine} has ${m.gpusPerNode} GPUs per node, not ${gpusPerNode}`);
  const intraKey = p.interconnect ?? m?.intraNode;
  if (intraKey === undefined) throw new InputError('parallel.interconnect: expected an interconnect preset (or a machine)');
  const interKey = p.interNode ?? m?.interNode ?? 'ib-ndr';
  return { gpus, gpusPerNode, nodes, intra: interconnectPresets[intraKey], inter: interconnectPresets[interKey], intraKey, interKey };
}

/** Steps of `batch` tokens over tokens [from, to), each token attending to its prompt and earlier tokens. */
export function decodeSteps(trace: Trace, from: number, to: number, batch: number, promptTokens: number): EpStep[] {
  const pos = new Int32Array(trace.tokens);
  for (const s of trace.sequences) for (let i = 0; i < s.length; i++) pos[s.start + i] = i;
  const steps: EpStep[] = [];
  for (let t = from; t < to; t += batch) {
    const n = Math.min(batch, to - t);
    const tokens = new Int32Array(n);
    const context = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      tokens[i] = t + i;
      context[i] = promptTokens + pos[t + i] + 1;
    }
    steps.push({ tokens, context, kv: context });
  }
  return steps;
}

/**
 * Prefill passes over tokens [from, to), `batch` trace tokens a pass (parallel.prefill): each token at
 * its position in its trace sequence after `promptTokens` cached ones, the tokens of one sequence in a
 * pass one chunk of its prefill (tileKvShare over the chunk, the sequence's earlier tokens already
 * cached, as the serving prefill pass); every trace token enters the pass `copies` times (copy c of
 * token t split over replicas as key t x copies + c: consecutive keys, so the copies spread over a
 * replicated expert's replicas as distinct tokens do). copies = 1 gives decodeSteps' tokens. A chunk
 * emits an output (its last token runs the LM head, EpStep.emits) when it completes its sequence's
 * prompt, i.e. holds the sequence's last token of [from, to) (as a serving prefill chunk does, and
 * one GPU's Step.emitSeq); every copy of it emits.
 */
export function prefillSteps(trace: Trace, from: number, to: number, batch: number, promptTokens: number, copies: number): EpStep[] {
  const pos = new Int32Array(trace.tokens);
  const seq = new Int32Array(trace.tokens).fill(-1);
  for (const [j, s] of trace.sequences.entries()) for (let i = 0; i < s.length; i++) { pos[s.start + i] = i; seq[s.start + i] = j; }
  const steps: EpStep[] = [];
  for (let t = from; t < to; t += batch) {
    const n = Math.min(batch, to - t);
    const context = new Float64Array(n);
    const kv = new Float64Array(n);
    const emit = new Uint8Array(n);
    const continues = (u: number) => u + 1 < to && seq[u + 1] === seq[u] && pos[u + 1] === pos[u] + 1;
    // Runs of consecutive tokens of one sequence: one prefill chunk each.
    for (let a = 0; a < n; ) {
      let b = a + 1;
      while (b < n && continues(t + b - 1)) b++;
      const prior = promptTokens + pos[t + a];
      for (let i = a; i < b; i++) {
        context[i] = promptTokens + pos[t + i] + 1;
        kv[i] = tileKvShare(prior, b - a, i - a);
      }
      if (!continues(t + b - 1)) emit[b - 1] = 1;
      a = b;
    }
    const m = n * copies;
    const tokens = new Int32Array(m);
    const ctx = new Float64Array(m);
    const kvs = new Float64Array(m);
    const emits = new Uint8Array(m);
    const splitKey = copies > 1 ? new Int32Array(m) : undefined;
    for (let c = 0; c < copies; c++) {
      for (let i = 0; i < n; i++) {
        const j = c * n + i;
        tokens[j] = t + i;
        ctx[j] = context[i];
        kvs[j] = kv[i];
        emits[j] = emit[i];
        if (splitKey) splitKey[j] = (t + i) * copies + c;
      }
    }
    steps.push(splitKey ? { tokens, context: ctx, kv: kvs, prefill: true, splitKey, emits } : { tokens, context: ctx, kv: kvs, prefill: true, emits });
  }
  return steps;
}

/** The serving features the expert-parallel world runs; the others are refused in one line naming the field. */
function checkServing(w: ServingWorkload, costs: { linkOverlapsCompute: boolean }): void {
  if (w.prefill.streaming && !costs.linkOverlapsCompute) throw new InputError('workload.prefill.streaming: needs a host link that overlaps compute (the runtime here copies experts on the compute stream); expected streaming off');
}

/** The trace with its sequences cut to the tokens from `from` on (token ids unchanged). */
export function evalPart(trace: Trace, from: number): Trace {
  const sequences = trace.sequences.flatMap((s) => {
    const start = Math.max(s.start, from);
    const end = s.start + s.length;
    return end > start ? [{ id: s.id, start, length: end - start }] : [];
  });
  return { ...trace, sequences };
}

/**
 * Token schedulers' routing predictors (expertflow's `predictor`), set up as on one GPU
 * (sim/world.ts predictorSetup) but on the evaluation part the requests are drawn from: a
 * `train.fraction` splits its sequences, an online predictor learns as the requests run. The
 * scheduler groups requests by predicted routing; the placement is not changed by it.
 */
async function schedulerPredictors(plan: ServingPlan | undefined, serveTrace: Trace, model: ReturnType<typeof resolveModel>, ctx: RunContext, rng: ReturnType<typeof createRng>, warnings: string[]) {
  const setups: (PredictorSetup | undefined)[] = [];
  for (const [j, s] of (plan?.workload.schedulers ?? []).entries()) {
    setups.push('predictor' in s && s.predictor ? await predictorSetup(s.predictor, `workload.schedulers[${j}].predictor`, serveTrace, model, ctx, rng, warnings, true) : undefined);
  }
  const requests = plan && setups.some((x) => x) ? requestTrace(serveTrace, plan.table) : undefined;
  return { setups, requests };
}

/** One serving run's step source (scheduler `j`) and the counters its clocks land in. */
function servingRun(plan: ServingPlan, j: number, trace: Trace, nTrain: number, E: number, L: number, rng: ReturnType<typeof createRng>, predictors: Awaited<ReturnType<typeof schedulerPredictors>>) {
  const serveTrace = evalPart(trace, nTrain);
  const setup = predictors.setups[j];
  const built = setup ? buildPredictor(setup, serveTrace, E, rng) : undefined;
  const predictions = built ? new PredictedPaths(built.predictor, built.online, predictors.requests!, plan.table.firstToken, E) : undefined;
  const source = servingSource(plan, serveTrace, E, j, undefined, rng.fork('workload'), predictions);
  const counters = newCounters(L, plan.table.count);
  return { source, counters, steps: new EpServingSteps(source, counters) };
}

function checkPolicy(p: PolicySpec, i: number): void {
  const where = `policies[${i}]`;
  const info = cachePolicyInfo(p.kind);
  // Offline bounds and popularity placements need the whole trace or a profile: not per GPU yet.
  if (info.offline || info.popularity) throw new InputError(`${where}.kind: ${p.kind} is not supported with parallel: (expected all-on-gpu, none, lru or lfu as each GPU's cache)`);
  if ('prefetch' in p && p.prefetch) throw new InputError(`${where}.prefetch: not supported with parallel: (each GPU's misses are fetched on demand)`);
  if ('onMiss' in p && p.onMiss && !missHandlerInfo(p.onMiss.kind).fetchesOnly) throw new InputError(`${where}.onMiss: only fetch is supported with parallel:`);
  if (info.capacity === 'configured' && 'cache' in p) {
    const c = p.cache;
    if (!('perLayer' in c) && !('experts' in c)) throw new InputError(`${where}.cache: expected {perLayer: n} or {experts: n} per GPU with parallel:`);
  }
}

const GiB = 2 ** 30;

/**
 * Issue 16's host memory check for several GPUs: an offloading cache (anything but all-on-gpu) keeps
 * the experts it may fetch in its node's host DRAM, as the one-GPU run does (sim/tier-plan.ts
 * planTiers): per node, every expert with a replica on one of the node's GPUs (a dynamic placement
 * may move any expert to any GPU: all of them). Against it: hardware.cpu.memoryGiB (one host per
 * node), less hostTier.reserveGiB, at most hostTier.capacityGiB. A storage tier behind it is not
 * modelled with parallel: (ep-sim fetches from host DRAM only), so what does not fit is an error.
 */
function checkHostMemory(scenario: Scenario, hardware: Hardware, p: PolicySpec, i: number, ps: PlacementSpec, dynamic: boolean, pl: Placement, fabric: Fabric, expertBytes: number): void {
  if (cachePolicyInfo(p.kind).capacity === 'all') return;
  const n = pl.numLayers * pl.numExperts;
  const nodes = Math.ceil(fabric.gpus / fabric.gpusPerNode);
  const reserveGiB = scenario.hostTier?.reserveGiB ?? 0;
  let available = Math.max(0, hardware.cpu.dramBytes - reserveGiB * GiB);
  if (scenario.hostTier?.capacityGiB !== undefined) available = Math.min(available, scenario.hostTier.capacityGiB * GiB);
  for (let node = 0; node < nodes; node++) {
    let kept = 0;
    for (let k = 0; k < n; k++) {
      if (dynamic) kept++;
      else
        for (let r = pl.repStart[k]; r < pl.repStart[k + 1]; r++)
          if (Math.floor(pl.repGpu[r] / fabric.gpusPerNode) === node) {
            kept++;
            break;
          }
    }
    const need = kept * expertBytes;
    if (need > available)
      throw new InputError(
        `hardware.cpu.memoryGiB: policies[${i}] (${p.kind}) with placement ${placementLabel(ps)} keeps ${kept} experts (${(need / GiB).toFixed(2)} GiB) in node ${node}'s host memory, more than the ${(available / GiB).toFixed(2)} GiB of DRAM the host has for them (${hardware.cpu.name}: ${(hardware.cpu.dramBytes / GiB).toFixed(2)} GiB${reserveGiB > 0 ? `, less hostTier.reserveGiB ${reserveGiB}` : ''}); expected a larger cpu.memoryGiB, lower precision.experts, more GPUs or nodes, or all-on-gpu (a storage tier is not modelled with parallel:)`,
      );
  }
}

function policyName(p: PolicySpec): string {
  if (p.label) return p.label;
  if (cachePolicyInfo(p.kind).capacity !== 'configured' || !('cache' in p)) return p.kind;
  const c = p.cache as { perLayer?: number; experts?: number };
  return `${p.kind}, ${c.perLayer !== undefined ? `${c.perLayer}/layer` : `${c.experts} experts`} per GPU`;
}

function cachesFor(p: PolicySpec, G: number, L: number, E: number): ExpertCache[] | undefined {
  const info = cachePolicyInfo(p.kind);
  if (info.capacity === 'all') return undefined;
  const c = info.capacity === 'configured' && 'cache' in p ? (p.cache as { perLayer?: number; experts?: number }) : undefined;
  const perLayer = c === undefined ? true : c.perLayer !== undefined;
  const cap = c === undefined ? 0 : (c.perLayer ?? c.experts ?? 0);
  const scopes = perLayer ? L : 1;
  return Array.from({ length: G }, () => new ExpertCache(L, E, cap, perLayer, info.create({ numLayers: L, numExperts: E, capacityPerScope: cap, scopes })));
}

function ownersTable(p: Placement): number[][] {
  const o = ownersOf(p);
  return Array.from({ length: p.numLayers }, (_, l) => Array.from(o.subarray(l * p.numExperts, (l + 1) * p.numExperts)));
}

export async function runParallelScenario(scenario: Scenario, ctx: RunContext): Promise<ParallelRunResult> {
  const spec = scenario.parallel;
  if (!spec) throw new Error('runParallelScenario: the scenario has no parallel: block');
  const model = resolveModel(scenario.model, 'model');
  const hardware = resolveHardware(scenario.hardware, 'hardware', ctx.baseDir);
  const rng = createRng(scenario.seed);
  const where = scenario.trace && 'path' in scenario.trace ? String(scenario.trace.path) : 'trace';
  const loaded = await (ctx.loadTrace ?? loadTrace)(scenario.trace, ctx.baseDir, rng.fork('trace'), { modelExperts: model.numExperts });
  const trace = fitTraceToModel(loaded, model, where);
  const warnings = [...trace.warnings];
  scenario.policies.forEach(checkPolicy);
  const fabric = resolveFabric(spec);
  const G = fabric.gpus;
  const { numLayers: L, numExperts: E } = trace;
  if (E % G !== 0) throw new InputError(`parallel.gpus: ${E} experts per layer do not split evenly over ${G} GPUs`);
  const m = spec.machine !== undefined ? machinePresets[spec.machine] : undefined;
  if (m && hardware.name !== m.hardware) warnings.push(`parallel.machine ${spec.machine} is built from hardware ${m.hardware}; the scenario's hardware is ${hardware.name}, which is what each GPU is simulated as`);
  const semantics = scenarioSemantics(scenario.system, scenario.execution, model);
  const costs = semantics ? semanticCostModel(model, hardware, scenario.precision, semantics) : new RooflineCosts(model, hardware, scenario.precision);
  if (scenario.workload.kind === 'serving') checkServing(scenario.workload, costs);
  const streaming = scenario.workload.kind === 'serving' && scenario.workload.prefill.streaming ? { minTokens: scenario.workload.prefill.streamingMinTokens } : undefined;
  const collectives = new CollectiveCosts(fabric, spec.allToAll);

  const T = trace.tokens;
  const nTrain = Math.min(T - 1, Math.max(1, Math.round(spec.train.fraction * T)));
  const train = { from: 0, to: nTrain };
  // train.inSample: evaluated on the training tokens themselves (an in-sample bound, as a profile taken on the served data).
  const evalRange = spec.train.inSample ? { ...train } : { from: nTrain, to: T };
  const workload = scenario.workload;
  if (spec.train.inSample && workload.kind === 'serving') throw new InputError('parallel.train.inSample: applies to batch workloads (serving requests come from the tokens after the training part); expected inSample false');
  // Serving: requests are drawn from the evaluation part only (sequences cut at the split), so the
  // placement never sees the tokens it is evaluated on.
  const serving = workload.kind === 'serving' ? planServing(evalPart(trace, nTrain), workload, rng.fork('workload'), String(scenario.seed), warnings) : undefined;
  const schedPredictors = await schedulerPredictors(serving, evalPart(trace, nTrain), model, ctx, rng, warnings);
  const batch = workload.kind === 'serving' ? serving!.limits.microBatchSize : workload.batchSize;
  if (spec.prefill && workload.kind === 'serving') throw new InputError('parallel.prefill: applies to batch workloads (a serving workload has its own prefill passes); expected no parallel.prefill');
  const steps =
    workload.kind === 'serving'
      ? []
      : spec.prefill
        ? prefillSteps(trace, evalRange.from, evalRange.to, batch, workload.promptTokens, spec.prefill.copies)
        : decodeSteps(trace, evalRange.from, evalRange.to, batch, workload.promptTokens);

  // Prices of the placement objective: a token through an expert at the compute-bound slope of
  // Costs.expertSec, and one hidden state over the intra-node interconnect.
  const big = 1 << 20;
  const computeSecPerToken = (costs.expertSec(big) - costs.expertSec(big / 2)) / (big / 2);
  const crossSecPerToken = bytesSec(costs.activationBytes(1), fabric.intra.bytesPerSec);
  const crossInterSecPerToken = bytesSec(costs.activationBytes(1), fabric.inter.bytesPerSec);
  const pctx: PlacementContext = { trace, train, gpus: G, gpusPerNode: fabric.gpusPerNode, computeSecPerToken, crossSecPerToken, crossInterSecPerToken };

  const trainLoad = routeLoad(trace, train);
  const evalLoad = routeLoad(trace, evalRange);
  const w = { computeSecPerToken, crossSecPerToken };
  const rrOwner = new Int32Array(L * E).map((_, k) => (k % E) % G);
  const rrTrain = placementObjective(trace, train, rrOwner, G, w, trainLoad).totalSec;
  const rrEval = placementObjective(trace, evalRange, rrOwner, G, w, evalLoad).totalSec;

  const plans = [];
  for (const [i, p] of spec.placements.entries()) {
    try {
      plans.push({ spec: p, plan: await createPlacement(pctx, p) });
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`parallel.placements[${i}] (${p.kind}): ${(e as Error).message}`);
    }
  }

  const hbm = hardware.gpu.hbmBytes;
  const denseBytes = spec.attention === 'tensor' ? costs.residentWeightBytes / G : costs.residentWeightBytes;
  const runs: ParallelRun[] = [];
  for (const [i, policy] of scenario.policies.entries()) {
    for (const { spec: ps, plan } of plans) {
      const pl = plan.placement;
      checkHostMemory(scenario, hardware, policy, i, ps, plan.dynamic !== undefined, pl, fabric, costs.expertBytes);
      if (cachePolicyInfo(policy.kind).capacity === 'all') {
        const need = denseBytes + pl.slotsPerGpu * L * costs.expertBytes;
        if (need > hbm) warnings.push(`${placementLabel(ps)}: ${pl.slotsPerGpu} experts x ${L} layers per GPU + the dense weights need ${(need / 2 ** 30).toFixed(1)} GiB, more than the GPU's ${(hbm / 2 ** 30).toFixed(1)} GiB (simulated anyway; cache them with lru/lfu to model offloading)`);
      }
      for (const sv of serving ? serving.workload.schedulers.map((_, j) => j) : [-1]) {
      let servingMetrics: ServingMetrics | undefined;
      let schedLabel: string | undefined;
      let r;
      if (serving) {
        const sim = servingRun(serving, sv, trace, nTrain, E, L, rng, schedPredictors);
        r = simulateEp({ trace, steps: sim.steps, plan, costs, collectives, attention: spec.attention, caches: cachesFor(policy, G, L, E), timelineSteps: spec.timelineSteps, ...(streaming ? { streaming } : {}) });
        sim.counters.makespanSec = r.totalSec;
        sim.counters.idleSec = r.idleSec;
        servingMetrics = summarizeServing(sim.counters, { table: serving.table, source: sim.source, waitBound: serving.maxWaitSteps[sv], slo: serving.workload.slo });
        schedLabel = schedulerLabel(serving.workload.schedulers[sv]);
      } else r = simulateEp({ trace, steps, plan, costs, collectives, attention: spec.attention, caches: cachesFor(policy, G, L, E), timelineSteps: spec.timelineSteps });
      const single = pl.repGpu.length === L * E && !plan.dynamic;
      const owners = ownersOf(pl);
      let cross = 0, routes = 0;
      const layers = r.layers.map((x, l) => {
        if (l > 0) {
          cross += x.crossRoutes;
          routes += x.routes;
        }
        return { layer: l, imbalance: x.imbalance, tokenImbalance: x.tokenImbalance, collectiveBytes: x.collectiveBytes, collectiveSec: x.collectiveSec, crossRoutes: x.crossRoutes, crossFraction: x.routes > 0 && l > 0 ? x.crossRoutes / x.routes : 0 };
      });
      const mean = (f: (x: ParallelLayerRow) => number) => layers.reduce((s, x) => s + f(x), 0) / layers.length;
      runs.push({
        label: `${placementLabel(ps)} | ${policyName(policy)}${schedLabel !== undefined && serving!.workload.schedulers.length > 1 ? ` | ${schedLabel}` : ''}`,
        placement: ps.kind,
        policy: policyName(policy),
        ...(schedLabel !== undefined ? { scheduler: schedLabel } : {}),
        note: plan.note,
        slotsPerGpu: pl.slotsPerGpu,
        steps: r.steps,
        tokens: r.tokens,
        totalSec: r.totalSec,
        tpotMeanMs: servingMetrics ? servingMetrics.tpotMs.mean : (r.stepSec.reduce((a, b) => a + b, 0) / Math.max(1, r.stepSec.length)) * 1e3,
        tpotP99Ms: servingMetrics ? servingMetrics.tpotMs.p99 : percentile(r.stepSec, 0.99) * 1e3,
        throughputTokPerSec: servingMetrics ? servingMetrics.throughputTokensPerSec : r.totalSec > 0 ? r.tokens / r.totalSec : 0,
        ...(servingMetrics ? { serving: servingMetrics } : {}),
        meanImbalance: mean((x) => x.imbalance),
        meanTokenImbalance: mean((x) => x.tokenImbalance),
        collectiveBytes: layers.reduce((s, x) => s + x.collectiveBytes, 0),
        collectiveSec: layers.reduce((s, x) => s + x.collectiveSec, 0),
        crossFraction: routes > 0 ? cross / routes : 0,
        ...(plan.dynamic ? {} : { top1Hops: top1Hops(trace, evalRange, owners) }),
        ...(single
          ? { objective: { trainSec: placementObjective(trace, train, owners, G, w, trainLoad).totalSec, evalSec: placementObjective(trace, evalRange, owners, G, w, evalLoad).totalSec, roundRobinTrainSec: rrTrain, roundRobinEvalSec: rrEval } }
          : {}),
        migrations: r.migrations,
        migrationSec: r.migrationSec,
        migrationBytes: r.migrationBytes,
        ...(r.streaming ? { streaming: r.streaming } : {}),
        layers,
        gpus: r.gpus.map((g, i) => ({ gpu: i, ...g })),
        owners: ownersTable(pl),
        ...(spec.timelineSteps > 0 ? { timeline: r.timeline } : {}),
      });
      }
    }
  }
  return {
    kind: 'parallel',
    moesimVersion: VERSION,
    scenario: { name: scenario.name, ...(ctx.file ? { file: ctx.file } : {}), seed: scenario.seed },
    model: model.name,
    hardware: hardware.name,
    fabric: { gpus: G, gpusPerNode: fabric.gpusPerNode, nodes: fabric.nodes, intraNode: fabric.intraKey, interNode: fabric.interKey, allToAll: spec.allToAll, attention: spec.attention },
    trace: { source: where, tokens: T, trainTokens: nTrain, evalTokens: evalRange.to - evalRange.from, layers: L, experts: E, topK: trace.topK },
    batchTokens: spec.prefill ? batch * spec.prefill.copies : batch,
    ...(spec.train.inSample ? { inSample: true } : {}),
    ...(serving ? { workload: serving.description } : {}),
    prices: { computeSecPerToken, crossSecPerToken },
    warnings,
    runs,
  };
}

/** ExFlow's calculate_cost (solve_affinity.py) on a token range: mean top-1 GPU changes per token over L - 1 transitions. */
export function top1Hops(trace: Trace, range: { from: number; to: number }, owner: ArrayLike<number>): number {
  const { numLayers: L, numExperts: E, topK: K, experts } = trace;
  let sum = 0, tokens = 0;
  for (let t = range.from; t < range.to; t++) {
    let hops = 0, n = 0;
    for (let l = 1; l < L; l++) {
      const a = experts[(t * L + l - 1) * K], b = experts[(t * L + l) * K];
      if (a === NO_EXPERT || b === NO_EXPERT) continue;
      n++;
      if (owner[(l - 1) * E + a] !== owner[l * E + b]) hops++;
    }
    if (n === 0) continue;
    sum += (hops / n) * (L - 1);
    tokens++;
  }
  return tokens > 0 ? sum / tokens : 0;
}
