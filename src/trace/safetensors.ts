/**
 * safetensors routing dumps (Hugging Face's tensor file; format: huggingface/safetensors@ead9d7ba:README.md
 * "Format"): 8 bytes N (u64, little-endian), N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}` (offsets relative to the byte
 * buffer after the header; the buffer is C-order, little-endian, entirely indexed, no holes), then the data.
 *
 * What is read, with the .npz importer's semantics (src/trace/npy.ts):
 * - one trace-wide set: an integer tensor `experts` (or `ids`, `topk_ids`, `expert_ids`) shaped
 *   [tokens, layers, k] or [tokens, k]; -1 in every slot of a (token, layer) marks it absent; optional float
 *   `weights` (or `topk_weights`, `gating_probs`) of the same shape; optional 1-D integer `lengths`
 *   (or `seq_lens`, `sequence_lengths`) summing to tokens, and their ids as a JSON list in
 *   `__metadata__.sequence_ids` (the .npz's `sequence_ids`; a .pt's a list of strings under that key);
 * - or per-layer tensors: every name holding a layer number (`model.layers.3.mlp.gate`, `router_logits.3`,
 *   `layer_3.topk_ids`) is that layer's; its integer tensor is the ids [tokens, k] (or [batch, seq, k]: batch
 *   sequences of seq tokens), a float tensor of the same shape its weights;
 * - dense router scores instead of ids: a float tensor with no integer ids beside it, [tokens, experts] per
 *   layer (or [tokens, layers, experts] trace-wide, named `router_logits`, `logits` or `gate_logits`), is
 *   reduced to the top-k largest per route (option `topK`, else the scenario model's; ties: lower id first).
 *   Logits become router probabilities by a softmax over the experts before the top-k, as Hugging Face's
 *   MoE models route (huggingface/transformers@af3efdd7:src/transformers/models/mixtral/modeling_mixtral.py,
 *   `F.softmax(router_logits)` then `torch.topk`; `output_router_logits` returns one [batch*seq, experts]
 *   tensor per layer); a name with `prob`, `score` or `softmax` says the values are probabilities already.
 *   The weights are the chosen experts' probabilities, not renormalised over the k.
 *
 * Every size in the header is checked against the file before anything is allocated or read; tensors are
 * read front to back in chunks (a .safetensors.gz is decompressed as it goes).
 */
import { stat } from 'node:fs/promises';
import { InputError, inputErrorAt } from '../util/errors.js';
import { badWeightMessage, checkTraceDims, isStorableWeight, MAX_TRACE_SLOTS } from './checks.js';
import { displayName, openBytes } from './lines.js';
import { EXPERT_ENTRIES, ExpertConverter, finish, LENGTH_ENTRIES, makeReader, WEIGHT_ENTRIES, type NpyImportOptions, type Shape3 } from './npy.js';
import { layerNumberIn } from './numbers.js';
import { NO_EXPERT, type Trace } from './types.js';

export interface SafetensorsImportOptions extends NpyImportOptions {
  /** Experts per token: dense router scores keep the k largest; expert ids must have k slots. */
  topK?: number;
  /** The scenario model's top-k: used for dense scores when topK is not given. */
  modelTopK?: number;
}

/** The safetensors README's limit on the header (100 MB), against absurd JSON. */
const MAX_HEADER_BYTES = 100_000_000;
const LOGIT_ENTRIES = ['router_logits', 'logits', 'gate_logits', 'router_probs', 'gate_probs', 'scores'];
/** 2-D integer tensors a dump often carries beside the routes (the prompt, the mask): never the expert ids. */
const NOT_IDS = /(^|[._/])(input_ids|token_ids|attention_mask|position_ids|labels|positions|tokens)$/;

type Kind = 'i' | 'u' | 'f' | 'bf';
const DTYPES: Record<string, { kind: Kind; bytes: number }> = {
  I8: { kind: 'i', bytes: 1 },
  U8: { kind: 'u', bytes: 1 },
  I16: { kind: 'i', bytes: 2 },
  U16: { kind: 'u', bytes: 2 },
  I32: { kind: 'i', bytes: 4 },
  U32: { kind: 'u', bytes: 4 },
  I64: { kind: 'i', bytes: 8 },
  U64: { kind: 'u', bytes: 8 },
  F16: { kind: 'f', bytes: 2 },
  BF16: { kind: 'bf', bytes: 2 },
  F32: { kind: 'f', bytes: 4 },
  F64: { kind: 'f', bytes: 8 },
};

