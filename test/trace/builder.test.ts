import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/rng/rng.js';
import { TraceBuilder } from '../../src/trace/builder.js';
import { collectTrace, takeTokens, traceStream } from '../../src/trace/stream.js';
import { generateSyntheticTrace, SyntheticSource } from '../../src/trace/synthetic.js';
import { NO_EXPERT } from '../../src/trace/types.js';

describe('TraceBuilder', () => {
  it('reserve makes room without changing what is built (more, fewer or as many tokens as reserved)', () => {
    const build = (reserve: number | undefined, tokens: number) => {
      const b = new TraceBuilder({ numLayers: 2, topK: 2, initialTokens: 4, weights: true });
      b.beginSequence('s');
      b.experts[b.addToken() + 1] = 3;
      b.weights[1] = 0.5;
      if (reserve !== undefined) b.reserve(reserve);
      for (let t = 1; t < tokens; t++) {
        const at = b.addToken();
        if (t % 3 !== 0) {
          b.experts[at] = t % 4;
          b.weights[at] = t / 8;
        }
      }
      return b.build({ source: { format: 'test' } });
    };
    for (const tokens of [1, 5, 100]) {
      const plain = build(undefined, tokens);
      for (const r of [0, 3, 50, 100, 1000]) {
        const t = build(r, tokens);
        expect(t.experts).toEqual(plain.experts);
        expect(t.weights).toEqual(plain.weights);
        expect(t.experts.length).toBe(tokens * 4);
      }
    }
  });

  it('grows by doubling, keeps routes, leaves unwritten slots absent and infers numExperts', () => {
    const b = new TraceBuilder({ numLayers: 3, topK: 2, initialTokens: 1 });
    b.beginSequence('a');
    for (let t = 0; t < 1000; t++) {
      b.addToken();
      if (t % 7 !== 0) b.setRoute(t, t % 3, [t % 5, (t % 5) + 1]);
    }
    b.beginSequence('empty');
    b.beginSequence('b');
    b.appendTokens(2, new Uint16Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]));
    const t = b.build({ source: { format: 'test' } });
    expect(t.tokens).toBe(1002);
    expect(t.experts.length).toBe(1002 * 6);
    expect(t.numExperts).toBe(10);
    expect(t.sequences).toEqual([
      { id: 'a', start: 0, length: 1000 },
      { id: 'b', start: 1000, length: 2 },
    ]);
    expect(Array.from(t.experts.subarray(6, 12))).toEqual([NO_EXPERT, NO_EXPERT, 1, 2, NO_EXPERT, NO_EXPERT]);
    expect(t.weights).toBeUndefined();
  });

  it('creates weights on first use, NaN where not recorded', () => {
    const b = new TraceBuilder({ numLayers: 1, topK: 2 });
    b.beginSequence('s');
    b.addToken();
    b.setRoute(0, 0, [0, 1]);
    b.addToken();
    b.setRoute(1, 0, [1, 0], 0, [0.75, 0.25]);
    const t = b.build({ numExperts: 4, source: { format: 'test' } });
    expect(t.numExperts).toBe(4);
    expect(Number.isNaN(t.weights?.[0])).toBe(true);
    expect(Array.from(t.weights ?? []).slice(2)).toEqual([0.75, 0.25]);
  });

  it('rejects duplicate sequence ids', () => {
    const b = new TraceBuilder({ numLayers: 1, topK: 1 });
    b.beginSequence('x');
    expect(() => b.beginSequence('x')).toThrow(/already/);
  });
});

describe('trace streams', () => {
  const spec = { layers: 3, experts: 8, topK: 2, sequences: 4, tokensPerSequence: 25, popularity: { kind: 'uniform' as const } };

  it('traceStream and collectTrace round-trip a trace whatever the chunk size', () => {
    const t = generateSyntheticTrace(spec, createRng(1));
    for (const chunk of [1, 3, 25, 26, 1000]) {
      const back = collectTrace(traceStream(t), chunk);
      expect(back.experts).toEqual(t.experts);
      expect(back.sequences).toEqual(t.sequences);
    }
  });

  it('takeTokens cuts a stream, ending the last sequence early', () => {
    const t = collectTrace(takeTokens(new SyntheticSource(spec, createRng(1)), 60), 7);
    expect(t.tokens).toBe(60);
    expect(t.sequences.map((s) => s.length)).toEqual([25, 25, 10]);
    expect(t.experts).toEqual(generateSyntheticTrace(spec, createRng(1)).experts.subarray(0, 60 * 6));
  });
});
