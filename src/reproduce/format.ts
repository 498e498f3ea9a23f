/** Text and HTML output of moesim reproduce. */
import { chartPage, escapeHtml, type VegaLibraries } from '../report/chart-page.js';
import type { PointResult, ReproduceResult, Summary } from './run.js';

const pct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(0)}%` : 'n/a');
const share = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : 'n/a');
const num = (x: number | undefined) => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(3) : x.toPrecision(3));
const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/** The context a point ran at: prompt+output tokens and what its figure times, `?` where the source does not state it. */
export function contextLabel(c: PointResult['context']): string {
  if (c.promptTokens === 'unstated' && c.outputTokens === 'unstated' && c.timed === 'unstated') return 'unstated';
  const n = (x: number | 'unstated') => (x === 'unstated' ? '?' : String(x));
  return `${n(c.promptTokens)}+${n(c.outputTokens)} ${c.timed === 'end-to-end' ? 'e2e' : c.timed === 'decode' ? 'decode' : '?'}`;
}

function pointTable(points: PointResult[], withParam: boolean): string {
  const head = ['point', 'system', 'gpu', 'metric', 'published', 'simulated', 'error', 'context', ...(withParam ? ['param'] : [])];
  const rows = points.map((r) => [
    r.id,
    r.variant ? `${r.system} (${r.variant})` : r.system,
    r.gpu,
    r.metric === 'tokensPerSec' ? 'tok/s' : 's/token',
    num(r.published),
    r.failure ? 'failed' : num(r.simulated),
    r.error === undefined ? '-' : pct(r.error),
    contextLabel(r.context),
    ...(withParam ? [`${r.runtime} ${r.parameterValue}${r.fitted ? '' : ' (preset)'}`] : []),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = new Set([4, 5, 6]);
  const line = (r: string[]) => r.map((c, i) => (numeric.has(i) ? lpad(c, w[i]) : pad(c, w[i]))).join('  ').trimEnd();
  const fails = points.filter((r) => r.failure).map((r) => `  ${r.id}: ${r.failure}`);
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line), ...(fails.length ? ['not simulated:', ...fails] : [])].join('\n');
}

function summaryText(s: Summary): string {
  const lines = [
    `points simulated: ${s.simulated} of ${s.points}; median |error| ${share(s.medianAbsError)} (typical factor off: ${s.medianFactor.toFixed(2)}x); within 25%: ${Math.round(s.within25 * s.simulated)} of ${s.simulated} (${share(s.within25)}); simulated faster than published: ${s.tooFast} of ${s.simulated}`,
    `published comparisons with their ranking preserved: ${s.preserved} of ${s.comparisons.length}`,
    ...s.comparisons.map((c) => `  ${c.agreement.preserved ? 'kept    ' : 'BROKEN  '} ${c.id}: ${c.agreement.concordant}/${c.agreement.pairs} pairs in the published order`),
    'per system (median |error|, median signed error in s/token (negative: too fast), within 25%, typical factor off, simulated too fast):',
    ...s.perSystem.map(
      (p) =>
        `  ${pad(p.system, 26)} n=${lpad(String(p.n), 2)}  ${lpad(share(p.medianAbsError), 6)}  ${lpad(pct(p.medianSignedError), 6)}  ${lpad(share(p.within25), 4)}  ${lpad(p.medianFactor.toFixed(2), 6)}x  ${p.tooFast}/${p.n} too fast`,
    ),
  ];
  return lines.join('\n');
}

export function formatReproduce(r: ReproduceResult): string {
  const out: string[] = [
    `moesim reproduce: ${r.suite.points} published points, ${r.suite.systems.length} systems, ${r.suite.gpus.length} GPUs`,
    'error = simulated / published - 1, in the published unit (tok/s or s/token); at the stated batch (a batch figure counts every sequence)',
    '',
    `== Unfitted: every parameter at its preset value${r.parameter ? ` (${r.parameter.name}: ${Object.entries(r.parameter.presets).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}; nothing fitted in this run`,
    'each point runs its real system preset (src/systems/catalog.ts) with its stated quantisation and offload settings (src/reproduce/systems.ts)',
    pointTable(r.unfitted.points, false),
    '',
    summaryText(r.unfitted.summary),
    '',
    ...presetFitsText(r),
  ];
  if (r.heldOut && r.parameter) {
    out.push('', `== Fitted: ${r.parameter.name} (${r.parameter.unit}): ${r.parameter.meaning}`);
    out.push(`grid ${r.parameter.grid.join(', ')}; objective: median |log(simulated / published)| on the fit set`);
    out.push(
      r.fit.kind === 'loso'
        ? 'protocol: per runtime, leave one system out; each system predicted with its runtime\'s value fitted on the OTHER systems of that runtime only (the preset value where no other system shares it)'
        : `protocol: per runtime, fitted on the declared systems ${r.fit.kind === 'subset' ? r.fit.systems.join(', ') : ''}; reported on the rest`,
    );
    out.push('points used for fitting: every point of the listed systems of that runtime, and none of the systems it predicts (ids per fold in the JSON: folds[].fitPoints)');
    for (const x of r.notForFitting) out.push(`  never fitted on ${x.id}: ${x.reason}`);
    for (const f of r.folds)
      out.push(
        f.fitPoints.length
          ? `  predicts ${f.heldOut.join(', ')} [${f.runtime}]: fitted on ${f.fitPoints.length} points of ${f.fitSystems.join(', ')} -> ${f.value} (objective ${f.fitObjective.toFixed(3)})`
          : `  predicts ${f.heldOut.join(', ')} [${f.runtime}]: no other system on this runtime -> preset ${f.value}`,
      );
    out.push('', '-- errors on the points NOT used for fitting:', pointTable(r.heldOut.points, true), '', summaryText(r.heldOut.summary));
    out.push('', `-- of those, the ${r.heldOut.outsidePresetFits.points} points no preset value was fitted on either (src/reproduce/preset-fits.ts):`, summaryText(r.heldOut.outsidePresetFits));
  }
  return out.join('\n');
}

