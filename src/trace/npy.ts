/**
 * NumPy routing arrays: `.npy` (one array) and `.npz` (a zip of .npy entries, stored or deflated).
 *
 * - experts: an integer array (int8..int64, uint8..uint64, little-endian, C order) shaped
 *   [tokens, layers, k] (or [tokens, k] for one layer); -1 in every slot of a (token, layer) marks it
 *   absent. In an .npz the entry is `experts` (or `ids`, `topk_ids`, `expert_ids`).
 * - weights (optional): float16/32/64, the same shape; .npz entry `weights` (or `topk_weights`,
 *   `gating_probs`), or a separate .npy file (option `weightsPath`).
 * - sequence lengths (optional): .npz entry `lengths` (integers summing to tokens); otherwise
 *   `tokensPerSequence`, otherwise one sequence.
 *
 * The .npy header (magic, version, dict with descr / fortran_order / shape) and the zip central
 * directory are parsed here; deflated entries are inflated with node:zlib. A .npy file is read in
 * chunks and converted as it goes; an .npz file is read whole (it is binary and compact).
 */
import { stat } from 'node:fs/promises';
import { readWhole } from './compressed.js';
import { writeFileAtomic } from '../util/fs.js';
import { badWeightMessage, checkTraceDims, isStorableWeight } from './checks.js';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { TraceBuilder } from './builder.js';
import { displayName, openBytes, wrapFsError } from './lines.js';
import { NO_EXPERT, type Trace } from './types.js';
import { InputError, inputErrorAt } from '../util/errors.js';

export interface NpyImportOptions {
  /** A .npy file of gate weights to go with a .npy experts file. */
  weightsPath?: string;
  tokensPerSequence?: number;
  numExperts?: number;
  /** The scenario model's expert count: an id beyond it is refused by its (token, layer, slot). */
  modelExperts?: number;
  layerIds?: number[];
  model?: string;
  provenance?: string;
}

type Kind = 'i' | 'u' | 'f';

export interface NpyHeader {
  descr: string;
  kind: Kind;
  itemBytes: number;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data from the start of the .npy bytes. */
  dataOffset: number;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** Parse a .npy header from its first bytes (at least the whole header). */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) throw inputErrorAt(file, undefined, 'not a .npy array (expected the magic "\\x93NUMPY")');
  const major = b[6];
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = b.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (b.length < 12) throw inputErrorAt(file, undefined, 'truncated .npy header');
    headerLen = b.readUInt32LE(8);
    start = 12;
  } else throw inputErrorAt(file, undefined, `unsupported .npy format version ${major}.${b[7]} (expected 1, 2 or 3)`);
  if (b.length < start + headerLen) throw inputErrorAt(file, undefined, 'truncated .npy header');
  const dict = b.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLen);
  const descrM = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(dict);
  if (descrM === null) throw inputErrorAt(file, undefined, `.npy header: no simple "descr" (structured dtypes are not supported): ${dict.trim()}`);
  const fortranM = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(dict);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(dict);
  if (fortranM === null || shapeM === null) throw inputErrorAt(file, undefined, `.npy header: expected fortran_order and shape, got ${dict.trim()}`);
  const shape = shapeM[1]
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')
    .map((x) => Number(x.replace(/L$/, '')));
  if (shape.some((x) => !Number.isInteger(x) || x < 0)) throw inputErrorAt(file, undefined, `.npy header: bad shape (${shapeM[1]})`);
  const descr = descrM[1];
  const dm = /^([<>|=])([iuf])(\d+)$/.exec(descr);
  if (dm === null) throw inputErrorAt(file, undefined, `unsupported dtype "${descr}" (expected little-endian int8..int64, uint8..uint64 or float16/32/64)`);
  const itemBytes = Number(dm[3]);
  const kind = dm[2] as Kind;
  if (dm[1] === '>' && itemBytes > 1) throw inputErrorAt(file, undefined, `big-endian dtype "${descr}" is not supported (save with .astype("<${kind}${itemBytes}"))`);
  const okSizes = kind === 'f' ? [2, 4, 8] : [1, 2, 4, 8];
  if (!okSizes.includes(itemBytes)) throw inputErrorAt(file, undefined, `unsupported dtype "${descr}"`);
  return { descr, kind, itemBytes, fortranOrder: fortranM[1] === 'True', shape, dataOffset: start + headerLen };
}

