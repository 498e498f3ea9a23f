/**
 * Results -> flat rows for charts and tables. Pure functions; tolerant of fields other versions add
 * or have not added yet (everything beyond the core Metrics is read defensively).
 */
import type { PolicyResult, RunResult, TimelineSpan } from '../metrics/types.js';
import { fieldValueLabel, isBound } from './style.js';

const GiB = 2 ** 30;

/** One simulated point (a sweep point, or the single point of `moesim run`). */
export interface ReportPoint {
  point: string;
  index: number;
  assignments: Record<string, unknown>;
  seed: number | string;
  result?: RunResult;
  error?: string;
}

/** Everything a report shows. */
export interface ReportSource {
  name: string;
  description?: string;
  kind: 'run' | 'sweep';
  /** The scenario as written (a sweep's base scenario, without its sweep block). */
  scenario: unknown;
  scenarioFile?: string;
  sweep?: {
    id: string;
    mode: string;
    grid: Array<{ path: string; values: unknown[] }>;
    totalPoints: number;
    shard?: { index: number; count: number };
  };
  points: ReportPoint[];
  /** What reading the results left out (damaged lines, duplicates): `file:line: why`, shown on the page. */
  leftOut?: string[];
}

/** One policy at one point: what most charts plot. */
export interface PolicyRow {
  point: string;
  index: number;
  /** The point's non-policy assignments ("link.bandwidthGBps=16"), '' when none. */
  ctx: string;
  /** The policy across points: its label when the scenario gave one, else its kind. */
  series: string;
  /** The label of this run ("lru, 4/layer"). */
  label: string;
  policy: string;
  /** Expert cache capacity in experts per MoE layer (a global cache: its average). */
  cachePerLayer: number;
  cacheExperts: number;
  hitRate: number;
  tpotMs: number;
  tpotP99Ms: number;
  ttftMs: number;
  tokensPerSec: number;
  gpuGiB: number;
  h2dGiB: number;
  stallMs: number;
  /** False for a bound that does not fit the GPU (all experts resident on a small GPU). */
  fits: boolean;
  /** A bound (belady, all-on-gpu, an oracle predictor), not a policy a system could run. */
  bound: boolean;
  seed: number | string;
}

const num = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? x : NaN);

/** The last two segments of a path, for labels: hardware.link.bandwidthGBps -> link.bandwidthGBps. */
export function shortPath(path: string): string {
  const parts = path.split('.');
  return parts.length <= 2 ? path : parts.slice(-2).join('.');
}

const showValue = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** Assignments that vary the world rather than the policies: the panels of a faceted chart ("link bandwidth 16 GB/s"). */
export function contextOf(assignments: Record<string, unknown>): string {
  return Object.entries(assignments)
    .filter(([path]) => !path.startsWith('policies'))
    .map(([path, v]) => fieldValueLabel(path, v))
    .join(', ');
}

/** "path=value" as typed on the command line. */
export const assignmentText = (path: string, v: unknown): string => `${shortPath(path)}=${showValue(v)}`;

/** Series names of a run's policies: explicit labels, else kinds. */
function seriesNames(r: RunResult): string[] {
  const resolved = (r.scenario?.resolved ?? {}) as { policies?: Array<{ label?: string }> };
  return r.results.map((p, i) => resolved.policies?.[i]?.label ?? p.policy);
}

export function sortedPoints(src: ReportSource): ReportPoint[] {
  return [...src.points].sort((a, b) => a.index - b.index);
}

export function policyRows(src: ReportSource): PolicyRow[] {
  const rows: PolicyRow[] = [];
  for (const pt of sortedPoints(src)) {
    const r = pt.result;
    if (!r) continue;
    const names = seriesNames(r);
    r.results.forEach((p: PolicyResult, i) => {
      const m = p.metrics;
      const layers = Array.isArray(m.perLayerHitRate) && m.perLayerHitRate.length > 0 ? m.perLayerHitRate.length : 1;
      const cap = num(m.cacheCapacityExperts);
      rows.push({
        point: pt.point,
        index: pt.index,
        ctx: contextOf(pt.assignments),
        series: names[i],
        label: p.label,
        policy: p.policy,
        cachePerLayer: cap < 0 ? NaN : cap / layers,
        cacheExperts: cap,
        hitRate: num(m.hitRate),
        tpotMs: num(m.tpotMs),
        tpotP99Ms: num(m.tpotP99Ms),
        ttftMs: num(m.ttftMs),
        tokensPerSec: num(m.tokensPerSec),
        gpuGiB: num(m.gpuMemoryBytes) / GiB,
        h2dGiB: num(m.bytesH2D) / GiB,
        stallMs: num(m.stallMs),
        fits: m.fitsInHbm !== false,
        bound: isBound(p.policy, p.label, p.predictor?.kind),
        seed: pt.seed,
      });
    });
  }
  return rows;
}

/**
 * Drops repeats: a policy the grid does not touch (`none`) runs identically at every point that
 * differs only in other policies' cache size. Rows are repeats when context, label and results agree.
 */
