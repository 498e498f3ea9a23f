/**
 * The report's charts: vega-lite specs with their data inline, and the numbers behind each as a
 * table. Pure functions of a ReportSource. A chart whose data is absent (no timeline recorded, no
 * predictor) is left out, never drawn empty.
 */
import {
  dedupeRows,
  distinct,
  paretoFront,
  policyRows,
  predictorRows,
  shortPath,
  sortedPoints,
  timelinePoint,
  variesByContext,
  type PolicyRow,
  type ReportSource,
} from './data.js';

export type Format = 'text' | 'pct' | 'int' | 'f1' | 'f2' | 'f3' | 'check';
export interface TableColumn {
  key: string;
  title: string;
  format?: Format;
}
export interface ChartTable {
  columns: TableColumn[];
  rows: Array<Record<string, unknown>>;
}
export type VegaLiteSpec = Record<string, unknown>;
export interface Chart {
  /** File-name safe id (charts/<id>.svg, the element id in the page). */
  id: string;
  title: string;
  caption: string;
  spec: VegaLiteSpec;
  table: ChartTable;
}

const WIDTH = 300;
const HEIGHT = 210;
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export const chartConfig = {
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' },
};

/** Colors per series, the same in every chart. */
function colorScale(series: string[]) {
  return { domain: series, scheme: 'tableau10' };
}

/** Wraps a single-view spec into panels per context when `facet`. */
function faceted(data: unknown[], view: Record<string, unknown>, facet: boolean, contexts: string[], title: string): VegaLiteSpec {
  const top = { $schema: SCHEMA, title, config: chartConfig, data: { values: data } };
  if (!facet) return { ...top, width: WIDTH, height: HEIGHT, ...view };
  return {
    ...top,
    facet: { field: 'ctx', type: 'nominal', sort: contexts, title: null, header: { labelFontWeight: 'bold' } },
    columns: Math.min(3, contexts.length),
    spec: { width: WIDTH, height: HEIGHT, ...view },
  };
}

const ctxNote = (facet: boolean, contexts: string[], paths: string[]): string =>
  contexts.length <= 1 ? '' : facet ? ' One panel per ' + paths.map(shortPath).join(' × ') + '.' : ` Identical for every ${paths.map(shortPath).join(' × ')}, so shown once.`;

function round(x: number, digits = 6): number {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : x;
}

/** Only the fields a chart uses, rounded: keeps the page small. */
function pick(r: PolicyRow, keys: Array<keyof PolicyRow>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of keys) o[k] = typeof r[k] === 'number' ? round(r[k] as number) : r[k];
  return { ...o, ...extra };
}

function logScaleIfWide(values: number[]): Record<string, unknown> {
  const pos = values.filter((v) => Number.isFinite(v) && v > 0);
  if (pos.length === 0) return { zero: true };
  const lo = Math.min(...pos);
  const hi = Math.max(...pos);
  return hi / lo > 20 ? { type: 'log' } : { zero: false };
}

