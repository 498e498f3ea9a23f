/**
 * safetensors routing dumps: files written here to the format of huggingface/safetensors@ead9d7ba:README.md
 * (u64 header length, JSON header, C-order little-endian data) with encodeSafetensors, and by hand where a
 * test needs a broken header.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readTrace } from '../../src/trace/load.js';
import { writeNpz } from '../../src/trace/npy.js';
import { encodeSafetensors, importSafetensors, layerOfTensorName } from '../../src/trace/safetensors.js';
import { NO_EXPERT } from '../../src/trace/types.js';
import { MIXTRAL, routeOf, tempDir } from './helpers.js';

const dir = tempDir();
const put = (name: string, bytes: Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};
const i64 = (v: number[]): Uint8Array => new Uint8Array(new BigInt64Array(v.map(BigInt)).buffer);
const i32 = (v: number[]): Uint8Array => new Uint8Array(new Int32Array(v).buffer);
const f32 = (v: number[]): Uint8Array => new Uint8Array(new Float32Array(v).buffer);
const bf16 = (v: number[]): Uint8Array => {
  const f = new Float32Array(v);
  const u = new Uint32Array(f.buffer);
  return new Uint8Array(new Uint16Array(Array.from(u, (x) => x >>> 16)).buffer);
};
/** A hand-written file: `header` as given (any JSON), then `data`. */
const raw = (header: string, data: Buffer = Buffer.alloc(0)): Buffer => {
  const h = Buffer.alloc(8);
  h.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  return Buffer.concat([h, Buffer.from(header), data]);
};

// 3 tokens, 2 layers, top-2
const IDS = [0, 1, 2, 3, 4, 5, 6, 7, 1, 3, 5, 7];
const W = [0.6, 0.4, 0.7, 0.3, 0.5, 0.5, 0.9, 0.1, 0.8, 0.2, 0.55, 0.45];

