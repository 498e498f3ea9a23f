/**
 * Dense gate-probability CSV: `layer_id,token_id,expert_0,...,expert_{E-1}`, one row per
 * (token, layer) with the router's probability for every expert (e.g. the FLAME-MoE traces).
 * A token's route is the k largest entries, in descending order (ties: lower expert id first);
 * k is given or inferred as the number of non-zero entries of the first row (every row must agree).
 *
 * Usually one file per layer, joined by token_id. A file's layer is, in order of precedence: the
 * `layers` option, the file name (`layer(\d+)` / `Layer_(\d+)`, case-insensitive), or the
 * `layer_id` column (the shipped FLAME files have layer_id 0 in every row). Tokens are ordered by
 * token_id; with `tokensPerSequence` = n, token_id t belongs to sequence floor(t / n), else all tokens
 * form one sequence. Streamed: rows are reduced to their top-k as they are read.
 */
import { basename } from 'node:path';
import { GrowableArray, TraceBuilder } from './builder.js';
import { displayName, excerpt, forEachLine } from './lines.js';
import { isNonFiniteText, layerNumberIn, lowerBound, parseFloatBytes, parseUintBytes } from './numbers.js';
import { badWeightMessage, isStorableWeight } from './checks.js';
import type { Trace } from './types.js';
import { InputError, inputErrorAt } from '../util/errors.js';

export interface GateCsvImportOptions {
  /** Layer number of each file, in the order of the paths (overrides the file name). */
  layers?: number[];
  /** Experts per token per layer; inferred from the non-zero count of the first row when omitted. */
  topK?: number;
  /** Split tokens into sequences of this many token ids (FLAME: 64). */
  tokensPerSequence?: number;
  model?: string;
  provenance?: string;
  /** The scenario model's expert count: a row whose top-k names an expert beyond it is refused at its line. */
  modelExperts?: number;
}

/** The layer number in a file name ("encoder-layer3.csv", "Layer_12/..."), or undefined. */
export function layerFromFileName(path: string): number | undefined {
  const m = /layer_?(\d+)/i.exec(basename(path)) ?? /layer_?(\d+)/i.exec(path);
  return m === null ? undefined : Number(m[1]);
}

