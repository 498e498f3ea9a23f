/**
 * moesim reproduce: simulate every published point and compare.
 *
 * Each point becomes one scenario: the point's model preset (with its topK when the source changed
 * it), its hardware (GPU preset plus the source's host link / CPU), its precision, batch 1, and the
 * system's nearest policy (systems.ts). Mixtral points replay the shipped routing trace recorded on
 * the real model; other models get a seeded synthetic trace with the model's shape. The metric is
 * decode-only: seconds per token = the simulated mean TPOT (tokens/s = 1 / that).
 *
 * Fitted-parameter protocol: a parameter no source gives (today one: the GPU's per-kernel software
 * cost, `gpu.launchOverheadUs`, standing in for a runtime's per-kernel dispatch cost) is fitted by a
 * grid search on a declared subset of points only, and errors are reported on the points not used
 * for fitting. `loso` (leave one system out): for each system, fit on every other system's points
 * and predict that system's; every point is predicted exactly once by a fit that never saw it.
 */
import { dirname, join, resolve } from 'node:path';
import { parseScenario } from '../scenario/load.js';
import { runScenario } from '../sim/run.js';
import { resolveModel } from '../model/resolve.js';
import { numMoeLayers } from '../model/derived.js';
import { loadTrace } from '../trace/load.js';
import type { Trace } from '../trace/types.js';
import type { Rng } from '../rng/rng.js';
import type { TraceSpec } from '../trace/load.js';
import { secPerToken, type PublishedPoint, type PublishedSuite } from './points.js';
import { systemPolicy, systemTable } from './systems.js';
import { median, rankAgreement, shareWithin, signedError, type RankAgreement } from './stats.js';

/** The shipped Mixtral-8x7B-Instruct routing trace, relative to the suite file's folder (scenarios/published/). */
export const MIXTRAL_TRACE = '../../traces/mixtral-8x7b-instruct/humaneval-decode.jsonl';

export interface FittedParameter {
  name: string;
  unit: string;
  meaning: string;
  grid: number[];
  /** The datasheet / preset value used without fitting. */
  unfitted: number;
  apply: (hardware: Record<string, unknown>, value: number) => Record<string, unknown>;
}

export const launchOverhead: FittedParameter = {
  name: 'gpu.launchOverheadUs',
  unit: 'us per kernel',
  meaning: "GPU time per kernel launch; fitted, it absorbs a runtime's per-kernel software cost (eager dispatch, hooks, dequantisation launches)",
  grid: [5, 25, 50, 100, 200, 400, 800, 1200, 1600, 2400, 3200, 4800],
  unfitted: 5,
  apply: (hw, v) => ({ ...hw, gpu: { ...((hw.gpu as object | undefined) ?? {}), launchOverheadUs: v } }),
};

export type FitMode = { kind: 'none' } | { kind: 'loso' } | { kind: 'subset'; systems: string[] };

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
  /** The fitted parameter's value this prediction used, and whether the point was in its fit set. */
  parameterValue: number;
  usedForFitting: boolean;
  comparison?: string;
  failure?: string;
  source: string;
}

export interface Fold {
  /** What was predicted with this fit (a system, or "all but the fit set"). */
  heldOut: string[];
  fitSystems: string[];
  fitPoints: string[];
  value: number;
  /** Median |log(sim/published)| on the fit set at the chosen value. */
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
  parameter?: { name: string; unit: string; meaning: string; grid: number[]; unfitted: number };
  fit: FitMode;
  folds: Fold[];
  /** Errors at the unfitted (preset) values, every point. */
  unfitted: { points: PointResult[]; summary: Summary };
  /** Errors reported on points not used for fitting (absent with fit none). */
  heldOut?: { points: PointResult[]; summary: Summary };
  mapping: Record<string, { does: string; missing: string }>;
}

