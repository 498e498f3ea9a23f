import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/rng/rng.js';
import { importJsonl } from '../../src/trace/jsonl.js';
import { NO_EXPERT } from '../../src/trace/types.js';
import { InputError } from '../../src/util/errors.js';
import { MIXTRAL, routeOf, tempDir } from './helpers.js';

const dir = tempDir();
const write = (name: string, lines: string[]): string => {
  const p = join(dir, name);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
};
const rowsOf = (p: string): string[] => readFileSync(p, 'utf8').trim().split('\n');

describe('importJsonl on the real Mixtral trace', () => {
  it('reads 2 sequences of 83 and 255 tokens, 32 layers, 8 experts, top-2', async () => {
    const t = await importJsonl(MIXTRAL);
    expect([t.numLayers, t.numExperts, t.topK, t.tokens]).toEqual([32, 8, 2, 338]);
    expect(t.sequences).toEqual([
      { id: 'humaneval/0', start: 0, length: 83 },
      { id: 'humaneval/1', start: 83, length: 255 },
    ]);
    expect(t.weights).toBeDefined();
    expect(routeOf(t, 0, 0)).toEqual([6, 5]);
    expect(t.weights?.[0]).toBeCloseTo(0.6959583759307861, 6);
    expect(t.source.format).toBe('jsonl');
  });

  it('keeps every recorded route exactly and reports the missing ones without inventing them', async () => {
    const t = await importJsonl(MIXTRAL);
    const rows = rowsOf(MIXTRAL).map((l) => JSON.parse(l) as { problem_id: number; layer: number; token_idx: number; experts: number[]; gating_probs: number[] });
    expect(rows).toHaveLength(10779);
    for (const r of rows) {
      const token = t.sequences[r.problem_id].start + r.token_idx;
      expect(routeOf(t, token, r.layer)).toEqual(r.experts);
      const at = (token * 32 + r.layer) * 2;
      expect(t.weights?.[at + 1]).toBeCloseTo(r.gating_probs[1], 6);
    }
    let absent = 0;
    for (let i = 0; i < t.experts.length; i += 2) if (t.experts[i] === NO_EXPERT) absent++;
    expect(absent).toBe(338 * 32 - 10779);
    expect(t.warnings).toEqual(['humaneval-decode.jsonl: 37 (token, layer) routes missing in 2 sequences; left absent']);
  });

  it('gives the same trace when the rows are shuffled', async () => {
    const rows = rowsOf(MIXTRAL);
    const rng = createRng('shuffle');
    for (let i = rows.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    // problem 0 must still appear first for the same sequence order
    const first = rows.findIndex((r) => r.includes('"problem_id": 0'));
    [rows[0], rows[first]] = [rows[first], rows[0]];
    const a = await importJsonl(MIXTRAL);
    const b = await importJsonl(write('shuffled.jsonl', rows));
    expect(b.sequences).toEqual(a.sequences);
    expect(b.experts).toEqual(a.experts);
    expect(b.weights).toEqual(a.weights);
    expect(b.warnings[0]).toContain('37 (token, layer) routes missing in 2 sequences');
  });

  it('skips "type":"meta" rows and blank lines', async () => {
    const rows = rowsOf(MIXTRAL).slice(0, 100);
    const p = write('meta.jsonl', ['{"type":"meta","model":"mixtral","numExperts":8}', ...rows.slice(0, 50), '', '{"type": "meta", "note": "half"}', ...rows.slice(50)]);
    const t = await importJsonl(p);
    const ref = await importJsonl(write('plain.jsonl', rows));
    expect(t.experts).toEqual(ref.experts);
    expect(t.tokens).toBe(83);
  });

  it('detects req_id / token_pos / topk_ids / topk_weights and takes explicit field names', async () => {
    const auto = write('vllm.jsonl', [
      '{"req_id":"a","token_pos":0,"layer":0,"topk_ids":[1,2],"topk_weights":[0.6,0.4]}',
      '{"req_id":"a","token_pos":0,"layer":1,"topk_ids":[3,0],"topk_weights":[0.5,0.5]}',
      '{"req_id":"b","token_pos":0,"layer":1,"topk_ids":[2,3],"topk_weights":[0.7,0.3]}',
      '{"req_id":"a","token_pos":1,"layer":0,"topk_ids":[0,1],"topk_weights":[0.9,0.1]}',
    ]);
    const t = await importJsonl(auto);
    expect(t.sequences.map((s) => [s.id, s.length])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect([routeOf(t, 0, 0), routeOf(t, 0, 1), routeOf(t, 1, 0), routeOf(t, 1, 1), routeOf(t, 2, 0), routeOf(t, 2, 1)]).toEqual([[1, 2], [3, 0], [0, 1], [], [], [2, 3]]);
    expect(t.warnings[0]).toBe('vllm.jsonl: 2 (token, layer) routes missing in 2 sequences; left absent');
    const custom = write('custom.jsonl', ['{"r":7,"pos":3,"blk":0,"ids":[4]}', '{"r":7,"pos":5,"blk":0,"ids":[2]}']);
    const c = await importJsonl(custom, { fields: { sequence: 'r', token: 'pos', layer: 'blk', experts: 'ids' } });
    expect([c.tokens, c.topK, c.numExperts, c.sequences[0].id]).toEqual([2, 1, 5, '7']);
    expect(c.weights).toBeUndefined();
  });

  it('names the file and line of a truncated last line', async () => {
    const rows = rowsOf(MIXTRAL).slice(0, 10);
    const p = join(dir, 'truncated.jsonl');
    writeFileSync(p, rows.join('\n') + '\n' + rows[10 - 1].slice(0, 40));
    await expect(importJsonl(p)).rejects.toThrow(/^truncated\.jsonl:11: invalid JSON .*truncated line\?/);
    await expect(importJsonl(p)).rejects.toBeInstanceOf(InputError);
  });

  const bad: [string, string[], object, RegExp][] = [
    ['missing field', ['{"problem_id":0,"layer":0,"experts":[1,2],"token_idx":0}', '{"problem_id":0,"layer":1,"experts":[1,2]}'], {}, /^bad\.jsonl:2: missing field "token_idx"/],
    ['expert id >= numExperts', ['{"problem_id":0,"layer":0,"experts":[1,8],"token_idx":0}'], { numExperts: 8 }, /^bad\.jsonl:1: "experts"\[1\]: expected an expert id in 0\.\.7, got 8/],
    ['negative expert id', ['{"problem_id":0,"layer":0,"experts":[-1,2],"token_idx":0}'], {}, /^bad\.jsonl:1: "experts"\[0\]: expected an expert id/],
    ['layer out of range', ['{"problem_id":0,"layer":0,"experts":[1,2],"token_idx":0}', '{"problem_id":0,"layer":32,"experts":[1,2],"token_idx":0}'], { numLayers: 32 }, /^bad\.jsonl:2: "layer": expected an integer in 0\.\.31, got 32/],
    ['inconsistent topK', ['{"problem_id":0,"layer":0,"experts":[1,2],"token_idx":0}', '{"problem_id":0,"layer":1,"experts":[1,2,3],"token_idx":0}'], {}, /^bad\.jsonl:2: "experts" has 3 experts, expected 2/],
    ['duplicate row', ['{"problem_id":0,"layer":0,"experts":[1,2],"token_idx":0}', '{"problem_id":1,"layer":0,"experts":[1,2],"token_idx":0}', '{"problem_id":0,"layer":0,"experts":[3,2],"token_idx":0}'], { splitRestarts: false }, /^bad\.jsonl:3: duplicate row .*also at line 1/],
    ['weights of the wrong length', ['{"problem_id":0,"layer":0,"experts":[1,2],"gating_probs":[1],"token_idx":0}'], {}, /^bad\.jsonl:1: "gating_probs": expected an array of 2 numbers/],
    ['not an object', ['[1,2,3]'], {}, /^bad\.jsonl:1: expected a JSON object per line/],
    ['no layer field', ['{"problem_id":0,"experts":[1,2],"token_idx":0}'], {}, /^bad\.jsonl:1: no layer field: expected one of "layer"/],
  ];
  for (const [what, lines, opts, msg] of bad) {
    it(`rejects ${what} with file:line`, async () => {
      const p = write('bad.jsonl', lines);
      await expect(importJsonl(p, opts)).rejects.toThrow(msg);
    });
  }

  it('names a missing file', async () => {
    await expect(importJsonl(join(dir, 'nope.jsonl'))).rejects.toThrow('nope.jsonl: no such file');
  });
});
