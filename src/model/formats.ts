/**
 * Named weight storage formats: the bits a real quantised format stores per weight, derived from its
 * block or pack layout (quantised values, then the scales, zeros and their own metadata per group),
 * one entry per format, each with the code it was read from. A scenario's precision tiers
 * (`precision.experts`, `precision.dense`) may name one (`{ format: hqq-3bit-g64 }`) instead of a
 * plain dtype; src/model/derived.ts bytesPerParam stays the sizing of plain dtypes.
 *
 * Not counted anywhere: per-tensor constants (HQQ's zero meta-data with channel_wise False is one
 * fp16 scale and zero per tensor; GPTQ's g_idx is one int32 per input row, 32 / outFeatures bits per
 * weight, under 0.01 bits at the widths of the models here).
 */
import { z } from 'zod';
import { attentionParams, bytesPerParam, denseFfnParams, residentParams, routerParams, sharedExpertParams } from './derived.js';
import type { Dtype, MoeModel } from './types.js';

/** A format stored as packed quantised values plus metadata per fixed group of weights. */
export interface GroupedLayout {
  kind: 'grouped';
  /** The nominal integer width (the compute dtype follows it: weight-only formats compute in bf16). */
  dtype: Dtype;
  /** Bits of packed quantised values per weight, packing padding included. */
  quantBits: number;
  /** Weights that share one set of metadata (a quantisation group, a GGUF block). */
  groupSize: number;
  /** Bits of metadata per group: scales, zeros (or mins), and the second-level metadata of those. */
  metaBitsPerGroup: number;
  describe: string;
  source: string;
}

/** A per-tensor mix of grouped layouts chosen by rules (llama.cpp's Q4_K_M file type). */
export interface MixLayout {
  kind: 'mix';
  dtype: Dtype;
  /** Bits per weight of one tier of `model`, as the mix's rules assign its tensors. */
  bitsPerWeight: (model: MoeModel, tier: Tier) => number;
  describe: string;
  source: string;
}

export type StorageFormat = GroupedLayout | MixLayout;
export type Tier = 'experts' | 'dense';

const HQQ = 'mobiusml/hqq@37502bea31f2969c6680c0c4a88ca74b3bb234a5 (the commit dvmazur/mixtral-offloading@ce54518:requirements.txt pins)';
const HQQ_META =
  `${HQQ}:hqq/core/quantize.py hqq_base_quant_config: quant_scale -> scale_quant_params {nbits 8, channel_wise, group_size 128}, quant_zero -> zero_quant_params {nbits 8, channel_wise False, group_size None}; ` +
  'Quantizer.quantize: one scale and one zero per group (W reshaped to [group_size, -1], axis 0), each then quantised to 8 bits (8bit_u8); the scales\' own scale and zero are fp16 per 128 scales (Quantizer.cuda casts them to half), the zeros\' one pair per tensor (not counted)';
const MO_BUILD =
  'dvmazur/mixtral-offloading@ce54518:notebooks/demo.ipynb (and its copies in src/build_model.py get_default_ffn_quant_config): ffn_config = BaseQuantizeConfig(nbits=2, group_size=16, quant_zero=True, quant_scale=True); attn_config = BaseQuantizeConfig(nbits=4, group_size=64, quant_zero=True, quant_scale=True) with attn_config["scale_quant_params"]["group_size"] = 256';
const MO_PACK =
  'dvmazur/mixtral-offloading@ce54518:src/custom_layers.py HQQLinearTritonSavable.repack: W_q is unpacked, reshaped to the linear\'s own shape and packed again along its first dimension (src/packing.py pack_3bit_i32_common: 10 values per int32, the height rounded up to a multiple of 10 once per matrix, not per group), so 3-bit costs 32/10 = 3.2 bits per weight; 2-bit packs 4 per uint8, 4-bit 2 per uint8';
const GGML_COMMON = 'ggml-org/llama.cpp@01243c587feceaa5d6a6c2305535ef2f549c48b8:ggml/src/ggml-common.h';
const GPTQ =
  'AutoGPTQ/AutoGPTQ@058fd80a72d63d992347e3a23dcd5757449a9e2d:auto_gptq/nn_modules/qlinear/qlinear_cuda.py QuantLinear: qweight int32 [in / 32 x bits, out] (bits per weight exactly, 3-bit packs 32 values in 3 words), qzeros int32 [in / group, out / 32 x bits] (bits per group), scales fp16 [in / group, out] (16 per group), g_idx int32 per input row (not counted)';
