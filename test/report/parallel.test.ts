import { describe, expect, test } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { runParallelScenario } from '../../src/parallel/run.js';
import { parallelCharts, renderParallelHtml } from '../../src/report/parallel.js';
import { renderSvg } from '../../src/report/svg.js';
import { chartConfig, SCHEMA } from '../../src/report/style.js';

const scenario = (attention: 'data' | 'tensor') =>
  parseScenario({
    name: 'tiny-parallel',
    model: 'mixtral-8x7b',
    hardware: 'a100-80gb',
    trace: { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 2, tokensPerSequence: 24, popularity: { kind: 'zipf', exponent: 1.2 }, affinity: 0.5 } },
    workload: { batchSize: 4 },
    policies: [{ kind: 'all-on-gpu' }, { kind: 'lru', cache: { perLayer: 1 } }],
    parallel: { machine: 'a100-4x-hgx', gpus: 4, attention, placements: [{ kind: 'round-robin' }, { kind: 'eplb' }, { kind: 'lina', intervalSteps: 2 }] },
  });

describe('the several-GPU report page', () => {
  test('charts of step time, imbalance, traffic and crossing routes compile and render, one series per run', async () => {
    const r = await runParallelScenario(scenario('tensor'), { baseDir: '.' });
    expect(r.runs.map((x) => x.label)).toEqual([
      'round-robin | all-on-gpu',
      'eplb +1/GPU | all-on-gpu',
      'lina /2 steps | all-on-gpu',
      'round-robin | lru, 1/layer per GPU',
      'eplb +1/GPU | lru, 1/layer per GPU',
      'lina /2 steps | lru, 1/layer per GPU',
    ]);
    const charts = parallelCharts(r);
    for (const c of charts) {
      const svg = await renderSvg({ $schema: SCHEMA, config: chartConfig, ...c.spec });
      expect(svg, c.id).toContain('<svg');
    }
    const values = (charts[1].spec as { data: { values: Array<{ run: string }> } }).data.values;
    expect(new Set(values.map((v) => v.run)).size).toBe(6);
    expect(values.length).toBe(6 * 32);
    const html = renderParallelHtml(r, { vega: '', vegaLite: '', vegaEmbed: '' });
    expect(html).toContain('lina /2 steps | lru, 1/layer per GPU');
    // Offloaded runs miss and fetch; all-on-gpu never does.
    expect(r.runs[3].gpus.reduce((s, g) => s + g.misses, 0)).toBeGreaterThan(0);
    expect(r.runs[0].gpus.reduce((s, g) => s + g.misses, 0)).toBe(0);
  }, 60_000);
});
