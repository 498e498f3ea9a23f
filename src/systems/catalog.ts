/**
 * The catalog of real offloading systems (issue 12, part 4). A scenario says
 *
 *   system: { kind: mixtral-offloading, offloadPerLayer: 4, quantization: hqq-2bit }
 *
 * and gets that system's policy (cache, prefetch, predictor, miss handler), its weight format and
 * its execution semantics (src/timing/execution-semantics.ts). Each preset is modelled from the
 * system's code; `sources` names repo@commit:file for every semantic choice, and `simplifies`
 * says what the model leaves out. `policies:` given next to `system:` replace the system's own
 * (the semantics stay the system's), so a scenario can compare designs under one runtime.
 */
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import type { MoeModel } from '../model/types.js';
import type { TierPrecision } from '../model/formats.js';
import { attentionParams, expertParams, numMoeLayers, routerParams, sharedExpertParams } from '../model/derived.js';
import {
  cpuPresets,
  GGML_CPU_COMMIT,
  GGML_SCHED_CPU_EXPERTS_HANDOFF,
  GGML_THREADS_ACROSS_SOCKETS,
  linkPresets,
  runtimes,
  weightFormats,
  type ExecutionSemantics,
  type RuntimeOverheads,
  type WeightFormat,
  type WeightFormatName,
  ZERO_COPY_EFFICIENCY,
} from '../timing/execution-semantics.js';
import { predictorSchema } from '../predictors/spec.js';
import { hfModelCode, hfRuntimeDelta, type HfPath } from '../timing/hf-model-code.js';
import { CGO_ARTIFACT } from '../timing/cgopipe.js';

const count = z.number().int().nonnegative();
const unit = z.number().min(0).max(1);

const MO = 'dvmazur/mixtral-offloading@0d3c605a2282b77225ba2aa14cf71927c00a1701:src/expert_cache.py';
const MO_LAYERS = 'dvmazur/mixtral-offloading@0d3c605a2282b77225ba2aa14cf71927c00a1701:src/custom_layers.py';
const FIDDLER = 'efeslab/fiddler@f2c111c2cd17c8fe4c9a140e371e193879fef2ab:src/fiddler/mixtral.py';
/** The code of the paper's first version (arXiv 2402.07033v1, Feb 2024): its benchmarks/latency.py produced the README's figure. */
const FIDDLER_V1 = 'efeslab/fiddler@1ad7a6c624a6c4f297d67f8d753efd75c0b0fa77:src/fiddler/mixtral.py';
/**
 * Fiddler's own cost model (${FIDDLER}: __init__, latency_cpu = 7, latency_gpu = 70; mixtral_forward:
 * cost_per_expert[e] = (tokens x latency_cpu, latency_gpu), 0 for a GPU-resident expert, and the
 * configuration of least summed cost is taken): a non-resident expert runs on the CPU exactly when
 * tokens x 7 < 70, i.e. below 10 tokens. (At ${FIDDLER_V1} the decode path sends every
 * non-resident expert to the CPU unconditionally: the same rule at one token.)
 */
export const FIDDLER_CPU_BELOW_TOKENS = 10;
/** calc_n_expert_on_gpu: free_mem = total_memory x 0.95 - memory_allocated (the non-expert weights), experts = free_mem / bf16 expert bytes. */
export const FIDDLER_FREE_FRACTION = 0.95;
const MOEINF_PREFETCH = 'EfficientMoE/MoE-Infinity@c74d4a71740e17a6e02944c276328981288908fe:core/prefetch/archer_prefetch_handle.cpp';
const MOEINF_PINNED = 'EfficientMoE/MoE-Infinity@f86109921f1e75c54dc3dfa8cf3c769c7e59c034:core/memory/pinned_memory_pool.cpp';
const MOEINF_DISPATCH = 'EfficientMoE/MoE-Infinity@d6178017933c3d39f82be99f702d8a3e4ce98f8f:core/parallel/expert_dispatcher.cpp';
const MOEINF_CONFIG = 'EfficientMoE/MoE-Infinity@d6178017933c3d39f82be99f702d8a3e4ce98f8f:moe_infinity/utils/config.py';
const MOEINF_2024 = 'EfficientMoE/MoE-Infinity@350f0dd6501b6ca989e605b356deb5d1575e8c2e:moe_infinity/models/mixtral.py';
const LLAMA_ARG = 'ggml-org/llama.cpp@145b6280d6aa1890e22457143dad0badb3fd6820:common/arg.cpp';
const LLAMA_MODEL = 'ggml-org/llama.cpp@a5410f046c01d01330c8a42f13b64a211fedf2c3:src/llama-model.cpp';
const LLAMA_GRAPH = 'ggml-org/llama.cpp src/llama-graph.cpp llm_graph_context::build_moe_ffn (ggml_mul_mat_id over the selected experts of a layer; seen in code excerpts, not read at a commit this session)';
const GGML_CPU = `ggml-org/llama.cpp@${GGML_CPU_COMMIT}:ggml/src/ggml-cpu/ggml-cpu.c`;
const KT_EXPERTS = 'kvcache-ai/ktransformers@8db6a4d402ba935e9bd7f812af3fb68b2a2734b3:ktransformers/operators/experts.py';
const KT_V020 = 'kvcache-ai/ktransformers@7527619f532f3f50ce2ab7fd2ab91995c21e9ad6';
const KT_V020_EXPERTS = `${KT_V020}:ktransformers/operators/experts.py`;
const KT_V020_UTILS = `${KT_V020}:ktransformers/util/utils.py`;
const KT_V020_MOE = `${KT_V020}:ktransformers/ktransformers_ext/operators/llamafile/moe.cpp`;
const DS_OFFLOAD = 'microsoft/DeepSpeed@86d3e310d441fa88ad9548c549d827e0dffb8441:deepspeed/runtime/zero/parameter_offload.py';
const DS_CONFIG = 'microsoft/DeepSpeed@b1cb0dfc4623fc44e9931d1481c246bd8a59b778:deepspeed/runtime/zero/offload_config.py';
const CUDA_SYNC = 'NVIDIA CUDA Runtime API, "API synchronization behavior": an async copy from pageable host memory is first copied by the calling thread to a staging buffer, and the call returns only once the source is staged';
const DS_COORD = 'microsoft/DeepSpeed@196e63ac1d999c6872641d055f14cf06680977dc:deepspeed/runtime/zero/partitioned_param_coordinator.py';
/** set_z3_leaf_modules, first in v0.13.0 (#4966, 2024-01-18): hooks stop at a flagged module, whose fetch gathers all its parameters recursively. */
const DS_LEAF = 'microsoft/DeepSpeed@1d35db76a07b9aba002ddb98d793ec148275c6cf (v0.13.1):deepspeed/utils/z3_leaf_module.py (set_z3_leaf_modules), deepspeed/runtime/zero/parameter_offload.py (_register_hooks_recursively: "if not z3_leaf_module(module): for child in module.children(): ..."), deepspeed/runtime/zero/partitioned_param_coordinator.py (fetch_sub_module: params_to_fetch = iter_params(current_submodule, recurse=z3_leaf_module(current_submodule)))';
/** Leaf modules by default only from v0.18.0 (#7604): DEFAULT_LEAF_MODULE_CLASSES = MixtralSparseMoeBlock, Qwen2MoeSparseMoeBlock, Qwen3MoeSparseMoeBlock. */
const DS_LEAF_DEFAULT = 'deepspeedai/DeepSpeed@79caae1c04fca210345bdeb03bcacf87b1ac2f23 (v0.18.0):deepspeed/runtime/zero/leaf_module_config.py (DEFAULT_LEAF_MODULE_CLASSES: transformers Mixtral, Qwen2-MoE and Qwen3-MoE sparse MoE blocks), applied by engine.py (apply_zero_leaf_module_config); added by #7604 (7d9a2f2, 2025-10-03); no such default up to v0.17 (the v0.16.2 leaf API is set_z3_leaf_modules or stage3_module_granularity_threshold, default 0: off)';
/** World size 1: no all-gather; each parameter is copied to the GPU by .to(device, non_blocking=True) and the handle's wait synchronises the stream. */
const DS_NOGATHER = 'microsoft/DeepSpeed@1d35db76a07b9aba002ddb98d793ec148275c6cf (v0.13.1):deepspeed/runtime/zero/partition_parameters.py (all_gather_coalesced: "if self.num_partitions == 1: return _no_gather_coalesced(params)"; NoGatherCoalescedHandle: param.data = param.ds_tensor.data.to(device, non_blocking=True) per parameter, wait(): get_accelerator().current_stream().synchronize()); the same at b344c04 (v0.16.2)';
/**
 * The coordinator of the 2024 releases (read at v0.13.2, 2024-02-10, the release of the MoE-Infinity
 * README's first DeepSpeed cells): the trace cycles RECORD -> COMPLETE -> (a module out of order)
 * INVALID -> RECORD (reset_step at the end of every forward without grad); prefetch runs only with a
 * COMPLETE trace, after the current module's wait, at most stage3_prefetch_bucket_size (5e7)
 * parameters and at most stage3_max_live_parameters (1e9) minus those gathered; and a prefetched
 * parameter whose module then does not run stays in the in-flight registry, so reset_step raises
 * "still have inflight params" (deepspeedai/DeepSpeed#4808, Mixtral generate under ZeRO-3, Dec 2023;
 * #4966's description: "ZeRO3 does not work with MoE models because the order of executing modules
 * can change at every forward/backward pass"); the registry is cleaned on invalidation only from
 * #6557 (7d751ee, in v0.15.3).
 */
