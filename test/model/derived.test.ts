import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  activeParamsPerToken,
  attentionFlopsPerToken,
  attentionParams,
  bytesPerParam,
  denseFfnParams,
  embeddingParams,
  expertBytes,
  expertParams,
  kvBytesPerTokenPerLayer,
  numMoeLayers,
  residentParams,
  routedExpertParamsTotal,
  sharedExpertParams,
  totalParams,
} from '../../src/model/derived.js';
import { modelPresets } from '../../src/model/presets.js';
import type { MoeModel } from '../../src/model/types.js';

const m = (name: string): MoeModel => modelPresets[name];

describe('bytesPerParam', () => {
  test('plain formats', () => {
    expect(bytesPerParam('fp32')).toBe(4);
    expect(bytesPerParam('bf16')).toBe(2);
    expect(bytesPerParam('fp16')).toBe(2);
    expect(bytesPerParam('fp8')).toBe(1);
    expect(bytesPerParam('int8')).toBe(1);
  });
  test('sub-byte formats carry an fp16 scale and zero point per group', () => {
    expect(bytesPerParam('int4')).toBe(0.5 + 4 / 128);
    expect(bytesPerParam('int4', 64)).toBe(0.5625);
    expect(bytesPerParam('int2', 128)).toBe(0.28125);
  });
});

describe('Mixtral-8x7B expert sizes (3 x 4096 x 14336)', () => {
  const mixtral = m('mixtral-8x7b');
  test('params', () => expect(expertParams(mixtral)).toBe(3 * 4096 * 14336));
  test('bytes by dtype', () => {
    expect(expertBytes(mixtral, 'bf16')).toBe(352_321_536);
    expect(expertBytes(mixtral, 'fp8')).toBe(176_160_768);
    expect(expertBytes(mixtral, 'int4')).toBe(93_585_408); // 176,160,768 x 0.53125
  });
});

test('gpt-oss experts count their biases: gate and up (2 x intermediate) and down (hidden)', () => {
  expect(expertParams(m('gpt-oss-20b'))).toBe(3 * 2880 * 2880 + 2 * 2880 + 2880);
});

test('shared experts: Qwen1.5-MoE has one of width 5632, DeepSeek-V2-Lite two of width 1408', () => {
  expect(sharedExpertParams(m('qwen1.5-moe-a2.7b'))).toBe(3 * 2048 * 5632);
  expect(sharedExpertParams(m('deepseek-v2-lite'))).toBe(2 * 3 * 2048 * 1408);
  expect(sharedExpertParams(m('mixtral-8x7b'))).toBe(0);
});

describe('attention projections', () => {
  test('GQA (Mixtral): q, o 4096x4096; k, v 4096x1024', () => {
    expect(attentionParams(m('mixtral-8x7b'))).toBe(2 * 4096 * 4096 + 2 * 4096 * 1024);
  });
  test('MLA with q LoRA (DeepSeek-V3)', () => {
    const q = 7168 * 1536 + 1536 * 128 * 192;
    const kvA = 7168 * (512 + 64);
    const kvB = 512 * 128 * (128 + 128);
    const o = 128 * 128 * 7168;
    expect(attentionParams(m('deepseek-v3'))).toBe(q + kvA + kvB + o);
  });
  test('MLA without q LoRA (DeepSeek-V2-Lite)', () => {
    expect(attentionParams(m('deepseek-v2-lite'))).toBe(2048 * 16 * 192 + 2048 * 576 + 512 * 16 * 256 + 16 * 128 * 2048);
  });
});

test('dense FFN layers use the expert layout', () => {
  expect(denseFfnParams(m('deepseek-v3'))).toBe(3 * 7168 * 18432);
  expect(denseFfnParams(m('switch-base-128'))).toBe(2 * 768 * 3072);
});

test('embeddings: two matrices unless tied', () => {
  expect(embeddingParams(m('mixtral-8x7b'))).toBe(2 * 32000 * 4096);
  expect(embeddingParams(m('switch-base-128'))).toBe(32128 * 768);
});

