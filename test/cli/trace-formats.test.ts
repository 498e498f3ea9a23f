/**
 * The README's command for each public trace set's format (Traces > The public trace sets' formats),
 * run through the CLI on files written to the published layouts (as test/trace/parquet.test.ts and
 * test/trace/public-formats.test.ts write them).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { moesim } from '../helpers/cli.js';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { encodeZip } from '../../src/trace/npy.js';
import { encodeSafetensors } from '../../src/trace/safetensors.js';
import { FLAME, flameParquet, MIXTRAL } from '../trace/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'moesim-formats-'));
const put = (rel: string, data: string | Buffer): string => {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, data);
  return p;
};

function flameLayer(layer: number, tokens: number): Buffer {
  const indices: number[][] = [];
  const scores: number[][] = [];
  for (let t = 0; t < tokens; t++) {
    indices.push([0, 1, 2, 3, 4, 5].map((k) => (t * 7 + layer * 3 + k * 5) % 64));
    scores.push([0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625]);
  }
  return flameParquet(scores, indices, 4);
}

describe('trace convert, one command per public format (README Traces)', () => {
  it('FLAME-MoE-Traces Parquet: a folder of layer files, sequences cut by --tokens-per-sequence', () => {
    put('actives/iter_0001/layer_02.parquet', flameLayer(2, 8));
    put('actives/iter_0001/layer_03.parquet', flameLayer(3, 8));
    const r = moesim(['trace', 'convert', join(dir, 'actives/iter_0001'), '--tokens-per-sequence', '4', '-o', join(dir, 'flame.moesim')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/8 tokens, 2 sequences, 2 layers, 64 experts, top-6/);
  });

  it('arXiv 2510.05497 per-query JSON: a folder of subject folders', () => {
    put('profiling_result/mmlu/abstract_algebra/0.json', JSON.stringify([{ '0': null, '1': [[106], [89]], '2': null, '3': [[85], [84]] }, { '0': null, '1': [[17]], '2': null, '3': [[47]] }], null, 4));
    put('profiling_result/mmlu/anatomy/0.json', JSON.stringify([{ '0': null, '1': [[5]], '2': null, '3': [[7]] }], null, 4));
    const r = moesim(['trace', 'convert', join(dir, 'profiling_result'), '-o', join(dir, 'queries.moesim')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/4 tokens, 2 sequences, 2 layers/);
  });

  it('SGLang routed experts: saved /generate responses, --top-k', () => {
    const payload = (rows: number[][][]) => {
      const flat = rows.flat(2);
      const b = Buffer.alloc(flat.length * 4);
      flat.forEach((v, i) => b.writeInt32LE(v, i * 4));
      return b.toString('base64');
    };
    const r1 = { text: 'hi', meta_info: { id: 'req-a', prompt_tokens: 3, completion_tokens: 1, routed_experts: payload([[[0, 0], [5, 9], [1, 2]], [[0, 0], [7, 3], [4, 6]], [[0, 0], [5, 1], [2, 8]]]) } };
    const f = put('sglang/responses.jsonl', `${JSON.stringify(r1)}\n`);
    const r = moesim(['trace', 'convert', f, '--top-k', '2', '-o', join(dir, 'sglang.moesim')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/3 tokens, 1 sequence, 2 layers/);
  });

  it('MoE-Beyond CSV: a folder of prompt files', () => {
    const csv = ['Layer ID,Batch Number,Token,Activated Expert IDs', '1,0,I,"[8, 22, 38]"', '1,0,am,"[4, 8, 11]"', '2,0,I,"[21, 35, 42]"', '2,0,am,"[0, 8, 15]"'].join('\n') + '\n';
    put('training_data_eamc/prompt_1_data.csv', csv);
    put('training_data_eamc/prompt_2_data.csv', csv);
    const r = moesim(['trace', 'convert', join(dir, 'training_data_eamc'), '-o', join(dir, 'v2-lite.moesim')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/4 tokens, 2 sequences, 2 layers/);
  });
});

describe('trace convert, tensor dumps and compressed logs (README Traces > Tensor dumps and compressed logs)', () => {
  it('gzip: a .jsonl.gz and a folder of .csv.gz layer files', () => {
    const r = moesim(['trace', 'convert', put('gz/humaneval-decode.jsonl.gz', gzipSync(readFileSync(MIXTRAL))), '-o', join(dir, 'mixtral.moesim')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/338 tokens, .* 32 layers, 8 experts, top-2/);
    FLAME.forEach((f, i) => put(`flame-gz/encoder-layer${i + 2}.csv.gz`, gzipSync(readFileSync(f))));
    const c = moesim(['trace', 'convert', join(dir, 'flame-gz'), '--tokens-per-sequence', '64', '-o', join(dir, 'flame-gz.moesim')]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout + c.stderr).toMatch(/2048 tokens, 32 sequences, 3 layers, 64 experts, top-6/);
  });

  it('zstd is refused in one line, exit 2', () => {
    const r = moesim(['trace', 'convert', put('r.jsonl.zst', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0])), '-o', join(dir, 'z.moesim')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('moesim: r.jsonl.zst: zstd-compressed: decompress with `zstd -d` first');
  });

  it('safetensors: ids, and dense router logits with --top-k', () => {
    const ids = new Uint8Array(new BigInt64Array([0, 1, 2, 3, 4, 5, 6, 7].map(BigInt)).buffer);
    const r = moesim(['trace', 'convert', put('topk.safetensors', encodeSafetensors([{ name: 'experts', dtype: 'I64', shape: [2, 2, 2], data: ids }])), '-o', join(dir, 'topk.moesim')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/2 tokens, 1 sequence, 2 layers, 8 experts, top-2/);
    const logits = (seed: number) => new Uint8Array(new Float32Array(Array.from({ length: 3 * 8 }, (_, i) => ((i * 7 + seed) % 11) / 3)).buffer);
    const f = put('router_logits.safetensors', encodeSafetensors([0, 1, 2, 3].map((l) => ({ name: `model.layers.${l}.mlp.gate`, dtype: 'F32', shape: [3, 8], data: logits(l) }))));
    const d = moesim(['trace', 'convert', f, '--top-k', '2', '-o', join(dir, 'routes.moesim')]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout + d.stderr).toMatch(/3 tokens, 1 sequence, 4 layers, 8 experts, top-2/);
  });

  it('torch.save .pt: {"router_logits": (layer 0, layer 1)} with --top-k', () => {
    // the pickle CPython's protocol-2 Pickler writes for this dict of a tuple of two float32 [2, 4] tensors
    const t = (key: string) => `ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00${key}X\x03\x00\x00\x00cpuK\x08tQK\x00K\x02K\x04\x86K\x04K\x01\x86\x89ccollections\nOrderedDict\n)RtR`;
    const pkl = Buffer.from(`\x80\x02}X\x0d\x00\x00\x00router_logits${t('0')}${t('1')}\x86s.`, 'latin1');
    const store = (v: number[]) => Buffer.from(new Float32Array(v).buffer);
    const zip = encodeZip([{ name: 'archive/data.pkl', bytes: pkl }, { name: 'archive/byteorder', bytes: Buffer.from('little') }, { name: 'archive/data/0', bytes: store([0, 9, 1, 0, 3, 0, 0, 4]) }, { name: 'archive/data/1', bytes: store([7, 0, 0, 1, 0, 0, 8, 0]) }], false);
    const r = moesim(['trace', 'convert', put('router_logits.pt', zip), '--top-k', '2', '-o', join(dir, 'pt.moesim')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/2 tokens, 1 sequence, 2 layers, 4 experts, top-2/);
  });
});
