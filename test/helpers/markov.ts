import type { Rng } from '../../src/rng/rng.js';
import type { Trace } from '../../src/trace/types.js';

/** A random row-stochastic E x E matrix per layer transition: P[l][i * E + j] = P(j at l+1 | i at l). */
export function randomTransitions(L: number, E: number, rng: Rng, sharpness = 2): Float64Array[] {
  return Array.from({ length: L - 1 }, () => {
    const P = new Float64Array(E * E);
    for (let i = 0; i < E; i++) {
      let sum = 0;
      for (let j = 0; j < E; j++) sum += P[i * E + j] = rng.next() ** sharpness;
      for (let j = 0; j < E; j++) P[i * E + j] /= sum;
    }
    return P;
  });
}

function draw(row: Float64Array, offset: number, E: number, u: number): number {
  let acc = 0;
  for (let j = 0; j < E; j++) {
    acc += row[offset + j];
    if (u < acc) return j;
  }
  return E - 1;
}

/**
 * A top-1 trace whose routing is a Markov chain across layers: layer 0 uniform, layer l+1 drawn from
 * row (expert at l) of P[l]. Test fixture only.
 */
export function markovTrace(L: number, E: number, P: Float64Array[], sequences: number, tokensPerSequence: number, rng: Rng): Trace {
  const tokens = sequences * tokensPerSequence;
  const experts = new Uint16Array(tokens * L);
  for (let t = 0; t < tokens; t++) {
    let e = rng.int(E);
    experts[t * L] = e;
    for (let l = 0; l + 1 < L; l++) {
      e = draw(P[l], e * E, E, rng.next());
      experts[t * L + l + 1] = e;
    }
  }
  const seqs = Array.from({ length: sequences }, (_, s) => ({ id: String(s), start: s * tokensPerSequence, length: tokensPerSequence }));
  return { numLayers: L, numExperts: E, topK: 1, tokens, experts, sequences: seqs, source: { format: 'test' }, warnings: [] };
}
