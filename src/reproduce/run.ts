/**
 * moesim reproduce: simulate every published point and compare.
 *
 * Each point becomes one scenario: the point's model preset (with its topK when the source changed
 * it), its hardware (GPU preset plus the source's host link / CPU), its stated precision, its stated batch,
 * and its real system preset (`system:` from src/systems/catalog.ts with the point's settings,
 * src/reproduce/systems.ts). Mixtral points replay the shipped routing trace recorded on the real
 * model; other models get a seeded synthetic trace with the model's shape. The metric is
 * decode at the context the source states (pointContext: its prompt length, and its output length
 * where stated; an empty context where unstated): seconds per token = the simulated mean TPOT
 * (tokens/s = 1 / that), or, for a point whose source times the whole request (workload.timed
 * end-to-end), the makespan (prefill included) per output token.
 *
 * Fitted-parameter protocol (issue12c): one physical cost per runtime, `runtime.perKernelUs` (the
 * host cost of a kernel launch), fitted by grid search separately for each runtime on the points of
 * systems that run on it, from a declared subset only; errors are reported on points not used for
 * fitting. `loso`: each system is predicted with its runtime's value fitted on the other systems of
 * that runtime (the preset value when no other system shares it). A point marked `notForFitting`
 * (its setup could not be reconstructed; the reason is in the point) is predicted and reported but
 * never fits a runtime, in either protocol.
 */
import { dirname, join, resolve } from 'node:path';
import { parseScenario } from '../scenario/load.js';
import { runScenario } from '../sim/run.js';
import { resolveModel } from '../model/resolve.js';
import { encoderStack, numMoeLayers } from '../model/derived.js';
import { loadTrace } from '../trace/load.js';
import type { Trace } from '../trace/types.js';
import type { Rng } from '../rng/rng.js';
import type { TraceSpec } from '../trace/load.js';
import { secPerToken, type PublishedPoint, type PublishedSuite } from './points.js';
import { pointSystem, systemRows } from './systems.js';
import { resolveHardware } from '../hardware/resolve.js';
import { expandSystem, systemSemantics, type SystemSpec } from '../systems/catalog.js';
import { runtimes, type RuntimeName } from '../timing/execution-semantics.js';
import type { MoeModel } from '../model/types.js';
import { presetFits, usedForPresetFit, type PresetFit } from './preset-fits.js';
import { median, rankAgreement, shareWithin, signedError, perSystemMedian, type RankAgreement } from './stats.js';

/** The shipped Mixtral-8x7B-Instruct routing trace, relative to the suite file's folder (scenarios/published/). */
export const MIXTRAL_TRACE = '../../traces/mixtral-8x7b-instruct/humaneval-decode.jsonl';
/**
 * Its longest sequence: the trace holds two, of 83 and 254 tokens (10,779 routing records / 32 layers).
 * A stated prompt longer than that cannot be taken from it (the prompt would be cut to the sequence,
 * src/trace/steps.ts staticBatches): such a point runs the seeded synthetic trace of the model's shape.
 */
export const MIXTRAL_TRACE_LONGEST_TOKENS = 254;
/** Its sequences: a stated batch larger than that runs the synthetic trace, one sequence per batch slot. */
export const MIXTRAL_TRACE_SEQUENCES = 2;

/**
 * A fitted parameter: a physical cost of one runtime (src/timing/execution-semantics.ts), fitted
 * separately for each runtime, on the points of the systems that run on it, and applied to a
 * point's scenario through `execution:`.
 */
export interface FittedParameter {
  name: string;
  unit: string;
  meaning: string;
  grid: number[];
  /** The runtime preset's own value (used without fitting). */
  preset: (runtime: RuntimeName) => number;
  apply: (scenario: Record<string, unknown>, value: number) => Record<string, unknown>;
}