/** The scenario (raw, before validation) a point is simulated with. */
export function pointScenario(p: PublishedPoint, opts: { parameter?: FittedParameter; value?: number; syntheticTokens?: number } = {}): Record<string, unknown> {
  const modelSpec = p.topK !== undefined ? { preset: p.model, topK: p.topK } : p.model;
  const model = resolveModel(modelSpec, `${p.id}.model`);
  const trace: TraceSpec =
    p.model === 'mixtral-8x7b' && p.topK === undefined
      ? { path: MIXTRAL_TRACE }
      : {
          synthetic: {
            layers: numMoeLayers(model),
            experts: model.numExperts,
            topK: model.topK,
            sequences: 2,
            tokensPerSequence: opts.syntheticTokens ?? 48,
            popularity: { kind: 'zipf', exponent: 1.0 },
            locality: 0.3,
            affinity: 0.2,
          },
        } as TraceSpec;
  const hardware = opts.parameter && opts.value !== undefined ? opts.parameter.apply(p.hardware, opts.value) : p.hardware;
  return {
    name: p.id,
    seed: 1,
    model: modelSpec,
    hardware,
    precision: p.precision,
    trace,
    workload: { batchSize: 1, promptTokens: 0 },
    policies: [systemPolicy(p)],
  };
}

/** Simulated seconds per token of one point (throws what the scenario throws). */
export async function simulatePoint(
  p: PublishedPoint,
  baseDir: string,
  opts: { parameter?: FittedParameter; value?: number; syntheticTokens?: number; loadTrace?: typeof loadTrace } = {},
): Promise<number> {
  const scenario = parseScenario(pointScenario(p, opts), `${p.id} (scenarios/published)`);
  const result = await runScenario(scenario, { baseDir, file: p.id, ...(opts.loadTrace ? { loadTrace: opts.loadTrace } : {}) });
  const tpotMs = result.results[0].metrics.tpotMs;
  return tpotMs / 1000;
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
        medianSignedError: median(e),
        within25: shareWithin(e),
        medianFactor: Math.exp(median(rs.map((r) => logErr(r.simulatedSecPerToken!, r.publishedSecPerToken)))),
        tooFast: rs.filter((r) => r.simulatedSecPerToken! < r.publishedSecPerToken).length,
      };
    }),
  };
}

function pointResult(p: PublishedPoint, sim: number | Error, value: number, usedForFitting: boolean): PointResult {
  const base = {
    id: p.id,
    system: p.system,
    ...(p.variant ? { variant: p.variant } : {}),
    model: p.topK ? `${p.model} (top-${p.topK})` : p.model,
    gpu: p.gpu,
    metric: p.metric,
    published: p.value,
    publishedSecPerToken: secPerToken(p.metric, p.value),
    parameterValue: value,
    usedForFitting,
    ...(p.comparison ? { comparison: p.comparison } : {}),
    source: `${p.source.ref}, ${p.source.locator}`,
  };
  if (sim instanceof Error) return { ...base, failure: sim.message };
  const simulated = p.metric === 'secPerToken' ? sim : 1 / sim;
  return { ...base, simulated, error: signedError(simulated, p.value), simulatedSecPerToken: sim };
}

const logErr = (simSec: number, pubSec: number) => Math.abs(Math.log(simSec / pubSec));

