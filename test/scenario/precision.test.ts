import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import { bytesPerParam, expertParams } from '../../src/model/derived.js';
import { formatBitsPerWeight } from '../../src/model/formats.js';
import { resolveModel } from '../../src/model/resolve.js';
import { InputError } from '../../src/util/errors.js';

// A 2-layer Mixtral (8 experts of 4096 x 14336 x 3 per layer), every routed expert fetched (policy none).
const base = {
  name: 'precision-tiers',
  seed: 1,
  model: { preset: 'mixtral-8x7b', numLayers: 2, moeLayers: [0, 1] },
  hardware: 'rtx-4090',
  trace: { synthetic: { layers: 2, experts: 8, topK: 2, sequences: 1, tokensPerSequence: 3, popularity: { kind: 'zipf', exponent: 0.8 } } },
  policies: [{ kind: 'none' }],
  timeline: { fromStep: 0, steps: 3 },
};
const parse = (precision: Record<string, unknown>) => parseScenario({ ...base, precision });

describe('precision tiers', () => {
  it('the old shape parses to itself (plain dtypes, one groupSize)', () => {
    expect(parse({ experts: 'int4', dense: 'bf16', groupSize: 64 }).precision).toEqual({ experts: 'int4', dense: 'bf16', kvCache: 'bf16', groupSize: 64 });
    expect(parse({}).precision).toEqual({ experts: 'bf16', dense: 'bf16', kvCache: 'bf16', groupSize: 128 });
  });

  it('each tier takes a named format or a dtype with its own group size', () => {
    const p = parse({ experts: { format: 'hqq-3bit-g64' }, dense: { dtype: 'int4', groupSize: 64 } }).precision;
    expect(p.experts).toEqual({ format: 'hqq-3bit-g64' });
    expect(p.dense).toEqual({ dtype: 'int4', groupSize: 64 });
  });

  it('bad tiers are input errors naming the field', () => {
    expect(() => parse({ experts: { format: 'hqq-5bit' } })).toThrow(InputError);
    expect(() => parse({ experts: { format: 'hqq-5bit' } })).toThrow(/^precision\.experts\.format: unknown weight format "hqq-5bit"; expected one of hqq-2bit-g16, /);
    // The bad name is quoted once, not again as ', got "hqq-5bit"'.
    expect(() => parse({ experts: { format: 'hqq-5bit' } })).toThrow(/gguf-q4_k_m$/);
    expect(() => parse({ dense: { dtype: 'int3', groupSize: 0 } })).toThrow(/^precision\.dense\.groupSize: /);
    expect(() => parse({ dense: { format: 'gguf-q4_k', groupSize: 32 } })).toThrow(/^precision\.dense: unknown field "groupSize"/);
    // A bad dtype in the {dtype} shape names that field, not the {format} shape's missing format.
    expect(() => parse({ experts: { dtype: 'int5' } })).toThrow(/^precision\.experts\.dtype: .*expected one of .*"int3".*, got "int5"$/);
    expect(() => parse({ experts: { dtype: 'int5', groupSize: 64 } })).toThrow(/^precision\.experts\.dtype: /);
  });
});

describe('an int3 expert tier against int4: the copies scale with the bytes', () => {
  const run = async (experts: unknown) => {
    const r = await runScenario(parse({ experts, dense: 'bf16' }), { baseDir: '.' });
    const { metrics, timeline } = r.results[0];
    const fetches = timeline!.filter((s) => s.resource === 'link');
    return { metrics, durations: fetches.map((s) => s.endMs - s.startMs), starts: fetches.map((s) => s.startMs) };
  };

  it('bytes moved are misses x expert weights x the tier bytes; each copy is latency + bytes / bandwidth', async () => {
    const m = resolveModel(base.model as never, 'model');
    const W = expertParams(m);
    const b3 = bytesPerParam('int3', 128);
    const b4 = bytesPerParam('int4', 128);
    const bH = formatBitsPerWeight('hqq-3bit-g64', m, 'experts') / 8;
    const [i3, i4, h3, bf] = await Promise.all([run('int3'), run('int4'), run({ format: 'hqq-3bit-g64' }), run('bf16')]);
    // The same misses in all four (policy none: every routed expert fetched).
    expect(i3.metrics.misses).toBe(i4.metrics.misses);
    expect(i3.metrics.misses).toBeGreaterThan(0);
    expect(i3.metrics.bytesH2D).toBeCloseTo(i3.metrics.misses * W * b3, -1);
    expect(i4.metrics.bytesH2D).toBeCloseTo(i4.metrics.misses * W * b4, -1);
    expect(h3.metrics.bytesH2D).toBeCloseTo(h3.metrics.misses * W * bH, -1);
    // One link span per fetch, all of one size; latency and bandwidth cancel in the ratio of differences.
    expect(i3.durations.length).toBeGreaterThan(0);
    const d = (x: { durations: number[] }) => x.durations[0];
    for (const x of [i3, i4, h3, bf]) for (const t of x.durations) expect(t).toBeCloseTo(d(x), 9);
    expect((d(i4) - d(i3)) / (d(bf) - d(i4))).toBeCloseTo((b4 - b3) / (2 - b4), 6);
    expect((d(h3) - d(i3)) / (d(i4) - d(i3))).toBeCloseTo((bH - b3) / (b4 - b3), 6);
    // int3 copies are shorter than int4's: 0.40625 vs 0.53125 bytes per weight.
    expect(d(i3)).toBeLessThan(d(i4));
    expect(i3.metrics.tpotMs).toBeLessThan(i4.metrics.tpotMs);
  });
});
