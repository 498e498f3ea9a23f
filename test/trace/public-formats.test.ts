/**
 * The public trace sets' formats, each on files written exactly to the published layout:
 * - arXiv 2510.05497 per-query JSON (core12345/MoE_expert_selection_trace; layout of
 *   andronius-yang/cse223b-proj@7f4e46fd:traffic-gen/llama4-mmlu-abstract_algebra/0.json),
 * - SGLang routed experts (sgl-project/sglang@d4d0fc58:python/sglang/srt/layers/moe/routed_experts_capturer.py),
 * - MoE-Beyond CSV (ngavhane/moe-beyond@774a2e60:expert_activation_scripts/training_data_eamc/prompt_1002_data.csv).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importExpertJson } from '../../src/trace/expert-json.js';
import { readTrace } from '../../src/trace/load.js';
import { importMoeBeyond } from '../../src/trace/moe-beyond.js';
import { importSglang } from '../../src/trace/sglang.js';
import { NO_EXPERT } from '../../src/trace/types.js';
import { tempDir } from './helpers.js';

const dir = tempDir();
const put = (rel: string, text: string): string => {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
};
const route = (t: { experts: Uint16Array; numLayers: number; topK: number }, token: number, layer: number): number[] =>
  Array.from(t.experts.subarray((token * t.numLayers + layer) * t.topK, (token * t.numLayers + layer + 1) * t.topK));

describe('arXiv 2510.05497 per-query JSON', () => {
  // Llama-4-Maverick layout: 4 layers, odd ones MoE, top-1; step 0 = prefill of 3 tokens, then 2 decode steps.
  const q0 = [
    { '0': null, '1': [[106], [89], [76]], '2': null, '3': [[85], [84], [84]] },
    { '0': null, '1': [[17]], '2': null, '3': [[47]] },
    { '0': null, '1': [[43]], '2': null, '3': [[84]] },
  ];
  const q1 = [{ '0': null, '1': [[5], [6]], '2': null, '3': [[7], [8]] }, { '0': null, '1': [[9]], '2': null, '3': [[10]] }];
  const a = put('mmlu/abstract_algebra/0.json', JSON.stringify(q0, null, 4));
  const b = put('mmlu/anatomy/0.json', JSON.stringify(q1, null, 4));

  it('reads each query as a sequence: prefill then decode tokens, MoE layers by id', async () => {
    const t = await importExpertJson([a, b]);
    expect([t.numLayers, t.topK, t.tokens]).toEqual([2, 1, 8]);
    expect(t.layerIds).toEqual([1, 3]);
    expect(t.sequences.map((s) => [s.id, s.length])).toEqual([['abstract_algebra/0', 5], ['anatomy/0', 3]]);
    expect([0, 1, 2, 3, 4].map((tok) => route(t, tok, 0)[0])).toEqual([106, 89, 76, 17, 43]);
    expect([0, 1, 2, 3, 4].map((tok) => route(t, tok, 1)[0])).toEqual([85, 84, 84, 47, 84]);
  });

  it('is detected by content in a folder of subject folders', async () => {
    const t = await readTrace(join(dir, 'mmlu'));
    expect(t.source.format).toBe('expert-json');
    expect(t.sequences.length).toBe(2);
  });

  it('refuses bad input naming the file and the JSON path', async () => {
    const bad = put('bad/1.json', JSON.stringify([{ '0': null, '1': [[1], [2]], '3': [[3]] }]));
    await expect(importExpertJson([bad])).rejects.toThrow(/1\.json: \[0\]\["3"\]: 1 tokens, but other layers of this step have 2/);
    const dup = put('bad/2.json', JSON.stringify([{ '1': [[1, 1]], '3': [[2, 3]] }]));
    await expect(importExpertJson([dup])).rejects.toThrow(/2\.json: \[0\]\["1"\]\[0\]: expert 1 appears twice/);
    const newLayer = put('bad/3.json', JSON.stringify([{ '0': null, '1': [[106]], '2': [[4]], '3': [[85]] }]));
    await expect(importExpertJson([a, newLayer])).rejects.toThrow(/3\.json: \[0\]\["2"\]: layer 2 has routes here but not in the first step/);
    await expect(importExpertJson([a], { modelExperts: 100 })).rejects.toThrow(/\[0\]\["1"\]\[0\]\[0\]: expert id 106 is beyond the scenario's model/);
  });
});

describe('SGLang routed experts', () => {
  // DeepSeek-like: 3 hidden layers, layer 0 dense (never captured: zeros), top-2; seqlen 4 -> 3 rows.
  const payload = (rows: number[][][]): string => {
    const flat = rows.flat(2);
    const buf = Buffer.alloc(flat.length * 4);
    flat.forEach((v, i) => buf.writeInt32LE(v, i * 4));
    return buf.toString('base64');
  };
  const r1 = { text: 'hi', meta_info: { id: 'req-a', prompt_tokens: 3, completion_tokens: 1, routed_experts: payload([[[0, 0], [5, 9], [1, 2]], [[0, 0], [7, 3], [4, 6]], [[0, 0], [5, 1], [2, 8]]]) } };
  const r2 = { text: 'yo', meta_info: { id: 'req-b', prompt_tokens: 2, completion_tokens: 1, routed_experts: payload([[[0, 0], [-1, -1], [3, 4]], [[0, 0], [6, 2], [9, 1]]]) } };
  const f = put('sglang/responses.jsonl', `${JSON.stringify(r1)}\n${JSON.stringify(r2)}\n`);

  it('decodes the base64 int32 [tokens x layers x top-k], drops the dense layer, -1 absent', async () => {
    const t = await importSglang([f], { topK: 2 });
    expect([t.numLayers, t.topK, t.tokens]).toEqual([2, 2, 5]);
    expect(t.layerIds).toEqual([1, 2]);
    expect(t.sequences.map((s) => [s.id, s.length])).toEqual([['req-a', 3], ['req-b', 2]]);
    expect(route(t, 0, 0)).toEqual([5, 9]);
    expect(route(t, 2, 1)).toEqual([2, 8]);
    expect(route(t, 3, 0)).toEqual([NO_EXPERT, NO_EXPERT]);
    expect(t.warnings.join('\n')).toMatch(/1 of 3 layers carry no routed experts .*layers 0\)/);
    expect(t.warnings.join('\n')).toMatch(/1 \(token, layer\) routes marked -1/);
  });

  it('is detected by content (.jsonl of responses), and a JSON array of responses reads the same', async () => {
    const t = await readTrace(f, { topK: 2 });
    expect(t.source.format).toBe('sglang');
    const arr = put('sglang/batch.json', JSON.stringify([r1, r2]));
    const u = await readTrace(arr, { topK: 2 });
    expect(Array.from(u.experts)).toEqual(Array.from(t.experts));
  });

  it('refuses what it cannot split, naming file and line', async () => {
    await expect(importSglang([f])).rejects.toThrow(/set trace\.topK/);
    // a scenario's model supplies top-k (and its layer count) when the trace field does not
    expect((await readTrace(f, { modelTopK: 2, modelHiddenLayers: 3 })).layerIds).toEqual([1, 2]);
    await expect(readTrace(f, { modelTopK: 2, modelHiddenLayers: 4 })).rejects.toThrow(/has 3 layers per token, but numLayers is 4/);
    await expect(importSglang([f], { topK: 4 })).rejects.toThrow(/responses\.jsonl:1: "meta_info\.routed_experts" holds 18 ids, not 3 tokens/);
    const bad = put('sglang/bad.jsonl', `${JSON.stringify(r1)}\n${JSON.stringify({ meta_info: { id: 'x' } })}\n`);
    await expect(importSglang([bad], { topK: 2 })).rejects.toThrow(/bad\.jsonl:2: "meta_info\.routed_experts": expected a base64 string/);
  });
});

describe('MoE-Beyond CSV', () => {
  const csv = [
    'Layer ID,Batch Number,Token,Activated Expert IDs',
    '1,0,<｜begin▁of▁sentence｜>,"[8, 26, 56]"',
    '1,0,I,"[8, 22, 38]"',
    '1,0,",","[4, 8, 11]"',
    '2,0,<｜begin▁of▁sentence｜>,"[3, 35, 38]"',
    '2,0,I,"[21, 35, 42]"',
    '2,0,",","[0, 8, 15]"',
  ].join('\n');
  const p = put('moe-beyond/prompt_1002_data.csv', csv + '\n');

  it('reads a prompt file as a sequence, positions by order, layers by id', async () => {
    const t = await importMoeBeyond([p]);
    expect([t.numLayers, t.topK, t.tokens]).toEqual([2, 3, 3]);
    expect(t.layerIds).toEqual([1, 2]);
    expect(t.sequences.map((s) => s.id)).toEqual(['prompt_1002']);
    expect(route(t, 2, 0)).toEqual([4, 8, 11]);
    expect(route(t, 2, 1)).toEqual([0, 8, 15]);
  });

  it('is detected by its header although it is a .csv', async () => {
    const t = await readTrace(p);
    expect(t.source.format).toBe('moe-beyond');
  });

  it('refuses misaligned or malformed rows at their line', async () => {
    const mis = put('moe-beyond/prompt_7_data.csv', csv.replace('2,0,I,', '2,0,You,') + '\n');
    await expect(importMoeBeyond([mis])).rejects.toThrow(/prompt_7_data\.csv:6: token 1 is "You" here but "I" in layer 1/);
    const short = put('moe-beyond/prompt_8_data.csv', csv.split('\n').slice(0, 6).join('\n') + '\n');
    await expect(importMoeBeyond([short])).rejects.toThrow(/layer 2 has 2 tokens but layer 1 has 3/);
    const badList = put('moe-beyond/prompt_9_data.csv', csv.replace('"[8, 22, 38]"', '"[8, 22, x]"') + '\n');
    await expect(importMoeBeyond([badList])).rejects.toThrow(/prompt_9_data\.csv:3: "Activated Expert IDs": expected a list/);
    // ids without commas between them: not a list (was read as the id NaN, "appears twice")
    const noComma = put('moe-beyond/prompt_10_data.csv', csv.replace('"[8, 22, 38]"', '"[8 22 38]"') + '\n');
    await expect(importMoeBeyond([noComma])).rejects.toThrow(/^prompt_10_data\.csv:3: "Activated Expert IDs": expected a list like "\[8, 26, 56\]", got "\[8 22 38\]"$/);
    // a long run of digits before a bad character: refused at once (the list pattern split the digits every way it could, 4x per 2 digits)
    const digits = put('moe-beyond/prompt_11_data.csv', csv.replace('"[8, 22, 38]"', `"[${'1'.repeat(64)}x]"`) + '\n');
    await expect(importMoeBeyond([digits])).rejects.toThrow(/^prompt_11_data\.csv:3: "Activated Expert IDs": expected a list like/);
  });
});
