import { describe, expect, it } from 'vitest';
import { tierRunner } from '../helpers/tiers.js';
import { sourceFromRun } from '../../src/report/source.js';
import { tierCharts, tierTable } from '../../src/report/tiers.js';
import { renderSvg } from '../../src/report/svg.js';

// OLMoE-1B-7B, bf16 (12 GiB of experts) on a 4090 whose host has 4 GiB for them: three tiers.
const run = tierRunner('tiers-report');

/** The stall panel's rows of the memory-tiers chart: part -> ms. */
async function stallPanel(extra: Record<string, unknown>) {
  const r = await run(extra);
  const chart = tierCharts(sourceFromRun(r))[0];
  // The three panels compile and render.
  expect(await renderSvg(chart.spec)).toContain('GPU stall (ms)');
  const rows = chart.table!.rows.filter((x) => x.panel === 'GPU stall (ms)');
  return { r, parts: Object.fromEntries(rows.map((x) => [x.part as string, x.value as number])) };
}

describe('memory tiers in the report', () => {
  it("the stall panel: the GPU's wait on SSD reads apart from the copy, adding up to the stall; the table prints it", async () => {
    const { r, parts } = await stallPanel({ hardware: { preset: 'rtx-4090', cpu: { memoryGiB: 4 }, storage: 'samsung-990-pro' } });
    const m = r.results[0].metrics;
    expect(parts['SSD reads (into host DRAM)']).toBeCloseTo(m.stallSplitMs.ssdMs!, 3);
    expect(parts['SSD reads (into host DRAM)']).toBeGreaterThan(0);
    expect(Object.values(parts).reduce((a, b) => a + b, 0)).toBeCloseTo(m.stallMs, 2);
    const table = tierTable(r)!;
    expect(table).toMatch(/stall ms\s+SSD wait ms/);
    expect(table).toContain(m.stallSplitMs.ssdMs!.toFixed(1));
  });

  it('unified memory: the fetch path is the SSD, no separate SSD class', async () => {
    const { r, parts } = await stallPanel({ hardware: { preset: 'm3-max', gpu: { memoryGiB: 8 } }, policies: [{ kind: 'lru', cache: { hbm: true, reserveGiB: 2 } }] });
    expect(Object.keys(parts)).toEqual(['fetch from the SSD', 'link queue', 'CPU experts']);
    expect(Object.values(parts).reduce((a, b) => a + b, 0)).toBeCloseTo(r.results[0].metrics.stallMs, 2);
  });
});