export function dedupeRows(rows: readonly PolicyRow[]): PolicyRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const key = JSON.stringify([r.ctx, r.label, r.hitRate, r.tpotMs, r.tokensPerSec, r.gpuGiB, r.h2dGiB, r.stallMs]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Distinct values in first-seen order. */
export function distinct<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

/**
 * Whether `value` differs between contexts for the same series and x: if not, one panel says it all
 * (hit rate does not depend on link bandwidth).
 */
export function variesByContext(rows: readonly PolicyRow[], x: (r: PolicyRow) => unknown, value: (r: PolicyRow) => number): boolean {
  const seen = new Map<string, number>();
  for (const r of rows) {
    const key = JSON.stringify([r.series, r.label, x(r)]);
    const v = value(r);
    const prev = seen.get(key);
    if (prev === undefined) seen.set(key, v);
    else if (!(Number.isNaN(prev) && Number.isNaN(v)) && Math.abs(prev - v) > 1e-9 * Math.max(1, Math.abs(prev))) return true;
  }
  return false;
}

/**
 * Marks the Pareto front per context: no other fitting point has less (or equal) GPU memory and a
 * better value. `better(a, b)`: a is strictly better than b.
 */
export function paretoFront(rows: readonly PolicyRow[], value: (r: PolicyRow) => number, lowerIsBetter: boolean): Set<PolicyRow> {
  const front = new Set<PolicyRow>();
  const byCtx = new Map<string, PolicyRow[]>();
  for (const r of rows) {
    if (!r.fits || !Number.isFinite(value(r)) || !Number.isFinite(r.gpuGiB)) continue;
    byCtx.set(r.ctx, [...(byCtx.get(r.ctx) ?? []), r]);
  }
  const sign = lowerIsBetter ? 1 : -1;
  for (const list of byCtx.values()) {
    list.sort((a, b) => a.gpuGiB - b.gpuGiB || sign * (value(a) - value(b)));
    let best = Infinity;
    for (const r of list) {
      const v = sign * value(r);
      if (v < best) {
        front.add(r);
        best = v;
      }
    }
  }
  return front;
}

/** The first point (grid order) that recorded a timeline, with its spans. */
export function timelinePoint(src: ReportSource): { point: ReportPoint; runs: Array<{ label: string; spans: TimelineSpan[] }> } | undefined {
  for (const pt of sortedPoints(src)) {
    const runs = (pt.result?.results ?? []).filter((p) => Array.isArray(p.timeline) && p.timeline.length > 0).map((p) => ({ label: p.label, spans: p.timeline! }));
    if (runs.length > 0) return { point: pt, runs };
  }
  return undefined;
}

/** Predictor quality per lookahead, when a result carries it (PolicyResult.predictor.perLookahead). */
export interface PredictorRow {
  point: string;
  ctx: string;
  series: string;
  kind: string;
  label: string;
  lookahead: number;
  precision: number;
  recall: number;
}

/**
 * A predictor standing for a system's, its accuracy measured on this run's trace in the paper's own
 * metric next to the value the paper publishes (PolicyResult.predictor.published and
 * .schedulerPredictor.published; src/predictors/published.ts).
 */
export interface PublishedPredictorRow {
  point: string;
  ctx: string;
  label: string;
  /** The predictor's kind, and 'scheduler' for a token scheduler's path predictor. */
  role: 'prefetch' | 'scheduler';
  kind: string;
  system: string;
  metric: string;
  /** null: the paper defines no metric that was measured here. */
  measured: number | null;
  /** null: the paper publishes no number (its note says why). */
  published: number | null;
  lowerBound: boolean;
  source: string;
}

export function publishedPredictorRows(src: ReportSource): PublishedPredictorRow[] {
  const rows: PublishedPredictorRow[] = [];
  for (const pt of sortedPoints(src)) {
    const r = pt.result;
    if (!r) continue;
    for (const p of r.results) {
      const both: Array<['prefetch' | 'scheduler', { kind?: unknown; published?: unknown } | undefined]> = [
        ['prefetch', p.predictor],
        ['scheduler', p.schedulerPredictor],
      ];
      for (const [role, pred] of both) {
        const c = pred?.published as Record<string, unknown> | undefined;
        if (c === undefined || c === null || typeof c !== 'object') continue;
        const value = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
        rows.push({
          point: pt.point,
          ctx: contextOf(pt.assignments),
          label: p.label,
          role,
          kind: String(pred?.kind ?? ''),
          system: String(c.system ?? ''),
          metric: c.metric === null || c.metric === undefined ? '-' : String(c.metric),
          measured: value(c.measured),
          published: value(c.value),
          lowerBound: c.bound === 'lower',
          source: `${String(c.paper ?? '')}, ${String(c.where ?? '')}`,
        });
      }
    }
  }
  return rows;
}

/**
 * Reads the predictor's perLookahead in either shape a simulator may write: a list of
 * `{lookahead, precision, recall}`, or a record keyed by lookahead.
 */
export function predictorRows(src: ReportSource): PredictorRow[] {
  const rows: PredictorRow[] = [];
  for (const pt of sortedPoints(src)) {
    const r = pt.result;
    if (!r) continue;
    const names = seriesNames(r);
    r.results.forEach((p, i) => {
      // The RunResult keeps it on the policy result (PolicyResult.predictor.evaluation); results written by an
      // earlier moesim, or by hand, may have it under metrics, and perLookahead at its top.
      const pred = (p.predictor ?? (p.metrics as { predictor?: unknown }).predictor) as { perLookahead?: unknown; evaluation?: { perLookahead?: unknown } } | undefined;
      const per = pred?.evaluation?.perLookahead ?? pred?.perLookahead;
      if (per === undefined || per === null || typeof per !== 'object') return;
      const entries: Array<[unknown, unknown]> = Array.isArray(per)
        ? per.map((e: unknown) => [(e as { lookahead?: unknown })?.lookahead, e])
        : Object.entries(per as Record<string, unknown>);
      for (const [la, e] of entries) {
        const lookahead = Number(la);
        const q = e as { precision?: unknown; recall?: unknown };
        if (!Number.isFinite(lookahead) || q === null || typeof q !== 'object') continue;
        rows.push({ point: pt.point, ctx: contextOf(pt.assignments), series: names[i], kind: p.policy, label: p.label, lookahead, precision: num(q.precision), recall: num(q.recall) });
      }
    });
  }
  return rows;
}
