/**
 * MoE-Beyond's expert activation CSV (Gavhane et al., "MoE-Beyond: Learning-Based Expert Activation Prediction
 * on Edge Devices", arXiv 2508.17137; recorder GitHub ngavhane/moe-beyond@4622f6de:
 * expert_activation_scripts/generate_deepseek_logs_eamc.py, files `training_data_eamc/prompt_<n>_data.csv`,
 * DeepSeek-V2-Lite-Chat). One file per prompt, header `Layer ID,Batch Number,Token,Activated Expert IDs`, then
 * one row per (layer, token): the layer index (the model's layer number; DeepSeek-V2-Lite's layer 0 is dense and
 * absent), the batch row, the token's text (CSV-quoted when it holds a comma or quote), and the top-k ids as a
 * quoted Python list (`"[8, 26, 56, 57, 60, 43]"`). Rows come layer by layer, tokens in prompt order; the
 * recorder writes no position, so a token's position is its order within (batch, layer), and every layer must
 * list the same tokens (the token text is checked across layers). No gate weights are written.
 *
 * A file (and batch row) is a sequence: `prompt_1002` (`prompt_1002/b1` for batch row 1). Streamed line by
 * line; a file's rows are held until it ends (one prompt).
 */
import { inputErrorAt } from '../util/errors.js';
import { TraceBuilder } from './builder.js';
import { fileStem } from './compressed.js';
import { displayName, forEachLine } from './lines.js';
import type { Trace } from './types.js';

export const MOE_BEYOND_HEADER = 'Layer ID,Batch Number,Token,Activated Expert IDs';

export interface MoeBeyondImportOptions {
  topK?: number;
  numExperts?: number;
  modelExperts?: number;
  model?: string;
}

