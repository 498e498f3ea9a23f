/**
 * Per-query expert selection JSON of "Patterns behind Chaos" / "Orders in Chaos" (Yu et al., arXiv 2510.05497),
 * released as the Hugging Face dataset core12345/MoE_expert_selection_trace (DeepSeek-R1-AWQ,
 * Llama-4-Maverick-17B-128E-Instruct, Qwen3-235B-A22B-FP8; `profiling_result/<org>/<model>/<benchmark>/<subject>/<n>.json`,
 * one file per query). Layout, as in the dataset's files (e.g. the copy of the Llama-4-Maverick MMLU
 * files in GitHub andronius-yang/cse223b-proj@7f4e46fd:traffic-gen/llama4-mmlu-abstract_algebra/0.json, read by
 * that repository's traffic-gen/generate.py):
 *
 * ```json
 * [ {"0": null, "1": [[106], [89], ...], "2": null, ...},   // step 0: the prefill, one entry per prompt token
 *   {"0": null, "1": [[17]], ...},                          // step 1..: one decode step, one token
 *   ... ]
 * ```
 * A JSON array of forward steps; each step maps the model's layer number (a string key) to the list of
 * that step's tokens, each token the list of its top-k expert ids; `null` marks a layer without routed
 * experts (dense layers, e.g. Maverick's every other layer). The trace's layers are the non-null layer ids
 * (kept as `layerIds`); a query is a sequence (named `<folder>/<file>` without `.json`), its tokens the steps'
 * tokens in order (prefill, then decode). No gate weights are recorded.
 *
 * Streamed file by file (each file is one query, a few hundred KB): memory is the trace plus one query.
 */
import { basename, dirname } from 'node:path';
import { inputErrorAt } from '../util/errors.js';
import { TraceBuilder } from './builder.js';
import { fileStem } from './compressed.js';
import { displayName, readJsonDocument } from './lines.js';
import type { Trace } from './types.js';

export interface ExpertJsonImportOptions {
  topK?: number;
  numExperts?: number;
  modelExperts?: number;
  model?: string;
}

