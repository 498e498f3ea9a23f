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
  publishedPredictorRows,
  sortedPoints,
  timelinePoint,
  variesByContext,
  type PolicyRow,
  type ReportSource,
} from './data.js';
import { tierCharts } from './tiers.js';
import { chartConfig, FULL_WIDTH, fieldLabel, fieldValueLabel, kindColorScale, SCHEMA } from './style.js';

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
  /** The page's key comparison: drawn first, and marked. */
  key?: boolean;
}

export { chartConfig } from './style.js';

const HEIGHT = 300;

/** Plot width of one of `n` panels side by side in the page column. */
const panelWidth = (n: number): number => Math.floor((FULL_WIDTH - 40 * (n - 1)) / n);

/** Wraps a single-view spec into panels per context when `facet`. */
function faceted(data: unknown[], view: Record<string, unknown>, facet: boolean, contexts: string[], title: string): VegaLiteSpec {
  const top = { $schema: SCHEMA, title, config: chartConfig, data: { values: data } };
  if (!facet) return { ...top, width: FULL_WIDTH, height: HEIGHT + 60, ...view };
  const columns = Math.min(3, contexts.length);
  return {
    ...top,
    facet: { field: 'ctx', type: 'nominal', sort: contexts, title: null, header: { labelFontWeight: 'bold', labelFontSize: 13 } },
    columns,
    spec: { width: panelWidth(columns), height: HEIGHT - 40, ...view },
  };
}

const ctxNote = (facet: boolean, contexts: string[], paths: string[]): string =>
  contexts.length <= 1 ? '' : facet ? ' One panel per ' + paths.map(fieldLabel).join(' × ') + '.' : ` Identical for every ${paths.map(fieldLabel).join(' × ')}, so shown once.`;

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

/** An axis title that says when its scale is logarithmic. */
const scaleTitle = (title: string, scale: Record<string, unknown>): string => (scale.type === 'log' ? `${title}, log scale` : title);