/** A decoded numeric array: values as float64 (exact for the integer ranges we accept). */
interface DecodedArray {
  header: NpyHeader;
  data: Uint8Array;
}

function checkLayout(h: NpyHeader, file: string, what: string): void {
  if (h.fortranOrder && h.shape.filter((d) => d > 1).length > 1) throw inputErrorAt(file, undefined, `${what}: Fortran-ordered arrays are not supported (save np.ascontiguousarray(a))`);
}

/** The element type of a raw little-endian array: its kind ('bf': bfloat16, from safetensors) and width, and its name for messages. */
export interface ElementType {
  kind: Kind | 'bf';
  itemBytes: number;
  descr?: string;
}

/** Read element i of a raw little-endian array as a number (.npy, safetensors and torch storages). */
export function makeReader(h: ElementType, data: Uint8Array): (i: number) => number {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = h.itemBytes;
  switch (`${h.kind}${n}`) {
    case 'i1':
      return (i) => dv.getInt8(i);
    case 'u1':
      return (i) => dv.getUint8(i);
    case 'i2':
      return (i) => dv.getInt16(i * 2, true);
    case 'u2':
      return (i) => dv.getUint16(i * 2, true);
    case 'i4':
      return (i) => dv.getInt32(i * 4, true);
    case 'u4':
      return (i) => dv.getUint32(i * 4, true);
    case 'i8':
      return (i) => dv.getInt32(i * 8 + 4, true) * 4294967296 + dv.getUint32(i * 8, true);
    case 'u8':
      return (i) => dv.getUint32(i * 8 + 4, true) * 4294967296 + dv.getUint32(i * 8, true);
    case 'f2':
      return (i) => halfToFloat(dv.getUint16(i * 2, true));
    case 'bf2': {
      const f = new DataView(new ArrayBuffer(4));
      return (i) => {
        f.setUint32(0, dv.getUint16(i * 2, true) << 16);
        return f.getFloat32(0);
      };
    }
    case 'f4':
      return (i) => dv.getFloat32(i * 4, true);
    case 'f8':
      return (i) => dv.getFloat64(i * 8, true);
    default:
      throw new Error(`unreachable dtype ${h.descr ?? `${h.kind}${n}`}`);
  }
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f === 0 ? s * Infinity : Number.NaN;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

export interface Shape3 {
  tokens: number;
  layers: number;
  k: number;
}

function shape3(h: NpyHeader, file: string, what: string): Shape3 {
  const s = h.shape;
  const dims = s.length === 3 ? { tokens: s[0], layers: s[1], k: s[2] } : s.length === 2 ? { tokens: s[0], layers: 1, k: s[1] } : undefined;
  if (dims !== undefined) {
    // before anything is allocated: (0, 100000000, 1000) is empty, (10^9, 32, 8) too large
    checkTraceDims(`${file}: ${what}: shape (${s.join(', ')}): `, { tokens: dims.tokens, layers: dims.layers, topK: dims.k });
    return dims;
  }
  throw inputErrorAt(file, undefined, `${what}: expected shape [tokens, layers, k] (or [tokens, k]), got (${s.join(', ')})`);
}

/** State that converts expert ids into a Uint16Array, chunk by chunk, validating as it goes. */
export class ExpertConverter {
  maxExpert = -1;
  absent = 0;
  constructor(
    private readonly out: Uint16Array,
    private readonly k: number,
    /** Elements per token (layers * k), for messages. */
    private readonly stride: number,
    private readonly numExperts: number,
    private readonly file: string,
    /** The scenario model's expert count: an id beyond it is refused by its index. */
    private readonly modelExperts = Infinity,
  ) {}
  /** "[token, layer, slot]" of flat element `at`. */
  private where(at: number): string {
    return `[${Math.floor(at / this.stride)}, ${Math.floor((at % this.stride) / this.k)}, ${at % this.k}]`;
  }
  /** Convert `count` elements (whole (token, layer) groups) starting at element `first`. */
  convert(h: NpyHeader, data: Uint8Array, first: number, count: number): void {
    const read = makeReader(h, data);
    const out = this.out;
    const k = this.k;
    for (let g = 0; g < count; g += k) {
      let neg = 0;
      for (let j = 0; j < k; j++) {
        const v = read(g + j);
        const at = first + g + j;
        if (v === -1) {
          neg++;
          out[at] = NO_EXPERT;
        } else if (v < 0 || v >= this.numExperts || !Number.isInteger(v)) {
          const tok = Math.floor(at / this.stride);
          throw inputErrorAt(this.file, undefined, `experts: value ${v} at flat index ${at} (token ${tok}) is not an expert id in 0..${this.numExperts - 1} (or -1 for absent)`);
        } else if (v >= this.modelExperts) {
          throw inputErrorAt(this.file, undefined, `experts${this.where(at)} (token, layer, slot): expert id ${v} is beyond the scenario's model, which has experts 0..${this.modelExperts - 1}`);
        } else {
          out[at] = v;
          if (v > this.maxExpert) this.maxExpert = v;
        }
      }
      if (neg > 0) {
        if (neg !== k) throw inputErrorAt(this.file, undefined, `experts: a (token, layer) at flat index ${first + g} mixes -1 with expert ids; -1 must fill all ${k} slots of an absent route`);
        this.absent++;
      }
    }
  }
}

function checkIntegerDtype(h: NpyHeader, file: string): void {
  if (h.kind === 'f') throw inputErrorAt(file, undefined, `experts: dtype "${h.descr}" is floating point; expected an integer array (int8..int64, uint8..uint64)`);
}

function checkFloatDtype(h: NpyHeader, file: string): void {
  if (h.kind !== 'f') throw inputErrorAt(file, undefined, `weights: dtype "${h.descr}" is not floating point (expected float16/32/64)`);
}

/** Import a .npy experts array (read in chunks), with optional weights from another .npy. */
export async function importNpy(path: string, opts: NpyImportOptions = {}): Promise<Trace> {
  const file = displayName(path);
  const fh = openBytes(path, file);
  try {
    // read front to back (a .npy.gz is decompressed as it goes): the fixed part, then the header dict
    const head = Buffer.alloc(12);
    const got0 = await fh.read(head, 0, 12);
    if (got0 < 10 || !head.subarray(0, 6).equals(MAGIC)) parseNpyHeader(head.subarray(0, got0), file);
    const v1 = head[6] === 1;
    const headerEnd = v1 ? 10 + head.readUInt16LE(8) : got0 < 12 ? got0 : 12 + head.readUInt32LE(8);
    if (headerEnd > (1 << 24)) throw inputErrorAt(file, undefined, `.npy header of ${headerEnd} bytes (more than 16 MiB: not a routing array)`);
    const whole = Buffer.alloc(Math.max(headerEnd, got0));
    head.copy(whole, 0, 0, got0);
    const gotH = got0 + (headerEnd > got0 ? await fh.read(whole, got0, headerEnd - got0) : 0);
    const h = parseNpyHeader(whole.subarray(0, gotH), file);
    checkIntegerDtype(h, file);
    checkLayout(h, file, 'experts');
    const s = shape3(h, file, 'experts');
    const total = s.tokens * s.layers * s.k;
    // a v1 header read 2 bytes past its dict: those are data
    const carry = gotH - h.dataOffset;
    if (!fh.compressed) {
      const size = (await stat(path)).size;
      if (size < h.dataOffset + total * h.itemBytes) throw inputErrorAt(file, undefined, `truncated: shape (${h.shape.join(', ')}) needs ${total * h.itemBytes} data bytes, the file has ${size - h.dataOffset}`);
    }
    const experts = new Uint16Array(total);
    const conv = new ExpertConverter(experts, s.k, s.layers * s.k, opts.numExperts ?? NO_EXPERT, file, opts.modelExperts);
    const groupBytes = s.k * h.itemBytes;
    const chunkGroups = Math.max(1, Math.floor((4 << 20) / groupBytes));
    const chunk = Buffer.alloc(chunkGroups * groupBytes);
    let carried = carry;
    for (let g = 0; g < total / s.k; g += chunkGroups) {
      const groups = Math.min(chunkGroups, total / s.k - g);
      const bytes = groups * groupBytes;
      const pre = Math.min(carried, bytes);
      if (pre > 0) whole.copy(chunk, 0, h.dataOffset + carry - carried, h.dataOffset + carry - carried + pre);
      carried -= pre;
      const got = pre + (bytes > pre ? await fh.read(chunk, pre, bytes - pre) : 0);
      if (got !== bytes) throw inputErrorAt(file, undefined, `truncated: shape (${h.shape.join(', ')}) needs ${total * h.itemBytes} data bytes, the file has ${g * groupBytes + got}`);
      conv.convert(h, chunk.subarray(0, bytes), g * s.k, groups * s.k);
    }
    let weights: Float32Array | undefined;
    if (opts.weightsPath !== undefined) {
      const wfile = displayName(opts.weightsPath);
      const wbytes = await readWhole(opts.weightsPath, wfile).catch((e: unknown) => {
        throw wrapFsError(e, wfile);
      });
      weights = decodeWeights({ header: parseNpyHeader(wbytes, wfile), data: wbytes }, s, wfile, h.shape);
    }
    return finish(experts, weights, s, conv, undefined, opts, path, 'npy');
  } finally {
    fh.close();
  }
}

function decodeWeights(arr: DecodedArray, s: Shape3, file: string, expertShape: number[]): Float32Array {
  const h = arr.header;
  checkFloatDtype(h, file);
  checkLayout(h, file, 'weights');
  if (h.shape.length !== expertShape.length || h.shape.some((d, i) => d !== expertShape[i])) {
    throw inputErrorAt(file, undefined, `weights: shape (${h.shape.join(', ')}) differs from the experts' (${expertShape.join(', ')})`);
  }
  const total = s.tokens * s.layers * s.k;
  const data = arr.data.subarray(h.dataOffset);
  if (data.length < total * h.itemBytes) throw inputErrorAt(file, undefined, 'weights: truncated data');
  const read = makeReader(h, data);
  const w = new Float32Array(total);
  for (let i = 0; i < total; i++) {
    const v = read(i);
    // NaN is "not recorded"; anything else must be a finite float32 (float64 1e39 would become Infinity)
    if (!Number.isNaN(v) && !isStorableWeight(v)) throw inputErrorAt(file, undefined, `weights: value at flat index ${i} (token ${Math.floor(i / (s.layers * s.k))}): ${badWeightMessage(String(v))}`);
    w[i] = v;
  }
  return w;
}

export function finish(experts: Uint16Array, weights: Float32Array | undefined, s: Shape3, conv: ExpertConverter, lengths: number[] | undefined, opts: NpyImportOptions, path: string, format: string, ids?: string[]): Trace {
  const file = displayName(path);
  if (opts.layerIds !== undefined && opts.layerIds.length !== s.layers) throw inputErrorAt(file, undefined, `layerIds has ${opts.layerIds.length} entries but the array has ${s.layers} layers`);
  const b = new TraceBuilder({ numLayers: s.layers, topK: s.k, initialTokens: 16 });
  const seqLens: number[] = [];
  const seqIds: string[] = [];
  if (lengths !== undefined) {
    const sum = lengths.reduce((a, x) => a + x, 0);
    if (sum !== s.tokens || lengths.some((x) => !Number.isInteger(x) || x < 0)) throw inputErrorAt(file, undefined, `lengths: expected non-negative integers summing to ${s.tokens} tokens, they sum to ${sum}`);
    lengths.forEach((x, i) => {
      if (x > 0) {
        seqLens.push(x);
        seqIds.push(ids?.[i] ?? String(seqIds.length));
      }
    });
  } else if (opts.tokensPerSequence !== undefined) {
    for (let t = 0; t < s.tokens; t += opts.tokensPerSequence) seqLens.push(Math.min(opts.tokensPerSequence, s.tokens - t));
  } else if (s.tokens > 0) seqLens.push(s.tokens);
  const stride = s.layers * s.k;
  let t = 0;
  seqLens.forEach((n, i) => {
    b.beginSequence(seqIds[i] ?? String(i));
    b.appendTokens(n, experts, t * stride, weights);
    t += n;
  });
  if (weights !== undefined) {
    const w = b.weights;
    const ex = b.experts;
    for (let i = 0; i < t * stride; i++) if (ex[i] === NO_EXPERT) w[i] = Number.NaN;
  }
  const warnings: string[] = [];
  if (conv.absent > 0) warnings.push(`${file}: ${conv.absent} (token, layer) routes marked -1 (absent)`);
  const trace = b.build({ numExperts: opts.numExperts ?? conv.maxExpert + 1, layerIds: opts.layerIds, source: { path, format }, warnings });
  if (opts.model !== undefined) trace.source.model = opts.model;
  if (opts.provenance !== undefined) trace.source.provenance = opts.provenance;
  return trace;
}

// ---------------------------------------------------------------------------------------------
// .npz (zip)

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

/** The entries of a zip file, from its central directory (zip64 sizes/offsets supported). */
export function listZipEntries(zip: Buffer, file: string): ZipEntry[] {
  try {
    return listZipEntriesUnchecked(zip, file);
  } catch (e) {
    // a record pointing outside the file (a zip64 locator, an extra field): a corrupt archive, said in one line
    if (e instanceof RangeError) throw inputErrorAt(file, undefined, 'corrupt zip: a directory record points outside the file');
    throw e;
  }
}

function listZipEntriesUnchecked(zip: Buffer, file: string): ZipEntry[] {
  const minEocd = 22;
  let eocd = -1;
  for (let i = zip.length - minEocd; i >= Math.max(0, zip.length - minEocd - 65535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw inputErrorAt(file, undefined, 'not a zip/.npz file (no end-of-central-directory record)');
  let count = zip.readUInt16LE(eocd + 10);
  let cdOffset = zip.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    const loc = eocd - 20;
    if (loc < 0 || zip.readUInt32LE(loc) !== 0x07064b50) throw inputErrorAt(file, undefined, 'corrupt zip64 end record');
    const z64 = Number(zip.readBigUInt64LE(loc + 8));
    if (zip.readUInt32LE(z64) !== 0x06064b50) throw inputErrorAt(file, undefined, 'corrupt zip64 end record');
    count = Number(zip.readBigUInt64LE(z64 + 32));
    cdOffset = Number(zip.readBigUInt64LE(z64 + 48));
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== 0x02014b50) throw inputErrorAt(file, undefined, 'corrupt zip central directory');
    const method = zip.readUInt16LE(p + 10);
    const crc32 = zip.readUInt32LE(p + 16);
    let compressedSize = zip.readUInt32LE(p + 20);
    let size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    let localHeaderOffset = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extended information extra field
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = zip.readUInt16LE(x);
      const len = zip.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (size === 0xffffffff) {
          size = Number(zip.readBigUInt64LE(q));
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = Number(zip.readBigUInt64LE(q));
          q += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(zip.readBigUInt64LE(q));
      }
      x += 4 + len;
    }
    entries.push({ name, method, compressedSize, size, crc32, localHeaderOffset });
    p = xEnd + commentLen;
  }
  return entries;
}

