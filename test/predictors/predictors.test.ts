import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRng } from '../../src/rng/rng.js';
import { predictors, type PredictorKind } from '../../src/predictors/index.js';
import { predictorSchema } from '../../src/scenario/schema.js';
import type { RoutingPredictor } from '../../src/predictors/types.js';
import { TraceView } from '../../src/predictors/trace-view.js';
import { evaluatePredictor } from '../../src/predictors/evaluate.js';
import { trainOffline } from '../../src/predictors/train.js';
import { generateSyntheticTrace } from '../../src/trace/synthetic.js';
import type { Trace } from '../../src/trace/types.js';
import { traceOf } from '../helpers/trace.js';

const learned: PredictorKind[] = ['affinity', 'path', 'activation-matrix', 'popularity'];

function make(kind: PredictorKind, trace: Trace, extra: Record<string, unknown> = {}): RoutingPredictor {
  const { kind: _k, ...params } = predictorSchema.parse({ kind, ...extra }) as Record<string, unknown>;
  delete params.train;
  const create = predictors[kind].create as (c: unknown, p: unknown) => RoutingPredictor;
  return create({ numLayers: trace.numLayers, numExperts: trace.numExperts, topK: trace.topK, rng: createRng('p') }, params);
}

/** Replays tokens before `token` (learning online), then scores every layer >= known for it. */
function scoresAt(p: RoutingPredictor, trace: Trace, token: number, known: number): number[][] {
  const view = new TraceView(trace);
  for (let t = 0; t < token; t++) {
    p.learn(view, t);
    view.observe(t);
  }
  p.condition(view, token, known);
  const out: number[][] = [];
  for (let l = known; l < trace.numLayers; l++) {
    const s = new Float64Array(trace.numExperts);
    p.scores(l, s);
    out.push([...s]);
  }
  return out;
}