export function buildCharts(src: ReportSource): Chart[] {
  const rows = dedupeRows(policyRows(src));
  const charts: Chart[] = [];
  const series = distinct(rows.map((r) => r.series));
  const contexts = distinct(rows.map((r) => r.ctx));
  const ctxPaths = (src.sweep?.grid ?? []).map((a) => a.path).filter((p) => !p.startsWith('policies'));
  const kinds = distinct(rows.map((r) => r.policy));
  const color = { field: 'policy', type: 'nominal', title: 'policy kind', scale: kindColorScale(kinds) };
  // Series of one kind (labelled variants, prefetching) share its colour and differ by shape.
  const shape = series.length > kinds.length ? { shape: { field: 'series', type: 'nominal', title: 'policy', sort: series } } : {};
  const firstCtx = (rs: PolicyRow[]) => rs.filter((r) => r.ctx === contexts[0]);
  const ctxCol: TableColumn[] = contexts.length > 1 ? [{ key: 'ctx', title: ctxPaths.map(fieldLabel).join(', ') || 'point' }] : [];

  // 0. The key comparison of a single run: TPOT, throughput and GPU memory per policy, bounds apart.
  if (rows.length > 0 && contexts.length === 1) {
    const use = rows.filter((r, i, a) => a.findIndex((q) => q.label === r.label) === i);
    const REAL = 'policies a system can run';
    const BOUND = 'bounds (offline optimum, everything resident, oracles)';
    const ordered = [...use.filter((r) => !r.bound), ...use.filter((r) => r.bound)];
    const data = ordered.map((r) => pick(r, ['label', 'policy', 'series', 'tpotMs', 'tokensPerSec', 'gpuGiB', 'fits', 'bound'], { group: r.bound ? BOUND : REAL }));
    const groups = [REAL, BOUND].filter((g) => data.some((d) => d.group === g));
    const labels = ordered.map((r) => r.label);
    const metrics: Array<{ field: 'tpotMs' | 'tokensPerSec' | 'gpuGiB'; title: string; format: string }> = [
      { field: 'tpotMs', title: 'time per output token (ms) — lower is better', format: '.2f' },
      { field: 'tokensPerSec', title: 'tokens/s — higher is better', format: '.1f' },
      { field: 'gpuGiB', title: 'peak GPU memory (GiB)', format: '.1f' },
    ];
    const w = panelWidth(3) - 50;
    charts.push({
      id: 'policy-comparison',
      key: true,
      title: 'Policies compared: time per token, throughput, GPU memory',
      caption:
        'Each policy of the scenario on the same trace and hardware. Bounds are drawn apart (hatched outline, lighter): they are what no real system reaches, the offline optimum with the same cache (belady) or every expert on the GPU (all-on-gpu). A bar marked "does not fit" needs more memory than the GPU has.',
      spec: {
        $schema: SCHEMA,
        title: 'Policies compared',
        config: chartConfig,
        data: { values: data },
        // One row of three panels per group (policies, then bounds), each metric on the same x in both rows.
        columns: 3,
        concat: groups.flatMap((g) =>
          metrics.map((m, i) => {
            const max = Math.max(0, ...data.map((d) => Number(d[m.field])).filter(Number.isFinite));
            const inGroup = labels.filter((l) => data.some((d) => d.label === l && d.group === g));
            return {
              ...(i === 0 ? { title: { text: g, fontSize: 12, fontWeight: 'bold', anchor: 'start', offset: 6 } } : { title: { text: ' ', fontSize: 12, offset: 6 } }),
              transform: [{ filter: { field: 'group', equal: g } }],
              width: w,
              height: { step: 24 },
              encoding: {
                y: { field: 'label', type: 'nominal', sort: inGroup, title: null, axis: i === 0 ? { labelLimit: 220 } : { labels: false, ticks: false, domain: false } },
                x: { field: m.field, type: 'quantitative', title: m.title, scale: { domain: [0, max * 1.18 || 1], nice: false } },
              },
              layer: [
                {
                  mark: { type: 'bar', cornerRadiusEnd: 2, stroke: '#333' },
                  encoding: {
                    color,
                    opacity: { condition: { test: 'datum.bound', value: 0.45 }, value: 0.95 },
                    strokeWidth: { condition: { test: 'datum.bound', value: 1.2 }, value: 0 },
                    strokeDash: { condition: { test: 'datum.bound', value: [4, 2] }, value: [1, 0] },
                    tooltip: [
                      { field: 'label', title: 'policy' },
                      { field: m.field, title: m.title, format: m.format },
                      { field: 'bound', title: 'bound' },
                    ],
                  },
                },
                {
                  mark: { type: 'text', align: 'left', dx: 4, fontSize: 11, color: '#333' },
                  encoding: {
                    text: { condition: { test: `datum.fits === false && '${m.field}' === 'gpuGiB'`, value: 'does not fit' }, field: m.field, format: m.format },
                  },
                },
              ],
            };
          }),
        ),
        spacing: 24,
      },
      table: {
        columns: [
          { key: 'label', title: 'policy' },
          { key: 'tpotMs', title: 'TPOT ms', format: 'f2' },
          { key: 'tokensPerSec', title: 'tokens/s', format: 'f1' },
          { key: 'gpuGiB', title: 'GPU GiB', format: 'f2' },
          { key: 'fits', title: 'fits GPU', format: 'check' },
          { key: 'bound', title: 'bound', format: 'check' },
        ],
        rows: data,
      },
    });
  }

  if (rows.length > 0) {
    // 1. Hit rate vs cache size.
    {
      const facet = contexts.length > 1 && variesByContext(rows, (r) => r.cachePerLayer, (r) => r.hitRate);
      const data = (facet ? rows : firstCtx(rows)).filter((r) => Number.isFinite(r.cachePerLayer)).map((r) => pick(r, ['ctx', 'series', 'policy', 'label', 'cachePerLayer', 'hitRate', 'bound']));
      const view = {
        mark: { type: 'line', point: { size: 60, filled: true }, strokeWidth: 2 },
        encoding: {
          x: { field: 'cachePerLayer', type: 'quantitative', title: 'expert cache (experts per MoE layer)' },
          y: { field: 'hitRate', type: 'quantitative', title: 'hit rate', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
          color,
          detail: { field: 'series' },
          ...shape,
          strokeDash: { field: 'bound', type: 'nominal', title: 'bound', scale: { domain: [false, true], range: [[1, 0], [5, 3]] }, legend: null },
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
        caption: 'Share of expert accesses served from the GPU cache, per policy, against the cache capacity. Dashed: a bound (belady, the offline optimum at each size).' + ctxNote(facet, contexts, ctxPaths),
        spec: faceted(data, view, facet, contexts, 'Hit rate vs expert cache size'),
        table: {
          columns: [{ key: 'label', title: 'policy' }, ...(facet ? ctxCol : []), { key: 'cachePerLayer', title: 'experts/layer', format: 'f2' }, { key: 'hitRate', title: 'hit rate', format: 'pct' }],
          rows: data,
        },
      });
    }

    // 2, 3. TPOT and throughput vs GPU memory, with the Pareto front.
    const frontChart = (id: string, title: string, field: 'tpotMs' | 'tokensPerSec', yTitle: string, lowerIsBetter: boolean, caption: string, key: boolean) => {
      const facet = contexts.length > 1 && variesByContext(rows, (r) => r.label, (r) => r[field]);
      const use = facet ? rows : firstCtx(rows);
      // The front over what a system can run: bounds are references, never on it.
      const front = paretoFront(use.filter((r) => !r.bound), (r) => r[field], lowerIsBetter);
      const data = use.map((r) => pick(r, ['ctx', 'series', 'policy', 'label', 'gpuGiB', field, 'fits', 'bound', 'point'], { front: front.has(r) }));
      const yScale = logScaleIfWide(use.map((r) => r[field]));
      const x = { field: 'gpuGiB', type: 'quantitative', title: 'peak GPU memory (GiB)', scale: { zero: false } };
      const y = { field, type: 'quantitative', title: scaleTitle(yTitle, yScale), scale: yScale };
      const view = {
        layer: [
          {
            transform: [{ filter: 'datum.front' }],
            mark: { type: 'line', interpolate: 'step-after', color: '#333', strokeDash: [5, 3], strokeWidth: 1.5 },
            encoding: { x, y, order: { field: 'gpuGiB' } },
          },
          {
            transform: [{ filter: '!datum.bound' }],
            mark: { type: 'point', filled: true, size: 70 },
            encoding: {
              x,
              y,
              color,
              ...shape,
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
            transform: [{ filter: 'datum.bound' }],
            mark: { type: 'point', shape: 'diamond', filled: false, size: 110, strokeWidth: 1.8 },
            encoding: {
              x,
              y,
              color,
              opacity: { condition: { test: 'datum.fits', value: 0.9 }, value: 0.35 },
              tooltip: [
                { field: 'label', title: 'bound' },
                { field: 'gpuGiB', title: 'GPU GiB', format: '.2f' },
                { field, title: yTitle, format: '.2f' },
                { field: 'fits', title: 'fits the GPU' },
              ],
            },
          },
          {
            transform: [{ filter: 'datum.front' }],
            mark: { type: 'point', filled: false, size: 220, color: '#111', strokeWidth: 1.6 },
            encoding: { x, y },
          },
        ],
      };
      charts.push({
        id,
        title,
        key,
        caption:
          caption +
          ' Filled points: policies a system can run; ringed and joined by the dashed line, their Pareto front (no other runnable configuration that fits the GPU is better on both axes). Hollow diamonds: bounds (belady, all-on-gpu, oracles), shown for reference and never on the front. Faded: does not fit the GPU.' +
          ctxNote(facet, contexts, ctxPaths),
        spec: faceted(data, view, facet, contexts, title),
        table: {
          columns: [
            { key: 'label', title: 'policy' },
            ...(facet ? ctxCol : []),
            { key: 'gpuGiB', title: 'GPU GiB', format: 'f2' },
            { key: field, title: yTitle, format: 'f2' },
            { key: 'fits', title: 'fits GPU', format: 'check' },
            { key: 'bound', title: 'bound', format: 'check' },
            { key: 'front', title: 'Pareto front', format: 'check' },
          ],
          rows: data,
        },
      });
    };
    const sweepKey = contexts.length > 1 || rows.length > distinct(rows.map((r) => r.label)).length;
    frontChart('tpot-vs-memory', 'Time per output token vs GPU memory', 'tpotMs', 'TPOT (ms)', true, 'Mean time per output token against peak GPU memory (resident weights, KV cache, expert cache, staging). Lower and further left is better.', sweepKey);
    frontChart('throughput-vs-memory', 'Throughput vs GPU memory', 'tokensPerSec', 'tokens/s', false, 'Generated tokens per second against peak GPU memory. Higher and further left is better.', false);

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
    // The SSD lane (issue 16) only where a run read from an SSD; the link lane unless every run fetches from the SSD itself.
    const lanes = new Set(tl.runs.flatMap((r) => r.spans.map((s) => s.resource)));
    const hasSsd = lanes.has('ssd');
    const resources = ['gpu', ...(lanes.has('link') || !hasSsd ? ['link'] : []), ...(hasSsd ? ['ssd'] : []), 'cpu'];
    const resourceTitle: Record<string, string> = { gpu: 'GPU compute', link: 'copy engine (H2D)', ssd: 'SSD reads', cpu: 'CPU' };
    // One decode step, so that a layer's fetch, stall and expert work are wide enough to read
    // (drag to pan, scroll to zoom); the numbers below cover the whole recorded window.
    const allSteps = distinct(tl.runs.flatMap((r) => r.spans.map((s) => s.step))).sort((a, b) => a - b);
    const shownStep = allSteps[Math.floor((allSteps.length - 1) / 2)];
    let windowMs = 0;
    const allSpans = tl.runs.flatMap((r) => {
      const t0 = Math.min(...r.spans.map((s) => s.startMs));
      return r.spans.map((s) => ({
        label: r.label,
        resource: resourceTitle[s.resource] ?? s.resource,
        kind: s.kind,
        startMs: round(s.startMs - t0),
        endMs: round(s.endMs - t0),
        step: s.step,
      }));
    });
    const spans = tl.runs.flatMap((r) => {
      const mine = r.spans.filter((s) => s.step === shownStep);
      if (mine.length === 0) return [];
      const t0 = Math.min(...mine.map((s) => s.startMs));
      windowMs = Math.max(windowMs, Math.max(...mine.map((s) => s.endMs)) - t0);
      return mine.map((s) => ({
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
      'ssd-read': '#8c564b',
      'ssd-stage': '#c49c94',
    };
    const palette = ['#72b7b2', '#ff9da6', '#bab0ac', '#d67195', '#439894'];
    const kindColors = kinds.map((k, i) => known[k] ?? palette[i % palette.length]);
    const windowOf = new Map<string, number>();
    for (const s of allSpans) windowOf.set(s.label, Math.max(windowOf.get(s.label) ?? 0, s.endMs));
    const summary = new Map<string, { label: string; resource: string; kind: string; spans: number; busyMs: number }>();
    for (const s of allSpans) {
      const key = JSON.stringify([s.label, s.resource, s.kind]);
      const e = summary.get(key) ?? { label: s.label, resource: s.resource, kind: s.kind, spans: 0, busyMs: 0 };
      e.spans++;
      e.busyMs += s.endMs - s.startMs;
      summary.set(key, e);
    }
    const labels = tl.runs.map((r) => r.label);
    const where = Object.keys(tl.point.assignments).length ? ` Sweep point ${tl.point.index + 1} (${Object.entries(tl.point.assignments).map(([k, v]) => `${fieldValueLabel(k, v)}`).join(', ')}).` : '';
    const steps = allSteps;
    const stepNote = steps.length > 1 ? ` Step ${shownStep} of the recorded steps ${Math.min(...steps)}–${Math.max(...steps)} (the table covers them all).` : ` Step ${shownStep}.`;
    charts.push({
      id: 'timeline',
      title: hasSsd ? 'Timeline of one decode step: GPU, copy engine, SSD and CPU' : 'Timeline of one decode step: GPU, copy engine and CPU',
      caption: `What each resource does during one decode step, one band per policy, each from the moment it starts the step (the longest takes ${windowMs.toFixed(1)} ms). Red: the GPU stalls, waiting for expert weights.${hasSsd ? ' SSD reads: ssd-read is a read a miss waits for (SSD -> host DRAM, then the copy engine), ssd-stage a read staged ahead by the prefetch plan; fetch / prefetch on the SSD lane are fetches the GPU makes from the SSD itself (unified memory, GPUDirect Storage).' : ''} Drag to pan, scroll to zoom, double-click to reset.` +
        stepNote +
        (tl.runs.some((r) => r.spans.some((s) => s.resource === 'cpu')) ? '' : ' The CPU row is empty: no policy here runs experts on the CPU.') +
        where,
      spec: {
        $schema: SCHEMA,
        title: 'Timeline of one decode step',
        config: chartConfig,
        data: { values: spans },
        facet: { row: { field: 'label', type: 'nominal', sort: labels, title: null, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' } } },
        spec: {
          width: FULL_WIDTH - 60,
          height: 66,
          params: [{ name: 'zoom', select: { type: 'interval', encodings: ['x'] }, bind: 'scales' }],
          mark: { type: 'bar', cornerRadius: 0 },
          encoding: {
            x: { field: 'startMs', type: 'quantitative', title: 'time in window (ms)', scale: { domain: [0, round(windowMs)] } },
            x2: { field: 'endMs' },
            y: { field: 'resource', type: 'nominal', title: null, sort: resources.map((r) => resourceTitle[r]), scale: { domain: resources.map((r) => resourceTitle[r]) } },
            color: { field: 'kind', type: 'nominal', title: 'activity', scale: { domain: kinds, range: kindColors }, legend: { orient: 'top', direction: 'horizontal', columns: 8 } },
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
    const data = use.map((r) => pick(r, ['ctx', 'series', 'policy', 'label', 'cachePerLayer', 'h2dGiB', 'stallMs']));
    const caps = distinct(use.map((r) => r.cachePerLayer)).filter(Number.isFinite).sort((a, b) => a - b);
    const view = {
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'cachePerLayer', type: 'ordinal', title: 'expert cache (experts per MoE layer)', sort: caps, axis: { labelAngle: 0, format: '.3~f' } },
        xOffset: { field: 'series', sort: series },
        y: { field: 'h2dGiB', type: 'quantitative', title: 'host → GPU (GiB)' },
        color,
        stroke: { value: '#fff' },
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
      { label: r.label, series: r.series, kind: r.kind, lookahead: r.lookahead, measure: 'precision', value: round(r.precision, 4) },
      { label: r.label, series: r.series, kind: r.kind, lookahead: r.lookahead, measure: 'recall', value: round(r.recall, 4) },
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
        width: FULL_WIDTH,
        height: HEIGHT,
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'lookahead', type: 'quantitative', title: 'lookahead (layers)', axis: { tickMinStep: 1 } },
          y: { field: 'value', type: 'quantitative', title: 'precision / recall', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
          color: { field: 'kind', type: 'nominal', title: 'policy kind', scale: kindColorScale(distinct(use.map((r) => r.kind))) },
          shape: { field: 'label', type: 'nominal', title: 'policy' },
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
  // 8. Predictors standing for a system's, against the accuracy their papers publish (issue 12, item 6).
  const paper = publishedPredictorRows(src);
  if (paper.length > 0) {
    const paperCtx = distinct(paper.map((r) => r.ctx))[0];
    const use = paper.filter((r) => r.ctx === paperCtx);
    const who = (r: (typeof use)[number]) => `${r.label} (${r.role === 'scheduler' ? 'scheduler path predictor' : r.kind}) vs ${r.system}`;
    const long = use.flatMap((r) => [
      ...(r.measured === null ? [] : [{ predictor: who(r), source: 'measured on this trace', value: round(r.measured, 4) }]),
      ...(r.published === null ? [] : [{ predictor: who(r), source: r.lowerBound ? 'published (lower bound)' : 'published', value: round(r.published, 4) }]),
    ]);
    charts.push({
      id: 'predictor-vs-paper',
      title: 'Predictors against their papers',
      caption:
        "Each predictor that stands for a system's, measured on this run's trace in the paper's own metric, next to the accuracy the paper publishes (src/predictors/published.ts). A paper that gives its number only in a plot has none here; the table says so." +
        (paperCtx ? ` At ${paperCtx}.` : ''),
      spec: {
        $schema: SCHEMA,
        title: 'Predictors against their papers',
        config: chartConfig,
        data: { values: long },
        width: FULL_WIDTH,
        height: Math.max(60, 40 * use.length),
        mark: { type: 'point', filled: true, size: 120 },
        encoding: {
          y: { field: 'predictor', type: 'nominal', title: null },
          x: { field: 'value', type: 'quantitative', title: "accuracy in the paper's metric", axis: { format: '.0%' }, scale: { domain: [0, 1] } },
          color: { field: 'source', type: 'nominal', title: null },
          shape: { field: 'source', type: 'nominal', title: null },
          tooltip: [{ field: 'predictor' }, { field: 'source' }, { field: 'value', format: '.1%' }],
        },
      },
      table: {
        columns: [
          { key: 'label', title: 'policy' },
          { key: 'kind', title: 'predictor' },
          { key: 'system', title: 'system' },
          { key: 'metric', title: 'paper metric' },
          { key: 'measured', title: 'measured here', format: 'pct' },
          { key: 'publishedText', title: 'published' },
          { key: 'source', title: 'source' },
        ],
        rows: use.map((r) => ({
          label: r.label,
          kind: r.role === 'scheduler' ? `${r.kind} (scheduler)` : r.kind,
          system: r.system,
          metric: r.metric,
          measured: r.measured,
          publishedText: r.published === null ? 'no number in the text' : `${r.lowerBound ? '> ' : ''}${(100 * r.published).toFixed(1)}%`,
          source: r.source,
        })),
      },
    });
  }
  charts.push(...tierCharts(src)); // issue 16
  // The key comparison first.
  return [...charts.filter((c) => c.key), ...charts.filter((c) => !c.key)];
}
