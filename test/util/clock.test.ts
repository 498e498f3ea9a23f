import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { now, secondsSince } from '../../src/util/clock.js';

const SRC = join(import.meta.dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('util/clock', () => {
  test('now is monotonic and secondsSince counts from a reading in seconds', () => {
    const a = now();
    const b = now();
    expect(b >= a).toBe(true);
    expect(secondsSince(a)).toBeGreaterThanOrEqual(0);
    // a reading 2.5 s in the past is at least 2.5 s ago
    expect(secondsSince(now() - 2_500_000_000n)).toBeGreaterThanOrEqual(2.5);
    expect(secondsSince(now() - 2_500_000_000n)).toBeLessThan(60);
  });

  test('the measured runs have one timer: process.hrtime is read only in util/clock.ts', () => {
    const readers = files(SRC)
      .filter((f) => relative(SRC, f).split('\\').join('/') !== 'util/clock.ts')
      .filter((f) => /process\.hrtime[.(]/.test(readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '')))
      .map((f) => relative(SRC, f));
    expect(readers).toEqual([]);
  });
});
