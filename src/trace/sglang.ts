/**
 * SGLang's routed experts output (`--enable-return-routed-experts` on the server, `"return_routed_experts": true`
 * on a /generate request). Each response carries `meta_info.routed_experts`: base64 of a flat little-endian
 * int32 array of shape [seqlen - 1, num_hidden_layers, num_experts_per_tok] (tokens of prompt and completion
 * but the last, every hidden layer, top-k slots), per sgl-project/sglang@d4d0fc58:
 * python/sglang/srt/layers/moe/routed_experts_capturer.py (`_RoutedExpertsHostCache` shape,
 * `get_routed_experts` slicing `[: seqlen - 1]`, `extract_routed_experts_from_meta_info` decoding with
 * np.frombuffer(..., dtype=np.int32)). A layer without routed experts (DeepSeek's first dense layers) is never
 * captured and keeps the buffer's zeros, so each of its rows repeats expert 0; such layers are dropped (and
 * said so), the MoE layers keep their ids (`layerIds`). `-1` (SGL-JAX's placeholder) marks an absent route.
 *
 * Input: the saved responses, one JSON object per line (JSONL; a response per request), or one JSON file
 * holding a response or an array of them. Each response is a sequence (`meta_info.id`, else its index).
 * `topK` (the model's num_experts_per_tok) must be given; the layer count comes from
 * `prompt_tokens + completion_tokens - 1` tokens when meta_info has them, else from `numLayers`
 * (the model's num_hidden_layers). No gate weights are returned by SGLang.
 */
import { readHead } from './compressed.js';
import { inputErrorAt } from '../util/errors.js';
import { TraceBuilder } from './builder.js';
import { displayName, forEachLine, readJsonDocument, wrapFsError } from './lines.js';
import type { Trace } from './types.js';

export interface SglangImportOptions {
  topK?: number;
  /** Hidden layers in the payload (the model's num_hidden_layers), when meta_info lacks token counts. */
  numLayers?: number;
  numExperts?: number;
  modelExperts?: number;
  model?: string;
}

/** Does this first row / file head look like a SGLang response with routed experts? */
export function looksLikeSglang(head: string): boolean {
  return /"meta_info"\s*:/.test(head) && /"routed_experts"\s*:/.test(head);
}

