/**
 * What a model's Hugging Face modeling code issues per decode step, counted from the code (issue 12:
 * each system's execution modelled from its code). The eager runtimes' counts
 * (./execution-semantics.ts runtimes: eager-pytorch, deepspeed-zero, moe-infinity-dispatcher) were
 * made for Mixtral's transformers modules; a model whose modeling code issues more (or fewer) calls
 * per layer or per expert runs the same runtime with the difference added (`hfRuntimeDelta`),
 * counted the same way. No count here is fitted: each is a tally of PyTorch calls in the code cited.
 *
 * Conventions (those of the counts already in the runtimes): an "op" is one PyTorch call from Python
 * at the runtime's perKernelSec (views, splits and transposes included, as eager-pytorch-hqq-triton's
 * Mixtral count includes them); a "sync" is a call that makes the host wait for the GPU (a `.cpu()`,
 * a `.tolist()`, a blocking host-to-device copy: PyTorch's copy_kernel_cuda runs memcpy_and_sync,
 * cudaMemcpyAsync then cudaStreamSynchronize, when non_blocking is false; pytorch/pytorch
 * aten/src/ATen/native/cuda/Copy.cu, seen in code excerpts, not read at a commit), charged at the
 * runtime's syncSec. Decode: batch 1, one new token, eager attention.
 */

/** The remote code of DeepSeek-V2(-Lite) as MoE-Infinity vendors it (the same file deepseek-ai/DeepSeek-V2-Lite serves with trust_remote_code). */
export const DSV2_CODE = 'EfficientMoE/MoE-Infinity@d73d27911330a4e32830fcf179f0d830d93573cb:moe_infinity/models/modeling_deepseek/modeling_deepseek.py';
const DSV2_MI_BLOCK = 'EfficientMoE/MoE-Infinity@cca059cc103fbb7dfacdf423f0705f35669e9af9:moe_infinity/models/deepseek.py';
const MIXTRAL_MI_BLOCK = 'EfficientMoE/MoE-Infinity@cca059cc103fbb7dfacdf423f0705f35669e9af9:moe_infinity/models/mixtral.py';

export interface HfModelCode {
  /** Ops per transformer layer outside the MoE block: the two RMSNorms, attention (its rotary embedding included), the residual adds. */
  attentionOps: number;
  /** Host waits among them. */
  attentionSyncs: number;
  /** Ops of the Hugging Face MoE block outside its loop over experts: router, dispatch and combine, shared experts. */
  moeBlockOps: number;
  moeBlockSyncs: number;
  /** Ops and waits per routed expert the Hugging Face block calls. */
  expertOps: number;
  expertSyncs: number;
  /** nn.Modules called in the attention part and in the MoE block outside its routed experts (ZeRO-3 registers four hooks on each). */
  modules: { attention: number; moeBlock: number };
  /** Of their parameters, those over stage3_param_persistence_threshold (1e5 elements): each fetched every pass. */
  fetchedParams: { attention: number; moeBlock: number };
  /** Weight tensors of a block outside its routed experts (Accelerate's hook copies each one by one). */
  tensorsPerBlock: number;
  /** Ops of MoE-Infinity's replacement MoE block outside its dispatcher (router, mask merge, shared experts). */
  moeInfinityBlockOps: number;
  sources: string[];
}

/**
 * The model the runtimes' counts were made for: Mixtral-8x7B's transformers modules (MixtralDecoderLayer,
 * MixtralSparseMoeBlock), as eager-pytorch-hqq-triton's count of them (execution-semantics.ts): two
 * RMSNorms 16, q/k/v views and transposes 6, rotary 18, KV-cache cat 2, repeat_kv 4, eager attention 9,
 * residual adds 2, q/k/v/o 4 = 61 (no rotary rebuild: transformers' MixtralRotaryEmbedding, "Copied from
 * LlamaRotaryEmbedding", keeps max_seq_len_cached = max_position_embeddings after __init__ and
 * rebuilds only past it; seen in code excerpts of the 2024 releases, not read at a commit); the router 11; per expert 9 ops and the torch.where / .tolist() wait;
 * 11 modules (decoder layer, 2 norms, attention, q/k/v/o, rotary: 9; MoE block, router: 2) and q/k/v/o fetched
 * (the 4096 x 8 router is under the persistence threshold), deepspeed-zero's count; 7 tensors
 * (denseTensorsPerBlock); MoE-Infinity's SyncMixtralSparseMoeBlock.forward (${MIXTRAL_MI_BLOCK}): view,
 * gate, softmax, topk, sum, div, to, one_hot, index, mul, permute, permute, two slices, logical_or,
 * sum, reshape, zeros, dispatch_local's sum, view and .cpu(), reshape = 22.
 */
