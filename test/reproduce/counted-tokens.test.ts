/**
 * A published rate that counts the prompt's tokens too (workload.countsPromptTokens): the h39s/mlsys
 * fork's run_benchmark.py divides sum(len(sequence)) over its prompts, prompt tokens included, by the
 * time around generate (h39s/mlsys@02a7818). The simulated rate counts the same tokens.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadSuite, parseSuite } from '../../src/reproduce/points.js';
import { simulatePoint, suiteBaseDir } from '../../src/reproduce/run.js';
import { ROOT } from '../helpers/cli.js';

const FILE = join(ROOT, 'scenarios', 'published', 'points.json');
const suite = loadSuite(FILE);
const point = (id: string) => suite.points.find((p) => p.id === id)!;

test('the fork points state the prompt lengths of their logs and count them, as run_benchmark.py does', () => {
  const fork = suite.points.filter((p) => p.id.startsWith('mo-fork-h39s-'));
  expect(fork).toHaveLength(8);
  // logs/*/run_0/results.json: total_num_tokens - 256 per prompt, mean 24.4 (A100 off6 24.6, 3090 off6 25.5)
  expect(fork.map((p) => p.workload.promptTokens)).toEqual([24, 24, 24, 24, 25, 24, 24, 26]);
  for (const p of fork) expect(p.workload.countsPromptTokens).toBe(true);
  expect(suite.points.filter((p) => p.workload.countsPromptTokens).length).toBe(8);
});

test('counting the prompt divides the same run by prompt + outputs instead of outputs (RTX 4090 off4, pinned)', async () => {
  const p = point('mo-fork-h39s-rtx-4090-off4-lru');
  const base = suiteBaseDir(FILE);
  const counted = await simulatePoint(p, base, { suite });
  const outputsOnly = await simulatePoint({ ...p, workload: { ...p.workload, countsPromptTokens: false } }, base, { suite });
  // one scenario, two divisors: 256 output tokens against 256 + 24
  expect(counted * (256 + 24)).toBeCloseTo(outputsOnly * 256, 9);
  expect(counted).toBeGreaterThan(0.38);
  expect(counted).toBeLessThan(0.48);
}, 60_000);

test('one output token (a prefill-only request): a counted prompt still divides the same run by prompt + 1', async () => {
  const p = point('mo-fork-h39s-rtx-4090-off4-lru');
  const one = { ...p, workload: { ...p.workload, outputTokens: 1 as const } };
  const base = suiteBaseDir(FILE);
  const counted = await simulatePoint(one, base, { suite });
  const outputsOnly = await simulatePoint({ ...one, workload: { ...one.workload, countsPromptTokens: false } }, base, { suite });
  // len(generate(...).sequences) is the prompt's 24 tokens and the one generated
  expect(counted * (1 + 24)).toBeCloseTo(outputsOnly, 9);
}, 60_000);

test('countsPromptTokens needs an end-to-end figure with both lengths stated', () => {
  const raw = JSON.parse(readFileSync(FILE, 'utf8'));
  const fork = raw.points.find((q: { id: string }) => q.id === 'mo-fork-h39s-rtx-4090-off4-lru');
  const withWorkload = (w: object) => ({ ...raw, points: [{ ...fork, workload: { ...fork.workload, ...w } }] });
  expect(() => parseSuite(withWorkload({}), 'x.json')).not.toThrow();
  expect(() => parseSuite(withWorkload({ promptTokens: 'unstated' }), 'x.json')).toThrow(/x\.json: mo-fork-h39s-rtx-4090-off4-lru\.workload\.countsPromptTokens/);
  expect(() => parseSuite(withWorkload({ timed: 'decode' }), 'x.json')).toThrow(/countsPromptTokens: needs timed "end-to-end"/);
});