const DS_V013_COORD = 'microsoft/DeepSpeed@18179807f5fa5dbb93b7af51d51f9002e1539478 (v0.13.2):deepspeed/runtime/zero/partitioned_param_coordinator.py (trace_prologue l.161-178: "Invalidate trace cache"; reset_step l.204-229: raise RuntimeError("still have inflight params"), RECORD -> COMPLETE, INVALID -> RECORD; fetch_sub_module l.261-391: prefetch only (l.323) "if self.is_complete_trace()", max_params_to_prefetch = min(max_n_available_params - n_available_params, prefetch_bucket_sz)), config.py l.194/217 (stage3_prefetch_bucket_size 5e7, stage3_max_live_parameters 1e9), parameter_offload.py l.232 (reset_step after each forward without grad); the in-flight cleanup on invalidation from 7d751ee (#6557, v0.15.3)';
const VLLM_UTILS = 'vllm-project/vllm@d30d0c133c3f47a6436788f82398b21eb23df8c0:vllm/model_executor/models/utils.py';
const ACC_HOOKS = 'huggingface/accelerate@c0a3aefea8aa5008a0fbf55b049bd3f0efa9cbf2:src/accelerate/hooks.py';
/** The release of the points' time (Dec 2023 - Feb 2024): hooks attached per leaf module, set_module_tensor_to_device per tensor with an empty_cache after each. */
const ACC_V027 = 'huggingface/accelerate@b7087be5f6a1f729f16e8fb6aff2f1c6048a3282 (v0.27.0, 2024-02-09)';
const ACC_V027_HOOKS = `${ACC_V027}:src/accelerate/hooks.py (attach_align_device_hook: an AlignDevicesHook(offload=True, place_submodules=False) on every module with direct tensors; pre_forward: set_module_tensor_to_device(module, name, execution_device, value=self.weights_map[name]) per tensor; post_forward: set_module_tensor_to_device(module, name, "meta") per tensor)`;
const ACC_V027_MODELING = `${ACC_V027}:src/accelerate/utils/modeling.py (set_module_tensor_to_device: new_value = value.to(device), a blocking copy; param_cls(new_value, requires_grad=...).to(device); then "# clean pre and post foward hook" torch.cuda.empty_cache() on every call, to the GPU and to meta alike; from v0.30 only when device != "cpu", still meta included, until #3796 of 2025-10)`;
const ACC_V027_BIG = `${ACC_V027}:src/accelerate/big_modeling.py (dispatch_model: the offloaded modules' weights_map is the CPU state dict, ordinary pageable tensors; no pin_memory anywhere in hooks.py / big_modeling.py / utils/offload.py at v0.27.0 or at ${'c0a3aef'})`;
/**
 * Host cost per tensor of Accelerate's offload hook, counted at v0.27.0 (ACC_V027_MODELING): the
 * upload (weights_map lookup, value.to(device), param_cls(...).to(device)) and the drop after the
 * module (old_value.to("meta"), param_cls(...), .to("meta")) are 6 PyTorch calls, plus two
 * torch.cuda.empty_cache() calls; each empty_cache that finds the freed block returns it with
 * cudaFree, which waits for the device, so the next upload allocates afresh. Charged at eager
 * PyTorch's per-op cost (runtimes['eager-pytorch'].perKernelSec) for the 6 calls and its sync cost
 * (syncSec) for each empty_cache: 6 x 10 us + 2 x 20 us = 100 us.
 */
export const ACC_HOOK_OPS_PER_TENSOR = 6;
export const ACC_HOOK_SYNCS_PER_TENSOR = 2;
/** Weight tensors of one SwiGLU expert (w1, w2, w3): the copy calls of one expert upload. */
const TENSORS_PER_EXPERT = 3;

/**
 * Recall of mixtral-offloading's speculative guess one layer ahead (arXiv 2312.17238 §3.2, Figure 2
 * right: experts guessed by applying layer l+1's gate to layer l's hidden state). The figure's
 * value is read through a summary of the paper (app.daily.dev "Fast Inference of Mixture-of-Experts
 * Language Models with Offloading": "speculative loading pushes correct prefetch rates above
 * 80-90%"): the lower end, 0.8, is used as both precision and recall of the oracle stand-in (the
 * guess loads as many experts as the gate selects, so the two are equal).
 */
export const SPECULATIVE_RECALL = 0.8;

/**
 * Device buffers the speculative loads land in: the demo notebook's OffloadConfig(buffer_size=4)
 * (dvmazur/mixtral-offloading@0d3c605a2282b77225ba2aa14cf71927c00a1701:notebooks/demo.ipynb), the
 * b = 4 temporary buffers of arXiv 2312.17238 §3.3 that ExpertCache allocates beside its cache
 * (${MO}: device_expert_buffers, "temporary storage to shave off latency"). A guess occupies one
 * until its layer's gate; it evicts no cached expert (§3.3: speculatively loaded experts do not
 * replace cached ones; one the next layer uses replaces its least recently used expert). The §3.3
 * wording is as recalled: the paper's text was not in this session's corpus to re-read; the
 * buffers themselves are read in the code above.
 */
export const MO_BUFFERS = 4;

const hqq = z.enum(['hqq-2bit', 'hqq-3bit', 'hqq-4bit']);
const anyFormat = z.enum(['hqq-2bit', 'hqq-3bit', 'hqq-4bit', 'gptq-4bit', 'gguf-q4_k', 'gguf-q4_k_m', 'gguf-q4_0', 'bf16', 'fp32']);

/**
 * deepspeed-zero with the MoE block a leaf module: no hooks under the block, so an expert call is the
 * model's 9 ops and its .tolist() only; the router's 4 hook ops go too, and the block's own fetch
 * moves to the layer: per expert parameter (3 per SwiGLU expert) a .to() and a release, the
 * event and wait_stream (3) and its wait (2 ops, as the per-layer waits of deepspeed-zero):
 * 92 - 4 + 2 x 3E + 5 (141 for Mixtral's 8 experts).
 */
function dsLeafRuntime(model: MoeModel): RuntimeOverheads {
  const rt = runtimes['deepspeed-zero'];
  return {
    ...rt,
    describe: `${rt.describe}; the MoE block a leaf module (one fetch for all its parameters, no hooks below it)`,
    kernelsPerLayer: rt.kernelsPerLayer - 4 + 2 * 3 * model.numExperts + 3 + 2,
    kernelsPerExpert: 9,
    syncsPerExpert: 1,
    sources: [...rt.sources, DS_LEAF],
  };
}

/**
 * A runtime counted on Mixtral's Hugging Face modules, running `model`'s: the ops and waits its
 * modeling code issues beyond (or short of) Mixtral's, counted from the code (src/timing/hf-model-code.ts),
 * added per transformer layer, per MoE block and per expert. The same runtime (name, per-op and
 * per-sync costs) for a model with no count or no difference.
 */
export function hfRuntime(rt: RuntimeOverheads, model: MoeModel, path: HfPath): RuntimeOverheads {
  const d = hfRuntimeDelta(model.name, path);
  if (d.layerOps === 0 && d.layerSyncs === 0 && d.blockOps === 0 && d.blockSyncs === 0 && d.expertOps === 0 && d.expertSyncs === 0) return rt;
  return {
    ...rt,
    describe: `${rt.describe}; with ${model.name}'s modeling code (per layer ${d.layerOps >= 0 ? '+' : ''}${d.layerOps} ops, ${d.layerSyncs} waits; per MoE block +${d.blockOps} ops, ${d.blockSyncs} waits; per expert ${d.expertOps} ops, ${d.expertSyncs} waits)`,
    kernelsPerLayer: rt.kernelsPerLayer + d.layerOps,
    syncsPerLayer: (rt.syncsPerLayer ?? 0) + d.layerSyncs,
    moeBlock: { kernels: (rt.moeBlock?.kernels ?? 0) + d.blockOps, syncs: (rt.moeBlock?.syncs ?? 0) + d.blockSyncs },
    kernelsPerExpert: rt.kernelsPerExpert + d.expertOps,
    syncsPerExpert: rt.syncsPerExpert + d.expertSyncs,
    sources: [...rt.sources, 'src/timing/hf-model-code.ts', ...(hfModelCode(model.name)?.sources ?? [])],
  };
}

