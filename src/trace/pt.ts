/**
 * PyTorch `torch.save` files (.pt / .pth) holding routing tensors: a tensor, or dicts / lists / tuples of
 * them (how `output_router_logits` and expert-distribution recorders are usually dumped). The format
 * (PyTorch >= 1.6, pytorch/pytorch@31d1cf19:torch/serialization.py `_save`): a zip archive of
 * `<name>/data.pkl` (a pickle, protocol 2), `<name>/data/<key>` (the raw bytes of each storage),
 * `<name>/byteorder` ("little"; absent in older files, which are little-endian) and `<name>/version`.
 * A tensor is pickled as `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
 * backward_hooks)`, its storage as the persistent id `("storage", torch.<T>Storage, key, location, numel)`.
 *
 * The pickle is read by a RESTRICTED unpickler: it knows the opcodes of protocols 0-4 that such files hold
 * and only the globals torch uses for tensors (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`,
 * the `torch.<T>Storage` types, `collections.OrderedDict`); any other global, and every opcode that could
 * call or build an arbitrary object, is refused with a one-line error. Nothing in the file is executed.
 *
 * The tensors are then named by their path in the object (`router_logits.3` for the 4th tensor of a list
 * under "router_logits"; `records[3].ids` for a tensor inside the 4th entry, whose index is no layer) and read as a safetensors file's (src/trace/safetensors.ts): trace-wide
 * `experts` / `weights` / `lengths`, per-layer tensors by the layer number in the name, or dense router
 * logits reduced to the top-k. The archive is read whole (as an .npz).
 */
import { constants as bufferConstants } from 'node:buffer';
import { inputErrorAt } from '../util/errors.js';
import { readWhole } from './compressed.js';
import { displayName, wrapFsError } from './lines.js';
import { listZipEntries, readZipEntry, type ZipEntry } from './npy.js';
import { bytesOf, routesFromTensors, type SafeTensor, type SafetensorsImportOptions } from './safetensors.js';
import type { Trace } from './types.js';

/** The largest tensor read (2 GiB, Node's largest Buffer on 32-bit-length platforms). */
const MAX_TENSOR_BYTES = 2 ** 31 - 1;

/** The most bytes of all tensors together (what one Buffer holds: they are concatenated). */
const MAX_TOTAL_BYTES = bufferConstants.MAX_LENGTH;

/** torch.<T>Storage -> the safetensors dtype name and bytes per element. */
const STORAGES: Record<string, { dtype: string; bytes: number }> = {
  FloatStorage: { dtype: 'F32', bytes: 4 },
  DoubleStorage: { dtype: 'F64', bytes: 8 },
  HalfStorage: { dtype: 'F16', bytes: 2 },
  BFloat16Storage: { dtype: 'BF16', bytes: 2 },
  LongStorage: { dtype: 'I64', bytes: 8 },
  IntStorage: { dtype: 'I32', bytes: 4 },
  ShortStorage: { dtype: 'I16', bytes: 2 },
  CharStorage: { dtype: 'I8', bytes: 1 },
  ByteStorage: { dtype: 'U8', bytes: 1 },
  BoolStorage: { dtype: 'BOOL', bytes: 1 },
};

class Global {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}
class Tuple {
  constructor(readonly items: unknown[]) {}
}
class Storage {
  constructor(
    readonly type: string,
    readonly key: string,
    readonly numel: number,
  ) {}
}
export class PtTensor {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}
/** A pickled dict: keys in insertion order (strings or numbers). */
class Dict {
  readonly entries = new Map<string | number, unknown>();
}
const MARK = Symbol('mark');

/** The globals the unpickler resolves; everything else is refused. */
function allowedGlobal(module: string, name: string): boolean {
  if (module === 'collections' && name === 'OrderedDict') return true;
  if (module === 'torch._utils' && (name === '_rebuild_tensor_v2' || name === '_rebuild_parameter')) return true;
  if (module === 'torch' && name in STORAGES) return true;
  return false;
}

/**
 * Unpickle `data` with the restricted machine (see the file comment). `file` names the input in errors.
 * Returns plain values: numbers, strings, booleans, null, arrays (lists and tuples), Dicts, PtTensors.
 */
