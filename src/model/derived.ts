/**
 * Sizes and costs derived from a model's shape. Pure functions; counts are parameters unless the
 * name says bytes or FLOPs.
 *
 * What is counted: every weight matrix, the routed/shared experts' biases when `expertBias` is set.
 * What is not: normalisation weights (RMSNorm/LayerNorm vectors, MLA's q/kv norms, Qwen3's qk-norm),
 * attention and router biases, attention sinks, Qwen-MoE's 1-wide shared-expert gate, DeepSeek's
 * router correction bias and its multi-token-prediction module, Switch's cross-attention. Each of
 * these is below 0.1% of the model (MTP aside, which is not used for plain decoding).
 */
import type { Dtype, MoeModel } from './types.js';

/**
 * Storage bytes per weight. Sub-byte formats (int4, int2) carry group-wise quantisation metadata, as
 * in GPTQ/AWQ: one fp16 scale and one fp16 zero point per group of `groupSize` weights, i.e.
 * +4/groupSize bytes per weight (0.53125 B for int4 at group 128; int3 is 3/8 B of values, GPTQ's
 * 3-bit packing of 32 values in 3 int32 words). int8/fp8 use per-channel or per-tensor scales whose
 * size is negligible, so they count as 1 byte. Real formats' own layouts (HQQ's 8-bit scales, GGUF's
 * k-quant blocks, GPTQ's packed zeros) are the named formats of src/model/formats.ts.
 */
export function bytesPerParam(dtype: Dtype, groupSize = 128): number {
  switch (dtype) {
    case 'fp32':
      return 4;
    case 'bf16':
    case 'fp16':
      return 2;
    case 'fp8':
    case 'int8':
      return 1;
    case 'int4':
      return 0.5 + 4 / groupSize;
    case 'int3':
      return 0.375 + 4 / groupSize;
    case 'int2':
      return 0.25 + 4 / groupSize;
  }
}

/** Layers whose FFN is a routed MoE. */
export function numMoeLayers(m: MoeModel): number {
  return m.moeLayers.length;
}

/** Layers with a dense FFN instead (DeepSeek's first_k_dense_replace, Switch's odd layers). */
export function numDenseLayers(m: MoeModel): number {
  return m.numLayers - m.moeLayers.length;
}

/** One FFN of the given width with the expert layout: matrices x hidden x width, plus biases. */
function ffnParams(m: MoeModel, intermediateSize: number, withBias: boolean): number {
  const weights = m.expertMatrices * m.hiddenSize * intermediateSize;
  // Biases: one per output row of each matrix: (matrices - 1) up-projections of width
  // `intermediateSize` and one down-projection back to `hiddenSize`.
  const biases = withBias ? (m.expertMatrices - 1) * intermediateSize + m.hiddenSize : 0;
  return weights + biases;
}

/** Parameters of one routed expert. */
export function expertParams(m: MoeModel): number {
  return ffnParams(m, m.expertIntermediateSize, m.expertBias);
}

/** Bytes of one routed expert stored as `dtype` (the unit a cache holds and a link moves). */
export function expertBytes(m: MoeModel, dtype: Dtype, groupSize = 128): number {
  return Math.ceil(expertParams(m) * bytesPerParam(dtype, groupSize));
}

/** All shared (always-on) experts of one MoE layer together. */
export function sharedExpertParams(m: MoeModel): number {
  return m.numSharedExperts * ffnParams(m, m.sharedExpertIntermediateSize, m.expertBias);
}

/** Router (gate) of one MoE layer: hidden -> numExperts logits. */
export function routerParams(m: MoeModel): number {
  return m.hiddenSize * m.numExperts;
}

/**
 * Attention projections of one layer.
 * GQA: q and o are hidden x (heads*headDim); k and v are hidden x (kvHeads*headDim).
 * MLA (DeepSeek-V2/V3): q is either hidden -> heads*(nope+rope) directly (qLoraRank null) or
 * hidden -> qLoraRank -> heads*(nope+rope); kv_a is hidden -> (kvLoraRank + rope);
 * kv_b is kvLoraRank -> heads*(nope + v); o is heads*v -> hidden.
 */
export function attentionParams(m: MoeModel): number {
  const a = m.attention;
  const h = m.hiddenSize;
  if (a.kind === 'gqa') {
    const qDim = a.numHeads * a.headDim;
    const kvDim = a.numKvHeads * a.headDim;
    return h * qDim + 2 * h * kvDim + qDim * h;
  }
  const qkHeadDim = a.qkNopeHeadDim + a.qkRopeHeadDim;
  const q = a.qLoraRank === null ? h * a.numHeads * qkHeadDim : h * a.qLoraRank + a.qLoraRank * a.numHeads * qkHeadDim;
  const kvA = h * (a.kvLoraRank + a.qkRopeHeadDim);
  const kvB = a.kvLoraRank * a.numHeads * (a.qkNopeHeadDim + a.vHeadDim);
  const o = a.numHeads * a.vHeadDim * h;
  return q + kvA + kvB + o;
}

/**
 * The FFN of one dense (non-MoE) layer. It has the same layout as the experts (3 matrices when the
 * experts are gated, as in DeepSeek; 2 for Switch's ReLU FFN) and no biases.
 */
export function denseFfnParams(m: MoeModel): number {
  return ffnParams(m, m.denseIntermediateSize, false);
}