/** The `system:` block: a strict union on `kind`. */
export const systemSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('mixtral-offloading'),
      /** Experts per layer kept on the host (OffloadConfig.offload_per_layer); the GPU caches the others. */
      offloadPerLayer: count.default(4),
      quantization: hqq.default('hqq-2bit'),
      /** Speculative expert loading (the next layer's gate applied to the current hidden state). */
      speculative: z.boolean().default(true),
      /** The stand-in for the speculative guess (a routing trace has no hidden states): default affinity. */
      predictor: predictorSchema.optional(),
      /**
       * Whether a swap copies the evicted expert back to the host on the compute stream. true: the
       * published code (dvmazur/mixtral-offloading@0d3c605:src/expert_cache.py _swap, a
       * device-to-host copy_ after the host-to-device one, both on the current stream). false: a
       * host that keeps every expert, so an eviction only drops the device copy (see MO_T2_CODE in
       * src/reproduce/systems.ts for where the suite uses it). Default (absent): true.
       */
      writeBack: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('moe-infinity'),
      /** HBM left out of the cache: MoE-Infinity sizes it as device_memory_ratio x HBM minus the dense weights, so (1 - ratio) x HBM. */
      reserveGiB: z.number().nonnegative().default(1),
      /**
       * How experts are run. dispatcher (the code since Feb 2025, EfficientMoE/MoE-Infinity@cca059cc103fbb7dfacdf423f0705f35669e9af9): a
       * C++ dispatcher fetches and runs each routed expert, eviction by fewest in-cache visits (LFU);
       * hooks (the 2024 releases, @350f0dd): Hugging Face expert modules called from Python, their
       * weights fetched by a pre-forward hook, the cache LRU as before.
       */
      dispatch: z.enum(['dispatcher', 'hooks']).default('dispatcher'),
      /**
       * Activation-aware prefetch of later layers after each gate. Default: on for hooks (the 2024
       * MoE blocks call expert_prefetcher.prefetch_experts every layer), off for dispatcher
       * (ArcherConfig.prefetch defaults to False and the blocks' prefetch calls are commented out).
       */
      prefetch: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('fiddler'),
      /** GiB of HBM not given to experts beyond the non-expert weights; Fiddler keeps 5% of the GPU's memory free (FIDDLER_FREE_FRACTION): 1.2 GiB on a 24 GiB GPU. */
      reserveGiB: z.number().nonnegative().default(1.2),
    })
    .strict(),
  z
    .object({
      kind: z.literal('llama-cpp'),
      /** --n-cpu-moe N: the experts of the first N transformer blocks (dense blocks count) stay in host memory and run on the CPU. */
      nCpuMoe: count.default(0),
      /**
       * -ngl N: the last N transformer blocks on the GPU (and the output layer when N > n_layer),
       * the others in host memory and computed by the CPU; absent: all on the GPU.
       */
      ngl: count.optional(),
      quantization: anyFormat.default('gguf-q4_k'),
      /**
       * An MLA model's KV cache: `per-head` (every head's decompressed key and value, what llama.cpp
       * stored for DeepSeek-V2/V3 until ggml-org/llama.cpp PR #12801, merged Apr 2025; PR #11446's
       * thread, 2025-03-14: without MLA "the old behaviour that uses more memory for the KV-cache")
       * or `latent` (releases from #12801 on, GGUFs converted with its MLA tensors). Absent: per-head.
       */
      mlaCache: z.enum(['per-head', 'latent']).optional(),
    })
    .strict(),
  z.object({ kind: z.literal('ktransformers'), quantization: anyFormat.default('gguf-q4_k') }).strict(),
  z
    .object({
      kind: z.literal('deepspeed-zero-inference'),
      quantization: anyFormat.default('bf16'),
      /** offload_param.pin_memory; DeepSpeed's default is false (pageable host partitions). */
      pinMemory: z.boolean().default(false),
      /**
       * The model's MoE block calls every expert module, with or without tokens (a Hugging Face
       * loop over range(num_experts)), so every expert's pre-forward hook gathers its weights; false:
       * only the experts with tokens are called (and fetched).
       */
      callsEveryExpert: z.boolean().default(false),
      /**
       * The MoE block is a ZeRO-3 leaf module (deepspeed.utils.set_z3_leaf_modules, DeepSpeed >=
       * 0.13.0; by default for Mixtral / Qwen2-MoE / Qwen3-MoE blocks from 0.18.0): no hooks below
       * it, and its pre-forward fetch gathers all its parameters, so every expert of the layer is
       * copied every pass, routed or not.
       */
      leafMoeBlock: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      kind: z.literal('vllm-cpu-offload'),
      /** --cpu-offload-gb: GiB of weights kept on the host, taken from the first layers on. */
      cpuOffloadGiB: z.number().positive(),
      /**
       * The offloaded parameters are read in place over the link by the kernels (UVA, newer vLLM:
       * get_cuda_view_from_cpu_tensor) instead of copied whole by functional_call every pass: an
       * offloaded layer's dense weights still cross every pass, but of its experts only those the
       * fused-MoE kernel reads (the routed ones).
       */
      uva: z.boolean().default(false),
      quantization: anyFormat.default('bf16'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('accelerate'),
      /** Transformer layers device_map places on the GPU (the first ones); the rest are offloaded to the CPU. */
      gpuLayers: count,
      quantization: anyFormat.default('bf16'),
      /**
       * The model's MoE block calls every expert module, with or without tokens (a Hugging Face loop
       * over range(num_experts)), so every expert's hook uploads its weights: an offloaded layer moves
       * all its experts every pass. false: only the routed experts are called (and uploaded).
       */
      callsEveryExpert: z.boolean().default(false),
    })
    .strict(),
  z.object({ kind: z.literal('pregated-moe'), accuracy: unit.default(1) }).strict(),
  z
    .object({
      kind: z.literal('expertflow'),
      experts: z.number().int().positive().default(64),
      /** Its routing path predictor: default the path stand-in; {kind: published, of: expertflow} for the paper's accuracy (src/predictors/published.ts). */
      predictor: predictorSchema.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('moe-lightning'),
      /** n_ub: micro-batches of the batch (the artifact's --n-ub); absent: searched (HRM estimate). */
      microBatches: z.number().int().positive().optional(),
      /** wg: fraction of the expert weights kept on the GPU; absent: the largest that fits (src/timing/cgopipe.ts). */
      gpuWeightFraction: unit.optional(),
      quantization: anyFormat.default('bf16'),
    })
    .strict(),
  z.object({ kind: z.literal('hobbit'), lowBit: z.enum(['int4', 'int2']).default('int4'), belowGateWeight: unit.default(0.5) }).strict(),
]);
export type SystemSpec = z.infer<typeof systemSchema>;
export type SystemKind = SystemSpec['kind'];

/** What a system gives a scenario: raw policy entries (validated by the scenario schema) and the precision. */
export interface SystemExpansion {
  policies: Record<string, unknown>[];
  precision?: Record<string, unknown>;
}

export interface SystemPreset<S extends SystemSpec = SystemSpec> {
  kind: S['kind'];
  describe: string;
  models: string[];
  simplifies: string[];
  sources: string[];
  expand(spec: S, model: MoeModel): SystemExpansion;
  semantics(spec: S, model: MoeModel): ExecutionSemantics;
}

type Of<K extends SystemKind> = Extract<SystemSpec, { kind: K }>;

/** The precision a system's weight format gives a scenario: the experts in its storage format (src/model/formats.ts) where it has one. */
export function formatPrecision(name: WeightFormatName, dense: TierPrecision = 'bf16'): Record<string, unknown> {
  const f = weightFormats[name] as WeightFormat;
  return { experts: f.storage ? { format: f.storage } : f.dtype, dense, kvCache: 'bf16', groupSize: f.groupSize };
}

/**
 * mixtral-offloading's fused Triton path dequantises only each group's 8-bit scale and zero to fp16
 * first (two tensors of one element per group, each written and read: 2 x 2 B x 2 / groupSize
 * bytes per parameter; 0.5 at the experts' group of 16).
 */
export function hqqTritonDequantBytesPerParam(name: WeightFormatName): number {
  return (2 * 2 * 2) / weightFormats[name].groupSize;
}

const baseSemantics = (over: Partial<ExecutionSemantics>): ExecutionSemantics => ({
  runtime: runtimes['eager-pytorch'],
  link: linkPresets.pinned,
  expertCopies: 'copy-engine',
  writeBackEvicted: false,
  cpu: cpuPresets['pytorch-eager-cpu'],
  // Every real runtime issues the GPU's work from a host thread that runs ahead of the GPU until it
  // needs a result (the router's choice, a per-expert .tolist(), the sampled token).
  hostThread: true,
  sources: [],
  ...over,
});

/** Parameters of one MoE transformer layer as loaded (attention, router, shared and all routed experts), for placement by capacity. */
function layerParams(model: MoeModel): number {
  return attentionParams(model) + routerParams(model) + sharedExpertParams(model) + model.numExperts * expertParams(model);
}

/**
 * MoE layers whose parameters --cpu-offload-gb puts on the host (first layers first). Copying
 * whole layers: the partly offloaded one is not counted; UVA: it is (its fused expert tensor is
 * one parameter, offloaded whole or not at all, and counting it keeps the GPU within its memory).
 */
function vllmOffloadedLayers(s: { cpuOffloadGiB: number; uva?: boolean }, model: MoeModel): number {
  const perLayer = layerParams(model) * 2; // bf16 bytes of one layer as loaded
  const layers = (s.cpuOffloadGiB * 2 ** 30) / perLayer;
  return Math.min(numMoeLayers(model), s.uva ? Math.ceil(layers) : Math.floor(layers));
}

/**
 * llama.cpp's -ngl rule, read at ${LLAMA_MODEL} (llama_model::load_tensors):
 * i_gpu_start = max(n_layer - n_gpu_layers, 0), act_gpu_layers = min(n_gpu_layers, n_layer + 1);
 * slot il goes to the CPU device when il < i_gpu_start or il - i_gpu_start >= act_gpu_layers; the
 * output layer is slot n_layer; the input layer always stays on the CPU. So -ngl N puts the last N
 * blocks on the GPU and the output layer too only when N > n_layer. (Later llama.cpp counts the
 * output as one of the N: n_layer + 1 - n_gpu_layers; not modelled.)
 */
export function llamaCppPlacement(ngl: number | undefined, model: MoeModel): { gpuStart: number; cpuBlock: (block: number) => boolean; cpuOutput: boolean } {
  const n = model.numLayers;
  if (ngl === undefined) return { gpuStart: 0, cpuBlock: () => false, cpuOutput: false };
  const gpuStart = Math.max(n - ngl, 0);
  const act = Math.min(ngl, n + 1);
  const onCpu = (il: number) => il < gpuStart || il - gpuStart >= act;
  return { gpuStart, cpuBlock: onCpu, cpuOutput: onCpu(n) };
}

const ML_ENGINE = `${CGO_ARTIFACT}:fastmoe/backend/execution_engine.py`;
const ML_LOOP = `${CGO_ARTIFACT}:fastmoe/serve/router/model_rpc.py`;
const ML_OPT = `${CGO_ARTIFACT}:fastmoe/backend/optimizer.py`;
const ML_PAPER = 'Cao et al., "MoE-Lightning: High-Throughput MoE Inference on Memory-constrained GPUs", ASPLOS 2025, arXiv 2411.11217 (CGOPipe, HRM)';
const range = (n: number) => Array.from({ length: Math.max(0, n) }, (_, i) => i);