export interface SafeTensor {
  name: string;
  dtype: string;
  kind: Kind;
  itemBytes: number;
  shape: number[];
  /** Byte offsets into the data buffer, [begin, end). */
  begin: number;
  end: number;
}

/** The tensors of a safetensors header (checked: dtypes, shapes, sizes, offsets inside `dataBytes`, no overlap). */
export function parseSafetensorsHeader(json: Buffer, dataBytes: number | undefined, file: string): { tensors: SafeTensor[]; metadata: Record<string, string> } {
  const bad = (m: string): InputError => inputErrorAt(file, undefined, `safetensors header: ${m}`);
  const text = json.toString('utf8').replace(/ +$/, '');
  if (!text.startsWith('{')) throw bad('expected a JSON object (the header must start with "{")');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad(`invalid JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('expected a JSON object');
  const tensors: SafeTensor[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(doc as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('"__metadata__" must be a string-to-string map');
      metadata = v as Record<string, string>;
      continue;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof t !== 'object' || t === null) throw bad(`"${name}": expected {dtype, shape, data_offsets}`);
    if (typeof t.dtype !== 'string') throw bad(`"${name}": no dtype`);
    const dt = DTYPES[t.dtype];
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) throw bad(`"${name}": shape must be a list of non-negative integers, got ${JSON.stringify(t.shape)}`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || off.some((d) => !Number.isSafeInteger(d) || (d as number) < 0) || (off[1] as number) < (off[0] as number)) {
      throw bad(`"${name}": data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(off)}`);
    }
    const shape = t.shape as number[];
    const [begin, end] = off as [number, number];
    if (dataBytes !== undefined && end > dataBytes) throw bad(`"${name}": data_offsets [${begin}, ${end}] run past the data (${dataBytes} bytes after the header); truncated file?`);
    if (dt !== undefined) {
      const n = shape.reduce((a, d) => a * d, 1);
      if (n * dt.bytes !== end - begin) throw bad(`"${name}": shape [${shape.join(', ')}] of ${t.dtype} is ${n * dt.bytes} bytes, data_offsets give ${end - begin}`);
    }
    tensors.push({ name, dtype: t.dtype, kind: dt?.kind ?? 'f', itemBytes: dt?.bytes ?? 0, shape, begin, end });
  }
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const t of sorted) {
    if (t.begin < at) throw bad(`"${t.name}": data_offsets [${t.begin}, ${t.end}] overlap another tensor's`);
    if (t.begin > at) throw bad(`a hole in the data before "${t.name}" (bytes ${at}..${t.begin} belong to no tensor)`);
    at = t.end;
  }
  if (dataBytes !== undefined && at !== dataBytes) throw bad(`the tensors cover ${at} bytes but the data after the header is ${dataBytes}`);
  return { tensors, metadata };
}

/** The layer number a tensor name holds ("model.layers.3.mlp.gate" -> 3, "router_logits.12" -> 12), or undefined. */
export function layerOfTensorName(name: string): number | undefined {
  return layerNumberIn(name);
}

function isDenseProbName(name: string): boolean {
  return /prob|score|softmax/i.test(name);
}

/** Where the rows of a tensor go: row r's k slots start at r * rowStride + rowOffset of the trace arrays. */
interface Target {
  t: SafeTensor;
  role: 'ids' | 'weights' | 'logits' | 'probs' | 'lengths';
  rowStride: number;
  rowOffset: number;
  /** The layer ordinal, for messages (-1: trace-wide). */
  layer: number;
}

