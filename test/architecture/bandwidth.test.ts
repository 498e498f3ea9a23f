import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { bytesSec, linkSec } from '../../src/timing/roofline.js';

/**
 * "One home for time": a byte count is divided by a bandwidth in exactly one module,
 * src/timing/roofline.ts (bytesSec, linkSec, the roofline). Every other file charges a transfer,
 * an HBM pass, an SSD read or an interconnect message through those functions. Comments and string
 * literals (a formula printed in a profile's description) are left out before the search.
 */
const HOME = 'timing/roofline.ts';
const SRC = join(import.meta.dirname, '../../src');

/** Divisions by a bandwidth that are not a time, each with its reason; `file: match`. */
const NOT_A_TIME = new Set([
  // the fitted roofline's knee: FLOP/s over bytes/s, an arithmetic intensity in FLOP/byte
  'calibrate/fit.ts: / memBandwidth',
]);

/** A division whose divisor names a bandwidth: `x / link.h2dBytesPerSec`, `b / (bw)`, `n / hbm`. */
const DIVIDE_BY_BANDWIDTH = /\/\s*\(?\s*(?:this\.)?[\w.]*(?:BytesPerSec|bytesPerSec|[bB]andwidth|\bbw|\bh2d|\bd2h|\bhbm)\b/g;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** The source with comments and string literals blanked out (template literals whole). */
export function codeOnly(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/`(?:[^`\\]|\\[\s\S])*`/g, '``')
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
    .replace(/"(?:[^"\\\n]|\\.)*"/g, '""')
    .replace(/\/\/[^\n]*/g, ' ');
}

function divisions(src: string): string[] {
  return [...codeOnly(src).matchAll(DIVIDE_BY_BANDWIDTH)].map((m) => m[0]);
}

describe('bytes over a bandwidth', () => {
  test('the search finds the divisions it is meant to find (so that it can fail)', () => {
    expect(divisions('const t = bytes / link.h2dBytesPerSec;')).toHaveLength(1);
    expect(divisions('const t = b / (l.perPeerBytesPerSec ?? l.bytesPerSec);')).toHaveLength(1);
    expect(divisions('x = n / this.hbm; y = q / bw; z = p.bytes / memBandwidth;')).toHaveLength(3);
    expect(divisions('// bytes / bandwidth\nconst s = `latency + bytes / bandwidth`;')).toHaveLength(0);
  });

  test(`only ${HOME} divides bytes by a bandwidth`, () => {
    const found: string[] = [];
    for (const f of files(SRC)) {
      const rel = relative(SRC, f).split('\\').join('/');
      if (rel === HOME) continue;
      for (const d of divisions(readFileSync(f, 'utf8'))) if (!NOT_A_TIME.has(`${rel}: ${d}`)) found.push(`${rel}: ${d}`);
    }
    expect(found).toEqual([]);
  });

  test('the exception is still there (the list only shrinks)', () => {
    for (const e of NOT_A_TIME) {
      const [rel, d] = e.split(': ');
      expect(divisions(readFileSync(join(SRC, rel), 'utf8'))).toContain(d);
    }
  });

  test(`${HOME} has the division`, () => {
    expect(divisions(readFileSync(join(SRC, HOME), 'utf8')).length).toBeGreaterThan(0);
    expect(bytesSec(3e9, 1.5e9)).toBe(2);
    expect(linkSec(1e-5, 1e9, 1e9)).toBe(1 + 1e-5);
  });
});