export const systems: { [K in SystemKind]: SystemPreset<Of<K>> } = {
  'mixtral-offloading': {
    kind: 'mixtral-offloading',
    describe: 'Eliseev & Mazur (arXiv 2312.17238): per-layer LRU of experts on the GPU, HQQ 2-4-bit experts, speculative loading of the next layer',
    models: [
      `per-layer LRU of E - offloadPerLayer experts (${MO}: EvictionGroupInfo keeps main_infos in LRU order; choose_expert_to_evict takes the least recently used)`,
      `a swap copies the new expert in and the evicted one back out, both non_blocking on the current (compute) stream (${MO}: _swap, two .copy_(non_blocking=True) with no stream context); the write-back is charged per eviction (StepCosts.evictWriteBackSec): a fetch with no victim (on demand: no cache) writes nothing back; writeBack: false drops it (a host that keeps every expert)`,
      `host copies in pinned memory (${MO}: offloaded_storages = UntypedStorage(...).pin_memory())`,
      'speculative loading of the next layer after each layer\'s expert launches (prefetch: speculative, lookahead 1), not cancelled; not in the repository (README: "Speculative expert prefetching" under work in progress): modelled from arXiv 2312.17238 §3.2-3.3, the guess an oracle at the paper\'s recall (SPECULATIVE_RECALL), into MO_BUFFERS spare device buffers: a wrong guess evicts nothing, a confirmed one replaces the layer\'s LRU expert at its gate',
      `HQQ linears as fused Triton dequant-matmuls (${MO_LAYERS}: forward_triton), each a Python Triton launch (runtime eager-pytorch-hqq-triton: 4 per layer for q/k/v/o, 3 per expert), the 8-bit scale and zero dequantised by ATen ops per call; the host cost per counted op (80 us) fitted on Table 2's 3-bit half (moesim reproduce --fit 'mo-t2-3bit-*')`,
      `a host thread issuing the GPU's work: it waits for the router at each gate (${MO_LAYERS}: SparseMoeWrapper.forward, active_experts = selected_experts.flatten().unique().tolist()) and before each expert (torch.where(expert_mask[expert_idx]) then top_x.tolist(): a sync per expert); resident experts are issued first (${MO}: load_experts(unordered=True) sorts by offloaded)`,
    ],
    simplifies: [
      'the speculative guess uses hidden states a trace lacks: an oracle at the paper\'s recall stands in (system.predictor replaces it)',
      'the host CPU of each published setup is not modelled: one fitted host cost per op serves every setup (Table 2 names no CPU); with Table 2 run without the write-back (below) its residuals per GPU are alike across the three variants (RTX 3060 -12% to +2%, 3080 Mobile 0% to +15%, A100 -5% to -16%, T4 +16% to +43%: the cloud T4s simulated too fast in every row, the no-cache row included), which is what one host speed per setup would leave',
      'the write-back of _swap is the published code; Table 2 ran code that was not published (its full algorithm is not in the repository), and its rows rule out a serial write-back per miss at k = 2 (the RTX 3060\'s LRU row is 1.33x faster than its no-cache row; with the write-back and the shipped trace\'s 34% hits at k = 2 a cache is slower than none), so its points set writeBack: false (MO_T2_CODE in src/reproduce/systems.ts): an inference from the table, not code read',
      'the copies on the compute stream are serialised with the kernels; they overlap the host thread (Python dispatch), which issues ahead of the GPU until a sync',
      'the buffer_size look-ahead window of load_experts (up to 3 demand swaps issued at once) and the buffers\' sharing between demand and speculative loads are not modelled; replay/validate record the guesses into cache slots (their schedules have no buffer operation)',
    ],
    sources: [MO, 'dvmazur/mixtral-offloading demo notebook: offload_per_layer = 4 (5 for 12 GB), buffer_size = 4; HQQ 2-bit experts, group 16, 4-bit attention'],
    expand: (s, model) => {
      // OffloadConfig(main_size = layers x (experts - offload_per_layer)): more offloaded than the layer has is no configuration
      if (s.offloadPerLayer > model.numExperts) throw new InputError(`system.offloadPerLayer: expected at most the model's ${model.numExperts} experts per layer (${model.name}), got ${s.offloadPerLayer}`);
      const perLayer = model.numExperts - s.offloadPerLayer;
      const base = { kind: 'lru', cache: { perLayer } };
      const policies: Record<string, unknown>[] = [{ ...base, label: `mixtral-offloading lru ${perLayer}/layer, on demand` }];
      if (s.speculative) {
        policies.push({
          ...base,
          label: `mixtral-offloading lru ${perLayer}/layer + speculative`,
          prefetch: { kind: 'speculative', lookahead: 1, buffers: MO_BUFFERS },
          // The paper's guess (next layer's gate on the current hidden state) needs hidden states a
          // trace lacks: an oracle at the guess's published accuracy stands in (SPECULATIVE_RECALL).
          predictor: s.predictor ?? { kind: 'oracle', precision: SPECULATIVE_RECALL, recall: SPECULATIVE_RECALL },
        });
      }
      // Attention in HQQ 4-bit at group 64 (the demo's attn_config); the gate, embeddings and LM head are fp16 in the code, sized with the dense tier here.
      return { policies, precision: formatPrecision(s.quantization, { format: 'hqq-4bit-g64' }) };
    },
    semantics: (s) =>
      baseSemantics({
        runtime: runtimes['eager-pytorch-hqq-triton'],
        expertCopies: 'compute-stream',
        writeBackEvicted: s.writeBack ?? true,
        // issue12c: mixtral-offloading does not take HQQ's dequantise-then-matmul path:
        // HQQLinearTritonSavable.forward = forward_triton, a fused Triton dequant-matmul
        // (triton_matmul2/3/4_transpose) that reads the packed weight; only the 8-bit scale and zero
        // of each 16-weight group are dequantised to fp16 first (Quantizer.dequantize, written and
        // read: 2 tensors x 2 B x 2 / 16 = 0.5 B/param at group 16, hqqTritonDequantBytesPerParam),
        // two small dequantisations per linear.
        expertFormat: { ...weightFormats[s.quantization], name: `${s.quantization}-triton`, dequantBytesPerParam: hqqTritonDequantBytesPerParam(s.quantization), dequantKernelsPerExpert: 12, sources: [MO_LAYERS], fitted: false },
        sources: [MO, MO_LAYERS],
      }),
  },
  'moe-infinity': {
    kind: 'moe-infinity',
    describe: 'Xue et al. (arXiv 2401.14361): activation-aware expert caching (and, in its 2024 releases, prefetching), a C++ runtime with its own copy threads',
    models: [
      `the GPU cache: device_memory_ratio x HBM minus the dense weights (EfficientMoE/MoE-Infinity@d6178017933c3d39f82be99f702d8a3e4ce98f8f:core/model/model_topology.cpp ArcherTopologyHandle::GetSparseCacheLimit, core/memory/memory_pool.cpp DeviceMemoryPool::SetMemoryRatio; reserveGiB = (1 - ratio) x HBM)`,
      `dispatch: dispatcher (default, the code since Feb 2025): one C++ fetch thread per GPU takes each routed expert in turn, copies it in on its own stream and waits for the copy (CudaMemcpyAsync then cudaStreamSynchronize), then hands it to an exec thread (${MOEINF_DISPATCH}); on a miss with the cache full it evicts the resident expert with the fewest in-cache visits (LFU); the host costs of the router, the dispatch and the Python merge are the moe-infinity-dispatcher runtime, with six waits per routed expert`,
      `prefetch: off by default with the dispatcher (${MOEINF_CONFIG}: prefetch: bool = False; the MoE blocks' prefetch_experts calls are commented out); with hooks (the 2024 releases) on: after each gate the activation matrix scores the experts of all later layers, enqueued in score order with distance decay (${MOEINF_2024}: expert_prefetcher.prefetch_experts(self.layer_id, expert_matrix))`,
      `copies on the fetch threads' own streams: a copy engine, overlapping compute (${MOEINF_PREFETCH}); host weights in a pinned pool (${MOEINF_PINNED}: cudaHostAlloc)`,
    ],
    simplifies: [
      'the dispatcher\'s one fetch thread and several exec threads are one link and one compute stream; its per-miss scan of every expert for the least-visited one is not charged',
      'the hooks releases\' cache replacement (visit counts with protected prefetch candidates) is LRU; its multi-GPU placement is not modelled',
    ],
    sources: [MOEINF_DISPATCH, MOEINF_CONFIG, MOEINF_2024, MOEINF_PREFETCH, MOEINF_PINNED],
    expand: (s, model) => {
      const prefetch = s.prefetch ?? s.dispatch === 'hooks';
      const cache = { hbm: true, reserveGiB: s.reserveGiB };
      const kind = s.dispatch === 'dispatcher' ? 'lfu' : 'lru';
      // Every expert of every later layer whose activation-matrix entry is positive, not a top-k
      // (prefetch_experts: for i in range(layer_id, num_layers): for j in range(num_experts): if
      // expert_matrix[i, j] > 0); the plan pins them (replace_cache_candidates protects the
      // candidates from eviction, and a prefetch that finds no other victim is dropped).
      const pf = { kind: 'moe-infinity', experts: model.numExperts };
      return {
        policies: [prefetch ? { kind, label: 'moe-infinity', cache, prefetch: pf, predictor: { kind: 'activation-matrix' } } : { kind, label: 'moe-infinity', cache }],
      };
    },
    semantics: (s, model) =>
      baseSemantics({
        runtime: hfRuntime(s.dispatch === 'dispatcher' ? runtimes['moe-infinity-dispatcher'] : runtimes['eager-pytorch'], model, 'moe-infinity'),
        sources: [MOEINF_DISPATCH, MOEINF_PREFETCH, MOEINF_PINNED],
      }),
  },
  fiddler: {
    kind: 'fiddler',
    describe: 'Kamahori et al. (arXiv 2402.07033, ICLR 2025): popular experts placed on the GPU once, every other expert computed by the CPU in bf16 (the hidden state crosses the link, not the weights)',
    models: [
      `static placement by popularity: the non-expert weights on the GPU first, then as many bf16 experts as 95% of the GPU memory leaves, in the order of a profiled popularity list, never changed (${FIDDLER}: bring_non_expert_to_gpu, calc_n_expert_on_gpu free_mem = total_memory * 0.95 - memory_allocated, set_expert_loc, bring_expert_to_gpu); moesim takes the popularity from the trace's warm-up prefix`,
      `a non-resident expert runs on the CPU when its tokens x latency_cpu (7) < latency_gpu (70), i.e. below ${FIDDLER_CPU_BELOW_TOKENS} tokens, else its weights are loaded into a GPU placeholder (${FIDDLER}: cost_per_expert, the 2^8 search of least summed cost, which for per-expert costs is this per-expert rule); onMiss cpu with belowTokens ${FIDDLER_CPU_BELOW_TOKENS}`,
      `the CPU expert is the Hugging Face MixtralBlockSparseTop2MLP called on CPU tensors in bf16 by eager PyTorch (${FIDDLER}: run_expert_at_cpu; torch.set_num_threads(16) in generate; no custom kernel on main, the AVX512_BF16 kernel is on the cppExpert branch only), the hidden states copied down with a blocking .to("cpu") and back with .to(dev) (pageable host tensors): the CPU preset pytorch-bf16-cpu`,
      `a host sync per expert: top_2.tolist() and idx.tolist() before each expert's gather (${FIDDLER}: mixtral_forward), the eager-pytorch runtime's syncsPerExpert`,
      `a GPU-computed miss (10 tokens or more, prefill) loads the expert into a placeholder with load_state_dict from pageable host tensors, on the compute stream (${FIDDLER}: expert_placeholder.load_state_dict)`,
    ],
    simplifies: [
      'the CPU experts of a layer run on moesim\'s CPU resource beside the GPU stream; in Fiddler the Python thread computes them after issuing the GPU experts and blocks (its .to("cpu") waits for the GPU queue), so a layer\'s GPU and CPU experts barely overlap: moesim is optimistic by up to one GPU expert per layer',
      'the popularity list is the trace\'s own warm-up prefix, not Fiddler\'s ShareGPT profile',
    ],
    sources: [FIDDLER, FIDDLER_V1],
    expand: (s) => ({
      policies: [{ kind: 'static', label: 'fiddler', cache: { hbm: true, reserveGiB: s.reserveGiB }, onMiss: { kind: 'cpu', belowTokens: FIDDLER_CPU_BELOW_TOKENS } }],
      precision: formatPrecision('bf16'),
    }),
    semantics: () => baseSemantics({ link: linkPresets.pageable, expertCopies: 'compute-stream', cpu: cpuPresets['pytorch-bf16-cpu'], sources: [FIDDLER, FIDDLER_V1] }),
  },
  'llama-cpp': {
    kind: 'llama-cpp',
    describe: 'llama.cpp (and Ollama on top): -ngl N keeps whole layers in host memory and computes them on the CPU; --n-cpu-moe N keeps the experts of the first N layers on the CPU',
    models: [
      `-ngl N: the last N blocks are on the GPU (the output layer too when N > n_layer), the first ones in host memory (${LLAMA_MODEL}: load_tensors, i_gpu_start = max(n_layer - n_gpu_layers, 0), act_gpu_layers = min(n_gpu_layers, n_layer + 1), a slot il < i_gpu_start or il - i_gpu_start >= act_gpu_layers -> the CPU device, the output layer is slot n_layer; a comment in make_cpu_buft_list: CPU weights sit in a host buffer because "the processing of large batches is offloaded to a GPU device"); a CPU layer's attention, router, dense weights and experts are all computed by the CPU from host DRAM (the CPU roofline at the preset CPU efficiency); the ggml scheduler runs the splits in turn and copies only the hidden states at each CPU/GPU boundary, never the CPU layers' weights for a decode step`,
      `--n-cpu-moe N / --cpu-moe keep the expert tensors of the first N transformer blocks on the CPU buffer type (${LLAMA_ARG}: one override blk.<i>.ffn_(up|down|gate)_exps per block i < N, so a leading dense block counts: DeepSeek-V2-Lite --n-cpu-moe 16 puts 15 MoE layers\' experts on the CPU); the rest of the model is on the GPU (-ngl all)`,
      'CPU-resident weights (a CPU layer\'s attention and experts, --n-cpu-moe experts) are computed by the CPU below a batch of 32 tokens; larger batches copy them to the GPU (ggml/src/ggml-cuda/ggml-cuda.cu ggml_backend_cuda_device_offload_op: get_op_batch_size(op) >= min_batch_size = 32; seen in code excerpts, not read at a commit this session)',
      'ggml graph overheads (C++, no Python), dequantisation fused into the quantised mat-vec kernels (gguf-q4_k)',
      `CPU work at llama.cpp's own ggml-cpu kernels (cpu preset ggml-cpu: k-quant vec_dot against a Q8_K copy of the activation, ${GGML_CPU}): ${cpuPresets['ggml-cpu'].bandwidthEfficiency} of the DIMMs' peak, the mean of three llama.cpp desktop decode measurements outside the suite (ggml-org/llama.cpp issue #4716: 0.84, 0.79, 0.79; mean 0.81); not kTransformers' kernel preset; a host's measured k-quant fraction (2x Xeon Gold 6454S: 0.57, of kTransformers' NUMA-local kernel) bounds it from above`,
      `without --numa (${LLAMA_ARG}: the option is off unless given) the mmap'ed weights sit in the page cache of the node that first read them and the threads span every socket unpinned: on a multi-socket host the CPU reads them at one node's bandwidth, dramBytesPerSec / sockets (cpuWeightsOnOneNode), and at ${GGML_THREADS_ACROSS_SOCKETS} of it, because ggml splits a decode mat-vec's rows evenly over threads on both sockets and each op waits for the remote half (cpuThreadsAcrossSocketsFraction; mozilla-ai/llamafile issue #765: 2x Xeon Gold 5218, ~4 t/s unpinned against ~8 t/s bound to one node; GGML_THREADS_ACROSS_SOCKETS in src/timing/execution-semantics.ts). A thread excerpt agrees in direction only: llama-bench tg128, -t 64 on a 2-socket host, a dense Q4_0 model at -ngl 0 from a cold start: 3.70 tok/s with --numa distribute against 7.89 with the weights copied to both nodes (ggml-org/llama.cpp PR #27986): 0.47 of both nodes' rate, which would be 0.94 of one node's if the cold start left the pages in one node, as the thread does not establish (the model charges 0.5 x one node's, 0.25 of both nodes', on llamafile #765's controlled pair); ggml_numa_init warns that kernel NUMA balancing "has been observed to impair performance" (${GGML_CPU})`,
      'an MLA model\'s KV cache per head, decompressed (mlaCache per-head, the default: DeepSeek-V3 128 x (192 + 128) f16 values = 80 KiB per token and layer, 71x the latent\'s 1152 bytes), read by each decode step on the device that holds the layer (the CPU for a CPU-resident layer): llama.cpp before ggml-org/llama.cpp PR #12801 (Apr 2025; the PR threads #11446 and #12801 were read, not the code at a commit); mlaCache latent for later releases',
      `a layer's CPU experts are one task (cpuTaskPerLayer): build_moe_ffn computes the selected experts of a layer with one ggml_mul_mat_id per matrix on the backend that holds them (${LLAMA_GRAPH})`,
      `the task's hand-off is the ggml scheduler's (cpuSplitHandoff, GGML_SCHED_CPU_EXPERTS_HANDOFF in src/timing/execution-semantics.ts: ${GGML_SCHED_CPU_EXPERTS_HANDOFF.sources.join('; ')}): at a layer whose attention is on the GPU, the CPU split (up, gate, SwiGLU, down) gets the normed hidden state (f32) and the expert ids (int32), and the next GPU split gets the down outputs (f32, one row per routed slot), each one blocking copy at the link's small-copy latency: three per layer, where the generic CPU round trip charges two bf16 hidden states; inside a CPU-resident layer (-ngl) there is no split boundary, so no copy (the block boundary's one is charged with the layer)`,
    ],
    simplifies: [
      'a CPU layer\'s attention is charged on the GPU stream\'s timeline (the GPU waits for it; the time is the CPU roofline), its experts go through the CPU miss handler (with no hand-off copy: cpuSplitHandoff charges none inside a CPU-resident layer)',
      'the input embeddings (always on the CPU in llama.cpp) cross to the GPU without a charge',
      '-ot regular-expression placement is expressible only as a static profile (policies: static with profile)',
      'threads across sockets: the 0.5 applies to every CPU read on a multi-socket host; the mat-vecs with at least 4 chunks of 64 rows per thread are work-stolen instead (DeepSeek-V3 at 64 threads: wq_b, wkv_b and the output layer, ~9% of a layer\'s bytes), and the KV cache\'s placement is taken as the weights\'',
    ],
    sources: [LLAMA_MODEL, LLAMA_ARG, GGML_CPU],
    expand: (s, model) => {
      const L = numMoeLayers(model);
      const E = model.numExperts;
      // --n-cpu-moe N counts transformer blocks, not MoE layers: one override per block i < N
      // (LLAMA_ARG: for i in 0..N-1, llm_ffn_exps_block_regex(i) = blk.<i>.ffn_(up|down|gate)_exps
      // on the CPU buffer type), so a model whose first blocks are dense (DeepSeek-V2/V3) keeps
      // the experts of the MoE blocks below N, fewer than N MoE layers.
      const place = llamaCppPlacement(s.ngl, model);
      const expertsOnCpu = (l: number) => model.moeLayers[l] < s.nCpuMoe;
      const onGpu = (l: number) => !expertsOnCpu(l) && !place.cpuBlock(model.moeLayers[l]);
      const profile = range(L).map((l) => range(E).map(() => (onGpu(l) ? 1 : 0)));
      const gpuLayers = range(L).filter(onGpu).length;
      const n = Math.min(s.nCpuMoe, model.numLayers);
      const label = `llama.cpp${s.ngl === undefined ? '' : ` -ngl ${s.ngl}`}${n > 0 ? ` --n-cpu-moe ${n}` : ''}`;
      return {
        policies: [
          {
            kind: 'static',
            label,
            cache: { experts: gpuLayers * E },
            profile,
            onMiss: { kind: 'cpu', belowTokens: 32 },
          },
        ],
        precision: formatPrecision(s.quantization, 'int8'),
      };
    },
    semantics: (s, model) => {
      const place = llamaCppPlacement(s.ngl, model);
      return baseSemantics({
        runtime: runtimes['llama-cpp-ggml'],
        expertFormat: weightFormats[s.quantization],
        cpu: cpuPresets['ggml-cpu'],
        cpuResidentLayers: range(numMoeLayers(model)).filter((l) => place.cpuBlock(model.moeLayers[l])),
        cpuResidentTail: place.cpuOutput,
        cpuOffloadMinBatch: 32,
        // A layer's routed experts are one ggml_mul_mat_id per matrix over the selected experts on
        // the backend holding the expert tensors (llm_graph_context::build_moe_ffn): the CPU split
        // of a layer gets the hidden states once, not once per expert.
        cpuTaskPerLayer: true,
        // ... handed over by the scheduler's split copies: two tensors to the CPU split (the normed
        // hidden state, the expert ids), one back (the down outputs), each a blocking copy.
        cpuSplitHandoff: GGML_SCHED_CPU_EXPERTS_HANDOFF,
        // No point states --numa (default: disabled, ${LLAMA_ARG}: "--numa TYPE attempt optimizations
        // that help on some NUMA systems ... if run without this previously, it is recommended to
        // drop the system page cache"): the weights are where the page cache put them, one node.
        cpuWeightsOnOneNode: true,
        // ... while its threads (one per physical core, cpu_get_num_math) run on every socket:
        // each decode mat-vec waits for the remote socket's share (GGML_THREADS_ACROSS_SOCKETS).
        cpuThreadsAcrossSocketsFraction: GGML_THREADS_ACROSS_SOCKETS,
        mlaCache: s.mlaCache ?? 'per-head',
        sources: [LLAMA_MODEL, LLAMA_ARG, LLAMA_GRAPH, GGML_CPU],
      });
    },
  },
  ktransformers: {
    kind: 'ktransformers',
    describe: 'kTransformers v0.2: attention, shared experts and the KV cache on the GPU, every routed expert on the CPU (llamafile AVX-512 GEMV on the GGUF blocks; AMX is v0.3 only), the decode step one CUDA graph',
    models: [
      `routed experts always on the CPU, one cpuinfer task per layer for all its routed experts: the hidden state, expert ids and weights copied to pinned host buffers, MOE.forward submitted and synced through cudaLaunchHostFunc nodes, the output copied back (${KT_V020_EXPERTS}: KExpertsCPU.submit_for_one_decode / sync_for_one_decode; cpuTaskPerLayer: one round trip per layer)`,
      `the GPU computes the shared expert between submit and sync (${KT_V020_EXPERTS}: KDeepseekV3MoE.forward) and otherwise waits for the CPU task: the layers are serial, CPU and GPU overlap only by the shared expert`,
      `MOE::forward_one runs two work-stealing phases per layer over all threads (gate/up rows in stripes of 64, then down rows) with llamafile_sgemm on the GGUF blocks; with USE_NUMA each NUMA node holds a full copy of the experts and each thread reads its own node's copy (${KT_V020_MOE}: gate_proj_numa_ / Backend::numa_node), so dual-socket mode reads at both sockets' local bandwidth (the CPU preset's whole DRAM bandwidth) and single-socket mode (numactl -N 1 -m 1) at one socket's`,
      `the whole decode step is one captured CUDA graph (${KT_V020_UTILS}: prefill_and_generate, CUDAGraphRunner): the runtime ktransformers-graph charges its ~100 nodes per layer as GPU time (hostThread false)`,
    ],
    simplifies: [
      'the shared expert is charged before the gate, not beside the CPU task',
      'its GPU-side expert placement by YAML rules is not expressed (no routed expert on the GPU)',
      'the cost of the two host-function nodes per layer is one graph node each; the CPU side has no wake-up cost to charge: its task queue and workers spin (kvcache-ai/ktransformers@18c42e67df28bb6c7f5dc847595637327919e5ea:ktransformers/ktransformers_ext/cpu_backend/task_queue.cpp TaskQueue::sync and processTasks busy-poll under a mutex; cpu_backend/backend.cpp Backend::worker_thread spins while WAITING and sleeps 1 ms only after 50 ms idle, far longer than a decode layer)',
      'the CPU kernel\'s bandwidth is the llamafile-avx512 preset capped by the host\'s measured quantGemvBandwidthFraction: 0.57 of the DIMMs\' peak per socket on 2x Xeon Gold 6454S, measured from the tutorial\'s V0.2 6- vs 8-expert differences (both socket modes give 0.57-0.58; declared fit subset); the same rows imply a fixed ~45 ms per token (the levels less 2 x 2 experts\' time, alike in both socket modes) of which the model charges ~30 ms (the graph\'s nodes and the GPU weights at the full HBM rate): the rest is on the GPU side (the host-function nodes\' latency, the batch-1 kernels\' HBM efficiency), unmeasured and not charged',
    ],
    sources: [KT_V020_EXPERTS, KT_V020_UTILS, KT_V020_MOE, KT_EXPERTS],
    expand: (s) => ({
      policies: [{ kind: 'static', label: 'ktransformers (experts on the CPU)', cache: { experts: 0 }, onMiss: { kind: 'cpu', belowTokens: Number.MAX_SAFE_INTEGER } }],
      precision: formatPrecision(s.quantization, 'bf16'),
    }),
    semantics: (s) =>
      baseSemantics({
        runtime: runtimes['ktransformers-graph'],
        // One graph replay per token: the GPU runs the graph's nodes back to back; their cost is GPU time.
        hostThread: false,
        expertFormat: weightFormats[s.quantization],
        // GGUF k-quant mat-vecs: on the tutorial's host the 6454S preset's measured
        // quantGemvBandwidthFraction (0.57, from the V0.2 rows by difference) caps the 0.75.
        cpu: cpuPresets['llamafile-avx512'],
        cpuTaskPerLayer: true,
        sources: [KT_EXPERTS, KT_V020_EXPERTS, KT_V020_UTILS, KT_V020_MOE],
      }),
  },
  'deepspeed-zero-inference': {
    kind: 'deepspeed-zero-inference',
    describe: 'DeepSpeed ZeRO-Inference (ZeRO-3 with offload_param: cpu): every parameter, embeddings and LM head included, gathered from host memory by a hook before each module runs and released after',
    models: [
      `every parameter lives on the host and is fetched by the module's pre-forward hook, released after (${DS_OFFLOAD}); the embedding module's hook gathers the whole table, and the LM head's its whole matrix, every pass (streamEmbeddingsAndHead)`,
      `offload_param.pin_memory defaults to false (${DS_CONFIG}: DeepSpeedZeroOffloadParamConfig.pin_memory: bool = False): host partitions are pageable, so each gather is a pageable upload (the pageable link); pinMemory: true for a config that sets it`,
      `no prefetch: fetch_sub_module prefetches only "if self.is_complete_trace()", and trace_prologue invalidates the trace when a module comes out of the recorded order ("Invalidate trace cache @ step ...: expected module ..., but got module ..."), which a routed MoE does every pass (${DS_COORD}); each gather is then waited for before the module runs: copies on the compute stream, serialised with the kernels. Releases before v0.15.3 cannot even run a routing-dependent order with the default prefetch: the prefetched parameter of the module the trace expected stays in flight and reset_step raises "still have inflight params" at the end of the first decode pass whose experts differ from the prefill's (${DS_V013_COORD})`,
      `leafMoeBlock (set_z3_leaf_modules on the MoE block class, ${DS_LEAF}): hooks are not registered below the block, and the block's one pre-forward fetch gathers every parameter under it, router and all experts, every pass (streamed with the layer, policy all-on-gpu); DeepSpeed flags MixtralSparseMoeBlock, Qwen2MoeSparseMoeBlock and Qwen3MoeSparseMoeBlock by default only from v0.18.0 (${DS_LEAF_DEFAULT}), so before that only a script that calls set_z3_leaf_modules has it`,
      `world size 1 has no all-gather: each parameter is copied to the GPU by .to(device, non_blocking=True) and the fetch waits on a stream synchronize (${DS_NOGATHER}); so no device-side copy into a gather buffer is charged, and each fetch is a host sync`,
      'experts: the hook of each expert module that the model\'s MoE block calls; callsEveryExpert (a loop over every expert, zero tokens or not) fetches all of a layer\'s experts every pass (streamed with the layer, policy all-on-gpu) and pays the ops of the E - k empty calls on the host (emptyExpertCallsPerLayer), otherwise only the routed ones are fetched, staged and never cached (policy none)',
      `with pageable memory the host thread stages each upload itself (${CUDA_SYNC}), so it cannot run ahead of the copies: hostThread false, the runtime's launches charged in line (pinMemory: true keeps the host thread)`,
    ],
    simplifies: [
      'the hooks are charged as ops counted for a Mixtral decoder layer (deepspeed-zero: 4 hooks per module, a .to() and a release per fetched parameter, an event, a wait_stream and a stream synchronize per fetch), plus the difference where a model\'s code was counted (hfRuntime, src/timing/hf-model-code.ts: DeepSeek-V2-Lite\'s 6 more modules and 4 more fetched parameters per layer); other models (Qwen3\'s q/k norms) pay a few more than charged; the hooks\' pure-Python bookkeeping (trace checks, ds_active_sub_modules) is inside the per-op cost',
      `where the module order does not change with the routing (leafMoeBlock, callsEveryExpert, or a batch that routes tokens to every expert of every layer, as Mixtral's at batch 32), the trace completes and fetch_sub_module's prefetch is active; not modelled (copies stay serialised with compute): after each module's wait it issues at most stage3_prefetch_bucket_size (5e7) parameters ahead, one 14336 x 4096 Mixtral expert matrix, and none while more than stage3_max_live_parameters (1e9) are gathered (a leaf Mixtral block holds 1.41e9), so it hides at most the current module's compute, under a millisecond per module in decode against seconds of copies per pass (${DS_V013_COORD})`,
      'with callsEveryExpert or leafMoeBlock the policy is all-on-gpu (every expert streamed with its layer), so the GPU memory reported counts every expert as resident',
    ],
    sources: [DS_OFFLOAD, DS_CONFIG, DS_COORD, DS_V013_COORD, DS_LEAF, DS_LEAF_DEFAULT, DS_NOGATHER],
    expand: (s) => ({
      policies: [
        s.leafMoeBlock
          ? { kind: 'all-on-gpu', label: 'deepspeed zero-inference (MoE block a leaf module: every expert gathered)' }
          : s.callsEveryExpert
            ? { kind: 'all-on-gpu', label: 'deepspeed zero-inference (every expert gathered)' }
            : { kind: 'none', label: 'deepspeed zero-inference' },
      ],
      precision: formatPrecision(s.quantization),
    }),
    semantics: (s, model) =>
      baseSemantics({
        // The model's own modules (hf-model-code.ts): under a leaf block no hooks below it, so only the model's ops change there.
        runtime: s.leafMoeBlock ? hfRuntime(dsLeafRuntime(model), model, 'hf') : hfRuntime(runtimes['deepspeed-zero'], model, 'deepspeed'),
        link: s.pinMemory ? linkPresets.pinned : linkPresets.pageable,
        expertCopies: 'compute-stream',
        expertFormat: weightFormats[s.quantization],
        streamedDenseLayers: range(numMoeLayers(model)),
        // Every expert crosses every pass when the block calls them all or is one leaf module.
        streamAllExpertsOfStreamedLayers: s.callsEveryExpert || s.leafMoeBlock,
        streamEmbeddingsAndHead: true,
        // The loop's calls of experts without tokens still run their ops (and hooks) on the host.
        emptyExpertCallsPerLayer: s.callsEveryExpert ? Math.max(0, model.numExperts - model.topK) : 0,
        // Pageable uploads block the issuing thread (CUDA Runtime API, "API synchronization
        // behavior": the calling thread stages the pageable source before the call returns), so the
        // host cannot run ahead of the copies: its launches are charged in line with them.
        hostThread: s.pinMemory,
        sources: [DS_OFFLOAD, DS_CONFIG, DS_COORD, CUDA_SYNC, ...(s.leafMoeBlock ? [DS_LEAF] : [])],
      }),
  },
  'vllm-cpu-offload': {
    kind: 'vllm-cpu-offload',
    describe: 'vLLM --cpu-offload-gb: the first layers\' parameters kept on the host, copied to the GPU inside every forward pass (V0) or, with uva (V1), read in place by the kernels as zero-copy loads',
    models: [
      `maybe_offload_to_cpu moves parameters to CPU memory, pin_memory = is_pin_memory_available(), parameter by parameter until cpu_offload_gb is used up ("one module might have some parameters offloaded and some not"), first layers first; the wrapped forward builds device_state = {k: v.to(device, non_blocking=True) for k, v in module.state_dict().items()} and runs functional_call on it, on the current stream (${VLLM_UTILS}: maybe_offload_to_cpu, read line by line at that commit, session s19-f12)`,
      'so on that path an offloaded layer moves all its weights, every expert included (the fused expert tensor), every pass, serialised with compute',
      `uva: true (V1 engine, vLLM v0.8.4+, PR #15354 "[V1] Fully Transparent Implementation of CPU Offloading": "the cpu offloaded tensor always live in cpu, and cuda threads will directly fetch them in the kernel"; maybe_offload_to_cpu of that line: "if envs.VLLM_USE_V1: assert uva_available ...; uva_offloading = True", then p._vllm_offloaded_cpu_data = cpu_data; p.data = get_cuda_view_from_cpu_tensor(cpu_data) and no forward wrapper, while V0 keeps the functional_call copy; seen in code excerpts of vllm/model_executor/models/utils.py, not at a vLLM commit): the kernels read the offloaded parameters in place over the link, so the dense weights of offloaded layers cross every pass but of their experts only the routed ones (the fused-MoE kernel reads the blocks of experts that have tokens); modelled as a static placement with those layers' experts never cached and read per use`,
      `uva reads are zero-copy (link memory 'mapped'): no copy call per read (perTransferSec 0) at ZERO_COPY_EFFICIENCY = ${ZERO_COPY_EFFICIENCY} of the link, the pinned DMA figure, because the decode MoE kernel's loads are whole 128-byte lines (EMOGI, PVLDB 14(2): coalesced, aligned zero-copy requests nearly saturate PCIe)`,
    ],
    simplifies: ['GPU memory is reported as if every expert were resident (the offloaded layers\' bytes are not subtracted)', 'CUDA-graph capture with offloading assumed (check the vLLM version used)'],
    sources: [VLLM_UTILS],
    expand: (s, model) => {
      if (!s.uva) return { policies: [{ kind: 'all-on-gpu', label: 'vllm --cpu-offload-gb' }] };
      // UVA: the offloaded layers' experts are never cached; each routed one is read over the link where it lies.
      const n = vllmOffloadedLayers(s, model);
      const L = numMoeLayers(model);
      const E = model.numExperts;
      return {
        policies: [{ kind: 'static', label: `vllm --cpu-offload-gb (UVA, ${n} layers on the host)`, cache: { experts: Math.max(1, (L - n) * E) }, profile: range(L).map((l) => range(E).map(() => (l >= n ? 1 : 0))) }],
      };
    },
    semantics: (s, model) => {
      const n = vllmOffloadedLayers(s, model);
      return baseSemantics({
        runtime: runtimes['cuda-graphs'],
        // UVA: the kernels read the host's pinned pages in place (zero-copy); the copy path copies them.
        link: s.uva ? linkPresets.mapped : linkPresets.pinned,
        expertFormat: weightFormats[s.quantization],
        expertCopies: 'compute-stream',
        streamedDenseLayers: range(n),
        streamAllExpertsOfStreamedLayers: !s.uva,
        sources: [VLLM_UTILS],
      });
    },
  },
  accelerate: {
    kind: 'accelerate',
    describe: 'Hugging Face Accelerate device_map offload: layers past the GPU budget stay on the CPU; a hook on every leaf module copies its weights in, tensor by tensor, before it runs and drops them after',
    models: [
      `a hook per leaf module (${ACC_V027_HOOKS}): pre_forward copies each of the module's tensors to the GPU with set_module_tensor_to_device, post_forward puts them back on meta; nothing is kept between passes, so an offloaded layer's weights cross the link every pass (streamedDenseLayers) and each routed expert of it is uploaded on every call (policy: static, those layers' experts never cached)`,
      `tensor by tensor (tensorsPerExpertTransfer ${TENSORS_PER_EXPERT} per SwiGLU expert, one call per dense tensor of the block): each copy call pays the link latency and the pageable per-transfer cost, plus the hook's host cost per tensor (hookPerTensor): ${ACC_HOOK_OPS_PER_TENSOR} PyTorch calls and ${ACC_HOOK_SYNCS_PER_TENSOR} torch.cuda.empty_cache() after each set_module_tensor_to_device (${ACC_V027_MODELING}), at the runtime's (eager PyTorch's) per-op and per-sync costs`,
      `host weights are the CPU state dict, ordinary pageable tensors (${ACC_V027_BIG}): the pageable link rate; value.to(device) from pageable memory blocks the calling thread until the source is staged (${CUDA_SYNC}), so the host cannot run ahead of the copies (hostThread false)`,
      'callsEveryExpert: a model whose MoE block calls every expert module (zero tokens or not) uploads all of an offloaded layer\'s experts every pass (streamAllExpertsOfStreamedLayers, policy all-on-gpu) and pays the empty calls\' ops on the host (emptyExpertCallsPerLayer); otherwise only the routed ones',
    ],
    simplifies: [
      'the order device_map fills devices is taken as first layers on the GPU',
      'disk offload is not modelled',
      'the dense tensors per block are counted for a Mixtral decoder layer (denseTensorsPerBlock) except where a model\'s modeling code was counted (src/timing/hf-model-code.ts: DeepSeek-V2-Lite\'s MLA block, 11); the per-layer and per-expert ops likewise (hfRuntime: DeepSeek-V2-Lite\'s remote code issues 53 + 22 more ops and 2 waits per layer, 3 fewer ops and no wait per expert)',
      'torch.cuda.empty_cache() after each set_module_tensor_to_device releases the freed blocks with cudaFree and makes the next upload cudaMalloc afresh (58 calls per offloaded DeepSeek-V2-Lite layer and token): charged only as a sync (syncSec) each; no measured cudaMalloc/cudaFree cost per size was found to charge',
      'cudaMalloc of each fresh upload (after the empty_cache) is inside the per-sync cost, not sized by the tensor',
      'with callsEveryExpert the policy is all-on-gpu (every expert of an offloaded layer streamed with it), so the GPU memory reported counts every expert as resident',
    ],
    sources: [ACC_V027_HOOKS, ACC_V027_MODELING, ACC_V027_BIG, ACC_HOOKS, CUDA_SYNC],
    expand: (s, model) => {
      const L = numMoeLayers(model);
      const g = Math.min(L, s.gpuLayers);
      const E = model.numExperts;
      if (s.callsEveryExpert) return { policies: [{ kind: 'all-on-gpu', label: `accelerate (${g} layers on the GPU, every expert of the others uploaded)` }], precision: formatPrecision(s.quantization) };
      return {
        policies: [{ kind: 'static', label: `accelerate (${g} layers on the GPU)`, cache: { experts: Math.max(1, g * E) }, profile: range(L).map((l) => range(E).map(() => (l < g ? 1 : 0))) }],
        precision: formatPrecision(s.quantization),
      };
    },
    semantics: (s, model) => {
      return baseSemantics({
        runtime: hfRuntime(runtimes['eager-pytorch'], model, 'hf'),
        link: linkPresets.pageable,
        expertCopies: 'compute-stream',
        expertFormat: weightFormats[s.quantization],
        streamedDenseLayers: range(numMoeLayers(model)).slice(Math.min(numMoeLayers(model), s.gpuLayers)),
        streamAllExpertsOfStreamedLayers: s.callsEveryExpert,
        emptyExpertCallsPerLayer: s.callsEveryExpert ? Math.max(0, model.numExperts - model.topK) : 0,
        tensorsPerExpertTransfer: TENSORS_PER_EXPERT,
        hookPerTensor: { ops: ACC_HOOK_OPS_PER_TENSOR, syncs: ACC_HOOK_SYNCS_PER_TENSOR },
        // Blocking pageable copies: the issuing thread stages each source itself (CUDA_SYNC).
        hostThread: false,
        sources: [ACC_V027_HOOKS, ACC_V027_MODELING, ACC_V027_BIG, CUDA_SYNC],
      });
    },
  },
  'pregated-moe': {
    kind: 'pregated-moe',
    describe: 'Hwang et al. (ISCA 2024, arXiv 2308.12066): a pre-gate selects block l+1\'s experts, fetched while block l computes',
    models: ['lru of one expert per layer, prefetch: pregated at the pre-gate\'s accuracy', 'copies on a separate stream (the paper overlaps the fetch with block l\'s compute)'],
    simplifies: ['runtime overheads: eager PyTorch defaults (the prototype is on PyTorch; not read from code, no public repository located)'],
    sources: ['arXiv 2308.12066 (no code repository consulted)'],
    expand: (s) => ({ policies: [{ kind: 'lru', label: 'pre-gated moe', cache: { perLayer: 1 }, prefetch: { kind: 'pregated', accuracy: s.accuracy } }] }),
    semantics: () => baseSemantics({ sources: ['arXiv 2308.12066'] }),
  },
  expertflow: {
    kind: 'expertflow',
    describe: 'He et al. (arXiv 2410.17954): routing-path prediction before each pass, plan cancelled and re-planned on disagreement',
    models: ['a global cache of `experts` experts, prefetch: expertflow with the path predictor', 'copies on a copy stream, pinned'],
    simplifies: ['runtime overheads: eager PyTorch defaults (no code consulted)'],
    sources: ['arXiv 2410.17954 (no code repository consulted)'],
    expand: (s) => ({ policies: [{ kind: 'lru', label: 'expertflow', cache: { experts: s.experts }, prefetch: { kind: 'expertflow' }, predictor: s.predictor ?? { kind: 'path' } }] }),
    semantics: () => baseSemantics({ sources: ['arXiv 2410.17954'] }),
  },
  'moe-lightning': {
    kind: 'moe-lightning',
    describe: 'Cao et al. (ASPLOS 2025, arXiv 2411.11217): batch inference with CGOPipe: attention on the CPU over a host KV cache, PostAttn and the MoE FFN on the GPU per micro-batch, the next layer\'s expert weights paged in between into a two-layer GPU buffer; policy by its HRM performance model',
    models: [
      `the decode loop's issue order (${ML_LOOP}: the prologue issues pre_attention, offload_qkv and cpu_attention of micro-batches 0 and 1; per layer i and micro-batch k: load_hidden(i, k), prefetch_experts(i + 1, 0, k), post_attention(i, k), then the pre-attention of the micro-batch two ahead), each stage on its own resource: PreAttn and PostAttn on the GPU's stream, the QKV copy on offload_stream (device to host), the attention on a cpu_executor thread over the KV cache in host memory, the hidden states and the weight pages on load_stream (host to device) (${ML_ENGINE}); the timeline is src/timing/cgopipe.ts cgoPipeSchedule`,
      `the next layer's offloaded experts are paged, one page per micro-batch, into a buffer of two layers' experts (weights_prefetch_num_pages_gpu = 2); a layer's first PostAttn waits for its last page (post_attention: prefetch_events[...].wait at batch_id 0); a page overwrites the half of the buffer of the layer two back, after that layer's last PostAttn (every micro-batch's fused MoE kernel reads all its experts; no event in the code: stream order and the host's waits) (${ML_ENGINE})`,
      `the policy: n_ub micro-batches (microBatches) and wg, the fraction of expert weights resident on the GPU (gpuWeightFraction); the KV cache all in host memory and attention on the CPU (the artifact README's policies print cg = 0.00, cc = 1.00); fields left out are searched: every n_ub in 1..64 with the largest wg that fits 90% of HBM, the least T = max(comm, T_cpu, T_gpu) per layer (${ML_OPT}: solve_lp, an MILP in the paper, an exhaustive search here)`,
      `the non-expert weights stay on the GPU (the README's optimizer output: "non-experts weights size: 2.5000 GB", gpu_home); host memory pinned (qkv_pin, hidden_pin and experts_pin allocated with pin_memory, ${ML_ENGINE} build_context)`,
      'the CPU attention at the host\'s measured DRAM bandwidth and FLOP/s (cpu preset fastmoe-cpu-attention: the HRM takes --cpu-mem-bdw as measured)',
      `whole experts resident: int(num_local_experts x wg) per layer (${ML_ENGINE} build_context, init_weights_prefetch_meta), the GPU's expert pool L x that + 2 x the rest (experts_pool_size)`,
      `the prefill as its own schedule (src/timing/cgopipe.ts cgoPrefillSchedule; ${ML_LOOP} batch_forward_step "# prefill"): per layer and micro-batch the whole layer on the GPU (layer: model_runner.prefill, DecodePart.ALL, the attention a GPU kernel over the prompt), its KV cache copied to host memory after the attention (offload_kv_cache, offload_stream, after attn_events), its hidden states offloaded and reloaded (offload_hidden_prefill, load_hidden_prefill); one page per layer, the next layer's offloaded experts whole (prefetch_experts stage "prefill", prefetch_stream), a layer's first micro-batch waiting for it; the expert weights (ws) and the host KV cache (kv_data_cpu) are pageable (no pin_memory: mixtral-offload.py, memory.py), so those copies run at the link's pageable rate and the host blocks in them (CUDA runtime API synchronization behavior), which holds back what it issues next (${ML_ENGINE})`,
    ],
    simplifies: [
      'every MoE layer is charged the step\'s makespan / L (the layers are alike); the FFN of each micro-batch is one roofline kernel over the experts it routes to (min(E, tokens x k)) with tokens spread evenly over micro-batches, not the trace\'s routing',
      'the pinned staging copy of each decode page (prefetch_experts_to_pin: pageable ws to experts_pin on the one copy_executor thread, twice the page\'s bytes at the host\'s DRAM bandwidth) is its own resource, not sharing the DRAM with the CPU attention; the host waits for it before issuing the page and the PostAttn after it (copy_futures[k].result())',
      'the prefill\'s KV copy moves the micro-batch\'s prompt tokens; the code\'s store spans the cache line up to the last prompt token, the output slots reserved between the prompts included (task.py offload_kv_cache: store_size = kv_pt - cpu_kv_pool_start_loc); the pinned staging buffers\' first allocation (offload_hidden_prefill: pin_memory at layer 0) is not charged',
      'the host thread\'s waits (load_hidden blocks on the CPU attention\'s future before issuing the next GPU work) are the dependencies of the schedule; Python dispatch is not charged beside them',
      'the policy search runs per step shape (prefill and decode may get different ones); the batch is the scenario\'s',
    ],
    sources: [ML_PAPER, ML_ENGINE, ML_LOOP, ML_OPT, `${CGO_ARTIFACT}:README.md (policies per generation length for S1 and S2)`],
    expand: (s) => ({
      // Every expert of every layer is used each pass (whole layers are paged in): no per-expert cache.
      policies: [{ kind: 'all-on-gpu', label: `moe-lightning (CGOPipe${s.microBatches ? `, ${s.microBatches} micro-batches` : ''})` }],
      precision: formatPrecision(s.quantization),
    }),
    semantics: (s) =>
      baseSemantics({
        runtime: runtimes['eager-pytorch'],
        link: linkPresets.pinned,
        expertFormat: weightFormats[s.quantization],
        cpu: cpuPresets['fastmoe-cpu-attention'],
        // The schedule's stages hold the GPU's work; launches are charged inside the GPU jobs.
        hostThread: false,
        cgoPipe: { ...(s.microBatches !== undefined ? { microBatches: s.microBatches } : {}), ...(s.gpuWeightFraction !== undefined ? { gpuWeightFraction: s.gpuWeightFraction } : {}) },
        sources: [ML_ENGINE, ML_LOOP, ML_OPT],
      }),
  },
  hobbit: {
    kind: 'hobbit',
    describe: 'Tang et al. (arXiv 2411.01433): less important missed experts fetched as a lower-bit copy; built on llama.cpp',
    models: ['lru cache sized by HBM, onMiss: low-precision below the gate-weight threshold', 'llama.cpp ggml runtime overheads'],
    simplifies: ['its layer-wise prefetcher and multidimensional cache policy are not modelled'],
    sources: ['arXiv 2411.01433 (no code repository consulted)'],
    expand: (s) => ({
      policies: [{ kind: 'lru', label: `hobbit (${s.lowBit} below ${s.belowGateWeight})`, cache: { hbm: true, reserveGiB: 1 }, onMiss: { kind: 'low-precision', dtype: s.lowBit, belowGateWeight: s.belowGateWeight } }],
    }),
    semantics: () => baseSemantics({ runtime: runtimes['llama-cpp-ggml'], cpu: cpuPresets['ggml-cpu'], sources: ['arXiv 2411.01433'] }),
  },
};

