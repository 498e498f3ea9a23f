import { describe, expect, it } from 'vitest';
import { bytesPerParam, expertBytes, expertParams, residentParams } from '../../src/model/derived.js';
import { formatBitsPerWeight, precisionBytesPerParam, storageFormats, tierBytesPerParam, tierDtype, tierLabel, useMoreBits } from '../../src/model/formats.js';
import { modelPresets } from '../../src/model/presets.js';

const mixtral = modelPresets['mixtral-8x7b'];
const dsv3 = modelPresets['deepseek-v3'];
const bits = (name: string) => formatBitsPerWeight(name, mixtral, 'experts');

describe('storage formats, bits per weight from their layouts', () => {
  it('GGUF blocks: the struct bytes of ggml-common.h x 8 over the block', () => {
    // block_q4_K: d, dmin (2 x 2 B) + scales[12] + qs[256 / 2] = 144 B per 256.
    expect(bits('gguf-q4_k')).toBe(((2 * 2 + 12 + 128) * 8) / 256);
    expect(bits('gguf-q4_k')).toBe(4.5);
    // block_q6_K: ql[128] + qh[64] + scales[16] + d (2 B) = 210 B per 256.
    expect(bits('gguf-q6_k')).toBe(((128 + 64 + 16 + 2) * 8) / 256);
    expect(bits('gguf-q6_k')).toBe(6.5625);
    // block_q3_K: hmask[32] + qs[64] + scales[12] + d = 110 B per 256.
    expect(bits('gguf-q3_k')).toBe(3.4375);
    // block_q2_K: scales[16] + qs[64] + d + dmin = 84 B per 256.
    expect(bits('gguf-q2_k')).toBe(2.625);
    // block_q5_K: d, dmin + scales[12] + qh[32] + qs[128] = 176 B per 256.
    expect(bits('gguf-q5_k')).toBe(5.5);
    // block_q4_0: d + qs[16] = 18 B per 32; block_q8_0: d + qs[32] = 34 B per 32.
    expect(bits('gguf-q4_0')).toBe(4.5);
    expect(bits('gguf-q8_0')).toBe(8.5);
  });

  it('HQQ as mixtral-offloading configures it: packed values, 8-bit scale and zero per group, fp16 meta per 128 (attention: 256) scales', () => {
    expect(bits('hqq-2bit-g16')).toBe(2 + 16 / 16 + 32 / (128 * 16));
    expect(bits('hqq-2bit-g16')).toBe(3.015625);
    // 3-bit: 10 values per int32.
    expect(bits('hqq-3bit-g64')).toBe(32 / 10 + 16 / 64 + 32 / (128 * 64));
    expect(bits('hqq-4bit-g64')).toBe(4 + 16 / 64 + 32 / (256 * 64));
  });

  it('GPTQ: bits-wide values, an fp16 scale and a bits-wide packed zero per group of 128', () => {
    expect(bits('gptq-4bit-g128')).toBe(4 + (16 + 4) / 128);
    expect(bits('gptq-3bit-g128')).toBe(3 + (16 + 3) / 128);
  });

  it('every format names its source and has a nominal dtype', () => {
    for (const [k, f] of Object.entries(storageFormats)) {
      expect(f.source.length, k).toBeGreaterThan(20);
      expect(['int2', 'int3', 'int4', 'int8']).toContain(f.dtype);
    }
  });
});

