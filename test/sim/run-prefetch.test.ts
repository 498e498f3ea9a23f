import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { writeCanonical } from '../../src/trace/canonical.js';
import { generateSyntheticTrace } from '../../src/trace/synthetic.js';
import { createRng } from '../../src/rng/rng.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import { comparisonTable } from '../../src/report/table.js';
import type { RunResult } from '../../src/metrics/types.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..').replace(/\/dist$/, '');
const scenarios = join(root, 'scenarios');

/** A small scenario on a synthetic trace (fast), with the given policies. */
function small(policies: unknown[], extra: Record<string, unknown> = {}) {
  return parseScenario({
    name: 'small',
    seed: 3,
    model: 'mixtral-8x7b',
    hardware: 'rtx-4090',
    precision: { experts: 'int4' },
    trace: { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 3, tokensPerSequence: 24, popularity: { kind: 'zipf', exponent: 1 }, locality: 0.4, affinity: 0.4 } },
    policies,
    ...extra,
  });
}

describe('scenarios with prefetching, predictors and miss handlers', () => {
  it('the shipped comparison runs every modelled system on one machine, with the stall split and predictor accuracy', async () => {
    const { scenario, baseDir, file } = loadScenarioFile(join(scenarios, 'prefetch-comparison.yaml'));
    const r = await runScenario(scenario, { baseDir, file });
    expect(r.hardware).toBe('rtx-4090');
    const byPrefetch = new Set(r.results.map((p) => p.prefetch ?? 'none'));
    for (const k of ['none', 'pregated', 'speculative', 'expertflow', 'moe-infinity']) expect(byPrefetch).toContain(k);
    const byMiss = new Set(r.results.map((p) => p.onMiss));
    for (const k of ['fetch', 'cpu', 'low-precision']) expect(byMiss).toContain(k);
    for (const p of r.results) {
      const m = p.metrics;
      expect(m.hits + m.lateHits + m.misses).toBe(m.accesses);
      const s = m.stallSplitMs;
      expect(s.capacityMs + s.mispredictionMs + s.linkQueueMs + s.cpuMs).toBeCloseTo(m.stallMs, 6);
      if (p.prefetch) {
        expect(m.plan).toBeDefined();
        expect(p.predictor!.evaluation.perLookahead.length).toBeGreaterThan(0);
      }
    }
    const fiddler = r.results.find((p) => p.onMiss === 'cpu')!;
    expect(fiddler.metrics.onMiss.cpuShare).toBeGreaterThan(0);
    const hobbit = r.results.find((p) => p.onMiss === 'low-precision')!;
    expect(hobbit.metrics.onMiss.lowPrecisionShare).toBeGreaterThan(0);
    const table = comparisonTable(r);
    expect(table).toContain('prefetching and miss handling');
    expect(table).toContain('predictor accuracy by lookahead');
    expect(table).toContain('d=1 P/R/top-k');
  }, 60_000);

  it('every shipped scenario is valid', () => {
    const files = readdirSync(scenarios).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const f of files) expect(() => loadScenarioFile(join(scenarios, f))).not.toThrow();
  });

  it('is deterministic per seed: the same scenario gives byte-identical JSON, another seed other noise', async () => {
    const policies = [
      { kind: 'lru', cache: { perLayer: 4 }, prefetch: { kind: 'pregated', accuracy: 0.7 } },
      { kind: 'lru', cache: { perLayer: 4 }, prefetch: { kind: 'expertflow' }, predictor: { kind: 'path', train: { fraction: 0.5, online: true }, epochs: 2 } },
      { kind: 'lru', cache: { experts: 100 }, prefetch: { kind: 'moe-infinity' } },
      { kind: 'lru', cache: { perLayer: 4 }, prefetch: { kind: 'speculative' }, onMiss: { kind: 'low-precision', dtype: 'int2' } },
      { kind: 'static', cache: { perLayer: 4 }, onMiss: { kind: 'cpu' } },
    ];
    const run = async (seed: number) => JSON.stringify(await runScenario({ ...small(policies), seed }, { baseDir: root }));
    const a = await run(3);
    expect(await run(3)).toBe(a);
    expect(await run(4)).not.toBe(a);
  }, 60_000);

  it('reports how each predictor was trained and evaluated, and times training only with a clock', async () => {
    const s = small([
      { kind: 'lru', cache: { perLayer: 4 }, predictor: { kind: 'affinity', train: { fraction: 0.5 } } },
      { kind: 'lru', cache: { perLayer: 4 }, predictor: { kind: 'path', epochs: 1 } },
      { kind: 'lru', cache: { perLayer: 4 }, prefetch: { kind: 'pregated' } },
    ]);
    let t = 0;
    const r: RunResult = await runScenario(s, { baseDir: root, clock: () => (t += 5) });
    const [aff, path, pre] = r.results.map((p) => p.predictor!);
    expect(aff.training).toMatchObject({ mode: 'offline', offlineTokens: 48 });
    expect(aff.training.evaluatedOn).toContain('held-out sequences 2..2');
    expect(aff.trainMs).toBe(5);
    expect(r.warnings.some((w) => w.includes('trained on the first 2 of 3 sequences'))).toBe(true);
    expect(path.training).toMatchObject({ mode: 'online', offlineTokens: 0 });
    expect(path.trainMs).toBeUndefined();
    expect(pre.kind).toBe('oracle');
    expect(pre.training.mode).toBe('none');
    const plain = await runScenario(s, { baseDir: root });
    expect(plain.results[0].predictor!.trainMs).toBeUndefined();
  });

  it('trains on another trace (train.path) and evaluates on all of the scenario trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'moesim-train-'));
    const other = generateSyntheticTrace(
      { layers: 32, experts: 8, topK: 2, sequences: 4, tokensPerSequence: 10, popularity: { kind: 'zipf', exponent: 1 }, locality: 0.4, affinity: 0.4 },
      createRng('other'),
    );
    await writeCanonical(other, join(dir, 'train.moesim'));
    const s = small([
      { kind: 'lru', cache: { perLayer: 4 }, prefetch: { kind: 'expertflow' }, predictor: { kind: 'path', epochs: 2, train: { path: 'train.moesim' } } },
      { kind: 'lru', cache: { perLayer: 4 }, prefetch: { kind: 'expertflow' }, predictor: { kind: 'path', epochs: 2, train: { path: 'train.moesim', online: true } } },
    ]);
    const r = await runScenario(s, { baseDir: dir });
    const [frozen, online] = r.results.map((p) => p.predictor!);
    expect(frozen.training).toMatchObject({ mode: 'offline', offlineTokens: 40, offlineOn: 'train.moesim: 4 sequences, 40 tokens' });
    expect(frozen.fit).toMatchObject({ examples: 40 * (32 + 31), epochs: 2 });
    expect(frozen.training.evaluatedOn).toBe('all 3 sequences of the scenario trace');
    expect(online.training.mode).toBe('offline+online');
    expect(online.evaluation.perLookahead[0]).not.toEqual(frozen.evaluation.perLookahead[0]);
  });

  it('rejects what cannot be composed, naming the field', async () => {
    const bad = (policy: unknown) => () => parseScenario({ name: 'x', model: 'mixtral-8x7b', hardware: 'rtx-4090', trace: { path: 'x.jsonl' }, policies: [policy] });
    expect(bad({ kind: 'lru', cache: { perLayer: 4 }, prefetch: { kind: 'pregated', lookahead: 2 } })).toThrow(/policies\[0\]\.prefetch: unknown field "lookahead"/);
    expect(bad({ kind: 'lru', cache: { perLayer: 4 }, prefetch: { kind: 'psychic' } })).toThrow(/policies\[0\]\.prefetch\.kind/);
    expect(bad({ kind: 'lru', cache: { perLayer: 4 }, predictor: { kind: 'path', train: { fraction: 0.5, path: 'a' } } })).toThrow(/fraction or path, not both/);
    expect(bad({ kind: 'static', cache: { perLayer: 4 }, prefetch: { kind: 'pregated' } })).toThrow(/unknown field "prefetch"/);
    expect(bad({ kind: 'lru', cache: { perLayer: 4 }, onMiss: { kind: 'low-precision', dtype: 'int5' } })).toThrow(/onMiss\.dtype/);
    const s = small([{ kind: 'lru', cache: { perLayer: 4 }, prefetch: { kind: 'pregated' }, predictor: { kind: 'affinity' } }]);
    await expect(runScenario(s, { baseDir: root })).rejects.toThrow(/policies\[0\]\.predictor: pregated models its pre-gate/);
    const one = small([{ kind: 'lru', cache: { perLayer: 4 }, predictor: { kind: 'affinity', train: { fraction: 0.5 } } }]);
    (one.trace as { synthetic: { sequences: number } }).synthetic.sequences = 1;
    await expect(runScenario(one, { baseDir: root })).rejects.toThrow(/train\.fraction: the trace has 1 sequence/);
  });

  it('keeps the plain policy shape working: no prefetch, fetch on miss, no predictor', async () => {
    const r = await runScenario(small([{ kind: 'lru', cache: { perLayer: 4 } }, { kind: 'all-on-gpu' }]), { baseDir: root });
    expect(r.results[0]).toMatchObject({ policy: 'lru', onMiss: 'fetch', label: 'lru, 4/layer' });
    expect(r.results[0].prefetch).toBeUndefined();
    expect(r.results[0].predictor).toBeUndefined();
    expect(r.results[0].metrics.plan).toBeUndefined();
    expect(r.results[0].metrics.lateHits).toBe(0);
    expect(r.results[1].metrics.stallMs).toBe(0);
  });
});