export const perKernelCost: FittedParameter = {
  name: 'runtime.perKernelUs',
  unit: 'us of host time per kernel launch, per runtime',
  meaning:
    "the runtime's host cost per kernel launch (eager PyTorch's Python dispatch, ggml's graph launch, a replayed CUDA graph), one value per runtime (eager-pytorch, cuda-graphs, llama-cpp-ggml, deepspeed-zero)",
  grid: [1, 2, 5, 10, 20, 40, 80, 160, 320],
  preset: (r) => runtimes[r].perKernelSec * 1e6,
  apply: (sc, v) => ({ ...sc, execution: { ...((sc.execution as object | undefined) ?? {}), perKernelUs: v } }),
};

/**
 * `subset`: the points to fit on, each entry a system (every point of it) or a point-id prefix
 * ending in `*` (a declared part of one system's points, e.g. `mo-t2-3bit-*`: Table 2's 3-bit half).
 */
export type FitMode = { kind: 'none' } | { kind: 'loso' } | { kind: 'subset'; systems: string[] };

/** Whether point `p` is in the declared fit subset `entries` (systems, or point-id prefixes ending in `*`). */
export function inFitSubset(entries: readonly string[], p: { id: string; system: string }): boolean {
  return entries.some((e) => (e.endsWith('*') ? p.id.startsWith(e.slice(0, -1)) : p.system === e));
}

