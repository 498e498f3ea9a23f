import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createScheduler } from '../../src/scheduling/index.js';
import { PredictedPaths } from '../../src/scheduling/predicted-paths.js';
import { maskWords, popcount32 } from '../../src/scheduling/paths.js';
import type { ReadyTokens, TokenScheduler } from '../../src/scheduling/types.js';
import type { SchedulerSpec } from '../../src/scheduling/spec.js';
import { predictors, type PredictorKind } from '../../src/predictors/index.js';
import { predictorSchema } from '../../src/predictors/spec.js';
import type { RoutingPredictor } from '../../src/predictors/types.js';
import { requestTrace } from '../../src/workload/request-trace.js';
import { buildRequests } from '../../src/workload/requests.js';
import { runScenario } from '../../src/sim/run.js';
import { parseScenario } from '../../src/scenario/load.js';
import { comparisonTable } from '../../src/report/table.js';
import { createRng } from '../../src/rng/rng.js';
import { slotIndex, type Trace } from '../../src/trace/types.js';
import type { RunResult } from '../../src/metrics/types.js';
import { traceOf } from '../helpers/trace.js';
import { drive, lengthsTrace, servingSpec } from '../helpers/serving.js';
import { ServingSource } from '../../src/workload/serving-source.js';

function predictor(kind: PredictorKind, trace: Trace, extra: Record<string, unknown> = {}): RoutingPredictor {
  const { kind: _k, ...params } = predictorSchema.parse({ kind, ...extra }) as Record<string, unknown>;
  delete params.train;
  const create = predictors[kind].create as (c: unknown, p: unknown) => RoutingPredictor;
  return create({ numLayers: trace.numLayers, numExperts: trace.numExperts, topK: trace.topK, rng: createRng('p') }, params);
}

/** Paths predicted for requests that are the trace's sequences (request r = sequence r, from its first token). */
function predictionsOn(trace: Trace, p: RoutingPredictor): PredictedPaths {
  return new PredictedPaths(p, true, trace, Int32Array.from(trace.sequences, (s) => s.start), trace.numExperts);
}

/**
 * Each sequence's token at `pos[r]` ready (its earlier tokens told to the scheduler as completed),
 * in FIFO priority order by `waited` (descending, then request).
 */
function readyAt(trace: Trace, pos: number[], waited: number[], schedulers: TokenScheduler[]): ReadyTokens {
  pos.forEach((p, r) => {
    if (p > 0) for (const s of schedulers) s.completed?.(r, 0, p);
  });
  const order = pos.map((_, r) => r).sort((a, b) => waited[b] - waited[a] || a - b);
  return {
    count: pos.length,
    request: Int32Array.from(order),
    token: Int32Array.from(order, (r) => trace.sequences[r].start + pos[r]),
    waited: Int32Array.from(order, (r) => waited[r]),
  };
}

function expertflowWith(trace: Trace, predictions: PredictedPaths | undefined, W: number, spec: SchedulerSpec = { kind: 'expertflow', noise: 0 }): TokenScheduler {
  return createScheduler(spec, { trace, numExperts: trace.numExperts, maxWaitSteps: W, ...(predictions ? { predictions } : {}), rng: createRng(1) });
}

function pick(s: TokenScheduler, ready: ReadyTokens, capacity: number): number[] {
  const out = new Int32Array(ready.count);
  return [...out.slice(0, s.select(ready, capacity, out))];
}

/** Distinct (layer, expert) pairs of the picked ready tokens, by the paths `predictions` gives them. */
function predictedPairs(trace: Trace, predictions: PredictedPaths, ready: ReadyTokens, picked: number[]): number {
  const S = trace.numLayers * maskWords(trace.numExperts);
  const one = new Uint32Array(S);
  const union = new Uint32Array(S);
  for (const i of picked) {
    predictions.fill(ready, i, one, 0);
    for (let j = 0; j < S; j++) union[j] |= one[j];
  }
  return union.reduce((n, w) => n + popcount32(w), 0);
}

/** Distinct (layer, expert) pairs of the picked ready tokens, by the trace's truth. */
function truePairs(trace: Trace, ready: ReadyTokens, picked: number[]): number {
  const seen = new Set<number>();
  for (const i of picked) {
    for (let l = 0; l < trace.numLayers; l++) {
      const b = slotIndex(trace, ready.token[i], l);
      for (let k = 0; k < trace.topK; k++) if (trace.experts[b + k] !== 0xffff) seen.add(l * trace.numExperts + trace.experts[b + k]);
    }
  }
  return seen.size;
}