/** Import a .safetensors file of routing tensors (see the file comment). */
export async function importSafetensors(path: string, opts: SafetensorsImportOptions = {}): Promise<Trace> {
  const file = displayName(path);
  const r = openBytes(path, file);
  try {
    const head = Buffer.alloc(8);
    if ((await r.read(head, 0, 8)) !== 8) throw inputErrorAt(file, undefined, 'not a safetensors file (shorter than its 8-byte header length)');
    const n64 = head.readBigUInt64LE(0);
    if (n64 > BigInt(MAX_HEADER_BYTES)) throw inputErrorAt(file, undefined, `not a safetensors file (a header length of ${n64} bytes, more than the format's 100 MB)`);
    const n = Number(n64);
    const size = r.compressed ? undefined : (await stat(path)).size;
    if (size !== undefined && 8 + n > size) throw inputErrorAt(file, undefined, `truncated safetensors file: the header is ${n} bytes, the file ${size}`);
    const json = Buffer.alloc(n);
    if ((await r.read(json, 0, n)) !== n) throw inputErrorAt(file, undefined, `truncated safetensors file: the header is ${n} bytes`);
    const { tensors, metadata } = parseSafetensorsHeader(json, size === undefined ? undefined : size - 8 - n, file);
    // sequence ids (strings, which tensors cannot hold) as the .npz's sequence_ids: a JSON list in the metadata
    let ids: string[] | undefined;
    if (metadata.sequence_ids !== undefined) {
      let v: unknown;
      try {
        v = JSON.parse(String(metadata.sequence_ids));
      } catch {
        v = undefined;
      }
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' && typeof x !== 'number')) throw inputErrorAt(file, undefined, `__metadata__.sequence_ids: expected a JSON list of strings (one per sequence), got ${String(metadata.sequence_ids).slice(0, 40)}`);
      ids = v.map(String);
    }
    return await routesFromTensors(tensors, r, path, opts, 'safetensors', ids);
  } finally {
    r.close();
  }
}

/** Bytes read front to back: a file (ByteReader) or a buffer in memory. */
export interface SequentialBytes {
  read(buf: Uint8Array, off: number, len: number): Promise<number>;
  skip(n: number): Promise<number>;
}

/** A buffer as SequentialBytes. */
export function bytesOf(data: Uint8Array): SequentialBytes {
  let at = 0;
  return {
    read: async (buf, off, len) => {
      const n = Math.max(0, Math.min(len, data.length - at));
      buf.set(data.subarray(at, at + n), off);
      at += n;
      return n;
    },
    skip: async (k) => {
      const n = Math.max(0, Math.min(k, data.length - at));
      at += n;
      return n;
    },
  };
}

/**
 * The trace in a set of named tensors whose data `r` yields front to back, each tensor at its [begin, end)
 * (the safetensors layout; a .pt file's tensors are laid out so too): see the file comment for the names.
 */
