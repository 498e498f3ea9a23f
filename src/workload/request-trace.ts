/**
 * The routing the requests of a serving workload follow, as a trace of its own: sequence r is
 * request r's window of its trace sequence (prompt tokens, then decode tokens), rows copied.
 *
 * Why a copy: a predictor keeps what it knows per sequence (predictors/trace-view.ts: which tokens
 * have run, their activation counts). Requests reusing a trace sequence, or starting at an offset
 * in it, each have their own past; two requests at the same trace token may not share one. Here
 * each request is a sequence whose tokens run in order, from its first. Memory: 2 bytes per
 * (request token, MoE layer, slot).
 */
import type { Trace } from '../trace/types.js';
import { tokensNeeded, type RequestTable } from './requests.js';

export function requestTrace(trace: Trace, table: RequestTable): Trace {
  const row = trace.numLayers * trace.topK;
  const sequences = [];
  let tokens = 0;
  for (let r = 0; r < table.count; r++) {
    const length = tokensNeeded(table.promptTokens[r], table.outputTokens[r]);
    sequences.push({ id: `request ${r}`, start: tokens, length });
    tokens += length;
  }
  const experts = new Uint16Array(tokens * row);
  for (let r = 0; r < table.count; r++) {
    const first = table.firstToken[r];
    const { start, length } = sequences[r];
    experts.set(trace.experts.subarray(first * row, (first + length) * row), start * row);
  }
  return {
    numLayers: trace.numLayers,
    numExperts: trace.numExperts,
    topK: trace.topK,
    tokens,
    experts,
    sequences,
    ...(trace.layerIds ? { layerIds: trace.layerIds } : {}),
    source: { ...trace.source, provenance: `the requests of a serving workload, each a window of a sequence of: ${trace.source.provenance ?? trace.source.format}` },
    warnings: [],
  };
}
