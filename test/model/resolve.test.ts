import { describe, expect, test } from 'vitest';
import { modelPresets } from '../../src/model/presets.js';
import { modelSpecSchema, resolveModel } from '../../src/model/resolve.js';
import type { MoeModel } from '../../src/model/types.js';
import { InputError } from '../../src/util/errors.js';

/** The InputError message resolveModel throws for `spec`. */
function errorOf(spec: unknown, fieldPath?: string): string {
  try {
    resolveModel(spec, fieldPath);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError');
}

const fullInline: Omit<MoeModel, 'name' | 'displayName' | 'source'> = {
  numLayers: 4,
  moeLayers: [1, 3],
  numExperts: 8,
  topK: 2,
  numSharedExperts: 0,
  sharedExpertIntermediateSize: 0,
  hiddenSize: 512,
  expertIntermediateSize: 1024,
  expertMatrices: 3,
  expertBias: false,
  denseIntermediateSize: 2048,
  attention: { kind: 'gqa', numHeads: 8, numKvHeads: 2, headDim: 64 },
  vocabSize: 1000,
  tiedEmbeddings: true,
};

describe('presets by name', () => {
  test('a preset name resolves to the catalog entry', () => {
    expect(resolveModel('mixtral-8x7b')).toEqual(modelPresets['mixtral-8x7b']);
  });
  test('the result is a copy: changing it leaves the catalog alone', () => {
    const model = resolveModel('mixtral-8x7b');
    model.moeLayers.push(99);
    model.topK = 7;
    expect(modelPresets['mixtral-8x7b'].topK).toBe(2);
    expect(modelPresets['mixtral-8x7b'].moeLayers).toHaveLength(32);
  });
  test('an unknown name suggests near ones', () => {
    expect(errorOf('mixtral-8x7')).toMatch(/^model: unknown model "mixtral-8x7"; did you mean "mixtral-8x7b"/);
    expect(errorOf({ preset: 'qwen3' })).toMatch(/^model\.preset: unknown model "qwen3"; did you mean "qwen3-235b-a22b", "qwen3-30b-a3b"/);
  });
  test('something that is neither a name nor an object', () => {
    expect(errorOf(42)).toBe('model: expected a preset name or an object, got 42');
    expect(errorOf(['mixtral-8x7b'])).toBe('model: expected a preset name or an object, got ["mixtral-8x7b"]');
  });
});

describe('preset with overrides', () => {
  test('overrides replace fields and mark the name and source', () => {
    const model = resolveModel({ preset: 'mixtral-8x7b', topK: 1 });
    expect(model.topK).toBe(1);
    expect(model.numExperts).toBe(8);
    expect(model.name).toBe('mixtral-8x7b+overrides');
    expect(model.source).toContain('overridden in scenario: topK');
  });
  test('a preset with no overrides keeps its name', () => {
    expect(resolveModel({ preset: 'olmoe-1b-7b' }).name).toBe('olmoe-1b-7b');
  });
  test('an explicit name wins', () => {
    expect(resolveModel({ preset: 'mixtral-8x7b', topK: 1, name: 'mixtral-top1' }).name).toBe('mixtral-top1');
  });
  test('topK above numExperts names both', () => {
    expect(errorOf({ preset: 'mixtral-8x7b', topK: 9 })).toBe('model.topK: expected at most numExperts (8), got 9');
  });
  test('MoE layers must lie within numLayers', () => {
    expect(errorOf({ preset: 'mixtral-8x7b', numLayers: 16 })).toBe('model.moeLayers[16]: expected a layer index below numLayers (16), got 16');
  });
  test('MoE layers must be ascending', () => {
    expect(errorOf({ preset: 'mixtral-8x7b', moeLayers: [0, 2, 2] })).toBe('model.moeLayers[2]: expected ascending, distinct indices, got 2 after 2');
  });
  test('dense layers need a dense FFN size', () => {
    expect(errorOf({ preset: 'mixtral-8x7b', moeLayers: [0, 1] })).toBe(
      'model.denseIntermediateSize: expected a positive size since 30 layers are dense, got 0',
    );
  });
  test('sizes must be positive integers', () => {
    expect(errorOf({ preset: 'mixtral-8x7b', hiddenSize: 0 })).toBe('model.hiddenSize: expected a positive integer, got 0');
    expect(errorOf({ preset: 'mixtral-8x7b', hiddenSize: 4096.5 })).toBe('model.hiddenSize: expected a positive integer, got 4096.5');
    expect(errorOf({ preset: 'mixtral-8x7b', numExperts: '8' })).toBe('model.numExperts: expected a positive integer, got "8"');
    expect(errorOf({ preset: 'mixtral-8x7b', moeLayers: [0, -1] })).toBe('model.moeLayers[1]: expected an integer >= 0, got -1');
  });
  test('expertMatrices is 2 or 3', () => {
    expect(errorOf({ preset: 'mixtral-8x7b', expertMatrices: 4 })).toBe('model.expertMatrices: expected 2 or 3, got 4');
  });
  test('unknown keys are rejected with a suggestion', () => {
    expect(errorOf({ preset: 'mixtral-8x7b', topk: 1 })).toBe('model: unknown key "topk"; did you mean "topK"?');
  });
  test('attention is replaced whole and checked', () => {
    const model = resolveModel({ preset: 'mixtral-8x7b', attention: { kind: 'gqa', numHeads: 32, numKvHeads: 32, headDim: 128 } });
    expect(model.attention).toEqual({ kind: 'gqa', numHeads: 32, numKvHeads: 32, headDim: 128 });
    expect(errorOf({ preset: 'mixtral-8x7b', attention: { kind: 'gqa', numHeads: 32, numKvHeads: 6, headDim: 128 } })).toBe(
      'model.attention.numKvHeads: expected a divisor of numHeads (32), got 6',
    );
    expect(errorOf({ preset: 'mixtral-8x7b', attention: { kind: 'mha' } })).toBe('model.attention.kind: expected "gqa" or "mla", got "mha"');
    expect(errorOf({ preset: 'mixtral-8x7b', attention: { kind: 'gqa', numHeads: 32, numKvHeads: 8, headDim: 128, window: 4 } })).toMatch(
      /^model\.attention: unknown key "window"; did you mean/,
    );
  });
  test('errors use the caller\'s field path', () => {
    expect(errorOf({ preset: 'mixtral-8x7b', topK: 9 }, 'sweep.models[2]')).toBe('sweep.models[2].topK: expected at most numExperts (8), got 9');
  });
});

describe('inline models without a preset', () => {
  test('a complete inline model resolves, with default metadata', () => {
    const model = resolveModel(fullInline);
    expect(model).toMatchObject({ ...fullInline, name: 'custom', source: 'inline in scenario' });
  });
  test('an inline model must give every architecture field', () => {
    const { topK, vocabSize, ...partial } = fullInline;
    expect(errorOf(partial)).toBe('model: without a preset, give every field; missing topK, vocabSize');
  });
  test('an MLA inline model', () => {
    const mla = { kind: 'mla', numHeads: 4, qLoraRank: null, kvLoraRank: 64, qkNopeHeadDim: 32, qkRopeHeadDim: 16, vHeadDim: 32 } as const;
    expect(resolveModel({ ...fullInline, name: 'tiny-mla', attention: mla }).attention).toEqual(mla);
  });
});

test('the schema accepts what resolveModel accepts', () => {
  expect(modelSpecSchema.safeParse('mixtral-8x7b').success).toBe(true);
  expect(modelSpecSchema.safeParse({ preset: 'mixtral-8x7b', topK: 1 }).success).toBe(true);
  expect(modelSpecSchema.safeParse({ preset: 'mixtral-8x7b', bogus: 1 }).success).toBe(false);
});