/** Import one or more dense gate-probability CSV files (one per layer, joined by token_id). */
export async function importGateCsv(paths: string | string[], opts: GateCsvImportOptions = {}): Promise<Trace> {
  const files = Array.isArray(paths) ? paths : [paths];
  if (files.length === 0) throw new InputError('no CSV files given');
  if (opts.layers !== undefined && opts.layers.length !== files.length) {
    throw new InputError(`${opts.layers.length} layer numbers given for ${files.length} CSV files`);
  }
  let numExperts = -1;
  let topK = opts.topK ?? -1;
  let firstRowWhere = '';
  const rowLayer = new GrowableArray((n) => new Uint32Array(n));
  const rowToken = new GrowableArray((n) => new Float64Array(n));
  const rowLine = new GrowableArray((n) => new Uint32Array(n));
  const rowFile = new GrowableArray((n) => new Uint16Array(n));
  let rowExperts: GrowableArray<Uint16Array> | undefined;
  let rowWeights: GrowableArray<Float32Array> | undefined;

  for (let fi = 0; fi < files.length; fi++) {
    const path = files[fi];
    const file = displayName(path);
    const fileLayer = opts.layers?.[fi] ?? layerFromFileName(path);
    // column roles: -1 ignored, -2 layer_id, -3 token_id, e >= 0 expert e
    let roles: Int32Array | undefined;
    let fileExperts = 0;
    let topVal = new Float64Array(0);
    let topIdx = new Int32Array(0);
    await forEachLine(path, (buf, start, end, line) => {
      // blank (or whitespace-only) lines
      let b = start;
      while (b < end && (buf[b] === 32 || buf[b] === 9)) b++;
      if (b === end) return;
      if (roles === undefined) {
        const cols = buf.toString('utf8', start, end).replace(/^\uFEFF/, '').split(',').map((c) => c.trim());
        roles = new Int32Array(cols.length).fill(-1);
        const seen = new Set<number>();
        let hasToken = false;
        for (let c = 0; c < cols.length; c++) {
          const m = /^expert_?(\d+)$/i.exec(cols[c]);
          if (m !== null) {
            const e = Number(m[1]);
            if (seen.has(e)) throw inputErrorAt(file, line, `column "${cols[c]}" appears twice`);
            seen.add(e);
            roles[c] = e;
          } else if (cols[c] === 'layer_id' || cols[c] === 'layer') roles[c] = -2;
          else if (cols[c] === 'token_id' || cols[c] === 'token') {
            roles[c] = -3;
            hasToken = true;
          }
        }
        if (!hasToken) throw inputErrorAt(file, line, `expected a header "layer_id,token_id,expert_0,...", got "${excerpt(buf, start, end)}"`);
        fileExperts = seen.size;
        if (fileExperts === 0) throw inputErrorAt(file, line, 'no expert_N columns in the header');
        for (let e = 0; e < fileExperts; e++) if (!seen.has(e)) throw inputErrorAt(file, line, `expert columns must be expert_0..expert_${fileExperts - 1}; expert_${e} is missing`);
        if (fileLayer === undefined && !roles.includes(-2)) throw inputErrorAt(file, line, 'no layer: give the layer (option layer/layers), name the file "...layerN...", or add a layer_id column');
        if (topK > fileExperts) throw inputErrorAt(file, line, `topK ${topK} exceeds the ${fileExperts} expert columns`);
        if (numExperts < 0) numExperts = fileExperts;
        else if (numExperts !== fileExperts) throw inputErrorAt(file, line, `${fileExperts} expert columns, but ${displayName(files[0])} has ${numExperts}`);
        return;
      }
      const r = roles;
      // parse the row: find the top-k (or all non-zeros when k is still unknown)
      let col = 0;
      let fieldStart = start;
      let layer = fileLayer ?? -1;
      let token = -1;
      let nonZero = 0;
      let filled = 0;
      const k = topK;
      if (k > 0 && topVal.length !== k) {
        topVal = new Float64Array(k);
        topIdx = new Int32Array(k);
      }
      let firstNonZero: number[] | undefined = k < 0 ? [] : undefined;
      for (let i = start; i <= end; i++) {
        if (i < end && buf[i] !== 44) continue;
        if (col >= r.length) throw inputErrorAt(file, line, `more than ${r.length} columns (the header has ${r.length})`);
        const role = r[col];
        let fs = fieldStart;
        let fe = i;
        while (fs < fe && buf[fs] === 32) fs++;
        while (fe > fs && buf[fe - 1] === 32) fe--;
        if (role >= 0) {
          const v = parseFloatBytes(buf, fs, fe);
          if (Number.isNaN(v)) {
            const text = buf.toString('utf8', fs, fe);
            throw inputErrorAt(file, line, `column ${col + 1} (expert_${role}): ${isNonFiniteText(text) ? badWeightMessage(`"${text}"`) : `expected a number, got "${text}"`}`);
          }
          if (!isStorableWeight(v)) throw inputErrorAt(file, line, `column ${col + 1} (expert_${role}): ${badWeightMessage(`"${buf.toString('utf8', fs, fe)}"`)}`);
          if (v !== 0) {
            nonZero++;
            if (firstNonZero !== undefined) firstNonZero.push(role, v);
          }
          if (k > 0) {
            // insertion into the descending top-k (ties keep the lower expert id first)
            if (filled < k || v > topVal[k - 1] || (v === topVal[k - 1] && role < topIdx[k - 1])) {
              let p = filled < k ? filled++ : k - 1;
              while (p > 0 && (topVal[p - 1] < v || (topVal[p - 1] === v && topIdx[p - 1] > role))) {
                topVal[p] = topVal[p - 1];
                topIdx[p] = topIdx[p - 1];
                p--;
              }
              topVal[p] = v;
              topIdx[p] = role;
            }
          }
        } else if (role === -2) {
          let v = parseUintBytes(buf, fs, fe);
          // a module name holding the layer ("model.layers.3.mlp.gate"), quoted or not
          if (v < 0) v = layerNumberIn(buf.toString('utf8', fs, fe).replace(/^"(.*)"$/, '$1')) ?? -1;
          if (v < 0) throw inputErrorAt(file, line, `layer_id: expected a non-negative integer (or a layer name such as "model.layers.3.mlp.gate"), got "${buf.toString('utf8', fs, fe)}"`);
          if (fileLayer === undefined) layer = v;
        } else if (role === -3) {
          token = parseUintBytes(buf, fs, fe);
          if (token < 0) throw inputErrorAt(file, line, `token_id: expected a non-negative integer, got "${buf.toString('utf8', fs, fe)}"`);
        }
        col++;
        fieldStart = i + 1;
      }
      if (col !== r.length) throw inputErrorAt(file, line, `${col} columns, expected ${r.length} as in the header`);
      if (firstNonZero !== undefined) {
        // first data row: k = its non-zero count
        if (nonZero === 0) throw inputErrorAt(file, line, 'all gate values are 0; cannot infer top-k (give topK)');
        topK = nonZero;
        firstRowWhere = `${file}:${line}`;
        const pairs: [number, number][] = [];
        for (let p = 0; p < firstNonZero.length; p += 2) pairs.push([firstNonZero[p], firstNonZero[p + 1]]);
        pairs.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
        topVal = new Float64Array(topK);
        topIdx = new Int32Array(topK);
        pairs.forEach(([e, v], j) => {
          topIdx[j] = e;
          topVal[j] = v;
        });
        filled = topK;
        firstNonZero = undefined;
      } else if (opts.topK === undefined && nonZero !== topK) {
        throw inputErrorAt(file, line, `${nonZero} non-zero gate values, but ${firstRowWhere} has ${topK}; give topK to take the k largest`);
      }
      if (filled < topK) throw inputErrorAt(file, line, `fewer than topK=${topK} expert columns`);
      if (opts.modelExperts !== undefined) {
        for (let j = 0; j < topK; j++) {
          if (topIdx[j] >= opts.modelExperts) throw inputErrorAt(file, line, `expert_${topIdx[j]} is among this row's top-${topK}, beyond the scenario's model, which has experts 0..${opts.modelExperts - 1}`);
        }
      }
      rowExperts ??= new GrowableArray((n) => new Uint16Array(n), 4096 * topK);
      rowWeights ??= new GrowableArray((n) => new Float32Array(n), 4096 * topK);
      const ex = rowExperts.reserve(topK);
      const w = rowWeights.reserve(topK);
      const at = rowExperts.length;
      for (let j = 0; j < topK; j++) {
        ex[at + j] = topIdx[j];
        w[at + j] = topVal[j];
      }
      rowExperts.length += topK;
      rowWeights.length += topK;
      rowLayer.push(layer);
      rowToken.push(token);
      rowLine.push(line);
      rowFile.push(fi);
    });
    if (roles === undefined) throw inputErrorAt(file, undefined, 'empty file, expected a header "layer_id,token_id,expert_0,..."');
  }
  const rows = rowLayer.length;
  if (rows === 0 || rowExperts === undefined || rowWeights === undefined) throw new InputError(`${files.map(displayName).join(', ')}: no data rows`);

  // layers: distinct layer numbers, ascending -> ordinal
  const layerNums = [...new Set(rowLayer.trimmed())].sort((a, b) => a - b);
  const layerOrdinal = new Map(layerNums.map((l, i) => [l, i]));
  const numLayers = layerNums.length;
  // tokens: distinct token ids, ascending
  const toks = rowToken.trimmed();
  const sorted = toks.slice().sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[n++] = sorted[i];
  const tokenIds = sorted.subarray(0, n);
  const table = new Int32Array(n * numLayers).fill(-1);
  const lay = rowLayer.array;
  for (let r = 0; r < rows; r++) {
    const t = lowerBound(tokenIds, toks[r]);
    const cell = t * numLayers + (layerOrdinal.get(lay[r]) as number);
    if (table[cell] >= 0) {
      const o = table[cell];
      throw inputErrorAt(displayName(files[rowFile.array[r]]), rowLine.array[r], `token_id ${toks[r]} layer ${lay[r]} appears twice (also ${displayName(files[rowFile.array[o]])}:${rowLine.array[o]})`);
    }
    table[cell] = r;
  }
  const builder = new TraceBuilder({ numLayers, topK, weights: true, initialTokens: n });
  const tps = opts.tokensPerSequence;
  let currentSeq = -1;
  let missing = 0;
  const exAll = rowExperts.array;
  const wAll = rowWeights.array;
  for (let t = 0; t < n; t++) {
    const seq = tps === undefined ? 0 : Math.floor(tokenIds[t] / tps);
    if (seq !== currentSeq) {
      builder.beginSequence(String(seq));
      currentSeq = seq;
    }
    const slot = builder.addToken();
    const ex = builder.experts;
    const w = builder.weights;
    for (let l = 0; l < numLayers; l++) {
      const r = table[t * numLayers + l];
      if (r < 0) {
        missing++;
        continue;
      }
      for (let j = 0; j < topK; j++) {
        ex[slot + l * topK + j] = exAll[r * topK + j];
        w[slot + l * topK + j] = wAll[r * topK + j];
      }
    }
  }
  const warnings: string[] = [];
  if (missing > 0) warnings.push(`${files.map(displayName).join(', ')}: ${missing} (token, layer) routes missing (a token_id absent from some layer's file); left absent`);
  const trace = builder.build({ numExperts, layerIds: layerNums, source: { path: files.length === 1 ? files[0] : files.join(','), format: 'csv' }, warnings });
  if (opts.model !== undefined) trace.source.model = opts.model;
  if (opts.provenance !== undefined) trace.source.provenance = opts.provenance;
  return trace;
}