/** The uncompressed bytes of a zip entry (stored or deflate), CRC-checked. */
export function readZipEntry(zip: Buffer, e: ZipEntry, file: string): Buffer {
  const lh = e.localHeaderOffset;
  if (lh + 30 > zip.length || zip.readUInt32LE(lh) !== 0x04034b50) throw inputErrorAt(file, undefined, `corrupt zip: bad local header for "${e.name}"`);
  const start = lh + 30 + zip.readUInt16LE(lh + 26) + zip.readUInt16LE(lh + 28);
  const raw = zip.subarray(start, start + e.compressedSize);
  if (raw.length !== e.compressedSize) throw inputErrorAt(file, undefined, `truncated zip entry "${e.name}"`);
  let out: Buffer;
  if (e.method === 0) out = raw;
  else if (e.method === 8) {
    try {
      out = inflateRawSync(raw);
    } catch (err) {
      throw inputErrorAt(file, undefined, `cannot inflate "${e.name}" (${(err as Error).message})`);
    }
  } else throw inputErrorAt(file, undefined, `entry "${e.name}": unsupported zip compression method ${e.method} (expected stored or deflate)`);
  if (out.length !== e.size) throw inputErrorAt(file, undefined, `entry "${e.name}": ${out.length} bytes, the directory says ${e.size}`);
  if (crc32(out) !== e.crc32) throw inputErrorAt(file, undefined, `entry "${e.name}": CRC mismatch (corrupt file)`);
  return out;
}