describe('bytes per Mixtral expert (3 x 4096 x 14336 = 176,160,768 weights)', () => {
  const params = 3 * 4096 * 14336;
  it('is the layout bits x weights / 8 for each format', () => {
    expect(expertParams(mixtral)).toBe(params);
    const per = (t: Parameters<typeof tierBytesPerParam>[0]) => tierBytesPerParam(t, 128, mixtral, 'experts') * params;
    expect(per({ format: 'hqq-2bit-g16' })).toBe((params * 3.015625) / 8); // 66.41 MB
    expect(per({ format: 'hqq-3bit-g64' })).toBeCloseTo((params * (3.2 + 0.25 + 1 / 256)) / 8, 0); // 76.05 MB
    expect(per({ format: 'gguf-q4_k' })).toBe(params * 0.5625); // 99.09 MB
    // Q4_K_M experts: gate and up Q4_K, down Q6_K in 16 of Mixtral's 32 layers.
    expect(per({ format: 'gguf-q4_k_m' })).toBe((params / 3) * (2 * 4.5 + 0.5 * 6.5625 + 0.5 * 4.5) / 8);
  });

  it('plain dtypes keep the fp16 scale + zero rule; int3 is 3/8 B of values plus metadata', () => {
    expect(bytesPerParam('int3', 128)).toBe(0.375 + 4 / 128);
    expect(tierBytesPerParam('int3', 64, mixtral, 'experts')).toBe(0.375 + 4 / 64);
    expect(tierBytesPerParam({ dtype: 'int3', groupSize: 32 }, 128, mixtral, 'experts')).toBe(0.375 + 4 / 32);
    expect(tierBytesPerParam({ dtype: 'int4' }, 64, mixtral, 'experts')).toBe(bytesPerParam('int4', 64));
    expect(expertBytes(mixtral, 'int3')).toBe(Math.ceil(params * (0.375 + 4 / 128)));
    expect(tierBytesPerParam('int4', 37, mixtral, 'experts')).toBe(bytesPerParam('int4', 37));
  });
});

describe('gguf-q4_k_m: llama.cpp Q4_K_M rules per tier', () => {
  it('use_more_bits picks half of a 32-layer model and 30 of 61 layers', () => {
    const count = (n: number) => Array.from({ length: n }, (_, i) => i).filter((i) => useMoreBits(i, n)).length;
    expect(count(32)).toBe(16);
    expect(Array.from({ length: 32 }, (_, i) => i).filter((i) => useMoreBits(i, 32))).toEqual([0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]);
    expect(count(61)).toBe(30);
  });

  it("Mixtral's dense tier: Q8_0 attn_k/attn_v and Q5_K attn_output (8 experts), Q4_K attn_q and token_embd, Q6_K output, 16-bit router", () => {
    const L = 32;
    const attn = 4096 * 4096 * 4.5 + 2 * 4096 * 1024 * 8.5 + 4096 * 4096 * 5.5;
    const router = 4096 * 8 * 16;
    const emb = 32000 * 4096 * (4.5 + 6.5625);
    const total = L * (attn + router) + emb;
    expect(formatBitsPerWeight('gguf-q4_k_m', mixtral, 'dense')).toBeCloseTo(total / residentParams(mixtral), 12);
    // The whole file at the two tiers: ~4.87 bits per weight, 28.4 GB (Ollama's 8x7b q4_K_M tag is listed at 28 GB).
    const fileBytes = precisionBytesPerParam({ experts: { format: 'gguf-q4_k_m' }, dense: { format: 'gguf-q4_k_m' }, kvCache: 'fp16', groupSize: 128 }, 'experts', mixtral) * 32 * 8 * expertParams(mixtral) + (total / 8);
    expect(fileBytes / 1e9).toBeCloseTo(28.4, 1);
  });

  it("DeepSeek-V3's experts: Q6_K down in 27 of its 58 MoE layers (layers 3..60 of 61)", () => {
    const moreMoe = dsv3.moeLayers.filter((l) => useMoreBits(l, 61)).length;
    expect(dsv3.moeLayers).toHaveLength(58);
    expect(moreMoe).toBe(27);
    expect(formatBitsPerWeight('gguf-q4_k_m', dsv3, 'experts')).toBeCloseTo((2 * 4.5 + (27 / 58) * 6.5625 + (31 / 58) * 4.5) / 3, 12);
  });

  it('tier dtype and label', () => {
    expect(tierDtype({ format: 'hqq-3bit-g64' })).toBe('int3');
    expect(tierDtype({ format: 'gguf-q4_k_m' })).toBe('int4');
    expect(tierDtype({ dtype: 'int3', groupSize: 64 })).toBe('int3');
    expect(tierLabel({ format: 'hqq-3bit-g64' })).toBe('hqq-3bit-g64');
    expect(tierLabel({ dtype: 'int4', groupSize: 64 })).toBe('int4 (group 64)');
    expect(tierLabel('int2')).toBe('int2');
  });
});