describe('routing predictors', () => {
  const base = generateSyntheticTrace(
    { layers: 5, experts: 8, topK: 2, sequences: 3, tokensPerSequence: 30, popularity: { kind: 'zipf', exponent: 1 }, locality: 0.5, affinity: 0.5 },
    createRng('leak'),
  );

  it('learned predictors never read the future: rewriting what is not yet known changes no score', () => {
    fc.assert(
      fc.property(fc.nat(base.tokens - 1), fc.nat(base.numLayers - 1), fc.integer(), fc.constantFrom(...learned), (token, known, salt, kind) => {
        const altered: Trace = { ...base, experts: base.experts.slice() };
        const L = base.numLayers, K = base.topK;
        const rng = createRng(salt);
        for (let t = token; t < base.tokens; t++) {
          for (let l = t === token ? known : 0; l < L; l++) {
            const a = rng.int(8);
            altered.experts[(t * L + l) * K] = a;
            altered.experts[(t * L + l) * K + 1] = (a + 1 + rng.int(7)) % 8;
          }
        }
        expect(scoresAt(make(kind, altered), altered, token, known)).toEqual(scoresAt(make(kind, base), base, token, known));
      }),
      { numRuns: 60 },
    );
  });

  it('the oracle does read the future (the leak test can fail)', () => {
    const altered: Trace = { ...base, experts: base.experts.slice() };
    for (let i = 40 * 5 * 2; i < altered.experts.length; i++) altered.experts[i] = (altered.experts[i] + 1) % 8;
    expect(scoresAt(make('oracle', altered), altered, 40, 0)).not.toEqual(scoresAt(make('oracle', base), base, 40, 0));
  });

  it('path learns temporal locality: a sequence repeating its previous token\'s experts is predicted almost exactly', () => {
    const trace = generateSyntheticTrace(
      { layers: 4, experts: 8, topK: 2, sequences: 20, tokensPerSequence: 100, popularity: { kind: 'uniform' }, locality: 0.95 },
      createRng('locality'),
    );
    const p = make('path', trace, { epochs: 5 });
    const rep = trainOffline(p, { trace, sequences: 10, online: false }, 8, createRng('fit'));
    expect(rep.fit!.examples).toBe(10 * 100 * (4 + 3));
    expect(p.parameterCount()).toBe(4 * (4 * 8 + 2) * 8);
    const acc = evaluatePredictor(p, trace, { sequences: [10, 11, 12, 13, 14], online: false, maxLookahead: 4, maxTokens: 1e9, numExperts: 8 });
    // Before the pass (d = layer + 1) it sees only earlier tokens; locality 0.95 per slot.
    for (const a of acc.perLookahead) expect(a.topKAccuracy).toBeGreaterThan(0.85);
    const pop = make('popularity', trace);
    trainOffline(pop, { trace, sequences: 10, online: false }, 8, createRng('fit'));
    const base = evaluatePredictor(pop, trace, { sequences: [10, 11, 12, 13, 14], online: false, maxLookahead: 1, maxTokens: 1e9, numExperts: 8 });
    expect(base.perLookahead[0].topKAccuracy).toBeLessThan(0.4);
  });

  it('path training is deterministic per seed', () => {
    const fit = (seed: string) => {
      const p = make('path', base, { epochs: 3 });
      const r = trainOffline(p, { trace: base, sequences: 2, online: false }, 8, createRng(seed));
      return [r.fit!.finalLoss, scoresAt(p, base, 70, 2)];
    };
    expect(fit('a')).toEqual(fit('a'));
    expect(fit('a')[0]).not.toEqual(fit('b')[0]);
  });

  it('activation-matrix matches the stored request of the same kind by cosine similarity', () => {
    // Two kinds of request: kind A routes to experts 0/1, kind B to 2/3, at both layers.
    const a = Array.from({ length: 6 }, () => [[0], [1]]);
    const b = Array.from({ length: 6 }, () => [[2], [3]]);
    const trace = traceOf([a, b, [[[0], [1]], [[0], [1]]], [[[2], [3]], [[2], [3]]]], 4);
    const p = make('activation-matrix', trace);
    const view = new TraceView(trace);
    for (let t = 0; t < 12; t++) {
      p.learn(view, t);
      view.observe(t);
    }
    expect(p.parameterCount()).toBe(2 * 2 * 4);
    const out = new Float64Array(4);
    // Third request, second token: its history (one token at 0/1) is like request A.
    view.observe(12);
    p.condition(view, 13, 0);
    p.scores(1, out);
    expect([...out]).toEqual([0, 1, 0, 0]);
    // Fourth request, first token, layer 0 computed as expert 2: like request B.
    p.condition(view, 14, 1);
    p.scores(1, out);
    expect([...out]).toEqual([0, 0, 0, 1]);
  });

  it('the evaluator computes precision, recall and top-k accuracy as defined', () => {
    // One token, one layer known-to-be-asked: truth {0, 1}; a predictor scoring 0 > 2 > 1 > 3.
    const trace = traceOf([[[[0, 1], [0, 1]]]], 4);
    const fixed: RoutingPredictor = {
      kind: 'fixed' as RoutingPredictor['kind'], // a test stub, not a table kind
      setValued: false,
      condition() {},
      scores(_l, out) {
        out.set([0.9, 0.2, 0.5, 0]);
      },
      learn() {},
      parameterCount: () => 0,
    };
    const r = evaluatePredictor(fixed, trace, { sequences: [0], online: false, maxLookahead: 2, maxTokens: 10, numExperts: 4 });
    // d = 1: asked at known 0 about layer 0 and at known 1 about layer 1; d = 2: known 0 about layer 1.
    expect(r.perLookahead.map((a) => a.samples)).toEqual([2, 1]);
    // Predicted set = top-2 scoring > 0 = {0, 2}: one of two right.
    expect(r.perLookahead[0]).toMatchObject({ precision: 0.5, recall: 0.5, topKAccuracy: 0.5 });
    const set: RoutingPredictor = { ...fixed, setValued: true, scores: (_l, out) => out.set([1, 1, 1, 0]) };
    const s = evaluatePredictor(set, trace, { sequences: [0], online: false, maxLookahead: 1, maxTokens: 10, numExperts: 4 });
    expect(s.perLookahead[0]).toMatchObject({ precision: 2 / 3, recall: 1, topKAccuracy: 1 });
  });
});
