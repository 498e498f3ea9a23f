/**
 * Checks every importer shares, so that moesim never writes a trace it cannot read back and never
 * allocates for a size it has not checked: dimensions (before any typed array is made), gate
 * weights (finite float32), emptiness.
 */
import { InputError } from '../util/errors.js';
import { NO_EXPERT, type Trace } from './types.js';

/** Most (token, layer, slot) entries a trace may hold: 2^29 (1 GiB of expert ids, 2 GiB of weights). */
export const MAX_TRACE_SLOTS = 2 ** 29;
/** Expert ids are 16-bit (0xffff marks an absent route). */
export const MAX_EXPERTS = 65535;
export const MAX_LAYERS = 65535;

/** A trace limit crossed; the reader that knows the file prefixes its name. */
export class TraceLimitError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = 'TraceLimitError';
  }
}

export interface TraceDims {
  tokens?: number;
  layers: number;
  topK: number;
  experts?: number;
}

const fmt = (n: number): string => (Number.isSafeInteger(n) ? n.toLocaleString('en-US') : String(n));

/**
 * Refuses dimensions a trace cannot have, before allocating: `where` prefixes the message
 * (`x.npy: experts: `). A token count of 0 is an empty trace.
 */
export function checkTraceDims(where: string, d: TraceDims): void {
  const bad = (m: string): never => {
    throw new TraceLimitError(`${where}${m}`);
  };
  const dim = (name: string, v: number | undefined, max: number): void => {
    if (v === undefined) return;
    if (!Number.isSafeInteger(v) || v < 1) bad(`${name} must be a positive integer, got ${fmt(v)}`);
    if (v > max) bad(`${name} ${fmt(v)} is more than the limit of ${fmt(max)}`);
  };
  if (d.tokens !== undefined && d.tokens === 0) bad('empty trace: 0 tokens');
  dim('layers', d.layers, MAX_LAYERS);
  dim('top-k', d.topK, MAX_EXPERTS);
  dim('experts', d.experts, MAX_EXPERTS);
  if (d.experts !== undefined && d.topK > d.experts) bad(`top-k ${fmt(d.topK)} is more than the ${fmt(d.experts)} experts`);
  if (d.tokens !== undefined) {
    dim('tokens', d.tokens, MAX_TRACE_SLOTS);
    const slots = d.tokens * d.layers * d.topK;
    if (slots > MAX_TRACE_SLOTS) bad(`${fmt(d.tokens)} tokens x ${fmt(d.layers)} layers x top-${fmt(d.topK)} = ${fmt(slots)} routes, more than the limit of ${fmt(MAX_TRACE_SLOTS)} a trace may hold`);
  } else if (d.layers * d.topK > MAX_TRACE_SLOTS) {
    bad(`${fmt(d.layers)} layers x top-${fmt(d.topK)} routes per token is more than the limit of ${fmt(MAX_TRACE_SLOTS)}`);
  }
}

/** Largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** A gate weight that a float32 column can hold and the canonical reader accepts. */
export function isStorableWeight(w: number): boolean {
  return Number.isFinite(w) && Math.abs(w) <= FLOAT32_MAX;
}

/** The message for a weight that is not a finite float32 (`1e39`, `NaN`, `Infinity`). */
export function badWeightMessage(text: string): string {
  return `gate weight ${text} is not a finite float32 number (|w| <= 3.4e38)`;
}

/**
 * What every trace read must satisfy before it is used or written: at least one token, and a
 * finite gate weight in every slot of every route whose weights were recorded. `file` names the trace.
 */
export function checkReadBack(trace: Trace, file: string): void {
  if (trace.tokens === 0) throw new InputError(`${file}: empty trace: no tokens`);
  const K = trace.topK;
  const L = trace.numLayers;
  const ex = trace.experts;
  // a trace whose every route is absent (-1) routes nothing: no cache, link or expert to simulate
  let routed = false;
  for (let i = 0; i < ex.length && !routed; i += K) routed = ex[i] !== NO_EXPERT;
  if (!routed) throw new InputError(`${file}: every (token, layer) route of its ${trace.tokens} tokens is absent (-1): no expert is routed; expected a trace with at least one routed expert`);
  const where = (i: number): string => {
    const token = Math.floor(i / (L * K));
    const layer = Math.floor(i / K) % L;
    const seq = trace.sequences.find((s) => token >= s.start && token < s.start + s.length);
    return `token ${token}${seq ? ` (sequence ${JSON.stringify(seq.id)}, position ${token - seq.start})` : ''}, MoE layer ${layer}`;
  };
  // a route names each expert once (the canonical reader refuses repeats); O(k) per route
  if (K > 1) {
    const seen = new Uint32Array(0x10000);
    let stamp = 0;
    for (let i = 0; i < ex.length; i += K) {
      if (ex[i] === NO_EXPERT) continue;
      stamp++;
      for (let k = 0; k < K; k++) {
        const e = ex[i + k];
        if (seen[e] === stamp) throw new InputError(`${file}: ${where(i)}: expert ${e} appears twice in one route`);
        seen[e] = stamp;
      }
    }
  }
  const w = trace.weights;
  if (w === undefined) return;
  for (let i = 0; i < w.length; i += K) {
    if (ex[i] === NO_EXPERT) continue;
    // weights not recorded for this route: NaN in every slot (written as "-")
    let nan = 0;
    for (let k = 0; k < K; k++) if (Number.isNaN(w[i + k])) nan++;
    if (nan === K) continue;
    for (let k = 0; k < K; k++) {
      if (!isStorableWeight(w[i + k])) {
        throw new InputError(`${file}: ${where(i)}: ${badWeightMessage(String(w[i + k]))}`);
      }
    }
  }
}