export function buildCharts(src: ReportSource): Chart[] {
  const rows = dedupeRows(policyRows(src));
  const charts: Chart[] = [];
  const series = distinct(rows.map((r) => r.series));
  const contexts = distinct(rows.map((r) => r.ctx));
  const ctxPaths = (src.sweep?.grid ?? []).map((a) => a.path).filter((p) => !p.startsWith('policies'));
  const color = { field: 'series', type: 'nominal', title: 'policy', scale: colorScale(series) };
  const firstCtx = (rs: PolicyRow[]) => rs.filter((r) => r.ctx === contexts[0]);
  const ctxCol: TableColumn[] = contexts.length > 1 ? [{ key: 'ctx', title: ctxPaths.map(shortPath).join(', ') || 'point' }] : [];

  if (rows.length > 0) {
    // 1. Hit rate vs cache size.
    {
      const facet = contexts.length > 1 && variesByContext(rows, (r) => r.cachePerLayer, (r) => r.hitRate);
      const data = (facet ? rows : firstCtx(rows)).filter((r) => Number.isFinite(r.cachePerLayer)).map((r) => pick(r, ['ctx', 'series', 'label', 'cachePerLayer', 'hitRate']));
      const view = {
        mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
        encoding: {
          x: { field: 'cachePerLayer', type: 'quantitative', title: 'expert cache (experts per MoE layer)' },
          y: { field: 'hitRate', type: 'quantitative', title: 'hit rate', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
          color,
          tooltip: [
            { field: 'label', title: 'policy' },
            { field: 'cachePerLayer', title: 'experts/layer', format: '.2f' },
            { field: 'hitRate', title: 'hit rate', format: '.1%' },
          ],
        },
      };
      charts.push({
        id: 'hit-rate-vs-cache',
        title: 'Hit rate vs expert cache size',
        caption: 'Share of expert accesses served from the GPU cache, per policy, against the cache capacity. Belady is the offline optimum at each size.' + ctxNote(facet, contexts, ctxPaths),
        spec: faceted(data, view, facet, contexts, 'Hit rate vs expert cache size'),
        table: {
          columns: [{ key: 'label', title: 'policy' }, ...(facet ? ctxCol : []), { key: 'cachePerLayer', title: 'experts/layer', format: 'f2' }, { key: 'hitRate', title: 'hit rate', format: 'pct' }],
          rows: data,
        },
      });
    }

    // 2, 3. TPOT and throughput vs GPU memory, with the Pareto front.
    const frontChart = (id: string, title: string, field: 'tpotMs' | 'tokensPerSec', yTitle: string, lowerIsBetter: boolean, caption: string) => {
      const facet = contexts.length > 1 && variesByContext(rows, (r) => r.label, (r) => r[field]);
      const use = facet ? rows : firstCtx(rows);
      const front = paretoFront(use, (r) => r[field], lowerIsBetter);
      const data = use.map((r) => pick(r, ['ctx', 'series', 'label', 'gpuGiB', field, 'fits', 'point'], { front: front.has(r) }));
      const x = { field: 'gpuGiB', type: 'quantitative', title: 'peak GPU memory (GiB)', scale: { zero: false } };
      const y = { field, type: 'quantitative', title: yTitle, scale: logScaleIfWide(use.map((r) => r[field])) };
      const view = {
        layer: [
          {
            transform: [{ filter: 'datum.front' }],
            mark: { type: 'line', interpolate: 'step-after', color: '#333', strokeDash: [5, 3], strokeWidth: 1.5 },
            encoding: { x, y, order: { field: 'gpuGiB' } },
          },
          {
            mark: { type: 'point', filled: true, size: 55 },
            encoding: {
              x,
              y,
              color,
              opacity: { condition: { test: 'datum.fits', value: 0.9 }, value: 0.3 },
              tooltip: [
                { field: 'label', title: 'policy' },
                { field: 'gpuGiB', title: 'GPU GiB', format: '.2f' },
                { field, title: yTitle, format: '.2f' },
                { field: 'front', title: 'on the Pareto front' },
              ],
            },
          },
          {
            transform: [{ filter: 'datum.front' }],
            mark: { type: 'point', filled: false, size: 190, color: '#111', strokeWidth: 1.6 },
            encoding: { x, y },
          },
        ],
      };
      charts.push({
        id,
        title,
        caption: caption + ' Ringed points joined by the dashed line: the Pareto front (no other configuration that fits the GPU is better on both axes). Faded points do not fit the GPU (bounds only).' + ctxNote(facet, contexts, ctxPaths),
        spec: faceted(data, view, facet, contexts, title),
        table: {
          columns: [
            { key: 'label', title: 'policy' },
            ...(facet ? ctxCol : []),
            { key: 'gpuGiB', title: 'GPU GiB', format: 'f2' },
            { key: field, title: yTitle, format: 'f2' },
            { key: 'fits', title: 'fits GPU', format: 'check' },
            { key: 'front', title: 'Pareto front', format: 'check' },
          ],
          rows: data,
        },
      });
    };
    frontChart('tpot-vs-memory', 'Time per output token vs GPU memory', 'tpotMs', 'TPOT (ms)', true, 'Mean time per output token against peak GPU memory (resident weights, KV cache, expert cache, staging). Lower and further left is better.');
    frontChart('throughput-vs-memory', 'Throughput vs GPU memory', 'tokensPerSec', 'tokens/s', false, 'Generated tokens per second against peak GPU memory. Higher and further left is better.');

    // 4. Per-layer hit rate heatmap (first context: it does not depend on the link).
    {
      const use = firstCtx(rows);
      const labels: string[] = [];
      const cells: Array<Record<string, unknown>> = [];
      const table: Array<Record<string, unknown>> = [];
      let layers = 0;
      const byLabel = new Map<string, number[]>();
      for (const pt of sortedPoints(src)) {
        for (const p of pt.result?.results ?? []) {
          if (!use.some((r) => r.point === pt.point)) continue;
          const per = Array.isArray(p.metrics.perLayerHitRate) ? p.metrics.perLayerHitRate : [];
          if (per.length === 0 || byLabel.has(p.label)) continue;
          byLabel.set(p.label, per);
        }
      }
      // Order rows by series, then capacity.
      const order = use.filter((r, i, a) => a.findIndex((q) => q.label === r.label) === i).sort((a, b) => series.indexOf(a.series) - series.indexOf(b.series) || a.cachePerLayer - b.cachePerLayer);
      for (const r of order) {
        const per = byLabel.get(r.label);
        if (!per) continue;
        labels.push(r.label);
        layers = Math.max(layers, per.length);
        const row: Record<string, unknown> = { label: r.label };
        per.forEach((h, l) => {
          cells.push({ label: r.label, layer: l, hitRate: round(h, 4) });
          row[`L${l}`] = h;
        });
        table.push(row);
      }
      if (cells.length > 0) {
        const ctx = contexts.length > 1 ? ` At ${contexts[0]}.` : '';
        charts.push({
          id: 'per-layer-hit-rate',
          title: 'Hit rate per MoE layer',
          caption: 'Hit rate of each MoE layer (columns) for each policy and cache size (rows): where the cache helps and where it does not.' + ctx,
          spec: {
            $schema: SCHEMA,
            title: 'Hit rate per MoE layer',
            config: chartConfig,
            data: { values: cells },
            width: Math.max(240, Math.min(640, layers * 16)),
            height: Math.max(60, labels.length * 16),
            mark: { type: 'rect' },
            encoding: {
              x: { field: 'layer', type: 'ordinal', title: 'MoE layer', axis: { labelAngle: 0, labelExpr: 'datum.value % 4 === 0 ? datum.label : ""' } },
              y: { field: 'label', type: 'nominal', title: null, sort: labels },
              color: { field: 'hitRate', type: 'quantitative', title: 'hit rate', scale: { scheme: 'viridis', domain: [0, 1] }, legend: { format: '.0%' } },
              tooltip: [
                { field: 'label', title: 'policy' },
                { field: 'layer', title: 'MoE layer' },
                { field: 'hitRate', title: 'hit rate', format: '.1%' },
              ],
            },
          },
          table: {
            columns: [{ key: 'label', title: 'policy' }, ...Array.from({ length: layers }, (_, l): TableColumn => ({ key: `L${l}`, title: `L${l}`, format: 'pct' }))],
            rows: table,
          },
        });
      }
    }
  }

  // 5. Timeline of one run's window.
  const tl = timelinePoint(src);
  if (tl) {
    // Each run reaches the window at its own time: show every band from its own start.
    const resources = ['gpu', 'link', 'cpu'];
    const resourceTitle: Record<string, string> = { gpu: 'GPU compute', link: 'copy engine (H2D)', cpu: 'CPU' };
    let windowMs = 0;
    const spans = tl.runs.flatMap((r) => {
      const t0 = Math.min(...r.spans.map((s) => s.startMs));
      windowMs = Math.max(windowMs, Math.max(...r.spans.map((s) => s.endMs)) - t0);
      return r.spans.map((s) => ({
        label: r.label,
        resource: resourceTitle[s.resource] ?? s.resource,
        kind: s.kind,
        startMs: round(s.startMs - t0),
        endMs: round(s.endMs - t0),
        step: s.step,
        layer: s.layer,
        expert: s.expert,
      }));
    });
    const kinds = distinct(spans.map((s) => s.kind));
    const known: Record<string, string> = {
      attention: '#4c78a8',
      expert: '#54a24b',
      'lm-head': '#9ecae9',
      fetch: '#f58518',
      prefetch: '#eeca3b',
      stall: '#e45756',
      'cpu-expert': '#b279a2',
      evict: '#9d755d',
    };
    const palette = ['#72b7b2', '#ff9da6', '#bab0ac', '#d67195', '#439894'];
    const kindColors = kinds.map((k, i) => known[k] ?? palette[i % palette.length]);
    const windowOf = new Map<string, number>();
    for (const s of spans) windowOf.set(s.label, Math.max(windowOf.get(s.label) ?? 0, s.endMs));
    const summary = new Map<string, { label: string; resource: string; kind: string; spans: number; busyMs: number }>();
    for (const s of spans) {
      const key = JSON.stringify([s.label, s.resource, s.kind]);
      const e = summary.get(key) ?? { label: s.label, resource: s.resource, kind: s.kind, spans: 0, busyMs: 0 };
      e.spans++;
      e.busyMs += s.endMs - s.startMs;
      summary.set(key, e);
    }
    const labels = tl.runs.map((r) => r.label);
    const where = Object.keys(tl.point.assignments).length ? ` Sweep point ${tl.point.index + 1} (${Object.entries(tl.point.assignments).map(([k, v]) => `${shortPath(k)}=${JSON.stringify(v)}`).join(', ')}).` : '';
    const steps = distinct(spans.map((s) => s.step));
    charts.push({
      id: 'timeline',
      title: 'Timeline: GPU, copy engine and CPU',
      caption: `What each resource does during steps ${Math.min(...steps)}–${Math.max(...steps)}, one band per policy, each from the moment it reaches the window (the longest takes ${windowMs.toFixed(1)} ms). Red: the GPU stalls, waiting for expert weights.` +
        (tl.runs.some((r) => r.spans.some((s) => s.resource === 'cpu')) ? '' : ' The CPU row is empty: no policy here runs experts on the CPU.') +
        where,
      spec: {
        $schema: SCHEMA,
        title: 'Timeline: GPU, copy engine and CPU',
        config: chartConfig,
        data: { values: spans },
        facet: { row: { field: 'label', type: 'nominal', sort: labels, title: null, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' } } },
        spec: {
          width: 720,
          height: 66,
          mark: { type: 'bar', cornerRadius: 0 },
          encoding: {
            x: { field: 'startMs', type: 'quantitative', title: 'time in window (ms)', scale: { domain: [0, round(windowMs)] } },
            x2: { field: 'endMs' },
            y: { field: 'resource', type: 'nominal', title: null, sort: resources.map((r) => resourceTitle[r]), scale: { domain: resources.map((r) => resourceTitle[r]) } },
            color: { field: 'kind', type: 'nominal', title: 'activity', scale: { domain: kinds, range: kindColors } },
            tooltip: [
              { field: 'kind' },
              { field: 'step' },
              { field: 'layer', title: 'layer' },
              { field: 'expert' },
              { field: 'startMs', title: 'start ms', format: '.3f' },
              { field: 'endMs', title: 'end ms', format: '.3f' },
            ],
          },
        },
        resolve: { axis: { x: 'independent' } },
      },
      table: {
        columns: [
          { key: 'label', title: 'policy' },
          { key: 'resource', title: 'resource' },
          { key: 'kind', title: 'activity' },
          { key: 'spans', title: 'spans', format: 'int' },
          { key: 'busyMs', title: 'busy ms', format: 'f3' },
          { key: 'share', title: 'share of its window', format: 'pct' },
        ],
        rows: [...summary.values()].map((e) => ({ ...e, share: (windowOf.get(e.label) ?? 0) > 0 ? e.busyMs / windowOf.get(e.label)! : 0 })),
      },
    });
  }

  // 6. Bytes moved per policy.
  if (rows.length > 0) {
    const facet = contexts.length > 1 && variesByContext(rows, (r) => r.label, (r) => r.h2dGiB);
    const use = facet ? rows : firstCtx(rows);
    const data = use.map((r) => pick(r, ['ctx', 'series', 'label', 'cachePerLayer', 'h2dGiB', 'stallMs']));
    const caps = distinct(use.map((r) => r.cachePerLayer)).filter(Number.isFinite).sort((a, b) => a - b);
    const view = {
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'cachePerLayer', type: 'ordinal', title: 'expert cache (experts per MoE layer)', sort: caps, axis: { labelAngle: 0, format: '.3~f' } },
        xOffset: { field: 'series', sort: series },
        y: { field: 'h2dGiB', type: 'quantitative', title: 'host → GPU (GiB)' },
        color,
        tooltip: [
          { field: 'label', title: 'policy' },
          { field: 'h2dGiB', title: 'H2D GiB', format: '.2f' },
          { field: 'stallMs', title: 'stall ms', format: '.1f' },
        ],
      },
    };
    charts.push({
      id: 'bytes-moved',
      title: 'Bytes moved per policy',
      caption: 'Expert weights copied from host memory to the GPU over the whole run, per policy and cache size.' + ctxNote(facet, contexts, ctxPaths),
      spec: faceted(data, view, facet, contexts, 'Bytes moved per policy'),
      table: {
        columns: [
          { key: 'label', title: 'policy' },
          ...(facet ? ctxCol : []),
          { key: 'cachePerLayer', title: 'experts/layer', format: 'f2' },
          { key: 'h2dGiB', title: 'H2D GiB', format: 'f2' },
          { key: 'stallMs', title: 'stall ms', format: 'f1' },
        ],
        rows: data,
      },
    });
  }

  // 7. Predictor precision and recall vs lookahead, when results carry them.
  const pred = predictorRows(src);
  if (pred.length > 0) {
    const predCtx = distinct(pred.map((r) => r.ctx))[0];
    const use = pred.filter((r) => r.ctx === predCtx);
    const long = use.flatMap((r) => [
      { label: r.label, series: r.series, lookahead: r.lookahead, measure: 'precision', value: round(r.precision, 4) },
      { label: r.label, series: r.series, lookahead: r.lookahead, measure: 'recall', value: round(r.recall, 4) },
    ]);
    charts.push({
      id: 'predictor-vs-lookahead',
      title: 'Predictor precision and recall vs lookahead',
      caption: 'How well the routing predictor names the experts a layer will use, predicting that many layers ahead. Solid: precision; dashed: recall.' + (predCtx ? ` At ${predCtx}.` : ''),
      spec: {
        $schema: SCHEMA,
        title: 'Predictor precision and recall vs lookahead',
        config: chartConfig,
        data: { values: long },
        width: WIDTH,
        height: HEIGHT,
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'lookahead', type: 'quantitative', title: 'lookahead (layers)', axis: { tickMinStep: 1 } },
          y: { field: 'value', type: 'quantitative', title: 'precision / recall', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
          color: { field: 'series', type: 'nominal', title: 'policy', scale: colorScale(distinct(use.map((r) => r.series))) },
          strokeDash: { field: 'measure', type: 'nominal', title: null, sort: ['precision', 'recall'] },
          detail: { field: 'label' },
          tooltip: [{ field: 'label', title: 'policy' }, { field: 'lookahead' }, { field: 'measure' }, { field: 'value', format: '.1%' }],
        },
      },
      table: {
        columns: [
          { key: 'label', title: 'policy' },
          { key: 'lookahead', title: 'lookahead', format: 'int' },
          { key: 'precision', title: 'precision', format: 'pct' },
          { key: 'recall', title: 'recall', format: 'pct' },
        ],
        rows: use.map((r) => ({ label: r.label, lookahead: r.lookahead, precision: r.precision, recall: r.recall })),
      },
    });
  }
  return charts;
}
