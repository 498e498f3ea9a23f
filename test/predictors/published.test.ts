import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/rng/rng.js';
import { publishedAccuracies, publishedOracle, publishedSystems, noPublishedValue, systemOfStandIn } from '../../src/predictors/published.js';
import { predictorSchema } from '../../src/predictors/spec.js';
import { createPredictor, predictorInfo, predictorLabel } from '../../src/predictors/index.js';
import { evaluatePredictor } from '../../src/predictors/evaluate.js';
import { generateSyntheticTrace } from '../../src/trace/synthetic.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import { predictorTable, schedulerPredictorTable } from '../../src/report/table.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { presetsJson, presetsText } from '../../src/cli/presets.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..').replace(/\/dist$/, '');

const trace = generateSyntheticTrace(
  { layers: 8, experts: 16, topK: 2, sequences: 4, tokensPerSequence: 400, popularity: { kind: 'zipf', exponent: 1 } },
  createRng('published-trace'),
);

describe('published predictor accuracies (src/predictors/published.ts)', () => {
  it('every entry is well formed: a paper with an arXiv id, where it was read, a value in [0, 1] or a note saying why there is none', () => {
    expect(publishedSystems.length).toBeGreaterThanOrEqual(5);
    for (const s of publishedSystems) {
      const p = publishedAccuracies[s];
      expect(p.system).toBe(s);
      expect(p.paper).toMatch(/arXiv \d{4}\.\d{5}/);
      expect(p.where.length).toBeGreaterThan(0);
      expect(p.definition.length).toBeGreaterThan(0);
      expect(p.note.length).toBeGreaterThan(0);
      if (p.value === null) {
        expect(noPublishedValue(s)).toContain(s);
      } else {
        expect(p.value).toBeGreaterThanOrEqual(0);
        expect(p.value).toBeLessThanOrEqual(1);
        // A value is only given with the metric it is in.
        expect(p.metric).not.toBeNull();
        expect(noPublishedValue(s)).toBeUndefined();
      }
    }
  });

  it('names the system each stand-in predictor is for', () => {
    expect(systemOfStandIn('path')).toBe('expertflow');
    expect(systemOfStandIn('activation-matrix')).toBe('moe-infinity');
    expect(systemOfStandIn('popularity')).toBeUndefined();
  });

  it('published resolves to the oracle at the paper\'s value (precision = recall), and refuses a paper with no number naming the field', () => {
    const spec = predictorSchema.parse({ kind: 'published', of: 'expertflow' });
    expect(publishedOracle('expertflow')).toEqual({ precision: 0.9, recall: 0.9 });
    expect(predictorLabel(spec)).toBe('published expertflow (oracle 0.9/0.9)');
    expect(predictorInfo('published').readsFuture).toBe(true);
    const bad = predictorSchema.safeParse({ kind: 'published', of: 'moe-infinity' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0].path).toEqual(['of']);
    expect(bad.error!.issues[0].message).toContain('moe-infinity publishes no predictor accuracy');
    expect(predictorSchema.safeParse({ kind: 'published', of: 'mixtral-offloading' }).success).toBe(false);
    // ProMoE's learned predictor: "an average accuracy of 84.7%" (§4.3).
    expect(publishedOracle('promoe')).toEqual({ precision: 0.847, recall: 0.847 });
    expect(publishedOracle('pregated-moe')).toEqual({ precision: 1, recall: 1 });
  });

  it('the published oracle measures at the paper\'s value within sampling noise, in every metric (the value is precision and recall)', () => {
    const spec = predictorSchema.parse({ kind: 'published', of: 'expertflow' });
    const p = createPredictor(spec, { numLayers: 8, numExperts: 16, topK: 2, rng: createRng(5) });
    const e = evaluatePredictor(p, trace, { sequences: [0, 1, 2, 3], online: false, maxLookahead: 2, maxTokens: 1e9, numExperts: 16 });
    // 1600 tokens x 8 layers x 2 experts: a binomial recall's standard error is below 0.003.
    for (const a of e.perLookahead) {
      expect(Math.abs(a.recall - 0.9)).toBeLessThan(0.015);
      expect(Math.abs(a.precision - 0.9)).toBeLessThan(0.015);
    }
    expect(e.beforePass.samples).toBe(1600 * 8);
    expect(Math.abs(e.beforePass.layerMeanRecall - 0.9)).toBeLessThan(0.015);
    expect(Math.abs(e.beforePass.recall - 0.9)).toBeLessThan(0.015);
  });

  it('beforePass asks every layer before the pass, whatever maxLookahead: a predictor right only at the last layer', () => {
    // Scores the true experts at layer 7 only (reading the trace), nothing elsewhere.
    const lastOnly = {
      kind: 'oracle' as const,
      setValued: true,
      token: 0,
      condition(_v: unknown, t: number) {
        this.token = t;
      },
      scores(layer: number, out: Float64Array) {
        out.fill(0);
        if (layer !== 7) return;
        for (let k = 0; k < 2; k++) out[trace.experts[(this.token * 8 + layer) * 2 + k]] = 1;
      },
      learn() {},
      parameterCount: () => 0,
    };
    const e = evaluatePredictor(lastOnly, trace, { sequences: [0], online: false, maxLookahead: 1, maxTokens: 1e9, numExperts: 16 });
    expect(e.perLookahead).toHaveLength(1);
    // Layer 7 is asked at d = 1 only once known = 7 (so 1/8 of the d = 1 questions are right).
    expect(e.perLookahead[0].recall).toBeCloseTo(1 / 8, 6);
    // Before the pass, all 8 layers: per layer recall 0 except the last (1): mean 1/8, pooled 1/8.
    expect(e.beforePass.layerMeanRecall).toBeCloseTo(1 / 8, 6);
    expect(e.beforePass.precision).toBe(1);
  });

  it('a run reports the published accuracy next to the measured one, and the table prints both with the source', async () => {
    const scenario = parseScenario({
      name: 'published',
      seed: 2,
      model: 'mixtral-8x7b',
      hardware: 'rtx-4090',
      precision: { experts: 'int4' },
      trace: { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 3, tokensPerSequence: 60, popularity: { kind: 'zipf', exponent: 1 }, locality: 0.4, affinity: 0.4 } },
      policies: [
        { kind: 'lru', label: 'ef published', cache: { perLayer: 4 }, prefetch: { kind: 'expertflow' }, predictor: { kind: 'published', of: 'expertflow' } },
        { kind: 'lru', label: 'ef path', cache: { perLayer: 4 }, prefetch: { kind: 'expertflow' }, predictor: { kind: 'path' } },
        { kind: 'lru', label: 'spec', cache: { perLayer: 4 }, prefetch: { kind: 'speculative', lookahead: 1 }, predictor: { kind: 'affinity' } },
        { kind: 'lru', label: 'popularity', cache: { perLayer: 4 }, prefetch: { kind: 'speculative', lookahead: 1 }, predictor: { kind: 'popularity' } },
        { kind: 'lru', label: 'pregated', cache: { perLayer: 4 }, prefetch: { kind: 'pregated', accuracy: 0.8 } },
        { kind: 'lru', label: 'bound', cache: { perLayer: 4 }, prefetch: { kind: 'expertflow' }, predictor: { kind: 'oracle', precision: 0.7, recall: 0.7 } },
      ],
    });
    const r = await runScenario(scenario, { baseDir: '.' });
    const pub = r.results.find((p) => p.label.startsWith('ef published'))!.predictor!;
    expect(pub.published!.system).toBe('expertflow');
    expect(pub.published!.value).toBe(0.9);
    expect(pub.published!.bound).toBe('lower');
    // 180 tokens x 32 layers x 2 experts = 11520 trials: within 4 standard errors (0.011) of 0.9.
    expect(Math.abs(pub.published!.measured! - 0.9)).toBeLessThan(0.012);
    const path = r.results.find((p) => p.label.startsWith('ef path'))!.predictor!;
    expect(path.published!.system).toBe('expertflow');
    expect(path.published!.measured).toBe(path.evaluation.beforePass.layerMeanRecall);
    const spec = r.results.find((p) => p.label.startsWith('spec'))!.predictor!;
    expect(spec.published!.system).toBe('mixtral-offloading');
    expect(spec.published!.value).toBeNull();
    expect(spec.published!.measured).toBe(spec.evaluation.perLookahead[0].recall);
    expect(r.results.find((p) => p.label.startsWith('popularity'))!.predictor!.published).toBeUndefined();
    // The pre-gate of a pregated prefetch is Pre-gated MoE's (1 by construction); a bare oracle stands for no system.
    const pregated = r.results.find((p) => p.label.startsWith('pregated'))!.predictor!;
    expect(pregated.published!.system).toBe('pregated-moe');
    expect(pregated.published!.value).toBe(1);
    expect(Math.abs(pregated.published!.measured! - 0.8)).toBeLessThan(0.03);
    expect(r.results.find((p) => p.label.startsWith('bound'))!.predictor!.published).toBeUndefined();
    const table = predictorTable(r)!;
    expect(table).toContain('predictors against their papers');
    const row = table.split('\n').find((l) => l.startsWith('path ') && l.includes('expertflow'))!;
    expect(row).toContain(path.published!.measured!.toFixed(3));
    expect(row).toContain('> 0.900');
    expect(row).toContain('arXiv 2410.17954v2');
    expect(table.split('\n').find((l) => l.startsWith('affinity ') && l.includes('mixtral-offloading'))).toContain('no number');
  }, 60_000);

  it('a system block asks for its paper\'s accuracy instead of the stand-in (expertflow), and a paper without one is refused at system.predictor.of', () => {
    const base = { name: 'sys', seed: 1, model: 'mixtral-8x7b', hardware: 'a100-80gb', trace: { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 1, tokensPerSequence: 4, popularity: { kind: 'zipf', exponent: 1 } } } };
    const standIn = parseScenario({ ...base, system: { kind: 'expertflow' } });
    expect(standIn.policies[0]).toMatchObject({ prefetch: { kind: 'expertflow' }, predictor: { kind: 'path' } });
    const pub = parseScenario({ ...base, system: { kind: 'expertflow', predictor: { kind: 'published', of: 'expertflow' } } });
    expect(pub.policies[0]).toMatchObject({ prefetch: { kind: 'expertflow' }, predictor: { kind: 'published', of: 'expertflow' } });
    expect(() => parseScenario({ ...base, system: { kind: 'mixtral-offloading', predictor: { kind: 'published', of: 'mixtral-offloading' } } })).toThrow(
      /system\.predictor\.of: mixtral-offloading publishes no predictor accuracy/,
    );
  });

  it("an expertflow token scheduler's path predictor is reported against ExpertFlow's paper (the shipped serving scenario)", async () => {
    const { scenario, baseDir, file } = loadScenarioFile(join(root, 'scenarios', 'serving.yaml'));
    const r = await runScenario(scenario, { baseDir, file });
    const withPath = r.results.find((p) => p.schedulerPredictor?.kind === 'path')!;
    const c = withPath.schedulerPredictor!.published!;
    expect(c.system).toBe('expertflow');
    expect(c.value).toBe(0.9);
    expect(c.measured).toBe(withPath.schedulerPredictor!.accuracy.recall);
    expect(schedulerPredictorTable(r)).toContain(`path R ${c.measured!.toFixed(3)} against expertflow's published above 0.900`);
  }, 60_000);

  it('moesim presets lists every published accuracy with its source', () => {
    const text = presetsText();
    for (const k of publishedSystems) expect(text).toMatch(new RegExp(`^${k} .*${publishedAccuracies[k].paper.replace(/[()]/g, '.').slice(0, 20)}`, 'm'));
    expect((presetsJson() as { predictors: { published: { of: unknown } } }).predictors.published.of).toEqual(publishedAccuracies);
  });
});
