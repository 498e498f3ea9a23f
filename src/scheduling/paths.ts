/**
 * Routing paths as bit masks: for a token, one mask of its experts per MoE layer
 * (`words` 32-bit words per layer), so the union of a micro-batch is an OR and the experts a token
 * would add are a popcount. Scratch typed arrays; no allocation per decision.
 */
import { NO_EXPERT, type Trace } from '../trace/types.js';
import type { Rng } from '../rng/rng.js';
import type { PathSource } from './types.js';

export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Words per layer mask for `numExperts` experts. */
export function maskWords(numExperts: number): number {
  return Math.max(1, Math.ceil(numExperts / 32));
}

/** Writes token `token`'s path from `experts` ([token][layer][slot] ids) at `out[offset ..]`: numLayers * words words. */
export function fillPath(experts: Uint16Array, numLayers: number, topK: number, words: number, token: number, out: Uint32Array, offset: number): void {
  out.fill(0, offset, offset + numLayers * words);
  let base = token * numLayers * topK;
  for (let l = 0; l < numLayers; l++) {
    const row = offset + l * words;
    for (let k = 0; k < topK; k++) {
      const e = experts[base + k];
      if (e !== NO_EXPERT) out[row + (e >>> 5)] |= 1 << (e & 31);
    }
    base += topK;
  }
}

/** Paths read from routing laid out as trace.experts, at each ready token's trace token. */
export function routingPaths(experts: Uint16Array, numLayers: number, topK: number, numExperts: number): PathSource {
  const words = maskWords(numExperts);
  return { fill: (ready, i, out, offset) => fillPath(experts, numLayers, topK, words, ready.token[i], out, offset) };
}

/**
 * The routing a scheduler believes: the trace's truth with noise. Each recorded (token, layer, slot)
 * is replaced, with probability `noise`, by another expert drawn uniformly. Drawn once for the whole
 * trace from `rng`, so a token's predicted path does not depend on when it is asked for.
 */
export function noisyRouting(trace: Trace, numExperts: number, noise: number, rng: Rng): Uint16Array {
  if (noise <= 0 || numExperts < 2) return trace.experts;
  const out = Uint16Array.from(trace.experts);
  for (let i = 0; i < out.length; i++) {
    const e = out[i];
    if (e === NO_EXPERT) continue;
    if (rng.next() < noise) {
      const r = rng.int(numExperts - 1);
      out[i] = r >= e ? r + 1 : r;
    }
  }
  return out;
}
