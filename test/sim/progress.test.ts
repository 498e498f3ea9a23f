import { describe, expect, it } from 'vitest';
import { countedSource } from '../../src/sim/progress.js';
import { createRng } from '../../src/rng/rng.js';
import { staticBatches } from '../../src/trace/steps.js';
import { generateSyntheticTrace, syntheticSpecSchema } from '../../src/trace/synthetic.js';

describe('countedSource (run progress)', () => {
  it('hands out the same steps and reports the tokens handed out, in chunks', () => {
    const spec = syntheticSpecSchema.parse({ layers: 2, experts: 8, topK: 2, sequences: 40, tokensPerSequence: 1000, popularity: { kind: 'uniform' } });
    const trace = generateSyntheticTrace(spec, createRng('progress'));
    const opts = { batchSize: 4, promptTokens: 0 };
    const plain = staticBatches(trace, opts);
    const reports: number[] = [];
    const counted = countedSource(staticBatches(trace, opts), (n) => reports.push(n));
    expect(counted.maxTokens).toBe(plain.maxTokens);
    let total = 0;
    for (;;) {
      const a = plain.next(0);
      const b = counted.next(0);
      if (!a || !b) {
        expect(b).toBe(a);
        break;
      }
      expect(b.count).toBe(a.count);
      expect(Array.from(b.tokens.subarray(0, b.count))).toEqual(Array.from(a.tokens.subarray(0, a.count)));
      total += a.count;
    }
    expect(total).toBe(trace.tokens);
    expect(reports.length).toBe(2); // 40,000 tokens: at 16,384 and at 32,768 or a little over
    expect(reports[0]).toBeGreaterThanOrEqual(1 << 14);
    expect(reports[1]).toBeGreaterThanOrEqual(reports[0] + (1 << 14));
    expect(reports[1]).toBeLessThanOrEqual(trace.tokens);
  });
});
