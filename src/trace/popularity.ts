import { NO_EXPERT, type Trace } from './types.js';

/**
 * Access counts per key (layer * numExperts + expert) over the first `tokens` tokens of the trace,
 * in trace order; absent routes (NO_EXPERT) are not counted. The one popularity count.
 */
export function popularityCounts(trace: Trace, numExperts: number, tokens: number = trace.tokens): Float64Array {
  const L = trace.numLayers;
  const K = trace.topK;
  const pop = new Float64Array(L * numExperts);
  const ex = trace.experts;
  const end = Math.min(tokens, trace.tokens) * L * K;
  for (let i = 0; i < end; i++) {
    const e = ex[i];
    if (e !== NO_EXPERT) pop[(Math.floor(i / K) % L) * numExperts + e]++;
  }
  return pop;
}
