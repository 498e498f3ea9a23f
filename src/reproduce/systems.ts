/**
 * How a published point's system becomes a real system preset (src/systems/catalog.ts).
 *
 * issue 12c: the stand-in table (system -> nearest plain policy) is gone. Every point is simulated
 * with `system: {kind: ...}` — the system's own policy and its execution semantics (runtime
 * overheads, achieved link, copy stream, write-back, dequantisation, CPU kernels) — with the
 * point's quantisation and offload settings. Every system of the suite has a preset; the rows below
 * only say how a point's stated settings become the preset's fields, and where the source does not
 * state one (how many layers fit), the declared capacity rule used instead. No rule looks at the
 * published number.
 */
import type { MoeModel } from '../model/types.js';
import type { Hardware } from '../hardware/types.js';
import { denseFfnParams, embeddingParams, expertParams, kvBytesPerTokenPerLayer, perHeadKvBytesPerTokenPerLayer, numMoeLayers, residentParams, totalParams, attentionParams, routerParams, sharedExpertParams } from '../model/derived.js';
import { FIDDLER_FREE_FRACTION, systems as catalog, type SystemSpec } from '../systems/catalog.js';
import { pointContext, type PublishedPoint } from './points.js';
import { InputError } from '../util/errors.js';
import { precisionBytesPerParam, tierDtype, tierLabel } from '../model/formats.js';
import { weightFormats, type WeightFormatName } from '../timing/execution-semantics.js';

const GiB = 2 ** 30;

export interface SystemRow {
  /** The catalog preset the points of this system run with. */
  preset: SystemSpec['kind'];
  /** How the point's settings become the preset's fields (and the declared rule where the source states none). */
  settings: string;
  /** The point's system spec and, where the preset expands into several policies, which one the source measured. */
  spec: (p: PublishedPoint, ctx: PointContext) => { system: SystemSpec; policyIndex?: 'last' | 'first' };
}

export interface PointContext {
  model: MoeModel;
  hardware: Hardware;
  /** Points of the same comparison (Table 2's naive baseline takes the mixtral-offloading budget of its row). */
  siblings: PublishedPoint[];
  /** The spec is for the encoder pass of an encoder-decoder model (`model` is its encoder stack, src/model/derived.ts encoderStack). */
  encoderPass?: boolean;
}

/** The catalog weight format that matches the point's stated quantisation (and its precision block). */
function format(p: PublishedPoint, family: 'hqq' | 'gguf'): WeightFormatName {
  const t = p.precision.experts;
  const e = tierDtype(t);
  if (e === 'fp16' || e === 'bf16') return 'bf16';
  if (e === 'fp32') return 'fp32';
  // A named storage format: the catalog format of the family stored that way.
  if (typeof t === 'object' && 'format' in t) {
    const f = Object.values(weightFormats).find((w) => 'storage' in w && w.storage === t.format && w.name.startsWith(`${family}-`));
    if (f) return f.name as WeightFormatName;
    throw new InputError(
      `${p.id}.precision.experts.format: ${t.format} has no ${family === 'gguf' ? 'GGUF' : 'HQQ'} weight format for ${p.system} (src/reproduce/systems.ts format); expected one of ${Object.values(weightFormats)
        .filter((w) => 'storage' in w && w.name.startsWith(`${family}-`))
        .map((w) => (w as { storage: string }).storage)
        .join(', ')}`,
    );
  }
  // Only the pairs the suite's sources state map to a format; any other dtype is an error, not a
  // silent fall-through to a format of other bytes (an fp32 point once ran as hqq-2bit that way).
  if (family === 'gguf' && e === 'int4') return 'gguf-q4_k';
  // HQQ points size their experts as int2 (the 3-bit ones too: the format's own dtype sets their bytes).
  if (family === 'hqq' && e === 'int2') return /3-?bit/i.test(p.quantization) || p.id.includes('-3bit-') ? 'hqq-3bit' : 'hqq-2bit';
  throw new InputError(
    `${p.id}.precision.experts: ${e} has no ${family === 'gguf' ? 'GGUF' : 'HQQ'} weight format for ${p.system} (src/reproduce/systems.ts format); expected ${family === 'gguf' ? 'int4 (Q4_K)' : 'int2 (HQQ 2/3-bit)'}, fp16, bf16 or fp32`,
  );
}

/** Bytes per parameter of one tier of the point's precision (a dtype at its groupSize, or a named format) for `model`. */
const pointBpp = (p: PublishedPoint, which: 'experts' | 'dense', model: MoeModel) => precisionBytesPerParam(p.precision, which, model);

/** A float point's weight format (MoE-Lightning runs fp16 checkpoints); any other dtype is an error naming the field. */
function floatFormat(p: PublishedPoint): 'bf16' | 'fp32' {
  const t = p.precision.experts;
  // A named storage format is a quantised layout (src/model/formats.ts), never a float one.
  const e = typeof t === 'object' && 'format' in t ? undefined : tierDtype(t);
  if (e === 'fp16' || e === 'bf16') return 'bf16';
  if (e === 'fp32') return 'fp32';
  throw new InputError(`${p.id}.precision.experts: ${tierLabel(t)} has no weight format for ${p.system} (src/reproduce/systems.ts floatFormat); expected fp16, bf16 or fp32`);
}
/** Declared reserve for activations, KV cache and the CUDA context when a rule sizes what fits. */
const RESERVE_GIB = 2;

/**
 * Encoder-decoder models (modelled as their decoder stack, src/model/presets.ts notes) whose
 * encoder comes first in module order: Accelerate's device_map="auto" (infer_auto_device_map)
 * fills the GPU with modules in the order named_children gives them, then the CPU (recalled, not
 * read at a commit this session), and both Hugging Face classes hold the encoder before the
 * decoder (SwitchTransformersModel: shared, encoder, decoder; NllbMoeModel: shared, encoder,
 * decoder; duyy97/transformers@ebebfbf58043b749f47a2f701a161f0c12e5f107, forks of early-2024
 * upstream). The encoder's MoE layers (the same shape as the decoder's, minus cross-attention)
 * take the GPU memory first; the decoder gets what is left.
 */
