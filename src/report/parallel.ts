/**
 * The report page of a run on several GPUs (src/parallel/): vega-lite charts of load imbalance and
 * all-to-all traffic per layer and placement, and the step time per placement. Pure functions.
 */
import type { ParallelRunResult } from '../parallel/run.js';
import { chartPage, escapeHtml, type PageChart, type VegaLibraries } from './chart-page.js';
import { FULL_WIDTH } from './style.js';

export function parallelCharts(r: ParallelRunResult): PageChart[] {
  const perLayer = r.runs.flatMap((x) =>
    x.layers.map((l) => ({
      run: x.label,
      layer: l.layer,
      imbalance: l.imbalance,
      tokenImbalance: l.tokenImbalance,
      mbPerStep: l.collectiveBytes / Math.max(1, x.steps) / 1e6,
      msPerStep: (l.collectiveSec / Math.max(1, x.steps)) * 1e3,
      crossPct: l.crossFraction * 100,
    })),
  );
  const line = (field: string, title: string) => ({
    width: FULL_WIDTH - 220,
    height: 240,
    data: { values: perLayer },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'layer', type: 'quantitative', title: 'MoE layer' },
      y: { field, type: 'quantitative', title },
      color: { field: 'run', type: 'nominal', title: 'placement | cache' },
      tooltip: [{ field: 'run' }, { field: 'layer' }, { field, format: '.3f' }, ...(field === 'mbPerStep' ? [{ field: 'msPerStep', format: '.4f', title: 'ms per step' }] : [])],
    },
  });
  const totals = r.runs.map((x) => ({ run: x.label, tpot: x.tpotMeanMs, p99: x.tpotP99Ms, imbalance: x.meanImbalance, mb: x.collectiveBytes / Math.max(1, x.steps) / 1e6 }));
  return [
    {
      id: 'tpot',
      title: r.workload !== undefined ? 'Time per output token (TPOT) by placement' : 'Time per decode step by placement',
      note:
        r.workload !== undefined
          ? `Mean TPOT (ms) over the served requests (${r.workload}); p99 in the tooltip.`
          : `Mean step time (ms) over ${r.runs[0]?.steps ?? 0} evaluated steps of ${r.batchTokens} tokens; p99 in the tooltip.`,
      spec: {
        width: FULL_WIDTH - 320,
        height: Math.max(120, 22 * totals.length),
        data: { values: totals },
        mark: 'bar',
        encoding: {
          y: { field: 'run', type: 'nominal', sort: null, title: null },
          x: { field: 'tpot', type: 'quantitative', title: 'TPOT (ms)' },
          tooltip: [{ field: 'run' }, { field: 'tpot', format: '.3f' }, { field: 'p99', format: '.3f' }, { field: 'imbalance', format: '.3f' }, { field: 'mb', format: '.3f', title: 'a2a MB/step' }],
        },
      },
    },
    { id: 'imbalance', title: 'Load imbalance per layer', note: 'Busiest GPU expert time over the mean GPU expert time (1 = balanced), mean over steps.', spec: line('imbalance', 'max / mean GPU expert time') },
    { id: 'traffic', title: 'Collective traffic per layer', note: 'Bytes all GPUs send in the layer (dispatch + combine, or all-reduces), per step; the collectives\u2019 time in the tooltip.', spec: line('mbPerStep', 'MB per step') },
    { id: 'cross', title: 'Routes leaving the previous layer\u2019s GPUs', note: 'Share of a layer\u2019s routes to a GPU that held none of the token\u2019s experts in the layer before (ExFlow\u2019s affinity target).', spec: line('crossPct', '% of routes') },
  ];
}

export function renderParallelHtml(r: ParallelRunResult, libs: VegaLibraries): string {
  const f = r.fabric;
  const facts: Array<[string, string]> = [
    ['model', r.model],
    ['machine', `${f.gpus} x ${r.hardware}, ${f.nodes} node(s), ${f.intraNode}${f.nodes > 1 ? ` + ${f.interNode}` : ''}`],
    ['parallelism', `attention ${f.attention === 'coherent' ? 'context-coherent (ExFlow)' : `${f.attention}-parallel`}, experts expert-parallel, ${f.allToAll} all-to-all`],
    ['trace', `${r.trace.source}: ${r.trace.trainTokens} training tokens, ${r.trace.evalTokens} evaluated`],
  ];
  const rows = r.runs
    .map((x) => `<tr><td>${escapeHtml(x.label)}</td><td>${x.tpotMeanMs.toFixed(3)}</td><td>${x.tpotP99Ms.toFixed(3)}</td><td>${x.throughputTokPerSec.toFixed(1)}</td><td>${x.meanImbalance.toFixed(3)}</td><td>${(x.crossFraction * 100).toFixed(1)}</td><td>${escapeHtml(x.note)}</td></tr>`)
    .join('');
  const html = `<section><h2>Runs</h2><table><thead><tr><th>placement | cache</th><th>TPOT ms</th><th>p99 ms</th><th>tok/s</th><th>imbalance</th><th>cross %</th><th>note</th></tr></thead><tbody>${rows}</tbody></table></section>`;
  return chartPage({ title: `moesim: ${r.scenario.name}`, facts, html, summary: r.warnings.join('\n') || 'no warnings', summaryTitle: 'Warnings', charts: parallelCharts(r), libs });
}