/** Split one CSV line into fields (RFC 4180 quoting). */
export function splitCsv(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            v += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += line[i++];
      }
      out.push(v);
      if (i < line.length && line[i] !== ',') return undefined;
      i++;
    } else {
      const j = line.indexOf(',', i);
      const end = j < 0 ? line.length : j;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

interface SeqRows {
  name: string;
  /** layer id -> expert ids of its tokens in order, flat. */
  layers: Map<number, number[]>;
  /** token texts of the first layer seen, and which layer that was. */
  tokens: string[];
  firstLayer: number;
  lines: Map<number, number[]>;
}

export async function importMoeBeyond(paths: string[], opts: MoeBeyondImportOptions = {}): Promise<Trace> {
  let topK = opts.topK ?? -1;
  const maxExperts = opts.numExperts ?? opts.modelExperts ?? 0xffff;
  const beyondModel = opts.numExperts === undefined && opts.modelExperts !== undefined;
  let layerIds: number[] | undefined;
  let builder: TraceBuilder | undefined;
  let firstFile = '';
  for (const path of paths) {
    const file = displayName(path);
    const stem = fileStem(path).replace(/_data$/, '');
    const seqs = new Map<number, SeqRows>();
    await forEachLine(path, (buf, start, end, line) => {
      let text = buf.toString('utf8', start, end);
      if (line === 1) text = text.replace(/^\uFEFF/, '');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (line === 1) {
        if (text.trim() !== MOE_BEYOND_HEADER) throw inputErrorAt(file, 1, `expected the MoE-Beyond header "${MOE_BEYOND_HEADER}", got "${text.slice(0, 60)}"`);
        return;
      }
      if (text.trim() === '') return;
      const f = splitCsv(text);
      if (f === undefined || f.length !== 4) throw inputErrorAt(file, line, `expected 4 fields (Layer ID, Batch Number, Token, Activated Expert IDs), got ${f === undefined ? 'an unterminated quote' : f.length}`);
      f[0] = f[0].trim();
      f[1] = f[1].trim();
      const layer = Number(f[0]);
      if (!/^\d+$/.test(f[0]) || layer > 0xfffe) throw inputErrorAt(file, line, `"Layer ID": expected a layer number, got "${f[0]}"`);
      if (!/^\d+$/.test(f[1])) throw inputErrorAt(file, line, `"Batch Number": expected a non-negative integer, got "${f[1]}"`);
      const batch = Number(f[1]);
      // ids as numbers, or quoted ("['8', '26']": a Python list of strings); each item checked on its own
      // (one pattern with an optional comma between digit runs backtracks exponentially on a bad list)
      const m = /^\s*\[([\d\s,'"]*)\]\s*$/.exec(f[3]);
      const items = m === null ? [] : m[1].split(',').map((x) => x.trim());
      if (items.length > 0 && items[items.length - 1] === '') items.pop();
      if (m === null || items.some((x) => !/^(\d+|'\d+'|"\d+")$/.test(x))) throw inputErrorAt(file, line, `"Activated Expert IDs": expected a list like "[8, 26, 56]", got "${f[3].slice(0, 40)}"`);
      const ids = items.map((x) => Number(x.replace(/^['"](.*)['"]$/, '$1')));
      if (ids.length === 0) throw inputErrorAt(file, line, '"Activated Expert IDs": empty list');
      if (topK < 0) topK = ids.length;
      if (ids.length !== topK) throw inputErrorAt(file, line, `"Activated Expert IDs" has ${ids.length} experts, expected ${topK} (${opts.topK !== undefined ? 'topK option' : 'as the first row'})`);
      for (let k = 0; k < ids.length; k++) {
        const e = ids[k];
        if (e >= maxExperts) {
          if (beyondModel) throw inputErrorAt(file, line, `"Activated Expert IDs"[${k}]: expert id ${e} is beyond the scenario's model, which has experts 0..${maxExperts - 1}`);
          throw inputErrorAt(file, line, `"Activated Expert IDs"[${k}]: expected an expert id in 0..${maxExperts - 1}, got ${e}`);
        }
        if (ids.indexOf(e) !== k) throw inputErrorAt(file, line, `"Activated Expert IDs": expert ${e} appears twice`);
      }
      let s = seqs.get(batch);
      if (s === undefined) seqs.set(batch, (s = { name: batch === 0 ? stem : `${stem}/b${batch}`, layers: new Map(), tokens: [], firstLayer: layer, lines: new Map() }));
      let l = s.layers.get(layer);
      if (l === undefined) {
        s.layers.set(layer, (l = []));
        s.lines.set(layer, []);
      }
      const pos = l.length / topK;
      if (layer === s.firstLayer) s.tokens.push(f[2]);
      else if (pos >= s.tokens.length) throw inputErrorAt(file, line, `layer ${layer} has more tokens than layer ${s.firstLayer} (${s.tokens.length})`);
      else if (s.tokens[pos] !== f[2]) throw inputErrorAt(file, line, `token ${pos} is "${f[2]}" here but "${s.tokens[pos]}" in layer ${s.firstLayer}; rows of a layer must list the prompt's tokens in order`);
      for (const e of ids) l.push(e);
      s.lines.get(layer)!.push(line);
    });
    for (const s of seqs.values()) {
      const ids = [...s.layers.keys()].sort((a, b) => a - b);
      if (layerIds === undefined) {
        layerIds = ids;
        firstFile = file;
      } else if (ids.join(',') !== layerIds.join(',')) {
        throw inputErrorAt(file, undefined, `sequence "${s.name}" has layers ${ids.join(', ')} but ${firstFile} has ${layerIds.join(', ')}`);
      }
      const n = s.tokens.length;
      for (const [l, v] of s.layers) if (v.length / topK !== n) throw inputErrorAt(file, undefined, `sequence "${s.name}": layer ${l} has ${v.length / topK} tokens but layer ${s.firstLayer} has ${n}; tokens cannot be aligned across layers`);
      builder ??= new TraceBuilder({ numLayers: layerIds.length, topK, initialTokens: n * paths.length });
      builder.beginSequence(builder.hasSequence(s.name) ? path : s.name);
      for (let t = 0; t < n; t++) {
        const slot = builder.addToken();
        const ex = builder.experts;
        for (let li = 0; li < layerIds.length; li++) {
          const v = s.layers.get(layerIds[li])!;
          for (let k = 0; k < topK; k++) ex[slot + li * topK + k] = v[t * topK + k];
        }
      }
    }
  }
  if (builder === undefined || layerIds === undefined) throw inputErrorAt(displayName(paths[0]), undefined, `no rows after the header "${MOE_BEYOND_HEADER}"`);
  const identity = layerIds.every((l, i) => l === i);
  const trace = builder.build({ numExperts: opts.numExperts, layerIds: identity ? undefined : layerIds, source: { path: paths.join(','), format: 'moe-beyond' }, warnings: [] });
  if (opts.model !== undefined) trace.source.model = opts.model;
  return trace;
}