export const ENCODER_FIRST: Record<string, { encoderMoeLayers: number; source: string }> = {
  'switch-large-128': { encoderMoeLayers: 12, source: 'num_layers 24, encoder_sparse_step 2 (google/flaxformer@3cbba275:flaxformer/t5x/configs/moe/models/switch_large.gin: NUM_ENCODER_SPARSE_LAYERS = 12)' },
  'nllb-moe-54b': { encoderMoeLayers: 6, source: 'encoder_layers 24, encoder_sparse_step 4' },
};

/**
 * Transformer layers (dense weights and all experts) that fit in HBM after the embeddings, the
 * reserve, the batch's KV cache, and room to stage the experts an offloaded layer runs in one step
 * (Accelerate's hook moves an offloaded module's weights to the GPU for its forward): every expert
 * where the model's loop calls them all, else the experts the step's tokens can route,
 * min(experts, batch x max(1, stated prompt) x top-k), as nglThatFits stages a prompt's; for an
 * encoder-first model (ENCODER_FIRST), the decoder's share after the encoder's MoE layers took theirs.
 */
export function layersThatFit(p: PublishedPoint, ctx: PointContext): number {
  const fit = layerBudget(p, ctx) - (ENCODER_FIRST[p.model]?.encoderMoeLayers ?? 0);
  return Math.max(0, Math.min(numMoeLayers(ctx.model), fit));
}

/**
 * The encoder's share of layersThatFit's budget (ctx.model the encoder stack): device_map="auto"
 * places the encoder first, so its first MoE layers take the GPU, up to all of them.
 */
export function encoderLayersThatFit(p: PublishedPoint, ctx: PointContext): number {
  return Math.max(0, Math.min(numMoeLayers(ctx.model), layerBudget(p, ctx)));
}

/** How many MoE layers (dense weights and every expert) fit in HBM by layersThatFit's rule, encoder and decoder together. */
function layerBudget(p: PublishedPoint, ctx: PointContext): number {
  const { model, hardware } = ctx;
  const perLayer = (attentionParams(model) + routerParams(model) + sharedExpertParams(model)) * pointBpp(p, 'dense', model) + model.numExperts * expertParams(model) * pointBpp(p, 'experts', model);
  // The KV cache of the point's batch at the context it decodes to (pointContext) is held on the
  // GPU too: at batch 32 it outgrows what the reserve leaves.
  const kv = kvBytesPerTokenPerLayer(model, p.precision.kvCache) * model.numLayers * pointContext(p).tokensPerSequence * p.workload.batchSize;
  const everyExpert = accelerateCallsEveryExpert(p);
  const stepTokens = p.workload.batchSize * Math.max(1, p.workload.promptTokens === 'unstated' ? 0 : p.workload.promptTokens);
  const staged = (everyExpert ? model.numExperts : Math.min(model.numExperts, stepTokens * (p.topK ?? model.topK))) * expertParams(model) * pointBpp(p, 'experts', model);
  const free = hardware.gpu.hbmBytes - RESERVE_GIB * GiB - embeddingParams(model) * pointBpp(p, 'dense', model) - kv - staged;
  return Math.floor(free / perLayer);
}

const OLLAMA_MEMORY = 'ollama/ollama@3241b457904a91c709b4c77075a50917fab43aaa:llm/memory.go';
/** Ollama's default context (num_ctx) of the versions the points measured; the KV cache it sizes is small next to the weights. */
const OLLAMA_NUM_CTX = 2048;

/**
 * -ngl by free VRAM, the rule of Ollama's EstimateGPULayers (${OLLAMA_MEMORY}): one layer's worth
 * (blk.0) held back as a buffer, then blocks in order while the GPU's free memory exceeds what is
 * allocated plus the graph plus the next block (each block's weights plus its share of the KV cache
 * at num_ctx), then the output layer if it still fits; the count (blocks + output) is -ngl.
 * Free memory, the graph and the CUDA minimum are the declared 2 GiB reserve; blocks are counted
 * from the last one down (those are the ones -ngl places). `buffer`: Ollama's
 * extra layer (a llama.cpp user with no stated -ngl is taken to pick the most that fits: no buffer).
 */
export function nglThatFits(p: PublishedPoint, ctx: PointContext, buffer: boolean): number {
  const { model, hardware } = ctx;
  const bd = pointBpp(p, 'dense', model);
  // The KV cache llama.cpp allocates per GPU block: an MLA model's per head (the llama-cpp
  // preset's mlaCache default, llama.cpp before PR #12801), num_ctx tokens of it.
  const kvLayer = perHeadKvBytesPerTokenPerLayer(model, p.precision.kvCache) * OLLAMA_NUM_CTX;
  const moe = new Set(model.moeLayers);
  const block = (b: number) =>
    (moe.has(b)
      ? (attentionParams(model) + routerParams(model) + sharedExpertParams(model)) * bd + model.numExperts * expertParams(model) * pointBpp(p, 'experts', model)
      : (attentionParams(model) + denseFfnParams(model)) * bd) + kvLayer;
  // A stated prompt of at least 32 tokens (ggml-cuda's offload_op minimum batch) is prefilled with
  // the CPU-resident experts copied to the GPU op by op: room for one layer's experts the prompt
  // selects (the simulator stages a step's largest per-layer union of misses the same way).
  const prompt = p.workload.promptTokens === 'unstated' ? 0 : p.workload.promptTokens;
  const staging = prompt >= 32 ? Math.min(model.numExperts, prompt * model.topK) * expertParams(model) * pointBpp(p, 'experts', model) : 0;
  const free = hardware.gpu.hbmBytes - RESERVE_GIB * GiB - staging;
  let used = buffer ? block(model.numLayers - 1) : 0;
  let n = 0;
  // From the last block down: the blocks -ngl puts on the GPU (llama.cpp's i_gpu_start). Ollama's
  // loop sums blk.0, blk.1, ...; the two agree for models whose blocks are alike (Mixtral; the
  // DeepSeek-V2-Lite point fits whole either way), and the last blocks are what the GPU holds.
  for (let b = model.numLayers - 1; b >= 0; b--) {
    const size = block(b);
    if (free <= used + size) break;
    used += size;
    n++;
  }
  const lmHead = (model.tiedEmbeddings ? embeddingParams(model) : embeddingParams(model) / 2) * bd;
  if (n === model.numLayers && free > used + lmHead) n++;
  return n;
}

