import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadSuite, parseSuite, secPerToken } from '../../src/reproduce/points.js';
import { systemTable } from '../../src/reproduce/systems.js';
import { pointScenario } from '../../src/reproduce/run.js';
import { parseScenario } from '../../src/scenario/load.js';
import { gpuPresets } from '../../src/hardware/presets.js';
import { modelPresets } from '../../src/model/presets.js';
import { ROOT } from '../helpers/cli.js';

const FILE = join(ROOT, 'scenarios', 'published', 'points.json');
const suite = loadSuite(FILE);

test('the suite validates and covers at least 40 points, 5 systems and 6 GPUs', () => {
  expect(suite.points.length).toBeGreaterThanOrEqual(40);
  expect(new Set(suite.points.map((p) => p.system)).size).toBeGreaterThanOrEqual(5);
  expect(new Set(suite.points.map((p) => p.gpu)).size).toBeGreaterThanOrEqual(6);
});

describe.each(suite.points.map((p) => [p.id, p] as const))('point %s', (_id, p) => {
  test('has a source with a locator and the published cell', () => {
    expect(p.source.ref.length).toBeGreaterThan(5);
    expect(p.source.url).toMatch(/^https:\/\//);
    expect(p.source.locator.length).toBeGreaterThan(3);
    expect(p.source.quote).toBeDefined();
    // the quoted cell contains the recorded value as published
    expect(p.source.quote!).toContain(String(p.value));
  });
  test('names known presets and a mapped system, and builds a valid scenario', () => {
    expect(gpuPresets[p.gpu]).toBeDefined();
    expect(modelPresets[p.model]).toBeDefined();
    expect(systemTable[p.system]).toBeDefined();
    const sc = pointScenario(p, { suite });
    expect(() => parseScenario(sc, p.id)).not.toThrow();
    // issue12c: every point runs its real system preset, one policy, the point's stated precision
    expect((sc.system as { kind: string }).kind).toBe(systemTable[p.system].preset);
    expect(sc.policies).toHaveLength(1);
    expect(sc.precision).toEqual(p.precision);
  });
});

test('comparisons group points of one setup (same GPU and model)', () => {
  const groups = new Map<string, typeof suite.points>();
  for (const p of suite.points) if (p.comparison) groups.set(p.comparison, [...(groups.get(p.comparison) ?? []), p]);
  expect(groups.size).toBeGreaterThanOrEqual(10);
  for (const [, ps] of groups) {
    expect(ps.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ps.map((p) => p.gpu)).size).toBe(1);
    expect(new Set(ps.map((p) => p.metric)).size).toBe(1);
  }
});

test('the schema rejects a point without a source, a stray field, or a duplicate id', () => {
  const raw = JSON.parse(readFileSync(FILE, 'utf8'));
  const first = raw.points[0];
  const { source: _s, ...noSource } = first;
  expect(() => parseSuite({ ...raw, points: [noSource] }, 'x.json')).toThrow(/x\.json: points\.0\.source/);
  expect(() => parseSuite({ ...raw, points: [{ ...first, extra: 1 }] }, 'x.json')).toThrow(/x\.json/);
  expect(() => parseSuite({ ...raw, points: [first, first] }, 'x.json')).toThrow(/duplicate point id/);
  // a stated llama.cpp --n-cpu-moe is a layer count: not negative, not fractional, named in the error
  expect(() => parseSuite({ ...raw, points: [{ ...first, params: { nCpuMoe: -1 } }] }, 'x.json')).toThrow(/x\.json: points\.0\.params\.nCpuMoe/);
  expect(() => parseSuite({ ...raw, points: [{ ...first, params: { nCpuMoe: 1.5 } }] }, 'x.json')).toThrow(/params\.nCpuMoe/);
});

test('seconds per token from either unit', () => {
  expect(secPerToken('secPerToken', 0.5)).toBe(0.5);
  expect(secPerToken('tokensPerSec', 4)).toBe(0.25);
});

/**
 * arXiv 2312.17238 §4.3 (re-read in session 23): "We use k = 2 for RTX 3060 and k = 4 for all other
 * GPUs" (k: the LRU cache size per layer), and the naive baseline "loads the entire MoE layer".
 */
describe('mixtral-offloading Table 2 settings as the paper states them', () => {
  const t2 = suite.points.filter((p) => p.id.startsWith('mo-t2-'));
  test('32 cells: 2 formats x 4 GPUs x 4 rows', () => {
    expect(t2).toHaveLength(32);
  });
  test('the cached rows run k = 2 on the RTX 3060 and k = 4 elsewhere; the no-cache rows offload all 8', () => {
    for (const p of t2.filter((q) => q.system === 'mixtral-offloading')) {
      const sys = pointScenario(p, { suite }).system as { offloadPerLayer: number };
      const k = p.variant === 'on-demand' ? 0 : p.gpu === 'rtx-3060' ? 2 : 4;
      expect([p.id, p.params.cachePerLayer ?? 0]).toEqual([p.id, k]);
      expect([p.id, sys.offloadPerLayer]).toEqual([p.id, 8 - k]);
    }
  });
  test("Table 2 ran unpublished code without the serial write-back (MO_T2_CODE); the README point keeps the published code's", () => {
    for (const p of suite.points.filter((q) => q.system === 'mixtral-offloading')) {
      const sys = pointScenario(p, { suite }).system as { writeBack?: boolean };
      expect([p.id, sys.writeBack ?? true]).toEqual([p.id, !p.id.startsWith('mo-t2-')]);
    }
  });
  test('the naive baseline loads every expert of an offloaded layer', () => {
    for (const p of t2.filter((q) => q.system === 'hf-accelerate')) {
      expect((pointScenario(p, { suite }).system as { callsEveryExpert: boolean }).callsEveryExpert).toBe(true);
    }
  });
  test('the suspect 3-bit RTX 3060 naive cell says why in its notes', () => {
    const p = t2.find((q) => q.id === 'mo-t2-3bit-rtx-3060-naive')!;
    expect(p.value).toBe(1.791);
    expect(p.notes).toMatch(/typo/);
  });
});

test("Table 2's T4 rows run on their sourced cloud hosts where moesim can hold their experts (s27-hosts)", () => {
  const by = Object.fromEntries(suite.points.map((p) => [p.id, p]));
  for (const v of ['full', 'lru', 'on-demand', 'naive']) expect(by[`mo-t2-3bit-t4-${v}`].hardware, v).toEqual({ preset: 't4', cpu: { preset: 'epyc-7v12-nc4as' } });
  expect(by['mo-t2-2bit-t4-naive'].hardware).toEqual({ preset: 't4', cpu: { preset: 'colab-xeon-2vcpu' } });
  // The mixtral-offloading rows keep a host copy of every expert (writeBack false): more than Colab's 12.7 GB.
  for (const v of ['full', 'lru', 'on-demand']) {
    expect(by[`mo-t2-2bit-t4-${v}`].hardware, v).toEqual({ preset: 't4' });
    expect(by[`mo-t2-2bit-t4-${v}`].notes, v).toContain('cannot run on it');
  }
});

describe('loadSuite: a points file that cannot be read or is not JSON (s28-badin: the raw ENOENT / SyntaxError text)', () => {
  test('one line naming the file and what was expected', () => {
    expect(() => loadSuite(join(ROOT, 'nothere-points.json'))).toThrow(/nothere-points\.json: cannot read the points file: no such file or folder$/);
    expect(() => loadSuite(join(ROOT, 'scenarios', 'quickstart.yaml'))).toThrow(/quickstart\.yaml: not JSON \(.*\); expected a points file \(scenarios\/published\/points\.json\)$/);
  });
});