const LLAMA_QUANT = 'ggml-org/llama.cpp@007dbbf3fd17eefe9b47fee45f48f7ba5e62b714:src/llama-quant.cpp';

/** Bits of one GGUF block of `qk` weights: its struct's bytes x 8 (ggml-common.h). */
const ggufBlock = (dtype: Dtype, quantBits: number, blockBytes: number, qk: number, describe: string, struct: string): GroupedLayout => ({
  kind: 'grouped',
  dtype,
  quantBits,
  groupSize: qk,
  metaBitsPerGroup: blockBytes * 8 - quantBits * qk,
  describe,
  source: `${GGML_COMMON} ${struct} (${blockBytes} bytes per ${qk} weights)`,
});

const grouped: Record<string, GroupedLayout> = {
  'hqq-2bit-g16': {
    kind: 'grouped',
    dtype: 'int2',
    quantBits: 2,
    groupSize: 16,
    // 8-bit scale + 8-bit zero per 16 weights, plus an fp16 scale and zero per 128 scales.
    metaBitsPerGroup: 8 + 8 + 32 / 128,
    describe: "HQQ 2-bit, group 16, 8-bit scales and zeros (mixtral-offloading's experts)",
    source: `${MO_BUILD}; ${MO_PACK}; ${HQQ_META}`,
  },
  'hqq-3bit-g64': {
    kind: 'grouped',
    dtype: 'int3',
    quantBits: 32 / 10,
    groupSize: 64,
    metaBitsPerGroup: 8 + 8 + 32 / 128,
    describe: 'HQQ 3-bit (10 values per int32), group 64, 8-bit scales and zeros',
    source: `${MO_PACK}; ${HQQ_META}; group_size 64 not sourced for Table 2 of arXiv 2312.17238 (the published code configures only 2-bit experts): it is hqq_base_quant_config's default group_size, with the ffn_config's quant_zero and quant_scale`,
  },
  'hqq-4bit-g64': {
    kind: 'grouped',
    dtype: 'int4',
    quantBits: 4,
    groupSize: 64,
    // The attention config sets the scales' own group to 256.
    metaBitsPerGroup: 8 + 8 + 32 / 256,
    describe: "HQQ 4-bit, group 64, 8-bit scales (their own group 256) and zeros (mixtral-offloading's attention)",
    source: `${MO_BUILD}; ${HQQ_META}`,
  },
  'gptq-4bit-g128': {
    kind: 'grouped',
    dtype: 'int4',
    quantBits: 4,
    groupSize: 128,
    metaBitsPerGroup: 16 + 4,
    describe: 'GPTQ 4-bit, group 128: fp16 scale and 4-bit packed zero per group',
    source: GPTQ,
  },
  'gptq-3bit-g128': {
    kind: 'grouped',
    dtype: 'int3',
    quantBits: 3,
    groupSize: 128,
    metaBitsPerGroup: 16 + 3,
    describe: 'GPTQ 3-bit, group 128: fp16 scale and 3-bit packed zero per group',
    source: GPTQ,
  },
  'gguf-q2_k': ggufBlock('int2', 2, 84, 256, 'GGUF Q2_K: 16 blocks of 16, 4-bit scales and mins, fp16 super-block scale and min', 'block_q2_K: scales[QK_K/16], qs[QK_K/4], d, dmin'),
  'gguf-q3_k': ggufBlock('int3', 3, 110, 256, 'GGUF Q3_K: 16 blocks of 16, 6-bit scales, fp16 super-block scale', 'block_q3_K: hmask[QK_K/8], qs[QK_K/4], scales[12], d'),
  'gguf-q4_k': ggufBlock('int4', 4, 144, 256, 'GGUF Q4_K: 8 blocks of 32, 6-bit scales and mins, fp16 super-block scale and min', 'block_q4_K: d, dmin, scales[K_SCALE_SIZE = 12], qs[QK_K/2]'),
  // Q5_K and Q6_K have no dtype of their width: int8 stands for their class (weight-only integer, computed in bf16).
  'gguf-q5_k': ggufBlock('int8', 5, 176, 256, 'GGUF Q5_K: 8 blocks of 32, 6-bit scales and mins, fp16 super-block scale and min', 'block_q5_K: d, dmin, scales[12], qh[QK_K/8], qs[QK_K/2]'),
  'gguf-q6_k': ggufBlock('int8', 6, 210, 256, 'GGUF Q6_K: 16 blocks of 16, 8-bit scales, fp16 super-block scale', 'block_q6_K: ql[QK_K/2], qh[QK_K/4], scales[QK_K/16], d'),
  'gguf-q4_0': ggufBlock('int4', 4, 18, 32, 'GGUF Q4_0: blocks of 32 with an fp16 scale', 'block_q4_0: d, qs[QK4_0/2]'),
  'gguf-q8_0': ggufBlock('int8', 8, 34, 32, 'GGUF Q8_0: blocks of 32 with an fp16 scale', 'block_q8_0: d, qs[QK8_0]'),
};

