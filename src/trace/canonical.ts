/**
 * The canonical moesim trace format: streaming text, one row per token (full spec: traces/FORMAT.md).
 *
 * ```
 * # moesim-trace v1
 * # {"numLayers":32,"numExperts":8,"topK":2,"model":"mixtral-8x7b","provenance":"...","layerIds":[0,1,...]}
 * seq	token	experts	weights
 * humaneval/0	0	6,5|5,3|...|1,0	0.69595838,0.30404168|...|0.5,0.5
 * humaneval/0	1	5,3|-|...	0.8,0.2|-|...
 * ```
 *
 * - Line 1 is exactly `# moesim-trace v1`; line 2 is `# ` followed by a JSON object with
 *   `numLayers`, `numExperts`, `topK` (positive integers) and optionally `model`, `provenance`
 *   (strings) and `layerIds` (numLayers integers: the original layer numbers); line 3 is the
 *   tab-separated header `seq, token, experts[, weights]`.
 * - Each following line is one token: sequence id (any text without tab or newline), token position
 *   (non-negative integer), experts (numLayers groups separated by `|`, each the topK expert ids of
 *   that layer in recorded order separated by `,`, or `-` if the (token, layer) was not recorded),
 *   and optionally weights (same shape; `-` for an absent layer or when not recorded).
 * - The rows of one sequence are contiguous and their positions strictly ascending; sequences appear
 *   in trace order. Empty lines and lines starting with `#` after the header are ignored.
 * - Positions are written 0, 1, 2, ... per sequence; a reader keeps their order, not their values.
 */
import { absentRoutesWarning } from './absent.js';
import { TraceBuilder } from './builder.js';
import { badWeightMessage, isStorableWeight } from './checks.js';
import { displayName, excerpt, forEachLine } from './lines.js';
import { formatFloat32, parseFloatBytes, parseUintBytes } from './numbers.js';
import { traceStream, type TraceHeader, type TraceStream } from './stream.js';
import { NO_EXPERT, type Trace } from './types.js';
import { InputError, inputErrorAt } from '../util/errors.js';
import { AtomicFile } from '../util/fs.js';
import { statSync } from 'node:fs';

export const CANONICAL_MAGIC = '# moesim-trace v1';
export const CANONICAL_EXTENSION = '.moesim';

/** The JSON object on line 2. */
export interface CanonicalMeta {
  numLayers: number;
  numExperts: number;
  topK: number;
  model?: string;
  provenance?: string;
  layerIds?: number[];
}

// ---------------------------------------------------------------------------------------------
// Reader

/** What the reader checks beyond the file: the scenario model's expert count (an id beyond it is named at its line). */
export interface CanonicalReadOptions {
  modelExperts?: number;
}

