/**
 * JSON Lines routing logs: one row per (sequence, token, layer), in any order, e.g.
 * `{"dataset":"humaneval","problem_id":0,"layer":0,"experts":[6,5],"gating_probs":[0.69,0.30],"token_idx":0}`.
 *
 * Field names are configurable; by default they are detected on the first data row:
 * layer `layer`; token `token_idx` | `token_pos`; experts `experts` | `topk_ids`; weights
 * `gating_probs` | `topk_weights` (optional); sequence `problem_id` | `req_id` | `seq_id`, prefixed by
 * `dataset` when the row has one ("humaneval/0"); without a sequence field, one sequence "0".
 * Rows with `"type":"meta"` are skipped. Rows are buffered compactly in typed arrays, then emitted
 * per sequence (order of first appearance), tokens ascending. A (token, layer) without a row is left
 * absent (NO_EXPERT) and counted in one warning line.
 */
import { intOf, isNonFiniteText, layerNumberIn, lowerBound, quoteNonFinite } from './numbers.js';
import { GrowableArray, TraceBuilder } from './builder.js';
import { displayName, forEachLine } from './lines.js';
import type { Trace } from './types.js';
import { inputErrorAt } from '../util/errors.js';
import { badWeightMessage, isStorableWeight } from './checks.js';

export interface JsonlFieldMap {
  layer?: string;
  token?: string;
  experts?: string;
  /** Gate weights field; `false` to ignore weights even if present. */
  weights?: string | false;
  /** Field(s) whose values, joined by "/", identify a sequence. */
  sequence?: string | string[];
}

export interface JsonlImportOptions {
  fields?: JsonlFieldMap;
  /** Known shape: validates the rows (otherwise inferred as max + 1 / the first row's length). */
  numLayers?: number;
  numExperts?: number;
  /** The scenario model's expert count: an id beyond it is refused at its line, without fixing the trace's numExperts. */
  modelExperts?: number;
  topK?: number;
  /** Original layer numbers of the MoE layers (length numLayers). */
  layerIds?: number[];
  /**
   * Several files: the layer each file holds, in path order (for rows without a layer field);
   * default: the row's layer field, else the last number in the file name (moe_layer8.jsonl -> 8).
   */
  fileLayers?: number[];
  /**
   * Split a sequence where its token index restarts (a token index of the current pass of this
   * (sequence, layer) comes again): each pass becomes a sequence "id#2", "id#3", ... Rows may
   * still come in any order within a pass. Default true; false refuses such rows as duplicates.
   */
  splitRestarts?: boolean;
  /**
   * `order`: ignore the token field and number the rows of each (sequence, layer) by their order
   * in the files (for logs whose positions are missing or constant); every layer must then have
   * the same number of tokens per sequence. Default `field`.
   */
  positions?: 'field' | 'order';
  model?: string;
  provenance?: string;
}

/** The last integer in a file name ("moe_layer8.jsonl" -> 8), or undefined. */
export function layerFromFileName(path: string): number | undefined {
  const base = displayName(path).replace(/\.[^.]*$/, '');
  const m = /(\d+)(?!.*\d)/.exec(base);
  return m === null ? undefined : Number(m[1]);
}

const DEFAULTS = {
  layer: ['layer', 'layer_idx', 'layer_id'],
  token: ['token_idx', 'token_pos', 'token_id', 'token'],
  experts: ['experts', 'topk_ids', 'expert_ids'],
  weights: ['gating_probs', 'topk_weights', 'weights'],
  sequence: ['problem_id', 'req_id', 'seq_id', 'request_id', 'sequence_id'],
};

interface ResolvedFields {
  layer: string;
  token: string;
  experts: string;
  weights: string | undefined;
  sequence: string[];
}

function resolveFields(row: Record<string, unknown>, given: JsonlFieldMap | undefined, file: string, line: number, optional: { layer: boolean; token: boolean }): ResolvedFields {
  const pick = (kind: 'layer' | 'token' | 'experts', explicit: string | undefined): string => {
    if (explicit !== undefined) return explicit;
    const found = DEFAULTS[kind].find((k) => k in row);
    if (found === undefined && kind !== 'experts' && optional[kind]) return '';
    if (found === undefined) {
      throw inputErrorAt(file, line, `no ${kind} field: expected one of ${DEFAULTS[kind].map((k) => `"${k}"`).join(', ')} (or set fields.${kind}); the row has ${Object.keys(row).map((k) => `"${k}"`).join(', ')}`);
    }
    return found;
  };
  let weights: string | undefined;
  if (given?.weights === false) weights = undefined;
  else if (typeof given?.weights === 'string') weights = given.weights;
  else weights = DEFAULTS.weights.find((k) => k in row);
  let sequence: string[];
  if (given?.sequence !== undefined) sequence = Array.isArray(given.sequence) ? given.sequence : [given.sequence];
  else {
    const key = DEFAULTS.sequence.find((k) => k in row);
    sequence = key === undefined ? [] : 'dataset' in row ? ['dataset', key] : [key];
  }
  return { layer: pick('layer', given?.layer), token: pick('token', given?.token), experts: pick('experts', given?.experts), weights, sequence };
}

