import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { sweep } from '../../src/sweep/sweep.js';
import { readManifest, readResultsFile } from '../../src/sweep/results.js';
import { buildCharts } from '../../src/report/charts.js';
import { dedupeRows, paretoFront, policyRows, predictorRows, type PolicyRow, type ReportSource } from '../../src/report/data.js';
import { POLICY_COLORS } from '../../src/report/style.js';
import { renderSvg } from '../../src/report/svg.js';
import { loadReportSource, sourceFromRun, sourceFromSweep } from '../../src/report/source.js';
import { writeReport } from '../../src/report/write.js';
import { VERSION } from '../../src/version.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';

const MIXTRAL = join(ROOT, 'traces/mixtral-8x7b-instruct/humaneval-decode.jsonl');

let source: ReportSource;
let dir: string;

beforeAll(async () => {
  const base = mkdtempSync(join(tmpdir(), 'moesim-report-'));
  const file = join(base, 'scenario.yaml');
  writeFileSync(
    file,
    `name: report-test
description: a small sweep for the report tests
seed: 5
model: mixtral-8x7b
hardware: { preset: rtx-4090 }
precision: { experts: int4 }
trace: { path: ${JSON.stringify(MIXTRAL)} }
policies:
  - kind: none
  - kind: lru
    cache: { perLayer: 2 }
  - kind: belady
    cache: { perLayer: 2 }
  - kind: all-on-gpu
timeline: { fromStep: 5, steps: 1 }
sweep:
  grid:
    policies[*].cache.perLayer: [2, 4]
    hardware.link.bandwidthGBps: [16, 64]
`,
  );
  dir = join(base, 'out');
  await sweep({ scenarioFile: file, outDir: dir, workers: 0 });
  source = sourceFromSweep(readManifest(dir), readResultsFile(join(dir, 'results.jsonl')).records);
});

/** The same source with predictor numbers in its results (as a prefetching simulator would add them). */
function withPredictor(src: ReportSource, shape: 'list' | 'record'): ReportSource {
  const copy = structuredClone(src);
  for (const p of copy.points) {
    for (const r of p.result?.results ?? []) {
      const per = [1, 2, 3].map((lookahead) => ({ lookahead, precision: 0.9 / lookahead, recall: 0.8 / lookahead }));
      const perLookahead = shape === 'list' ? per : Object.fromEntries(per.map((e) => [String(e.lookahead), { precision: e.precision, recall: e.recall }]));
      // 'list': where a RunResult keeps it (PolicyResult.predictor.evaluation); 'record': an older or hand-written result's metrics.predictor.
      if (shape === 'list') r.predictor = { evaluation: { perLookahead } } as unknown as NonNullable<typeof r.predictor>;
      else (r.metrics as unknown as Record<string, unknown>).predictor = { perLookahead };
    }
  }
  return copy;
}

describe('report data', () => {
  it('one row per point x policy, with the cache size per layer and the context', () => {
    const rows = policyRows(source);
    expect(rows).toHaveLength(4 * 4);
    const r = rows.find((x) => x.label === 'lru, 4/layer' && x.ctx === 'link bandwidth 64 GB/s')!;
    expect(r.cachePerLayer).toBe(4);
    expect(r.series).toBe('lru');
    // `none` and all-on-gpu do not change with the cache sweep: their repeats go.
    expect(dedupeRows(rows).filter((x) => x.series === 'none')).toHaveLength(2);
  });

  it('the Pareto front: nothing that fits has less memory and a better value', () => {
    const row = (gpuGiB: number, tpotMs: number, fits = true) => ({ ctx: '', gpuGiB, tpotMs, fits }) as PolicyRow;
    const rows = [row(1, 100), row(2, 50), row(2, 60), row(3, 70), row(4, 10), row(5, 5, false)];
    const front = paretoFront(rows, (r) => r.tpotMs, true);
    expect(rows.filter((r) => front.has(r)).map((r) => [r.gpuGiB, r.tpotMs])).toEqual([[1, 100], [2, 50], [4, 10]]);
    const up = paretoFront(rows, (r) => r.tpotMs, false);
    expect(rows.filter((r) => up.has(r)).map((r) => r.gpuGiB)).toEqual([1]);
  });

  it('reads predictor quality in either shape, and nothing when absent', () => {
    expect(predictorRows(source)).toEqual([]);
    for (const shape of ['list', 'record'] as const) {
      const rows = predictorRows(withPredictor(source, shape));
      expect(rows.length).toBe(4 * 4 * 3);
      expect(rows[0]).toMatchObject({ lookahead: 1, precision: 0.9, recall: 0.8 });
    }
  });
});