export const EXPERT_ENTRIES = ['experts', 'ids', 'topk_ids', 'expert_ids'];
export const WEIGHT_ENTRIES = ['weights', 'topk_weights', 'gating_probs'];
export const LENGTH_ENTRIES = ['lengths', 'seq_lens', 'sequence_lengths'];

/** Import an .npz archive with an experts array and optional weights and lengths. */
export async function importNpz(path: string, opts: NpyImportOptions = {}): Promise<Trace> {
  const file = displayName(path);
  const zip = await readWhole(path, file).catch((e: unknown) => {
    throw wrapFsError(e, file);
  });
  const entries = listZipEntries(zip, file);
  const find = (names: string[]): ZipEntry | undefined => entries.find((e) => names.includes(e.name.replace(/\.npy$/, '')));
  const exEntry = find(EXPERT_ENTRIES);
  if (exEntry === undefined) {
    throw inputErrorAt(file, undefined, `no experts array: expected an entry named ${EXPERT_ENTRIES.map((n) => `"${n}"`).join(' or ')}, found ${entries.map((e) => `"${e.name}"`).join(', ') || 'none'}`);
  }
  const label = `${file}[${exEntry.name}]`;
  const exBytes = readZipEntry(zip, exEntry, file);
  const h = parseNpyHeader(exBytes, label);
  checkIntegerDtype(h, label);
  checkLayout(h, label, 'experts');
  const s = shape3(h, label, 'experts');
  const total = s.tokens * s.layers * s.k;
  if (exBytes.length < h.dataOffset + total * h.itemBytes) throw inputErrorAt(label, undefined, 'truncated data');
  const experts = new Uint16Array(total);
  const conv = new ExpertConverter(experts, s.k, s.layers * s.k, opts.numExperts ?? NO_EXPERT, label, opts.modelExperts);
  conv.convert(h, exBytes.subarray(h.dataOffset), 0, total);
  let weights: Float32Array | undefined;
  const wEntry = find(WEIGHT_ENTRIES);
  if (wEntry !== undefined) {
    const wb = readZipEntry(zip, wEntry, file);
    const wlabel = `${file}[${wEntry.name}]`;
    weights = decodeWeights({ header: parseNpyHeader(wb, wlabel), data: wb }, s, wlabel, h.shape);
  }
  let lengths: number[] | undefined;
  const lEntry = find(LENGTH_ENTRIES);
  if (lEntry !== undefined) {
    const lb = readZipEntry(zip, lEntry, file);
    const llabel = `${file}[${lEntry.name}]`;
    const lh = parseNpyHeader(lb, llabel);
    if (lh.kind === 'f' || lh.shape.length !== 1) throw inputErrorAt(llabel, undefined, `lengths: expected a 1-D integer array, got ${lh.descr} shape (${lh.shape.join(', ')})`);
    const read = makeReader(lh, lb.subarray(lh.dataOffset));
    lengths = [];
    for (let i = 0; i < lh.shape[0]; i++) lengths.push(read(i));
  }
  let ids: string[] | undefined;
  const idEntry = entries.find((e) => e.name.replace(/\.npy$/, '') === 'sequence_ids');
  if (idEntry !== undefined) {
    ids = decodeUnicodeNpy(readZipEntry(zip, idEntry, file), `${file}[${idEntry.name}]`);
    if (lengths === undefined || ids.length !== lengths.length) throw inputErrorAt(file, undefined, `sequence_ids has ${ids.length} entries but lengths has ${lengths?.length ?? 'none'}; they go one per sequence`);
    if (new Set(ids).size !== ids.length) throw inputErrorAt(file, undefined, 'sequence_ids: the ids must be distinct');
  }
  return finish(experts, weights, s, conv, lengths, opts, path, 'npz', ids);
}