export interface ReproduceOptions {
  /** Folder of the suite file (trace paths resolve against it). */
  baseDir: string;
  fit: FitMode;
  parameter?: FittedParameter;
  /** Synthetic trace length for non-Mixtral models. */
  syntheticTokens?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface PointResult {
  id: string;
  system: string;
  /** The catalog preset it ran with, and that preset's runtime. */
  preset: string;
  runtime: string;
  variant?: string;
  model: string;
  gpu: string;
  metric: PublishedPoint['metric'];
  published: number;
  /** Simulated, in the published metric's unit; undefined when the scenario could not run. */
  simulated?: number;
  error?: number;
  /** Seconds per token, published and simulated (the parity plot's axes). */
  publishedSecPerToken: number;
  simulatedSecPerToken?: number;
  /** The fitted parameter's value this prediction used (the runtime preset's when not fitted), and whether the point was in its fit set. */
  parameterValue: number;
  fitted: boolean;
  usedForFitting: boolean;
  comparison?: string;
  failure?: string;
  source: string;
  /** The context it was simulated at, as its source states it: prompt and output tokens, what the figure times (`unstated` where the source says nothing). */
  context: { promptTokens: number | 'unstated'; outputTokens: number | 'unstated'; timed: 'decode' | 'end-to-end' | 'unstated' };
  /**
   * Where the simulated time went, at the preset values (unfitted results only): seconds the host
   * link and the GPU were busy over the whole run, prefill included, per output token. The rest of
   * simulatedSecPerToken is host time (runtime overheads, syncs) and waits; with a serial runtime
   * link + gpu + rest add up for a point that times the whole run, with overlap link + gpu can exceed
   * it, and for a decode-timed point busy includes the prefill that simulatedSecPerToken leaves out,
   * so link + gpu can exceed it there too. A residual against the published
   * figure that is constant across a column's variants while `linkSecPerToken` changes is a per-token
   * cost, not a per-byte one (the Table 2 T4 diagnosis in the README).
   */
  busy?: BusyPerToken;
}

/** Busy seconds per output token of one simulated point (PointResult.busy). */
export interface BusyPerToken {
  linkSecPerToken: number;
  gpuSecPerToken: number;
}

export interface Fold {
  /** The systems predicted with this fit. */
  heldOut: string[];
  /** The runtime whose parameter was fitted. */
  runtime: string;
  /** Systems (of that runtime) whose points were fitted on; empty when none: the preset value is used. */
  fitSystems: string[];
  fitPoints: string[];
  value: number;
  /** Median |log(sim/published)| on the fit set at the chosen value (NaN without a fit set). */
  fitObjective: number;
}

export interface Summary {
  points: number;
  simulated: number;
  medianAbsError: number;
  /** exp(median |log(simulated / published)|): the typical factor off, the same in either unit. */
  medianFactor: number;
  within25: number;
  tooFast: number;
  comparisons: { id: string; points: string[]; agreement: RankAgreement }[];
  preserved: number;
  perSystem: { system: string; n: number; medianAbsError: number; medianSignedError: number; within25: number; medianFactor: number; tooFast: number }[];
}

export interface ReproduceResult {
  suite: { description: string; points: number; systems: string[]; gpus: string[] };
  parameter?: { name: string; unit: string; meaning: string; grid: number[]; presets: Record<string, number> };
  fit: FitMode;
  folds: Fold[];
  /** Points the suite marks notForFitting: predicted and reported, never in a fit set (with the suite's reason). */
  notForFitting: Array<{ id: string; reason: string }>;
  /** Errors with every parameter at its preset value, every point. */
  unfitted: { points: PointResult[]; summary: Summary };
  /**
   * The preset values fitted on suite points (src/reproduce/preset-fits.ts), and the unfitted errors
   * on the points none of them was fitted on: the presets' out-of-sample error.
   */
  presetFits: { fits: readonly PresetFit[]; outside: { points: PointResult[]; summary: Summary } };
  /** Errors reported on points not used for fitting (absent with fit none); outsidePresetFits: of those, the points no preset value was fitted on either. */
  heldOut?: { points: PointResult[]; summary: Summary; outsidePresetFits: Summary };
  mapping: Record<string, { preset: string; does: string; missing: string }>;
}

interface Prepared {
  point: PublishedPoint;
  model: MoeModel;
  system: SystemSpec;
  runtime: RuntimeName;
  policy: Record<string, unknown>;
  /** An encoder-decoder model with a stated prompt: its encoder pass, run as its own scenario (prepareEncoder). */
  encoder?: Prepared;
}

/**
 * The encoder pass of an encoder-decoder model (MoeModel.encoder). Hugging Face `generate` runs the
 * encoder once over the whole prompt (_prepare_encoder_decoder_kwargs_for_generation) before the
 * decoder starts from one decoder_start_token per sequence (_prepare_decoder_input_ids_for_generation),
 * and before the first streamer.put, so a streamer-timed decode excludes it
 * (duyy97/transformers@ebebfbf58043b749f47a2f701a161f0c12e5f107:src/transformers/generation/utils.py,
 * generate; a fork of early-2024 upstream). Simulated as a prefill of the encoder stack
 * (encoderStack) over the point's stated prompt, by the point's system (its spec for the encoder:
 * PointContext.encoderPass): each MoE layer's experts fetched as that system fetches them (MoE-Infinity
 * the routed ones, Accelerate and ZeRO-3 on a loop that calls every expert all of them), the routing
 * the seeded synthetic trace of the encoder's shape. Its time counts in a point that times the whole
 * request (workload.timed end-to-end), once per batch; a decode-timed point leaves it out.
 * Simplified: the pass runs on its own simulated GPU and cache, so the decoder's run starts with no
 * decoder expert cached (the encoder's experts are of other layers) and a later batch's encoder pass
 * does not evict the decoder's experts; the decoder's cross-attention over the prompt is not counted.
 * A prompt that is unstated (0 tokens) has no encoder pass.
 */
function prepareEncoder(p: PublishedPoint, model: MoeModel, hardware: ReturnType<typeof resolveHardware>, siblings: PublishedPoint[]): Prepared | undefined {
  const enc = encoderStack(model);
  if (enc === undefined || p.workload.promptTokens === 'unstated' || p.workload.promptTokens === 0) return undefined;
  const { system, policyIndex } = pointSystem(p, { model: enc, hardware, siblings, encoderPass: true });
  const policies = expandSystem(system, enc).policies;
  const policy = policyIndex === 'last' ? policies[policies.length - 1] : policies[0];
  const runtime = systemSemantics(system, enc).runtime.name as RuntimeName;
  return { point: p, model: enc, system, runtime, policy: { ...policy, label: `${p.system} (encoder)` } };
}

function prepare(p: PublishedPoint, suite: PublishedSuite | undefined, baseDir: string): Prepared {
  const modelSpec = p.topK !== undefined ? { preset: p.model, topK: p.topK } : p.model;
  const model = resolveModel(modelSpec, `${p.id}.model`);
  const hardware = resolveHardware(p.hardware, `${p.id}.hardware`, baseDir);
  const siblings = suite && p.comparison ? suite.points.filter((q) => q.comparison === p.comparison) : [p];
  const { system, policyIndex } = pointSystem(p, { model, hardware, siblings });
  const policies = expandSystem(system, model).policies;
  const policy = policyIndex === 'last' ? policies[policies.length - 1] : policies[0];
  const runtime = systemSemantics(system, model).runtime.name as RuntimeName;
  const encoder = prepareEncoder(p, model, hardware, siblings);
  return { point: p, model, system, runtime, policy: { ...policy, label: p.variant ? `${p.system} (${p.variant})` : p.system }, ...(encoder ? { encoder } : {}) };
}

/** The scenario (raw, before validation) a point is simulated with: its system preset, its stated precision. */
export function pointScenario(
  p: PublishedPoint,
  opts: { parameter?: FittedParameter; value?: number; syntheticTokens?: number; suite?: PublishedSuite; baseDir?: string } = {},
): Record<string, unknown> {
  const prep = prepare(p, opts.suite, opts.baseDir ?? process.cwd());
  return scenarioOf(prep, opts);
}

import { pointContext } from './points.js';
export { pointContext };

/**
 * The context a prepared run simulates: the point's (pointContext), except for an encoder-decoder
 * model with a stated prompt, whose prompt is the encoder's: the encoder pass prefills it (and emits
 * nothing the figure counts), the decoder prefills one decoder_start_token per sequence, then
 * decodes the rest of the outputs.
 */
function runContext(prep: Prepared, isEncoder: boolean, syntheticTokens?: number): { promptTokens: number; tokensPerSequence: number } {
  const ctx = pointContext(prep.point, syntheticTokens);
  if (isEncoder) return { promptTokens: ctx.promptTokens, tokensPerSequence: ctx.promptTokens };
  if (prep.encoder === undefined) return ctx;
  const outputs = prep.point.workload.outputTokens;
  return { promptTokens: 1, tokensPerSequence: outputs === 'unstated' ? 1 + (syntheticTokens ?? 48) : outputs };
}

function scenarioOf(prep: Prepared, opts: { parameter?: FittedParameter; value?: number; syntheticTokens?: number }, isEncoder = false): Record<string, unknown> {
  const { point: p, model } = prep;
  const presetSpec = p.topK !== undefined ? { preset: p.model, topK: p.topK } : p.model;
  // The encoder pass: the preset with the encoder's layers (the widths are the decoder's, encoderStack).
  const modelSpec = isEncoder
    ? { ...(typeof presetSpec === 'string' ? { preset: presetSpec } : presetSpec), name: model.name, displayName: model.displayName, numLayers: model.numLayers, moeLayers: model.moeLayers }
    : presetSpec;
  const ctx = runContext(prep, isEncoder, opts.syntheticTokens);
  const batch = p.workload.batchSize;
  const trace: TraceSpec =
    p.model === 'mixtral-8x7b' && p.topK === undefined && ctx.promptTokens <= MIXTRAL_TRACE_LONGEST_TOKENS && batch <= MIXTRAL_TRACE_SEQUENCES
      ? { path: MIXTRAL_TRACE }
      : ({
          synthetic: {
            layers: numMoeLayers(model),
            experts: model.numExperts,
            topK: model.topK,
            // The encoder pass: one batch, one pass.
            sequences: isEncoder ? batch : Math.max(2, batch),
            tokensPerSequence: ctx.tokensPerSequence,
            popularity: { kind: 'zipf', exponent: 1.0 },
            locality: 0.3,
            affinity: 0.2,
          },
        } as TraceSpec);
  const sc: Record<string, unknown> = {
    name: p.id,
    seed: 1,
    model: modelSpec,
    hardware: p.hardware,
    precision: p.precision,
    trace,
    workload: { batchSize: batch, promptTokens: ctx.promptTokens },
    system: prep.system,
    policies: [prep.policy],
  };
  return opts.parameter && opts.value !== undefined ? opts.parameter.apply(sc, opts.value) : sc;
}

async function simulatePrepared(prep: Prepared, baseDir: string, opts: { parameter?: FittedParameter; value?: number; syntheticTokens?: number; loadTrace?: typeof loadTrace }): Promise<number> {
  return (await simulatePreparedDetailed(prep, baseDir, opts)).secPerToken;
}

async function simulatePreparedDetailed(
  prep: Prepared,
  baseDir: string,
  opts: { parameter?: FittedParameter; value?: number; syntheticTokens?: number; loadTrace?: typeof loadTrace },
): Promise<{ secPerToken: number; busy: BusyPerToken }> {
  const run = async (isEncoder: boolean) => {
    const scenario = parseScenario(scenarioOf(isEncoder ? prep.encoder! : prep, opts, isEncoder), `${prep.point.id}${isEncoder ? ' encoder pass' : ''} (scenarios/published)`);
    const result = await runScenario(scenario, { baseDir, file: prep.point.id, ...(opts.loadTrace ? { loadTrace: opts.loadTrace } : {}) });
    return result.results[0].metrics;
  };
  const m = await run(false);
  // The encoder pass only where the point's figure holds it (end to end): a decode-timed figure
  // leaves it out (secPerTokenOf), and so do its busy fields.
  const enc = prep.encoder && prep.point.workload.timed === 'end-to-end' ? encoderPassOf(prep, await run(true)) : undefined;
  // summarize() writes these three beside the typed fields (metrics/summarize.ts).
  const outputs = m.outputTokens as number;
  const busy = { linkSecPerToken: ((m.linkBusyMs as number) / 1000 + (enc?.linkSec ?? 0)) / outputs, gpuSecPerToken: ((m.gpuBusyMs as number) / 1000 + (enc?.gpuSec ?? 0)) / outputs };
  return { secPerToken: secPerTokenOf(prep, m, enc?.secPerBatch ?? 0, outputs), busy };
}

/**
 * The encoder pass from its run's metrics: seconds per batch (its TTFT: the one prefill step and
 * the stack's tail), and the link and GPU busy seconds of as many passes as the decoder's run has
 * batches (each batch runs its own).
 */
function encoderPassOf(prep: Prepared, e: Record<string, unknown>): { secPerBatch: number; linkSec: number; gpuSec: number } {
  const batches = decoderBatches(prep);
  return { secPerBatch: (e.ttftMs as number) / 1000, linkSec: (batches * (e.linkBusyMs as number)) / 1000, gpuSec: (batches * (e.gpuBusyMs as number)) / 1000 };
}

/** The point's figure, seconds per token, from a run's metrics; `encoderSec`: the encoder pass per batch (0: none). */
function secPerTokenOf(prep: Prepared, m: { tpotMs: number; ttftMs: number; tokensPerSec: number }, encoderSec = 0, outputs = 0): number {
  // A batch's figure counts every sequence's tokens (the sources divide outputs x batch size by the
  // time): a sequence's time per token over the batch. TTFT and TPOT are per sequence; every
  // sequence of a static batch steps together.
  const B = prep.point.workload.batchSize;
  // End to end (the source divides the output tokens by prefill + decode time): the run's makespan
  // (each sequence's prefill and decode) per output token. Else the decode's mean TPOT.
  if (prep.point.workload.timed !== 'end-to-end') return m.tpotMs / 1000 / B;
  // With the output length stated: (prefill + first token, then outputs - 1 decode steps) / outputs
  // from the simulated TTFT and TPOT (the recorded Mixtral trace's sequences may be shorter than
  // the stated output: their decode steps give the TPOT); else the makespan per output token.
  // One output token (a prefill-only measurement: generate with max_new_tokens = 1): the TTFT, no
  // decode step exists (the TPOT is undefined).
  // An encoder-decoder request runs its encoder pass first (encoderSec per batch, prepareEncoder).
  const n = prep.point.workload.outputTokens;
  if (n === 'unstated') return 1 / m.tokensPerSec + (encoderSec * decoderBatches(prep)) / outputs;
  // A rate that counts the prompt's tokens too (countsPromptTokens: parseSuite checks both lengths are stated).
  const counted = prep.point.workload.countsPromptTokens ? n + (prep.point.workload.promptTokens as number) : n;
  if (n === 1) return (encoderSec + m.ttftMs / 1000) / counted / B;
  return (encoderSec + (m.ttftMs + (n - 1) * m.tpotMs) / 1000) / counted / B;
}

/** Static batches of the decoder's run of an encoder-decoder point (its synthetic trace's max(2, batch) sequences, scenarioOf). */
function decoderBatches(prep: Prepared): number {
  const B = prep.point.workload.batchSize;
  return Math.ceil(Math.max(2, B) / B);
}

/** Simulated seconds per token of one point (throws what the scenario throws). */
export async function simulatePoint(
  p: PublishedPoint,
  baseDir: string,
  opts: { parameter?: FittedParameter; value?: number; syntheticTokens?: number; loadTrace?: typeof loadTrace; suite?: PublishedSuite } = {},
): Promise<number> {
  return simulatePrepared(prepare(p, opts.suite, baseDir), baseDir, opts);
}

function summarize(points: PointResult[]): Summary {
  const ok = points.filter((r) => r.error !== undefined);
  const errs = ok.map((r) => r.error!);
  const comparisons = new Map<string, PointResult[]>();
  for (const r of ok) if (r.comparison) comparisons.set(r.comparison, [...(comparisons.get(r.comparison) ?? []), r]);
  const comps = [...comparisons.entries()]
    .filter(([, rs]) => rs.length >= 2)
    .map(([id, rs]) => ({
      id,
      points: rs.map((r) => r.id),
      agreement: rankAgreement(
        rs.map((r) => r.publishedSecPerToken),
        rs.map((r) => r.simulatedSecPerToken!),
      ),
    }));
  const systems = [...new Set(ok.map((r) => r.system))].sort();
  return {
    points: points.length,
    simulated: ok.length,
    medianAbsError: median(errs.map(Math.abs)),
    medianFactor: Math.exp(median(ok.map((r) => logErr(r.simulatedSecPerToken!, r.publishedSecPerToken)))),
    within25: shareWithin(errs),
    tooFast: ok.filter((r) => r.simulatedSecPerToken! < r.publishedSecPerToken).length,
    comparisons: comps,
    preserved: comps.filter((c) => c.agreement.preserved).length,
    perSystem: systems.map((s) => {
      const rs = ok.filter((r) => r.system === s);
      const e = rs.map((r) => r.error!);
      return {
        system: s,
        n: e.length,
        medianAbsError: median(e.map(Math.abs)),
        // In seconds per token whatever the published unit, so that negative always means too fast.
        medianSignedError: median(rs.map((r) => r.simulatedSecPerToken! / r.publishedSecPerToken - 1)),
        within25: shareWithin(e),
        medianFactor: Math.exp(median(rs.map((r) => logErr(r.simulatedSecPerToken!, r.publishedSecPerToken)))),
        tooFast: rs.filter((r) => r.simulatedSecPerToken! < r.publishedSecPerToken).length,
      };
    }),
  };
}

function pointResult(prep: Prepared, sim: number | Error, value: number, fitted: boolean, usedForFitting: boolean): PointResult {
  const p = prep.point;
  const base = {
    id: p.id,
    system: p.system,
    preset: prep.system.kind,
    runtime: prep.runtime,
    ...(p.variant ? { variant: p.variant } : {}),
    model: p.topK ? `${p.model} (top-${p.topK})` : p.model,
    gpu: p.gpu,
    metric: p.metric,
    published: p.value,
    publishedSecPerToken: secPerToken(p.metric, p.value),
    parameterValue: value,
    fitted,
    usedForFitting,
    ...(p.comparison ? { comparison: p.comparison } : {}),
    source: `${p.source.ref}, ${p.source.locator}`,
    context: { promptTokens: p.workload.promptTokens, outputTokens: p.workload.outputTokens, timed: p.workload.timed },
  };
  if (sim instanceof Error) return { ...base, failure: sim.message };
  const simulated = p.metric === 'secPerToken' ? sim : 1 / sim;
  return { ...base, simulated, error: signedError(simulated, p.value), simulatedSecPerToken: sim };
}

const withBusy = (r: PointResult, b: BusyPerToken | undefined): PointResult => (b && r.failure === undefined ? { ...r, busy: b } : r);

const logErr = (simSec: number, pubSec: number) => Math.abs(Math.log(simSec / pubSec));

export async function reproduce(suite: PublishedSuite, opts: ReproduceOptions): Promise<ReproduceResult> {
  const parameter = opts.fit.kind === 'none' ? undefined : (opts.parameter ?? perKernelCost);
  // Value slot 0: every parameter at its preset (no `execution:` override); then the grid.
  const grid = parameter ? parameter.grid : [];
  const traces = new Map<string, Promise<Trace>>();
  const cachedLoad: typeof loadTrace = (spec: TraceSpec, baseDir: string, rng: Rng) => {
    if (!('path' in spec)) return loadTrace(spec, baseDir, rng);
    const key = resolve(baseDir, String(spec.path));
    let t = traces.get(key);
    if (!t) traces.set(key, (t = loadTrace(spec, baseDir, rng)));
    return t;
  };
  const preps = suite.points.map((p) => prepare(p, suite, opts.baseDir));
  // sims[pointIndex][slot]: seconds per token or the error that stopped it.
  const sims: (number | Error)[][] = [];
  // busy[pointIndex]: where the time went at the preset values (slot 0).
  const busy: (BusyPerToken | undefined)[] = [];
  const total = suite.points.length * (1 + grid.length);
  let done = 0;
  for (const prep of preps) {
    const row: (number | Error)[] = [];
    for (const v of [undefined, ...grid]) {
      try {
        const r = await simulatePreparedDetailed(prep, opts.baseDir, { parameter, value: v, syntheticTokens: opts.syntheticTokens, loadTrace: cachedLoad });
        row.push(r.secPerToken);
        if (v === undefined) busy.push(r.busy);
      } catch (e) {
        row.push(e as Error);
        if (v === undefined) busy.push(undefined);
      }
      opts.onProgress?.(++done, total);
    }
    sims.push(row);
  }
  const presetOf = (i: number) => (parameter ?? perKernelCost).preset(preps[i].runtime);
  const at = (i: number, v: number | undefined) => sims[i][v === undefined ? 0 : 1 + grid.indexOf(v)];
  const unfittedPoints = preps.map((prep, i) => withBusy(pointResult(prep, at(i, undefined), presetOf(i), false, false), busy[i]));

  // The objective: the median |log error| over the fit points, each system weighted equally (a
  // point weighs 1 / its system's points in the fit), so a system with many points (one figure read
  // bar by bar) does not set a runtime's value for the others.
  const fit = (fitIdx: number[]): { value: number; objective: number } => {
    let best = { value: grid[0], objective: Infinity };
    for (const v of grid) {
      const ok = fitIdx.filter((i) => !(at(i, v) instanceof Error));
      const errs = ok.map((i) => logErr(at(i, v) as number, secPerToken(suite.points[i].metric, suite.points[i].value)));
      const obj = perSystemMedian(errs, ok.map((i) => suite.points[i].system));
      if (obj < best.objective) best = { value: v, objective: obj };
    }
    return best;
  };

  const folds: Fold[] = [];
  // A point the suite marks notForFitting is predicted like any other but never fits a runtime.
  const fittable = (i: number) => suite.points[i].notForFitting === undefined;
  let heldOut: PointResult[] | undefined;
  const systems = [...new Set(suite.points.map((p) => p.system))].sort();
  const idx = suite.points.map((_, i) => i);
  // Predict point i with its runtime fitted on fitIdx (the preset value when fitIdx is empty).
  const predict = (i: number, f: { value: number } | undefined) => pointResult(preps[i], f ? at(i, f.value) : at(i, undefined), f ? f.value : presetOf(i), f !== undefined, false);
  if (parameter && opts.fit.kind === 'loso') {
    const byPoint = new Map<number, PointResult>();
    for (const s of systems) {
      const mine = idx.filter((i) => suite.points[i].system === s);
      for (const r of [...new Set(mine.map((i) => preps[i].runtime))].sort()) {
        const fitIdx = idx.filter((i) => fittable(i) && suite.points[i].system !== s && preps[i].runtime === r);
        const f = fitIdx.length ? fit(fitIdx) : undefined;
        const fitSystems = [...new Set(fitIdx.map((i) => suite.points[i].system))].sort();
        folds.push({ heldOut: [s], runtime: r, fitSystems, fitPoints: fitIdx.map((i) => suite.points[i].id), value: f ? f.value : parameter.preset(r), fitObjective: f ? f.objective : NaN });
        for (const i of mine) if (preps[i].runtime === r) byPoint.set(i, predict(i, f));
      }
    }
    heldOut = idx.map((i) => byPoint.get(i)!);
  } else if (parameter && opts.fit.kind === 'subset') {
    const entries = opts.fit.systems;
    const inFit = (i: number) => inFitSubset(entries, suite.points[i]);
    const rest = idx.filter((i) => !inFit(i));
    const byPoint = new Map<number, PointResult>();
    for (const r of [...new Set(preps.map((p) => p.runtime))].sort()) {
      const fitIdx = idx.filter((i) => fittable(i) && inFit(i) && preps[i].runtime === r);
      const f = fitIdx.length ? fit(fitIdx) : undefined;
      const predicted = rest.filter((i) => preps[i].runtime === r);
      if (!predicted.length) continue;
      folds.push({
        heldOut: [...new Set(predicted.map((i) => suite.points[i].system))].sort(),
        runtime: r,
        fitSystems: [...new Set(fitIdx.map((i) => suite.points[i].system))].sort(),
        fitPoints: fitIdx.map((i) => suite.points[i].id),
        value: f ? f.value : parameter.preset(r),
        fitObjective: f ? f.objective : NaN,
      });
      for (const i of predicted) byPoint.set(i, predict(i, f));
    }
    heldOut = rest.map((i) => byPoint.get(i)!);
  }
  const outsidePresetFits = unfittedPoints.filter((r) => !usedForPresetFit(r.id));
  const heldOutOutside = heldOut?.filter((r) => !usedForPresetFit(r.id));
  return {
    suite: { description: suite.description, points: suite.points.length, systems, gpus: [...new Set(suite.points.map((p) => p.gpu))].sort() },
    ...(parameter
      ? { parameter: { name: parameter.name, unit: parameter.unit, meaning: parameter.meaning, grid: parameter.grid, presets: Object.fromEntries((Object.keys(runtimes) as RuntimeName[]).map((r) => [r, parameter.preset(r)])) } }
      : {}),
    fit: opts.fit,
    folds,
    notForFitting: suite.points.flatMap((p) => (p.notForFitting === undefined ? [] : [{ id: p.id, reason: p.notForFitting }])),
    unfitted: { points: unfittedPoints, summary: summarize(unfittedPoints) },
    presetFits: { fits: presetFits, outside: { points: outsidePresetFits, summary: summarize(outsidePresetFits) } },
    ...(heldOut ? { heldOut: { points: heldOut, summary: summarize(heldOut), outsidePresetFits: summarize(heldOutOutside!) } } : {}),
    mapping: systemRows(),
  };
}

export const defaultSuiteFile = (root = process.cwd()) => join(root, 'scenarios', 'published', 'points.json');
export const suiteBaseDir = (file: string) => dirname(resolve(file));
