import { join } from 'node:path';
import { expect, test } from 'vitest';
import { renderReproduceHtml } from '../../src/reproduce/format.js';
import { loadSuite } from '../../src/reproduce/points.js';
import { reproduce, suiteBaseDir } from '../../src/reproduce/run.js';
import { ROOT } from '../helpers/cli.js';

const FILE = join(ROOT, 'scenarios', 'published', 'points.json');

test('the per-system error chart plots every point in seconds per token, so a tok/s point simulated too fast is negative there', async () => {
  const suite = loadSuite(FILE);
  const r = await reproduce({ ...suite, points: suite.points.filter((p) => p.id === 'mo-t2-3bit-t4-full') }, { baseDir: suiteBaseDir(FILE), fit: { kind: 'none' } });
  const p = r.unfitted.points[0];
  expect(p.metric).toBe('tokensPerSec');
  expect(p.error).toBeGreaterThan(0); // tok/s: simulated faster than published
  const html = renderReproduceHtml(r, { vega: '', vegaLite: '', vegaEmbed: '' });
  const m = /"secError":(-?[0-9.e-]+)/.exec(html);
  expect(m).not.toBeNull();
  expect(Number(m![1])).toBeCloseTo(p.simulatedSecPerToken! / p.publishedSecPerToken - 1, 9);
  expect(Number(m![1])).toBeLessThan(0);
  expect(html).toContain('"field":"secError"');
}, 60_000);