// ---------------------------------------------------------------------------------------------
// Writers

/** The bytes of a .npy file (version 1.0) holding `data` with the given dtype and shape. */
export function encodeNpy(descr: string, shape: number[], data: Uint8Array): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + dict.length + 1;
  const pad = (64 - (unpadded % 64)) % 64;
  const header = `${dict}${' '.repeat(pad)}\n`;
  const out = Buffer.alloc(10 + header.length + data.byteLength);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, 10 + header.length);
  return out;
}

/** Experts as int16 (int32 when ids exceed 32767), -1 for absent routes. */
function expertsArray(trace: Trace): { descr: string; data: Uint8Array } {
  if (trace.numExperts <= 32767) {
    const a = new Int16Array(trace.experts.length);
    for (let i = 0; i < a.length; i++) a[i] = trace.experts[i] === NO_EXPERT ? -1 : trace.experts[i];
    return { descr: '<i2', data: new Uint8Array(a.buffer) };
  }
  const a = new Int32Array(trace.experts.length);
  for (let i = 0; i < a.length; i++) a[i] = trace.experts[i] === NO_EXPERT ? -1 : trace.experts[i];
  return { descr: '<i4', data: new Uint8Array(a.buffer) };
}

/** Write the experts array of a trace as a .npy file [tokens, layers, k] (sequences are not kept). */
export async function writeNpy(trace: Trace, path: string): Promise<void> {
  const { descr, data } = expertsArray(trace);
  writeFileAtomic(path, encodeNpy(descr, [trace.tokens, trace.numLayers, trace.topK], data));
}

