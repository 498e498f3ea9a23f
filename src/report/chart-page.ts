/**
 * A small self-contained HTML page of vega-lite charts (trace statistics, validation reports):
 * vega, vega-lite and vega-embed inlined from the caller's copies, so it opens from file:// with
 * no network. Pure function of its inputs.
 */

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

/** A page: title, a preformatted summary, optional extra HTML (tables), then the charts. */
export function chartPage(o: { title: string; summary: string; html?: string; charts: PageChart[]; libs: VegaLibraries }): string {
  const specs = JSON.stringify(
    o.charts.map((c) => ({ id: c.id, spec: { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...c.spec } })),
  ).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(o.title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 12px; white-space: pre-wrap; }
section { margin: 2em 0; }
h2 { font-size: 1.1em; }
table { border-collapse: collapse; }
td, th { padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #666; font-size: 12px; }
</style>
<script>${scriptSafe(o.libs.vega)}</script>
<script>${scriptSafe(o.libs.vegaLite)}</script>
<script>${scriptSafe(o.libs.vegaEmbed)}</script>
</head>
<body>
<h1>${escapeHtml(o.title)}</h1>
<pre>${escapeHtml(o.summary)}</pre>
${o.html ?? ''}
${o.charts
  .map((c) => `<section><h2>${escapeHtml(c.title)}</h2>${c.note ? `<p class="note">${escapeHtml(c.note)}</p>` : ''}<div id="chart-${c.id}"></div></section>`)
  .join('\n')}
<script>
const specs = ${specs};
for (const c of specs) vegaEmbed('#chart-' + c.id, c.spec, { actions: false, renderer: 'svg' }).catch((e) => {
  document.getElementById('chart-' + c.id).textContent = 'chart failed: ' + e;
});
</script>
</body>
</html>
`;
}
