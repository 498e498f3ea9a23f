/**
 * torch.save .pt files, written here to the layout of pytorch/pytorch@31d1cf19:torch/serialization.py `_save`
 * (a stored zip of <name>/data.pkl, <name>/byteorder, <name>/data/<key>) with a pickle written opcode by
 * opcode as CPython's protocol-2 Pickler emits it for torch tensors (GLOBAL torch._utils _rebuild_tensor_v2,
 * a BINPERSID ("storage", torch.<T>Storage, key, "cpu", numel), size and stride tuples, an empty
 * OrderedDict of hooks, BINPUT / BINGET memo entries). And pickles that must be refused.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readTrace } from '../../src/trace/load.js';
import { encodeZip } from '../../src/trace/npy.js';
import { importPt, restrictedUnpickle } from '../../src/trace/pt.js';
import { routeOf, tempDir } from './helpers.js';

const dir = tempDir();

/** A protocol-2 pickle, written op by op. */
class Pickle {
  private parts: Buffer[] = [Buffer.from([0x80, 2])];
  private memo = 0;
  op(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  raw(b: Buffer | string): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  put(): this {
    return this.op(0x71, this.memo++);
  }
  global(module: string, name: string): this {
    return this.raw(`c${module}\n${name}\n`).put();
  }
  str(s: string): this {
    const b = Buffer.from(s);
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    return this.op(0x58).raw(n).raw(b).put();
  }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.op(0x4b, v);
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.op(0x4a).raw(b);
  }
  tuple(items: number[]): this {
    if (items.length === 0) return this.op(0x29);
    if (items.length <= 3) {
      items.forEach((x) => this.int(x));
      return this.op(0x84 + items.length).put();
    }
    this.op(0x28);
    items.forEach((x) => this.int(x));
    return this.op(0x74).put();
  }
  /** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) */
  tensor(storage: string, key: string, numel: number, offset: number, size: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').op(0x28, 0x28).str('storage').global('torch', storage).str(key).str('cpu').int(numel).op(0x74).put().op(0x51);
    this.int(offset).tuple(size).tuple(stride).op(0x89);
    return this.global('collections', 'OrderedDict').op(0x29, 0x52).put().op(0x74).put().op(0x52).put();
  }
  bytes(): Buffer {
    return Buffer.concat([...this.parts, Buffer.from('.')]);
  }
}

const le = (kind: 'f32' | 'i64' | 'i32', v: number[]): Buffer => {
  if (kind === 'f32') return Buffer.from(new Float32Array(v).buffer);
  if (kind === 'i32') return Buffer.from(new Int32Array(v).buffer);
  return Buffer.from(new BigInt64Array(v.map(BigInt)).buffer);
};
const ptFile = (name: string, pkl: Buffer, storages: Record<string, Buffer>, opts: { archive?: string; byteorder?: string } = {}): string => {
  const a = opts.archive ?? 'archive';
  const files = [{ name: `${a}/data.pkl`, bytes: pkl }, ...(opts.byteorder === '' ? [] : [{ name: `${a}/byteorder`, bytes: Buffer.from(opts.byteorder ?? 'little') }])];
  for (const [k, b] of Object.entries(storages)) files.push({ name: `${a}/data/${k}`, bytes: b });
  files.push({ name: `${a}/version`, bytes: Buffer.from('3\n') });
  const p = join(dir, name);
  writeFileSync(p, encodeZip(files, false));
  return p;
};

