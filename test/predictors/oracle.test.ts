import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRng } from '../../src/rng/rng.js';
import { oracle } from '../../src/predictors/oracle.js';
import { evaluatePredictor } from '../../src/predictors/evaluate.js';
import { TraceView } from '../../src/predictors/trace-view.js';
import { generateSyntheticTrace } from '../../src/trace/synthetic.js';

const trace = generateSyntheticTrace(
  { layers: 6, experts: 16, topK: 2, sequences: 4, tokensPerSequence: 500, popularity: { kind: 'zipf', exponent: 1 } },
  createRng('oracle-trace'),
);

function accuracy(precision: number, recall: number, seed = 1) {
  const p = oracle({ numLayers: 6, numExperts: 16, topK: 2, rng: createRng(seed) }, { precision, recall });
  return evaluatePredictor(p, trace, { sequences: [0, 1, 2, 3], online: false, maxLookahead: 6, maxTokens: 1e9, numExperts: 16 }).perLookahead;
}

describe('oracle predictor', () => {
  it('exact (precision = recall = 1) predicts the true experts at every distance', () => {
    for (const a of accuracy(1, 1)) expect([a.precision, a.recall, a.topKAccuracy]).toEqual([1, 1, 1]);
  });

  it('is corrupted to the requested precision and recall (within sampling tolerance)', () => {
    for (const [pr, rc] of [[0.9, 0.5], [0.5, 0.9], [0.3, 0.3], [1, 0.7]]) {
      const a = accuracy(pr, rc)[0];
      expect(a.precision).toBeGreaterThan(pr - 0.03);
      expect(a.precision).toBeLessThan(pr + 0.03);
      expect(a.recall).toBeGreaterThan(rc - 0.03);
      expect(a.recall).toBeLessThan(rc + 0.03);
    }
  });

  it('recall 0 predicts nothing', () => {
    const a = accuracy(0.5, 0)[0];
    expect(a.recall).toBe(0);
    expect(a.precision).toBe(0);
  });

  it('gives the same answer to the same question, whatever was asked before, and depends on the seed', () => {
    const view = new TraceView(trace);
    const ask = (p: ReturnType<typeof oracle>, token: number, layer: number) => {
      const out = new Float64Array(16);
      p.condition(view, token, 0);
      p.scores(layer, out);
      return [...out];
    };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(trace.tokens - 1), fc.nat(5)), { minLength: 1, maxLength: 20 }), (qs) => {
        const a = oracle({ numLayers: 6, numExperts: 16, topK: 2, rng: createRng(7) }, { precision: 0.6, recall: 0.6 });
        const b = oracle({ numLayers: 6, numExperts: 16, topK: 2, rng: createRng(7) }, { precision: 0.6, recall: 0.6 });
        const first = ask(a, qs[0][0], qs[0][1]);
        for (const [t, l] of qs.slice(1)) ask(b, t, l);
        expect(ask(b, qs[0][0], qs[0][1])).toEqual(first);
      }),
      { numRuns: 50 },
    );
    const x = oracle({ numLayers: 6, numExperts: 16, topK: 2, rng: createRng(1) }, { precision: 0.5, recall: 0.5 });
    const y = oracle({ numLayers: 6, numExperts: 16, topK: 2, rng: createRng(2) }, { precision: 0.5, recall: 0.5 });
    let differ = false;
    for (let t = 0; t < 50 && !differ; t++) differ = JSON.stringify(ask(x, t, 1)) !== JSON.stringify(ask(y, t, 1));
    expect(differ).toBe(true);
  });
});