/** The preset values fitted on suite points, and the errors on the points outside all their fit subsets. */
function presetFitsText(r: ReproduceResult): string[] {
  const { fits, outside } = r.presetFits;
  if (fits.length === 0) return [];
  const used = r.unfitted.points.length - outside.points.length;
  return [
    `-- ${fits.length} preset values were fitted on ${used} of these points (src/reproduce/preset-fits.ts); the points above include them in-sample:`,
    ...fits.map((f) => `  ${f.parameter} = ${f.value}, fitted on ${f.fitOn.join(', ')}: ${f.how}`),
    `-- errors on the ${outside.points.length} points no preset value was fitted on:`,
    summaryText(outside.summary),
  ];
}

export function renderReproduceHtml(r: ReproduceResult, libs: VegaLibraries): string {
  const rows = (set: string, pts: PointResult[]) =>
    pts.filter((p) => p.simulatedSecPerToken !== undefined).map((p) => ({ set, id: p.id, system: p.system, gpu: p.gpu, published: p.publishedSecPerToken, simulated: p.simulatedSecPerToken, error: p.error, secError: p.simulatedSecPerToken! / p.publishedSecPerToken - 1 }));
  const outside = new Set(r.presetFits.outside.points.map((p) => p.id));
  const data = [
    ...rows('unfitted', r.unfitted.points.filter((p) => outside.has(p.id))),
    ...rows('unfitted, a preset value fitted on it', r.unfitted.points.filter((p) => !outside.has(p.id))),
    ...(r.heldOut ? rows('held-out (fitted on other points)', r.heldOut.points) : []),
  ];
  const vals = data.flatMap((d) => [d.published, d.simulated!]);
  const lo = Math.min(...vals) / 1.5;
  const hi = Math.max(...vals) * 1.5;
  const parity = {
    width: 480,
    height: 480,
    data: { values: data },
    facet: undefined,
    layer: [
      { data: { values: [{ x: lo, y: lo }, { x: hi, y: hi }] }, mark: { type: 'line', color: '#999', strokeDash: [4, 4] }, encoding: { x: { field: 'x', type: 'quantitative', scale: { type: 'log', domain: [lo, hi] } }, y: { field: 'y', type: 'quantitative', scale: { type: 'log', domain: [lo, hi] } } } },
      {
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          x: { field: 'published', type: 'quantitative', title: 'published s/token', scale: { type: 'log', domain: [lo, hi] } },
          y: { field: 'simulated', type: 'quantitative', title: 'simulated s/token', scale: { type: 'log', domain: [lo, hi] } },
          color: { field: 'system', type: 'nominal' },
          shape: { field: 'set', type: 'nominal' },
          tooltip: [{ field: 'id' }, { field: 'gpu' }, { field: 'published' }, { field: 'simulated' }, { field: 'error', format: '+.0%' }],
        },
      },
    ],
  };
  const errors = {
    width: 600,
    data: { values: data },
    mark: { type: 'tick', thickness: 2 },
    encoding: {
      y: { field: 'system', type: 'nominal' },
      // One sign for every point, whatever its published unit: in seconds per token, as the parity plot.
      x: { field: 'secError', type: 'quantitative', title: 'signed error in s/token (simulated / published - 1; negative: too fast)', axis: { format: '%' } },
      color: { field: 'set', type: 'nominal' },
      tooltip: [{ field: 'id' }, { field: 'gpu' }, { field: 'secError', title: 'error in s/token', format: '+.0%' }, { field: 'error', title: 'error in the published unit', format: '+.0%' }],
    },
  };
  const mapping = `<h2>System presets each point runs (src/reproduce/systems.ts, src/systems/catalog.ts)</h2><table><tr><th>system</th><th>preset</th><th>does, and the point's settings</th><th>the preset simplifies</th></tr>${Object.entries(r.mapping)
    .map(([k, m]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(m.preset)}</td><td>${escapeHtml(m.does)}</td><td>${escapeHtml(m.missing)}</td></tr>`)
    .join('')}</table>`;
  return chartPage({
    title: 'moesim reproduce: published measurements',
    summary: formatReproduce(r),
    html: mapping,
    charts: [
      { id: 'parity', title: 'Parity (seconds per token, log axes)', note: 'on the dashed line the simulator matches the publication; below it, it is too fast', spec: parity },
      { id: 'errors', title: 'Signed error per system, in seconds per token (negative: simulated too fast)', spec: errors },
    ],
    libs,
  });
}
