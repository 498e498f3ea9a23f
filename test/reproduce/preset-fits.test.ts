import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadSuite } from '../../src/reproduce/points.js';
import { presetFits, usedForPresetFit } from '../../src/reproduce/preset-fits.js';
import { reproduce, suiteBaseDir } from '../../src/reproduce/run.js';
import { formatReproduce } from '../../src/reproduce/format.js';
import { runtimes } from '../../src/timing/execution-semantics.js';
import { cpuPresets } from '../../src/hardware/presets.js';
import { ROOT } from '../helpers/cli.js';

const FILE = join(ROOT, 'scenarios', 'published', 'points.json');

test('every preset fit names points of the suite, of the system whose preset it sets', () => {
  const suite = loadSuite(FILE);
  const ids = new Set(suite.points.map((p) => p.id));
  for (const f of presetFits)
    for (const e of f.fitOn) {
      const matched = e.endsWith('*') ? suite.points.filter((p) => p.id.startsWith(e.slice(0, -1))) : suite.points.filter((p) => p.id === e);
      expect(matched.length, `${f.parameter}: ${e}`).toBeGreaterThan(0);
      for (const p of matched) expect(ids.has(p.id)).toBe(true);
    }
  // The three fits of this suite, their subsets exactly: mixtral-offloading's 3-bit half (not Accelerate's naive rows of it)
  // plus the six 2-bit LRU and no-cache rows of the write-back inference (A100, 3080 Mobile, 3060; not the T4's),
  // and kTransformers' four V0.2 rows (not the llama.cpp row on that machine, nor the V0.2.1 rows).
  const fitted = suite.points.filter((p) => usedForPresetFit(p.id));
  const mo = fitted.filter((p) => p.system === 'mixtral-offloading').map((p) => p.id);
  expect(mo.filter((id) => id.startsWith('mo-t2-3bit-'))).toHaveLength(12);
  expect(mo.filter((id) => !id.startsWith('mo-t2-3bit-')).sort()).toEqual(
    ['a100-80gb', 'rtx-3060', 'rtx-3080-laptop'].flatMap((g) => [`mo-t2-2bit-${g}-lru`, `mo-t2-2bit-${g}-on-demand`]).sort(),
  );
  expect(fitted.filter((p) => p.system === 'ktransformers').map((p) => p.id).sort()).toEqual(['kt-v02-dual-6e', 'kt-v02-dual-8e', 'kt-v02-single-6e', 'kt-v02-single-8e']);
  expect(fitted.map((p) => p.system).filter((s) => s !== 'mixtral-offloading' && s !== 'ktransformers')).toEqual([]);
  // The values printed are the presets' own.
  expect(presetFits[0].value).toBe(`${Math.round(runtimes['eager-pytorch-hqq-triton'].perKernelSec * 1e6)} us`);
  expect(presetFits[1].value).toBe(String(cpuPresets['xeon-gold-6454s-2s'].quantGemvBandwidthFraction));
  expect(presetFits[2].value).toBe('false');
});

test('reproduce reports the unfitted errors on the points outside every preset fit, and says which were in-sample', async () => {
  const s = loadSuite(FILE);
  const ids = ['kt-v02-dual-8e', 'kt-v02-dual-6e', 'kt-v021-8e-1k', 'kt-v021-6e-1k', 'kt-v02-llamacpp-8e'];
  const r = await reproduce({ ...s, points: s.points.filter((p) => ids.includes(p.id)) }, { baseDir: suiteBaseDir(FILE), fit: { kind: 'none' } });
  expect(r.presetFits.outside.points.map((p) => p.id)).toEqual(['kt-v02-llamacpp-8e', 'kt-v021-8e-1k', 'kt-v021-6e-1k']);
  expect(r.presetFits.outside.summary.points).toBe(3);
  // The outside summary is the summary of those points' own unfitted errors.
  const errs = r.presetFits.outside.points.map((p) => Math.abs(p.error!)).sort((a, b) => a - b);
  expect(r.presetFits.outside.summary.medianAbsError).toBeCloseTo(errs[1], 12);
  const text = formatReproduce(r);
  expect(text).toContain('fitted on 2 of these points');
  expect(text).toContain('errors on the 3 points no preset value was fitted on');
}, 60_000);