export const systemKinds = Object.keys(systems) as SystemKind[];

/** The system's policies and precision. */
export function expandSystem(spec: SystemSpec, model: MoeModel): SystemExpansion {
  return (systems[spec.kind] as SystemPreset).expand(spec, model);
}

/** `execution:`: overrides of single execution-semantics parameters, by preset name. */
export const executionSchema = z
  .object({
    runtime: z.enum(Object.keys(runtimes) as [keyof typeof runtimes, ...(keyof typeof runtimes)[]]).optional(),
    memory: z.enum(['pinned', 'pageable']).optional(),
    expertCopies: z.enum(['copy-engine', 'compute-stream']).optional(),
    writeBackEvicted: z.boolean().optional(),
    /** The runtime's software time on a host thread of its own (true for every system preset); false: inside the GPU jobs. */
    hostThread: z.boolean().optional(),
    expertFormat: anyFormat.optional(),
    cpu: z.enum(Object.keys(cpuPresets) as [keyof typeof cpuPresets, ...(keyof typeof cpuPresets)[]]).optional(),
    /** issue12c: the runtime's host cost per kernel launch in microseconds (RuntimeOverheads.perKernelSec), the per-runtime parameter `moesim reproduce` fits. */
    perKernelUs: z.number().nonnegative().optional(),
  })
  .strict();
