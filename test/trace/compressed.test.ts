/**
 * gzip-compressed traces: every importer reads the .gz as it reads the plain file (the same trace,
 * byte for byte); truncated or corrupt data and the compressions moesim cannot stream are one-line
 * errors naming the file. Fixtures are the shipped traces and small files written here, gzipped with
 * node:zlib.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { writeCanonical } from '../../src/trace/canonical.js';
import { ByteReader, compressionOfBytes, fileStem, innerExtension, readHead, readWhole } from '../../src/trace/compressed.js';
import { forEachLine } from '../../src/trace/lines.js';
import { readTrace } from '../../src/trace/load.js';
import { writeNpy, writeNpz } from '../../src/trace/npy.js';
import type { Trace } from '../../src/trace/types.js';
import { FLAME, flameParquet, MIXTRAL, tempDir } from './helpers.js';

const dir = tempDir();
const gz = (from: string, name: string, level = 6): string => {
  const p = join(dir, name);
  writeFileSync(p, gzipSync(readFileSync(from), { level }));
  return p;
};
const put = (name: string, bytes: Buffer | string): string => {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, bytes);
  return p;
};
const same = (a: Trace, b: Trace): void => {
  expect([a.numLayers, a.topK, a.numExperts, a.tokens]).toEqual([b.numLayers, b.topK, b.numExperts, b.tokens]);
  expect(Buffer.from(a.experts.buffer, a.experts.byteOffset, a.experts.byteLength).equals(Buffer.from(b.experts.buffer, b.experts.byteOffset, b.experts.byteLength))).toBe(true);
  expect(a.weights === undefined).toBe(b.weights === undefined);
  if (a.weights !== undefined && b.weights !== undefined) expect(Array.from(a.weights)).toEqual(Array.from(b.weights));
  expect(a.sequences).toEqual(b.sequences);
  expect(a.layerIds).toEqual(b.layerIds);
};

describe('compression by magic bytes', () => {
  it('names gzip, zstd, xz and bzip2 by their first bytes, not by the name', () => {
    expect(compressionOfBytes(gzipSync(Buffer.from('x')))).toBe('gzip');
    expect(compressionOfBytes(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]))).toBe('zstd');
    expect(compressionOfBytes(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))).toBe('xz');
    expect(compressionOfBytes(Buffer.from('BZh91AY'))).toBe('bzip2');
    expect(compressionOfBytes(Buffer.from('{"layer":0}'))).toBeUndefined();
    expect(compressionOfBytes(Buffer.from('BZhx'))).toBeUndefined();
  });

  it('reads the format from the extension before the compression suffix', () => {
    expect(innerExtension('/a/b.jsonl.gz')).toBe('.jsonl');
    expect(innerExtension('B.CSV.GZ')).toBe('.csv');
    expect(innerExtension('x.npy.zst')).toBe('.npy');
    expect(innerExtension('x.csv')).toBe('.csv');
    expect(fileStem('/q/7.json.gz')).toBe('7');
    expect(fileStem('/q/prompt_3_data.csv')).toBe('prompt_3_data');
  });

  it('streams: ByteReader hands out the decompressed bytes in pieces, with skip, over concatenated members', async () => {
    const text = Buffer.from(Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join(''));
    const p = put('two-members.txt.gz', Buffer.concat([gzipSync(text.subarray(0, 1234)), gzipSync(text.subarray(1234))]));
    const r = ByteReader.open(p, 'two-members.txt.gz');
    const out = Buffer.alloc(text.length + 10);
    let at = await r.read(out, 0, 7);
    expect(at).toBe(7);
    expect(await r.skip(100)).toBe(100);
    out.fill(0, 7, 107);
    text.copy(out, 7, 7, 107);
    at += 100;
    for (let n; (n = await r.read(out, at, 999)) > 0; ) at += n;
    r.close();
    expect(at).toBe(text.length);
    expect(out.subarray(0, at).equals(text)).toBe(true);
    expect((await readWhole(p)).equals(text)).toBe(true);
    expect((await readHead(p, 12)).toString()).toBe('line 0\nline ');
  });

  it('splits the lines of a gzip file as of the plain file (CRLF, a last line without newline)', async () => {
    const text = 'a\r\nbb\n\nccc';
    const p = put('lines.txt.gz', gzipSync(Buffer.from(text)));
    const lines: string[] = [];
    const n = await forEachLine(p, (buf, s, e) => void lines.push(buf.toString('utf8', s, e)));
    expect([n, lines]).toEqual([4, ['a', 'bb', '', 'ccc']]);
  });
});

describe('every importer reads gzip', () => {
  it('JSONL (.jsonl.gz, over 1 MiB decompressed: chunk boundaries inside lines)', async () => {
    same(await readTrace(gz(MIXTRAL, 'mixtral.jsonl.gz', 1)), await readTrace(MIXTRAL));
  });

  it('dense-gate CSV, one file per layer (.csv.gz), layers from the file names', async () => {
    const zipped = FLAME.map((f, i) => gz(f, `encoder-layer${i + 2}.csv.gz`));
    same(await readTrace(zipped, { tokensPerSequence: 64 }), await readTrace(FLAME, { tokensPerSequence: 64 }));
  });

  it('a folder of .csv.gz files', async () => {
    const sub = join(dir, 'flame-gz');
    mkdirSync(sub);
    FLAME.forEach((f, i) => writeFileSync(join(sub, `encoder-layer${i + 2}.csv.gz`), gzipSync(readFileSync(f))));
    same(await readTrace(sub, { tokensPerSequence: 64 }), await readTrace(FLAME, { tokensPerSequence: 64 }));
  });

  it('NumPy .npy.gz (read front to back) and .npz.gz, and canonical .moesim.gz', async () => {
    const plain = await readTrace(MIXTRAL);
    const npy = join(dir, 'm.npy');
    await writeNpy(plain, npy);
    same(await readTrace(gz(npy, 'm.npy.gz')), await readTrace(npy));
    const npz = join(dir, 'm.npz');
    await writeNpz(plain, npz);
    same(await readTrace(gz(npz, 'm.npz.gz')), await readTrace(npz));
    const can = join(dir, 'm.moesim');
    await writeCanonical(plain, can);
    same(await readTrace(gz(can, 'm.moesim.gz')), await readTrace(can));
  });

  it('Parquet .parquet.gz (decompressed to a temporary file, removed after)', async () => {
    const p = put('layer5.parquet', flameParquet([[0.5, 0.25], [0.75, 0.125]], [[3, 1], [0, 2]], 1));
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('moesim-gz-')).length;
    const t = await readTrace(gz(p, 'layer5.parquet.gz'));
    same(t, await readTrace(p));
    expect(t.source.path).toBe(join(dir, 'layer5.parquet.gz'));
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('moesim-gz-')).length).toBe(before);
  });

  it('per-query JSON (.json.gz) keeps the query name without the suffixes', async () => {
    const q = put('q/mmlu/0.json', JSON.stringify([{ '0': null, '1': [[5], [6]], '3': [[7], [8]] }, { '1': [[9]], '3': [[10]] }]));
    const t = await readTrace(gz(q, 'q/mmlu/0.json.gz'));
    expect(t.source.format).toBe('expert-json');
    expect(t.sequences.map((s) => s.id)).toEqual(['mmlu/0']);
  });

  it('SGLang responses (.jsonl.gz) are refined by content as the plain file', async () => {
    const ids = [[[5, 9], [1, 2]], [[7, 3], [4, 6]]].flat(2);
    const b = Buffer.alloc(ids.length * 4);
    ids.forEach((v, i) => b.writeInt32LE(v, i * 4));
    const r = { text: 'hi', meta_info: { id: 'req-a', prompt_tokens: 2, completion_tokens: 1, routed_experts: b.toString('base64') } };
    const p = put('sg.jsonl', `${JSON.stringify(r)}\n`);
    const t = await readTrace(gz(p, 'sg.jsonl.gz'), { topK: 2, numLayers: 2 });
    expect(t.source.format).toBe('sglang');
    same(t, await readTrace(p, { topK: 2, numLayers: 2 }));
  });

  it('MoE-Beyond CSV (.csv.gz) is refined by content as the plain file', async () => {
    const p = put('prompt_7_data.csv', 'Layer ID,Batch Number,Token,Activated Expert IDs\r\n1,0,Hi,"[1, 2]"\r\n1,0,you,"[3, 0]"\r\n2,0,Hi,"[4, 5]"\r\n2,0,you,"[6, 7]"\r\n');
    const plain = await readTrace(p);
    const t = await readTrace(gz(p, 'prompt_7_data.csv.gz'));
    expect(t.source.format).toBe('moe-beyond');
    expect(t.sequences.map((q) => q.id)).toEqual(['prompt_7']);
    same(t, plain);
  });
});

describe('bad compressed input', () => {
  const whole = gzipSync(readFileSync(MIXTRAL));
  it('a truncated .gz: one line naming the file', async () => {
    const p = put('cut.jsonl.gz', whole.subarray(0, Math.floor(whole.length / 2)));
    await expect(readTrace(p)).rejects.toThrow(/^cut\.jsonl\.gz: truncated gzip data \(unexpected end of file\); the file was cut short or damaged$/);
  });

  it('corrupt gzip data: one line naming the file', async () => {
    const bad = Buffer.from(whole);
    bad.fill(0xff, 40, 200);
    const p = put('bad.jsonl.gz', bad);
    await expect(readTrace(p)).rejects.toThrow(/^bad\.jsonl\.gz: corrupt gzip data \([^)]*\); the file was cut short or damaged$/);
  });

  it('a truncated .npy.gz', async () => {
    const npy = join(dir, 'cut.npy');
    await writeNpy(await readTrace(MIXTRAL), npy);
    const z = gzipSync(readFileSync(npy));
    const p = put('cut.npy.gz', z.subarray(0, z.length - 30));
    await expect(readTrace(p)).rejects.toThrow(/^cut\.npy\.gz: (truncated gzip data|truncated: shape)/);
  });

  it('a file read whole (a .json, .npz or .pt) that decompresses past what one buffer holds: one line, not a RangeError', async () => {
    // the limit is Node's largest Buffer (4 GiB); a smaller one here stands for it
    const p = put('big.json.gz', gzipSync(Buffer.alloc(3 << 20, 0x20)));
    await expect(readWhole(p, 'big.json.gz', 1 << 20)).rejects.toThrow(/^big\.json\.gz: decompresses to more than 1048576 bytes, the most moesim reads whole \(a JSON document, an \.npz or a \.pt\); expected a smaller file \(a JSON Lines log is read line by line\)$/);
    expect((await readWhole(p, 'big.json.gz', 3 << 20)).length).toBe(3 << 20);
    const plain = put('big.json', Buffer.alloc(3 << 20, 0x20));
    await expect(readWhole(plain, 'big.json', 1 << 20)).rejects.toThrow(/^big\.json: 3145728 bytes, more than 1048576, the most moesim reads whole/);
  });

  it('zstd, xz and bzip2 are refused with the command that decompresses them', async () => {
    await expect(readTrace(put('r.jsonl.zst', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 0, 0, 0])))).rejects.toThrow(/^r\.jsonl\.zst: zstd-compressed: decompress with `zstd -d` first$/);
    await expect(readTrace(put('r.csv.xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0, 4])))).rejects.toThrow(/^r\.csv\.xz: xz-compressed: decompress with `xz -d` first$/);
    await expect(readTrace(put('r.npy.bz2', Buffer.from('BZh91AY&SY')))).rejects.toThrow(/^r\.npy\.bz2: bzip2-compressed: decompress with `bzip2 -d` first$/);
    // also when the format is named (the importer's own read refuses it)
    await expect(readTrace(join(dir, 'r.jsonl.zst'), { format: 'jsonl' })).rejects.toThrow(/zstd-compressed/);
    await expect(readTrace(join(dir, 'r.npy.bz2'), { format: 'npy' })).rejects.toThrow(/bzip2-compressed/);
  });
});
