import { join } from 'node:path';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { expect, test } from 'vitest';
import { loadSuite } from '../../src/reproduce/points.js';
import { reproduce, suiteBaseDir, type FittedParameter, perKernelCost } from '../../src/reproduce/run.js';
import { formatReproduce } from '../../src/reproduce/format.js';
import { runtimes, type RuntimeName } from '../../src/timing/execution-semantics.js';
import { moesim, ROOT } from '../helpers/cli.js';

const FILE = join(ROOT, 'scenarios', 'published', 'points.json');
const IDS = ['mo-t2-2bit-t4-full', 'mo-t2-2bit-t4-lru', 'mo-t2-2bit-t4-naive'];

function smallSuite() {
  const s = loadSuite(FILE);
  return { ...s, points: s.points.filter((p) => IDS.includes(p.id)) };
}
const small: FittedParameter = { ...perKernelCost, grid: [5, 200] };

test('unfitted run on 3 points: every point simulated, errors signed in the published unit', async () => {
  const r = await reproduce(smallSuite(), { baseDir: suiteBaseDir(FILE), fit: { kind: 'none' } });
  expect(r.unfitted.points.map((p) => p.id)).toEqual(IDS);
  for (const p of r.unfitted.points) {
    expect(p.failure).toBeUndefined();
    expect(p.error).toBeCloseTo(p.simulated! / p.published - 1, 12);
    expect(p.simulatedSecPerToken).toBeGreaterThan(0);
  }
  expect(r.heldOut).toBeUndefined();
  expect(r.unfitted.summary.comparisons.map((c) => c.id)).toEqual(['mixtral-offloading-table2-2bit-t4']);
  expect(formatReproduce(r)).toContain('nothing fitted in this run');
}, 60_000);

test('the per-system signed error is in seconds per token: negative when too fast, for tok/s points too', async () => {
  // Table 2's T4 rows are tok/s points simulated too fast (their published-unit errors are positive).
  const r = await reproduce(smallSuite(), { baseDir: suiteBaseDir(FILE), fit: { kind: 'none' } });
  const mo = r.unfitted.summary.perSystem.find((x) => x.system === 'mixtral-offloading')!;
  const pts = r.unfitted.points.filter((p) => p.system === 'mixtral-offloading');
  expect(pts.every((p) => p.simulatedSecPerToken! < p.publishedSecPerToken && p.error! > 0)).toBe(true);
  expect(mo.tooFast).toBe(pts.length);
  expect(mo.medianSignedError).toBeLessThan(0);
}, 60_000);

test('leave-one-system-out: each system predicted by a fit that never saw it', async () => {
  // Table 2's naive baseline (hf-accelerate) and Fiddler both run eager PyTorch: each fold fits on the other
  // system; mixtral-offloading's runtime (eager-pytorch-hqq-triton) has no other system: its preset value.
  const s = loadSuite(FILE);
  const ids = [...IDS, 'fiddler-v1-rtx6000-16-512-fiddler'];
  const r = await reproduce({ ...s, points: s.points.filter((p) => ids.includes(p.id)) }, { baseDir: suiteBaseDir(FILE), fit: { kind: 'loso' }, parameter: small });
  expect(r.folds.map((f) => f.heldOut)).toEqual([['fiddler'], ['hf-accelerate'], ['mixtral-offloading']]);
  for (const f of r.folds) {
    const fitSystems = new Set(r.unfitted.points.filter((p) => f.fitPoints.includes(p.id)).map((p) => p.system));
    for (const h of f.heldOut) expect(fitSystems.has(h)).toBe(false);
    if (f.fitPoints.length) expect(small.grid).toContain(f.value);
    else expect(f.value).toBe(runtimes[f.runtime as RuntimeName].perKernelSec * 1e6);
  }
  expect(r.folds.find((f) => f.heldOut[0] === 'mixtral-offloading')!.fitPoints).toEqual([]);
  expect(r.folds.find((f) => f.heldOut[0] === 'fiddler')!.fitPoints).toEqual(['mo-t2-2bit-t4-naive']);
  expect(r.heldOut!.points.every((p) => !p.usedForFitting)).toBe(true);
  expect(r.heldOut!.points).toHaveLength(4);
  // the fitted per-kernel cost moves the simulation the way its value moves from the preset (10 us):
  // Fiddler (eager-pytorch) fitted on the Accelerate point
  const i = r.unfitted.points.findIndex((p) => p.system === 'fiddler');
  const a = r.unfitted.points[i].simulatedSecPerToken!;
  const b = r.heldOut!.points[i].simulatedSecPerToken!;
  if (r.heldOut!.points[i].parameterValue > 10) expect(b).toBeGreaterThan(a);
  else expect(b).toBeLessThan(a);
}, 60_000);

test('moesim reproduce --only ... --fit none writes the page and the JSON', () => {
  const out = mkdtempSync(join(tmpdir(), 'moesim-repro-'));
  const r = moesim(['reproduce', '--only', 'mo-t2-2bit-t4-*', '--fit', 'none', '--json', '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(doc.unfitted.points).toHaveLength(4);
  expect(existsSync(join(out, 'index.html'))).toBe(true);
  expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('Parity');
  const bad = moesim(['reproduce', '--only', 'nothing-like-this']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/no point matches/);
}, 60_000);

test('every published point of the suite is simulated (none refused by its own setup, e.g. a host too small for the model)', async () => {
  const r = await reproduce(loadSuite(FILE), { baseDir: suiteBaseDir(FILE), fit: { kind: 'none' } });
  expect(r.unfitted.points.filter((p) => p.failure !== undefined).map((p) => `${p.id}: ${p.failure}`)).toEqual([]);
}, 120_000);

test("on the sourced Colab host the 2-bit T4 LRU row is refused: Table 2's no-write-back cache keeps every expert on the host, more than its 12.7 GiB (s27-hosts)", async () => {
  const suite = loadSuite(FILE);
  const p = suite.points.find((q) => q.id === 'mo-t2-2bit-t4-lru')!;
  const r = await reproduce({ ...suite, points: [{ ...p, hardware: { preset: 't4', cpu: { preset: 'colab-xeon-2vcpu' } } }] }, { baseDir: suiteBaseDir(FILE), fit: { kind: 'none' } });
  const failure = (r.unfitted.points[0] as { failure?: string }).failure ?? '';
  expect(failure).toContain('hardware.cpu.memoryGiB');
  expect(failure).toContain('keeps 256 experts');
  expect(failure).toContain('12.70 GiB');
}, 60_000);
