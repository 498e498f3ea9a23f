/** The trace statistics page: layer axes are integers (a 2-layer trace must not get ticks at 0.5). */
import { describe, expect, it } from 'vitest';
import { statsCharts } from '../../src/report/trace-stats.js';
import { computeTraceStats } from '../../src/trace/stats.js';
import { traceOf } from '../trace/helpers.js';

describe('trace stats charts', () => {
  it('draws every quantitative layer axis with integer ticks', () => {
    const t = traceOf(4, [[[[0, 1], [2, 3]], [[1, 2], [3, 0]], [[0, 3], [2, 1]]]]);
    const charts = statsCharts(computeTraceStats(t));
    const layerAxes = charts.flatMap((c) => {
      const enc = (c.spec as { encoding?: Record<string, { field?: string; type?: string; axis?: { tickMinStep?: number; format?: string } }> }).encoding ?? {};
      return Object.values(enc).filter((e) => e.type === 'quantitative' && (e.field === 'layer'));
    });
    expect(layerAxes.length).toBeGreaterThan(0);
    for (const a of layerAxes) expect(a.axis).toMatchObject({ tickMinStep: 1, format: 'd' });
  });
});