describe('safetensors: trace-wide tensors (as an .npz)', () => {
  it('reads experts [tokens, layers, k] I64 with weights F32 and lengths, detected by content', async () => {
    const p = put('routes.safetensors', encodeSafetensors([
      { name: 'experts', dtype: 'I64', shape: [3, 2, 2], data: i64(IDS) },
      { name: 'lengths', dtype: 'I32', shape: [2], data: i32([2, 1]) },
      { name: 'weights', dtype: 'F32', shape: [3, 2, 2], data: f32(W) },
    ], { format: 'pt' }));
    for (const t of [await readTrace(p), await readTrace(put('routes.bin', readFileSync(p)))]) {
      expect(t.source.format).toBe('safetensors');
      expect([t.tokens, t.numLayers, t.topK, t.numExperts]).toEqual([3, 2, 2, 8]);
      expect(t.sequences.map((s) => s.length)).toEqual([2, 1]);
      expect(routeOf(t, 2, 1)).toEqual([5, 7]);
      expect(Array.from(t.weights ?? [])).toEqual(Array.from(new Float32Array(W)));
    }
  });

  it('sequence ids from __metadata__.sequence_ids, one per length', async () => {
    const tensors = [
      { name: 'experts', dtype: 'I64', shape: [3, 2, 2], data: i64(IDS) },
      { name: 'lengths', dtype: 'I32', shape: [2], data: i32([2, 1]) },
    ];
    const t = await importSafetensors(put('ids.safetensors', encodeSafetensors(tensors, { sequence_ids: '["humaneval/0", "humaneval/1"]' })));
    expect(t.sequences.map((q) => q.id)).toEqual(['humaneval/0', 'humaneval/1']);
    await expect(importSafetensors(put('ids3.safetensors', encodeSafetensors(tensors, { sequence_ids: '["a", "b", "c"]' })))).rejects.toThrow(/^ids3\.safetensors: sequence_ids has 3 entries but lengths has 2/);
    await expect(importSafetensors(put('idsx.safetensors', encodeSafetensors(tensors, { sequence_ids: 'a,b' })))).rejects.toThrow(/^idsx\.safetensors: __metadata__\.sequence_ids: expected a JSON list of strings/);
  });

  it('gives the same trace as the .npz of the same routes', async () => {
    const plain = await readTrace(MIXTRAL);
    const npz = join(dir, 'mix.npz');
    await writeNpz(plain, npz);
    const ids: number[] = Array.from(plain.experts, (e) => (e === NO_EXPERT ? -1 : e));
    const p = put('mix.safetensors', encodeSafetensors([
      { name: 'topk_ids', dtype: 'I32', shape: [plain.tokens, plain.numLayers, plain.topK], data: i32(ids) },
      { name: 'topk_weights', dtype: 'F32', shape: [plain.tokens, plain.numLayers, plain.topK], data: new Uint8Array((plain.weights as Float32Array).slice().buffer) },
      { name: 'seq_lens', dtype: 'I64', shape: [plain.sequences.length], data: i64(plain.sequences.map((s) => s.length)) },
    ], { sequence_ids: JSON.stringify(plain.sequences.map((s) => s.id)) }));
    const a = await readTrace(p);
    const b = await readTrace(npz);
    expect(Buffer.from(a.experts.buffer).equals(Buffer.from(b.experts.buffer))).toBe(true);
    expect(Buffer.from((a.weights as Float32Array).buffer).equals(Buffer.from((b.weights as Float32Array).buffer))).toBe(true);
    expect(a.sequences).toEqual(b.sequences);
    // and compressed
    const z = put('mix.safetensors.gz', gzipSync(readFileSync(p)));
    expect(Buffer.from((await readTrace(z)).experts.buffer).equals(Buffer.from(a.experts.buffer))).toBe(true);
  });

  it('-1 in every slot is an absent route; -1 mixed with ids is refused', async () => {
    const p = put('absent.safetensors', encodeSafetensors([{ name: 'ids', dtype: 'I16', shape: [2, 2], data: new Uint8Array(new Int16Array([-1, -1, 3, 4]).buffer) }]));
    const t = await importSafetensors(p);
    expect(routeOf(t, 0, 0)).toEqual([]);
    expect(t.warnings.join()).toMatch(/1 \(token, layer\) routes marked -1/);
    const q = put('mixed.safetensors', encodeSafetensors([{ name: 'ids', dtype: 'I16', shape: [2, 2], data: new Uint8Array(new Int16Array([-1, 2, 3, 4]).buffer) }]));
    await expect(importSafetensors(q)).rejects.toThrow(/^mixed\.safetensors\[ids\]: row 0 \(token 0, layer 0\) mixes -1 with expert ids/);
  });

  it('dense router_logits [tokens, layers, experts]: top-k of the softmax, ties to the lower id', async () => {
    // token 0 layer 0: logits 0, 2, 1, 2 -> experts 1 and 3 (tie: 1 first)
    const logits = [0, 2, 1, 2, 5, 0, 0, 0];
    const p = put('logits.safetensors', encodeSafetensors([{ name: 'router_logits', dtype: 'BF16', shape: [1, 2, 4], data: bf16(logits) }]));
    await expect(importSafetensors(p)).rejects.toThrow(/^logits\.safetensors: "router_logits" holds dense router scores \(one per expert\): give topK/);
    const t = await importSafetensors(p, { topK: 2 });
    expect([t.numExperts, t.topK]).toEqual([4, 2]);
    expect(routeOf(t, 0, 0)).toEqual([1, 3]);
    expect(routeOf(t, 0, 1)).toEqual([0, 1]);
    const z = Math.exp(0) + 2 * Math.exp(2) + Math.exp(1);
    expect(t.weights?.[0]).toBeCloseTo(Math.exp(2) / z, 6);
    const z1 = Math.exp(5) + 3;
    expect(t.weights?.[2]).toBeCloseTo(Math.exp(5) / z1, 6);
    // the scenario's model top-k is used when topK is not given
    expect((await importSafetensors(p, { modelTopK: 1 })).topK).toBe(1);
  });
});

