/**
 * Model catalog: exact shapes from each model's published Hugging Face config.json. Config keys are
 * quoted next to each number so a reader can check them against the `source` file.
 * Verified against copies of each config.json (the original or a fine-tune/quantisation that keeps
 * the shape and names the original in `_name_or_path`); see the notes on each entry. Not read
 * directly: gpt-oss (shape from the keras_hub and Megatron ports and a 20b->120b config diff, which
 * agree), switch-base-128 (from its switch-base-32/64/256 siblings), Qwen3-30B-A3B (from copies of
 * Qwen3-Coder-30B-A3B, same shape, and MindSpeed's qwen3_30b_a3b config). DeepSeek-R1, Kimi-K2,
 * Qwen3-235B-A22B, GLM-4.5 and Llama-4-Scout/Maverick (added for the public trace sets) were written
 * from their config.json keys as published and not re-read against a copy in this repository's
 * history; their total and active counts agree with the model cards within 3% (test/model).
 */
import type { MoeModel } from './types.js';

/** Layer indices [start, end). */
function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

const hf = (repo: string): string => `https://huggingface.co/${repo}/blob/main/config.json`;

export const modelPresets: Record<string, MoeModel> = {
  'mixtral-8x7b': {
    name: 'mixtral-8x7b',
    displayName: 'Mixtral-8x7B-v0.1',
    source: hf('mistralai/Mixtral-8x7B-v0.1'),
    numLayers: 32, // num_hidden_layers
    moeLayers: range(0, 32),
    numExperts: 8, // num_local_experts
    topK: 2, // num_experts_per_tok
    numSharedExperts: 0,
    sharedExpertIntermediateSize: 0,
    hiddenSize: 4096, // hidden_size
    expertIntermediateSize: 14336, // intermediate_size
    expertMatrices: 3, // w1, w2, w3 (SwiGLU)
    expertBias: false,
    denseIntermediateSize: 0,
    // num_attention_heads 32, num_key_value_heads 8, head_dim 4096/32; sliding_window null
    attention: { kind: 'gqa', numHeads: 32, numKvHeads: 8, headDim: 128 },
    vocabSize: 32000, // vocab_size
    tiedEmbeddings: false, // tie_word_embeddings
  },
  'mixtral-8x22b': {
    name: 'mixtral-8x22b',
    displayName: 'Mixtral-8x22B-v0.1',
    source: hf('mistralai/Mixtral-8x22B-v0.1'),
    numLayers: 56,
    moeLayers: range(0, 56),
    numExperts: 8,
    topK: 2,
    numSharedExperts: 0,
    sharedExpertIntermediateSize: 0,
    hiddenSize: 6144,
    expertIntermediateSize: 16384,
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 0,
    // num_attention_heads 48, num_key_value_heads 8, head_dim 6144/48; sliding_window null
    attention: { kind: 'gqa', numHeads: 48, numKvHeads: 8, headDim: 128 },
    // 32768 in mistralai's config (v3 tokenizer; seen in Mixtral-8x22B-Instruct-v0.1 derivatives).
    // The earlier mistral-community/Mixtral-8x22B-v0.1 conversion has 32000.
    vocabSize: 32768,
    tiedEmbeddings: false,
  },
  'deepseek-v2-lite': {
    name: 'deepseek-v2-lite',
    displayName: 'DeepSeek-V2-Lite',
    source: hf('deepseek-ai/DeepSeek-V2-Lite'),
    // num_hidden_layers 27: layer 0 dense (first_k_dense_replace 1), layers 1..26 MoE (moe_layer_freq 1).
    numLayers: 27,
    moeLayers: range(1, 27),
    numExperts: 64, // n_routed_experts
    topK: 6, // num_experts_per_tok
    numSharedExperts: 2, // n_shared_experts
    sharedExpertIntermediateSize: 1408, // moe_intermediate_size (shared experts have the routed width)
    hiddenSize: 2048,
    expertIntermediateSize: 1408, // moe_intermediate_size
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 10944, // intermediate_size
    attention: {
      kind: 'mla',
      numHeads: 16, // num_attention_heads
      qLoraRank: null, // q_lora_rank
      kvLoraRank: 512,
      qkNopeHeadDim: 128,
      qkRopeHeadDim: 64,
      vHeadDim: 128,
    },
    vocabSize: 102400,
    tiedEmbeddings: false,
  },
  'deepseek-v3': {
    name: 'deepseek-v3',
    displayName: 'DeepSeek-V3',
    source: hf('deepseek-ai/DeepSeek-V3'),
    // num_hidden_layers 61, first_k_dense_replace 3. The multi-token-prediction layer
    // (num_nextn_predict_layers 1) is not modelled.
    numLayers: 61,
    moeLayers: range(3, 61),
    numExperts: 256,
    topK: 8,
    numSharedExperts: 1,
    sharedExpertIntermediateSize: 2048,
    hiddenSize: 7168,
    expertIntermediateSize: 2048,
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 18432,
    attention: {
      kind: 'mla',
      numHeads: 128,
      qLoraRank: 1536,
      kvLoraRank: 512,
      qkNopeHeadDim: 128,
      qkRopeHeadDim: 64,
      vHeadDim: 128,
    },
    vocabSize: 129280,
    tiedEmbeddings: false,
    notes: 'Multi-token-prediction module not modelled. Checked against config.json and inference/configs/config_671B.json.',
  },
  'qwen1.5-moe-a2.7b': {
    name: 'qwen1.5-moe-a2.7b',
    displayName: 'Qwen1.5-MoE-A2.7B',
    source: hf('Qwen/Qwen1.5-MoE-A2.7B'),
    numLayers: 24, // decoder_sparse_step 1: every layer MoE
    moeLayers: range(0, 24),
    numExperts: 60, // num_experts
    topK: 4,
    numSharedExperts: 1, // one shared expert ...
    sharedExpertIntermediateSize: 5632, // ... of shared_expert_intermediate_size
    hiddenSize: 2048,
    expertIntermediateSize: 1408, // moe_intermediate_size
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 0,
    attention: { kind: 'gqa', numHeads: 16, numKvHeads: 16, headDim: 128 }, // use_sliding_window false
    vocabSize: 151936,
    tiedEmbeddings: false,
  },
  'qwen3-30b-a3b': {
    name: 'qwen3-30b-a3b',
    displayName: 'Qwen3-30B-A3B',
    source: hf('Qwen/Qwen3-30B-A3B'),
    numLayers: 48, // mlp_only_layers []
    moeLayers: range(0, 48),
    numExperts: 128,
    topK: 8,
    numSharedExperts: 0,
    sharedExpertIntermediateSize: 0,
    hiddenSize: 2048,
    expertIntermediateSize: 768, // moe_intermediate_size
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 0,
    attention: { kind: 'gqa', numHeads: 32, numKvHeads: 4, headDim: 128 }, // head_dim 128 (> hidden/heads)
    vocabSize: 151936,
    tiedEmbeddings: false,
  },
  'deepseek-r1': {
    // DeepSeek-R1 keeps DeepSeek-V3's architecture (same config.json shape); for traces recorded on R1.
    name: 'deepseek-r1',
    displayName: 'DeepSeek-R1',
    source: hf('deepseek-ai/DeepSeek-R1'),
    numLayers: 61,
    moeLayers: range(3, 61), // first_k_dense_replace 3
    numExperts: 256, // n_routed_experts
    topK: 8,
    numSharedExperts: 1,
    sharedExpertIntermediateSize: 2048,
    hiddenSize: 7168,
    expertIntermediateSize: 2048, // moe_intermediate_size
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 18432, // intermediate_size
    attention: { kind: 'mla', numHeads: 128, qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
    vocabSize: 129280,
    tiedEmbeddings: false,
    notes: 'V3 shape; multi-token-prediction module not modelled.',
  },
  'kimi-k2': {
    name: 'kimi-k2',
    displayName: 'Kimi-K2-Instruct',
    source: hf('moonshotai/Kimi-K2-Instruct'),
    numLayers: 61, // num_hidden_layers
    moeLayers: range(1, 61), // first_k_dense_replace 1
    numExperts: 384, // n_routed_experts
    topK: 8, // num_experts_per_tok
    numSharedExperts: 1, // n_shared_experts
    sharedExpertIntermediateSize: 2048,
    hiddenSize: 7168,
    expertIntermediateSize: 2048, // moe_intermediate_size
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 18432, // intermediate_size
    // DeepSeek-V3 architecture with num_attention_heads 64
    attention: { kind: 'mla', numHeads: 64, qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
    vocabSize: 163840,
    tiedEmbeddings: false,
  },
  'qwen3-235b-a22b': {
    name: 'qwen3-235b-a22b',
    displayName: 'Qwen3-235B-A22B',
    source: hf('Qwen/Qwen3-235B-A22B'),
    numLayers: 94, // num_hidden_layers; mlp_only_layers []
    moeLayers: range(0, 94),
    numExperts: 128, // num_experts
    topK: 8,
    numSharedExperts: 0,
    sharedExpertIntermediateSize: 0,
    hiddenSize: 4096,
    expertIntermediateSize: 1536, // moe_intermediate_size
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 0,
    attention: { kind: 'gqa', numHeads: 64, numKvHeads: 4, headDim: 128 },
    vocabSize: 151936,
    tiedEmbeddings: false,
  },
  'glm-4.5': {
    name: 'glm-4.5',
    displayName: 'GLM-4.5',
    source: hf('zai-org/GLM-4.5'),
    numLayers: 92, // num_hidden_layers
    moeLayers: range(3, 92), // first_k_dense_replace 3
    numExperts: 160, // n_routed_experts
    topK: 8,
    numSharedExperts: 1,
    sharedExpertIntermediateSize: 1536,
    hiddenSize: 5120,
    expertIntermediateSize: 1536, // moe_intermediate_size
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 12288, // intermediate_size
    attention: { kind: 'gqa', numHeads: 96, numKvHeads: 8, headDim: 128 }, // head_dim 128
    vocabSize: 151552,
    tiedEmbeddings: false,
    notes: 'Multi-token-prediction layer (num_nextn_predict_layers 1) not modelled.',
  },
  'llama-4-scout': {
    name: 'llama-4-scout',
    displayName: 'Llama-4-Scout-17B-16E',
    source: hf('meta-llama/Llama-4-Scout-17B-16E'),
    numLayers: 48, // text_config.num_hidden_layers; interleave_moe_layer_step 1
    moeLayers: range(0, 48),
    numExperts: 16, // num_local_experts
    topK: 1, // num_experts_per_tok
    numSharedExperts: 1, // the shared expert of every MoE layer
    sharedExpertIntermediateSize: 8192,
    hiddenSize: 5120,
    expertIntermediateSize: 8192, // intermediate_size
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 0,
    attention: { kind: 'gqa', numHeads: 40, numKvHeads: 8, headDim: 128 },
    vocabSize: 202048,
    tiedEmbeddings: false,
    notes: 'Text model only (the vision encoder is not modelled).',
  },
  'llama-4-maverick': {
    name: 'llama-4-maverick',
    displayName: 'Llama-4-Maverick-17B-128E',
    source: hf('meta-llama/Llama-4-Maverick-17B-128E'),
    numLayers: 48,
    moeLayers: range(0, 24).map((i) => 2 * i + 1), // interleave_moe_layer_step 2: every other layer
    numExperts: 128,
    topK: 1,
    numSharedExperts: 1,
    sharedExpertIntermediateSize: 8192,
    hiddenSize: 5120,
    expertIntermediateSize: 8192, // intermediate_size
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 16384, // intermediate_size_mlp
    attention: { kind: 'gqa', numHeads: 40, numKvHeads: 8, headDim: 128 },
    vocabSize: 202048,
    tiedEmbeddings: false,
    notes: 'Text model only (the vision encoder is not modelled).',
  },
  'olmoe-1b-7b': {
    name: 'olmoe-1b-7b',
    displayName: 'OLMoE-1B-7B-0924',
    source: hf('allenai/OLMoE-1B-7B-0924'),
    numLayers: 16,
    moeLayers: range(0, 16),
    numExperts: 64,
    topK: 8,
    numSharedExperts: 0,
    sharedExpertIntermediateSize: 0,
    hiddenSize: 2048,
    expertIntermediateSize: 1024, // intermediate_size (per expert)
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 0,
    attention: { kind: 'gqa', numHeads: 16, numKvHeads: 16, headDim: 128 },
    vocabSize: 50304,
    tiedEmbeddings: false,
  },
  'switch-base-128': {
    name: 'switch-base-128',
    displayName: 'Switch-Base-128 (decoder)',
    source: hf('google/switch-base-128'),
    // num_decoder_layers 12, decoder_sparse_step 2. transformers' SwitchTransformersStack makes layer i
    // sparse when i % 2 == 1, so the MoE layers are 1, 3, ..., 11.
    numLayers: 12,
    moeLayers: [1, 3, 5, 7, 9, 11],
    numExperts: 128,
    topK: 1, // num_selected_experts
    numSharedExperts: 0,
    sharedExpertIntermediateSize: 0,
    hiddenSize: 768, // d_model
    expertIntermediateSize: 3072, // d_ff
    expertMatrices: 2, // wi, wo (ReLU, is_gated_act false)
    expertBias: false,
    denseIntermediateSize: 3072, // d_ff
    attention: { kind: 'gqa', numHeads: 12, numKvHeads: 12, headDim: 64 }, // num_heads, d_kv
    vocabSize: 32128,
    tiedEmbeddings: true, // T5-style shared embedding (tie_word_embeddings defaults to true)
    notes:
      'Encoder-decoder model, modelled as its decoder stack only (12 layers, MoE every other layer); ' +
      'the encoder and the decoder cross-attention are not counted. Shape read from the sibling ' +
      'switch-base-32/64/256 configs, which differ from switch-base-128 only in num_experts.',
  },
  'switch-large-128': {
    name: 'switch-large-128',
    displayName: 'Switch-Large-128 (decoder)',
    source: hf('google/switch-large-128'),
    // Not read from the checkpoint's config.json: the shape is the T5X gin the checkpoint was
    // trained from (google/flaxformer@3cbba275:flaxformer/t5x/configs/moe/models/switch_large.gin:
    // NUM_DECODER_LAYERS 24, NUM_HEADS 16, HEAD_DIM 64, EMBED_DIM 1024, MLP_DIM 4096,
    // NUM_EXPERTS 128, "every other MLP sublayer is an MoE sublayer", NUM_DECODER_SPARSE_LAYERS 12),
    // the HF keys recalled as num_decoder_layers 24, decoder_sparse_step 2, d_model 1024, d_ff 4096,
    // num_heads 16, d_kv 64, vocab_size 32128. Check: 24 sparse layers (encoder + decoder) x 128 x
    // 2 x 1024 x 4096 = 25.8B expert parameters, 26.4B in all as the Pre-gated MoE paper's Table I
    // lists (105.6 GB in fp32, 4 bytes each).
    numLayers: 24,
    moeLayers: range(0, 12).map((i) => 2 * i + 1), // SwitchTransformersStack: sparse when i % 2 == 1
    numExperts: 128,
    topK: 1, // Top-1 router
    numSharedExperts: 0,
    sharedExpertIntermediateSize: 0,
    hiddenSize: 1024, // d_model
    expertIntermediateSize: 4096, // d_ff
    expertMatrices: 2, // wi, wo (ReLU, is_gated_act false)
    expertBias: false,
    denseIntermediateSize: 4096, // d_ff
    attention: { kind: 'gqa', numHeads: 16, numKvHeads: 16, headDim: 64 }, // num_heads, d_kv
    vocabSize: 32128,
    tiedEmbeddings: true, // T5-style shared embedding
    // The encoder: gin NUM_ENCODER_LAYERS 24 and NUM_ENCODER_SPARSE_LAYERS 12 (the same switch_large.gin),
    // which transformers' gin-to-config conversion maps to num_layers and num_sparse_encoder_layers
    // (convert_switch_transformers_original_flax_checkpoint_to_pytorch.py, GIN_TO_CONFIG_MAPPING, seen in
    // code excerpts); SwitchTransformersConfig sets encoder_sparse_step = num_layers //
    // num_sparse_encoder_layers = 2, and SwitchTransformersStack makes layer i sparse when i % 2 == 1,
    // as for the decoder. MoE-Infinity counts the same 12 (EfficientMoE/MoE-Infinity@9cd8e99:
    // moe_infinity/utils/hf_config.py, parse_moe_param: num_encoder_layers = config.num_sparse_encoder_layers).
    // The encoder has the decoder's d_model, d_ff, heads and experts (one set of keys for both stacks).
    encoder: {
      numLayers: 24,
      moeLayers: range(0, 12).map((i) => 2 * i + 1),
      source: 'num_layers 24, num_sparse_encoder_layers 12 (encoder_sparse_step 2; google/flaxformer@3cbba275:flaxformer/t5x/configs/moe/models/switch_large.gin NUM_ENCODER_LAYERS 24, NUM_ENCODER_SPARSE_LAYERS 12; config.json not read this session)',
    },
    notes:
      'Encoder-decoder model: the layers are its decoder stack (24 layers, MoE every other layer), `encoder` its encoder stack ' +
      '(the same 24-layer shape, run once per request over the prompt: src/reproduce/run.ts prepareEncoder); the decoder cross-attention ' +
      '(q, k, v, o of d_model x d_model per layer, 4.2M parameters; after the first step only q and o are ' +
      'called, k and v reuse the cached encoder projections) is not counted: the model type has no ' +
      'cross-attention weights. For offloading that streams whole layers with every expert ' +
      '(Accelerate and ZeRO-3 on the Hugging Face loop, which calls every expert) the missing cross-attention ' +
      'is 0.4% of an MoE layer\'s bytes (4.2M of 1.08B parameters), about 0.8% of a decode step\'s streamed bytes in all (24 x 4.2M of 13.1B); the shape was not read from the ' +
      'checkpoint\'s config.json (see the preset).',
  },
  'nllb-moe-54b': {
    name: 'nllb-moe-54b',
    displayName: 'NLLB-MoE-54B (decoder)',
    source: hf('facebook/nllb-moe-54b'),
    // config.json keys as quoted by a third-party audit that fetched facebook/nllb-moe-54b's
    // config (the config.json itself not read this session): decoder_layers 24, decoder_sparse_step
    // 4, d_model 2048, decoder_attention_heads 16, decoder_ffn_dim 8192, num_experts 128,
    // vocab_size 256206, activation_function relu, torch_dtype float32. Sparse layers: transformers'
    // NllbMoeDecoder makes layer i sparse when (i + 1) % decoder_sparse_step == 0 (duyy97/transformers
    // @ebebfbf5:src/transformers/models/nllb_moe/modeling_nllb_moe.py, a fork of early-2024 upstream),
    // so layers 3, 7, ..., 23. Router: NllbMoeTop2Router (top-2).
    numLayers: 24,
    moeLayers: [3, 7, 11, 15, 19, 23],
    numExperts: 128,
    topK: 2,
    numSharedExperts: 0,
    sharedExpertIntermediateSize: 0,
    hiddenSize: 2048, // d_model
    expertIntermediateSize: 8192, // decoder_ffn_dim
    expertMatrices: 2, // fc1, fc2 (ReLU)
    expertBias: true, // NllbMoeDenseActDense: nn.Linear with bias
    denseIntermediateSize: 8192, // decoder_ffn_dim
    attention: { kind: 'gqa', numHeads: 16, numKvHeads: 16, headDim: 128 }, // MHA, d_model / heads
    vocabSize: 256206,
    tiedEmbeddings: true, // shared embedding, lm_head tied
    // The encoder, from the same third-party quote of the config: encoder_layers 24,
    // encoder_sparse_step 4, encoder_ffn_dim 8192, encoder_attention_heads 16 (the decoder's widths);
    // NllbMoeEncoder makes layer i sparse when (i + 1) % encoder_sparse_step == 0 as the decoder does,
    // layers 3, 7, ..., 23; MoE-Infinity counts encoder_layers // encoder_sparse_step = 6
    // (EfficientMoE/MoE-Infinity@9cd8e99:moe_infinity/utils/hf_config.py, parse_moe_param).
    encoder: {
      numLayers: 24,
      moeLayers: [3, 7, 11, 15, 19, 23],
      source: 'encoder_layers 24, encoder_sparse_step 4, encoder_ffn_dim 8192 (as quoted by a third-party copy of facebook/nllb-moe-54b config.json; the config.json itself not read this session)',
    },
    notes:
      'Encoder-decoder model: the layers are its decoder stack (24 layers, MoE every fourth layer), `encoder` its encoder stack ' +
      '(24 layers of the same shape, run once per request over the prompt: src/reproduce/run.ts prepareEncoder); the decoder ' +
      'cross-attention (q, k, v, o of 2048 x 2048 with biases per layer, 16.8M parameters; after the first step ' +
      'only q_proj and out_proj are called) is not counted, nor the attention biases: the model type has no ' +
      'cross-attention weights. For whole-layer streaming with every expert (the Hugging Face ' +
      'NllbMoeSparseMLP calls every expert) the missing cross-attention is 0.4% of an MoE layer\'s bytes ' +
      '(16.8M of 4.33B parameters), a third of a dense layer\'s self-attention and FFN (16.8M + 33.6M), about 1.5% of a decode step\'s streamed bytes in all (24 x 16.8M of 27B); ' +
      'the shape was read from a third-party copy of the config, not the config.json itself (see the preset).',
  },
  'gpt-oss-20b': {
    name: 'gpt-oss-20b',
    displayName: 'gpt-oss-20b',
    source: hf('openai/gpt-oss-20b'),
    numLayers: 24,
    moeLayers: range(0, 24),
    numExperts: 32, // num_local_experts
    topK: 4, // num_experts_per_tok
    numSharedExperts: 0,
    sharedExpertIntermediateSize: 0,
    hiddenSize: 2880,
    expertIntermediateSize: 2880,
    expertMatrices: 3, // fused gate_up_proj (2 x intermediate) + down_proj
    expertBias: true, // gate_up_proj_bias, down_proj_bias
    denseIntermediateSize: 0,
    // 64 heads, 8 KV heads, head_dim 64. Sliding window 128 on alternate layers only (layer_types),
    // so no window is set here: the model's cache and attention cost follow the full-attention layers.
    attention: { kind: 'gqa', numHeads: 64, numKvHeads: 8, headDim: 64 },
    vocabSize: 201088,
    tiedEmbeddings: false,
    notes: 'Alternating sliding-window (128) and full attention; modelled as full attention on every layer.',
  },
  'gpt-oss-120b': {
    name: 'gpt-oss-120b',
    displayName: 'gpt-oss-120b',
    source: hf('openai/gpt-oss-120b'),
    numLayers: 36,
    moeLayers: range(0, 36),
    numExperts: 128,
    topK: 4,
    numSharedExperts: 0,
    sharedExpertIntermediateSize: 0,
    hiddenSize: 2880,
    expertIntermediateSize: 2880,
    expertMatrices: 3,
    expertBias: true,
    denseIntermediateSize: 0,
    attention: { kind: 'gqa', numHeads: 64, numKvHeads: 8, headDim: 64 },
    vocabSize: 201088,
    tiedEmbeddings: false,
    notes: 'Alternating sliding-window (128) and full attention; modelled as full attention on every layer.',
  },
  'phi-3.5-moe': {
    name: 'phi-3.5-moe',
    displayName: 'Phi-3.5-MoE-instruct',
    source: hf('microsoft/Phi-3.5-MoE-instruct'),
    numLayers: 32,
    moeLayers: range(0, 32),
    numExperts: 16,
    topK: 2,
    numSharedExperts: 0,
    sharedExpertIntermediateSize: 0,
    hiddenSize: 4096,
    expertIntermediateSize: 6400,
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 0,
    // 32 heads, 8 KV heads; sliding_window 131072 equals max_position_embeddings, i.e. no window.
    attention: { kind: 'gqa', numHeads: 32, numKvHeads: 8, headDim: 128 },
    vocabSize: 32064,
    tiedEmbeddings: false,
  },
  'flame-moe-290m': {
    // Megatron-LM shapes from GitHub cmu-flame/FLAME-MoE scripts/release/flame-moe-290m.sh (NUM_LAYERS 9, HIDDEN_SIZE 1024,
    // FFN_HIDDEN_SIZE 5472, MOE_FFN_HIDDEN_SIZE 704, MOE_LAYER_FREQ [0]*1+[1]*8, TRAIN_ITERS 5473) and
    // scripts/training/flame-moe.sh MODEL_ARGS (16 heads, SwiGLU, RMSNorm, untied embeddings, no biases, 64 experts,
    // shared expert size 2 x MOE_FFN_HIDDEN_SIZE = 2 shared experts). top-6: the FLAME-MoE-Traces card and its
    // traces (list[6]); the model card says top-8 (an earlier MODEL_ARGS has --moe-router-topk 8). Vocabulary:
    // GPT-2 BPE (the dclm-28B-gpt2bpe tokenizer script), 50,257 padded by Megatron to a multiple of 128.
    name: 'flame-moe-290m',
    displayName: 'FLAME-MoE-290M-1.3B',
    source: hf('CMU-FLAME/FLAME-MoE-290M-1.3B'),
    numLayers: 9,
    moeLayers: range(1, 9), // layer 0 dense; the traces' "layers 2-9" count from 1
    numExperts: 64,
    topK: 6,
    numSharedExperts: 2,
    sharedExpertIntermediateSize: 704,
    hiddenSize: 1024,
    expertIntermediateSize: 704,
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 5472,
    attention: { kind: 'gqa', numHeads: 16, numKvHeads: 16, headDim: 64 },
    vocabSize: 50304,
    tiedEmbeddings: false,
  },
  'flame-moe-721m': {
    // Megatron-LM shapes from GitHub cmu-flame/FLAME-MoE scripts/release/flame-moe-721m.sh (NUM_LAYERS 12, HIDDEN_SIZE 1536,
    // FFN_HIDDEN_SIZE 8208, MOE_FFN_HIDDEN_SIZE 1056, MOE_LAYER_FREQ [0]*1+[1]*11, TRAIN_ITERS 8815) and
    // scripts/training/flame-moe.sh MODEL_ARGS (16 heads, SwiGLU, RMSNorm, untied embeddings, no biases, 64 experts,
    // shared expert size 2 x MOE_FFN_HIDDEN_SIZE = 2 shared experts). top-6: the FLAME-MoE-Traces card and its
    // traces (list[6]); the model card says top-8 (an earlier MODEL_ARGS has --moe-router-topk 8). Vocabulary:
    // GPT-2 BPE (the dclm-28B-gpt2bpe tokenizer script), 50,257 padded by Megatron to a multiple of 128.
    name: 'flame-moe-721m',
    displayName: 'FLAME-MoE-721M-3.8B',
    source: hf('CMU-FLAME/FLAME-MoE-721M-3.8B'),
    numLayers: 12,
    moeLayers: range(1, 12), // layer 0 dense; the traces' "layers 2-12" count from 1
    numExperts: 64,
    topK: 6,
    numSharedExperts: 2,
    sharedExpertIntermediateSize: 1056,
    hiddenSize: 1536,
    expertIntermediateSize: 1056,
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 8208,
    attention: { kind: 'gqa', numHeads: 16, numKvHeads: 16, headDim: 96 },
    vocabSize: 50304,
    tiedEmbeddings: false,
  },
  'flame-moe-1.7b': {
    // Megatron-LM shapes from GitHub cmu-flame/FLAME-MoE scripts/release/flame-moe-1.7b.sh (NUM_LAYERS 18, HIDDEN_SIZE 2048,
    // FFN_HIDDEN_SIZE 10944, MOE_FFN_HIDDEN_SIZE 1408, MOE_LAYER_FREQ [0]*1+[1]*17, TRAIN_ITERS 11029) and
    // scripts/training/flame-moe.sh MODEL_ARGS (16 heads, SwiGLU, RMSNorm, untied embeddings, no biases, 64 experts,
    // shared expert size 2 x MOE_FFN_HIDDEN_SIZE = 2 shared experts). top-6: the FLAME-MoE-Traces card and its
    // traces (list[6]); the model card says top-8 (an earlier MODEL_ARGS has --moe-router-topk 8). Vocabulary:
    // GPT-2 BPE (the dclm-28B-gpt2bpe tokenizer script), 50,257 padded by Megatron to a multiple of 128.
    name: 'flame-moe-1.7b',
    displayName: 'FLAME-MoE-1.7B-10.3B',
    source: hf('CMU-FLAME/FLAME-MoE-1.7B-10.3B'),
    numLayers: 18,
    moeLayers: range(1, 18), // layer 0 dense; the traces' "layers 2-18" count from 1
    numExperts: 64,
    topK: 6,
    numSharedExperts: 2,
    sharedExpertIntermediateSize: 1408,
    hiddenSize: 2048,
    expertIntermediateSize: 1408,
    expertMatrices: 3,
    expertBias: false,
    denseIntermediateSize: 10944,
    attention: { kind: 'gqa', numHeads: 16, numKvHeads: 16, headDim: 128 },
    vocabSize: 50304,
    tiedEmbeddings: false,
  },
};
