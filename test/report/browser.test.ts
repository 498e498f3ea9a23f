/**
 * The report in a real browser: Debian's chromium driven by playwright-core opens index.html from
 * file://, and every chart must draw marks, with no console error and no request leaving the file.
 * Skipped, saying why, where there is no chromium (CI installs it: .ci/run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { moesim, ROOT } from '../helpers/cli.js';
import { loadReportSource, sourceFromRun } from '../../src/report/source.js';
import { writeReport } from '../../src/report/write.js';

const CHROMIUM = process.env.MOESIM_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SKIP_REASON = `no browser at ${CHROMIUM} (install Debian's chromium, as .ci/run does, or set MOESIM_CHROMIUM)`;
if (!HAVE_CHROMIUM) console.warn(`report browser test skipped: ${SKIP_REASON}`);

/** Screenshots land here (ignored by git) for a person, or a CI artifact, to look at. */
const SHOTS = join(ROOT, 'reports', 'browser-test');

interface PageCheck {
  rendered: string | null;
  /** Per chart: data marks drawn, legend entries, and pairs of axis labels that overlap. */
  charts: Array<{ id: string; marks: number; legend: string[]; overlaps: number }>;
  consoleErrors: string[];
  foreignRequests: string[];
}

let browser: Browser | undefined;

async function openReport(index: string, shot: string): Promise<PageCheck> {
  const context = await browser!.newContext({ viewport: { width: 1400, height: 900 } });
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
  page.on('request', (r) => {
    if (r.url() !== pathToFileURL(index).href) foreignRequests.push(r.url());
  });
  // Nothing may leave the file; block it too, so a leak fails here rather than hanging on a network.
  await context.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
  await page.goto(pathToFileURL(index).href);
  await page.waitForSelector('body[data-rendered]', { timeout: 30_000 });
  const rendered = await page.getAttribute('body', 'data-rendered');
  // Marks drawn per chart: items of the data marks (not axes, legends, titles or headers).
  const charts = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('[data-chart]')].map((el) => {
      // Axis labels of one axis that overlap each other (vega hides overlapping ones where it can).
      let overlaps = 0;
      for (const axis of el.querySelectorAll('g.role-axis')) {
        const boxes = [...axis.querySelectorAll('g.role-axis-label text')]
          .filter((t) => (t.getAttribute('opacity') ?? '1') !== '0' && (t.textContent ?? '') !== '')
          .map((t) => t.getBoundingClientRect());
        for (let i = 0; i < boxes.length; i++)
          for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i];
            const b = boxes[j];
            if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) overlaps++;
          }
      }
      return {
        id: el.dataset.chart ?? el.id,
        marks: [...el.querySelectorAll('g.role-mark')]
          .filter((g) => !g.closest('.role-axis, .role-legend, .role-title, .role-header, .role-column-header, .role-row-header, .role-footer'))
          .reduce((n, g) => n + g.children.length, 0),
        legend: [...el.querySelectorAll('g.role-legend-label text')].map((t) => t.textContent ?? ''),
        overlaps,
      };
    }),
  );
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  await context.close();
  return { rendered, charts, consoleErrors, foreignRequests };
}

/** Where a page's first chart starts, in px from the top of the page. */
async function firstChartTop(index: string): Promise<number> {
  const context = await browser!.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(pathToFileURL(index).href);
  await page.waitForSelector('body[data-rendered]', { timeout: 30_000 });
  const top = await page.evaluate(() => document.querySelector('[data-chart]')!.getBoundingClientRect().top + window.scrollY);
  await context.close();
  return top;
}

const KINDS = ['none', 'static', 'lru', 'lfu', 'belady', 'all-on-gpu'];

