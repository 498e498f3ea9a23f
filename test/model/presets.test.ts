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

test('the catalog has the twenty-two models the docs list', () => {
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
      'switch-large-128',
      'nllb-moe-54b',
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

test('Switch-Large-128 and NLLB-MoE-54B: decoder stacks, MoE every 2nd / 4th layer, top-1 / top-2, sizes of the published totals', async () => {
  const { totalParams } = await import('../../src/model/derived.js');
  const s = modelPresets['switch-large-128'];
  expect([s.numLayers, s.moeLayers.length, s.moeLayers[0], s.moeLayers.at(-1), s.topK, s.numExperts]).toEqual([24, 12, 1, 23, 1, 128]);
  // encoder and decoder of the same shape: twice the decoder stack is the 26.4B the Pre-gated MoE paper lists (within 2%)
  expect(Math.abs((2 * totalParams(s)) / 26.4e9 - 1)).toBeLessThan(0.02);
  const n = modelPresets['nllb-moe-54b'];
  expect(n.moeLayers).toEqual([3, 7, 11, 15, 19, 23]);
  expect([n.topK, n.expertBias, n.hiddenSize, n.expertIntermediateSize]).toEqual([2, true, 2048, 8192]);
  // 54.5B in all (the model card's 54B): twice the decoder stack (the shared embedding counted twice, 1%)
  expect(Math.abs((2 * totalParams(n)) / 54.5e9 - 1)).toBeLessThan(0.02);
  for (const m of [s, n]) expect(m.notes).toMatch(/decoder stack.*encoder.*cross-attention/s);
});

test('Switch-Large-128 and NLLB-MoE-54B declare their encoders: 24 layers, 12 / 6 MoE layers at the decoder\'s sparse steps; the encoder stack and the decoder make the published totals', async () => {
  const { encoderStack, totalParams } = await import('../../src/model/derived.js');
  const s = modelPresets['switch-large-128'];
  const n = modelPresets['nllb-moe-54b'];
  expect(s.encoder?.moeLayers).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]);
  expect(n.encoder?.moeLayers).toEqual([3, 7, 11, 15, 19, 23]);
  const se = encoderStack(s)!;
  const ne = encoderStack(n)!;
  expect([se.numLayers, se.moeLayers.length, se.numExperts, se.topK, se.hiddenSize, se.expertIntermediateSize, se.encoder]).toEqual([24, 12, 128, 1, 1024, 4096, undefined]);
  expect([ne.numLayers, ne.moeLayers.length, ne.numExperts, ne.topK, ne.hiddenSize, ne.expertIntermediateSize]).toEqual([24, 6, 128, 2, 2048, 8192]);
  // encoder + decoder: 26.4B (Pre-gated MoE, Table I) and 54.5B, within 2% (the shared embedding counted in both stacks)
  expect(Math.abs((totalParams(se) + totalParams(s)) / 26.4e9 - 1)).toBeLessThan(0.02);
  expect(Math.abs((totalParams(ne) + totalParams(n)) / 54.5e9 - 1)).toBeLessThan(0.02);
  // a decoder-only model has none
  expect(encoderStack(modelPresets['mixtral-8x7b'])).toBeUndefined();
});

test('FLAME-MoE: layer 0 dense, 64 experts top-6 with 2 shared, the traces\' MoE layers', () => {
  for (const [k, L] of [['flame-moe-290m', 9], ['flame-moe-721m', 12], ['flame-moe-1.7b', 18]] as const) {
    const m = modelPresets[k];
    expect([m.numLayers, m.moeLayers[0], m.moeLayers.length, m.numExperts, m.topK, m.numSharedExperts]).toEqual([L, 1, L - 1, 64, 6, 2]);
  }
});