/** Input embedding plus LM head (one matrix when tied). */
export function embeddingParams(m: MoeModel): number {
  return m.vocabSize * m.hiddenSize * (m.tiedEmbeddings ? 1 : 2);
}

/** Routed experts of the whole model. */
export function routedExpertParamsTotal(m: MoeModel): number {
  return numMoeLayers(m) * m.numExperts * expertParams(m);
}

/** Everything except routed experts: what stays on the GPU when experts are offloaded. */
export function residentParams(m: MoeModel): number {
  return (
    embeddingParams(m) +
    m.numLayers * attentionParams(m) +
    numDenseLayers(m) * denseFfnParams(m) +
    numMoeLayers(m) * (sharedExpertParams(m) + routerParams(m))
  );
}

export function totalParams(m: MoeModel): number {
  return residentParams(m) + routedExpertParamsTotal(m);
}

export interface ActiveParamsOptions {
  /**
   * Count the input embedding table as active. It is only a row lookup per token, so the default
   * (false) counts the weights that take part in matrix products: everything resident except the
   * input embedding, plus topK routed experts per MoE layer. Vendors differ: DeepSeek and OpenAI
   * (gpt-oss model card) report active counts without it, Mistral, Qwen, AllenAI and Microsoft with it.
   */
  includeInputEmbedding?: boolean;
}

/** Parameters used to compute one token. */
export function activeParamsPerToken(m: MoeModel, options: ActiveParamsOptions = {}): number {
  const inputEmbedding = m.tiedEmbeddings || !options.includeInputEmbedding ? 0 : m.vocabSize * m.hiddenSize;
  const lmHead = m.vocabSize * m.hiddenSize;
  const nonEmbedding = residentParams(m) - embeddingParams(m);
  return nonEmbedding + lmHead + inputEmbedding + numMoeLayers(m) * m.topK * expertParams(m);
}

/**
 * KV-cache bytes one token adds to one layer.
 * GQA: keys and values, 2 x kvHeads x headDim elements.
 * MLA: the compressed latent (kvLoraRank) plus the shared rope key (qkRopeHeadDim), as cached by
 * DeepSeek's inference code and FlashMLA.
 */
export function kvBytesPerTokenPerLayer(m: MoeModel, dtype: Dtype): number {
  const a = m.attention;
  const elements = a.kind === 'gqa' ? 2 * a.numKvHeads * a.headDim : a.kvLoraRank + a.qkRopeHeadDim;
  return elements * bytesPerParam(dtype);
}

/**
 * KV-cache bytes one token adds to one layer of an MLA model whose runtime caches the per-head keys
 * and values instead of the compressed latent: keys of qkNopeHeadDim + qkRopeHeadDim and values of
 * vHeadDim for every head (llama.cpp before ggml-org/llama.cpp PR #12801, Apr 2025: DeepSeek-V3's
 * 128 x (192 + 128) f16 = 80 KiB per token and layer, against the latent's 1152 bytes). A GQA model
 * caches its keys and values either way: kvBytesPerTokenPerLayer.
 */
export function perHeadKvBytesPerTokenPerLayer(m: MoeModel, dtype: Dtype): number {
  const a = m.attention;
  if (a.kind === 'gqa') return kvBytesPerTokenPerLayer(m, dtype);
  return a.numHeads * (a.qkNopeHeadDim + a.qkRopeHeadDim + a.vHeadDim) * bytesPerParam(dtype);
}

/**
 * FLOPs of the attention core (scores and weighted values, not the projections, which are
 * 2 x attentionParams FLOPs per token) for one new token attending to `contextTokens` cached tokens
 * in one layer. A multiply-add counts as 2 FLOPs; softmax is ignored.
 * GQA: q.k over headDim and p.v over headDim for each head: 4 x heads x headDim x context.
 * MLA: decoding over the compressed cache with absorbed projections (DeepSeek's "absorb" mode,
 * FlashMLA): scores over kvLoraRank + rope, values over kvLoraRank:
 * 2 x heads x (2 x kvLoraRank + rope) x context.
 * A sliding window caps the context.
 */
export function attentionFlopsPerToken(m: MoeModel, contextTokens: number): number {
  const a = m.attention;
  if (a.kind === 'gqa') {
    const context = a.slidingWindow === undefined ? contextTokens : Math.min(contextTokens, a.slidingWindow);
    return 4 * a.numHeads * a.headDim * context;
  }
  return 2 * a.numHeads * (2 * a.kvLoraRank + a.qkRopeHeadDim) * contextTokens;
}

/**
 * An encoder-decoder model's encoder as a model of its own (undefined for a decoder-only model):
 * the encoder's layers and MoE layers with the decoder's widths (MoeModel.encoder), so that its
 * pass over the prompt is simulated like a prefill of that stack. The embedding is the shared one
 * (both presets tie it); the encoder has no LM head, the stack keeps the model's tied one: its cost
 * in the pass (one token per sequence; for a system that streams it, the shared embedding's bytes)
 * stands for the encoder's embedding lookup, small next to the experts.
 */
export function encoderStack(m: MoeModel): MoeModel | undefined {
  const e = m.encoder;
  if (e === undefined) return undefined;
  const { encoder: _encoder, ...decoder } = m;
  return { ...decoder, name: `${m.name}-encoder`, displayName: `${m.displayName} encoder`, numLayers: e.numLayers, moeLayers: [...e.moeLayers], notes: `encoder stack of ${m.name}: ${e.source}` };
}
