import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CsvAppender, csvObjects, parseResults, recordLine, repairResultsFile, writeCsvFile, type PointRecord } from '../../src/sweep/results.js';

const rec = (index: number, extra: Partial<PointRecord> = {}): PointRecord => ({
  sweep: 's1',
  point: `p${index}`,
  index,
  assignments: { 'hardware.link.bandwidthGBps': 16 * (index + 1) },
  seed: 100 + index,
  result: {
    moesimVersion: 'test',
    scenario: { name: 't', seed: 100 + index, resolved: {} },
    model: 'm',
    hardware: 'h',
    trace: { format: 'test', tokens: 1, sequences: 1 },
    results: [
      { policy: 'lru', label: 'lru, 2/layer', metrics: { hitRate: 0.5, gpuMemory: { peakBytes: 10 }, perLayerHitRate: [0.5] } as never },
      { policy: 'none', label: 'none', metrics: { hitRate: 0, gpuMemory: { peakBytes: 5 }, perLayerHitRate: [0] } as never },
    ],
    warnings: [],
  },
  ...extra,
});

describe('results.jsonl', () => {
  it('reads whole lines; a torn last line is dropped with a warning', () => {
    const text = recordLine(rec(0)) + recordLine(rec(1)) + recordLine(rec(2)).slice(0, 40);
    const r = parseResults(text, 'results.jsonl');
    expect(r.records.map((x) => x.index)).toEqual([0, 1]);
    expect(r.torn).toBe(true);
    expect(r.warnings).toEqual([expect.stringMatching(/^results\.jsonl:3: dropped a torn last line \(40 bytes/)]);
    expect(r.goodBytes).toBe(Buffer.byteLength(recordLine(rec(0)) + recordLine(rec(1))));
  });

  it('keeps a whole record that lost only its newline', () => {
    const text = recordLine(rec(0)) + recordLine(rec(1)).trimEnd();
    const r = parseResults(text, 'f');
    expect(r.records).toHaveLength(2);
    expect(r.torn).toBe(true);
  });

  it('clean files have no warnings; empty files no records', () => {
    expect(parseResults(recordLine(rec(0)) + recordLine(rec(1)), 'f')).toMatchObject({ warnings: [], torn: false });
    expect(parseResults('', 'f').records).toEqual([]);
  });

  it('repair cuts a torn tail so the next append starts a fresh line', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'moesim-res-')), 'results.jsonl');
    writeFileSync(file, recordLine(rec(0)) + '{"sweep":"s1","poi');
    const r = repairResultsFile(file);
    expect(r.records).toHaveLength(1);
    expect(readFileSync(file, 'utf8')).toBe(recordLine(rec(0)));
    writeFileSync(file, recordLine(rec(0)) + recordLine(rec(1)).trimEnd());
    repairResultsFile(file);
    expect(readFileSync(file, 'utf8')).toBe(recordLine(rec(0)) + recordLine(rec(1)));
  });
});

describe('results.csv', () => {
  it('one row per point x policy, metrics flattened, arrays left out; failed points get an error row', () => {
    const rows = csvObjects([rec(0), { ...rec(1), result: undefined, error: 'does not fit' }]);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({ sweep: 's1', point: 'p0', policy: 'lru', hitRate: '0.5', 'gpuMemory.peakBytes': '10', 'hardware.link.bandwidthGBps': '16' });
    expect('perLayerHitRate' in rows[0]).toBe(false);
    expect(rows[2]).toMatchObject({ point: 'p1', error: 'does not fit' });
  });

  it('appends as points land and rebuilds to the same text', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moesim-csv-'));
    const a = join(dir, 'a.csv');
    const b = join(dir, 'b.csv');
    const app = new CsvAppender(a, undefined);
    app.append(rec(0));
    app.append(rec(1));
    writeCsvFile(b, [rec(1), rec(0)]);
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(b, 'utf8'));
    // No quoting needed for these values: split plainly.
    const [head, ...lines] = readFileSync(a, 'utf8').trim().split('\n').map((l) => l.split(','));
    const col = (name: string) => head.indexOf(name);
    expect(lines.map((l) => [l[col('point')], l[col('policy')]])).toEqual([['p0', 'lru'], ['p0', 'none'], ['p1', 'lru'], ['p1', 'none']]);
  });
});

describe('results.jsonl read back against its schema (issue 13)', () => {
  it('damaged lines are named with file:line and left out; the rest is kept', () => {
    const r0 = rec(0);
    const bad = [
      { ...rec(1), result: {} },
      { ...rec(2), result: { ...rec(2).result, results: 'x' } },
      { ...rec(3), result: { ...rec(3).result, results: [{ policy: 'lru', label: 'l', metrics: null }] } },
      { ...rec(4), result: { ...rec(4).result, warnings: [1] } },
    ];
    const text = recordLine(r0) + bad.map((b) => JSON.stringify(b) + '\n').join('') + recordLine(rec(5)).slice(0, 30) + '\n' + recordLine(rec(6));
    const r = parseResults(text, 'results.jsonl');
    expect(r.records.map((x) => x.index)).toEqual([0, 6]);
    expect(r.warnings).toHaveLength(5);
    expect(r.warnings[0]).toMatch(/^results\.jsonl:2: not a result record, left out: result\.moesimVersion/);
    expect(r.warnings[1]).toMatch(/^results\.jsonl:3: .*result\.results: .*expected array/);
    expect(r.warnings[2]).toMatch(/^results\.jsonl:4: .*result\.results\[0\]\.metrics/);
    expect(r.warnings[3]).toMatch(/^results\.jsonl:5: .*result\.warnings\[0\]/);
    expect(r.warnings[4]).toMatch(/^results\.jsonl:6: .*not JSON/);
  });

  it('10,000 duplicate lines are dropped with one warning, in linear time', () => {
    const line = recordLine(rec(0));
    const text = line.repeat(10_000);
    const t0 = performance.now();
    const r = parseResults(text, 'f');
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(r.records).toHaveLength(1);
    expect(r.warnings).toEqual(['f: 9999 duplicate lines of points already read (first at line 2); dropped']);
  });
});
