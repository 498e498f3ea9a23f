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
  charts: Array<{ id: string; marks: number }>;
  consoleErrors: string[];
  foreignRequests: string[];
}

let browser: Browser | undefined;

async function openReport(index: string, shot: string): Promise<PageCheck> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
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
    [...document.querySelectorAll<HTMLElement>('[data-chart]')].map((el) => ({
      id: el.id,
      marks: [...el.querySelectorAll('g.role-mark')]
        .filter((g) => !g.closest('.role-axis, .role-legend, .role-title, .role-header, .role-column-header, .role-row-header, .role-footer'))
        .reduce((n, g) => n + g.children.length, 0),
    })),
  );
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  await context.close();
  return { rendered, charts, consoleErrors, foreignRequests };
}

describe('report in a browser (chromium, file://)', () => {
  let sweepIndex = '';
  let runIndex = '';

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) return;
    // The shipped sweep, through the CLI, into a temporary folder.
    const out = join(mkdtempSync(join(tmpdir(), 'moesim-browser-')), 'sweep');
    const r = moesim(['sweep', 'scenarios/sweep-cache-link.yaml', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    sweepIndex = join(out, 'index.html');
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
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it.skipIf(!HAVE_CHROMIUM)('the shipped sweep: every chart renders marks, no console error, no request leaves the file', async () => {
    const shot = join(SHOTS, 'sweep-cache-link.png');
    const page = await openReport(sweepIndex, shot);
    expect(page.consoleErrors).toEqual([]);
    expect(page.foreignRequests).toEqual([]);
    expect(page.rendered).toBe(String(page.charts.length));
    expect(page.charts.map((c) => c.id)).toEqual(['hit-rate-vs-cache', 'tpot-vs-memory', 'throughput-vs-memory', 'per-layer-hit-rate', 'timeline', 'bytes-moved']);
    for (const c of page.charts) expect(c.marks, c.id).toBeGreaterThan(0);
    // 32 layers x 29 distinct policy/size rows of the heatmap.
    expect(page.charts.find((c) => c.id === 'per-layer-hit-rate')!.marks).toBe(32 * 29);
    expect(readdirSync(join(sweepIndex, '..', 'charts'))).toHaveLength(page.charts.length);
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