/** Write a trace as an .npz: experts, weights (float32, when present) and lengths (int64). */
export async function writeNpz(trace: Trace, path: string, compress = true): Promise<void> {
  const shape = [trace.tokens, trace.numLayers, trace.topK];
  const { descr, data } = expertsArray(trace);
  const files: { name: string; bytes: Buffer }[] = [{ name: 'experts.npy', bytes: encodeNpy(descr, shape, data) }];
  if (trace.weights !== undefined) files.push({ name: 'weights.npy', bytes: encodeNpy('<f4', shape, new Uint8Array(trace.weights.buffer, trace.weights.byteOffset, trace.weights.byteLength)) });
  const lens = new BigInt64Array(trace.sequences.map((s) => BigInt(s.length)));
  files.push({ name: 'lengths.npy', bytes: encodeNpy('<i8', [lens.length], new Uint8Array(lens.buffer)) });
  files.push({ name: 'sequence_ids.npy', bytes: encodeUnicodeNpy(trace.sequences.map((q) => q.id)) });
  writeFileAtomic(path, encodeZip(files, compress));
}

/** A 1-D NumPy unicode array ('<U{width}', UTF-32LE, NUL-padded): what numpy writes for strings. */
export function encodeUnicodeNpy(strings: string[]): Buffer {
  const cps = strings.map((x) => Array.from(x, (c) => c.codePointAt(0) as number));
  const width = Math.max(1, ...cps.map((c) => c.length));
  const data = new Uint32Array(strings.length * width);
  cps.forEach((c, i) => data.set(c, i * width));
  return encodeNpy(`<U${width}`, [strings.length], new Uint8Array(data.buffer));
}

