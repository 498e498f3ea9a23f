import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadSuite } from '../../src/reproduce/points.js';
import { reproduce, suiteBaseDir } from '../../src/reproduce/run.js';
import { ROOT } from '../helpers/cli.js';

const FILE = join(ROOT, 'scenarios', 'published', 'points.json');

test('each unfitted result says where its time went: link and GPU busy seconds per output token', async () => {
  const s = loadSuite(FILE);
  const ids = ['t4', 'rtx-3060'].flatMap((g) => ['lru', 'on-demand'].map((v) => `mo-t2-3bit-${g}-${v}`));
  const points = s.points.filter((p) => ids.includes(p.id));
  expect(points).toHaveLength(4);
  const r = await reproduce({ ...s, points }, { baseDir: suiteBaseDir(FILE), fit: { kind: 'none' } });
  const by = Object.fromEntries(r.unfitted.points.map((p) => [p.id, p]));
  for (const id of ids) {
    const b = by[id].busy!;
    expect(b.linkSecPerToken).toBeGreaterThan(0);
    expect(b.gpuSecPerToken).toBeGreaterThan(0);
  }
  for (const g of ['t4', 'rtx-3060']) {
    const lru = by[`mo-t2-3bit-${g}-lru`];
    const od = by[`mo-t2-3bit-${g}-on-demand`];
    // Same compute in both rows of a column; no cache means more bytes over the link.
    expect(od.busy!.gpuSecPerToken).toBeCloseTo(lru.busy!.gpuSecPerToken, 6);
    expect(od.busy!.linkSecPerToken).toBeGreaterThan(1.5 * lru.busy!.linkSecPerToken);
    // On demand, copies and kernels share the compute stream: their busy time is inside the token's.
    expect(od.busy!.linkSecPerToken + od.busy!.gpuSecPerToken).toBeLessThan(od.simulatedSecPerToken!);
  }
  // Table 2's T4 and RTX 3060 are both PCIe Gen.3 x16 with the same trace: the same link seconds on demand.
  expect(by['mo-t2-3bit-t4-on-demand'].busy!.linkSecPerToken).toBeCloseTo(by['mo-t2-3bit-rtx-3060-on-demand'].busy!.linkSecPerToken, 6);
}, 120_000);
