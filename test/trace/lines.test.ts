import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forEachLine } from '../../src/trace/lines.js';
import { formatFloat32, parseFloatBytes, parseUintBytes } from '../../src/trace/numbers.js';
import fc from 'fast-check';
import { tempDir } from './helpers.js';

const dir = tempDir();

describe('streaming line reader', () => {
  it('splits lines across 1 MiB chunks, long lines, CRLF and a last line without newline', async () => {
    const long = 'x'.repeat(3 * 2 ** 20 + 17);
    const p = join(dir, 'lines.txt');
    writeFileSync(p, `a\r\n${long}\nbb\n\nccc`);
    const got: [number, number, string][] = [];
    const n = await forEachLine(p, (buf, s, e, line) => {
      got.push([line, e - s, e - s < 10 ? buf.toString('utf8', s, e) : '']);
    });
    expect(n).toBe(5);
    expect(got).toEqual([
      [1, 1, 'a'],
      [2, long.length, ''],
      [3, 2, 'bb'],
      [4, 0, ''],
      [5, 3, 'ccc'],
    ]);
  });

  it('stops when the callback returns false', async () => {
    const p = join(dir, 'stop.txt');
    writeFileSync(p, 'a\nb\nc\n');
    let seen = 0;
    await forEachLine(p, () => ++seen < 2);
    expect(seen).toBe(2);
  });
});

describe('number parsing and formatting', () => {
  const bytes = (s: string) => Buffer.from(s);
  it('parses decimals exactly like Number()', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        for (const s of [String(x), x.toExponential(), x.toFixed(6), x.toPrecision(4)]) {
          const b = bytes(s);
          expect(Object.is(parseFloatBytes(b, 0, b.length), Number(s)) || (Number(s) === 0 && parseFloatBytes(b, 0, b.length) === 0)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
    for (const bad of ['', '-', 'abc', '1.2.3', '1e', 'nan', '0x10', '1,5']) expect(Number.isNaN(parseFloatBytes(bytes(bad), 0, bad.length))).toBe(true);
    expect(parseUintBytes(bytes('0042'), 0, 4)).toBe(42);
    expect(parseUintBytes(bytes('-1'), 0, 2)).toBe(-1);
  });

  it('formats float32 values with the shortest text that reads back exactly', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const f = Math.fround(x);
        expect(Math.fround(Number(formatFloat32(f)))).toBe(f === 0 ? 0 : f);
      }),
      { numRuns: 2000 },
    );
    expect(formatFloat32(Math.fround(0.6959583759307861))).toBe('0.6959584');
    expect(formatFloat32(0.5)).toBe('0.5');
  });
});