export async function importSglang(paths: string[], opts: SglangImportOptions = {}): Promise<Trace> {
  const file0 = displayName(paths[0]);
  const topK = opts.topK;
  if (topK === undefined) {
    throw inputErrorAt(file0, undefined, "SGLang's routed_experts is a flat int32 array [tokens x layers x top-k]: set trace.topK (the model's num_experts_per_tok; a scenario's model gives it) to read it");
  }
  const maxExperts = opts.numExperts ?? opts.modelExperts ?? 0xffff;
  const beyondModel = opts.numExperts === undefined && opts.modelExperts !== undefined;
  let hidden = -1; // hidden layers in the payload
  let moe: number[] = []; // MoE layer ids (hidden layer numbers) kept
  let dense: number[] = [];
  let builder: TraceBuilder | undefined;
  let index = 0;
  const seen = new Uint32Array(0x10000);
  let stamp = 0;
  let absent = 0;

  const take = (doc: unknown, file: string, line: number | undefined, where: string): void => {
    const err = (m: string): Error => inputErrorAt(file, line, `${where}${m}`);
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw err('expected a /generate response object with "meta_info"');
    const meta = (doc as Record<string, unknown>).meta_info;
    if (typeof meta !== 'object' || meta === null) throw err('no "meta_info" object (save the /generate responses as returned)');
    const m = meta as Record<string, unknown>;
    const b64 = m.routed_experts;
    if (typeof b64 !== 'string') throw err(`"meta_info.routed_experts": expected a base64 string (start the server with --enable-return-routed-experts and send "return_routed_experts": true), got ${JSON.stringify(b64)?.slice(0, 40)}`);
    if (m.routed_experts_dtype !== undefined && m.routed_experts_dtype !== 'int32') throw err(`"meta_info.routed_experts_dtype" is ${JSON.stringify(m.routed_experts_dtype)}; only int32 payloads are read`);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw err('"meta_info.routed_experts": not base64');
    const bytes = Buffer.from(b64, 'base64');
    if (bytes.length % 4 !== 0) throw err(`"meta_info.routed_experts": ${bytes.length} bytes, not a whole number of int32 values`);
    const n = bytes.length / 4;
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) ids[i] = bytes.readInt32LE(i * 4);
    const pt = m.prompt_tokens;
    const ct = m.completion_tokens;
    let tokens: number;
    if (typeof pt === 'number' && typeof ct === 'number') {
      tokens = pt + ct - 1;
      if (tokens <= 0 || n % (tokens * topK) !== 0) throw err(`"meta_info.routed_experts" holds ${n} ids, not ${tokens} tokens (prompt_tokens + completion_tokens - 1) x layers x top-${topK}; is topK right?`);
      const L = n / (tokens * topK);
      if (opts.numLayers !== undefined && L !== opts.numLayers) throw err(`"meta_info.routed_experts" has ${L} layers per token, but numLayers is ${opts.numLayers}`);
      if (hidden >= 0 && L !== hidden) throw err(`${L} layers per token, but earlier responses have ${hidden}`);
      hidden = L;
    } else {
      if (opts.numLayers === undefined) throw err('meta_info has no prompt_tokens/completion_tokens; set trace.numLayers (the model\'s num_hidden_layers) to split the routed_experts array');
      hidden = opts.numLayers;
      if (n % (hidden * topK) !== 0) throw err(`"meta_info.routed_experts" holds ${n} ids, not a multiple of ${hidden} layers x top-${topK}`);
      tokens = n / (hidden * topK);
    }
    if (tokens === 0) throw err('no tokens');
    const isDense = (l: number): boolean => {
      // every row of this layer repeats one id (zeros never written) or is all -1
      for (let t = 0; t < tokens; t++) {
        const at = (t * hidden + l) * topK;
        for (let k = 1; k < topK; k++) if (ids[at + k] !== ids[at]) return false;
        if (topK === 1 && ids[at] !== 0 && ids[at] !== -1) return false;
      }
      return topK > 1 || tokens > 1;
    };
    if (builder === undefined) {
      for (let l = 0; l < hidden; l++) (isDense(l) ? dense : moe).push(l);
      if (moe.length === 0) throw err('every layer repeats one expert id in every slot: no routed experts recorded');
      builder = new TraceBuilder({ numLayers: moe.length, topK, initialTokens: tokens });
    } else {
      for (const l of dense) if (!isDense(l)) throw err(`layer ${l} has routes here but none in the first response (where it was taken for a dense layer)`);
    }
    const b = builder;
    const id = typeof m.id === 'string' || typeof m.id === 'number' ? String(m.id) : String(index);
    b.beginSequence(b.hasSequence(id) ? `${id}#${index}` : id);
    index++;
    for (let t = 0; t < tokens; t++) {
      const slot = b.addToken();
      const ex = b.experts;
      for (let li = 0; li < moe.length; li++) {
        const at = (t * hidden + moe[li]) * topK;
        if (ids[at] === -1) {
          absent++;
          continue;
        }
        stamp++;
        for (let k = 0; k < topK; k++) {
          const e = ids[at + k];
          if (e < 0 || e >= maxExperts) {
            if (beyondModel && e >= maxExperts) throw err(`token ${t} layer ${moe[li]}: expert id ${e} is beyond the scenario's model, which has experts 0..${maxExperts - 1}`);
            throw err(`token ${t} layer ${moe[li]} slot ${k}: expected an expert id in 0..${maxExperts - 1}, got ${e}`);
          }
          if (seen[e] === stamp) throw err(`token ${t} layer ${moe[li]}: expert ${e} appears twice`);
          seen[e] = stamp;
          ex[slot + li * topK + k] = e;
        }
      }
    }
  };

  for (const path of paths) {
    const file = displayName(path);
    if ((await firstChar(path, file)) === '[') {
      // one JSON file: an array of responses
      const doc = await readJsonDocument(path, file);
      (doc as unknown[]).forEach((r, i) => take(r, file, undefined, `[${i}]: `));
      continue;
    }
    await forEachLine(path, (buf, start, end, line) => {
      // a UTF-8 byte-order mark before the first response
      if (line === 1 && end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
      let s = start;
      while (s < end && (buf[s] === 32 || buf[s] === 9 || buf[s] === 13)) s++;
      if (s === end) return;
      let row: unknown;
      try {
        row = JSON.parse(buf.toString('utf8', start, end));
      } catch (e) {
        throw inputErrorAt(file, line, `invalid JSON (${(e as Error).message})`);
      }
      take(row, file, line, '');
    });
  }
  if (builder === undefined) throw inputErrorAt(file0, undefined, 'no responses');
  const warnings: string[] = [];
  if (dense.length > 0) warnings.push(`${file0}: ${dense.length} of ${hidden} layers carry no routed experts (every slot repeats one id: layers ${dense.join(', ')}); left out as dense layers, the trace keeps MoE layers ${moe[0]}..${moe[moe.length - 1]}`);
  if (absent > 0) warnings.push(`${file0}: ${absent} (token, layer) routes marked -1; left absent`);
  const identity = moe.every((l, i) => l === i);
  const trace = builder.build({ numExperts: opts.numExperts, layerIds: identity ? undefined : moe, source: { path: paths.join(','), format: 'sglang' }, warnings });
  if (opts.model !== undefined) trace.source.model = opts.model;
  return trace;
}

async function firstChar(path: string, file: string): Promise<string> {
  const buf = await readHead(path, 256, file).catch((e: unknown) => {
    throw wrapFsError(e, file);
  });
  return buf.toString('utf8').replace(/^\uFEFF/, '').trimStart().slice(0, 1);
}
