import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadSuite } from '../../src/reproduce/points.js';
import { inFitSubset, perKernelCost, reproduce, suiteBaseDir } from '../../src/reproduce/run.js';
import { runtimes } from '../../src/timing/execution-semantics.js';
import { ROOT } from '../helpers/cli.js';

const FILE = join(ROOT, 'scenarios', 'published', 'points.json');

test('--fit entries: a system takes all its points, a prefix ending in * a declared part of them', () => {
  const p = { id: 'mo-t2-3bit-t4-lru', system: 'mixtral-offloading' };
  expect(inFitSubset(['mo-t2-3bit-*'], p)).toBe(true);
  expect(inFitSubset(['mo-t2-2bit-*'], p)).toBe(false);
  expect(inFitSubset(['mixtral-offloading'], p)).toBe(true);
  expect(inFitSubset(['fiddler'], p)).toBe(false);
});

test("eager-pytorch-hqq-triton's per-op host cost is the fit on Table 2's 3-bit half, and the 2-bit half is reported held out", async () => {
  const s = loadSuite(FILE);
  const points = s.points.filter((p) => p.system === 'mixtral-offloading' && p.id.startsWith('mo-t2-'));
  expect(points).toHaveLength(24);
  const r = await reproduce({ ...s, points }, { baseDir: suiteBaseDir(FILE), fit: { kind: 'subset', systems: ['mo-t2-3bit-*'] }, parameter: { ...perKernelCost, grid: [10, 40, 80, 160] } });
  const fold = r.folds.find((f) => f.runtime === 'eager-pytorch-hqq-triton')!;
  expect(fold.fitPoints).toHaveLength(12);
  expect(fold.fitPoints.every((id) => id.startsWith('mo-t2-3bit-'))).toBe(true);
  expect(fold.value).toBe(80);
  expect(runtimes['eager-pytorch-hqq-triton'].perKernelSec * 1e6).toBe(fold.value);
  expect(r.heldOut!.points.map((p) => p.id).every((id) => id.startsWith('mo-t2-2bit-'))).toBe(true);
  expect(r.heldOut!.points).toHaveLength(12);
}, 120_000);