describe('a real run\'s predictors', () => {
  it('draws predictor accuracy vs lookahead and predictors against their papers from `moesim run` of scenarios/predictors-vs-papers.yaml', async () => {
    const { scenario, baseDir } = loadScenarioFile(join(ROOT, 'scenarios/predictors-vs-papers.yaml'));
    const result = await runScenario(scenario, { baseDir });
    const charts = buildCharts(sourceFromRun(result));
    const ids = charts.map((c) => c.id);
    expect(ids).toContain('predictor-vs-lookahead');
    const paper = charts.find((c) => c.id === 'predictor-vs-paper')!;
    // One row per policy whose predictor stands for a system's, with the value measured in the run.
    const withPaper = result.results.filter((p) => p.predictor?.published);
    expect(withPaper.length).toBeGreaterThan(2);
    expect(paper.table.rows).toHaveLength(withPaper.length);
    for (const [i, p] of withPaper.entries()) {
      const row = paper.table.rows[i];
      expect(row.system).toBe(p.predictor!.published!.system);
      expect(row.measured).toBe(p.predictor!.published!.measured);
      const v = p.predictor!.published!.value;
      expect(row.publishedText).toBe(v === null ? 'no number in the text' : `${p.predictor!.published!.bound === 'lower' ? '> ' : ''}${(100 * v).toFixed(1)}%`);
    }
    // Points are drawn only for numbers that exist: a paper without one, or a metric not measured, adds none.
    const drawn = (paper.spec as { data: { values: unknown[] } }).data.values.length;
    const numbers = withPaper.reduce((n, p) => n + (p.predictor!.published!.measured === null ? 0 : 1) + (p.predictor!.published!.value === null ? 0 : 1), 0);
    expect(drawn).toBe(numbers);
  });
});

describe('charts', () => {
  it('draws each chart the data supports; predictor only when present', () => {
    // A sweep: its key comparison (the TPOT front) first.
    expect(buildCharts(source).map((c) => c.id)).toEqual(['tpot-vs-memory', 'hit-rate-vs-cache', 'throughput-vs-memory', 'per-layer-hit-rate', 'timeline', 'bytes-moved']);
    // A single run: per-policy bars first.
    expect(buildCharts(sourceFromRun(source.points[0].result!))[0]).toMatchObject({ id: 'policy-comparison', key: true });
    expect(buildCharts(withPredictor(source, 'list')).map((c) => c.id)).toContain('predictor-vs-lookahead');
  });

  it('one panel per link bandwidth where it matters (TPOT), one panel where it does not (hit rate)', () => {
    const charts = Object.fromEntries(buildCharts(source).map((c) => [c.id, c]));
    expect(charts['hit-rate-vs-cache'].spec.facet).toBeUndefined();
    expect(charts['hit-rate-vs-cache'].caption).toMatch(/Identical for every link bandwidth \(GB\/s\)/);
    expect(charts['tpot-vs-memory'].spec.facet).toBeDefined();
    expect(charts['tpot-vs-memory'].table.rows.some((r) => r.front === true)).toBe(true);
    // Panels titled in words, not field paths.
    expect(JSON.stringify(charts['tpot-vs-memory'].spec)).toContain('link bandwidth 16 GB/s');
  });

  it('bounds are never on the Pareto front; one colour per policy kind on every chart', () => {
    for (const c of buildCharts(source)) {
      for (const r of c.table.rows) if (r.bound === true) expect(r.front, `${c.id} ${String(r.label)}`).not.toBe(true);
    }
    const scales = buildCharts(sourceFromRun(source.points[0].result!))
      .flatMap((c) => [...JSON.stringify(c.spec).matchAll(/"field":"policy","type":"nominal","title":"policy kind","scale":(\{[^}]*\})/g)].map((m) => JSON.parse(m[1]) as { domain: string[]; range: string[] }));
    expect(scales.length).toBeGreaterThan(2);
    for (const s of scales) s.domain.forEach((k, i) => expect(s.range[i], k).toBe(POLICY_COLORS[k]));
  });

  it('every chart renders to SVG in Node with marks', async () => {
    for (const c of buildCharts(withPredictor(source, 'list'))) {
      const svg = await renderSvg(c.spec);
      expect(svg.startsWith('<svg'), c.id).toBe(true);
      expect(svg, c.id).toMatch(/class="mark-(symbol|line|rect)/);
    }
  });
});