export type ExecutionSpec = z.infer<typeof executionSchema>;

/**
 * The execution semantics of a scenario: its system's, with `execution:` overrides; without a
 * system, the defaults (eager PyTorch, pinned memory, a copy engine, no write-back, eager CPU
 * experts) with the overrides. Undefined when the scenario has neither: the bare roofline.
 */
export function scenarioSemantics(system: SystemSpec | undefined, execution: ExecutionSpec | undefined, model: MoeModel): ExecutionSemantics | undefined {
  if (!system && !execution) return undefined;
  const sem = system ? (systems[system.kind] as SystemPreset).semantics(system, model) : baseSemantics({ sources: ['execution: defaults'] });
  if (!execution) return sem;
  const link = execution.memory ? { ...sem.link, memory: execution.memory } : sem.link;
  return {
    ...sem,
    link,
    ...(execution.runtime ? { runtime: runtimes[execution.runtime] } : {}),
    // issue12c: a per-kernel cost override applies to whichever runtime the scenario ends up with.
    ...(execution.perKernelUs !== undefined ? { runtime: { ...(execution.runtime ? runtimes[execution.runtime] : sem.runtime), perKernelSec: execution.perKernelUs * 1e-6 } } : {}),
    ...(execution.expertCopies ? { expertCopies: execution.expertCopies } : {}),
    ...(execution.writeBackEvicted !== undefined ? { writeBackEvicted: execution.writeBackEvicted } : {}),
    ...(execution.hostThread !== undefined ? { hostThread: execution.hostThread } : {}),
    ...(execution.expertFormat ? { expertFormat: weightFormats[execution.expertFormat] } : {}),
    ...(execution.cpu ? { cpu: cpuPresets[execution.cpu] } : {}),
  };
}

/** The system's execution semantics. */
export function systemSemantics(spec: SystemSpec, model: MoeModel): ExecutionSemantics {
  return (systems[spec.kind] as SystemPreset).semantics(spec, model);
}
