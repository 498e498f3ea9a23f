/**
 * A small self-contained HTML page of vega-lite charts (trace statistics, validation reports), in
 * the same style as the run and sweep reports: charts first, in cards, the text and tables after.
 * vega, vega-lite and vega-embed are inlined from the caller's copies, so it opens from file://
 * with no network. Pure function of its inputs.
 */
import { chartConfig, PAGE_STYLE, SCHEMA } from './style.js';

export interface VegaLibraries {
  vega: string;
  vegaLite: string;
  vegaEmbed: string;
}

export interface PageChart {
  id: string;
  title: string;
  /** A line under the title. */
  note?: string;
  spec: object;
}

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/** Source text safe inside a <script> element. */
export const scriptSafe = (code: string): string => code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');

/**
 * A page: title, facts, the charts (the first is the key one), then optional extra HTML (tables)
 * and the preformatted summary, folded.
 */
export function chartPage(o: { title: string; summary: string; summaryTitle?: string; facts?: Array<[string, string]>; html?: string; charts: PageChart[]; libs: VegaLibraries }): string {
  const specs = JSON.stringify(
    o.charts.map((c) => ({ id: c.id, spec: { $schema: SCHEMA, config: chartConfig, ...c.spec } })),
  ).replace(/</g, '\\u003c');
  const facts = o.facts?.length ? `<dl class="facts">${o.facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(o.title)}</title>
<style>${PAGE_STYLE}</style>
<script>${scriptSafe(o.libs.vega)}</script>
<script>${scriptSafe(o.libs.vegaLite)}</script>
<script>${scriptSafe(o.libs.vegaEmbed)}</script>
</head>
<body>
<main>
<h1>${escapeHtml(o.title)}</h1>
${facts}
${o.charts
  .map(
    (c, i) =>
      `<section class="chart${i === 0 ? ' key' : ''}" id="${c.id}-section"><h2>${escapeHtml(c.title)}</h2>${c.note ? `<p class="caption">${escapeHtml(c.note)}</p>` : ''}<div class="vis" id="chart-${c.id}" data-chart="${c.id}"></div></section>`,
  )
  .join('\n')}
${o.html ?? ''}
<section class="chart" id="summary"><details class="meta" open><summary>${escapeHtml(o.summaryTitle ?? 'Summary (as printed on the terminal)')}</summary><pre>${escapeHtml(o.summary)}</pre></details></section>
</main>
<script>
const specs = ${specs};
Promise.all(specs.map((c) => vegaEmbed('#chart-' + c.id, c.spec, { actions: false, renderer: 'svg' }).catch((e) => {
  document.getElementById('chart-' + c.id).textContent = 'chart failed: ' + e;
  throw e;
})))
  .then(() => document.body.setAttribute('data-rendered', String(specs.length)))
  .catch((e) => { document.body.setAttribute('data-rendered', 'error'); console.error('moesim page: ' + (e && e.message ? e.message : e)); });
</script>
</body>
</html>
`;
}