describe('safetensors: per-layer tensors', () => {
  it('names the layer: "model.layers.3.mlp.gate", "router_logits.12", "layer_3.topk_ids"', () => {
    expect(layerOfTensorName('model.layers.3.mlp.gate')).toBe(3);
    expect(layerOfTensorName('router_logits.12')).toBe(12);
    expect(layerOfTensorName('layer_3.topk_ids')).toBe(3);
    expect(layerOfTensorName('blk.7.ffn_gate_inp')).toBe(7);
    expect(layerOfTensorName('topk_ids')).toBeUndefined();
  });

  it('HF output_router_logits: one [batch*seq, experts] tensor per layer, layers by their numbers', async () => {
    const p = put('hf.safetensors', encodeSafetensors([
      { name: 'router_logits.3', dtype: 'F32', shape: [2, 4], data: f32([0, 9, 1, 0, 3, 0, 0, 4]) },
      { name: 'router_logits.1', dtype: 'F32', shape: [2, 4], data: f32([7, 0, 0, 1, 0, 0, 8, 0]) },
    ]));
    const t = await readTrace(p, { topK: 1 });
    expect(t.layerIds).toEqual([1, 3]);
    expect([routeOf(t, 0, 0), routeOf(t, 1, 0), routeOf(t, 0, 1), routeOf(t, 1, 1)]).toEqual([[0], [2], [1], [3]]);
  });

  it('per-layer ids [batch, seq, k] with weights: each batch row a sequence', async () => {
    const p = put('batch.safetensors', encodeSafetensors([
      { name: 'model.layers.0.mlp.gate.topk_ids', dtype: 'I64', shape: [2, 3, 1], data: i64([1, 2, 3, 4, 5, 6]) },
      { name: 'model.layers.0.mlp.gate.topk_weights', dtype: 'F32', shape: [2, 3, 1], data: f32([1, 1, 1, 1, 1, 1]) },
      { name: 'model.layers.1.mlp.gate.topk_ids', dtype: 'I64', shape: [2, 3, 1], data: i64([6, 5, 4, 3, 2, 1]) },
      { name: 'model.layers.1.mlp.gate.topk_weights', dtype: 'F32', shape: [2, 3, 1], data: f32([1, 1, 1, 1, 1, NaN]) },
      { name: 'input_ids', dtype: 'I64', shape: [2, 3], data: i64([10, 11, 12, 13, 14, 15]) },
    ]));
    const t = await readTrace(p);
    expect([t.tokens, t.numLayers, t.topK]).toEqual([6, 2, 1]);
    expect(t.sequences.map((s) => s.length)).toEqual([3, 3]);
    expect(routeOf(t, 4, 0)).toEqual([5]);
    expect(routeOf(t, 4, 1)).toEqual([2]);
    expect(t.layerIds).toBeUndefined();
  });

  it('per-layer weights on some layers only: the others are not recorded (NaN), not weight 0', async () => {
    const p = put('someweights.safetensors', encodeSafetensors([
      { name: 'layers.0.ids', dtype: 'I32', shape: [1, 2], data: i32([1, 2]) },
      { name: 'layers.0.weights', dtype: 'F32', shape: [1, 2], data: f32([0.75, 0.25]) },
      { name: 'layers.1.ids', dtype: 'I32', shape: [1, 2], data: i32([3, 4]) },
    ]));
    const t = await readTrace(p);
    expect(Array.from(t.weights ?? [])).toEqual([0.75, 0.25, NaN, NaN]);
  });

  it('refuses layers that route different tokens, and mixed layouts', async () => {
    const p = put('uneven.safetensors', encodeSafetensors([
      { name: 'layers.0.ids', dtype: 'I32', shape: [2, 1], data: i32([1, 2]) },
      { name: 'layers.1.ids', dtype: 'I32', shape: [3, 1], data: i32([1, 2, 3]) },
    ]));
    await expect(importSafetensors(p)).rejects.toThrow(/^uneven\.safetensors: "layers\.1\.ids" is \[3, 1\] but layer 0's is \[2, 1\]; every layer must route the same tokens/);
    const q = put('both.safetensors', encodeSafetensors([
      { name: 'experts', dtype: 'I32', shape: [2, 1], data: i32([1, 2]) },
      { name: 'layers.1.ids', dtype: 'I32', shape: [2, 1], data: i32([1, 2]) },
    ]));
    await expect(importSafetensors(q)).rejects.toThrow(/^both\.safetensors: both trace-wide routes/);
  });
});

describe('safetensors: bad files, one line naming the file', () => {
  const ok = '{"experts":{"dtype":"I32","shape":[2,1],"data_offsets":[0,8]}}';
  const bad: [string, () => Buffer, RegExp][] = [
    ['a header length past the file', () => raw(ok).subarray(0, 20), /^bad\.safetensors: truncated safetensors file: the header is \d+ bytes, the file 20$/],
    ['an absurd header length', () => Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), Buffer.from('{}')]), /^bad\.safetensors: not a safetensors file \(a header length of \d+ bytes, more than the format's 100 MB\)/],
    ['a header that is not JSON', () => raw('{"experts": nope}', Buffer.alloc(8)), /^bad\.safetensors: safetensors header: invalid JSON/],
    ['data offsets past the data', () => raw(ok, Buffer.alloc(4)), /^bad\.safetensors: safetensors header: "experts": data_offsets \[0, 8\] run past the data \(4 bytes after the header\)/],
    ['a size that disagrees with the shape', () => raw('{"experts":{"dtype":"I32","shape":[3,1],"data_offsets":[0,8]}}', Buffer.alloc(8)), /"experts": shape \[3, 1\] of I32 is 12 bytes, data_offsets give 8/],
    ['overlapping tensors', () => raw('{"experts":{"dtype":"I32","shape":[2,1],"data_offsets":[0,8]},"weights":{"dtype":"F32","shape":[2,1],"data_offsets":[4,12]}}', Buffer.alloc(12)), /"weights": data_offsets \[4, 12\] overlap another tensor's/],
    ['a hole in the data', () => raw('{"experts":{"dtype":"I32","shape":[2,1],"data_offsets":[4,12]}}', Buffer.alloc(12)), /a hole in the data before "experts"/],
    ['negative offsets', () => raw('{"experts":{"dtype":"I32","shape":[2,1],"data_offsets":[-8,0]}}', Buffer.alloc(8)), /data_offsets must be \[begin, end\] with 0 <= begin <= end/],
    ['float expert ids', () => raw('{"experts":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]}}', Buffer.alloc(8)), /"experts": dtype F32 is floating point; expected integer expert ids/],
    ['an fp8 tensor', () => raw('{"experts":{"dtype":"F8_E4M3","shape":[2,1],"data_offsets":[0,2]}}', Buffer.alloc(2)), /"experts": unsupported dtype F8_E4M3/],
    ['an id out of range', () => encodeSafetensors([{ name: 'experts', dtype: 'I32', shape: [2, 1], data: i32([3, -5]) }]), /^bad\.safetensors\[experts\]: row 1 \(token 1, layer 0\), slot 0: value -5 is not an expert id/],
    ['Infinity in weights', () => encodeSafetensors([{ name: 'experts', dtype: 'I32', shape: [2, 1], data: i32([3, 1]) }, { name: 'weights', dtype: 'F32', shape: [2, 1], data: f32([0.5, Infinity]) }]), /^bad\.safetensors\[weights\]: row 1 \(token 1, layer 0\), slot 0: gate weight Infinity is not a finite float32/],
    ['NaN in logits', () => encodeSafetensors([{ name: 'router_logits', dtype: 'F32', shape: [1, 2], data: f32([NaN, 1]) }]), /^bad\.safetensors\[router_logits\]: row 0 \(token 0, layer 0\), expert 0: router logit NaN is not a number moesim can rank/],
    ['no routing tensor', () => encodeSafetensors([{ name: 'input_ids', dtype: 'I64', shape: [1, 2], data: i64([1, 2]) }]), /^bad\.safetensors: no routing tensors: expected integer expert ids named "experts"/],
    ['several unnamed integer tensors', () => encodeSafetensors([{ name: 'a', dtype: 'I32', shape: [1, 2], data: i32([1, 2]) }, { name: 'b', dtype: 'I32', shape: [1, 2], data: i32([1, 2]) }]), /several integer tensors and none named "experts"/],
  ];
  for (const [what, bytes, msg] of bad) {
    it(`refuses ${what}`, async () => {
      await expect(importSafetensors(put('bad.safetensors', bytes()), { topK: 1 })).rejects.toThrow(msg);
    });
  }

  it('a .safetensors.gz whose header asks for sizes its data cannot be checked against (the length is unknown before reading)', async () => {
    const ids = '"experts":{"dtype":"I32","shape":[2,1],"data_offsets":[0,8]}';
    const lengths = put('lengths.safetensors.gz', gzipSync(raw(`{${ids},"lengths":{"dtype":"I64","shape":[1000000000000],"data_offsets":[8,8000000000008]}}`, Buffer.from(i32([1, 2])))));
    await expect(readTrace(lengths)).rejects.toThrow(/^lengths\.safetensors\.gz: "lengths": 1000000000000 sequence lengths, more than the limit of 536,870,912 \(a trace's most tokens\)$/);
    const wide = put('wide.safetensors.gz', gzipSync(raw('{"layers.0.router_logits":{"dtype":"F32","shape":[1,1099511627776],"data_offsets":[0,4398046511104]}}')));
    await expect(readTrace(wide, { topK: 2 })).rejects.toThrow(/^wide\.safetensors\.gz: per-layer tensors: experts 1,099,511,627,776 is more than the limit of 65,535$/);
  });

  it('a truncated .safetensors.gz', async () => {
    const whole = gzipSync(encodeSafetensors([{ name: 'experts', dtype: 'I32', shape: [4096, 2], data: i32(Array.from({ length: 8192 }, (_, i) => i % 8)) }]));
    await expect(readTrace(put('cut.safetensors.gz', whole.subarray(0, whole.length - 40)))).rejects.toThrow(/^cut\.safetensors\.gz(\[experts\])?: truncated/);
  });
});