/**
 * Import a JSONL routing log (streamed), or several files as one trace (e.g. one file per layer).
 * Layers are kept by their original ids: the trace's layers are the distinct layer ids seen, in
 * ascending order, and `layerIds` lists them (unless numLayers is given: then ids are 0..numLayers-1).
 */
export async function importJsonl(pathOrPaths: string | string[], opts: JsonlImportOptions = {}): Promise<Trace> {
  const paths = Array.isArray(pathOrPaths) ? pathOrPaths : [pathOrPaths];
  const path = paths.join(',');
  let file = displayName(paths[0]);
  const byOrder = opts.positions === 'order';
  const splitRestarts = opts.splitRestarts ?? true;
  if (opts.fileLayers !== undefined && opts.fileLayers.length !== paths.length) {
    throw inputErrorAt(file, undefined, `${opts.fileLayers.length} layer numbers for ${paths.length} files; give one per file, in path order`);
  }
  const nameLayers = paths.map((p, i) => opts.fileLayers?.[i] ?? (paths.length > 1 ? layerFromFileName(p) : undefined));
  let fileLayer: number | undefined;
  /** (sequence key, layer) -> [last token, pass, rows, tokens of the current pass]. */
  const passOf = new Map<string, [number, number, number, Set<number>]>();
  let restarts = 0;
  /** The first sequence a restart made (named in the warning). */
  let firstSplit: string | undefined;
  const baseSeqs = new Set<string>();
  let fields: ResolvedFields | undefined;
  let topK = opts.topK ?? -1;
  const maxExperts = opts.numExperts ?? opts.modelExperts ?? 0xffff;
  const expertsFrom = opts.numExperts === undefined && opts.modelExperts !== undefined ? 'model' : '';
  const maxLayers = opts.numLayers ?? 0xffff;

  const seqIndex = new Map<string, number>();
  const seqNames: string[] = [];
  const rowSeq = new GrowableArray((n) => new Uint32Array(n));
  const rowTok = new GrowableArray((n) => new Float64Array(n));
  const rowLayer = new GrowableArray((n) => new Uint16Array(n));
  const rowLine = new GrowableArray((n) => new Uint32Array(n));
  let rowExperts: GrowableArray<Uint16Array> | undefined;
  let rowWeights: GrowableArray<Float32Array> | undefined;
  let maxLayer = -1;
  let maxExpert = -1;
  let firstLine = 0;
  // duplicate expert ids within a row, in O(k): seen[e] === row stamp
  const seen = new Uint32Array(0x10000);
  let stamp = 0;

  for (let fi = 0; fi < paths.length; fi++) {
  file = displayName(paths[fi]);
  fileLayer = nameLayers[fi];
  await forEachLine(paths[fi], (buf, start, end, line) => {
    // skip blank lines
    let s = start;
    // a UTF-8 byte-order mark before the first row (as CSV and .moesim accept)
    if (line === 1 && end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start = s = start + 3;
    while (s < end && (buf[s] === 32 || buf[s] === 9)) s++;
    if (s === end) return;
    const text = buf.toString('utf8', start, end);
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (e) {
      // NaN / Infinity (Python's json.dumps writes them): quoted, so the field holding one is named below
      const quoted = quoteNonFinite(text);
      try {
        if (quoted === undefined) throw e;
        row = JSON.parse(quoted);
      } catch {
        const cut = !text.trimEnd().endsWith('}') && text.trimStart().startsWith('{');
        throw inputErrorAt(file, line, `invalid JSON (${(e as Error).message})${cut ? '; truncated line?' : ''}`);
      }
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw inputErrorAt(file, line, 'expected a JSON object per line');
    const r = row as Record<string, unknown>;
    if (r.type === 'meta') return;
    if (fields === undefined) {
      fields = resolveFields(r, opts.fields, file, line, { layer: fileLayer !== undefined, token: byOrder });
      firstLine = line;
    }
    const f = fields;
    if (f.weights === undefined && opts.fields?.weights !== false) {
      // weights resolved from the first row; a later row that has them must not lose them silently
      const wk = DEFAULTS.weights.find((k) => k in r);
      if (wk !== undefined) throw inputErrorAt(file, line, `has gate weights "${wk}" but the first row (line ${firstLine}) has none; give them on every row, or set fields.weights: false to ignore them`);
    }

    const layerField = f.layer === '' || (opts.fileLayers !== undefined && opts.fields?.layer === undefined) ? fileLayer : r[f.layer];
    if (layerField === undefined) throw inputErrorAt(file, line, `missing field "${f.layer}" (the layer)`);
    // a number, a decimal string ("3") or a module name holding it ("model.layers.3.mlp.gate")
    const layer = typeof layerField === 'string' ? layerNumberIn(layerField) : layerField;
    if (typeof layer !== 'number' || !Number.isInteger(layer) || layer < 0 || layer >= maxLayers) {
      throw inputErrorAt(file, line, `"${f.layer}": expected an integer in 0..${maxLayers - 1}${typeof layerField === 'string' ? ' (or a layer name such as "model.layers.3.mlp.gate")' : ''}, got ${typeof layerField === 'number' ? String(layerField) : JSON.stringify(layerField)}`);
    }
    const tokenField = byOrder ? 0 : r[f.token];
    if (tokenField === undefined) throw inputErrorAt(file, line, `missing field "${f.token}" (the token position)`);
    let token = typeof tokenField === 'string' ? intOf(tokenField) : tokenField;
    if (typeof token !== 'number' || !Number.isInteger(token) || token < 0) {
      throw inputErrorAt(file, line, `"${f.token}": expected a non-negative integer, got ${typeof tokenField === 'number' ? String(tokenField) : JSON.stringify(tokenField)}`);
    }
    const ex = r[f.experts];
    if (ex === undefined) throw inputErrorAt(file, line, `missing field "${f.experts}" (the expert ids)`);
    if (!Array.isArray(ex) || ex.length === 0) throw inputErrorAt(file, line, `"${f.experts}": expected a non-empty array of expert ids, got ${JSON.stringify(ex)}`);
    if (topK < 0) {
      if (ex.length > 0xffff) throw inputErrorAt(file, line, `"${f.experts}" has ${ex.length} experts, more than the limit of 65535`);
      topK = ex.length;
    }
    if (ex.length !== topK) {
      throw inputErrorAt(file, line, `"${f.experts}" has ${ex.length} experts, expected ${topK} (${opts.topK !== undefined ? 'topK option' : 'as on the first row'}); topK must be the same on every row`);
    }
    let seqKey = '0';
    if (f.sequence.length > 0) {
      const parts: string[] = [];
      for (const k of f.sequence) {
        const v = r[k];
        if (v === undefined) throw inputErrorAt(file, line, `missing field "${k}" (part of the sequence id)`);
        if (typeof v !== 'string' && typeof v !== 'number') throw inputErrorAt(file, line, `"${k}": expected a string or number, got ${JSON.stringify(v)}`);
        parts.push(String(v));
      }
      seqKey = parts.join('/');
    }
    baseSeqs.add(seqKey);
    const pk = `${seqKey}\u0000${layer}`;
    let st = passOf.get(pk);
    if (st === undefined) passOf.set(pk, (st = [-1, 0, 0, new Set()]));
    if (byOrder) token = st[2];
    else if (splitRestarts) {
      // A new pass starts where a token index of the current pass comes again.
      if (st[3].has(token as number)) {
        st[1]++;
        restarts++;
        firstSplit ??= `${seqKey}#${st[1] + 1}`;
        st[3].clear();
      }
      st[3].add(token as number);
    }
    st[0] = token as number;
    st[2]++;
    const name = st[1] === 0 ? seqKey : `${seqKey}#${st[1] + 1}`;
    let si = seqIndex.get(name);
    if (si === undefined) {
      si = seqNames.length;
      seqIndex.set(name, si);
      seqNames.push(name);
    }
    rowExperts ??= new GrowableArray((n) => new Uint16Array(n), 1024 * topK);
    const exArr = rowExperts.reserve(topK);
    const at = rowExperts.length;
    stamp++;
    for (let k = 0; k < topK; k++) {
      const given = ex[k];
      // an id as a decimal string ("3"), as some loggers write them
      const e = typeof given === 'string' ? (intOf(given) ?? given) : given;
      if (typeof e !== 'number' || !Number.isInteger(e) || e < 0 || e >= maxExperts) {
        if (expertsFrom !== '' && typeof e === 'number' && Number.isInteger(e) && e >= maxExperts) {
          throw inputErrorAt(file, line, `"${f.experts}"[${k}]: expert id ${e} is beyond the scenario's model, which has experts 0..${maxExperts - 1}`);
        }
        throw inputErrorAt(file, line, `"${f.experts}"[${k}]: expected an expert id in 0..${maxExperts - 1}, got ${typeof e === 'number' ? String(e) : JSON.stringify(e)}`);
      }
      if (seen[e] === stamp) throw inputErrorAt(file, line, `"${f.experts}": expert ${e} appears twice`);
      seen[e] = stamp;
      exArr[at + k] = e;
      if (e > maxExpert) maxExpert = e;
    }
    rowExperts.length += topK;
    if (f.weights !== undefined) {
      const w = r[f.weights];
      if (w === undefined) throw inputErrorAt(file, line, `missing field "${f.weights}" (the gate weights; set fields.weights: false to ignore them)`);
      if (!Array.isArray(w) || w.length !== topK) throw inputErrorAt(file, line, `"${f.weights}": expected an array of ${topK} numbers (one per expert), got ${JSON.stringify(w)}`);
      rowWeights ??= new GrowableArray((n) => new Float32Array(n), 1024 * topK);
      const wArr = rowWeights.reserve(topK);
      const wat = rowWeights.length;
      for (let k = 0; k < topK; k++) {
        const given = w[k];
        if (isNonFiniteText(given)) throw inputErrorAt(file, line, `"${f.weights}"[${k}]: ${badWeightMessage(given.trim())}`);
        const v = typeof given === 'string' && given.trim() !== '' && Number.isFinite(Number(given)) ? Number(given) : given;
        if (typeof v !== 'number') throw inputErrorAt(file, line, `"${f.weights}"[${k}]: expected a number, got ${JSON.stringify(v)}`);
        if (!isStorableWeight(v)) throw inputErrorAt(file, line, `"${f.weights}"[${k}]: ${badWeightMessage(String(v))}`);
        wArr[wat + k] = v;
      }
      rowWeights.length += topK;
    }
    rowSeq.push(si);
    rowTok.push(token as number);
    rowLayer.push(layer);
    rowLine.push(line);
    if (layer > maxLayer) maxLayer = layer;
  });
  }
  file = paths.length === 1 ? displayName(paths[0]) : `${displayName(paths[0])} (+${paths.length - 1} files)`;

  const rows = rowSeq.length;
  if (rows === 0 || fields === undefined) throw inputErrorAt(file, undefined, 'no routing rows (expected one JSON object per line with layer, token and experts fields)');
  // Layers by their original ids: the distinct ids seen, ascending (unless numLayers is given).
  let layerIds = opts.layerIds;
  let numLayers: number;
  if (opts.numLayers !== undefined) numLayers = opts.numLayers;
  else {
    const seen = new Uint8Array(maxLayer + 1);
    const la = rowLayer.array;
    for (let i = 0; i < rows; i++) seen[la[i]] = 1;
    const ids: number[] = [];
    const remap = new Uint16Array(maxLayer + 1);
    for (let l = 0; l <= maxLayer; l++) if (seen[l] === 1) remap[l] = ids.push(l) - 1;
    numLayers = ids.length;
    if (ids.length !== maxLayer + 1) for (let i = 0; i < rows; i++) la[i] = remap[la[i]];
    // identity ids (0..n-1) carry no information: left out as for every format
    if (ids.length !== maxLayer + 1) layerIds ??= ids;
  }
  if (byOrder) {
    // Every layer must have the same number of rows per sequence, else tokens would misalign.
    const counts = new Map<string, Map<number, number>>();
    for (const [k, v] of passOf) {
      const [seq, l] = k.split('\u0000');
      let m = counts.get(seq);
      if (m === undefined) counts.set(seq, (m = new Map()));
      m.set(Number(l), v[2]);
    }
    for (const [seq, m] of counts) {
      const vals = [...m.values()];
      if (m.size !== numLayers || vals.some((v) => v !== vals[0])) {
        const per = [...m.entries()].sort((a, b) => a[0] - b[0]).map(([l, c]) => `layer ${l}: ${c}`).join(', ');
        throw inputErrorAt(file, undefined, `positions: order numbers rows by their order, but sequence "${seq}" has a different number of rows per layer (${per}${m.size !== numLayers ? `; ${numLayers - m.size} layers have none` : ''}); tokens cannot be aligned across layers`);
      }
    }
  }
  if (opts.layerIds !== undefined && opts.layerIds.length !== numLayers) {
    throw inputErrorAt(file, undefined, `layerIds has ${opts.layerIds.length} entries but the trace has ${numLayers} layers`);
  }
  const numExperts = opts.numExperts ?? maxExpert + 1;
  const seqs = seqNames.length;

  // Counting sort of rows by sequence (stable), then per sequence: distinct tokens (sorted) and a
  // dense [token rank][layer] table of row indices.
  const seqCount = new Uint32Array(seqs + 1);
  const rs = rowSeq.array;
  for (let i = 0; i < rows; i++) seqCount[rs[i] + 1]++;
  for (let s = 0; s < seqs; s++) seqCount[s + 1] += seqCount[s];
  const order = new Uint32Array(rows);
  const fill = seqCount.slice(0, seqs);
  for (let i = 0; i < rows; i++) order[fill[rs[i]]++] = i;

  const tok = rowTok.array;
  const lay = rowLayer.array;
  const exAll = (rowExperts as GrowableArray<Uint16Array>).array;
  const wAll = rowWeights?.array;
  const builder = new TraceBuilder({ numLayers, topK, weights: wAll !== undefined, initialTokens: Math.ceil(rows / numLayers) + 1 });
  let missing = 0;
  let seqsWithMissing = 0;
  let gapTokens = 0;
  let seqsWithGaps = 0;
  for (let s = 0; s < seqs; s++) {
    const lo = seqCount[s];
    const hi = seqCount[s + 1];
    const toks = new Float64Array(hi - lo);
    for (let i = lo; i < hi; i++) toks[i - lo] = tok[order[i]];
    toks.sort();
    let n = 0;
    for (let i = 0; i < toks.length; i++) if (i === 0 || toks[i] !== toks[i - 1]) toks[n++] = toks[i];
    const distinct = toks.subarray(0, n);
    const table = new Int32Array(n * numLayers).fill(-1);
    for (let i = lo; i < hi; i++) {
      const r = order[i];
      const rank = lowerBound(distinct, tok[r]);
      const cell = rank * numLayers + lay[r];
      if (table[cell] >= 0) {
        const other = table[cell];
        throw inputErrorAt(file, Math.max(rowLine.array[r], rowLine.array[other]), `duplicate row for sequence "${seqNames[s]}" token ${tok[r]} layer ${lay[r]} (also at line ${Math.min(rowLine.array[r], rowLine.array[other])})`);
      }
      table[cell] = r;
    }
    builder.beginSequence(seqNames[s]);
    let seqMissing = 0;
    for (let t = 0; t < n; t++) {
      const slot = builder.addToken();
      const ex = builder.experts;
      const w = wAll !== undefined ? builder.weights : undefined;
      for (let l = 0; l < numLayers; l++) {
        const r = table[t * numLayers + l];
        if (r < 0) {
          seqMissing++;
          continue;
        }
        const dst = slot + l * topK;
        const src = r * topK;
        for (let k = 0; k < topK; k++) ex[dst + k] = exAll[src + k];
        if (w !== undefined && wAll !== undefined) for (let k = 0; k < topK; k++) w[dst + k] = wAll[src + k];
      }
    }
    if (seqMissing > 0) {
      missing += seqMissing;
      seqsWithMissing++;
    }
    const span = n > 0 ? distinct[n - 1] - distinct[0] + 1 : 0;
    if (span > n) {
      gapTokens += span - n;
      seqsWithGaps++;
    }
  }
  const warnings: string[] = [];
  if (restarts > 0) {
    warnings.push(`${file}: the token index restarts ${restarts} times (over all layers); ${baseSeqs.size} recorded sequence id${baseSeqs.size === 1 ? '' : 's'} split into ${seqs} sequences (${JSON.stringify(firstSplit)}, ...); set splitRestarts: false to refuse restarts as duplicate rows`);
  }
  if (missing > 0) warnings.push(`${file}: ${missing} (token, layer) routes missing in ${seqsWithMissing} sequence${seqsWithMissing === 1 ? '' : 's'}; left absent`);
  if (gapTokens > 0) warnings.push(`${file}: ${gapTokens} token positions without any row in ${seqsWithGaps} sequence${seqsWithGaps === 1 ? '' : 's'}; skipped`);
  const trace = builder.build({
    numExperts,
    layerIds,
    source: { path, format: 'jsonl' },
    warnings,
  });
  if (opts.model !== undefined) trace.source.model = opts.model;
  if (opts.provenance !== undefined) trace.source.provenance = opts.provenance;
  return trace;
}