export function restrictedUnpickle(data: Uint8Array, file: string): unknown {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const bad = (m: string): Error => inputErrorAt(file, undefined, `data.pkl: ${m}`);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  const need = (n: number): void => {
    if (p + n > b.length) throw bad(`truncated pickle (an opcode at byte ${p} needs ${n} more bytes)`);
  };
  const u8 = (): number => {
    need(1);
    return b[p++];
  };
  const u16 = (): number => {
    need(2);
    const v = b.readUInt16LE(p);
    p += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = b.readUInt32LE(p);
    p += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = b.readInt32LE(p);
    p += 4;
    return v;
  };
  const bytes = (n: number): Buffer => {
    need(n);
    const v = b.subarray(p, p + n);
    p += n;
    return v;
  };
  const line = (): string => {
    const nl = b.indexOf(10, p);
    if (nl < 0) throw bad('truncated pickle (a text argument without its newline)');
    const s = b.toString('utf8', p, nl);
    p = nl + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw bad(`stack underflow at byte ${p - 1}`);
    const v = stack.pop();
    if (v === MARK) throw bad(`unexpected mark at byte ${p - 1}`);
    return v;
  };
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw bad(`no mark for the opcode at byte ${p - 1}`);
    const items = stack.splice(at + 1);
    stack.pop();
    return items;
  };
  const top = (): unknown => {
    if (stack.length === 0 || stack[stack.length - 1] === MARK) throw bad(`stack underflow at byte ${p - 1}`);
    return stack[stack.length - 1];
  };
  const long = (raw: Buffer): number => {
    // little-endian two's complement; routing files hold small ints (an int beyond 2^53 is refused)
    if (raw.length === 0) return 0;
    if (raw.length > 8) throw bad(`an integer of ${raw.length} bytes (more than 64 bits)`);
    let v = 0n;
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]);
    if (raw[raw.length - 1] & 0x80) v -= 1n << BigInt(raw.length * 8);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`integer ${v} beyond 2^53`);
    return Number(v);
  };
  const keyOf = (k: unknown): string | number => {
    if (typeof k === 'string' || typeof k === 'number') return k;
    if (k instanceof Tuple && k.items.every((x) => typeof x === 'string' || typeof x === 'number')) return k.items.join('.');
    throw bad(`a dict key that is not a string or number (${describe(k)})`);
  };
  const setItem = (d: unknown, k: unknown, v: unknown): void => {
    if (!(d instanceof Dict)) throw bad(`SETITEM on ${describe(d)}, not a dict`);
    d.entries.set(keyOf(k), v);
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof Global)) throw bad(`REDUCE of ${describe(fn)}: only torch's tensor globals can be called`);
    if (!(args instanceof Tuple)) throw bad(`REDUCE with ${describe(args)} arguments`);
    const a = args.items;
    const id = `${fn.module}.${fn.name}`;
    if (id === 'collections.OrderedDict') {
      if (a.length !== 0) throw bad('OrderedDict(...) with arguments');
      return new Dict();
    }
    if (id === 'torch._utils._rebuild_tensor_v2') {
      const [storage, offset, size, stride] = a;
      if (!(storage instanceof Storage)) throw bad(`_rebuild_tensor_v2: expected a storage, got ${describe(storage)}`);
      const ints = (v: unknown): number[] | undefined => (v instanceof Tuple && v.items.every((x) => Number.isSafeInteger(x) && (x as number) >= 0) ? (v.items as number[]) : undefined);
      const sz = ints(size);
      const st = ints(stride);
      if (!Number.isSafeInteger(offset) || (offset as number) < 0 || sz === undefined || st === undefined || sz.length !== st.length) {
        throw bad(`_rebuild_tensor_v2: expected (storage, offset, size, stride, ...), got offset ${describe(offset)}, size ${describe(size)}, stride ${describe(stride)}`);
      }
      return new PtTensor(storage, offset as number, sz, st);
    }
    if (id === 'torch._utils._rebuild_parameter') {
      if (!(a[0] instanceof PtTensor)) throw bad('_rebuild_parameter: expected a tensor');
      return a[0];
    }
    throw bad(`global ${id} cannot be called`);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw bad('pickle protocol beyond 5');
        break;
      case 0x95: // FRAME (protocol 4): its 8-byte length, then the frame's opcodes
        bytes(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) throw bad(`STOP with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Dict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new Tuple([]));
        break;
      case 0x74: // TUPLE
        stack.push(new Tuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new Tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const y = pop();
        stack.push(new Tuple([pop(), y]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const z = pop();
        const y = pop();
        stack.push(new Tuple([pop(), y, z]));
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = new Dict();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(bytes(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(long(bytes(u32())));
        break;
      case 0x49: {
        // INT (text): "I01\n" / "I00\n" are True / False
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : Number.parseInt(s, 10));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(Number.parseInt(line().replace(/L$/, ''), 10));
        break;
      case 0x47: {
        // BINFLOAT (big-endian double)
        need(8);
        stack.push(b.readDoubleBE(p));
        p += 8;
        break;
      }
      case 0x46: // FLOAT (text)
        stack.push(Number.parseFloat(line()));
        break;
      case 0x58: // BINUNICODE
        stack.push(bytes(u32()).toString('utf8'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(bytes(u8()).toString('utf8'));
        break;
      case 0x8d: {
        // BINUNICODE8
        const n = long(bytes(8));
        // a negative length would move the reader back (a crafted file looping forever)
        if (n < 0) throw bad(`BINUNICODE8 of length ${n} at byte ${p - 9}`);
        stack.push(bytes(n).toString('utf8'));
        break;
      }
      case 0x54: // BINSTRING
        stack.push(bytes(u32()).toString('latin1'));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(bytes(u8()).toString('latin1'));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()).toString('latin1'));
        break;
      case 0x42: // BINBYTES
        stack.push(bytes(u32()).toString('latin1'));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x70: // PUT (text)
        memo.set(Number.parseInt(line(), 10), top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET (text)
        const k = op === 0x68 ? u8() : op === 0x6a ? u32() : Number.parseInt(line(), 10);
        if (!memo.has(k)) throw bad(`memo ${k} read before it was written`);
        stack.push(memo.get(k));
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        if (!allowedGlobal(module, name)) throw refuse(file, `${module}.${name}`);
        stack.push(new Global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw bad('STACK_GLOBAL of non-strings');
        if (!allowedGlobal(module, name)) throw refuse(file, `${module}.${name}`);
        stack.push(new Global(module, name));
        break;
      }
      case 0x51: {
        // BINPERSID: ("storage", torch.<T>Storage, key, location, numel)
        const pid = pop();
        if (!(pid instanceof Tuple) || pid.items[0] !== 'storage' || pid.items.length < 5) throw bad(`a persistent id that is not a torch storage (${describe(pid)})`);
        const [, type, key, , numel] = pid.items;
        if (!(type instanceof Global) || type.module !== 'torch' || !(type.name in STORAGES)) throw bad(`storage of type ${describe(type)}`);
        if (typeof key !== 'string' || !/^[\w.-]+$/.test(key)) throw bad(`storage key ${describe(key)}`);
        if (!Number.isSafeInteger(numel) || (numel as number) < 0) throw bad(`storage size ${describe(numel)}`);
        stack.push(new Storage(type.name, key, numel as number));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args));
        break;
      }
      case 0x62: {
        // BUILD: the state of an OrderedDict or a tensor (empty in torch's files) carries nothing moesim reads
        pop();
        const obj = top();
        if (!(obj instanceof Dict) && !(obj instanceof PtTensor)) throw bad(`BUILD on ${describe(obj)}`);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) throw bad(`APPEND to ${describe(l)}, not a list`);
        l.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) throw bad(`APPENDS to ${describe(l)}, not a list`);
        for (const x of items) l.push(x);
        break;
      }
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default:
        // INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT1..4, PERSID (text), BYTEARRAY8, ...: they build arbitrary objects
        throw bad(`opcode 0x${op.toString(16).padStart(2, '0')} at byte ${p - 1} is not one torch uses for tensors; moesim's restricted unpickler refuses it (it never runs code from a file)`);
    }
  }
}