/** A random trace of 1..8 sequences of 1..6 tokens (L layers, E experts, top-2), a ready position in each, and waits. */
const arbCase = fc
  .record({ L: fc.integer({ min: 1, max: 4 }), E: fc.integer({ min: 2, max: 40 }), lengths: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 8 }) })
  .chain(({ L, E, lengths }) =>
    fc.record({
      seqs: fc.tuple(...lengths.map((n) => fc.array(fc.array(fc.uniqueArray(fc.integer({ min: 0, max: E - 1 }), { minLength: 1, maxLength: 2 }), { minLength: L, maxLength: L }), { minLength: n, maxLength: n }))),
      pos: fc.tuple(...lengths.map((n) => fc.integer({ min: 0, max: n - 1 }))),
      waited: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: lengths.length, maxLength: lengths.length }),
      capacity: fc.integer({ min: 1, max: 8 }),
      W: fc.integer({ min: 0, max: 4 }),
      E: fc.constant(E),
    }),
  )
  .map(({ seqs, pos, waited, capacity, W, E }) => ({ trace: traceOf(seqs, E), pos, waited, capacity, W }));

describe('expertflow with a routing predictor', () => {
  it('with an exact oracle picks what the noise-0 fallback picks (property)', () => {
    fc.assert(
      fc.property(arbCase, ({ trace, pos, waited, capacity, W }) => {
        const predictions = predictionsOn(trace, predictor('oracle', trace));
        const withOracle = expertflowWith(trace, predictions, W, { kind: 'expertflow', predictor: predictorSchema.parse({ kind: 'oracle' }) });
        const fallback = expertflowWith(trace, undefined, W);
        const ready = readyAt(trace, pos, waited, [withOracle, fallback]);
        expect(pick(withOracle, ready, capacity)).toEqual(pick(fallback, ready, capacity));
      }),
      { numRuns: 300 },
    );
  });

  it('never activates more distinct experts per micro-batch than fifo on the same ready set: by the paths it predicted, and by the truth with an exact oracle (property)', () => {
    const specs: [PredictorKind, Record<string, unknown>][] = [['path', {}], ['affinity', {}], ['activation-matrix', {}], ['popularity', {}], ['oracle', { precision: 0.7, recall: 0.6 }], ['oracle', {}]];
    fc.assert(
      fc.property(arbCase, fc.integer({ min: 0, max: specs.length - 1 }), ({ trace, pos, waited, capacity, W }, which) => {
        const [kind, extra] = specs[which];
        const predictions = predictionsOn(trace, predictor(kind, trace, extra));
        const ef = expertflowWith(trace, predictions, W, { kind: 'expertflow', predictor: predictorSchema.parse({ kind, ...extra }) });
        const fifo = createScheduler({ kind: 'fifo' }, { trace, numExperts: trace.numExperts, maxWaitSteps: W, rng: createRng(1) });
        const ready = readyAt(trace, pos, waited, [ef]);
        const e = pick(ef, ready, capacity);
        const f = pick(fifo, ready, capacity);
        expect(predictedPairs(trace, predictions, ready, e)).toBeLessThanOrEqual(predictedPairs(trace, predictions, ready, f));
        if (kind === 'oracle' && Object.keys(extra).length === 0) expect(truePairs(trace, ready, e)).toBeLessThanOrEqual(truePairs(trace, ready, f));
      }),
      { numRuns: 300 },
    );
  });

  it('predicts causally: conditions the predictor before the token\'s forward pass, on all of its request\'s earlier tokens and nothing later', () => {
    // Requests reusing two sequences at random offsets, served with prompts and chunked prefill.
    const trace = lengthsTrace([30, 24], 3, 8);
    const w = servingSpec({ requests: 9, maxBatchSize: 4, microBatchSize: 2, promptTokens: { kind: 'uniform', min: 0, max: 6 }, outputTokens: { kind: 'uniform', min: 1, max: 8 }, window: 'random', prefill: { microBatchTokens: 4 } });
    const table = buildRequests(trace, w, createRng(2), '2');
    const requests = requestTrace(trace, table);
    const seen: string[] = [];
    let learned = 0;
    const inner = predictor('path', requests);
    const spy: RoutingPredictor = {
      ...inner,
      condition(view, token, known) {
        const seq = view.seqOf[token];
        // Exactly the request's earlier tokens have run: the token's own routing and later ones are unknown.
        if (known !== 0 || view.observedTokens[seq] !== view.posOf[token]) seen.push(`token ${token}: known ${known}, ${view.observedTokens[seq]} observed at position ${view.posOf[token]}`);
        inner.condition(view, token, known);
      },
      learn(view, token) {
        learned++;
        inner.learn(view, token);
      },
    };
    const predictions = new PredictedPaths(spy, true, requests, table.firstToken, 8);
    const scheduler = createScheduler({ kind: 'expertflow', predictor: predictorSchema.parse({ kind: 'path' }) }, { trace, numExperts: 8, maxWaitSteps: 3, predictions, rng: createRng(1) });
    const steps = drive(new ServingSource(trace, table, { maxBatchSize: 4, microBatchSize: 2, prefillTokens: 4 }, scheduler, 8));
    expect(seen).toEqual([]);
    // Every token of every request completed, in order (the view throws otherwise), and was learned from.
    expect(learned).toBe(requests.tokens);
    const decodeTokens = steps.filter((x) => !x.prefill).reduce((n, x) => n + x.tokens.length, 0);
    expect(predictions.accuracy().tokens).toBe(decodeTokens);
  });

  it('scores its paths against the truth once the tokens have run', () => {
    const trace = traceOf([[[[0, 1]], [[2, 3]], [[0, 2]]]], 4);
    const exact = predictionsOn(trace, predictor('oracle', trace));
    // Popularity, learning online: before token 1, {0, 1} (token 0's); before token 2, a four-way tie: {0, 1}.
    const popular = predictionsOn(trace, predictor('popularity', trace));
    const ready = (pos: number): ReadyTokens => ({ count: 1, request: Int32Array.of(0), token: Int32Array.of(pos), waited: Int32Array.of(0) });
    const out = new Uint32Array(1);
    for (const p of [exact, popular]) {
      p.completed(0, 0, 1); // token 0 was the prompt: never predicted, not scored
      for (const pos of [1, 2]) {
        p.fill(ready(pos), 0, out, 0);
        p.fill(ready(pos), 0, out, 0); // asked again while waiting: the same prediction, scored once
        p.completed(0, pos, 1);
      }
    }
    expect(exact.accuracy()).toEqual({ tokens: 2, precision: 1, recall: 1 });
    expect(popular.accuracy()).toEqual({ tokens: 2, precision: 1 / 4, recall: 1 / 4 });
  });

  it('a request trace gives each request its own window, also where requests reuse a sequence', () => {
    const trace = traceOf([Array.from({ length: 10 }, (_, t) => [[t % 4], [(t + 1) % 4]]), Array.from({ length: 6 }, (_, t) => [[(t + 2) % 4], [t % 4]])], 4);
    const table = buildRequests(trace, servingSpec({ requests: 7, promptTokens: 2, outputTokens: 3, window: 'random' }), createRng(3), '3');
    const req = requestTrace(trace, table);
    expect(req.sequences).toHaveLength(7);
    for (let r = 0; r < 7; r++) {
      const s = req.sequences[r];
      expect(s.length).toBe(4); // 2 prompt tokens, then 2 decode tokens (the last output is never fed back)
      for (let p = 0; p < s.length; p++) {
        for (let l = 0; l < 2; l++) expect(req.experts[slotIndex(req, s.start + p, l)]).toBe(trace.experts[slotIndex(trace, table.firstToken[r] + p, l)]);
      }
    }
  });

  it('needs its predictions wired in when it names a predictor', () => {
    const trace = traceOf([[[[0]]]], 2);
    expect(() => expertflowWith(trace, undefined, 2, { kind: 'expertflow', predictor: predictorSchema.parse({ kind: 'path' }) })).toThrow(/no predictions are wired in/);
  });
});

