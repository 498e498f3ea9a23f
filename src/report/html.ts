/**
 * The report page: one self-contained HTML file. vega, vega-lite and vega-embed are inlined and a
 * Content-Security-Policy forbids any network access, so it opens from file:// anywhere. Pure:
 * the library sources are passed in.
 */
import { stringify as toYaml } from 'yaml';
import type { Chart, ChartTable, Format } from './charts.js';
import { distinct, sortedPoints, type ReportSource } from './data.js';
import { PAGE_STYLE, plural } from './style.js';

export interface Libraries {
  vega: string;
  vegaLite: string;
  vegaEmbed: string;
}

const esc = (s: string | undefined): string => String(s ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** JSON safe inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A library's source, safe inside an inline <script> (no source-map fetches, no early </script>). */
export function inlineScript(source: string): string {
  return source.replace(/\/\/# sourceMappingURL=\S+/g, '').replace(/<\/script/gi, '<\\/script');
}

function formatCell(v: unknown, f: Format | undefined): string {
  if (v === undefined || v === null) return '';
  if (f === 'check') return v === true ? '✓' : v === false ? '–' : String(v);
  if (typeof v !== 'number') return String(v);
  if (!Number.isFinite(v)) return '–';
  switch (f) {
    case 'pct':
      return `${(100 * v).toFixed(1)}%`;
    case 'int':
      return String(Math.round(v));
    case 'f1':
      return v.toFixed(1);
    case 'f2':
      return v.toFixed(2);
    case 'f3':
      return v.toFixed(3);
    default:
      return String(v);
  }
}

function renderTable(t: ChartTable, caption: string, cls = 'numbers'): string {
  const numeric = (f?: Format) => f !== undefined && f !== 'text' && f !== 'check';
  const head = t.columns.map((c) => `<th${numeric(c.format) ? ' class="num"' : ''}>${esc(c.title)}</th>`).join('');
  const body = t.rows
    .map((r) => `<tr>${t.columns.map((c) => `<td${numeric(c.format) ? ' class="num"' : ''}>${esc(formatCell(r[c.key], c.format))}</td>`).join('')}</tr>`)
    .join('\n');
  const open = t.rows.length <= 24 ? ' open' : '';
  return `<details class="${cls}"${open}><summary>${esc(caption)} (${t.rows.length} row${t.rows.length === 1 ? '' : 's'})</summary><div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div></details>`;
}

const CSP = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src 'none'";

const STYLE = PAGE_STYLE;

/** A trace file as found when the report was written: what the results replayed, checkable by hash. */
export interface TraceFileInfo {
  path: string;
  bytes: number;
  sha256: string;
}

export interface PageOptions {
  moesimVersion: string;
  traceFiles?: TraceFileInfo[];
  /** Relative link to each chart's SVG (charts/<id>.svg), when exported. */
  svgHref?: (chart: Chart) => string | undefined;
}

/** The scenario as a user would write it again: a sweep's base scenario with its sweep block. */
function scenarioForReproduction(src: ReportSource): unknown {
  if (!src.sweep || src.scenario === null || typeof src.scenario !== 'object') return src.scenario;
  const grid: Record<string, unknown[]> = {};
  for (const a of src.sweep.grid) grid[a.path] = a.values;
  return { ...(src.scenario as Record<string, unknown>), sweep: { mode: src.sweep.mode, grid } };
}

export function renderHtml(src: ReportSource, charts: Chart[], libs: Libraries, opts: PageOptions): string {
  const points = sortedPoints(src);
  const results = points.flatMap((p) => (p.result ? [p.result] : []));
  const first = results[0];
  const versions = distinct(results.map((r) => r.moesimVersion));
  const traces = distinct(results.map((r) => JSON.stringify(r.trace))).map((t) => JSON.parse(t) as NonNullable<typeof first>['trace']);
  const failed = points.filter((p) => p.error !== undefined);
  const warnings = distinct(results.flatMap((r) => r.warnings ?? []));
  const baseSeed = (src.scenario as { seed?: unknown } | null)?.seed;

  const facts: Array<[string, string]> = [];
  facts.push(['kind', src.kind === 'sweep' ? `sweep (${src.sweep?.mode})` : 'single run']);
  if (src.scenarioFile) facts.push(['scenario file', src.scenarioFile]);
  if (first) facts.push(['model', distinct(results.map((r) => r.model)).join(', ')], ['hardware', distinct(results.map((r) => r.hardware)).join(', ')]);
  for (const t of traces) {
    facts.push(['trace', `${t.path ?? '(generated)'} · ${t.format} · ${plural(t.tokens, 'token')} in ${plural(t.sequences, 'sequence')}`]);
    if (t.provenance) facts.push(['trace provenance', t.provenance]);
  }
  for (const f of opts.traceFiles ?? []) facts.push(['trace file', `${f.path} · ${f.bytes} bytes · sha256 ${f.sha256}`]);
  if (src.kind === 'sweep' && src.sweep) {
    facts.push(['sweep id', src.sweep.id]);
    facts.push(['grid', src.sweep.grid.map((a) => `${a.path}: ${JSON.stringify(a.values)}`).join('; ')]);
    const shard = src.sweep.shard ? ` (shard ${src.sweep.shard.index}/${src.sweep.shard.count})` : '';
    facts.push(['points', `${points.length} of ${src.sweep.totalPoints} finished${shard}${failed.length ? `, ${failed.length} invalid` : ''}`]);
    facts.push(['seed', `scenario seed ${JSON.stringify(baseSeed ?? 0)}; each point's seed derives from it and the point (listed below)`]);
  } else {
    facts.push(['seed', JSON.stringify(first?.scenario.seed ?? baseSeed ?? 0)]);
  }
  facts.push(['moesim', versions.length ? versions.join(', ') : opts.moesimVersion]);

  const nav = charts.map((c) => `<a href="#${c.id}-section">${esc(c.title)}</a>`).join('');
  const sections = charts
    .map((c) => {
      const href = opts.svgHref?.(c);
      return `<section class="chart${c.key ? ' key' : ''}" id="${c.id}-section">
<h2>${esc(c.title)}</h2>
<p class="caption">${esc(c.caption)}${href ? ` <a class="svg-link" href="${esc(href)}">SVG</a>` : ''}</p>
<div class="vis" id="${c.id}" data-chart="${c.id}"></div>
${renderTable(c.table, 'Numbers')}
</section>`;
    })
    .join('\n');

  const warnHtml = warnings.length
    ? `<details class="meta"><summary class="warn">${warnings.length} warning${warnings.length === 1 ? '' : 's'} from the simulator</summary><ul>${warnings
        .slice(0, 50)
        .map((w) => `<li>${esc(w)}</li>`)
        .join('')}</ul></details>`
    : '';
  const failHtml = failed.length
    ? `<details class="meta" open><summary class="err">${failed.length} point${failed.length === 1 ? '' : 's'} could not run</summary><ul>${failed
        .map((p) => `<li>point ${p.index + 1} (${esc(Object.entries(p.assignments).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', '))}): ${esc(p.error ?? '')}</li>`)
        .join('')}</ul></details>`
    : '';
  const leftOut = src.leftOut ?? [];
  const leftHtml = leftOut.length
    ? `<details class="meta" open><summary class="err">${plural(leftOut.length, 'problem')} reading the results: what they name is left out of this report</summary><ul>${leftOut
        .slice(0, 200)
        .map((w) => `<li>${esc(w)}</li>`)
        .join('')}${leftOut.length > 200 ? `<li>… and ${leftOut.length - 200} more (moesim report prints them all on stderr)</li>` : ''}</ul></details>`
    : '';
  const pointsHtml =
    src.kind === 'sweep'
      ? renderTable(
          {
            columns: [
              { key: 'n', title: '#', format: 'int' },
              { key: 'point', title: 'point id' },
              { key: 'seed', title: 'seed' },
              ...(src.sweep?.grid ?? []).map((a) => ({ key: a.path, title: a.path })),
              { key: 'status', title: 'status' },
            ],
            rows: points.map((p) => ({
              n: p.index + 1,
              point: p.point,
              seed: String(p.seed),
              status: p.error !== undefined ? 'invalid' : 'ok',
              ...Object.fromEntries(Object.entries(p.assignments).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
            })),
          },
          'Points',
          'numbers points',
        )
      : '';

  const scenario = scenarioForReproduction(src);
  const command = src.kind === 'sweep' ? `moesim sweep ${src.scenarioFile ?? 'scenario.yaml'}` : `moesim run ${src.scenarioFile ?? 'scenario.yaml'}`;
  const provenance = {
    generator: 'moesim report',
    moesimVersion: opts.moesimVersion,
    resultVersions: versions,
    kind: src.kind,
    name: src.name,
    scenarioFile: src.scenarioFile,
    scenario,
    sweep: src.sweep,
    seeds: points.map((p) => ({ point: p.point, index: p.index, seed: p.seed, assignments: p.assignments })),
    traces,
    traceFiles: opts.traceFiles ?? [],
    reproduce: command,
  };
  const specs = charts.map((c) => ({ id: c.id, spec: c.spec }));

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="moesim ${esc(opts.moesimVersion)}">
<link rel="icon" href="data:,">
<title>${esc(src.name)} · moesim report</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${esc(src.name)}</h1>
${src.description ? `<p class="desc">${esc(src.description)}</p>` : ''}
<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>
${leftHtml}
${failHtml}
${warnHtml}
<nav>${nav}</nav>
${sections || '<p>No results to chart yet.</p>'}
<section class="chart" id="reproduce">
<h2>Reproduce</h2>
<p class="caption">Save the scenario below and run <code>${esc(command)}</code> with moesim ${esc(versions[0] ?? opts.moesimVersion)}. Points, seeds and provenance are also embedded as JSON (<code>#moesim-provenance</code>).</p>
<details class="meta"><summary>Scenario (YAML)</summary><pre>${esc(toYaml(scenario))}</pre></details>
${pointsHtml}
</section>
</main>
<script>${inlineScript(libs.vega)}</script>
<script>${inlineScript(libs.vegaLite)}</script>
<script>${inlineScript(libs.vegaEmbed)}</script>
<script type="application/json" id="moesim-provenance">${scriptJson(provenance)}</script>
<script type="application/json" id="moesim-specs">${scriptJson(specs)}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById('moesim-specs').textContent);
  var opts = { renderer: 'svg', actions: { export: true, source: false, compiled: false, editor: false } };
  Promise.all(specs.map(function (s) { return vegaEmbed('#' + s.id, s.spec, opts); }))
    .then(function () { document.body.setAttribute('data-rendered', String(specs.length)); })
    .catch(function (e) { document.body.setAttribute('data-rendered', 'error'); console.error('moesim report: ' + (e && e.message ? e.message : e)); });
})();
</script>
</body>
</html>
`;
}