function refuse(file: string, global: string): Error {
  return inputErrorAt(file, undefined, `data.pkl: refuses the pickle global ${global}: moesim reads only tensors and dicts, lists and tuples of them from a .pt (a restricted unpickler; it never runs code from a file)`);
}

function describe(v: unknown): string {
  if (v instanceof Global) return `${v.module}.${v.name}`;
  if (v instanceof Tuple) return `a tuple of ${v.items.length}`;
  if (v instanceof Dict) return 'a dict';
  if (v instanceof PtTensor) return 'a tensor';
  if (v instanceof Storage) return 'a storage';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return JSON.stringify(v) ?? String(v);
}

/** The tensors of an unpickled object, by their path ("router_logits.3"); other values are left out. */
export function namedTensors(root: unknown): [string, PtTensor][] {
  const out: [string, PtTensor][] = [];
  // each container once: a pickle can make a list hold itself (memo), which would walk forever
  const seen = new Set<unknown>();
  const walk = (v: unknown, name: string, depth: number): void => {
    if (depth > 64) return;
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return;
      seen.add(v);
    }
    if (v instanceof PtTensor) out.push([name, v]);
    else if (v instanceof Dict) for (const [k, x] of v.entries) walk(x, name === '' ? String(k) : `${name}.${k}`, depth + 1);
    else if (Array.isArray(v) || v instanceof Tuple) {
      // an entry holding a tensor is named "name.i" (a layer: HF's tuple of per-layer router logits); one
      // holding more is "name[i]" (a record, a batch: its index is no layer number)
      (Array.isArray(v) ? v : v.items).forEach((x, i) => walk(x, x instanceof PtTensor ? (name === '' ? String(i) : `${name}.${i}`) : `${name}[${i}]`, depth + 1));
    }
  };
  walk(root, '', 0);
  return out.map(([n, t]) => [n === '' ? 'experts' : n, t]);
}