describe('torch.save .pt files', () => {
  it("HF output_router_logits: {'router_logits': (layer 0, layer 1), 'step': 3}, top-k of the softmax", async () => {
    // EMPTY_DICT, MARK, key, (tensor, tensor), key, 3, SETITEMS
    const p = new Pickle().op(0x7d).put().op(0x28).str('router_logits');
    p.tensor('FloatStorage', '0', 8, 0, [2, 4], [4, 1]).tensor('FloatStorage', '1', 8, 0, [2, 4], [4, 1]).op(0x86).put();
    p.str('step').int(3).op(0x75);
    const f = ptFile('hf.pt', p.bytes(), { 0: le('f32', [0, 9, 1, 0, 3, 0, 0, 4]), 1: le('f32', [7, 0, 0, 1, 0, 0, 8, 0]) });
    const t = await readTrace(f, { topK: 1 });
    expect(t.source.format).toBe('pt');
    expect([t.tokens, t.numLayers, t.topK, t.numExperts]).toEqual([2, 2, 1, 4]);
    expect([routeOf(t, 0, 0), routeOf(t, 1, 0), routeOf(t, 0, 1), routeOf(t, 1, 1)]).toEqual([[1], [3], [0], [2]]);
    expect(t.weights?.[0]).toBeCloseTo(Math.exp(9) / (Math.exp(9) + Math.exp(1) + 2), 6);
    // gzip, too
    const z = join(dir, 'hf.pt.gz');
    writeFileSync(z, gzipSync(await import('node:fs').then((fs) => fs.readFileSync(f))));
    expect(Array.from((await readTrace(z, { topK: 1 })).experts)).toEqual(Array.from(t.experts));
  });

  it('an OrderedDict of topk_ids [tokens, layers, k] saved as a transposed view (strides), in an archive named after the file', async () => {
    // stored layer-major [layers, tokens, k]; the tensor is its permute(1, 0, 2): stride (2, 6, 1)
    const ids = [1, 2, 3, 0, 2, 3, 4, 5, 6, 7, 5, 4];
    const p = new Pickle().global('collections', 'OrderedDict').op(0x29, 0x52).put().str('topk_ids').tensor('LongStorage', '0', 12, 0, [3, 2, 2], [2, 6, 1]).op(0x73);
    const t = await importPt(ptFile('ids.pt', p.bytes(), { 0: le('i64', ids) }, { archive: 'ids' }));
    expect([0, 1, 2].map((tok) => [routeOf(t, tok, 0), routeOf(t, tok, 1)])).toEqual([[[1, 2], [4, 5]], [[3, 0], [6, 7]], [[2, 3], [5, 4]]]);
  });

  it('a bare tensor, at an offset into a shared storage, in an old archive without byteorder', async () => {
    const p = new Pickle().tensor('IntStorage', '0', 6, 2, [2, 2], [2, 1]);
    const t = await importPt(ptFile('bare.pt', p.bytes(), { 0: le('i32', [9, 9, 1, 2, 3, 0]) }, { byteorder: '' }));
    expect([routeOf(t, 0, 0), routeOf(t, 1, 0)]).toEqual([[1, 2], [3, 0]]);
  });

  it('a list of per-layer ids with lengths and sequence_ids in a dict', async () => {
    const p = new Pickle().op(0x7d).put().op(0x28);
    p.str('experts').op(0x5d).put().op(0x28).tensor('LongStorage', '0', 3, 0, [3, 1], [1, 1]).tensor('LongStorage', '1', 3, 0, [3, 1], [1, 1]).op(0x65);
    p.str('lengths').tensor('LongStorage', '2', 2, 0, [2], [1]);
    p.str('sequence_ids').op(0x5d).put().op(0x28).str('req-a').str('req-b').op(0x65).op(0x75);
    const t = await importPt(ptFile('list.pt', p.bytes(), { 0: le('i64', [1, 2, 3]), 1: le('i64', [4, 5, 6]), 2: le('i64', [1, 2]) }));
    expect(t.sequences.map((s) => [s.id, s.length])).toEqual([['req-a', 1], ['req-b', 2]]);
    expect([routeOf(t, 2, 0), routeOf(t, 2, 1)]).toEqual([[3], [6]]);
  });
});

