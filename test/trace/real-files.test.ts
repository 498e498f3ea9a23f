/**
 * What real loggers' text files look like and a hand-written fixture does not: Windows line endings, a UTF-8
 * byte-order mark, a last line without newline, blank and whitespace-only lines, NaN / Infinity in the
 * weights (Python's json.dumps writes them), expert ids as strings, layers named by their module
 * ("model.layers.3.mlp.gate"). Each text importer reads the quirky file as the clean one, or refuses it
 * in one line naming the file and line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeCanonical } from '../../src/trace/canonical.js';
import { readTrace, type TraceReadOptions } from '../../src/trace/load.js';
import { parseMapping } from '../../src/trace/mapping.js';
import { layerNumberIn } from '../../src/trace/numbers.js';
import type { Trace } from '../../src/trace/types.js';
import { routeOf, tempDir, traceOf } from './helpers.js';

const dir = tempDir();
let n = 0;
const put = (name: string, text: string | Buffer): string => {
  const p = join(dir, `${n++}`, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
};
const same = (a: Trace, b: Trace): void => {
  expect([a.numLayers, a.topK, a.numExperts, a.tokens]).toEqual([b.numLayers, b.topK, b.numExperts, b.tokens]);
  expect(Array.from(a.experts)).toEqual(Array.from(b.experts));
  expect(a.weights === undefined ? undefined : Array.from(a.weights)).toEqual(b.weights === undefined ? undefined : Array.from(b.weights));
  expect(a.sequences).toEqual(b.sequences);
  expect(a.layerIds).toEqual(b.layerIds);
};

/** The quirks, each applied to a clean file's text (its first line is kept first: a header stays a header). */
const QUIRKS: [string, (text: string) => string | Buffer][] = [
  ['CRLF line endings', (t) => t.replace(/\n/g, '\r\n')],
  ['a UTF-8 BOM', (t) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(t)])],
  ['no newline after the last line', (t) => t.replace(/\n$/, '')],
  ['blank and whitespace-only lines', (t) => t.replace(/\n/, '\n\n  \n\t\n').replace(/\n$/, '\n\n\r\n')],
  ['all of them at once', (t) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(t.replace(/\n/, '\n\n   \n').replace(/\n$/, '').replace(/\n/g, '\r\n'))])],
];

/** A clean file of each text format, with the read options it needs. */
const CLEAN: [string, string, string, TraceReadOptions?][] = [
  ['JSONL', 'log.jsonl', ['{"req_id":"a","layer":0,"token_idx":0,"topk_ids":[1,2],"topk_weights":[0.75,0.25]}', '{"req_id":"a","layer":1,"token_idx":0,"topk_ids":[3,0],"topk_weights":[0.5,0.5]}', '{"req_id":"a","layer":0,"token_idx":1,"topk_ids":[2,1],"topk_weights":[0.625,0.375]}', '{"req_id":"a","layer":1,"token_idx":1,"topk_ids":[0,3],"topk_weights":[0.5,0.5]}'].join('\n') + '\n'],
  ['dense-gate CSV', 'gate-layer2.csv', 'layer_id,token_id,expert_0,expert_1,expert_2,expert_3\n0,0,0.5,0.25,0.125,0.125\n0,1,0.125,0.5,0.25,0.125\n', { topK: 2 }],
  ['MoE-Beyond CSV', 'prompt_5_data.csv', 'Layer ID,Batch Number,Token,Activated Expert IDs\n1,0,Hi,"[1, 2]"\n1,0,",","[3, 0]"\n2,0,Hi,"[4, 5]"\n2,0,",","[6, 7]"\n'],
  ['mapped CSV', 'rec.csv', 'seq,pos,layer,ids\nq,0,0,3 1\nq,0,1,2 0\nq,1,0,1 2\nq,1,1,0 3\n', { mapping: parseMapping({ format: 'csv', sequence: 'seq', position: 'pos', layer: 'layer', experts: 'ids' }, 'm.yaml') }],
  ['mapped JSONL', 'rec.jsonl', '{"s":"q","p":0,"l":0,"e":[3,1]}\n{"s":"q","p":0,"l":1,"e":[2,0]}\n{"s":"q","p":1,"l":0,"e":[1,2]}\n', { mapping: parseMapping({ format: 'jsonl', sequence: 's', position: 'p', layer: 'l', experts: 'e' }, 'm.yaml') }],
  ['SGLang responses', 'responses.jsonl', `${JSON.stringify({ meta_info: { id: 'r', prompt_tokens: 1, completion_tokens: 1, routed_experts: Buffer.from(new Int32Array([5, 9, 1, 2]).buffer).toString('base64') } })}\n${JSON.stringify({ meta_info: { id: 's', prompt_tokens: 1, completion_tokens: 1, routed_experts: Buffer.from(new Int32Array([3, 4, 6, 7]).buffer).toString('base64') } })}\n`, { topK: 2, numLayers: 2 }],
];