describe('writeReport', () => {
  it('writes a self-contained index.html and one SVG per chart, atomically', async () => {
    const out = mkdtempSync(join(tmpdir(), 'moesim-html-'));
    const w = await writeReport(source, out);
    expect(w.svgs.map((f) => f.slice(out.length + 1))).toEqual(w.charts.map((id) => join('charts', `${id}.svg`)));
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const html = readFileSync(w.index, 'utf8');
    // The libraries are inline; nothing is loaded from anywhere.
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href="(?!data:)/i);
    expect(html).not.toMatch(/sourceMappingURL/);
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'/);
    for (const lib of ['vega', 'vega-lite', 'vega-embed']) {
      const version = (JSON.parse(readFileSync(join(ROOT, 'node_modules', lib, 'package.json'), 'utf8')) as { version: string }).version;
      expect(html, lib).toContain(version);
    }
    // Provenance: scenario, seeds, version, trace.
    const prov = JSON.parse(/<script type="application\/json" id="moesim-provenance">(.*?)<\/script>/s.exec(html)![1]);
    expect(prov.moesimVersion).toBe(VERSION);
    expect(prov.scenario.seed).toBe(5);
    expect(prov.scenario.sweep.grid['hardware.link.bandwidthGBps']).toEqual([16, 64]);
    expect(prov.seeds).toHaveLength(4);
    expect(prov.traces[0]).toMatchObject({ format: 'jsonl', tokens: 338 });
    expect(prov.traceFiles).toEqual([{ path: MIXTRAL, bytes: readFileSync(MIXTRAL).length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    // Numbers under each chart.
    expect(html.match(/<details class="numbers"( open)?>/g)).toHaveLength(w.charts.length);
  });

  it('loads a sweep folder, a results.jsonl, or a RunResult JSON', () => {
    expect(loadReportSource(dir).source.points).toHaveLength(4);
    expect(loadReportSource(join(dir, 'results.jsonl')).source.kind).toBe('sweep');
    const rr = join(mkdtempSync(join(tmpdir(), 'moesim-rr-')), 'r.json');
    writeFileSync(rr, JSON.stringify(source.points[0].result));
    const one = loadReportSource(rr).source;
    expect([one.kind, one.points.length]).toEqual(['run', 1]);
    expect(buildCharts(sourceFromRun(source.points[0].result!)).map((c) => c.id)).toContain('timeline');
    expect(() => loadReportSource(join(dir, 'nothing-here'))).toThrow(/no such file or folder/);
    expect(existsSync(join(dir, 'sweep.json'))).toBe(true);
  });
});

describe('the timeline chart', () => {
  /** The lanes (y domain) and the kinds (colour domain) of the timeline chart of `src`. */
  function timelineChart(src: ReportSource): { lanes: unknown; kinds: unknown; title: string } {
    const chart = buildCharts(src).find((c) => c.id === 'timeline')!;
    const enc = (chart.spec as { spec: { encoding: { y: { scale: { domain: unknown } }; color: { scale: { domain: unknown } } } } }).spec.encoding;
    return { lanes: enc.y.scale.domain, kinds: enc.color.scale.domain, title: chart.title };
  }

  it('has an SSD lane only where a run read from an SSD (issue 16), next to the copy engine', () => {
    const run = source.points[0].result!;
    expect(timelineChart(sourceFromRun(run)).lanes).toEqual(['GPU compute', 'copy engine (H2D)', 'CPU']);
    const withSsd = structuredClone(run);
    const tl = withSsd.results[1].timeline!;
    const first = tl.find((s) => s.resource === 'link')!;
    tl.push({ ...first, resource: 'ssd', kind: 'ssd-read', startMs: first.startMs - 1, endMs: first.startMs });
    const chart = timelineChart(sourceFromRun(withSsd));
    expect(chart.lanes).toEqual(['GPU compute', 'copy engine (H2D)', 'SSD reads', 'CPU']);
    expect(chart.kinds).toContain('ssd-read');
    expect(chart.title).toMatch(/SSD/);
    // Every run fetching from the SSD itself (unified memory, GPUDirect Storage): no copy-engine lane.
    const direct = structuredClone(run);
    for (const r of direct.results) for (const s of r.timeline ?? []) if (s.resource === 'link') s.resource = 'ssd';
    expect(timelineChart(sourceFromRun(direct)).lanes).toEqual(['GPU compute', 'SSD reads', 'CPU']);
  });
});

describe('a damaged results file', () => {
  it('the page lists what was left out (file:line and why), and the report is made from the rest', async () => {
    const d = mkdtempSync(join(tmpdir(), 'moesim-damaged-'));
    const lines = readFileSync(join(dir, 'results.jsonl'), 'utf8').split('\n').filter((l) => l !== '');
    const damaged = [lines[0], '{"sweep": "x", "result": {}}', lines[1], lines[1], lines[2].replace('"result":', '"reslt":'), lines[3]];
    writeFileSync(join(d, 'results.jsonl'), damaged.join('\n') + '\n');
    writeFileSync(join(d, 'sweep.json'), readFileSync(join(dir, 'sweep.json')));
    const warnings: string[] = [];
    const loaded = loadReportSource(d, (w) => warnings.push(w));
    expect(loaded.source.points.map((p) => p.index)).toEqual([0, 1, 3]);
    expect(loaded.source.leftOut).toHaveLength(3);
    const w = await writeReport(loaded.source, mkdtempSync(join(tmpdir(), 'moesim-damaged-html-')));
    const html = readFileSync(w.index, 'utf8');
    expect(html).toMatch(/3 problems reading the results: what they name is left out of this report/);
    expect(html).toMatch(/results\.jsonl:2: not a result record, left out: /);
    expect(html).toMatch(/results\.jsonl:5: not a result record, left out: /);
    expect(html).toMatch(/1 duplicate line of points already read \(first at line 4\); dropped/);
    // a whole file: nothing of the kind
    expect(readFileSync((await writeReport(source, mkdtempSync(join(tmpdir(), 'moesim-html-')))).index, 'utf8')).not.toMatch(/left out of this report/);
  });
});