/** Decode a 1-D '<U{width}' .npy (see encodeUnicodeNpy). */
export function decodeUnicodeNpy(bytes: Buffer, label: string): string[] {
  if (bytes.length < 10 || bytes.readUInt32LE(0) !== 0x4d554e93) throw inputErrorAt(label, undefined, 'not a .npy file');
  const major = bytes[6];
  const hlen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const dict = bytes.toString('latin1', start, start + hlen);
  const d = /['"]descr['"]\s*:\s*['"]<U(\d+)['"]/.exec(dict);
  const sh = /['"]shape['"]\s*:\s*\(\s*(\d+)\s*,?\s*\)/.exec(dict);
  if (d === null || sh === null) throw inputErrorAt(label, undefined, `sequence ids: expected a 1-D little-endian unicode array ('<U..'), got ${dict.trim()}`);
  const width = Number(d[1]);
  const n = Number(sh[1]);
  const off = start + hlen;
  if (bytes.length < off + n * width * 4) throw inputErrorAt(label, undefined, 'sequence ids: truncated data');
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let str = '';
    for (let j = 0; j < width; j++) {
      const c = bytes.readUInt32LE(off + (i * width + j) * 4);
      if (c === 0) break;
      str += String.fromCodePoint(c);
    }
    out.push(str);
  }
  return out;
}

/** A zip archive (no zip64: entries under 4 GiB) of the given files, deflated or stored. */
export function encodeZip(files: { name: string; bytes: Buffer }[], compress: boolean): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, 'utf8');
    const body = compress ? deflateRawSync(f.bytes) : f.bytes;
    const crc = crc32(f.bytes);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(0, 6);
    lh.writeUInt16LE(compress ? 8 : 0, 8);
    lh.writeUInt32LE(0, 10); // time/date
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(f.bytes.length, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(0, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0, 8);
    cd.writeUInt16LE(compress ? 8 : 0, 10);
    cd.writeUInt32LE(0, 12);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(f.bytes.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    locals.push(lh, name, body);
    centrals.push(cd, name);
    offset += 30 + name.length + body.length;
  }
  const cdSize = centrals.reduce((a, b) => a + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

let crcTable: Int32Array | undefined;
/** CRC-32 (IEEE), as used by zip. */
export function crc32(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

