import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { cachePolicyKinds } from '../../src/policies/index.js';
import { prefetchKinds } from '../../src/policies/prefetch/index.js';
import { missHandlerKinds } from '../../src/policies/miss/index.js';
import { predictorKinds } from '../../src/predictors/index.js';
import { schedulerKinds } from '../../src/scheduling/index.js';

/**
 * "No kind string is compared outside its table": a policy, prefetch, miss-handler, predictor or
 * scheduler kind is told apart only by the table that holds its row (the question is a field of
 * the row). Every file under src/ is read; a comparison of a `kind` (`x.kind === 'lru'`,
 * `'lru' !== x.kind`, `case 'lru':` in a `switch (x.kind)`) with one of those kinds fails, outside
 * the tables and the spec files whose schemas define the kinds.
 */
const TABLES = new Set([
  'policies/index.ts',
  'policies/spec.ts',
  'policies/prefetch/index.ts',
  'policies/miss/index.ts',
  'predictors/index.ts',
  'predictors/spec.ts',
  'scheduling/index.ts',
  'scheduling/spec.ts',
]);

/**
 * Comparisons still to remove, or kinds of another vocabulary that share a name, each with its
 * reason; `file: count`. The test fails when a count drops too, so that this list only shrinks.
 */
const KNOWN: Record<string, number> = {
  // A fit protocol's kind (none / loso / subset), not a cache policy's.
  'reproduce/run.ts': 1,
};

const SRC = join(import.meta.dirname, '../../src');
const KINDS = new Set<string>([...cachePolicyKinds, ...prefetchKinds, ...missHandlerKinds, ...predictorKinds, ...schedulerKinds]);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** The kind literals compared with a `kind` in `text`. */
export function kindComparisons(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\.kind\s*[!=]==?\s*'([^']+)'|'([^']+)'\s*[!=]==?\s*[\w.?]+\.kind\b/g)) found.push(m[1] ?? m[2]);
  for (const sw of text.matchAll(/switch\s*\([\w.?]+\.kind\)\s*\{([\s\S]*?)\n\s*\}/g)) {
    for (const c of sw[1].matchAll(/case\s+'([^']+)'\s*:/g)) found.push(c[1]);
  }
  return found.filter((k) => KINDS.has(k));
}

describe('kind comparisons', () => {
  const counts: Record<string, number> = {};
  for (const file of files(SRC)) {
    const rel = relative(SRC, file).replaceAll('\\', '/');
    if (TABLES.has(rel)) continue;
    const n = kindComparisons(readFileSync(file, 'utf8')).length;
    if (n > 0) counts[rel] = n;
  }

  test('the detector finds the forms it looks for', () => {
    expect(kindComparisons(`if (p.kind === 'lru') x(); if ('static' !== q.onMiss.kind) y(); switch (s.kind) {\n case 'fifo': z();\n }`)).toEqual(['lru', 'static', 'fifo']);
    expect(kindComparisons(`if (w.kind === 'serving') x();`)).toEqual([]);
  });

  test('no policy, prefetch, miss, predictor or scheduler kind is compared outside its table (beyond the listed ones)', () => {
    expect(Object.fromEntries(Object.entries(counts).filter(([f, n]) => n > (KNOWN[f] ?? 0)))).toEqual({});
  });

  test('every listed exception still exists (the list only shrinks)', () => {
    expect(Object.entries(KNOWN).filter(([f, n]) => (counts[f] ?? 0) < n)).toEqual([]);
  });
});
