/**
 * Routing traces in memory: compact typed arrays, never one JS object per access.
 *
 * Layout: token-major. Token t (0-based over the whole trace), MoE layer l (0-based ordinal among
 * the model's MoE layers), slot k (0..topK-1) lives at index (t * numLayers + l) * topK + k.
 * A (token, layer) the recorder did not log holds NO_EXPERT in every slot: it is absent from the
 * trace, never invented.
 */
export const NO_EXPERT = 0xffff;

export interface TraceSequence {
  /** Sequence id as recorded (problem_id, req_id, ...), as a string. */
  id: string;
  /** Index of the sequence's first token in the flat token order. */
  start: number;
  /** Number of tokens of this sequence (contiguous, ascending position). */
  length: number;
}

export interface TraceSource {
  /** File the trace was read from, if any. */
  path?: string;
  /** Format it was read from: "jsonl", "moesim", "synthetic", ... */
  format: string;
  /** Free text: where the data comes from (repository, commit, model, generator parameters). */
  provenance?: string;
  /** Model the trace was recorded on (free text or catalog name). */
  model?: string;
}

export interface Trace {
  numLayers: number;
  numExperts: number;
  topK: number;
  /** Total tokens over all sequences. */
  tokens: number;
  /** [tokens][numLayers][topK] expert ids, NO_EXPERT where absent. */
  experts: Uint16Array;
  /** Same shape as experts: gate weights, when recorded. */
  weights?: Float32Array;
  /** Sequences in order of first appearance; their tokens are contiguous and ascending. */
  sequences: TraceSequence[];
  /** Original layer numbers of the MoE layers in this trace, when known (e.g. [2,3,4]). */
  layerIds?: number[];
  source: TraceSource;
  /** How a trace of some of the model's MoE layers is used (the scenario's trace.missingLayers). */
  missingLayers?: 'fill' | 'recorded';
  /** Non-fatal findings while loading (e.g. missing (token, layer) rows), one line each. */
  warnings: string[];
}

/** Index of slot 0 of (token, layer). */
export function slotIndex(trace: Trace, token: number, layer: number): number {
  return (token * trace.numLayers + layer) * trace.topK;
}