const OLLAMA_V0127 = 'ollama/ollama@v0.1.27 (2024-02-22):llm/llm.go (New: kv = 2 x 2 x num_ctx x n_layer x n_embd x n_head_kv / n_head; graph = GQA x kv / 6; layers = (n_layer + 1) x (avail - graph) / (kv + file size), capped at n_layer + 1; CPU only when layers <= 0 or graph + kv x layers / (n_layer + 1) > avail) and gpu/gpu.go (CheckVRAM: avail = free - max(free / 10, 1 GiB))';

/**
 * -ngl by Ollama v0.1.27's rule (${OLLAMA_V0127}), the release of the Feb 2024 README cell: the
 * layer count is proportional to the VRAM left after the graph, over the file size plus the KV
 * cache. Free VRAM is taken as the whole HBM (an idle GPU); the file is the model at the point's
 * precision.
 */
export function ollamaV0127Ngl(p: PublishedPoint, ctx: PointContext): number {
  const { model, hardware } = ctx;
  const a = model.attention;
  if (a.kind !== 'gqa') throw new Error(`ollamaV0127Ngl: ${model.name} has no GQA attention (llm.go's KV formula)`);
  const kv = kvBytesPerTokenPerLayer(model, 'fp16') * OLLAMA_NUM_CTX * model.numLayers;
  const graph = ((a.numHeads / a.numKvHeads) * kv) / 6;
  const free = hardware.gpu.hbmBytes;
  const avail = free - Math.max(free / 10, GiB);
  const size = totalParams(model) * pointBpp(p, 'experts', model);
  const max = model.numLayers + 1;
  const layers = Math.min(max, Math.floor((max * (avail - graph)) / (kv + size)));
  if (layers <= 0 || graph + (kv * layers) / max > avail) return 0;
  return layers;
}

/** Which Ollama release measured each README cell (the README's history): Mixtral in Feb 2024 (@6efc133), DeepSeek-V2-Lite in Feb 2025 (@3133d18). */
export const OLLAMA_RUNS: Record<string, { rule: 'v0.1.27' | 'memory.go'; source: string }> = {
  'mixtral-8x7b': { rule: 'v0.1.27', source: 'the cell (0.903) is in the README since 2024-02-27 (EfficientMoE/MoE-Infinity@6efc133); Ollama v0.1.27 was current (2024-02-22)' },
  'deepseek-v2-lite': { rule: 'memory.go', source: `the cell (1.250) was added 2025-02-11 (@3133d18); ${OLLAMA_MEMORY} is of 2025-02-13` },
};

/**
 * Whether a model's Hugging Face MoE block, at the version the MoE-Infinity README's baselines ran,
 * calls every expert module (tokens or not) or only those with tokens. ZeRO-3's hooks (and
 * Accelerate's) fetch what is called.
 */
export const HF_MOE_LOOP: Record<string, { callsEveryExpert: boolean; source: string }> = {
  'mixtral-8x7b': {
    callsEveryExpert: false,
    source:
      'transformers MixtralSparseMoeBlock.forward of the v4.37 era: for expert_idx in range(self.num_experts): ... idx, top_x = torch.where(expert_mask[expert_idx]); if top_x.shape[0] == 0: continue, so an expert without tokens is not called (read in a fork of upstream of that time, RezaYazdaniAminabadi/transformers-1@073fc2345b834e9216aae4c2c2198c7c2eecf76d:src/transformers/models/mixtral/modeling_mixtral.py, whose own edits are tp_size and moe_layer_frequency, not the loop; its SDPA class carries the v4.37 torch==2.1.2 note); the skip was dropped later for torch.fx tracing (huggingface/transformers#30209, numbered after #30083 of 2024-04-06, i.e. after the Feb 2024 cell; #32429 of 2024-08-05 describes that loop, "loops all the experts and inevitably loads experts\' weight", and restores the skip); bound: gathering all 87 GiB every pass in the published 2.486 s would need 37 GB/s, above PCIe 4.0 x16\'s 31.5 GB/s',
  },
  'deepseek-v2-lite': {
    callsEveryExpert: false,
    source: 'DeepSeek-V2 remote code, DeepseekV2MoE.moe_infer: for i, num_tokens in enumerate(tokens_per_expert): ... if num_tokens == 0: continue (vendored at EfficientMoE/MoE-Infinity@d6178017933c3d39f82be99f702d8a3e4ce98f8f:moe_infinity/models/modeling_deepseek/modeling_deepseek.py)',
  },
  'switch-large-128': {
    callsEveryExpert: true,
    source:
      'transformers SwitchTransformersSparseMLP.forward of early 2024: for idx, expert in enumerate(self.experts.values()): token_indices = router_mask[:, :, idx].bool(); next_states[token_indices] = expert(hidden_states[token_indices]), every expert module called, zero tokens or not (duyy97/transformers@ebebfbf58043b749f47a2f701a161f0c12e5f107:src/transformers/models/switch_transformers/modeling_switch_transformers.py, a fork with the tuple KV cache of upstream before v4.40); later upstream loops over the activated experts only (huggingface/transformers@00dcc6dda6f6d8e69541a6b51f97986a80242367, idx_mask = torch.nonzero(...): PR #31173, opened 2024-06-01 after #30490 of 2024-04-26, so after the README\'s cells of 2024-02-27, whose repository pinned no transformers until @87eacf7 of 2024-04-09, >=4.37.1); MoE-Infinity\'s own replacement of the block adds if token_indices.any() (EfficientMoE/MoE-Infinity@9cd8e99:moe_infinity/models/switch_transformers.py), so the baselines ran the calling-every-expert loop',
  },
  'nllb-moe-54b': {
    callsEveryExpert: true,
    source:
      'transformers NllbMoeSparseMLP.forward of early 2024: for idx, expert in enumerate(self.experts.values()): token_indices = router_mask[:, idx]; expert_output = expert(masked_hidden_states[idx, token_indices]), every expert called (duyy97/transformers@ebebfbf58043b749f47a2f701a161f0c12e5f107:src/transformers/models/nllb_moe/modeling_nllb_moe.py); MoE-Infinity\'s replacement adds if token_indices.any() (EfficientMoE/MoE-Infinity@9cd8e99:moe_infinity/models/nllb_moe.py)',
  },
  'qwen3-30b-a3b': {
    callsEveryExpert: true,
    source:
      'transformers 4.51 (the first with Qwen3-MoE, which vLLM v0.8.5 of the same table requires) Qwen3MoeSparseMoeBlock.forward: for expert_idx in range(self.num_experts): ... expert_layer(current_state), called with zero tokens too (recalled, not read at a commit this session); later versions loop over expert_hit only (huggingface/transformers fork ri938/transformers@9b4d2410:src/transformers/models/qwen3_moe/modeling_qwen3_moe.py)',
  },
};

