/**
 * The several-GPU report page in a real browser (as browser.test.ts does for the single-GPU pages):
 * `moesim run` on the README's two-GPU scenario writes index.html; Debian's chromium, driven by
 * playwright-core, opens it from file:// and every chart must draw its marks, one series per
 * placement, with no console error and no request leaving the file. Skipped where there is no chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { moesim } from '../helpers/cli.js';

const CHROMIUM = process.env.MOESIM_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`parallel report browser test skipped: no browser at ${CHROMIUM}`);

const PLACEMENTS = ['eplb +1/GPU | all-on-gpu', 'exflow | all-on-gpu', 'lina /4 steps | all-on-gpu', 'moetuner | all-on-gpu', 'round-robin | all-on-gpu'];

describe('the several-GPU report in a browser (chromium, file://)', () => {
  let index = '';
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) return;
    const dir = join(mkdtempSync(join(tmpdir(), 'moesim-parallel-browser-')), 'run');
    const r = moesim(['run', 'scenarios/parallel-mixtral-2gpu.yaml', '--report-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    index = join(dir, 'index.html');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
  });

  it.skipIf(!HAVE_CHROMIUM)('step time, imbalance, traffic and crossing charts draw one series per placement over the 32 layers', async () => {
    const context = await browser!.newContext({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    const foreign: string[] = [];
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    page.on('request', (q) => {
      if (q.url() !== pathToFileURL(index).href) foreign.push(q.url());
    });
    await context.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(index).href);
    await page.waitForSelector('body[data-rendered]', { timeout: 30_000 });
    const rendered = await page.getAttribute('body', 'data-rendered');
    const charts = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[data-chart]')].map((el) => ({
        id: el.dataset.chart ?? el.id,
        marks: [...el.querySelectorAll('g.role-mark')]
          .filter((g) => !g.closest('.role-axis, .role-legend, .role-title, .role-header'))
          .reduce((n, g) => n + g.children.length, 0),
        legend: [...el.querySelectorAll('g.role-legend-label text')].map((t) => t.textContent ?? ''),
      })),
    );
    await context.close();
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    expect(rendered).toBe('4');
    expect(charts.map((c) => c.id)).toEqual(['tpot', 'imbalance', 'traffic', 'cross']);
    // One bar per placement.
    expect(charts[0].marks).toBe(5);
    // Per layer: 5 placements x (32 points + their line).
    for (const c of charts.slice(1)) {
      expect(c.marks, c.id).toBe(5 * 33);
      expect(c.legend, c.id).toEqual(PLACEMENTS);
    }
  });
});