/** Bits per weight of a grouped layout: packed values plus metadata per group. */
export function groupedBits(f: GroupedLayout): number {
  return f.quantBits + f.metaBitsPerGroup / f.groupSize;
}

const bitsOf = (name: keyof typeof grouped) => groupedBits(grouped[name]);

/** llama.cpp's use_more_bits(i_layer, n_layers), C integer division. */
export function useMoreBits(i: number, n: number): boolean {
  const n8 = Math.trunc(n / 8);
  return i < n8 || i >= Math.trunc((7 * n) / 8) || (i - n8) % 3 === 2;
}

/**
 * Q4_K_M's bits per weight of one tier, by llama_tensor_get_type_impl's rules for
 * LLAMA_FTYPE_MOSTLY_Q4_K_M (default type Q4_K): ffn_down (routed, shared and dense FFNs alike: the
 * category matches the substring, and n_ffn_down is n_layer) is Q6_K in the layers where
 * use_more_bits(layer, n_layer); attn_v-like tensors (attn_v, attn_kv_b) Q6_K where
 * use_more_bits(i, n_attention_wv) and, in an 8-expert model, attn_v and attn_k Q8_0 and
 * attn_output Q5_K; output.weight Q6_K (token_embd too when tied); token_embd, attn_q, MLA's
 * q_a/q_b/kv_a, ffn_gate and ffn_up Q4_K. The router (ffn_gate_inp) is not quantised: counted at
 * 16 bits (not sourced: the input file's type). The tier gets the params-weighted mean of its tensors.
 */
function q4kmBits(m: MoeModel, tier: Tier): number {
  const q4k = bitsOf('gguf-q4_k');
  const q5k = bitsOf('gguf-q5_k');
  const q6k = bitsOf('gguf-q6_k');
  const q8 = bitsOf('gguf-q8_0');
  const L = m.numLayers;
  const down = (layer: number) => (useMoreBits(layer, L) ? q6k : q4k);
  const E = m.expertMatrices;
  // One FFN matrix is hidden x width; the FFN's E - 1 up/gate matrices are Q4_K, its down by layer.
  const ffnBits = (layer: number) => ((E - 1) * q4k + down(layer)) / E;
  if (tier === 'experts') {
    let sum = 0;
    for (const l of m.moeLayers) sum += ffnBits(l);
    return sum / m.moeLayers.length;
  }
  const eight = m.numExperts === 8;
  const a = m.attention;
  const h = m.hiddenSize;
  let bits = 0;
  const moe = new Set(m.moeLayers);
  for (let l = 0; l < L; l++) {
    if (a.kind === 'gqa') {
      const qDim = a.numHeads * a.headDim;
      const kvDim = a.numKvHeads * a.headDim;
      const v = eight ? q8 : useMoreBits(l, L) ? q6k : q4k;
      bits += h * qDim * q4k + h * kvDim * (eight ? q8 : q4k) + h * kvDim * v + qDim * h * (eight ? q5k : q4k);
    } else {
      const kvB = a.kvLoraRank * a.numHeads * (a.qkNopeHeadDim + a.vHeadDim);
      const v = eight ? q8 : useMoreBits(l, L) ? q6k : q4k;
      const o = a.numHeads * a.vHeadDim * h;
      bits += (attentionParams(m) - kvB - o) * q4k + kvB * v + o * (eight ? q5k : q4k);
    }
    if (moe.has(l)) bits += sharedExpertParams(m) * ffnBits(l) + routerParams(m) * 16;
    else bits += denseFfnParams(m) * ffnBits(l);
  }
  const vocab = m.vocabSize * h;
  bits += m.tiedEmbeddings ? vocab * q6k : vocab * q4k + vocab * q6k;
  // The loop covers exactly residentParams: embeddings, attention, dense FFNs, shared experts, routers.
  return bits / residentParams(m);
}

