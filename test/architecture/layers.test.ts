import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

/**
 * DESIGN.md's "dependencies point down the list", checked on the code: every relative import of
 * every file under src/ is read, and an import from a lower layer into a higher one fails.
 *
 * The order, lowest first. It is DESIGN.md's list with what the code teaches: util/ (errors, file
 * helpers) and timing/ (the one Costs seam, from model and hardware) are new floors; model/ sits
 * below hardware/ (a hardware spec is checked against a model's shapes); predictors/ below policies/
 * (a prefetch policy plans from a predictor's guesses); workload/ sits above the
 * schedulers it composes; scenario/ (the schema every type comes from) below sim/, which is built
 * from it; metrics/ below sim/ (the simulator charges into metrics/counters.ts); calibrate/ below
 * report/ (reports render validation results); bench/ and cli/ at the top.
 */
const LAYERS = [
  'util',
  'engine',
  'rng',
  'model',
  'hardware',
  'timing',
  'trace',
  'predictors',
  'policies',
  'scheduling',
  'workload',
  // issue 12: the systems catalog (policies + execution semantics) sits below the scenario schema that names it.
  'systems',
  'scenario',
  'metrics',
  'sim',
  // issue 17: several GPUs (expert parallelism, placement) builds on sim/'s trace fitting and run context.
  'parallel',
  'sweep',
  'calibrate',
  'report',
  // issue12c: reproduce runs scenarios (scenario, sim, systems) and renders a page (report)
  'reproduce',
  'bench',
  'cli',
];

/**
 * Upward imports still to remove, each with its reason. The test fails when one disappears too,
 * so that this list only shrinks.
 */
const KNOWN: Record<string, string> = {};

const SRC = join(import.meta.dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function layerOf(path: string): number {
  const top = path.split('/')[0];
  return top.endsWith('.ts') ? -1 : LAYERS.indexOf(top);
}

describe('import layers', () => {
  const upward: string[] = [];
  const unknownDirs = new Set<string>();
  for (const file of files(SRC)) {
    const from = relative(SRC, file).replaceAll('\\', '/');
    const fromLayer = layerOf(from);
    if (fromLayer < 0 && from.includes('/')) unknownDirs.add(from.split('/')[0]);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = relative(SRC, join(file, '..', m[1])).replaceAll('\\', '/');
      const toLayer = layerOf(target);
      if (toLayer < 0 && target.includes('/')) unknownDirs.add(target.split('/')[0]);
      if (fromLayer >= 0 && toLayer > fromLayer) upward.push(`${from} -> ${target}`);
    }
  }

  test('every directory of src/ has a layer', () => {
    expect([...unknownDirs]).toEqual([]);
  });

  test('no import runs from a lower layer to a higher one (beyond the listed ones)', () => {
    expect(upward.filter((u) => !(u in KNOWN)).sort()).toEqual([]);
  });

  test('every listed exception still exists (the list only shrinks)', () => {
    expect(Object.keys(KNOWN).filter((k) => !upward.includes(k))).toEqual([]);
  });
});