describe('names', () => {
  it("a list entry's index is a layer only when the entry is a tensor; an SGLang recorder dump is named as such", async () => {
    // {"records": [{"topk_ids_of_layer": tensor}], ...}: records[0] is a forward pass, not layer 0
    const p = new Pickle().op(0x7d).put().str('records').op(0x5d).put().op(0x7d).put().str('topk_ids_of_layer').tensor('IntStorage', '0', 4, 0, [1, 2, 2], [4, 2, 1]).op(0x73, 0x61, 0x73);
    await expect(importPt(ptFile('expert_distribution_recorder_1.0_0.pt', p.bytes(), { 0: le('i32', [1, 2, 3, 0]) }))).rejects.toThrow(/^expert_distribution_recorder_1\.0_0\.pt: an SGLang expert-distribution recorder dump \(records of forward passes/);
    const q = new Pickle().op(0x7d).put().str('runs').op(0x5d).put().op(0x7d).put().str('ids').tensor('IntStorage', '0', 4, 0, [2, 2], [2, 1]).op(0x73, 0x61, 0x73);
    const t = await importPt(ptFile('runs.pt', q.bytes(), { 0: le('i32', [1, 2, 3, 0]) }));
    expect([t.numLayers, t.layerIds]).toEqual([1, undefined]);
  });
});

describe('the restricted unpickler refuses, in one line, and runs nothing', () => {
  const refuse: [string, () => Buffer, RegExp][] = [
    ['os.system', () => new Pickle().global('os', 'system').str('touch /tmp/pwned').op(0x85, 0x52).bytes(), /^x\.pt: data\.pkl: refuses the pickle global os\.system: moesim reads only tensors/],
    ['builtins.eval', () => new Pickle().global('builtins', 'eval').str('1').op(0x85, 0x52).bytes(), /refuses the pickle global builtins\.eval/],
    ['numpy arrays', () => new Pickle().global('numpy.core.multiarray', '_reconstruct').bytes(), /refuses the pickle global numpy\.core\.multiarray\._reconstruct/],
    ['STACK_GLOBAL of another module', () => new Pickle().str('subprocess').str('Popen').op(0x93).bytes(), /refuses the pickle global subprocess\.Popen/],
    ['INST', () => new Pickle().op(0x28).raw('ios\nsystem\n').bytes(), /^x\.pt: data\.pkl: opcode 0x69 at byte 3 is not one torch uses for tensors/],
    ['NEWOBJ', () => new Pickle().global('collections', 'OrderedDict').op(0x29, 0x81).bytes(), /opcode 0x81 .* is not one torch uses/],
    ['calling a storage type', () => new Pickle().global('torch', 'FloatStorage').op(0x29, 0x52).bytes(), /global torch\.FloatStorage cannot be called/],
    ['a persistent id that is not a storage', () => new Pickle().str('shell').op(0x85, 0x51).bytes(), /a persistent id that is not a torch storage/],
    ['a truncated pickle', () => new Pickle().str('abc').bytes().subarray(0, 6), /truncated pickle/],
    ['an unknown memo', () => new Pickle().op(0x68, 42).bytes(), /memo 42 read before it was written/],
  ];
  for (const [what, pkl, msg] of refuse) {
    it(what, () => {
      expect(() => restrictedUnpickle(pkl(), 'x.pt')).toThrow(msg);
    });
  }

  it('a BINUNICODE8 of negative length is refused (it would move the reader back: -9 loops forever)', () => {
    for (const n of [-1n, -9n]) {
      const len = Buffer.alloc(8);
      len.writeBigInt64LE(n);
      const p = new Pickle().op(0x8d).raw(len).bytes();
      expect(() => restrictedUnpickle(p, 'x.pt')).toThrow(new RegExp(`^x\\.pt: data\\.pkl: BINUNICODE8 of length ${n} at byte 2$`));
    }
  });

  it('a list that holds itself is walked once', () => {
    // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND: l = []; l.append(l)
    const p = new Pickle().op(0x5d).put().op(0x68, 0, 0x61).bytes();
    const v = restrictedUnpickle(p, 'x.pt') as unknown[];
    expect(v[0]).toBe(v);
  });

  it('bad archives', async () => {
    const zero = new Pickle().tensor('IntStorage', '0', 1, 0, [1 << 20, 1 << 20], [0, 0]).bytes();
    await expect(importPt(ptFile('zero.pt', zero, { 0: le('i32', [1]) }))).rejects.toThrow(/^zero\.pt: tensor "experts": size \(1048576, 1048576\) is 1099511627776 elements, more than a routing tensor moesim reads/);
    // a stride-0 view of one element as a million routes: more elements than its storage holds
    const rep = new Pickle().tensor('IntStorage', '0', 1, 0, [1 << 20, 1], [0, 0]).bytes();
    await expect(importPt(ptFile('repeat.pt', rep, { 0: le('i32', [1]) }))).rejects.toThrow(/^repeat\.pt: tensor "experts": size \(1048576, 1\) is 1048576 elements, more than its storage's 1 \(a view that repeats elements, stride \(0, 0\)\); save it with \.contiguous\(\)$/);
    // 4097 views of one 1 MiB storage: 4 GiB and 1 MiB to gather, refused before any is read
    const many = new Pickle().op(0x5d).put().op(0x28);
    for (let i = 0; i < 4097; i++) many.tensor('IntStorage', '0', 1 << 18, 0, [1 << 18, 1], [1, 1]);
    await expect(importPt(ptFile('many.pt', many.op(0x65).bytes(), { 0: Buffer.alloc(1 << 20) }))).rejects.toThrow(/^many\.pt: its 4097 tensors are 4296015872 bytes in all, more than moesim reads from a \.pt \(4294967296\)$/);
    const loop = new Pickle().op(0x5d).put().op(0x68, 0, 0x61).bytes();
    await expect(importPt(ptFile('loop.pt', loop, {}))).rejects.toThrow(/^loop\.pt: no tensors in the saved object$/);
    const good = new Pickle().tensor('IntStorage', '0', 2, 0, [2, 1], [1, 1]).bytes();
    await expect(importPt(ptFile('nostore.pt', good, {}))).rejects.toThrow(/^nostore\.pt: tensor "experts": its storage archive\/data\/0 is not in the archive$/);
    await expect(importPt(ptFile('short.pt', good, { 0: le('i32', [1]) }))).rejects.toThrow(/^short\.pt: tensor "experts": storage 0 has 4 bytes, its 2 elements need 8$/);
    const past = new Pickle().tensor('IntStorage', '0', 2, 1, [2, 1], [1, 1]).bytes();
    await expect(importPt(ptFile('past.pt', past, { 0: le('i32', [1, 2]) }))).rejects.toThrow(/^past\.pt: tensor "experts": offset 1, size \(2, 1\), stride \(1, 1\) reach past its storage of 2 elements$/);
    await expect(importPt(ptFile('big.pt', good, { 0: le('i32', [1, 2]) }, { byteorder: 'big' }))).rejects.toThrow(/^big\.pt: byteorder "big": only little-endian/);
    const legacy = join(dir, 'legacy.pt');
    writeFileSync(legacy, Buffer.from([0x80, 0x02, 0x8a, 0x0a]));
    await expect(importPt(legacy)).rejects.toThrow(/^legacy\.pt: a legacy torch\.save file \(PyTorch before 1\.6/);
    const npz = join(dir, 'notpt.pt');
    writeFileSync(npz, encodeZip([{ name: 'experts.npy', bytes: Buffer.from('x') }], false));
    await expect(importPt(npz)).rejects.toThrow(/^notpt\.pt: not a torch\.save archive: no data\.pkl entry \(found "experts\.npy"\)$/);
    const none = new Pickle().op(0x7d).put().str('step').int(3).op(0x73).bytes();
    await expect(importPt(ptFile('none.pt', none, {}))).rejects.toThrow(/^none\.pt: no tensors in the saved object$/);
  });
});