/** Read a canonical trace file (streamed; the Trace's typed arrays are the only thing kept). */
export async function readCanonical(path: string, opts: CanonicalReadOptions = {}): Promise<Trace> {
  const file = displayName(path);
  let meta: CanonicalMeta | undefined;
  let builder: TraceBuilder | undefined;
  let hasWeightsColumn = false;
  let headerSeen = false;
  let numLayers = 0;
  let topK = 0;
  let numExperts = 0;
  /** Ids at or above this are refused: the header's numExperts, or the scenario model's if fewer. */
  let idLimit = 0;
  // current sequence, compared as bytes to avoid decoding every row's id
  let prevSeq = Buffer.alloc(256);
  let prevSeqLen = -1;
  let prevPos = -1;
  const firstLineOfSeq = new Map<string, number>();

  const fail = (line: number, msg: string): InputError => inputErrorAt(file, line, msg);
  let fileBytes = 0;
  try {
    fileBytes = statSync(path).size;
  } catch {
    // forEachLine names the problem (no such file, a directory, ...)
  }

  await forEachLine(path, (buf, start, end, line) => {
    if (line === 1) {
      const text = buf.toString('utf8', start, end).replace(/^\uFEFF/, '').trimEnd();
      if (text !== CANONICAL_MAGIC) {
        if (text.startsWith('# moesim-trace v')) throw fail(line, `unsupported format version "${text.slice(2)}" (this moesim reads v1)`);
        throw fail(line, `expected "${CANONICAL_MAGIC}" (a moesim trace), got "${excerpt(buf, start, end)}"`);
      }
      return;
    }
    if (line === 2) {
      meta = parseMeta(buf.toString('utf8', start, end), file, line);
      numLayers = meta.numLayers;
      topK = meta.topK;
      numExperts = meta.numExperts;
      idLimit = opts.modelExperts !== undefined ? Math.min(numExperts, opts.modelExperts) : numExperts;
      return;
    }
    if (end === start || buf[start] === 35 /* # */) return;
    if (!headerSeen) {
      const cols = buf.toString('utf8', start, end).split('\t');
      if (cols[0] !== 'seq' || cols[1] !== 'token' || cols[2] !== 'experts' || (cols.length === 4 && cols[3] !== 'weights') || cols.length > 4 || cols.length < 3) {
        throw fail(line, `expected the header row "seq<TAB>token<TAB>experts<TAB>weights", got "${excerpt(buf, start, end)}"`);
      }
      hasWeightsColumn = cols.length === 4;
      headerSeen = true;
      builder = new TraceBuilder({ numLayers, topK, weights: hasWeightsColumn, initialTokens: 4096 });
      return;
    }
    const b = builder as TraceBuilder;
    // the first two tabs, scanned here (a native indexOf per column costs more than these few bytes)
    let t1 = start;
    while (t1 < end && buf[t1] !== 9) t1++;
    let t2 = t1 + 1;
    while (t2 < end && buf[t2] !== 9) t2++;
    if (t1 >= end || t2 >= end) throw fail(line, `expected "seq<TAB>token<TAB>experts[<TAB>weights]", got "${excerpt(buf, start, end)}"`);
    // A row's errors are reported in this order: too many columns, sequence id, position, experts,
    // weights. The column count is checked by the expert parser's stop; the slow check runs before
    // any other error is thrown, so that it still comes first.
    if (t1 === start) {
      if (tooManyColumns(buf, t2, end, hasWeightsColumn)) throw fail(line, columnsMessage(hasWeightsColumn));
      throw fail(line, 'empty sequence id');
    }
    // sequence, compared byte by byte with the previous row's
    const seqLen = t1 - start;
    let same = seqLen === prevSeqLen;
    for (let i = 0; same && i < seqLen; i++) same = prevSeq[i] === buf[start + i];
    const pos = parseUintBytes(buf, t1 + 1, t2);
    if (pos < 0) {
      if (tooManyColumns(buf, t2, end, hasWeightsColumn)) throw fail(line, columnsMessage(hasWeightsColumn));
      throw fail(line, `token position: expected a non-negative integer, got "${buf.toString('utf8', t1 + 1, t2)}"`);
    }
    if (!same) {
      const id = buf.toString('utf8', start, t1);
      const first = firstLineOfSeq.get(id);
      if (first !== undefined) {
        if (tooManyColumns(buf, t2, end, hasWeightsColumn)) throw fail(line, columnsMessage(hasWeightsColumn));
        throw fail(line, `sequence "${id}" resumes after other sequences (first row at line ${first}); rows of a sequence must be contiguous`);
      }
      firstLineOfSeq.set(id, line);
      b.beginSequence(id);
      if (seqLen > prevSeq.length) prevSeq = Buffer.alloc(seqLen * 2);
      buf.copy(prevSeq, 0, start, t1);
      prevSeqLen = seqLen;
    } else if (pos <= prevPos) {
      if (tooManyColumns(buf, t2, end, hasWeightsColumn)) throw fail(line, columnsMessage(hasWeightsColumn));
      throw fail(line, `token position ${pos} is not above the previous row's ${prevPos}; positions must ascend within a sequence`);
    }
    prevPos = pos;
    // the file's size over the first row's length estimates the tokens: room for them at once, but
    // never more expert ids' bytes than the file's (a short first row must not reserve gigabytes)
    if (b.tokens === 0 && fileBytes > 0) b.reserve(Math.min(fileBytes / (end - start + 1), fileBytes / (2 * numLayers * topK)) * 1.1 + 16);
    const at = b.addToken();
    let t3 = parseExpertsFast(buf, t2 + 1, end, b.experts, at, numLayers, topK, idLimit);
    if (t3 < 0) {
      // not the plain shape (or an error): the full parser, whose messages name what is wrong
      if (tooManyColumns(buf, t2, end, hasWeightsColumn)) throw fail(line, columnsMessage(hasWeightsColumn));
      b.experts.fill(NO_EXPERT, at, at + numLayers * topK);
      t3 = buf.indexOf(9, t2 + 1);
      if (t3 >= end) t3 = -1;
      const err = parseExperts(buf, t2 + 1, t3 < 0 ? end : t3, b.experts, at, numLayers, topK, idLimit, numExperts);
      if (err !== null) throw fail(line, `experts: ${err}`);
    } else if (t3 === end) t3 = -1;
    if (t3 >= 0) {
      if (tooManyColumns(buf, t2, end, hasWeightsColumn)) throw fail(line, columnsMessage(hasWeightsColumn));
      const werr = parseWeights(buf, t3 + 1, end, b.weights, b.experts, at, numLayers, topK);
      if (werr !== null) throw fail(line, `weights: ${werr}`);
    }
  });

  if (meta === undefined) throw inputErrorAt(file, undefined, `empty file, expected "${CANONICAL_MAGIC}" on line 1 and the JSON header on line 2`);
  if (builder === undefined) throw inputErrorAt(file, undefined, 'missing the header row "seq<TAB>token<TAB>experts<TAB>weights" (line 3)');
  const trace = builder.build({
    numExperts,
    layerIds: meta.layerIds,
    source: { path, format: 'moesim', model: meta.model, provenance: meta.provenance },
  });
  if (trace.source.model === undefined) delete trace.source.model;
  if (trace.source.provenance === undefined) delete trace.source.provenance;
  const absent = absentRoutesWarning(trace, file);
  if (absent !== undefined) trace.warnings.push(absent);
  return trace;
}

