/** Writes a report folder: index.html and charts/<id>.svg, each atomically. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { VERSION } from '../version.js';
import { buildCharts } from './charts.js';
import type { ReportSource } from './data.js';
import { renderHtml, type Libraries } from './html.js';
import { renderSvg } from './svg.js';

let libs: Libraries | undefined;

/** The browser builds of vega, vega-lite and vega-embed, from node_modules. */
export function libraries(): Libraries {
  if (libs) return libs;
  const require = createRequire(import.meta.url);
  const build = (pkg: string, file: string) => readFileSync(join(dirname(require.resolve(pkg)), file), 'utf8');
  libs = {
    vega: build('vega', 'vega.min.js'),
    vegaLite: build('vega-lite', 'vega-lite.min.js'),
    vegaEmbed: build('vega-embed', 'vega-embed.min.js'),
  };
  return libs;
}

export interface WrittenReport {
  index: string;
  svgs: string[];
  charts: string[];
}

export async function writeReport(source: ReportSource, outDir: string, opts: { svg?: boolean } = {}): Promise<WrittenReport> {
  const charts = buildCharts(source);
  const svgs: string[] = [];
  if (opts.svg !== false) {
    for (const c of charts) {
      const file = join(outDir, 'charts', `${c.id}.svg`);
      writeFileAtomic(file, await renderSvg(c.spec));
      svgs.push(file);
    }
  }
  const html = renderHtml(source, charts, libraries(), {
    moesimVersion: VERSION,
    svgHref: opts.svg !== false ? (c) => `charts/${c.id}.svg` : undefined,
  });
  const index = join(outDir, 'index.html');
  writeFileAtomic(index, html);
  return { index, svgs, charts: charts.map((c) => c.id) };
}