export async function reproduce(suite: PublishedSuite, opts: ReproduceOptions): Promise<ReproduceResult> {
  const parameter = opts.fit.kind === 'none' ? undefined : (opts.parameter ?? launchOverhead);
  const values = parameter ? [...new Set([parameter.unfitted, ...parameter.grid])] : [launchOverhead.unfitted];
  const traces = new Map<string, Promise<Trace>>();
  const cachedLoad: typeof loadTrace = (spec: TraceSpec, baseDir: string, rng: Rng) => {
    if (!('path' in spec)) return loadTrace(spec, baseDir, rng);
    const key = resolve(baseDir, String(spec.path));
    let t = traces.get(key);
    if (!t) traces.set(key, (t = loadTrace(spec, baseDir, rng)));
    return t;
  };
  // sims[pointIndex][valueIndex]: seconds per token or the error that stopped it.
  const sims: (number | Error)[][] = [];
  const total = suite.points.length * values.length;
  let done = 0;
  for (const p of suite.points) {
    const row: (number | Error)[] = [];
    for (const v of values) {
      try {
        row.push(await simulatePoint(p, opts.baseDir, { parameter: parameter ?? launchOverhead, value: v, syntheticTokens: opts.syntheticTokens, loadTrace: cachedLoad }));
      } catch (e) {
        row.push(e as Error);
      }
      opts.onProgress?.(++done, total);
    }
    sims.push(row);
  }
  const at = (i: number, v: number) => sims[i][values.indexOf(v)];
  const unfittedValue = parameter?.unfitted ?? launchOverhead.unfitted;
  const unfittedPoints = suite.points.map((p, i) => pointResult(p, at(i, unfittedValue), unfittedValue, false));

  const fit = (fitIdx: number[]): { value: number; objective: number } => {
    let best = { value: parameter!.grid[0], objective: Infinity };
    for (const v of parameter!.grid) {
      const errs = fitIdx.flatMap((i) => {
        const s = at(i, v);
        return s instanceof Error ? [] : [logErr(s, secPerToken(suite.points[i].metric, suite.points[i].value))];
      });
      const obj = median(errs);
      if (obj < best.objective) best = { value: v, objective: obj };
    }
    return best;
  };

  const folds: Fold[] = [];
  let heldOut: PointResult[] | undefined;
  const systems = [...new Set(suite.points.map((p) => p.system))].sort();
  if (parameter && opts.fit.kind === 'loso') {
    heldOut = [];
    const bySystem = new Map<string, PointResult>();
    for (const s of systems) {
      const fitIdx = suite.points.flatMap((p, i) => (p.system !== s ? [i] : []));
      const f = fit(fitIdx);
      folds.push({ heldOut: [s], fitSystems: systems.filter((x) => x !== s), fitPoints: fitIdx.map((i) => suite.points[i].id), value: f.value, fitObjective: f.objective });
      suite.points.forEach((p, i) => {
        if (p.system === s) bySystem.set(p.id, pointResult(p, at(i, f.value), f.value, false));
      });
    }
    heldOut = suite.points.map((p) => bySystem.get(p.id)!);
  } else if (parameter && opts.fit.kind === 'subset') {
    const fitSet = new Set(opts.fit.systems);
    const fitIdx = suite.points.flatMap((p, i) => (fitSet.has(p.system) ? [i] : []));
    const f = fit(fitIdx);
    const rest = systems.filter((s) => !fitSet.has(s));
    folds.push({ heldOut: rest, fitSystems: [...fitSet].sort(), fitPoints: fitIdx.map((i) => suite.points[i].id), value: f.value, fitObjective: f.objective });
    heldOut = suite.points.flatMap((p, i) => (fitSet.has(p.system) ? [] : [pointResult(p, at(i, f.value), f.value, false)]));
  }
  return {
    suite: { description: suite.description, points: suite.points.length, systems, gpus: [...new Set(suite.points.map((p) => p.gpu))].sort() },
    ...(parameter ? { parameter: { name: parameter.name, unit: parameter.unit, meaning: parameter.meaning, grid: parameter.grid, unfitted: parameter.unfitted } } : {}),
    fit: opts.fit,
    folds,
    unfitted: { points: unfittedPoints, summary: summarize(unfittedPoints) },
    ...(heldOut ? { heldOut: { points: heldOut, summary: summarize(heldOut) } } : {}),
    mapping: Object.fromEntries(Object.entries(systemTable).map(([k, m]) => [k, { does: m.does, missing: m.missing }])),
  };
}

export const defaultSuiteFile = (root = process.cwd()) => join(root, 'scenarios', 'published', 'points.json');
export const suiteBaseDir = (file: string) => dirname(resolve(file));
