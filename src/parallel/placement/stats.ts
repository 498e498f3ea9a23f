/** Routing statistics of a token range, for placement policies: typed arrays, one pass each. */
import { NO_EXPERT, type Trace } from '../../trace/types.js';
import type { TokenRange } from './types.js';

/** Routes to each key (layer * numExperts + expert) over the range. */
export function routeLoad(trace: Trace, range: TokenRange): Float64Array {
  const { numLayers: L, numExperts: E, topK: K, experts } = trace;
  const load = new Float64Array(L * E);
  for (let t = range.from; t < range.to; t++) {
    for (let l = 0; l < L; l++) {
      const base = (t * L + l) * K;
      for (let k = 0; k < K; k++) {
        const e = experts[base + k];
        if (e !== NO_EXPERT) load[l * E + e]++;
      }
    }
  }
  return load;
}

/**
 * Inter-layer routing counts: `flow[(l - 1) * E * E + a * E + b]` = tokens routed to expert a in
 * layer l - 1 and to expert b in layer l (every pair of their top-k slots), for l = 1..L-1.
 */
export function layerFlow(trace: Trace, range: TokenRange): Float64Array {
  const { numLayers: L, numExperts: E, topK: K, experts } = trace;
  const flow = new Float64Array(Math.max(0, L - 1) * E * E);
  for (let t = range.from; t < range.to; t++) {
    for (let l = 1; l < L; l++) {
      const prev = (t * L + l - 1) * K;
      const cur = (t * L + l) * K;
      for (let i = 0; i < K; i++) {
        const a = experts[prev + i];
        if (a === NO_EXPERT) continue;
        for (let j = 0; j < K; j++) {
          const b = experts[cur + j];
          if (b !== NO_EXPERT) flow[(l - 1) * E * E + a * E + b]++;
        }
      }
    }
  }
  return flow;
}