describe('real-world text files read as the clean file', () => {
  for (const [what, name, text, opts] of CLEAN) {
    for (const [quirk, apply] of QUIRKS) {
      it(`${what}: ${quirk}`, async () => {
        const clean = await readTrace(put(name, text), opts);
        same(await readTrace(put(name, apply(text)), opts), clean);
      });
    }
  }

  it('canonical .moesim: CRLF, a BOM, no newline after the last line', async () => {
    const t = traceOf(4, [[[[1, 2], [3, 0]], [[2, 1], [0, 3]]]], [[[[0.5, 0.5], [0.75, 0.25]], [[0.5, 0.5], [0.5, 0.5]]]]);
    const p = join(dir, 'c.moesim');
    await writeCanonical(t, p);
    const clean = await readTrace(p);
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(p, 'utf8');
    // (blank lines are no quirk of a file moesim writes: its first two lines are fixed)
    for (const [, apply] of QUIRKS.slice(0, 3)) same(await readTrace(put('c.moesim', apply(text))), clean);
  });
});

describe('values as loggers write them', () => {
  it('JSONL: expert ids and positions as strings, layers as module names', async () => {
    const p = put('s.jsonl', '{"req_id":7,"layer":"model.layers.3.mlp.gate","token_idx":"0","topk_ids":["1","2"]}\n{"req_id":7,"layer":"model.layers.5.mlp.gate","token_idx":"0","topk_ids":["3", "0"]}\n');
    const t = await readTrace(p);
    expect(t.layerIds).toEqual([3, 5]);
    expect([routeOf(t, 0, 0), routeOf(t, 0, 1)]).toEqual([[1, 2], [3, 0]]);
    await expect(readTrace(put('s.jsonl', '{"layer":"model.mlp.gate","token_idx":0,"topk_ids":[1,2]}\n'))).rejects.toThrow(/^s\.jsonl:1: "layer": expected an integer in 0\.\.65534 \(or a layer name such as "model\.layers\.3\.mlp\.gate"\), got "model\.mlp\.gate"$/);
    await expect(readTrace(put('s.jsonl', '{"layer":0,"token_idx":0,"topk_ids":["1","x"]}\n'))).rejects.toThrow(/^s\.jsonl:1: "topk_ids"\[1\]: expected an expert id in 0\.\.65534, got "x"$/);
  });

  it('dense-gate CSV: the layer_id column as a module name', async () => {
    const t = await readTrace(put('g.csv', 'layer_id,token_id,expert_0,expert_1\n"model.layers.4.mlp.gate",0,0.75,0.25\nmodel.layers.4.mlp.gate,1,0.25,0.75\n'), { topK: 1 });
    expect(t.layerIds).toEqual([4]);
    expect([routeOf(t, 0, 0), routeOf(t, 1, 0)]).toEqual([[0], [1]]);
  });

  it('MoE-Beyond: ids as a Python list of strings', async () => {
    const t = await readTrace(put('prompt_9_data.csv', "Layer ID,Batch Number,Token,Activated Expert IDs\n1,0,Hi,\"['1', '2']\"\n"));
    expect(routeOf(t, 0, 0)).toEqual([1, 2]);
  });

  it('mapped CSV: layers as module names', async () => {
    const m = parseMapping({ format: 'csv', sequence: 'seq', position: 'pos', layer: 'module', experts: 'ids' }, 'm.yaml');
    const t = await readTrace(put('r.csv', 'seq,pos,module,ids\nq,0,model.layers.2.mlp.gate,3 1\nq,0,model.layers.6.mlp.gate,2 0\n'), { mapping: m });
    expect(t.layerIds).toEqual([2, 6]);
  });

  it('the layer number in a module name', () => {
    expect(['model.layers.3.mlp.gate', 'layers.12', 'layer_7', 'transformer.h.5.mlp', 'blk.9.ffn_gate_inp', 'router_logits.2', ' 4 ', 'moe-layer-11'].map(layerNumberIn)).toEqual([3, 12, 7, 5, 9, 2, 4, 11]);
    expect(['model.mlp.gate', 'gate', 'layer3x'].map(layerNumberIn)).toEqual([undefined, undefined, undefined]);
    // a number that is not a non-negative integer is no name holding one: "-1" is not layer 1, "3.5" not layer 3
    expect(['-1', '3.5', ' -2 ', '1e3', '+4'].map(layerNumberIn)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('a negative layer written as text is refused, not read as its digits', async () => {
    await expect(readTrace(put('neg.jsonl', '{"layer":"-1","token_idx":0,"topk_ids":[1,2]}\n'))).rejects.toThrow(/^neg\.jsonl:1: "layer": expected an integer in 0\.\.\d+ \(or a layer name such as "model\.layers\.3\.mlp\.gate"\), got "-1"$/);
    await expect(readTrace(put('neg.csv', 'layer_id,token_id,expert_0,expert_1\n-1,0,0.5,0.5\n'), { topK: 1 })).rejects.toThrow(/^neg\.csv:2: layer_id: expected a non-negative integer/);
  });
});

describe('NaN and Infinity in the weights: refused at their line', () => {
  const jsonl = (w: string): string => `{"layer":0,"token_idx":0,"topk_ids":[1,2],"topk_weights":[0.5,0.5]}\n{"layer":0,"token_idx":1,"topk_ids":[1,2],"topk_weights":[${w},0.5]}\n`;
  for (const w of ['NaN', 'Infinity', '-Infinity']) {
    it(`JSONL ${w} (as Python's json.dumps writes it)`, async () => {
      await expect(readTrace(put('w.jsonl', jsonl(w)))).rejects.toThrow(new RegExp(`^w\\.jsonl:2: "topk_weights"\\[0\\]: gate weight ${w} is not a finite float32 number`));
    });
  }
  it('JSONL: NaN in an ignored weights field is no error; in the ids it is', async () => {
    expect((await readTrace(put('w.jsonl', jsonl('NaN')), { fields: { weights: false } })).weights).toBeUndefined();
    await expect(readTrace(put('w.jsonl', '{"layer":0,"token_idx":0,"topk_ids":[NaN,2]}\n'))).rejects.toThrow(/^w\.jsonl:1: "topk_ids"\[0\]: expected an expert id in 0\.\.65534, got "NaN"$/);
  });
  it('JSONL: a broken line still says invalid JSON', async () => {
    await expect(readTrace(put('w.jsonl', '{"layer":0,"token_idx":0,"topk_ids":[1,2]\n'))).rejects.toThrow(/^w\.jsonl:1: invalid JSON .*; truncated line\?$/);
  });
  it('dense-gate CSV', async () => {
    for (const w of ['NaN', 'nan', 'inf', 'Infinity']) {
      await expect(readTrace(put('g.csv', `layer_id,token_id,expert_0,expert_1\n0,0,0.5,0.5\n0,1,${w},0.5\n`), { topK: 1 })).rejects.toThrow(new RegExp(`^g\\.csv:3: column 3 \\(expert_0\\): gate weight "${w}" is not a finite float32 number`));
    }
  });
  it('mapped CSV and JSONL', async () => {
    const csv = parseMapping({ format: 'csv', sequence: 'seq', position: 'pos', layer: 'layer', experts: 'ids', weights: 'w' }, 'm.yaml');
    await expect(readTrace(put('r.csv', 'seq,pos,layer,ids,w\nq,0,0,3 1,0.5 0.5\nq,1,0,3 1,nan 0.5\n'), { mapping: csv })).rejects.toThrow(/^r\.csv:3: weights\[0\]: gate weight NaN is not a finite float32 number/);
    await expect(readTrace(put('r.csv', 'seq,pos,layer,ids,w\nq,0,0,3 1,inf 0.5\n'), { mapping: csv })).rejects.toThrow(/^r\.csv:2: weights\[0\]: gate weight Infinity is not a finite float32 number/);
    const jl = parseMapping({ format: 'jsonl', sequence: 's', position: 'p', layer: 'l', experts: 'e', weights: 'w' }, 'm.yaml');
    await expect(readTrace(put('r.jsonl', '{"s":"q","p":0,"l":0,"e":[3,1],"w":[Infinity,0.5]}\n'), { mapping: jl })).rejects.toThrow(/^r\.jsonl:1: weights\[0\]: gate weight Infinity is not a finite float32 number/);
  });
});