export const HF_BASELINE_MODEL = 'mixtral-8x7b';

export const HF_MODEL_CODE: Record<string, HfModelCode> = {
  'mixtral-8x7b': {
    attentionOps: 61,
    attentionSyncs: 0,
    moeBlockOps: 11,
    moeBlockSyncs: 0,
    expertOps: 9,
    expertSyncs: 1,
    modules: { attention: 9, moeBlock: 2 },
    fetchedParams: { attention: 4, moeBlock: 0 },
    tensorsPerBlock: 7,
    moeInfinityBlockOps: 22,
    sources: ['the counts behind the runtimes of execution-semantics.ts (eager-pytorch-hqq-triton, deepspeed-zero, moe-infinity-dispatcher)', MIXTRAL_MI_BLOCK],
  },
  /**
   * DeepSeek-V2-Lite (q_lora_rank null, rope_scaling yarn with factor 40, topk_method greedy,
   * norm_topk_prob false, routed_scaling_factor 1.0: deepseek-ai/DeepSeek-V2-Lite-Chat config.json,
   * snapshot 85864749, as a training log in the code index prints it; the 2 shared experts fused into
   * one DeepseekV2MLP of 2 x 1408) in ${DSV2_CODE}, decode:
   *
   * attention part 114 ops, 1 sync: input_layernorm and post_attention_layernorm (DeepseekV2RMSNorm:
   * to, pow, mean, add, rsqrt, mul, to, mul weight: 8 each); DeepseekV2Attention.forward: q_proj, view,
   * transpose, split, kv_a_proj_with_mqa, split, view, transpose, kv_a_layernorm (8), kv_b_proj, view,
   * transpose, split (20); the rotary embedding 32: DeepseekV2RotaryEmbedding.__init__ ends with
   * self.max_seq_len_cached = None, and forward rebuilds the cache whenever seq_len >
   * max_seq_len_cached, so every decode step (kv_seq_len grows by one) re-runs
   * DeepseekV2YarnRotaryEmbedding._set_cos_sin_cache in every layer: freq_extra (arange, div, pow,
   * reciprocal: 4), freq_inter (5), yarn_linear_ramp_mask on the CPU (arange, sub, div, clamp: 4) and
   * its .to(device) (a blocking host-to-device copy: the sync), 1 - mask, 1 - mask, two muls, add (5),
   * arange, outer, cat, cos, mul, to, sin, mul, to (9), then cos_cached[:seq_len].to(), sin (4);
   * apply_rotary_pos_emb 24 (cos/sin index and unsqueeze 4, q and k view/transpose/reshape 6, per q and
   * k: mul, rotate_half's two slices, neg, cat, mul, add); query_states / key_states new_empty and two
   * slice copies each (6); DynamicCache.update's two cats (2); transpose, matmul, scale, mask add,
   * softmax, to, dropout, matmul, transpose, contiguous, reshape, o_proj (12); two residual adds.
   *
   * MoE block 33 ops, 1 sync: MoEGate.forward (view, hidden and weight cast to fp32, linear, softmax,
   * topk, scaling mul: 7); two views; moe_infer: new_zeros, scatter_, sum, view, argsort, floor
   * division, index (7), tokens_per_expert.cpu() (the sync), then after the loop cat, empty_like, index
   * put, view, type, unsqueeze, mul_, sum, type (9); view; shared_experts (gate_proj, act, up_proj, mul,
   * down_proj: 5) and the add. Per expert (the loop skips the empty ones: if num_tokens == 0: continue)
   * the slice of sorted_tokens and the DeepseekV2MLP's 5: 6 ops, no wait.
   *
   * ZeRO-3: 17 modules outside the routed experts (decoder layer, 2 norms, attention, q_proj,
   * kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj, rotary_emb: 10; the MoE block, the gate,
   * the shared DeepseekV2MLP, its gate/up/down_proj and act_fn: 7); fetched: q_proj (3072 x 2048),
   * kv_a_proj_with_mqa (576 x 2048), kv_b_proj (4096 x 512), o_proj (4); the gate weight (64 x 2048 =
   * 131072 > 1e5) and the shared gate/up/down_proj (4); the norms and kv_a_layernorm stay. Accelerate:
   * 11 tensors (q_proj, kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj, 2 norms, the gate, 3
   * shared). MoE-Infinity's DeepseekMoEBlock.forward (${DSV2_MI_BLOCK}): the MoEGate 7, view, one_hot,
   * index, mul, permute, sum, permute (7), a logical_or loop over the 6 top-k slots (slice, slice,
   * logical_or, slice assignment: 24), slice, zeros, dispatch_local's view, sum, .cpu() (3), view, the
   * shared experts and add (6): 50 (its attention is the vendored one above: flash attention is off for
   * deepseek in moe_infinity/entrypoints/big_modeling.py, and its replacement apply_rotary_pos_emb adds
   * the same four .to() calls as Mixtral's replacement, so no difference there).
   */
  'deepseek-v2-lite': {
    attentionOps: 114,
    attentionSyncs: 1,
    moeBlockOps: 33,
    moeBlockSyncs: 1,
    expertOps: 6,
    expertSyncs: 0,
    modules: { attention: 10, moeBlock: 7 },
    fetchedParams: { attention: 4, moeBlock: 4 },
    tensorsPerBlock: 11,
    moeInfinityBlockOps: 50,
    sources: [DSV2_CODE, DSV2_MI_BLOCK, 'EfficientMoE/MoE-Infinity@cca059cc103fbb7dfacdf423f0705f35669e9af9:moe_infinity/entrypoints/big_modeling.py (is_flash_attn_available = False for deepseek)'],
  },
};