const mixes: Record<string, MixLayout> = {
  'gguf-q4_k_m': {
    kind: 'mix',
    dtype: 'int4',
    bitsPerWeight: q4kmBits,
    describe: "GGUF Q4_K_M: Q4_K with Q6_K ffn_down in half the layers, Q6_K output, and Q8_0/Q5_K attention in 8-expert models (llama.cpp's rules)",
    source: `${LLAMA_QUANT} llama_tensor_get_type_impl (Q4_K_M branches, use_more_bits, layer_info) and init_quantize_state_counters (n_ffn_down = n_layer); block sizes ${GGML_COMMON}; the rules read at a commit later than the suite's points (the 8-expert attn_v/attn_k Q8_0 rule dates from llama.cpp's Mixtral support of Dec 2023)`,
  },
};

export const storageFormats: Record<string, StorageFormat> = { ...grouped, ...mixes };
export type StorageFormatName = keyof typeof storageFormats & string;
export const storageFormatNames = Object.keys(storageFormats) as [string, ...string[]];

/** Bits per weight of `name` for one tier of `model`. */
export function formatBitsPerWeight(name: string, model: MoeModel, tier: Tier): number {
  const f = storageFormats[name];
  if (!f) throw new Error(`unknown storage format ${name}`);
  return f.kind === 'grouped' ? groupedBits(f) : f.bitsPerWeight(model, tier);
}

/** One precision tier: a plain dtype (sized at precision.groupSize), a named format, or a dtype with its own group size. */
export type TierPrecision = Dtype | { format: string } | { dtype: Dtype; groupSize?: number };

/** The dtype a tier computes and compares by: the plain dtype, or the format's nominal width. */
export function tierDtype(t: TierPrecision): Dtype {
  if (typeof t === 'string') return t;
  if ('format' in t) return storageFormats[t.format].dtype;
  return t.dtype;
}

/** Bytes per parameter of one tier of `model`, a plain dtype's at `groupSize` (the precision's default). */
export function tierBytesPerParam(t: TierPrecision, groupSize: number, model: MoeModel, tier: Tier): number {
  if (typeof t === 'string') return bytesPerParam(t, groupSize);
  if ('format' in t) return formatBitsPerWeight(t.format, model, tier) / 8;
  return bytesPerParam(t.dtype, t.groupSize ?? groupSize);
}

/** A short name of the tier for labels and messages: the dtype, `int4 (group 64)` or the format's name. */
export function tierLabel(t: TierPrecision): string {
  if (typeof t === 'string') return t;
  if ('format' in t) return t.format;
  return t.groupSize === undefined ? t.dtype : `${t.dtype} (group ${t.groupSize})`;
}

/** The precision the timing model and the reproduce rules read. */
export interface TieredPrecision {
  experts: TierPrecision;
  dense: TierPrecision;
  kvCache: Dtype;
  groupSize: number;
}

/** Bytes per parameter of `which` tier of `p` for `model`. */
export function precisionBytesPerParam(p: TieredPrecision, which: Tier, model: MoeModel): number {
  return tierBytesPerParam(p[which], p.groupSize, model, which);
}

/** The schema of a precision tier: a dtype, `{format}` or `{dtype, groupSize}`; errors name the field. */
export function tierSchema(dtype: z.ZodType<Dtype>) {
  return z.union([
    dtype,
    z.strictObject({
      format: z.string().refine((k) => Object.hasOwn(storageFormats, k), {
        error: (iss) => `unknown weight format ${JSON.stringify(iss.input)}; expected one of ${storageFormatNames.join(', ')}`,
      }),
    }),
    z.strictObject({ dtype, groupSize: z.number().int().positive().optional() }),
  ]);
}