/** Import a torch.save .pt file of routing tensors (see the file comment). */
export async function importPt(path: string, opts: SafetensorsImportOptions = {}): Promise<Trace> {
  const file = displayName(path);
  const zip = await readWhole(path, file).catch((e: unknown) => {
    throw wrapFsError(e, file);
  });
  if (zip.length >= 2 && zip[0] === 0x80 && zip[1] <= 5) throw inputErrorAt(file, undefined, 'a legacy torch.save file (PyTorch before 1.6, a bare pickle); re-save it with a current PyTorch (torch.save(torch.load(f), g)) to get the zip format');
  const entries = listZipEntries(zip, file);
  const pkl = entries.find((e) => /(^|\/)data\.pkl$/.test(e.name));
  if (pkl === undefined) throw inputErrorAt(file, undefined, `not a torch.save archive: no data.pkl entry (found ${entries.slice(0, 5).map((e) => `"${e.name}"`).join(', ') || 'none'})`);
  const prefix = pkl.name.slice(0, -'data.pkl'.length);
  const order = entries.find((e) => e.name === `${prefix}byteorder`);
  if (order !== undefined) {
    const bo = readZipEntry(zip, order, file).toString('latin1').trim();
    if (bo !== 'little') throw inputErrorAt(file, undefined, `byteorder "${bo}": only little-endian torch files are read`);
  }
  const root = restrictedUnpickle(readZipEntry(zip, pkl, file), file);
  const named = namedTensors(root);
  if (named.length === 0) throw inputErrorAt(file, undefined, 'no tensors in the saved object');
  if (named.some(([n]) => /^records\[\d+\]\.topk_ids_of_layer$/.test(n))) {
    // sgl-project/sglang@02295fe5:python/sglang/srt/eplb/expert_distribution.py, _DetailAccumulator.dump
    throw inputErrorAt(file, undefined, 'an SGLang expert-distribution recorder dump (records of forward passes, topk_ids_of_layer [layers, tokens, 8] of physical expert ids): its tokens are grouped by forward pass, not by request, and moesim does not read it yet; record with --enable-return-routed-experts instead (format sglang)');
  }
  // the bytes to gather, bounded before any storage is read: views of one storage can ask for any total
  let totalBytes = 0;
  for (const [name, t] of named) totalBytes += tensorBytes(t, STORAGES[t.storage.type].bytes, name, file);
  if (totalBytes > MAX_TOTAL_BYTES) throw inputErrorAt(file, undefined, `its ${named.length} tensors are ${totalBytes} bytes in all, more than moesim reads from a .pt (${MAX_TOTAL_BYTES})`);
  // each tensor made contiguous, one after another: the layout routesFromTensors reads
  const byKey = new Map<string, ZipEntry>();
  for (const e of entries) if (e.name.startsWith(`${prefix}data/`)) byKey.set(e.name.slice(prefix.length + 5), e);
  const storages = new Map<string, Buffer>();
  const parts: Buffer[] = [];
  const tensors: SafeTensor[] = [];
  let at = 0;
  for (const [name, t] of named) {
    const st = STORAGES[t.storage.type];
    let raw = storages.get(t.storage.key);
    if (raw === undefined) {
      const e = byKey.get(t.storage.key);
      if (e === undefined) throw inputErrorAt(file, undefined, `tensor "${name}": its storage ${prefix}data/${t.storage.key} is not in the archive`);
      raw = readZipEntry(zip, e, file);
      if (raw.length < t.storage.numel * st.bytes) throw inputErrorAt(file, undefined, `tensor "${name}": storage ${t.storage.key} has ${raw.length} bytes, its ${t.storage.numel} elements need ${t.storage.numel * st.bytes}`);
      storages.set(t.storage.key, raw);
    }
    const bytes = contiguous(t, raw, st.bytes, name, file);
    tensors.push({ name, dtype: st.dtype, kind: st.dtype.startsWith('F') ? 'f' : st.dtype === 'BF16' ? 'bf' : st.dtype.startsWith('U') ? 'u' : 'i', itemBytes: st.dtype === 'BOOL' ? 0 : st.bytes, shape: t.size, begin: at, end: at + bytes.length });
    parts.push(bytes);
    at += bytes.length;
  }
  // sequence ids: a list of strings (or numbers) under "sequence_ids" in a saved dict, as an .npz's
  const idsValue = root instanceof Dict ? root.entries.get('sequence_ids') : undefined;
  let ids: string[] | undefined;
  if (idsValue !== undefined) {
    const list = Array.isArray(idsValue) ? idsValue : idsValue instanceof Tuple ? idsValue.items : undefined;
    if (list === undefined || list.some((x) => typeof x !== 'string' && typeof x !== 'number')) throw inputErrorAt(file, undefined, `"sequence_ids": expected a list of strings (one per sequence), got ${describe(idsValue)}`);
    ids = list.map(String);
  }
  return routesFromTensors(tensors, bytesOf(Buffer.concat(parts)), path, opts, 'pt', ids);
}