function parseMeta(text: string, file: string, line: number): CanonicalMeta {
  if (!text.startsWith('# ')) throw inputErrorAt(file, line, 'expected "# " followed by the JSON header {"numLayers":..,"numExperts":..,"topK":..}');
  let raw: unknown;
  try {
    raw = JSON.parse(text.slice(2));
  } catch (e) {
    throw inputErrorAt(file, line, `header: invalid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw inputErrorAt(file, line, 'header: expected a JSON object');
  const o = raw as Record<string, unknown>;
  const posInt = (k: string, max: number): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw inputErrorAt(file, line, `header: "${k}" must be an integer in 1..${max}, got ${JSON.stringify(v)}`);
    return v;
  };
  const meta: CanonicalMeta = { numLayers: posInt('numLayers', 65535), numExperts: posInt('numExperts', 65535), topK: posInt('topK', 65535) };
  if (meta.topK > meta.numExperts) throw inputErrorAt(file, line, `header: topK ${meta.topK} exceeds numExperts ${meta.numExperts}`);
  for (const k of ['model', 'provenance'] as const) {
    if (o[k] === undefined) continue;
    if (typeof o[k] !== 'string') throw inputErrorAt(file, line, `header: "${k}" must be a string`);
    meta[k] = o[k] as string;
  }
  if (o.layerIds !== undefined) {
    const ids = o.layerIds;
    if (!Array.isArray(ids) || ids.length !== meta.numLayers || !ids.every((x) => Number.isInteger(x) && x >= 0)) {
      throw inputErrorAt(file, line, `header: "layerIds" must be ${meta.numLayers} non-negative integers`);
    }
    meta.layerIds = ids as number[];
  }
  return meta;
}

/** Whether a row (its second tab at t2) has a tab beyond the columns the header declared. */
function tooManyColumns(buf: Buffer, t2: number, end: number, hasWeightsColumn: boolean): boolean {
  let t3 = buf.indexOf(9, t2 + 1);
  if (t3 >= end) t3 = -1;
  if (t3 < 0) return false;
  if (!hasWeightsColumn) return true;
  const t4 = buf.indexOf(9, t3 + 1);
  return t4 >= 0 && t4 < end;
}

function columnsMessage(hasWeightsColumn: boolean): string {
  return `too many columns (expected ${hasWeightsColumn ? 4 : 3}, tab-separated)`;
}

/**
 * The common shape of an experts column, parsed in one pass: numLayers groups separated by "|",
 * each "-" or topK distinct ids below idLimit separated by ",", ended by a tab or by `e`. Returns
 * where it ended (the tab, or e), or -1 on anything else: then parseExperts reads the column again
 * and names the error (the two accept the same texts).
 */
function parseExpertsFast(buf: Buffer, s: number, e: number, ex: Uint16Array, at: number, numLayers: number, topK: number, idLimit: number): number {
  let i = s;
  for (let layer = 0, base = at; layer < numLayers; layer++, base += topK) {
    if (layer > 0) {
      if (i >= e || buf[i] !== 124) return -1;
      i++;
    }
    if (i < e && buf[i] === 45) {
      i++;
      continue;
    }
    for (let k = 0; k < topK; k++) {
      if (k > 0) {
        if (i >= e || buf[i] !== 44) return -1;
        i++;
      }
      if (i >= e) return -1;
      let c = buf[i];
      if (c < 48 || c > 57) return -1;
      let v = c - 48;
      for (i++; i < e; i++) {
        c = buf[i];
        if (c < 48 || c > 57) break;
        v = v * 10 + (c - 48);
        if (v >= idLimit) return -1;
      }
      if (v >= idLimit) return -1;
      for (let a = 0; a < k; a++) if (ex[base + a] === v) return -1;
      ex[base + k] = v;
    }
  }
  if (i < e && buf[i] !== 9) return -1;
  return i;
}

/** Parse "a,b|c,d|-|..." into experts[at ..]; returns an error message or null. */
function parseExperts(buf: Buffer, s: number, e: number, ex: Uint16Array, at: number, numLayers: number, topK: number, idLimit: number, numExperts: number): string | null {
  let layer = 0;
  let k = 0;
  let v = -1;
  let dash = false;
  const base = at;
  for (let i = s; i <= e; i++) {
    const c = i < e ? buf[i] : 124; // a virtual '|' closes the last layer
    if (c >= 48 && c <= 57) {
      if (dash) return `layer ${layer}: "-" must stand alone`;
      v = (v < 0 ? 0 : v * 10) + (c - 48);
      if (v > 1e9) v = 1e9;
    } else if (c === 44) {
      if (v < 0) return `layer ${layer}: empty expert id`;
      if (v >= idLimit) return idError(layer, v, idLimit, numExperts);
      if (k + 1 >= topK) return `layer ${layer}: more than topK=${topK} experts`;
      ex[base + layer * topK + k] = v;
      k++;
      v = -1;
    } else if (c === 124) {
      if (layer >= numLayers) return `more than numLayers=${numLayers} layers`;
      if (dash) {
        if (k !== 0) return `layer ${layer}: "-" must stand alone`;
      } else {
        if (v < 0) return `layer ${layer}: empty (write "-" for a layer that was not recorded)`;
        if (v >= idLimit) return idError(layer, v, idLimit, numExperts);
        ex[base + layer * topK + k] = v;
        if (k + 1 !== topK) return `layer ${layer}: ${k + 1} experts, expected topK=${topK}`;
        for (let a = 0; a < topK; a++) for (let b2 = a + 1; b2 < topK; b2++) {
          if (ex[base + layer * topK + a] === ex[base + layer * topK + b2]) return `layer ${layer}: expert ${ex[base + layer * topK + a]} appears twice`;
        }
      }
      layer++;
      k = 0;
      v = -1;
      dash = false;
    } else if (c === 45) {
      if (v >= 0 || k > 0 || dash) return `layer ${layer}: "-" must stand alone`;
      dash = true;
    } else {
      return `unexpected character "${String.fromCharCode(c)}" (expected expert ids separated by "," and layers by "|")`;
    }
  }
  if (layer !== numLayers) return `${layer} layers, expected numLayers=${numLayers}`;
  return null;
}

function idError(layer: number, v: number, idLimit: number, numExperts: number): string {
  if (v < numExperts) return `layer ${layer}: expert id ${v} is beyond the scenario's model, which has experts 0..${idLimit - 1}`;
  return `layer ${layer}: expert ${v} is not below numExperts=${numExperts}`;
}

/** Parse weights of the same shape as the experts; "-" for a layer = not recorded (NaN). */
function parseWeights(buf: Buffer, s: number, e: number, w: Float32Array, ex: Uint16Array, at: number, numLayers: number, topK: number): string | null {
  if (e - s === 1 && buf[s] === 45) return null; // "-": no weights for this token
  let layer = 0;
  let k = 0;
  let fieldStart = s;
  for (let i = s; i <= e; i++) {
    const c = i < e ? buf[i] : 124;
    if (c !== 44 && c !== 124) continue;
    if (layer >= numLayers) return `more than numLayers=${numLayers} layers`;
    const slot = at + layer * topK + k;
    if (i - fieldStart === 1 && buf[fieldStart] === 45) {
      if (k !== 0 || c !== 124) return `layer ${layer}: "-" must stand alone`;
    } else {
      if (ex[at + layer * topK] === NO_EXPERT) return `layer ${layer}: weights given for a layer whose experts are "-"`;
      const v = parseFloatBytes(buf, fieldStart, i);
      if (Number.isNaN(v)) return `layer ${layer}: expected a number, got "${buf.toString('utf8', fieldStart, i)}"`;
      if (!isStorableWeight(v)) return `layer ${layer}: ${badWeightMessage(`"${buf.toString('utf8', fieldStart, i)}"`)}`;
      if (k >= topK) return `layer ${layer}: more than topK=${topK} weights`;
      w[slot] = v;
      k++;
      if (c === 124 && k !== topK) return `layer ${layer}: ${k} weights, expected topK=${topK}`;
    }
    if (c === 124) {
      layer++;
      k = 0;
    }
    fieldStart = i + 1;
  }
  if (layer !== numLayers) return `${layer} layers, expected numLayers=${numLayers}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Writer

/** Write a Trace in the canonical format. */
export async function writeCanonical(trace: Trace, path: string): Promise<void> {
  await writeCanonicalStream(traceStream(trace), path, { weights: trace.weights !== undefined });
}

export interface CanonicalWriteOptions {
  /** Write the weights column (default: if the first chunk has weights). */
  weights?: boolean;
  /** Tokens requested per chunk (default 16384). */
  chunkTokens?: number;
}

/** Write a chunked trace in the canonical format with flat memory; resolves with the tokens written. */
export async function writeCanonicalStream(stream: TraceStream, path: string, opts: CanonicalWriteOptions = {}): Promise<number> {
  const file = displayName(path);
  // the whole file appears at `path` only when complete: a failure leaves the previous one intact
  const out = await AtomicFile.open(path);
  const h = stream.header;
  const L = h.numLayers;
  const K = h.topK;
  const stride = L * K;
  const chunkTokens = opts.chunkTokens ?? 16384;
  // rows are written as bytes into a 1 MiB buffer, flushed when the next row might not fit
  let buf = Buffer.allocUnsafe(1 << 20);
  let pos = 0;
  const flush = async (): Promise<void> => {
    if (pos === 0) return;
    await out.write(buf, pos);
    pos = 0;
  };
  const text = (s: string): void => {
    pos += buf.write(s, pos, 'utf8');
  };
  let tokens = 0;
  let withWeights = opts.weights;
  let position = 0;
  let headerDone = false;
  try {
    text(`${CANONICAL_MAGIC}\n# ${JSON.stringify(canonicalMetaOf(h))}\n`);
    for (let c = stream.nextChunk(chunkTokens); c !== null; c = stream.nextChunk(chunkTokens)) {
      if (!headerDone) {
        withWeights ??= c.weights !== undefined;
        text(withWeights ? 'seq\ttoken\texperts\tweights\n' : 'seq\ttoken\texperts\n');
        headerDone = true;
      }
      const ex = c.experts;
      const w = c.weights;
      for (const seg of c.segments) {
        if (/[\t\n\r]/.test(seg.sequence)) {
          const from = h.source.path !== undefined ? `${displayName(h.source.path)}: ` : '';
          throw new InputError(`${from}sequence id ${JSON.stringify(seg.sequence)} contains a tab or newline; the canonical format (${file}) cannot hold it; nothing written`);
        }
        if (!seg.continued) position = 0;
        const id = Buffer.from(seg.sequence, 'utf8');
        // worst case per row: id, position, 6 bytes per expert id, weights as text
        const rowMax = id.length + 24 + stride * 6 + L + (withWeights ? stride * 26 + L + 2 : 0);
        if (rowMax > buf.length) {
          await flush();
          buf = Buffer.allocUnsafe(rowMax * 2);
        }
        for (let t = seg.start; t < seg.start + seg.length; t++) {
          if (pos + rowMax > buf.length) await flush();
          const b = buf;
          id.copy(b, pos);
          pos += id.length;
          b[pos++] = 9;
          pos = writeUint(b, pos, position++);
          b[pos++] = 9;
          const base = t * stride;
          for (let l = 0; l < L; l++) {
            if (l > 0) b[pos++] = 124;
            const at = base + l * K;
            if (ex[at] === NO_EXPERT) {
              b[pos++] = 45;
              continue;
            }
            pos = writeUint(b, pos, ex[at]);
            for (let k = 1; k < K; k++) {
              b[pos++] = 44;
              pos = writeUint(b, pos, ex[at + k]);
            }
          }
          if (withWeights) {
            b[pos++] = 9;
            for (let l = 0; l < L; l++) {
              if (l > 0) b[pos++] = 124;
              const at = base + l * K;
              if (w === undefined || ex[at] === NO_EXPERT || Number.isNaN(w[at])) {
                b[pos++] = 45;
                continue;
              }
              for (let k = 0; k < K; k++) {
                if (k > 0) b[pos++] = 44;
                pos += b.write(formatFloat32(w[at + k]), pos, 'latin1');
              }
            }
          }
          b[pos++] = 10;
          tokens++;
        }
      }
    }
    if (!headerDone) text(withWeights ? 'seq\ttoken\texperts\tweights\n' : 'seq\ttoken\texperts\n');
    await flush();
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  }
  return tokens;
}

/** Write the decimal digits of a non-negative integer at buf[pos]; returns the new position. */
function writeUint(buf: Buffer, pos: number, v: number): number {
  if (v < 10) {
    buf[pos] = 48 + v;
    return pos + 1;
  }
  if (v < 100) {
    buf[pos] = 48 + ((v / 10) | 0);
    buf[pos + 1] = 48 + (v % 10);
    return pos + 2;
  }
  let n = 0;
  for (let x = v; x > 0; x = Math.floor(x / 10)) n++;
  for (let i = n - 1, x = v; i >= 0; i--, x = Math.floor(x / 10)) buf[pos + i] = 48 + (x % 10);
  return pos + n;
}

function canonicalMetaOf(h: TraceHeader): CanonicalMeta {
  const m: CanonicalMeta = { numLayers: h.numLayers, numExperts: h.numExperts, topK: h.topK };
  if (h.source.model !== undefined) m.model = h.source.model;
  if (h.source.provenance !== undefined) m.provenance = h.source.provenance;
  if (h.layerIds !== undefined) m.layerIds = h.layerIds;
  return m;
}