test('MoE layer counts', () => {
  expect(numMoeLayers(m('deepseek-v3'))).toBe(58);
  expect(numMoeLayers(m('deepseek-v2-lite'))).toBe(26);
  expect(numMoeLayers(m('switch-base-128'))).toBe(6);
  expect(numMoeLayers(m('mixtral-8x7b'))).toBe(32);
});

/**
 * Published totals and active counts (model cards / papers). Vendors count active parameters
 * differently: `withInputEmbedding` says whether their figure includes the input embedding table.
 */
const published: [name: string, totalB: number, activeB: number, withInputEmbedding: boolean][] = [
  ['mixtral-8x7b', 46.7, 12.9, true],
  ['mixtral-8x22b', 141, 39, true],
  ['deepseek-v3', 671, 37, false], // MTP module excluded
  ['deepseek-v2-lite', 15.7, 2.4, false],
  ['qwen1.5-moe-a2.7b', 14.3, 2.7, true],
  ['qwen3-30b-a3b', 30.5, 3.3, true],
  ['olmoe-1b-7b', 6.9, 1.3, true],
  ['gpt-oss-20b', 21, 3.6, false], // model card: 20.91B total, 3.61B active
  ['gpt-oss-120b', 117, 5.1, false], // model card: 116.83B total, 5.13B active
  ['phi-3.5-moe', 41.9, 6.6, true],
  ['deepseek-r1', 671, 37, false], // V3 shape
  ['kimi-k2', 1000, 32, false], // model card: 1T total, 32B activated
  ['qwen3-235b-a22b', 235, 22, true],
  ['glm-4.5', 355, 32, false], // model card: 355B total, 32B active
  ['llama-4-scout', 109, 17, true],
  ['llama-4-maverick', 400, 17, true],
  ['flame-moe-290m', 1.3, 0.29, true], // model card: 290M active / 1.3B total
  ['flame-moe-721m', 3.8, 0.721, true], // model card: 721M / 3.8B
];

test('FLAME-MoE-1.7B-10.3B: total within 3%; active 1.754B with the input embedding, 3.2% above the card\'s rounded "1.7B"', () => {
  const f = m('flame-moe-1.7b');
  expect(Math.abs(totalParams(f) / 1e9 / 10.3 - 1)).toBeLessThan(0.03);
  const active = activeParamsPerToken(f, { includeInputEmbedding: true }) / 1e9;
  expect(active).toBeGreaterThan(1.7);
  expect(active).toBeLessThan(1.76);
});

test('Llama-4-Maverick: MoE on every other layer', () => {
  expect(numMoeLayers(m('llama-4-maverick'))).toBe(24);
  expect(m('llama-4-maverick').moeLayers.slice(0, 3)).toEqual([1, 3, 5]);
});

describe.each(published)('%s matches its published size', (name, totalB, activeB, withInputEmbedding) => {
  const model = m(name);
  test(`total ${totalB}B within 3%`, () => {
    expect(Math.abs(totalParams(model) / 1e9 / totalB - 1)).toBeLessThan(0.03);
  });
  test(`active ${activeB}B within 3%`, () => {
    const active = activeParamsPerToken(model, { includeInputEmbedding: withInputEmbedding });
    expect(Math.abs(active / 1e9 / activeB - 1)).toBeLessThan(0.03);
  });
});

describe('KV cache per token per layer', () => {
  test('GQA stores K and V for each KV head', () => {
    expect(kvBytesPerTokenPerLayer(m('mixtral-8x7b'), 'bf16')).toBe(2 * 8 * 128 * 2);
    expect(kvBytesPerTokenPerLayer(m('qwen3-30b-a3b'), 'fp8')).toBe(2 * 4 * 128);
  });
  test('MLA stores the compressed latent plus the rope key', () => {
    expect(kvBytesPerTokenPerLayer(m('deepseek-v3'), 'bf16')).toBe((512 + 64) * 2);
  });
});

