/** Writes a report folder: index.html and charts/<id>.svg, each atomically. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { writeFilesAtomic } from '../util/fs.js';
import { VERSION } from '../version.js';
import { buildCharts } from './charts.js';
import type { ReportSource } from './data.js';
import { renderHtml, type Libraries, type TraceFileInfo } from './html.js';
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

/** Size and SHA-256 of the trace files the results name, where they can be found from the scenario file. */
export function traceFiles(source: ReportSource): TraceFileInfo[] {
  const out: TraceFileInfo[] = [];
  const seen = new Set<string>();
  const baseDir = source.scenarioFile ? dirname(resolve(source.scenarioFile)) : process.cwd();
  for (const p of source.points) {
    const path = p.result?.trace.path;
    if (!path) continue;
    // A list of files is recorded as their joined names; look up single files only.
    const abs = isAbsolute(path) ? path : resolve(baseDir, path);
    if (seen.has(abs)) continue;
    seen.add(abs);
    if (!existsSync(abs) || !statSync(abs).isFile()) continue;
    const data = readFileSync(abs);
    out.push({ path, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
  }
  return out;
}

export interface WrittenReport {
  index: string;
  svgs: string[];
  charts: string[];
}

/**
 * Writes index.html and charts/*.svg into `outDir`, with `also` (the command's result files), all
 * or none (writeFilesAtomic): a report that cannot be written whole leaves nothing behind.
 */
export async function writeReport(source: ReportSource, outDir: string, opts: { svg?: boolean; also?: { path: string; data: string }[] } = {}): Promise<WrittenReport> {
  const charts = buildCharts(source);
  const svgs: string[] = [];
  const files: { path: string; data: string }[] = [...(opts.also ?? [])];
  if (opts.svg !== false) {
    for (const c of charts) {
      const file = join(outDir, 'charts', `${c.id}.svg`);
      files.push({ path: file, data: await renderSvg(c.spec) });
      svgs.push(file);
    }
  }
  const html = renderHtml(source, charts, libraries(), {
    moesimVersion: VERSION,
    traceFiles: traceFiles(source),
    svgHref: opts.svg !== false ? (c) => `charts/${c.id}.svg` : undefined,
  });
  const index = join(outDir, 'index.html');
  files.push({ path: index, data: html });
  writeFilesAtomic(files);
  return { index, svgs, charts: charts.map((c) => c.id) };
}
