import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/rng/rng.js';
import { affinity } from '../../src/predictors/affinity.js';
import { trainOffline } from '../../src/predictors/train.js';
import { TraceView } from '../../src/predictors/trace-view.js';
import { markovTrace, randomTransitions } from '../helpers/markov.js';

describe('affinity predictor', () => {
  it('recovers the transition matrix of a synthetic Markov trace within tolerance', () => {
    const L = 4, E = 6;
    const rng = createRng('markov');
    const P = randomTransitions(L, E, rng.fork('P'));
    const trace = markovTrace(L, E, P, 20, 1500, rng.fork('trace'));
    const p = affinity({ numLayers: L, numExperts: E, topK: 1, rng: rng.fork('p') }, { maxDistance: 1 });
    trainOffline(p, { trace, sequences: trace.sequences.length, online: false }, E, rng.fork('fit'));
    // Condition on a token whose layer-l expert is i: scores at l+1 are the estimated row i of P[l].
    const view = new TraceView(trace);
    const out = new Float64Array(E);
    let worst = 0;
    for (let l = 0; l + 1 < L; l++) {
      for (let i = 0; i < E; i++) {
        const token = findToken(trace.experts, L, l, i);
        p.condition(view, token, l + 1);
        p.scores(l + 1, out);
        for (let j = 0; j < E; j++) worst = Math.max(worst, Math.abs(out[j] - P[l][i * E + j]));
      }
    }
    // 30,000 tokens, ~5,000 per source expert: the standard error of a probability is below 0.007.
    expect(worst).toBeLessThan(0.03);
  });

  it('falls back to popularity before any layer is known and beyond maxDistance', () => {
    const L = 4, E = 4;
    const rng = createRng(3);
    const trace = markovTrace(L, E, randomTransitions(L, E, rng), 2, 200, rng);
    const p = affinity({ numLayers: L, numExperts: E, topK: 1, rng }, { maxDistance: 1 });
    trainOffline(p, { trace, sequences: 2, online: false }, E, rng);
    const view = new TraceView(trace);
    const a = new Float64Array(E), b = new Float64Array(E);
    p.condition(view, 0, 0);
    p.scores(3, a);
    p.condition(view, 0, 1); // layer 0 known; layer 3 is 3 layers away, beyond maxDistance
    p.scores(3, b);
    expect([...b]).toEqual([...a]);
    const counts = new Float64Array(E);
    for (let t = 0; t < trace.tokens; t++) counts[trace.experts[t * L + 3]]++;
    for (let j = 0; j < E; j++) expect(a[j]).toBeCloseTo((counts[j] + 1 / E) / (trace.tokens + 1), 10);
  });
});

function findToken(experts: Uint16Array, L: number, layer: number, e: number): number {
  for (let t = 0; t * L < experts.length; t++) if (experts[t * L + layer] === e) return t;
  throw new Error('expert not found');
}