/** A tensor's size in bytes, refused beyond MAX_TENSOR_BYTES (a stride of 0 repeats elements: a small storage could ask for any size). */
function tensorBytes(t: PtTensor, item: number, name: string, file: string): number {
  const n = t.size.reduce((a, d) => a * d, 1);
  if (!Number.isSafeInteger(n * item) || n * item > MAX_TENSOR_BYTES) throw inputErrorAt(file, undefined, `tensor "${name}": size (${t.size.join(', ')}) is ${n} elements, more than a routing tensor moesim reads (${MAX_TENSOR_BYTES} bytes)`);
  return n * item;
}

/** A tensor's elements in C order, gathered from its storage by offset and strides (bounds-checked). */
function contiguous(t: PtTensor, raw: Buffer, item: number, name: string, file: string): Buffer {
  const n = tensorBytes(t, item, name, file) / item;
  if (n === 0) return Buffer.alloc(0);
  // more elements than the storage holds: a view that repeats them (stride 0, an expand), from a small storage
  if (n > raw.length / item) throw inputErrorAt(file, undefined, `tensor "${name}": size (${t.size.join(', ')}) is ${n} elements, more than its storage's ${raw.length / item} (a view that repeats elements, stride (${t.stride.join(', ')})); save it with .contiguous()`);
  let last = t.offset;
  for (let d = 0; d < t.size.length; d++) last += (t.size[d] - 1) * t.stride[d];
  if ((last + 1) * item > raw.length) throw inputErrorAt(file, undefined, `tensor "${name}": offset ${t.offset}, size (${t.size.join(', ')}), stride (${t.stride.join(', ')}) reach past its storage of ${raw.length / item} elements`);
  // C-contiguous: one slice
  let c = true;
  for (let d = t.size.length - 1, expect = 1; d >= 0; d--) {
    if (t.size[d] !== 1 && t.stride[d] !== expect) c = false;
    expect *= t.size[d];
  }
  if (c) return raw.subarray(t.offset * item, (t.offset + n) * item);
  const out = Buffer.alloc(n * item);
  const idx = new Array<number>(t.size.length).fill(0);
  for (let i = 0; i < n; i++) {
    let src = t.offset;
    for (let d = 0; d < idx.length; d++) src += idx[d] * t.stride[d];
    raw.copy(out, i * item, src * item, (src + 1) * item);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < t.size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}
