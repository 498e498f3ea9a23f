/**
 * The Fiddler repository's DeepSpeed-MII measurements (efeslab/fiddler@ebdded3, branch
 * batched_baseline): the L4 row runs on the README's Environment 2 host, a Cascade Lake Xeon, whose
 * PCIe 3.0 root ports train the L4's Gen4 x16 link at Gen3. ZeRO-3 with a leaf MoE block gathers
 * every weight every pass, so the link rate sets the token rate: the point must be slower on its
 * Gen3 host than on the l4 machine preset's Gen4 link, by close to the 2x rate ratio.
 */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadSuite } from '../../src/reproduce/points.js';
import { MIXTRAL_TRACE, MIXTRAL_TRACE_LONGEST_TOKENS, pointScenario, simulatePoint, suiteBaseDir } from '../../src/reproduce/run.js';
import { ROOT } from '../helpers/cli.js';

const FILE = join(ROOT, 'scenarios', 'published', 'points.json');
const suite = loadSuite(FILE);
const base = suiteBaseDir(FILE);

test('the Fiddler repository L4 DeepSpeed-MII point runs at its Cascade Lake host link (PCIe 3.0)', async () => {
  const p = suite.points.find((q) => q.id === 'fiddler-repo-l4-mii-128-512')!;
  expect(p.hardware).toMatchObject({ preset: 'l4', link: { preset: 'pcie3-x16' } });
  const gen3 = await simulatePoint(p, base, { suite });
  const gen4 = await simulatePoint({ ...p, hardware: { preset: 'l4' } }, base, { suite });
  const ratio = gen3 / gen4;
  expect(ratio).toBeGreaterThan(1.6);
  expect(ratio).toBeLessThan(2.05);
});

test('the Fiddler repository points are the authors\' CSV rows, DeepSpeed-MII as its script sets it up', () => {
  const ps = suite.points.filter((q) => q.id.startsWith('fiddler-repo-'));
  expect([...new Set(ps.map((q) => q.gpu))].sort()).toEqual(['l4', 'rtx-6000-ada', 'rtx-a6000']);
  for (const q of ps.filter((r) => r.workload.outputTokens === 512)) {
    expect(q.source.url).toMatch(/efeslab\/fiddler\/blob\/ebdded3f89d2a16a81ea39fca3f3649897dd3af9\/benchmarks\/results\/.+\.csv$/);
    expect(q.variant).toBe('deepspeed-mii');
    expect(q.workload).toMatchObject({ promptTokens: 128, outputTokens: 512, timed: 'end-to-end' });
    // the value is output tokens x batch size / the row's time column, as the quote shows
    const m = q.source.quote!.match(/^128, 512, (\d+), ([0-9.]+),/);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(q.workload.batchSize);
    expect(q.value).toBeCloseTo((q.workload.batchSize * 512) / Number(m![2]), 4);
  }
  // prefill-only rows: the value is the row's time for the prompt and its one output token
  for (const q of ps.filter((r) => r.workload.outputTokens === 1)) {
    expect(q.metric).toBe('secPerToken');
    const m = q.source.quote!.match(/^(\d+), 1, 1, ([0-9.]+),/);
    expect(Number(m![1])).toBe(q.workload.promptTokens);
    expect(q.value).toBe(Number(m![2]));
  }
});

test('a prefill-only row (one output token) is simulated as its TTFT, finite, and longer for the longer prompt', async () => {
  const short = suite.points.find((q) => q.id === 'fiddler-repo-ada6000-mii-prefill-1024')!;
  const long = suite.points.find((q) => q.id === 'fiddler-repo-ada6000-mii-prefill-8192')!;
  const a = await simulatePoint(short, base, { suite });
  const b = await simulatePoint(long, base, { suite });
  expect(Number.isFinite(a)).toBe(true);
  expect(b).toBeGreaterThan(a);
  // One ZeRO-3 gather of every weight bounds a prefill from below: the 128+512 decode point's
  // per-token time on the same card is that gather plus one token's compute.
  const decode = await simulatePoint(suite.points.find((q) => q.id === 'fiddler-repo-ada6000-mii-128-512')!, base, { suite });
  expect(a).toBeGreaterThan(0.9 * decode);
});

test('a stated prompt longer than the shipped Mixtral trace runs a synthetic trace holding the whole prompt', () => {
  const long = suite.points.find((q) => q.id === 'fiddler-repo-l4-mii-prefill-4096')!;
  const short = suite.points.find((q) => q.id === 'fiddler-repo-l4-mii-128-512')!;
  const sl = pointScenario(long, { suite, baseDir: base }) as { trace: { synthetic?: { tokensPerSequence: number }; path?: string } };
  const ss = pointScenario(short, { suite, baseDir: base }) as { trace: { synthetic?: unknown; path?: string } };
  expect(MIXTRAL_TRACE_LONGEST_TOKENS).toBe(254);
  expect(sl.trace.path).toBeUndefined();
  expect(sl.trace.synthetic!.tokensPerSequence).toBe(4096);
  expect(ss.trace.path).toBe(MIXTRAL_TRACE);
});

test('a batch point runs its stated batch (one synthetic sequence per slot) and counts every sequence\'s tokens', async () => {
  const b16 = suite.points.find((q) => q.id === 'fiddler-repo-l4-mii-128-512-b16')!;
  const sc = pointScenario(b16, { suite, baseDir: base }) as { workload: { batchSize: number }; trace: { synthetic?: { sequences: number } } };
  expect(sc.workload.batchSize).toBe(16);
  expect(sc.trace.synthetic!.sequences).toBe(16);
  const batched = await simulatePoint(b16, base, { suite });
  const single = await simulatePoint({ ...b16, workload: { ...b16.workload, batchSize: 1 } }, base, { suite });
  // ZeRO-3 gathers every weight once per step whatever the batch: the step costs a little more at
  // batch 16 (compute), so the seconds per counted token fall by a little less than 16x.
  expect(batched).toBeLessThan(single / 12);
  expect(batched).toBeGreaterThan(single / 16);
});