/**
 * mixtral-offloading Table 2's "Naive offloading (accelerate)": the paper's baseline code is not in
 * the repository (dvmazur/mixtral-offloading@0d3c605 has no accelerate baseline), but the paper
 * states what it moves: arXiv 2312.17238 §4.3, "all schemes significantly outperform naive
 * offloading that loads the entire MoE layer" (re-read in session 23). So every expert of an
 * offloaded layer, every pass (as Hugging Face's Mixtral loop over range(num_experts) does under
 * Accelerate's per-module hooks from 2024: huggingface/transformers#32429, "The current
 * implementation loops all the experts and inevitably loads experts' weight"). Bound, as before:
 * routed experts only (a quarter of the bytes) in the published 0.72 s/token on the A100 (PCIe 4.0)
 * would mean 2.9 GB/s for pageable copies of 22-66 MB tensors, a quarter of the ~11 GB/s measured
 * for pageable uploads (microsoft/onnxruntime#20947, nsys: 1.573 MB in 139 us).
 */
export const MO_T2_NAIVE = {
  callsEveryExpert: true,
  source:
    'arXiv 2312.17238 §4.3: "naive offloading that loads the entire MoE layer" (the baseline code is not published); as transformers#32429 says of the HF Mixtral loop under offloading ("loops all the experts and inevitably loads experts\' weight")',
};

/** Whether an Accelerate point's offloaded layers upload every expert: Table 2's naive baseline by the paper, the README's cells by the model's Hugging Face loop. */
function accelerateCallsEveryExpert(p: PublishedPoint): boolean {
  return p.id.startsWith('mo-t2-') ? MO_T2_NAIVE.callsEveryExpert : (HF_MOE_LOOP[p.model]?.callsEveryExpert ?? false);
}

/**
 * Fiddler's "DeepSpeed-MII" baseline as its script sets it up (v1 of the paper, Feb 2024): ZeRO-3
 * with offload_param {device: cpu, pin_memory: True}, bf16, and
 * deepspeed.utils.set_z3_leaf_modules(model, [MixtralSparseMoeBlock]) before deepspeed.initialize,
 * through Hugging Face generate. The README installs it by `pip install deepspeed-mii accelerate`
 * (the baseline was added 2024-02-08, @7ac25b7): DeepSpeed v0.13.1 then (v0.13.2 came 2024-02-10),
 * which has set_z3_leaf_modules (v0.13.0, #4966).
 */
export const DS_MII_SETUP = {
  pinMemory: true,
  leafMoeBlock: true,
  source:
    'efeslab/fiddler@1ad7a6c624a6c4f297d67f8d753efd75c0b0fa77:benchmarks/eval-baseline.py (init_deepspeed_mii: "offload_param": {"device": "cpu", "pin_memory": True}, bf16, deepspeed.utils.set_z3_leaf_modules(model, [MixtralSparseMoeBlock])) and benchmarks/README.md (pip install deepspeed-mii accelerate; DeepSpeed v0.13.1 at the time, which has set_z3_leaf_modules since v0.13.0): pinned, the MoE block a leaf module (every expert gathered every pass)',
};

/**
 * Which ZeRO-3 setup could have measured the MoE-Infinity README's Mixtral cells (2.486 s/token at
 * batch 1, 7.727 tokens/s at batch 32; both in the first README, @6efc133 of 2024-02-27, so a release
 * before v0.15.3, v0.13.4 the newest). Not DeepSpeed's all-default config: with the default prefetch such a coordinator raises
 * "still have inflight params" after the first decode pass whose experts differ from the prefill's
 * (catalog DS_V013_COORD; deepspeedai/DeepSpeed#4808). Not a leaf MoE block either (the other
 * documented way to run Mixtral then, #4966): every expert gathered per token is 93.4 GB in 2.486 s,
 * 37.6 GB/s, above PCIe 4.0 x16's 31.5. So the experts are fetched per call with no prefetch
 * overlap, as modelled, and pin_memory keeps its default. The batch-32 cell is then out of reach of
 * the code: 32 tokens x top-2 reach every expert of every layer, so a step gathers the whole model,
 * and 32 / 7.727 = 4.14 s per step is >= 22.5 GB/s, above the pageable rate (0.45 x 31.5 = 14.2);
 * pinned memory would fit it (simulated 3.97 s) but put the batch-1 cell at 1.10 s (-56%), and a
 * leaf block with pinned memory gives 3.78 s (+52%) at batch 1: no one setup gives both cells (the
 * published step ratio 4.14 / 2.486 = 1.67 against a bytes ratio of 93.4 / 25.8 = 3.6), so the
 * batch-32 cell stays a miss rather than a per-point setting.
 */
export const DS_README_MIXTRAL_2024 = {
  source:
    'the README cells of 2024-02-27 (EfficientMoE/MoE-Infinity@6efc133) ran a DeepSpeed before v0.15.3: its default prefetch crashes on a routing-dependent module order (microsoft/DeepSpeed@18179807 v0.13.2 partitioned_param_coordinator.py reset_step: "still have inflight params"; deepspeedai/DeepSpeed#4808), a leaf MoE block is excluded by the batch-1 cell (93.4 GB in 2.486 s = 37.6 GB/s > PCIe 4.0 x16), so experts fetched per call, no prefetch overlap, pin_memory default (pageable); the batch-32 cell (>= 22.5 GB/s for the whole model each step) is reached by no setup that also gives the batch-1 cell',
};

const MI_README_VLLM_HISTORY =
  'EfficientMoE/MoE-Infinity README history: the vLLM row was added unversioned on 2025-02-23 (@cca059c) with Mixtral-8x7b 2.137 and DeepSeek-V2-Lite 0.493; on 2025-05-12 (@8d190e9) it was relabelled "vLLM (v0.8.5)", DeepSeek-V2-Lite re-measured to 0.149 and Qwen3-30B-A3B added at 0.205, Mixtral-8x7b left at 2.137';
