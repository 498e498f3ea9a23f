import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import { mergeWarnings, PARALLEL_MIN_ACCESSES, policyThreads, shares } from '../../src/sim/policy-pool.js';
import { InputError } from '../../src/util/errors.js';

const dir = join(import.meta.dirname, '..', '..', 'scenarios');

describe('policy shares', () => {
  it('split the policies into contiguous blocks in order, none empty', () => {
    expect(shares(5, 2)).toEqual([[0, 1], [2, 3, 4]]);
    expect(shares(2, 4)).toEqual([[0], [1]]);
    for (let p = 1; p <= 9; p++) for (let n = 1; n <= 5; n++) expect(shares(p, n).flat()).toEqual([...Array(p).keys()]);
  });
  it('threads: one unless asked; a number is capped by the policies; auto only for large traces', () => {
    expect(policyThreads(undefined, 8, 1e9)).toBe(1);
    expect(policyThreads(3, 2, 10)).toBe(2);
    expect(policyThreads(1, 8, 1e9)).toBe(1);
    expect(policyThreads('auto', 8, PARALLEL_MIN_ACCESSES - 1)).toBe(1);
    expect(policyThreads('auto', 1, 1e9)).toBe(1);
  });
  it('warnings merge in policy order, each once', () => {
    const into = ['a'];
    mergeWarnings(into, [['b', 'a'], [], ['c', 'b']]);
    expect(into).toEqual(['a', 'b', 'c']);
  });
});

/** JSON of a run on one thread and on `jobs` threads. */
async function both(scenario: ReturnType<typeof parseScenario>, baseDir: string, jobs: number): Promise<[string, string]> {
  const one = JSON.stringify(await runScenario(scenario, { baseDir }));
  const many = JSON.stringify(await runScenario(scenario, { baseDir, jobs }));
  return [one, many];
}

describe('a run on several threads', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  for (const f of files) {
    const { scenario, baseDir } = loadScenarioFile(join(dir, f));
    if (scenario.parallel || scenario.policies.length < 2) continue;
    it(`gives the one-thread result byte for byte: ${f}`, async () => {
      const [one, many] = await both(scenario, baseDir, 3);
      expect(many).toBe(one);
    });
  }

  const base = {
    name: 'pool',
    seed: 5,
    model: 'mixtral-8x7b',
    hardware: 'a100-80gb',
    precision: { experts: 'int4' },
    trace: { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 3, tokensPerSequence: 40, popularity: { kind: 'zipf', exponent: 1.2 }, locality: 0.3 } },
  };

  it('with a serving workload and several schedulers, and with per-policy warnings', async () => {
    const scenario = parseScenario({
      ...base,
      workload: {
        kind: 'serving',
        requests: 8,
        arrivals: { kind: 'poisson', ratePerSec: 0.5 },
        maxBatchSize: 4,
        promptTokens: { kind: 'uniform', min: 2, max: 6 },
        outputTokens: { kind: 'uniform', min: 2, max: 8 },
        schedulers: [{ kind: 'fifo' }, { kind: 'lookahead' }],
      },
      policies: [
        { kind: 'lru', cache: { perLayer: 4 } },
        { kind: 'lfu', cache: { perLayer: 12 } },
        { kind: 'lru', cache: { perLayer: 2 }, onMiss: { kind: 'cpu' } },
        { kind: 'lru', cache: { perLayer: 3 }, onMiss: { kind: 'cpu' } },
      ],
    });
    const [one, many] = await both(scenario, '.', 2);
    expect(JSON.parse(one).warnings.join('\n')).toMatch(/perLayer: 12 is more than the 8 experts/);
    expect(JSON.parse(one).results).toHaveLength(8);
    expect(many).toBe(one);
  });

  it("a worker's input error reaches the caller as the same one-line InputError", async () => {
    const scenario = parseScenario({
      ...base,
      hardware: 'rtx-4090',
      policies: [{ kind: 'lru', cache: { perLayer: 4 } }, { kind: 'lru', cache: { perLayer: 8 } }],
    });
    const seq = await runScenario(scenario, { baseDir: '.' }).then(() => undefined, (e: unknown) => e);
    const par = await runScenario(scenario, { baseDir: '.', jobs: 2 }).then(() => undefined, (e: unknown) => e);
    expect(seq).toBeInstanceOf(InputError);
    expect(par).toBeInstanceOf(InputError);
    expect((par as Error).message).toBe((seq as Error).message);
    expect((par as Error).message).toMatch(/^policies\[1\]\.cache: 256 experts/);
  });
});
