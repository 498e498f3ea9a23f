/** The declarative mapping (src/trace/mapping.ts) on real and recorder-shaped layouts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importJsonl } from '../../src/trace/jsonl.js';
import { readTrace } from '../../src/trace/load.js';
import { importMapped, parseMapping } from '../../src/trace/mapping.js';
import { importMoeBeyond } from '../../src/trace/moe-beyond.js';
import { loadTrace, traceSpecSchema } from '../../src/trace/load.js';
import { createRng } from '../../src/rng/rng.js';
import { MIXTRAL, tempDir } from './helpers.js';

const dir = tempDir();
const put = (rel: string, text: string): string => {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
};

describe('declarative mapping', () => {
  it('reads the real Mixtral routing JSONL (speculative-moe) exactly as the JSONL importer does', async () => {
    const m = parseMapping({ format: 'jsonl', layer: 'layer', sequence: 'problem_id', position: 'token_idx', experts: 'experts', weights: 'gating_probs' }, 'm.yaml');
    const a = await importMapped([MIXTRAL], m);
    const b = await importJsonl(MIXTRAL);
    expect(a.sequences.map((s) => s.length)).toEqual(b.sequences.map((s) => s.length));
    expect(Array.from(a.experts)).toEqual(Array.from(b.experts));
    expect(Array.from(a.weights!)).toEqual(Array.from(b.weights!));
  });

  it('reads the MoE-Beyond layout (layer column, sequence from the file name, ids as a list in one cell)', async () => {
    const p = put('mb/prompt_1002_data.csv', [
      'Layer ID,Batch Number,Token,Activated Expert IDs',
      '1,0,I,"[8, 22, 38]"',
      '1,0,",","[4, 8, 11]"',
      '2,0,I,"[21, 35, 42]"',
      '2,0,",","[0, 8, 15]"',
    ].join('\n') + '\n');
    const m = parseMapping({ format: 'csv', layer: 'Layer ID', sequence: { fromFileName: true }, position: 'order', experts: 'Activated Expert IDs' }, 'm.yaml');
    const a = await importMapped([p], m);
    const b = await importMoeBeyond([p]);
    expect(a.layerIds).toEqual([1, 2]);
    expect(a.sequences[0].id).toBe('prompt_1002_data');
    expect(Array.from(a.experts)).toEqual(Array.from(b.experts));
  });

  it('reads nested JSON keyed by token and layer, one file per sequence', async () => {
    const doc = { '0': { '3': { ids: [1, 5], p: [0.75, 0.25] }, '4': { ids: [2, 0], p: [0.5, 0.5] } }, '1': { '3': { ids: [5, 1], p: [0.5, 0.5] }, '4': { ids: [7, 6], p: [0.875, 0.125] } } };
    const a = put('nested/req-a.json', JSON.stringify(doc));
    const b = put('nested/req-b.json', JSON.stringify({ '0': { '3': { ids: [0, 1], p: [0.5, 0.5] }, '4': { ids: [2, 3], p: [0.5, 0.5] } } }));
    const t = await readTrace(join(dir, 'nested'), { mapping: parseMapping({ format: 'json', nest: ['position', 'layer'], sequence: { fromFileName: true }, experts: 'ids', weights: 'p' }, 'm.yaml') });
    expect(t.layerIds).toEqual([3, 4]);
    expect(t.sequences.map((s) => [s.id, s.length])).toEqual([['req-a', 2], ['req-b', 1]]);
    expect(Array.from(t.experts.subarray(0, 8))).toEqual([1, 5, 2, 0, 5, 1, 7, 6]);
    expect(Array.from(t.weights!.subarray(6, 8))).toEqual([0.875, 0.125]);
    void a;
    void b;
  });

  it('reads one TSV per layer with a row per sequence (every token\'s ids in one cell)', async () => {
    put('tsv/layer_5.tsv', 'seq\troutes\nq1\t[[1,2],[3,4],[5,6]]\nq2\t[[7,0]]\n');
    put('tsv/layer_6.tsv', 'seq\troutes\nq1\t[[2,1],[4,3],[6,5]]\nq2\t[[0,7]]\n');
    const t = await readTrace(join(dir, 'tsv'), { mapping: parseMapping({ format: 'tsv', layer: { fromFileName: true }, sequence: 'seq', rowHolds: 'sequence', experts: 'routes' }, 'm.yaml') });
    expect(t.layerIds).toEqual([5, 6]);
    expect(t.sequences.map((s) => [s.id, s.length])).toEqual([['q1', 3], ['q2', 1]]);
    expect(Array.from(t.experts.subarray(0, 4))).toEqual([1, 2, 2, 1]);
    expect(Array.from(t.experts.subarray(12, 16))).toEqual([7, 0, 0, 7]);
  });

  it('is usable from a scenario: trace: {path, mapping}, the path relative to the scenario folder', async () => {
    put('scn/traces/layer_1.csv', 'req,ids\na,"[1, 2]"\na,"[2, 3]"\n');
    put('scn/traces/layer_4.csv', 'req,ids\na,"[0, 3]"\na,"[3, 1]"\n');
    const spec = traceSpecSchema.parse({ path: 'traces', mapping: { format: 'csv', layer: { fromFileName: true }, sequence: 'req', experts: 'ids' } });
    const t = await loadTrace(spec, join(dir, 'scn'), createRng(1));
    expect([t.layerIds, t.tokens, Array.from(t.experts)]).toEqual([[1, 4], 2, [1, 2, 0, 3, 2, 3, 3, 1]]);
  });

  it('validates the mapping with zod, errors naming the field; bad rows name file and line', async () => {
    expect(() => parseMapping({ format: 'csv', experts: 'ids' }, 'm.yaml')).toThrow(/^m\.yaml: mapping\.layer: required/);
    expect(() => parseMapping({ format: 'xml', layer: 0, experts: 'ids' }, 'm.yaml')).toThrow(/^m\.yaml: mapping\.format: /);
    expect(() => parseMapping({ format: 'csv', layer: 0, experts: 'ids', nest: ['layer'] }, 'm.yaml')).toThrow(/mapping\.nest: nest is for format: json/);
    const r = traceSpecSchema.safeParse({ path: 'x.csv', mapping: { format: 'csv', experts: 'ids', layer: { fromFile: true } } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues[0].path)).toBe('["mapping","layer"]');
    const p = put('bad/l.csv', 'layer,ids\n0,"[1, 2]"\n0,"[3, x]"\n');
    await expect(importMapped([p], parseMapping({ format: 'csv', layer: 'layer', experts: 'ids' }, 'm.yaml'))).rejects.toThrow(/^l\.csv:3: "ids": expected a list of expert ids/);
    await expect(importMapped([p], parseMapping({ format: 'csv', layer: 'lyr', experts: 'ids' }, 'm.yaml'))).rejects.toThrow(/^l\.csv:2: no column "lyr"/);
  });
});