/**
 * Which vLLM engine measured each cell, from the README's history (MI_README_VLLM_HISTORY): a
 * cell of Feb 2025 ran a v0.7 release (v0.7.3 of 2025-02-20 the newest), whose default engine is
 * V0, and V1 had no CPU offloading before PR #15354 (vllm-project/vllm, "[V1] Fully Transparent
 * Implementation of CPU Offloading", 2025-03: "Right now (in v0.8.1), vLLM V1 does not support CPU
 * offloading"; in releases from v0.8.4, vllm-project/vllm#17062): so the functional_call copy of
 * every offloaded layer's whole state dict each forward (maybe_offload_to_cpu at vllm-project/vllm@d30d0c1, the V0 path,
 * kept for V0 in later releases too). A cell of May 2025 ran v0.8.5 as labelled, V1 by default:
 * UVA, the kernels reading the offloaded parameters in place.
 */
export const VLLM_RUNS: Record<string, { uva: boolean; source: string }> = {
  'mi-readme-mixtral-8x7b-vllm-cpu-offload': { uva: false, source: 'cell unchanged since 2025-02-23 (@cca059c): vLLM v0.7.x, V0, functional_call copy' },
  'mi-readme-2025-02-deepseek-v2-lite-vllm-cpu-offload': { uva: false, source: 'the cell of 2025-02-23 (@cca059c), 0.493: vLLM v0.7.x, V0, functional_call copy' },
  'mi-readme-deepseek-v2-lite-vllm-cpu-offload': { uva: true, source: 're-measured 2025-05-12 (@8d190e9), 0.493 -> 0.149, row labelled v0.8.5: V1, UVA' },
  'mi-readme-qwen3-30b-a3b-vllm-cpu-offload': { uva: true, source: 'added 2025-05-12 (@8d190e9) in the row labelled v0.8.5: V1, UVA' },
};

/**
 * Which code measured mixtral-offloading's Table 2 (arXiv 2312.17238): not the published one. Its
 * "Full algorithm" row is speculative pre-loading, which the repository does not have
 * (dvmazur/mixtral-offloading@0d3c605:README.md, "Work in progress": "Speculative expert
 * prefetching"). The published ExpertCache copies each evicted expert back to the host on the
 * compute stream (src/expert_cache.py _swap); the measured rows show no such cost. Within one
 * GPU's column every host cost cancels between "W/o LRU cache & pre-loading" (no cache: nothing
 * to evict) and "W/o expert pre-loading" (LRU): with the 3-bit minus 2-bit difference of the
 * no-cache row as the link rate (9.9 GB/s on the RTX 3060's PCIe Gen.3, 16.4 on the 3080
 * Mobile, 21 on the A100), the LRU rows' saving needs a hit rate of 43% at k = 2 (RTX 3060) and
 * 54-57% at k = 4 (3080 Mobile, A100) without write-back, 71% and 77-78% with it (2-bit rows; the 3-bit rows give 44%, 47-52% and 72%, 74-76%); the shipped
 * Mixtral trace's LRU hit rates are 34% at k = 2 and 60% at k = 4 (traces/PROVENANCE.md). With the
 * write-back and 34% hits a k = 2 cache is slower than none (2 x 66% of the copies), while the
 * RTX 3060's LRU row is 1.33x faster than its no-cache row. So Table 2's points run without it;
 * the preset's default (and the README point, which ran the published code) keep it.
 */
export const MO_T2_CODE = {
  writeBack: false,
  source:
    'Table 2 ran unpublished code (its full algorithm is not in the repository, @0d3c605 README "Work in progress"); its LRU rows are 1.27-1.38x faster than its no-cache rows on every GPU, which a serial write-back per miss rules out at the k = 2 of the RTX 3060 (the LRU saving would need 71% hits; the trace gives 34%)',
};

/** vLLM's default max_model_len: the model's max_position_embeddings (Hugging Face config.json of each checkpoint). */
export const VLLM_MAX_MODEL_LEN: Record<string, number> = {
  'mixtral-8x7b': 32768, // mistralai/Mixtral-8x7B-Instruct-v0.1 config.json
  'deepseek-v2-lite': 163840, // deepseek-ai/DeepSeek-V2-Lite-Chat config.json
  'qwen3-30b-a3b': 40960, // Qwen/Qwen3-30B-A3B config.json
};

/**
 * Which MoE-Infinity release measured each README row, from the README's history
 * (EfficientMoE/MoE-Infinity): through the 2024 releases (@350f0dd, Aug 2024) the Mixtral-8x7B
 * cell was 0.895; the Feb 2025 rewrite to the C++ expert dispatcher (@cca059c, "Refactor code for
 * better performance") changed it to 0.735 and DeepSeek-V2-Lite's 0.181 (@3133d18) to 0.155, later
 * 0.100; the Qwen3-30B-A3B column came later still. So every row of the later table is the
 * dispatcher release, whose benchmark script (examples/interface_example.py@cca059c) defaults to
 * device_memory_ratio 0.85. The first README's cells that were never re-measured (its batch-32
 * table, and the Switch/NLLB latency cells as first published) are the 2024 release's:
 * MOEINF_POINT_RUNS, which a point's id selects before this per-model table.
 */
export const MOEINF_RUNS: Record<string, { dispatch: 'hooks' | 'dispatcher'; deviceMemoryRatio: number; source: string }> = {
  'switch-large-128': { dispatch: 'dispatcher', deviceMemoryRatio: 0.85, source: '0.230 -> 0.130 with the rewrite @cca059c; interface_example.py@cca059c' },
  'nllb-moe-54b': { dispatch: 'dispatcher', deviceMemoryRatio: 0.85, source: '0.239 -> 0.119 with the rewrite @cca059c; interface_example.py@cca059c' },
  'mixtral-8x7b': { dispatch: 'dispatcher', deviceMemoryRatio: 0.85, source: '0.895 -> 0.735 with the rewrite @cca059c; interface_example.py@cca059c' },
  'deepseek-v2-lite': { dispatch: 'dispatcher', deviceMemoryRatio: 0.85, source: '0.181 (@3133d18) -> 0.155 (@cca059c) -> 0.100; interface_example.py@cca059c' },
  'qwen3-30b-a3b': { dispatch: 'dispatcher', deviceMemoryRatio: 0.85, source: 'column added after the rewrite; interface_example.py@cca059c' },
};