describe('report in a browser (chromium, file://)', () => {
  let sweepIndex = '';
  let runIndex = '';
  let quickstartIndex = '';
  let statsIndex = '';
  let validateIndex = '';

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) return;
    const tmp = mkdtempSync(join(tmpdir(), 'moesim-browser-'));
    // The README's quick start, through the CLI.
    const q = moesim(['run', 'scenarios/quickstart.yaml', '--report-dir', join(tmp, 'quickstart')]);
    expect(q.code, q.stderr).toBe(0);
    quickstartIndex = join(tmp, 'quickstart', 'index.html');
    // The shipped sweep, through the CLI, into a temporary folder.
    const out = join(tmp, 'sweep');
    const r = moesim(['sweep', 'scenarios/sweep-cache-link.yaml', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    sweepIndex = join(out, 'index.html');
    // Trace statistics of the shipped Mixtral trace.
    statsIndex = join(tmp, 'trace-stats.html');
    const t = moesim(['trace', 'stats', 'traces/mixtral-8x7b-instruct/humaneval-decode.jsonl', '--html', statsIndex]);
    expect(t.code, t.stderr).toBe(0);
    // A short validation on the CPU backend with the test's calibration profile.
    const v = moesim(['validate', 'scenarios/validate-mixtral.yaml', '--profile', 'test/fixtures/cpu-quick-profile.json', '--max-tokens', '24', '--repeats', '1', '--warmup-steps', '2', '--report-dir', join(tmp, 'validate')]);
    expect(v.code, v.stderr).toBe(0);
    validateIndex = join(tmp, 'validate', 'index.html');
    // A single run whose results carry predictor numbers (as a prefetching policy reports them),
    // so the precision/recall chart is exercised too.
    const { source } = loadReportSource(join(out, 'results.jsonl'));
    const result = structuredClone(source.points[11].result!);
    for (const p of result.results) {
      p.metrics.predictor = { perLookahead: [1, 2, 3, 4].map((lookahead) => ({ lookahead, precision: 0.95 - 0.1 * lookahead, recall: 0.9 - 0.12 * lookahead })) };
    }
    const runDir = join(out, '..', 'run');
    runIndex = (await writeReport(sourceFromRun(result), runDir, { svg: false })).index;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
  });

  it.skipIf(!HAVE_CHROMIUM)('the quick start: per-policy bars first, one legend entry per policy kind, no overlapping labels', async () => {
    const shot = join(SHOTS, 'quickstart.png');
    const page = await openReport(quickstartIndex, shot);
    expect(page.consoleErrors).toEqual([]);
    expect(page.foreignRequests).toEqual([]);
    expect(page.rendered).toBe(String(page.charts.length));
    expect(page.charts.map((c) => c.id)).toEqual(['policy-comparison', 'hit-rate-vs-cache', 'tpot-vs-memory', 'throughput-vs-memory', 'per-layer-hit-rate', 'bytes-moved']);
    for (const c of page.charts) expect(c.marks, c.id).toBeGreaterThan(0);
    const key = page.charts[0];
    // Six policies x three metrics: a bar and its value each.
    expect(key.marks).toBe(6 * 3 * 2);
    expect(key.legend).toEqual(KINDS);
    expect(key.overlaps).toBe(0);
    for (const id of ['tpot-vs-memory', 'bytes-moved']) expect(page.charts.find((c) => c.id === id)!.legend).toEqual(KINDS);
    console.log(`report screenshot: ${shot}`);
  });

  it.skipIf(!HAVE_CHROMIUM)('the shipped sweep: every chart renders marks, no console error, no request leaves the file', async () => {
    const shot = join(SHOTS, 'sweep-cache-link.png');
    const page = await openReport(sweepIndex, shot);
    expect(page.consoleErrors).toEqual([]);
    expect(page.foreignRequests).toEqual([]);
    expect(page.rendered).toBe(String(page.charts.length));
    expect(page.charts.map((c) => c.id)).toEqual(['tpot-vs-memory', 'hit-rate-vs-cache', 'throughput-vs-memory', 'per-layer-hit-rate', 'timeline', 'bytes-moved']);
    for (const c of page.charts) expect(c.marks, c.id).toBeGreaterThan(0);
    // 32 layers x 29 distinct policy/size rows of the heatmap.
    expect(page.charts.find((c) => c.id === 'per-layer-hit-rate')!.marks).toBe(32 * 29);
    expect(page.charts[0].legend.filter((l) => KINDS.includes(l))).toEqual(KINDS.filter((k) => k !== 'all-on-gpu'));
    expect(page.charts.find((c) => c.id === 'timeline')!.legend.length).toBeGreaterThanOrEqual(3);
    expect(page.charts[0].overlaps).toBe(0);
    expect(readdirSync(join(sweepIndex, '..', 'charts'))).toHaveLength(page.charts.length);
    console.log(`report screenshot: ${shot}`);
  });

  it.skipIf(!HAVE_CHROMIUM)('trace statistics: the same page style, every chart with marks, legends on the line charts', async () => {
    const shot = join(SHOTS, 'trace-stats.png');
    const page = await openReport(statsIndex, shot);
    expect(page.consoleErrors).toEqual([]);
    expect(page.foreignRequests).toEqual([]);
    expect(page.rendered).toBe(String(page.charts.length));
    expect(page.charts.map((c) => c.id)).toEqual(['lru', 'popularity', 'layers', 'affinity', 'matrix', 'weights']);
    for (const c of page.charts) expect(c.marks, c.id).toBeGreaterThan(0);
    expect(page.charts[0].legend).toEqual(['all layers (mean)', 'one MoE layer']);
    expect(page.charts.find((c) => c.id === 'layers')!.legend).toEqual(['temporal locality', 'normalized entropy', 'Gini']);
    expect(await firstChartTop(statsIndex)).toBeLessThan(400);
    console.log(`report screenshot: ${shot}`);
  });

  it.skipIf(!HAVE_CHROMIUM)('validation: opens with the error chart and its ±10% band, text after', async () => {
    const shot = join(SHOTS, 'validate.png');
    const page = await openReport(validateIndex, shot);
    expect(page.consoleErrors).toEqual([]);
    expect(page.foreignRequests).toEqual([]);
    expect(page.rendered).toBe(String(page.charts.length));
    expect(page.charts[0].id).toBe('errors');
    for (const c of page.charts) expect(c.marks, c.id).toBeGreaterThan(0);
    expect(page.charts[0].legend.length).toBeGreaterThan(0);
    expect(await firstChartTop(validateIndex)).toBeLessThan(400);
    console.log(`report screenshot: ${shot}`);
  });

  it.skipIf(!HAVE_CHROMIUM)('a run with predictor numbers: the precision/recall chart renders too', async () => {
    const shot = join(SHOTS, 'run-with-predictor.png');
    const page = await openReport(runIndex, shot);
    expect(page.consoleErrors).toEqual([]);
    expect(page.foreignRequests).toEqual([]);
    expect(page.rendered).toBe(String(page.charts.length));
    expect(page.charts.map((c) => c.id)).toContain('predictor-vs-lookahead');
    for (const c of page.charts) expect(c.marks, c.id).toBeGreaterThan(0);
    console.log(`report screenshot: ${shot}`);
  });
});