/** Does this text start like an arXiv 2510.05497 query file (`[ {"0": ...`)? */
export function looksLikeExpertJson(head: string): boolean {
  return /^\s*\[\s*\{\s*"\d+"\s*:/.test(head);
}

/** Import per-query expert selection JSON files (one sequence per file) as one trace. */
export async function importExpertJson(paths: string[], opts: ExpertJsonImportOptions = {}): Promise<Trace> {
  let layerIds: number[] | undefined;
  let layerIndex = new Map<string, number>();
  let topK = opts.topK ?? -1;
  const maxExperts = opts.numExperts ?? opts.modelExperts ?? 0xffff;
  const beyondModel = opts.numExperts === undefined && opts.modelExperts !== undefined;
  let builder: TraceBuilder | undefined;
  const seen = new Uint32Array(0x10000);
  let stamp = 0;
  for (const path of paths) {
    const file = displayName(path);
    const doc = await readJsonDocument(path, file);
    if (!Array.isArray(doc) || doc.length === 0) throw inputErrorAt(file, undefined, 'expected a JSON array of forward steps ([{"<layer>": [[expert ids], ...] | null, ...}, ...])');
    const steps = doc as unknown[];
    if (layerIds === undefined) {
      const s0 = steps[0];
      if (typeof s0 !== 'object' || s0 === null || Array.isArray(s0)) throw inputErrorAt(file, undefined, '[0]: expected an object mapping layer numbers to token lists');
      const ids: number[] = [];
      for (const [k, v] of Object.entries(s0)) {
        if (!/^\d+$/.test(k)) throw inputErrorAt(file, undefined, `[0]: key "${k}": expected a layer number`);
        if (v !== null) ids.push(Number(k));
      }
      ids.sort((a, b) => a - b);
      if (ids.length === 0) throw inputErrorAt(file, undefined, '[0]: every layer is null (no routed experts recorded)');
      layerIds = ids;
      layerIndex = new Map(ids.map((l, i) => [String(l), i]));
    }
    const numLayers = layerIds.length;
    let seq = `${basename(dirname(path))}/${fileStem(path)}`;
    for (let s = 0; s < steps.length; s++) {
      const step = steps[s];
      const at = `[${s}]`;
      if (typeof step !== 'object' || step === null || Array.isArray(step)) throw inputErrorAt(file, undefined, `${at}: expected an object mapping layer numbers to token lists`);
      const st = step as Record<string, unknown>;
      let n = -1;
      for (const [k, v] of Object.entries(st)) {
        const li = layerIndex.get(k);
        if (li === undefined) {
          if (v === null) continue;
          throw inputErrorAt(file, undefined, `${at}["${k}"]: layer ${k} has routes here but not in the first step of ${displayName(paths[0])} (the trace's MoE layers are ${layerIds.join(', ')})`);
        }
        if (!Array.isArray(v)) throw inputErrorAt(file, undefined, `${at}["${k}"]: expected a list of tokens (each a list of expert ids), got ${JSON.stringify(v)?.slice(0, 60)}`);
        if (n < 0) n = v.length;
        else if (v.length !== n) throw inputErrorAt(file, undefined, `${at}["${k}"]: ${v.length} tokens, but other layers of this step have ${n}`);
      }
      for (const k of layerIndex.keys()) if (!(k in st) || st[k] === null) throw inputErrorAt(file, undefined, `${at}: layer ${k} missing or null (it has routes in the first step)`);
      if (n <= 0) throw inputErrorAt(file, undefined, `${at}: no tokens`);
      if (topK < 0) {
        const tok = (st[String(layerIds[0])] as unknown[])[0];
        if (!Array.isArray(tok) || tok.length === 0) throw inputErrorAt(file, undefined, `${at}["${layerIds[0]}"][0]: expected a non-empty list of expert ids`);
        topK = tok.length;
      }
      if (builder === undefined) builder = new TraceBuilder({ numLayers, topK, initialTokens: 1024 });
      if (s === 0) {
        if (builder.hasSequence(seq)) seq = path;
        builder.beginSequence(seq);
      }
      const b = builder;
      for (let t = 0; t < n; t++) {
        const slot = b.addToken();
        const ex = b.experts;
        for (let li = 0; li < numLayers; li++) {
          const key = String(layerIds[li]);
          const tok = (st[key] as unknown[])[t];
          const where = `${at}["${key}"][${t}]`;
          if (!Array.isArray(tok) || tok.length !== topK) throw inputErrorAt(file, undefined, `${where}: expected a list of ${topK} expert ids${opts.topK !== undefined ? ' (topK option)' : ' (as the first token)'}, got ${JSON.stringify(tok)?.slice(0, 60)}`);
          stamp++;
          for (let k = 0; k < topK; k++) {
            const e = tok[k] as unknown;
            if (typeof e !== 'number' || !Number.isInteger(e) || e < 0 || e >= maxExperts) {
              if (beyondModel && typeof e === 'number' && Number.isInteger(e) && e >= maxExperts) throw inputErrorAt(file, undefined, `${where}[${k}]: expert id ${e} is beyond the scenario's model, which has experts 0..${maxExperts - 1}`);
              throw inputErrorAt(file, undefined, `${where}[${k}]: expected an expert id in 0..${maxExperts - 1}, got ${JSON.stringify(e)}`);
            }
            if (seen[e] === stamp) throw inputErrorAt(file, undefined, `${where}: expert ${e} appears twice`);
            seen[e] = stamp;
            ex[slot + li * topK + k] = e;
          }
        }
      }
    }
  }
  if (builder === undefined || layerIds === undefined) throw inputErrorAt(displayName(paths[0]), undefined, 'no tokens');
  const identity = layerIds.every((l, i) => l === i);
  const trace = builder.build({
    numExperts: opts.numExperts,
    layerIds: identity ? undefined : layerIds,
    source: { path: paths.join(','), format: 'expert-json' },
    warnings: [],
  });
  if (opts.model !== undefined) trace.source.model = opts.model;
  return trace;
}
