import { describe, expect, test } from 'vitest';
import { modelPresets } from '../../src/model/presets.js';
import { validateModel } from '../../src/model/resolve.js';

describe.each(Object.entries(modelPresets))('preset %s', (key, model) => {
  test('is named after its key and cites a config.json', () => {
    expect(model.name).toBe(key);
    expect(model.source).toMatch(/^https:\/\/huggingface\.co\/.+\/config\.json$/);
  });
  test('is consistent', () => {
    expect(() => validateModel(model)).not.toThrow();
  });
});

test('the catalog has the twenty models the docs list', () => {
  expect(Object.keys(modelPresets).sort()).toEqual(
    [
      'deepseek-v2-lite',
      'deepseek-v3',
      'gpt-oss-120b',
      'gpt-oss-20b',
      'mixtral-8x22b',
      'mixtral-8x7b',
      'olmoe-1b-7b',
      'phi-3.5-moe',
      'qwen1.5-moe-a2.7b',
      'qwen3-30b-a3b',
      'switch-base-128',
      'deepseek-r1',
      'kimi-k2',
      'qwen3-235b-a22b',
      'glm-4.5',
      'llama-4-scout',
      'llama-4-maverick',
      'flame-moe-290m',
      'flame-moe-721m',
      'flame-moe-1.7b',
    ].sort(),
  );
});

test('DeepSeek models start with dense layers (first_k_dense_replace)', () => {
  expect(modelPresets['deepseek-v3'].moeLayers[0]).toBe(3);
  expect(modelPresets['deepseek-v3'].moeLayers.at(-1)).toBe(60);
  expect(modelPresets['deepseek-v2-lite'].moeLayers[0]).toBe(1);
});

test('Switch is a decoder stack with MoE on odd layers, top-1', () => {
  const s = modelPresets['switch-base-128'];
  expect(s.moeLayers).toEqual([1, 3, 5, 7, 9, 11]);
  expect(s.topK).toBe(1);
  expect(s.notes).toMatch(/decoder/);
});

test('FLAME-MoE: layer 0 dense, 64 experts top-6 with 2 shared, the traces\' MoE layers', () => {
  for (const [k, L] of [['flame-moe-290m', 9], ['flame-moe-721m', 12], ['flame-moe-1.7b', 18]] as const) {
    const m = modelPresets[k];
    expect([m.numLayers, m.moeLayers[0], m.moeLayers.length, m.numExperts, m.topK, m.numSharedExperts]).toEqual([L, 1, L - 1, 64, 6, 2]);
  }
});