const base = {
  name: 'sched-predictor-test',
  seed: 5,
  model: 'mixtral-8x7b',
  hardware: 'rtx-4090',
  precision: { experts: 'int4' },
  trace: { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 4, tokensPerSequence: 80, popularity: { kind: 'zipf', exponent: 1.2 }, locality: 0.4, affinity: 0.3 } },
  policies: [{ kind: 'lru', cache: { perLayer: 4 } }],
};

function workload(schedulers: object[]) {
  return {
    kind: 'serving',
    requests: 16,
    arrivals: { kind: 'poisson', ratePerSec: 1 },
    maxBatchSize: 8,
    microBatchSize: 2,
    promptTokens: { kind: 'uniform', min: 4, max: 12 },
    outputTokens: { kind: 'uniform', min: 4, max: 16 },
    window: 'random',
    schedulers,
  };
}

async function run(schedulers: object[], over: object = {}): Promise<RunResult> {
  return runScenario(parseScenario({ ...base, workload: workload(schedulers), ...over }), { baseDir: '.' });
}

describe('expertflow with a routing predictor, end to end', () => {
  it('with an exact oracle the run equals the noise-0 fallback, and the oracle scores 1/1 over every decode token', async () => {
    const r = await run([{ kind: 'expertflow', noise: 0 }, { kind: 'expertflow', predictor: { kind: 'oracle' } }]);
    const [fallback, oracle] = r.results;
    expect(oracle.label).toBe('lru, 4/layer · expertflow (oracle 1/1)');
    expect(oracle.metrics).toEqual(fallback.metrics);
    expect(oracle.serving).toEqual(fallback.serving);
    expect(fallback.schedulerPredictor).toBeUndefined();
    const s = oracle.serving!;
    expect(oracle.schedulerPredictor).toMatchObject({ kind: 'oracle', training: { mode: 'none' }, accuracy: { tokens: s.decodeMicroBatches * s.meanDecodeTokens, precision: 1, recall: 1 } });
  });

  it('is deterministic per seed with learned predictors, and reports them in the table', async () => {
    const schedulers = [
      { kind: 'fifo' },
      { kind: 'expertflow', predictor: { kind: 'path' } },
      { kind: 'expertflow', predictor: { kind: 'path', epochs: 2, train: { fraction: 0.5, online: true } } },
      { kind: 'expertflow', predictor: { kind: 'activation-matrix' } },
      { kind: 'expertflow', predictor: { kind: 'oracle', precision: 0.8, recall: 0.8 } },
    ];
    const a = await run(schedulers);
    const b = await run(schedulers);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const c = await run(schedulers, { seed: 6 });
    expect(c.results.map((p) => p.schedulerPredictor?.accuracy)).not.toEqual(a.results.map((p) => p.schedulerPredictor?.accuracy));
    for (const p of a.results.slice(1)) {
      const acc = p.schedulerPredictor!.accuracy;
      expect(acc.tokens).toBe(p.serving!.decodeMicroBatches * p.serving!.meanDecodeTokens);
      expect(acc.precision).toBeGreaterThan(0);
      expect(acc.recall).toBeGreaterThan(0);
    }
    expect(a.results[2].schedulerPredictor!.training).toMatchObject({ mode: 'offline+online', offlineTokens: 160 });
    expect(a.results[2].schedulerPredictor!.fit?.epochs).toBe(2);
    expect(a.warnings.join('\n')).toMatch(/workload\.schedulers\[2\]\.predictor: trained on the first 2 of 4 sequences, which the requests also replay/);
    const table = comparisonTable(a);
    expect(table).toMatch(/scheduler predictions/);
    expect(table).toMatch(/lru, 4\/layer · expertflow \(path\)\s+path\s+online/);
  });

  it('takes predictor or noise, not both; lookahead takes no predictor; noise defaults without a predictor', () => {
    const parse = (schedulers: object[]) => parseScenario({ ...base, workload: workload(schedulers) });
    expect(() => parse([{ kind: 'expertflow', noise: 0.1, predictor: { kind: 'path' } }])).toThrow(/workload\.schedulers\[0\]\.noise: give predictor \(predicted paths\) or noise/);
    expect(() => parse([{ kind: 'lookahead', predictor: { kind: 'path' } }])).toThrow(/workload\.schedulers\[0\]: unknown field "predictor"/);
    expect(() => parse([{ kind: 'expertflow', predictor: { kind: 'path', bogus: 1 } }])).toThrow(/workload\.schedulers\[0\]\.predictor: unknown field "bogus"/);
    const w = parse([{ kind: 'expertflow' }, { kind: 'expertflow', predictor: { kind: 'affinity' } }]).workload;
    expect(w.kind === 'serving' && w.schedulers).toEqual([
      { kind: 'expertflow', noise: 0.1 },
      { kind: 'expertflow', predictor: { kind: 'affinity', maxDistance: 4 } },
    ]);
  });
});