/**
 * Points measured by a MoE-Infinity release other than the one MOEINF_RUNS gives their model: the
 * 2024 README cells (EfficientMoE/MoE-Infinity@6efc133984704c3618fac3ac48d32e14c90f93a0 to
 * @51f5730186f6ad2d24fb9826e27d146d68201c6b: Mixtral-8x7b 0.895 s/token, 12.579 tokens/s at batch
 * 32) predate the Feb 2025 dispatcher rewrite (@cca059c), so they ran the hooks release; its first
 * published script, examples/interface_example.py@87eacf7ada2590e80db2e5e98702d632a6869d6a,
 * defaults to device_memory_ratio 0.75 (the README does not say which script measured the table).
 *
 * Switch-Large-128 and NLLB-MoE-54B: cells of the README's first version (@6efc133, 2024-02-27) that no later
 * version re-measured: the 2024 release with per-expert hooks and the activation-matrix prefetch
 * (the code released the next day, @9cd8e99, 2024-02-28), at the device_memory_ratio its README
 * example and benchmark script set (README@6efc133: "device_memory_ratio": 0.75;
 * @9cd8e99:examples/interface_example.py: --device_memory_ratio default 0.75). The latency cells of
 * these columns (0.230, 0.239) changed with the Feb 2025 rewrite (@cca059c: 0.130, 0.119), so those
 * points are the dispatcher's (MOEINF_RUNS); the throughput table was never re-measured (commented
 * out from @3133d18, 2025-02-11), so all its cells are the 2024 release's.
 */
const MOEINF_2024 = { dispatch: 'hooks' as const, deviceMemoryRatio: 0.75, source: 'README@6efc133 cell, 2024 release (@9cd8e99: hooks, device_memory_ratio 0.75)' };
export const MOEINF_POINT_RUNS: Record<string, { dispatch: 'hooks' | 'dispatcher'; deviceMemoryRatio: number; source: string }> = {
  'mi-readme-2024-mixtral-8x7b-moe-infinity': { dispatch: 'hooks', deviceMemoryRatio: 0.75, source: '0.895 in the README @6efc133 to @3133d18 (2024 releases); interface_example.py@87eacf7 --device_memory_ratio default 0.75' },
  // s26-dsv2: the dispatcher, not the hooks: at that commit DeepSeek's MoE block is already
  // MoE-Infinity's DeepseekMoEBlock, whose forward hands the routed experts to the C++ ExpertDispatcher
  // (moe_infinity/models/deepseek.py: self.expert_executor.dispatch_local(...); model_offload.py
  // replaces DeepseekV2MoE with it) and whose prefetch_experts calls are commented out; the rewrite of
  // @cca059c reworked that dispatcher (condition variables for its 10 us sleep-polling queues), it did
  // not introduce it. What the older dispatcher does differently is not modelled.
  'mi-readme-2025-02-06-deepseek-v2-lite-moe-infinity': { dispatch: 'dispatcher', deviceMemoryRatio: 0.85, source: '0.181 added @d73d27911330a4e32830fcf179f0d830d93573cb (2025-02-06), before the rewrite @cca059c (2025-02-23) but already through the C++ expert dispatcher for DeepSeek (@d73d279:moe_infinity/models/deepseek.py DeepseekMoEBlock.forward -> expert_executor.dispatch_local; moe_infinity/distributed/expert_executor.py; core/parallel/expert_dispatcher.cpp), prefetch calls commented out; that commit\'s examples/interface_example.py: --device_memory_ratio default 0.85' },
  'mi-readme-2024-b32-mixtral-8x7b-moe-infinity': { dispatch: 'hooks', deviceMemoryRatio: 0.75, source: '12.579 tokens/s at batch 32 in the README @6efc133 to @51f5730 (commented out @3133d18); interface_example.py@87eacf7 --device_memory_ratio default 0.75' },
  'mi-readme-2024-switch-large-128-moe-infinity': MOEINF_2024,
  'mi-readme-2024-nllb-moe-54b-moe-infinity': MOEINF_2024,
  'mi-readme-2024-bs32-switch-large-128-moe-infinity': MOEINF_2024,
  'mi-readme-2024-bs32-nllb-moe-54b-moe-infinity': MOEINF_2024,
  // s28-vllmpts: a user's run, not the README's: EfficientMoE/MoE-Infinity issue #57 (2025-03-25)
  // states the GPU (RTX 4080 Super 16GB) and "The device_memory_ratio is 0.7"; its release is not
  // stated, and any release that runs DeepSeek-V2 dispatches its experts through the C++ dispatcher
  // (see the 2025-02-06 entry above), the rewrite @cca059c being the code of that month.
  'mi-issue57-rtx4080s-deepseek-v2-lite-moe-infinity': { dispatch: 'dispatcher', deviceMemoryRatio: 0.7, source: 'EfficientMoE/MoE-Infinity issue #57 (2025-03-25): RTX 4080 Super, "The device_memory_ratio is 0.7"; release not stated, DeepSeek-V2 runs through the C++ expert dispatcher in every release that supports it (@d73d279 on)' },
};

