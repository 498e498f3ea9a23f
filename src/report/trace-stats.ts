/**
 * Renderings of TraceStats (pure functions): a text table for the terminal and a self-contained
 * HTML page whose charts are vega-lite specs rendered by vega-embed. The page inlines the three
 * libraries' minified builds (given by the caller), so it works from file:// with no network.
 */
import { datasetFindings, type TraceStats } from '../trace/stats.js';
import { chartPage, type VegaLibraries } from './chart-page.js';
import { FULL_WIDTH } from './style.js';

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const fix = (x: number, d = 3): string => x.toFixed(d);

/** A plain-text summary: shape, per-layer table, LRU curve. */
export function formatStatsTable(s: TraceStats): string {
  const out: string[] = [];
  const src = [s.source.format, s.source.path, s.source.model].filter((x) => x !== undefined).join(', ');
  out.push(`trace      ${src}`);
  if (s.source.provenance !== undefined) out.push(`provenance ${s.source.provenance}`);
  out.push(`shape      ${s.tokens} token${s.tokens === 1 ? '' : 's'} in ${s.sequences} sequence${s.sequences === 1 ? '' : 's'} (length ${s.sequenceLength.min}..${s.sequenceLength.max}, mean ${s.sequenceLength.mean}), ${s.layers} layers, ${s.experts} experts, top-${s.topK}`);
  out.push(`absent     ${s.absentRoutes} (token, layer) routes`);
  for (const line of datasetFindings(s)) out.push(line);
  for (const w of s.warnings) out.push(`warning    ${w}`);
  out.push('');
  out.push(`popularity mean normalized entropy ${fix(s.popularity.meanNormalizedEntropy)}, mean Gini ${fix(s.popularity.meanGini)}`);
  out.push(`locality   ${pct(s.temporalLocality.mean)} of a token's experts were used by the previous token`);
  const a = s.affinity;
  out.push(`affinity   predicting layer l+1 from layer l: recall ${pct(a.meanHeldOutRecall)} held-out (${pct(a.meanTransitionRecall)} in-sample) vs ${pct(a.meanPopularityRecall)} by popularity`);
  if (s.gateWeights !== null) {
    out.push(`weights    mean per slot ${s.gateWeights.meanPerSlot.map((x) => fix(x)).join(', ')}; mean top-${s.topK} sum ${fix(s.gateWeights.meanSum)}`);
  }
  out.push('');
  // per-layer table
  const header = ['layer', 'entropy', 'gini', 'top share', 'locality', 'recall->next', 'popular->next'];
  const rows: string[][] = [header];
  for (let l = 0; l < s.layers; l++) {
    const p = s.popularity.perLayer[l];
    rows.push([
      String(p.layer),
      fix(p.normalizedEntropy),
      fix(p.gini),
      pct(p.topShare),
      pct(s.temporalLocality.perLayer[l]),
      l + 1 < s.layers ? pct(a.heldOutRecall[l]) : '',
      l + 1 < s.layers ? pct(a.popularityRecall[l]) : '',
    ]);
  }
  out.push(...alignTable(rows));
  out.push('');
  // LRU curve: at most ~17 capacities
  const E = s.experts;
  const step = Math.max(1, Math.ceil(E / 16));
  const caps: number[] = [];
  for (let c = 0; c <= E; c += step) caps.push(c);
  if (caps[caps.length - 1] !== E) caps.push(E);
  out.push(`LRU hit rate by per-layer cache capacity (${s.lru.accesses} accesses, ${s.lru.coldMisses} cold misses):`);
  out.push(...alignTable([['capacity', ...caps.map(String)], ['hit rate', ...caps.map((c) => pct(s.lru.hitRate[c]))]]));
  return out.join('\n');
}

function alignTable(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
}

export type { VegaLibraries } from './chart-page.js';