describe('attention FLOPs per token per layer', () => {
  test('GQA: 4 x heads x headDim x context', () => {
    expect(attentionFlopsPerToken(m('mixtral-8x7b'), 1000)).toBe(4 * 32 * 128 * 1000);
  });
  test('a sliding window caps the context', () => {
    const windowed: MoeModel = { ...m('mixtral-8x7b'), attention: { kind: 'gqa', numHeads: 32, numKvHeads: 8, headDim: 128, slidingWindow: 4096 } };
    expect(attentionFlopsPerToken(windowed, 10_000)).toBe(attentionFlopsPerToken(windowed, 4096));
    expect(attentionFlopsPerToken(windowed, 100)).toBe(4 * 32 * 128 * 100);
  });
  test('MLA (absorbed): 2 x heads x (2 x kvLoraRank + rope) x context', () => {
    expect(attentionFlopsPerToken(m('deepseek-v3'), 10)).toBe(2 * 128 * (2 * 512 + 64) * 10);
  });
  test('no context, no attention FLOPs', () => {
    expect(attentionFlopsPerToken(m('olmoe-1b-7b'), 0)).toBe(0);
  });
});

describe('invariants over random models', () => {
  const arbModel = fc
    .record({
      numLayers: fc.integer({ min: 1, max: 64 }),
      firstDense: fc.integer({ min: 0, max: 3 }),
      numExperts: fc.integer({ min: 1, max: 256 }),
      topKFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      numSharedExperts: fc.integer({ min: 0, max: 2 }),
      hiddenSize: fc.integer({ min: 1, max: 8192 }),
      expertIntermediateSize: fc.integer({ min: 1, max: 20000 }),
      expertMatrices: fc.constantFrom(2 as const, 3 as const),
      expertBias: fc.boolean(),
      tiedEmbeddings: fc.boolean(),
      vocabSize: fc.integer({ min: 1, max: 200_000 }),
    })
    .filter((r) => r.firstDense < r.numLayers)
    .map(
      (r): MoeModel => ({
        name: 'random',
        displayName: 'random',
        source: 'test',
        numLayers: r.numLayers,
        moeLayers: Array.from({ length: r.numLayers - r.firstDense }, (_, i) => r.firstDense + i),
        numExperts: r.numExperts,
        topK: Math.max(1, Math.ceil(r.topKFraction * r.numExperts)),
        numSharedExperts: r.numSharedExperts,
        sharedExpertIntermediateSize: r.numSharedExperts > 0 ? r.expertIntermediateSize : 0,
        hiddenSize: r.hiddenSize,
        expertIntermediateSize: r.expertIntermediateSize,
        expertMatrices: r.expertMatrices,
        expertBias: r.expertBias,
        denseIntermediateSize: 4 * r.hiddenSize,
        attention: { kind: 'gqa', numHeads: 8, numKvHeads: 2, headDim: 64 },
        vocabSize: r.vocabSize,
        tiedEmbeddings: r.tiedEmbeddings,
      }),
    );

  test('total = resident + routed experts', () => {
    fc.assert(fc.property(arbModel, (model) => totalParams(model) === residentParams(model) + routedExpertParamsTotal(model)));
  });
  test('resident < active <= total, and active grows with topK', () => {
    fc.assert(
      fc.property(arbModel, (model) => {
        const active = activeParamsPerToken(model, { includeInputEmbedding: true });
        const withMoreK = activeParamsPerToken({ ...model, topK: model.topK + 1, numExperts: model.numExperts + 1 }, { includeInputEmbedding: true });
        return residentParams(model) < active && active <= totalParams(model) && withMoreK > active;
      }),
    );
  });
  test('expert bytes never grow with narrower dtypes', () => {
    fc.assert(
      fc.property(arbModel, (model) => {
        const sizes = (['fp32', 'bf16', 'fp8', 'int4', 'int2'] as const).map((d) => expertBytes(model, d));
        return sizes.every((s, i) => i === 0 || s <= sizes[i - 1]);
      }),
    );
  });
});