export const systemTable: Record<string, SystemRow> = {
  'mixtral-offloading': {
    preset: 'mixtral-offloading',
    settings:
      'offloadPerLayer = experts - the cache per layer the source states (Table 2: arXiv 2312.17238 §4.3 "We use k = 2 for RTX 3060 and k = 4 for all other GPUs", k the LRU cache size; the README point: the demo\'s 4); quantization hqq-2bit / hqq-3bit as stated; "full" = speculative loading on, "lru" = off, "on-demand" = every expert offloaded, no speculation; ' +
      `writeBack: Table 2 false (${MO_T2_CODE.source}), the README point the published code's true; ` +
      'the MoE-Infinity README point is "lru": the repository of its time has no speculative loading (dvmazur/mixtral-offloading@ce54518:README.md lists it as work in progress; src/expert_cache.py load_experts swaps in the routed experts after the gate)',
    spec: (p, { model }) => {
      const onDemand = p.variant === 'on-demand';
      const cache = onDemand ? 0 : (p.params.cachePerLayer ?? 4);
      const speculative = p.variant === undefined || p.variant === 'full';
      return {
        system: {
          kind: 'mixtral-offloading',
          offloadPerLayer: model.numExperts - cache,
          quantization: format(p, 'hqq') as 'hqq-2bit' | 'hqq-3bit',
          speculative,
          ...(p.id.startsWith('mo-t2-') ? { writeBack: MO_T2_CODE.writeBack } : {}),
        },
        policyIndex: 'last',
      };
    },
  },
  'hf-accelerate': {
    preset: 'accelerate',
    settings:
      'quantization as stated (Table 2: the same HQQ format; README: unstated for Mixtral and DeepSeek-V2-Lite, so transformers\' from_pretrained default, fp32; fp32 for Switch and NLLB); gpuLayers, which no source states: Table 2 (same memory budget as mixtral-offloading in that row) = layers x cachePerLayer / experts; the README (RTX A5000) = the transformer layers that fit in HBM after the embeddings, a 2 GiB reserve, the KV cache of the point\'s batch and the experts an offloaded layer\'s call stages on the GPU (all of them where the loop calls every expert, else min(experts, batch x max(1, prompt) x top-k)), for an encoder-decoder model after the encoder\'s MoE layers took theirs (' +
      Object.entries(ENCODER_FIRST)
        .map(([m, r]) => `${m}: ${r.encoderMoeLayers} encoder MoE layers, ${r.source}`)
        .join('; ') +
      '; device_map="auto" fills the GPU in module order, the encoder first); ' +
      `which experts an offloaded layer uploads: Table 2 every expert (${MO_T2_NAIVE.source}); the README the model's Hugging Face loop (${Object.entries(HF_MOE_LOOP)
        .map(([m, r]) => `${m}: ${r.callsEveryExpert ? 'every expert' : 'routed only'}`)
        .join(', ')}, as for DeepSpeed)`,
    spec: (p, ctx) => {
      const mo = ctx.siblings.find((s) => s.system === 'mixtral-offloading' && s.params.cachePerLayer !== undefined);
      const L = numMoeLayers(ctx.model);
      const gpuLayers = p.id.startsWith('mo-t2-') && mo ? Math.floor((L * mo.params.cachePerLayer!) / ctx.model.numExperts) : ctx.encoderPass ? encoderLayersThatFit(p, ctx) : layersThatFit(p, ctx);
      const q = format(p, 'hqq');
      return { system: { kind: 'accelerate', gpuLayers, quantization: q, callsEveryExpert: accelerateCallsEveryExpert(p) } };
    },
  },
  'deepspeed-zero-inference': {
    preset: 'deepspeed-zero-inference',
    settings:
      'fp16 stated = bf16 (same bytes); the MoE-Infinity README gives no DeepSpeed config, so offload_param takes DeepSpeed\'s defaults (pin_memory false: pageable) and the MoE block is no leaf module (the README\'s DeepSpeed is labelled 0.16.2, its cells older; DeepSpeed flags MoE blocks as leaves by default only from v0.18.0); ' +
      `whether the MoE block calls (and ZeRO-3 gathers) every expert or only the routed ones follows the model's Hugging Face code: ${Object.entries(HF_MOE_LOOP)
        .map(([m, r]) => `${m}: ${r.callsEveryExpert ? 'every expert' : 'routed only'} (${r.source})`)
        .join('; ')}; ` +
      `the README's Mixtral cells: ${DS_README_MIXTRAL_2024.source}; ` +
      `the Fiddler figure's DeepSpeed-MII (variant deepspeed-mii) runs the setup of its script: ${DS_MII_SETUP.source}`,
    spec: (p) => {
      const q = format(p, 'gguf');
      if (p.variant === 'deepspeed-mii') return { system: { kind: 'deepspeed-zero-inference', quantization: q, pinMemory: DS_MII_SETUP.pinMemory, callsEveryExpert: false, leafMoeBlock: DS_MII_SETUP.leafMoeBlock } };
      return { system: { kind: 'deepspeed-zero-inference', quantization: q, pinMemory: false, callsEveryExpert: HF_MOE_LOOP[p.model]?.callsEveryExpert ?? false, leafMoeBlock: false } };
    },
  },
  'vllm-cpu-offload': {
    preset: 'vllm-cpu-offload',
    settings:
      'cpuOffloadGiB, which the README does not state: the least offload that lets vLLM start, i.e. the model\'s bytes minus what gpu_memory_utilization 0.9 (the default) leaves after a 2 GiB reserve for activations and the KV cache of one request at max_model_len (vLLM V1 refuses to start otherwise: check_enough_kv_cache_memory, "enough for the KV cache to hold at least one request with the model\'s max_model_len", vllm/v1/core/kv_cache_utils.py, seen in code excerpts; V0 the same: raise_if_cache_size_invalid, "The model\'s max seq len ... is larger than the maximum number of tokens that can be stored in KV cache", vllm/worker/worker.py, seen in code excerpts; the MLA cache counted latent for the Feb 2025 cell too, as from v0.7.1); max_model_len defaults to the model\'s max_position_embeddings: ' +
      Object.entries(VLLM_MAX_MODEL_LEN)
        .map(([m, n]) => `${m} ${n}`)
        .join(', ') +
      '; ' +
      `the engine by the release that measured the cell (${MI_README_VLLM_HISTORY}): ` +
      Object.entries(VLLM_RUNS)
        .map(([id, r]) => `${id}: ${r.uva ? 'uva (V1)' : 'copy (V0)'}, ${r.source}`)
        .join('; ') +
      '; uva in v0.8.5 (V1): maybe_offload_to_cpu reads "if envs.VLLM_USE_V1: assert uva_available, \"V1 CPU offloading requires uva (pin memory) support\"; uva_offloading = True" and then p.data = get_cuda_view_from_cpu_tensor(cpu_data), no functional_call (seen in code excerpts of vllm/model_executor/models/utils.py, not read at a vLLM commit this session); consistent with the Qwen3-30B-A3B figure, 0.205 s/token, shorter than one copy of the ~40 GiB this rule offloads at the PCIe 4.0 x16 peak (>= 1.3 s); a point with no entry runs uva (V1, the default engine since v0.8)',
    spec: (p, { model, hardware }) => {
      const bytes = totalParams(model) * pointBpp(p, 'experts', model);
      const maxLen = VLLM_MAX_MODEL_LEN[p.model];
      // Not 0 by default: an unknown max_model_len would silently reserve no KV cache.
      if (maxLen === undefined) throw new InputError(`${p.id}.model: no max_model_len known for ${p.model} (src/reproduce/systems.ts VLLM_MAX_MODEL_LEN, from the model's config.json); expected one of ${Object.keys(VLLM_MAX_MODEL_LEN).join(', ')}`);
      const kv = kvBytesPerTokenPerLayer(model, p.precision.kvCache) * model.numLayers * maxLen;
      const keep = 0.9 * hardware.gpu.hbmBytes - RESERVE_GIB * GiB - kv;
      return { system: { kind: 'vllm-cpu-offload', cpuOffloadGiB: Math.max(0.5, (bytes - keep) / GiB), uva: VLLM_RUNS[p.id]?.uva ?? true, quantization: format(p, 'gguf') } };
    },
  },
  'moe-infinity': {
    preset: 'moe-infinity',
    settings:
      'fp16 weights; which MoE-Infinity ran follows the README\'s history: ' +
      Object.entries(MOEINF_RUNS)
        .map(([m, r]) => `${m}: ${r.dispatch}, device_memory_ratio ${r.deviceMemoryRatio} (${r.source})`)
        .join('; ') +
      '; points of another release by id: ' +
      Object.entries(MOEINF_POINT_RUNS)
        .map(([id, r]) => `${id}: ${r.dispatch}, device_memory_ratio ${r.deviceMemoryRatio} (${r.source})`)
        .join('; ') +
      '; reserveGiB = (1 - device_memory_ratio) x HBM (the cache is ratio x HBM minus the dense weights)',
    spec: (p, { hardware }) => {
      const r = MOEINF_POINT_RUNS[p.id] ?? MOEINF_RUNS[p.model];
      // No silent fallback to another model's release: which release measured a cell is per source.
      if (!r) throw new InputError(`${p.id}.model: no MoE-Infinity release known for ${p.model} (src/reproduce/systems.ts MOEINF_RUNS / MOEINF_POINT_RUNS); expected one of ${Object.keys(MOEINF_RUNS).join(', ')}, or an entry for the point`);
      return { system: { kind: 'moe-infinity', reserveGiB: ((1 - r.deviceMemoryRatio) * hardware.gpu.hbmBytes) / GiB, dispatch: r.dispatch } };
    },
  },
  ollama: {
    preset: 'llama-cpp',
    settings:
      `Ollama runs llama.cpp with -ngl chosen from free VRAM by the rule of the release that measured the cell (${Object.entries(OLLAMA_RUNS)
        .map(([m, r]) => `${m}: ${r.rule}, ${r.source}`)
        .join('; ')}): v0.1.27 ${OLLAMA_V0127}; memory.go ${OLLAMA_MEMORY}: EstimateGPULayers, one buffer layer, blocks while they fit, then the output layer; 2 GiB declared reserve; num_ctx ${OLLAMA_NUM_CTX}; the llama-cpp preset with Q4 (gguf-q4_k); layers past -ngl run entirely on the CPU; a point whose log states the layers offloaded (ollama/ollama#3301: "offloaded 23/33 layers to GPU") takes that -ngl instead of the rule`,
    spec: (p, ctx) => ({
      system: { kind: 'llama-cpp', nCpuMoe: 0, ngl: p.params.ngl ?? (OLLAMA_RUNS[p.model]?.rule === 'v0.1.27' ? ollamaV0127Ngl(p, ctx) : nglThatFits(p, ctx, true)), quantization: format(p, 'gguf') },
    }),
  },
  'llama.cpp': {
    preset: 'llama-cpp',
    settings:
      'the llama-cpp preset with the stated format (Q4_K_M = gguf-q4_k, FP16 = bf16); -ngl as stated (issue #4729: 28), else the most whole layers that fit after a 2 GiB reserve; --n-cpu-moe as stated (llmfit PR #755: -ngl 99 --n-cpu-moe 36), else 0; layers past -ngl run entirely on the CPU',
    spec: (p, ctx) => ({ system: { kind: 'llama-cpp', nCpuMoe: p.params.nCpuMoe ?? 0, ngl: p.params.ngl ?? nglThatFits(p, ctx, false), quantization: format(p, 'gguf') } }),
  },
  fiddler: {
    preset: 'fiddler',
    settings:
      'bf16 as published (Fiddler runs the unquantized model only); reserveGiB = 5% of the GPU\'s memory, Fiddler\'s own rule (calc_n_expert_on_gpu: 0.95 x total - the non-expert weights, FIDDLER_FREE_FRACTION); experts on the GPU by popularity, the rest on the CPU below 10 tokens',
    spec: (_p, { hardware }) => ({ system: { kind: 'fiddler', reserveGiB: ((1 - FIDDLER_FREE_FRACTION) * hardware.gpu.hbmBytes) / GiB } }),
  },
  ktransformers: {
    preset: 'ktransformers',
    settings: 'the preset with gguf-q4_k (the tutorial\'s Q4_K_M); every routed expert on the CPU, the rest on the GPU',
    spec: (p) => ({ system: { kind: 'ktransformers', quantization: format(p, 'gguf') } }),
  },
  'moe-lightning': {
    preset: 'moe-lightning',
    settings:
      'microBatches: the point\'s params.microBatches, the --n-ub the artifact README lists for that GPU and generation length (the batch is n_ub x ubs, execution_engine.py build_context: bs = policy.n_ub * ubs); gpuWeightFraction: the largest that fits (the HRM search, src/timing/cgopipe.ts); fp16 weights',
    spec: (p) => ({
      system: { kind: 'moe-lightning', quantization: floatFormat(p), ...(p.params.microBatches !== undefined ? { microBatches: p.params.microBatches } : {}) },
    }),
  },
};

/** The system spec a point runs with, its runtime (for the per-runtime fit), and which of the preset's policies it measured. */
export function pointSystem(p: PublishedPoint, ctx: PointContext): { system: SystemSpec; policyIndex?: 'last' | 'first' } {
  const row = systemTable[p.system];
  if (!row) throw new Error(`no system preset for "${p.system}" (src/reproduce/systems.ts)`);
  return row.spec(p, ctx);
}

/** What each row simulates: the preset's description, the settings rule, and what the preset simplifies. */
export function systemRows(): Record<string, { preset: string; does: string; missing: string }> {
  return Object.fromEntries(
    Object.entries(systemTable).map(([k, r]) => {
      const c = catalog[r.preset];
      return [k, { preset: r.preset, does: `${c.describe}. Settings: ${r.settings}`, missing: c.simplifies.join('; ') }];
    }),
  );
}