export async function routesFromTensors(tensors: SafeTensor[], r: SequentialBytes, path: string, opts: SafetensorsImportOptions, format: string, sequenceIds?: string[]): Promise<Trace> {
  const file = displayName(path);
  const plan = planTensors(tensors, opts, file);
  const { s, targets, numExperts: denseExperts, seqLen } = plan;
  const total = s.tokens * s.layers * s.k;
  const experts = new Uint16Array(total);
  // NaN: not recorded, for the layers without a weight tensor when others have one
  const weights = targets.some((t) => t.role !== 'ids' && t.role !== 'lengths') ? new Float32Array(total).fill(Number.NaN) : undefined;
  const limit = opts.numExperts ?? NO_EXPERT;
  const modelExperts = opts.modelExperts ?? Infinity;
  let maxExpert = -1;
  let absent = 0;
  let lengths: number[] | undefined = seqLen === undefined ? undefined : Array.from({ length: s.tokens / seqLen }, () => seqLen);
  const topVal = new Float64Array(s.k);
  const topIdx = new Int32Array(s.k);
  let dataAt = 0;
  for (const tg of [...targets].sort((a, b) => a.t.begin - b.t.begin)) {
    const t = tg.t;
    const label = `${file}[${t.name}]`;
    if (t.begin > dataAt) {
      if ((await r.skip(t.begin - dataAt)) !== t.begin - dataAt) throw inputErrorAt(file, undefined, `truncated data before "${t.name}"`);
      dataAt = t.begin;
    }
    const last = t.shape.length === 0 ? 1 : t.shape[t.shape.length - 1];
    const rows = last === 0 ? 0 : (t.end - t.begin) / t.itemBytes / last;
    const rowBytes = last * t.itemBytes;
    if (tg.role === 'lengths') {
      const b = Buffer.alloc(t.end - t.begin);
      if ((await r.read(b, 0, b.length)) !== b.length) throw inputErrorAt(label, undefined, 'truncated data');
      dataAt = t.end;
      const rd = makeReader({ ...t, descr: t.dtype }, b);
      lengths = Array.from({ length: t.shape[0] }, (_, i) => rd(i));
      continue;
    }
    const chunkRows = Math.max(1, Math.floor((4 << 20) / Math.max(1, rowBytes)));
    const chunk = Buffer.alloc(Math.min(rows, chunkRows) * rowBytes);
    const where = (row: number): string => (tg.layer < 0 ? `row ${row} (token ${Math.floor(row / s.layers)}, layer ${row % s.layers})` : `token ${row}`);
    for (let r0 = 0; r0 < rows; r0 += chunkRows) {
      const m = Math.min(chunkRows, rows - r0);
      const got = await r.read(chunk, 0, m * rowBytes);
      if (got !== m * rowBytes) throw inputErrorAt(label, undefined, `truncated data (${where(r0)})`);
      const rd = makeReader({ ...t, descr: t.dtype }, chunk);
      for (let i = 0; i < m; i++) {
        const row = r0 + i;
        const dst = row * tg.rowStride + tg.rowOffset;
        const src = i * last;
        if (tg.role === 'ids') {
          let neg = 0;
          for (let j = 0; j < s.k; j++) {
            const v = rd(src + j);
            if (v === -1) {
              neg++;
              experts[dst + j] = NO_EXPERT;
            } else if (v < 0 || v >= limit) throw inputErrorAt(label, undefined, `${where(row)}, slot ${j}: value ${v} is not an expert id in 0..${limit - 1} (or -1 for absent)`);
            else if (v >= modelExperts) throw inputErrorAt(label, undefined, `${where(row)}, slot ${j}: expert id ${v} is beyond the scenario's model, which has experts 0..${modelExperts - 1}`);
            else {
              experts[dst + j] = v;
              if (v > maxExpert) maxExpert = v;
            }
          }
          if (neg > 0) {
            if (neg !== s.k) throw inputErrorAt(label, undefined, `${where(row)} mixes -1 with expert ids; -1 must fill all ${s.k} slots of an absent route`);
            absent++;
          }
        } else if (tg.role === 'weights') {
          const w = weights as Float32Array;
          for (let j = 0; j < s.k; j++) {
            const v = rd(src + j);
            // NaN is "not recorded" (as in an .npz); anything else must be a finite float32
            if (!Number.isNaN(v) && !isStorableWeight(v)) throw inputErrorAt(label, undefined, `${where(row)}, slot ${j}: ${badWeightMessage(String(v))}`);
            w[dst + j] = v;
          }
        } else {
          // dense scores: the k largest (ties: lower id first), softmax first for logits
          let filled = 0;
          let max = -Infinity;
          for (let e = 0; e < last; e++) {
            const v = rd(src + e);
            if (Number.isNaN(v) || v === Infinity) throw inputErrorAt(label, undefined, `${where(row)}, expert ${e}: router ${tg.role === 'logits' ? 'logit' : 'probability'} ${v} is not a number moesim can rank (expected finite, or -Infinity for a masked expert)`);
            if (v > max) max = v;
            if (filled < s.k || v > topVal[s.k - 1]) {
              let p = filled < s.k ? filled++ : s.k - 1;
              while (p > 0 && topVal[p - 1] < v) {
                topVal[p] = topVal[p - 1];
                topIdx[p] = topIdx[p - 1];
                p--;
              }
              topVal[p] = v;
              topIdx[p] = e;
            }
          }
          if (max === -Infinity) throw inputErrorAt(label, undefined, `${where(row)}: every expert is masked (-Infinity)`);
          let sum = 1;
          if (tg.role === 'logits') {
            sum = 0;
            for (let e = 0; e < last; e++) sum += Math.exp(rd(src + e) - max);
          }
          const w = weights as Float32Array;
          for (let j = 0; j < s.k; j++) {
            const e = topIdx[j];
            if (e >= modelExperts) throw inputErrorAt(label, undefined, `${where(row)}: expert ${e} is among the top-${s.k}, beyond the scenario's model, which has experts 0..${modelExperts - 1}`);
            experts[dst + j] = e;
            if (e > maxExpert) maxExpert = e;
            const p = tg.role === 'logits' ? Math.exp(topVal[j] - max) / sum : topVal[j];
            if (!isStorableWeight(p)) throw inputErrorAt(label, undefined, `${where(row)}, expert ${e}: ${badWeightMessage(String(p))}`);
            w[dst + j] = p;
          }
        }
      }
    }
    dataAt = t.end;
  }
  const conv = new ExpertConverter(experts, s.k, s.layers * s.k, limit, file, opts.modelExperts);
  conv.maxExpert = maxExpert;
  conv.absent = absent;
  const layerIds = plan.layerIds !== undefined && !plan.layerIds.every((l, i) => l === i) ? plan.layerIds : undefined;
  if (sequenceIds !== undefined) {
    if (lengths === undefined || sequenceIds.length !== lengths.length) throw inputErrorAt(file, undefined, `sequence_ids has ${sequenceIds.length} entries but lengths has ${lengths?.length ?? 'none'}; they go one per sequence`);
    if (new Set(sequenceIds).size !== sequenceIds.length) throw inputErrorAt(file, undefined, 'sequence_ids: the ids must be distinct');
  }
  return finish(experts, weights, s, conv, lengths, { ...opts, numExperts: opts.numExperts ?? denseExperts, layerIds: opts.layerIds ?? layerIds }, path, format, sequenceIds);
}

