import { NO_EXPERT, type Trace } from '../../src/trace/types.js';

/**
 * A trace from nested arrays: seqs[s][t][l] = experts of token t of sequence s at layer l
 * (null = absent). Test fixture only.
 */
export function traceOf(seqs: Array<Array<Array<number[] | null>>>, numExperts: number): Trace {
  const L = seqs[0][0].length;
  const K = Math.max(...seqs.flat(2).map((x) => (x ? x.length : 0)));
  const tokens = seqs.reduce((n, s) => n + s.length, 0);
  const experts = new Uint16Array(tokens * L * K).fill(NO_EXPERT);
  let t = 0;
  const sequences = seqs.map((s, i) => {
    const start = t;
    for (const tok of s) {
      tok.forEach((ids, l) => ids?.forEach((e, k) => (experts[(t * L + l) * K + k] = e)));
      t++;
    }
    return { id: String(i), start, length: s.length };
  });
  return { numLayers: L, numExperts, topK: K, tokens, experts, sequences, source: { format: 'test' }, warnings: [] };
}