/** How a runtime runs the model's modules: Hugging Face's own MoE block (eager, Accelerate), under ZeRO-3's hooks, or with MoE-Infinity's block and dispatcher. */
export type HfPath = 'hf' | 'deepspeed' | 'moe-infinity';

export interface HfDelta {
  /** Per transformer layer: the attention part's ops and waits. */
  layerOps: number;
  layerSyncs: number;
  /** Per MoE layer: the MoE block's, outside its experts. */
  blockOps: number;
  blockSyncs: number;
  /** Per routed expert called. */
  expertOps: number;
  expertSyncs: number;
}

/**
 * A model's counted code by its preset name; a scenario's overrides of a preset (`name+overrides`:
 * topK, expert counts, ...) change its sizes, not the modeling code's calls, so they keep the count.
 */
export function hfModelCode(model: string): HfModelCode | undefined {
  return HF_MODEL_CODE[model.replace(/\+overrides$/, '')];
}

const NONE: HfDelta = { layerOps: 0, layerSyncs: 0, blockOps: 0, blockSyncs: 0, expertOps: 0, expertSyncs: 0 };

/**
 * Ops and waits to add to a runtime's Mixtral-counted figures for `model`'s code on `path`. Zero
 * for a model with no count (its runtime keeps the Mixtral figures, as before).
 */
export function hfRuntimeDelta(model: string, path: HfPath): HfDelta {
  const m = hfModelCode(model);
  const b = HF_MODEL_CODE[HF_BASELINE_MODEL];
  if (!m || m === b) return NONE;
  const d: HfDelta = { ...NONE, layerOps: m.attentionOps - b.attentionOps, layerSyncs: m.attentionSyncs - b.attentionSyncs };
  // MoE-Infinity: the expert work is its dispatcher's (C++, alike for every model); only its Python block differs.
  if (path === 'moe-infinity') return { ...d, blockOps: m.moeInfinityBlockOps - b.moeInfinityBlockOps };
  d.blockOps = m.moeBlockOps - b.moeBlockOps;
  d.blockSyncs = m.moeBlockSyncs - b.moeBlockSyncs;
  d.expertOps = m.expertOps - b.expertOps;
  d.expertSyncs = m.expertSyncs - b.expertSyncs;
  if (path === 'deepspeed') {
    // deepspeed-zero's count: 4 hook ops per module; per fetched parameter a .to() and a release, an
    // event created and recorded and a wait_stream (5 ops), and the fetch's stream synchronize.
    const part = (k: 'attention' | 'moeBlock') => ({ mods: m.modules[k] - b.modules[k], fetched: m.fetchedParams[k] - b.fetchedParams[k] });
    const a = part('attention');
    const k = part('moeBlock');
    d.layerOps += 4 * a.mods + 5 * a.fetched;
    d.layerSyncs += a.fetched;
    d.blockOps += 4 * k.mods + 5 * k.fetched;
    d.blockSyncs += k.fetched;
  }
  return d;
}
