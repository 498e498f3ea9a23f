import type { Interconnect } from '../../src/hardware/interconnect.js';
import { NO_EXPERT, type Trace } from '../../src/trace/types.js';
import type { EpCosts } from '../../src/parallel/ep-sim.js';

/** A trace from routes[token][layer] = expert ids (empty: absent). */
export function traceOf(numExperts: number, topK: number, routes: number[][][]): Trace {
  const T = routes.length;
  const L = routes[0]?.length ?? 1;
  const experts = new Uint16Array(T * L * topK).fill(NO_EXPERT);
  routes.forEach((tok, t) => tok.forEach((es, l) => es.forEach((e, k) => (experts[(t * L + l) * topK + k] = e))));
  return { numLayers: L, numExperts, topK, tokens: T, experts, sequences: [{ id: 's', start: 0, length: T }], source: { format: 'test' }, warnings: [] };
}

/** Round numbers: attention 1 s per token, an expert 2 s per token, a fetch 10 s, 100 bytes per token. */
export const roundCosts: EpCosts = {
  expertBytes: 1000,
  linkOverlapsCompute: true,
  expertSec: (n) => 2 * n,
  preExpertSec: (_l, n) => n,
  tailSec: () => 0,
  h2dSec: () => 10,
  activationBytes: (n) => 100 * n,
};

/** 100 bytes/s and 1 s per message: a 100-byte message takes 2 s. */
export const slowLink: Interconnect = { name: 'test', bytesPerSec: 100, latencySec: 1, source: 'test' };