interface Plan {
  s: Shape3;
  targets: Target[];
  layerIds?: number[];
  /** Dense scores: the experts dimension. */
  numExperts?: number;
  /** Per-layer [batch, seq, k] tensors: each batch row a sequence of this many tokens. */
  seqLen?: number;
}

const list = (ts: SafeTensor[]): string => ts.map((t) => `"${t.name}" ${t.dtype} [${t.shape.join(', ')}]`).join(', ') || 'none';

/** Which tensors are the routes, and where their rows go. */
function planTensors(all: SafeTensor[], opts: SafetensorsImportOptions, file: string): Plan {
  const bad = (m: string): InputError => inputErrorAt(file, undefined, m);
  for (const t of all) {
    if (DTYPES[t.dtype] === undefined && (EXPERT_ENTRIES.includes(t.name.toLowerCase()) || WEIGHT_ENTRIES.includes(t.name.toLowerCase()) || LOGIT_ENTRIES.includes(t.name.toLowerCase()) || layerOfTensorName(t.name) !== undefined)) {
      throw bad(`"${t.name}": unsupported dtype ${t.dtype} (expected I8..I64, U8..U64, F16, BF16, F32 or F64)`);
    }
  }
  const known = all.filter((t) => DTYPES[t.dtype] !== undefined);
  const byName = (names: string[]): SafeTensor | undefined => known.find((t) => names.includes(t.name.toLowerCase()));
  const lengthT = byName(LENGTH_ENTRIES);
  if (lengthT !== undefined && (lengthT.kind === 'f' || lengthT.kind === 'bf' || lengthT.shape.length !== 1)) throw bad(`"${lengthT.name}": expected a 1-D integer tensor of sequence lengths, got ${lengthT.dtype} [${lengthT.shape.join(', ')}]`);
  // a compressed file's sizes are not checked against its length before they are allocated
  if (lengthT !== undefined && lengthT.shape[0] > MAX_TRACE_SLOTS) throw bad(`"${lengthT.name}": ${lengthT.shape[0]} sequence lengths, more than the limit of ${MAX_TRACE_SLOTS.toLocaleString('en-US')} (a trace's most tokens)`);
  const isInt = (t: SafeTensor): boolean => t.kind === 'i' || t.kind === 'u';
  const routeLike = known.filter((t) => t !== lengthT && t.shape.length >= 2 && !(isInt(t) && NOT_IDS.test(t.name.toLowerCase())));
  const layered = routeLike.filter((t) => layerOfTensorName(t.name) !== undefined);
  const wide = routeLike.filter((t) => layerOfTensorName(t.name) === undefined);
  const lengthsTarget = (): Target[] => (lengthT === undefined ? [] : [{ t: lengthT, role: 'lengths', rowStride: 0, rowOffset: 0, layer: -1 }]);
  const needK = (what: string): number => {
    const k = opts.topK ?? opts.modelTopK;
    if (k === undefined) throw bad(`${what} holds dense router scores (one per expert): give topK (the model's experts per token) to take the k largest`);
    return k;
  };

  if (layered.length > 0 && wide.some((t) => byName(EXPERT_ENTRIES) === t || byName(LOGIT_ENTRIES) === t)) {
    throw bad(`both trace-wide routes (${list(wide)}) and per-layer tensors (${list(layered.slice(0, 3))}, ...); keep one layout`);
  }
  if (layered.length === 0) {
    // trace-wide: [tokens, layers, k] ids (+ weights), or [tokens, layers, experts] scores
    let ids = byName(EXPERT_ENTRIES);
    const intCands = wide.filter(isInt);
    if (ids === undefined && intCands.length === 1) ids = intCands[0];
    if (ids === undefined && intCands.length > 1) throw bad(`several integer tensors and none named ${EXPERT_ENTRIES.map((n) => `"${n}"`).join(' or ')}: ${list(intCands)}; name the expert ids "experts"`);
    if (ids !== undefined) {
      if (!isInt(ids)) throw bad(`"${ids.name}": dtype ${ids.dtype} is floating point; expected integer expert ids (I8..I64, U8..U64)`);
      const s = shapeOf(ids, file);
      if (opts.topK !== undefined && opts.topK !== s.k) throw bad(`"${ids.name}" has ${s.k} expert slots per route, but topK is ${opts.topK}`);
      let w = byName(WEIGHT_ENTRIES);
      const floats = wide.filter((t) => !isInt(t));
      if (w === undefined && floats.length === 1 && sameShape(floats[0], ids)) w = floats[0];
      if (w !== undefined && (isInt(w) || !sameShape(w, ids))) throw bad(`"${w.name}": weights must be a float tensor shaped as "${ids.name}" [${ids.shape.join(', ')}], got ${w.dtype} [${w.shape.join(', ')}]`);
      const targets: Target[] = [{ t: ids, role: 'ids', rowStride: s.k, rowOffset: 0, layer: -1 }, ...lengthsTarget()];
      if (w !== undefined) targets.push({ t: w, role: 'weights', rowStride: s.k, rowOffset: 0, layer: -1 });
      return { s, targets };
    }
    const scores = byName(LOGIT_ENTRIES) ?? (wide.length === 1 ? wide[0] : undefined);
    if (scores === undefined) {
      throw bad(`no routing tensors: expected integer expert ids named ${EXPERT_ENTRIES.map((n) => `"${n}"`).join(', ')} [tokens, layers, k], dense "router_logits" [tokens, layers, experts], or per-layer tensors with the layer in the name ("model.layers.3.mlp.gate"); the file has ${list(all)}`);
    }
    const k = needK(`"${scores.name}"`);
    const d = shapeOf(scores, file);
    if (k > d.k) throw bad(`topK ${k} is more than the ${d.k} experts of "${scores.name}"`);
    const s = { tokens: d.tokens, layers: d.layers, k };
    checkTraceDims(`${file}: "${scores.name}": `, { tokens: s.tokens, layers: s.layers, topK: k });
    return { s, targets: [{ t: scores, role: isDenseProbName(scores.name) ? 'probs' : 'logits', rowStride: k, rowOffset: 0, layer: -1 }, ...lengthsTarget()], numExperts: d.k };
  }

  // per layer: group by the layer number in the name
  const groups = new Map<number, SafeTensor[]>();
  for (const t of layered) {
    const l = layerOfTensorName(t.name) as number;
    let g = groups.get(l);
    if (g === undefined) groups.set(l, (g = []));
    g.push(t);
  }
  const layerIds = [...groups.keys()].sort((a, b) => a - b);
  const L = layerIds.length;
  let mode: 'ids' | 'dense' | undefined;
  let rows = -1;
  let lastDim = -1;
  let batch: number[] | undefined;
  const perLayer: { ids?: SafeTensor; w?: SafeTensor; scores?: SafeTensor }[] = [];
  for (const l of layerIds) {
    const g = groups.get(l) as SafeTensor[];
    const ints = g.filter(isInt);
    const floats = g.filter((t) => !isInt(t));
    if (ints.length > 1 || floats.length > 1) throw bad(`layer ${l}: more than one ${ints.length > 1 ? 'integer' : 'float'} tensor (${list(ints.length > 1 ? ints : floats)}); moesim reads one id tensor and one weight or score tensor per layer`);
    const ids = ints[0];
    const f = floats[0];
    const m = ids !== undefined ? 'ids' : 'dense';
    if (mode !== undefined && m !== mode) throw bad(`layer ${l} has ${m === 'ids' ? 'expert ids' : 'only dense scores'} but layer ${layerIds[0]} ${mode === 'ids' ? 'has expert ids' : 'only dense scores'}; give every layer the same tensors`);
    mode = m;
    const main = (ids ?? f) as SafeTensor;
    if (main.shape.length !== 2 && main.shape.length !== 3) throw bad(`"${main.name}": expected [tokens, ${m === 'ids' ? 'k' : 'experts'}] (or [batch, seq, ${m === 'ids' ? 'k' : 'experts'}]), got [${main.shape.join(', ')}]`);
    const r = main.shape.slice(0, -1).reduce((a, d) => a * d, 1);
    const ld = main.shape[main.shape.length - 1];
    if (rows >= 0 && (r !== rows || ld !== lastDim)) throw bad(`"${main.name}" is [${main.shape.join(', ')}] but layer ${layerIds[0]}'s is ${batch !== undefined ? `[${batch.join(', ')}, ${lastDim}]` : `[${rows}, ${lastDim}]`}; every layer must route the same tokens`);
    rows = r;
    lastDim = ld;
    batch = main.shape.slice(0, -1);
    if (ids !== undefined && f !== undefined && !sameShape(ids, f)) throw bad(`"${f.name}": weights must be shaped as "${ids.name}" [${ids.shape.join(', ')}], got [${f.shape.join(', ')}]`);
    perLayer.push({ ids, w: ids !== undefined ? f : undefined, scores: ids === undefined ? f : undefined });
  }
  const k = mode === 'ids' ? lastDim : needK(`"${perLayer[0].scores?.name}"`);
  if (mode === 'ids' && opts.topK !== undefined && opts.topK !== k) throw bad(`"${perLayer[0].ids?.name}" has ${k} expert slots per route, but topK is ${opts.topK}`);
  if (mode === 'dense' && k > lastDim) throw bad(`topK ${k} is more than the ${lastDim} experts of "${perLayer[0].scores?.name}"`);
  const s = { tokens: rows, layers: L, k };
  checkTraceDims(`${file}: per-layer tensors: `, { tokens: rows, layers: L, topK: k, experts: mode === 'dense' ? lastDim : undefined });
  const targets: Target[] = lengthsTarget();
  perLayer.forEach((p, li) => {
    const at = { rowStride: L * k, rowOffset: li * k, layer: li };
    if (p.ids !== undefined) targets.push({ t: p.ids, role: 'ids', ...at });
    if (p.w !== undefined) targets.push({ t: p.w, role: 'weights', ...at });
    if (p.scores !== undefined) targets.push({ t: p.scores, role: isDenseProbName(p.scores.name) ? 'probs' : 'logits', ...at });
  });
  const seqLen = batch !== undefined && batch.length === 2 && lengthT === undefined ? batch[1] : undefined;
  return { s, targets, layerIds, numExperts: mode === 'dense' ? lastDim : undefined, seqLen: seqLen !== undefined && seqLen > 0 ? seqLen : undefined };
}

function sameShape(a: SafeTensor, b: SafeTensor): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

function shapeOf(t: SafeTensor, file: string): Shape3 {
  const sh = t.shape;
  const d = sh.length === 3 ? { tokens: sh[0], layers: sh[1], k: sh[2] } : sh.length === 2 ? { tokens: sh[0], layers: 1, k: sh[1] } : undefined;
  if (d === undefined) throw inputErrorAt(file, undefined, `"${t.name}": expected shape [tokens, layers, k] (or [tokens, k]), got [${sh.join(', ')}]`);
  checkTraceDims(`${file}: "${t.name}": shape [${sh.join(', ')}]: `, { tokens: d.tokens, layers: d.layers, topK: d.k });
  return d;
}

/** The bytes of a safetensors file holding `tensors` (for tests and `trace convert`): header padded to 8 bytes. */
export function encodeSafetensors(tensors: { name: string; dtype: string; shape: number[]; data: Uint8Array }[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.byteLength] };
    at += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const h = Buffer.alloc(8);
  h.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([h, Buffer.from(json), ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
}