/** The vega-lite specs of the stats page, by chart id. */
export function statsCharts(s: TraceStats): { id: string; title: string; note?: string; spec: object }[] {
  const charts: { id: string; title: string; note?: string; spec: object }[] = [];
  const layerName = (l: number): number => s.layerIds?.[l] ?? l;
  const curve = s.lru.capacities.map((c, i) => ({ capacity: c, hitRate: s.lru.hitRate[i], layer: 'all layers', series: 'all layers (mean)' }));
  const perLayer = s.lru.perLayer.flatMap((row, l) => row.map((h, c) => ({ capacity: c, hitRate: h, layer: `layer ${layerName(l)}`, series: 'one MoE layer' })));
  const seriesScale = { domain: ['all layers (mean)', 'one MoE layer'], range: ['#1f77b4', '#bbb'] };
  charts.push({
    id: 'lru',
    title: 'LRU hit rate vs per-layer cache capacity',
    note: 'Share of expert accesses an LRU cache of that many experts per MoE layer would serve: the thick line over all layers, thin grey lines one per layer.',
    spec: {
      width: FULL_WIDTH - 160,
      height: 340,
      layer: [
        {
          data: { values: perLayer },
          mark: { type: 'line', strokeWidth: 1, opacity: 0.25 },
          encoding: {
            x: { field: 'capacity', type: 'quantitative', title: 'experts cached per layer', axis: { tickMinStep: 1 } },
            y: { field: 'hitRate', type: 'quantitative', title: 'LRU hit rate', axis: { format: '%' }, scale: { domain: [0, 1] } },
            detail: { field: 'layer' },
            color: { field: 'series', type: 'nominal', title: null, scale: seriesScale, legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 } },
            tooltip: [{ field: 'layer' }, { field: 'capacity' }, { field: 'hitRate', format: '.1%' }],
          },
        },
        {
          data: { values: curve },
          mark: { type: 'line', point: true, strokeWidth: 3 },
          encoding: {
            x: { field: 'capacity', type: 'quantitative' },
            y: { field: 'hitRate', type: 'quantitative' },
            color: { field: 'series', type: 'nominal', title: null, scale: seriesScale, legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 } },
            tooltip: [{ field: 'capacity' }, { field: 'hitRate', format: '.1%', title: 'hit rate (all layers)' }],
          },
        },
      ],
    },
  });
  const pop = s.popularity.perLayer.flatMap((p) => {
    const total = p.counts.reduce((a, b) => a + b, 0) || 1;
    return p.counts.map((c, e) => ({ layer: p.layer, expert: e, share: c / total }));
  });
  charts.push({
    id: 'popularity',
    title: 'Expert popularity per layer',
    note: "Each cell: the expert's share of its layer's accesses. A bright column is an expert every layer favours; an even colour, a uniform router.",
    spec: {
      width: Math.min(FULL_WIDTH - 120, Math.max(300, s.experts * 14)),
      height: Math.min(700, Math.max(160, s.layers * 14)),
      data: { values: pop },
      mark: 'rect',
      encoding: {
        x: { field: 'expert', type: 'ordinal', title: 'expert', axis: { labelAngle: 0, labelExpr: s.experts > 32 ? 'datum.value % 8 === 0 ? datum.label : ""' : 'datum.label' } },
        y: { field: 'layer', type: 'ordinal', sort: 'ascending', title: 'MoE layer' },
        color: { field: 'share', type: 'quantitative', title: 'share of accesses', scale: { scheme: 'viridis' }, legend: { format: '.1%' } },
        tooltip: [{ field: 'layer' }, { field: 'expert' }, { field: 'share', format: '.2%' }],
      },
    },
  });
  const perLayerMetrics = s.popularity.perLayer.flatMap((p, l) => [
    { layer: p.layer, metric: 'temporal locality', value: s.temporalLocality.perLayer[l] },
    { layer: p.layer, metric: 'normalized entropy', value: p.normalizedEntropy },
    { layer: p.layer, metric: 'Gini', value: p.gini },
  ]);
  charts.push({
    id: 'layers',
    title: 'Per-layer locality and skew',
    note: "Temporal locality: share of a token's experts the previous token used too. Normalised entropy 1: uniform use of the experts; Gini 0: equal use.",
    spec: {
      width: FULL_WIDTH - 160,
      height: 260,
      data: { values: perLayerMetrics },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'layer', type: 'quantitative', title: 'MoE layer', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'value', type: 'quantitative', title: 'value (0–1)', scale: { domain: [0, 1] } },
        color: { field: 'metric', type: 'nominal', title: 'measure', scale: { domain: ['temporal locality', 'normalized entropy', 'Gini'], range: ['#1f77b4', '#ff7f0e', '#2ca02c'] } },
        tooltip: [{ field: 'layer' }, { field: 'metric' }, { field: 'value', format: '.3f' }],
      },
    },
  });
  if (s.layers > 1) {
    const rec = s.affinity.heldOutRecall.flatMap((r, l) => [
      { pair: `${layerName(l)}->${layerName(l + 1)}`, layer: layerName(l), predictor: 'transitions (held-out)', recall: r },
      { pair: `${layerName(l)}->${layerName(l + 1)}`, layer: layerName(l), predictor: 'transitions (in-sample)', recall: s.affinity.transitionRecall[l] },
      { pair: `${layerName(l)}->${layerName(l + 1)}`, layer: layerName(l), predictor: 'popularity', recall: s.affinity.popularityRecall[l] },
    ]);
    charts.push({
      id: 'affinity',
      title: "Predicting layer l+1's experts from layer l's",
      note: 'Recall of the top-k prediction of the next layer\'s experts: from layer-to-layer transitions (held-out and in-sample) against plain popularity.',
      spec: {
        width: FULL_WIDTH - 200,
        height: 260,
        data: { values: rec },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'layer', type: 'quantitative', title: 'from layer', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: 'recall', type: 'quantitative', title: 'recall', axis: { format: '%' }, scale: { domain: [0, 1] } },
          color: { field: 'predictor', type: 'nominal', title: 'predictor', scale: { domain: ['transitions (held-out)', 'transitions (in-sample)', 'popularity'], range: ['#1f77b4', '#aec7e8', '#7f7f7f'] } },
          tooltip: [{ field: 'pair' }, { field: 'predictor' }, { field: 'recall', format: '.1%' }],
        },
      },
    });
    const m = s.affinity.matrices?.[0];
    if (m !== undefined) {
      const cells = m.flatMap((row, e) => row.map((p, f) => ({ from: e, to: f, p })));
      charts.push({
        id: 'matrix',
        title: `P(expert at layer ${layerName(1)} | expert at layer ${layerName(0)})`,
        spec: {
          width: Math.min(700, Math.max(200, s.experts * 12)),
          height: Math.min(700, Math.max(200, s.experts * 12)),
          data: { values: cells },
          mark: 'rect',
          encoding: {
            x: { field: 'to', type: 'ordinal', title: `expert at layer ${layerName(1)}` },
            y: { field: 'from', type: 'ordinal', title: `expert at layer ${layerName(0)}` },
            color: { field: 'p', type: 'quantitative', title: 'probability', scale: { scheme: 'blues' } },
            tooltip: [{ field: 'from' }, { field: 'to' }, { field: 'p', format: '.3f' }],
          },
        },
      });
    }
  }
  const g = s.gateWeights;
  if (g !== null) {
    const bars = g.perSlot.flatMap((row, k) => row.map((c, b) => ({ slot: `slot ${k}`, from: g.edges[b], to: g.edges[b + 1], count: c })));
    charts.push({
      id: 'weights',
      title: 'Gate weights of the selected experts',
      note: 'Gate weight of the k-th selected expert, stacked over the k slots.',
      spec: {
        width: FULL_WIDTH - 160,
        height: 260,
        data: { values: bars },
        mark: 'bar',
        encoding: {
          x: { field: 'from', type: 'quantitative', bin: { binned: true, step: g.edges[1] - g.edges[0] }, title: 'gate weight' },
          x2: { field: 'to' },
          y: { field: 'count', type: 'quantitative', stack: true, title: 'selections' },
          color: { field: 'slot', type: 'nominal', title: 'top-k slot' },
          tooltip: [{ field: 'slot' }, { field: 'from' }, { field: 'to' }, { field: 'count' }],
        },
      },
    });
  }
  return charts;
}

/** Safe inside <script>: no "</script" or "<!--". */

/** A self-contained HTML page of the stats (charts need the three library sources). */
export function renderStatsHtml(s: TraceStats, libs: VegaLibraries, title = 'moesim trace statistics'): string {
  const src = [s.source.format, s.source.path, s.source.model].filter((x) => x !== undefined).join(', ');
  const facts: Array<[string, string]> = [
    ['trace', src],
    ['shape', `${s.tokens} token${s.tokens === 1 ? '' : 's'} in ${s.sequences} sequence${s.sequences === 1 ? '' : 's'}, ${s.layers} MoE layers, ${s.experts} experts, top-${s.topK}`],
    ...(s.source.provenance !== undefined ? ([['provenance', s.source.provenance]] as Array<[string, string]>) : []),
  ];
  return chartPage({ title, facts, summary: formatStatsTable(s), summaryTitle: 'Statistics as printed by moesim trace stats', charts: statsCharts(s), libs });
}
