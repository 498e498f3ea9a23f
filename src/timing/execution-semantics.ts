/**
 * Execution semantics: how a real runtime executes the plan the policies make, as named parameters
 * of the timing model (issue 12, part 1). The roofline (./roofline.ts) is what the
 * hardware could do; these say what a given software stack adds or loses on top of it:
 *
 *   - runtime overheads: host-side cost per kernel launch (eager PyTorch dispatch, CUDA graphs,
 *     ggml), kernels per layer and per expert as the system's code issues them, host
 *     synchronisations per expert (a `.tolist()` or `nonzero` that waits for the GPU), a fixed
 *     cost per forward pass (sampling, Python loop);
 *   - the link as achieved: efficiency of pinned and pageable host memory against the datasheet
 *     rate, and a per-transfer cost (the copy call, the pageable bounce buffer);
 *   - who copies: on a copy engine (overlapping compute) or on the compute stream (serialised
 *     with the kernels);
 *   - write-back: evicted experts copied back to host memory (device to host) before their slot
 *     is reused;
 *   - dequantisation of a weight format: extra HBM bytes and kernels per parameter when the
 *     format is dequantised to bf16 by separate kernels instead of inside the matmul;
 *   - CPU efficiency: achieved DRAM bandwidth and FLOP/s of the CPU expert kernels.
 *
 * Every default names its source next to it. A number that could not be sourced is marked
 * `fitted: true` in its preset: it has a physical meaning, but its value is an estimate to be
 * measured or fitted on a declared subset (issue 12, part 5).
 *
 * This module is deliberately separate from the roofline: `SemanticCostModel` decorates the
 * analytic costs at four seams of the `Costs` interface (./costs.ts): expert time, per-layer time,
 * per-step time, and the link/CPU the hardware offers (h2dSec, cpuRoundTripSec, linkOverlapsCompute
 * and cpuExpertSec follow from the effective hardware).
 */
import type { Dtype, MoeModel } from '../model/types.js';
import type { Hardware } from '../hardware/types.js';
import { bytesSec, KERNELS_PER_EXPERT, KERNELS_PER_LAYER, linkSec, RooflineCosts, type Precision } from './roofline.js';
import type { HostCosts, MissCosts } from './costs.js';
import { hfModelCode } from './hf-model-code.js';
import { cgoGpuBytes, cgoPipeSchedule, cgoPrefillCosts, cgoPrefillSchedule, cgoStageCosts, chooseCgoPolicy, type CgoPolicy } from './cgopipe.js';
import { attentionParams, bytesPerParam, denseFfnParams, expertParams, perHeadKvBytesPerTokenPerLayer, residentParams, routerParams, sharedExpertParams } from '../model/derived.js';
import { precisionBytesPerParam } from '../model/formats.js';

/** A source for a number: a microbenchmark, a paper, a vendor document, or code at a commit. */
export type Source = string;

export interface RuntimeOverheads {
  name: string;
  describe: string;
  /** Host cost of issuing one kernel (dispatch + launch), seconds; replaces the GPU preset's launch overhead. */
  perKernelSec: number;
  /** Kernels per transformer layer's non-expert work (norms, attention, router, residuals). */
  kernelsPerLayer: number;
  /** Kernels per expert computed (matmuls, activation, the gather/scatter of its tokens). */
  kernelsPerExpert: number;
  /** Host-device synchronisations per expert computed (the host waits for the GPU to drain). */
  syncsPerExpert: number;
  /** Cost of one synchronisation beyond the drained work: the round trip to the host, seconds. */
  syncSec: number;
  /** Fixed cost per forward pass (sampling, the Python decode loop, logits to host), seconds. */
  perStepSec: number;
  /** Host waits per transformer layer's non-expert work (a blocking host-to-device copy, a `.cpu()`), each at syncSec. Absent: none. */
  syncsPerLayer?: number;
  /**
   * Ops and waits of each MoE layer's block (outside its experts) beyond kernelsPerLayer: what a
   * model's MoE block issues more than the one the runtime was counted for (./hf-model-code.ts).
   * Absent: none.
   */
  moeBlock?: { kernels: number; syncs: number };
  /**
   * Triton kernels launched from Python per transformer layer's non-expert work and per expert
   * computed (mixtral-offloading's fused HQQ dequant-matmul: one per quantised linear). A Triton
   * launch costs `tritonLaunchSec` of host time (JITFunction.run binds and checks every argument
   * in Python), not `perKernelSec`. Absent: none.
   */
  triton?: { launchesPerLayer: number; launchesPerExpert: number; launchSec: number };
  /**
   * Achieved / datasheet HBM bandwidth of the runtime's GPU kernels at decode (batch-1 mat-vecs),
   * by the experts' weight format: `quantized` (2-4-bit and int8 blocks dequantised in registers) or
   * `float` (bf16/fp16). Absent: the datasheet rate (the roofline's).
   */
  hbmEfficiency?: { quantized: number; float: number };
  sources: Source[];
  /** True where a value is an estimate with a physical meaning but no measurement behind it yet. */
  fitted: boolean;
}

/**
 * Where the offloaded weights live on the host and how the GPU gets them: `pinned` and `pageable`
 * are copied by a copy call (DMA); `mapped` is pinned memory mapped into the GPU's address space
 * (UVA, cudaHostGetDevicePointer) that the kernels read in place, request by request, with no copy
 * call (vLLM V1 --cpu-offload-gb).
 */
export type HostMemory = 'pinned' | 'pageable' | 'mapped';

export interface LinkSemantics {
  /** Where the offloaded weights live on the host. */
  memory: HostMemory;
  /** Achieved / datasheet bandwidth, per host memory kind. */
  efficiency: Record<HostMemory, number>;
  /** Cost per transfer on top of the link's latency (the copy call; pageable: the staging copy setup), seconds. */
  perTransferSec: Record<HostMemory, number>;
  sources: Source[];
  fitted: boolean;
}

export type CopyStream = 'copy-engine' | 'compute-stream';

export interface WeightFormat {
  name: string;
  /** The nominal dtype (the compute dtype and the HBM efficiency class follow it). */
  dtype: Dtype;
  /** Weights per quantisation group (the storage format's, where it has one). */
  groupSize: number;
  /** The storage format (src/model/formats.ts) that sizes it; absent: the plain dtype. */
  storage?: string;
  /** Extra HBM bytes per parameter the dequantisation moves (0: dequantised inside the matmul kernel). */
  dequantBytesPerParam: number;
  /** Extra kernels per expert for the dequantisation (per weight matrix: 3 per expert in a SwiGLU FFN). */
  dequantKernelsPerExpert: number;
  sources: Source[];
  fitted: boolean;
}

export interface CpuSemantics {
  /** Achieved / preset DRAM bandwidth for the CPU expert kernel. */
  bandwidthEfficiency: number;
  /** Achieved / preset FLOP/s. */
  flopsEfficiency: number;
  /**
   * The kernel is a quantised-block mat-vec (GGUF k-quant dot products): on a host whose preset
   * gives a measured quantGemvBandwidthFraction it reads at no more than that fraction.
   */
  quantGemv?: boolean;
  describe: string;
  sources: Source[];
  fitted: boolean;
}

/** One tensor crossing a CPU/GPU split boundary per CPU task; its bytes per token. */
export interface SplitTensor {
  name: string;
  /** Bytes per hidden-size element (an f32 hidden state: 4). */
  perHidden?: number;
  /** Bytes per routed slot (top-k int32 expert ids: 4). */
  perSlot?: number;
  /** Bytes per routed slot and hidden-size element (one f32 row per routed expert: 4). */
  perSlotHidden?: number;
}

/** The tensors a CPU task's split boundary copies (ExecutionSemantics.cpuSplitHandoff). */
export interface CpuSplitHandoff {
  /** Device to host, before the CPU split runs. */
  toHost: SplitTensor[];
  /** Host to device, into the GPU split after it. */
  toDevice: SplitTensor[];
  sources: Source[];
}

/** Bytes of `t` for `tokens` tokens of `model`. */
export function splitTensorBytes(t: SplitTensor, model: MoeModel, tokens: number): number {
  const h = model.hiddenSize;
  const k = model.topK;
  return tokens * (h * (t.perHidden ?? 0) + k * (t.perSlot ?? 0) + k * h * (t.perSlotHidden ?? 0));
}

export interface ExecutionSemantics {
  runtime: RuntimeOverheads;
  link: LinkSemantics;
  /** Which stream the expert weight copies run on. */
  expertCopies: CopyStream;
  /** Evicted experts are written back to host memory (device to host) on each swap. */
  writeBackEvicted: boolean;
  /** The experts' weight format (dequantisation); undefined: a plain dtype, no dequantisation. */
  expertFormat?: WeightFormat;
  cpu: CpuSemantics;
  /**
   * Dense (non-expert) weights of these MoE layers' blocks are offloaded and streamed over the
   * link every forward pass, before the layer computes (ZeRO-Inference, Accelerate, vLLM
   * --cpu-offload-gb). Indexes are MoE layer ordinals.
   */
  streamedDenseLayers?: number[];
  /** Streamed layers also move all their experts, used or not (a fused expert tensor, vLLM). */
  streamAllExpertsOfStreamedLayers?: boolean;
  /**
   * The input embedding table, the trailing dense layers, the final norm and the LM head are
   * offloaded too and streamed every pass, after the last MoE layer (ZeRO-3 partitions every
   * parameter of the model: the embedding module's hook gathers its whole table for the lookup).
   */
  streamEmbeddingsAndHead?: boolean;
  /**
   * Expert modules each MoE layer calls beyond the routed ones, with zero tokens (a Hugging Face
   * loop over range(num_experts)): each pays the runtime's kernels and syncs per expert on the host
   * (their matmuls have no rows, so no GPU time). Default 0.
   */
  emptyExpertCallsPerLayer?: number;
  /**
   * llama.cpp `-ngl`: these MoE layers' blocks (their attention, router, shared expert, and the
   * dense layers before them) are in host memory and computed by the CPU at its DRAM roofline with
   * the preset CPU efficiency; their weights are never copied per token. The GPU waits meanwhile
   * (the ggml scheduler runs the graph's splits one after another). Indexes are MoE layer ordinals.
   * Their experts' placement is the policy's (a static profile with onMiss cpu).
   */
  cpuResidentLayers?: number[];
  /** The trailing dense layers and the output layer are in host memory too (-ngl <= n_layer). */
  cpuResidentTail?: boolean;
  /**
   * How an MLA model's KV cache is stored: `latent` (the compressed kvLoraRank + rope key, DeepSeek's
   * absorb mode, FlashMLA, kTransformers' MLA kernels; the default) or `per-head` (every head's
   * decompressed key and value, llama.cpp before PR #12801: model/derived.ts
   * perHeadKvBytesPerTokenPerLayer). Sets the bytes each token of context adds and each decode
   * step reads, on the GPU or, for CPU-resident layers, on the CPU. No effect on GQA models.
   */
  mlaCache?: 'latent' | 'per-head';
  /**
   * At or above this many tokens in a pass, the work of CPU-resident weights runs on the GPU with
   * the weights copied over the link (ggml-cuda offload_op: GGML_OP_OFFLOAD_MIN_BATCH = 32);
   * below it the CPU computes. Default: never offloaded.
   */
  cpuOffloadMinBatch?: number;
  /**
   * The runtime's software time (kernel launches, syncs, the per-pass cost) runs on a host thread
   * of its own that issues the GPU's work ahead of it (StepCosts.host, src/sim/offload-sim.ts);
   * false: it is charged inside the GPU jobs, as if the GPU waited for each launch.
   */
  hostThread?: boolean;
  /**
   * The runtime's host weights sit in one NUMA node's memory (llama.cpp without --numa: the
   * mmap'ed model in the page cache where it was first read): on a host of several sockets the
   * CPU reads them at one socket's bandwidth, dramBytesPerSec / sockets (the remote threads' share:
   * cpuThreadsAcrossSocketsFraction).
   */
  cpuWeightsOnOneNode?: boolean;
  /**
   * With cpuWeightsOnOneNode on a host of several sockets: the threads run on every socket while
   * the weights sit in one node, and the rate they reach on them is this fraction of that node's
   * local rate (the remote threads read across the socket link; ggml splits a decode mat-vec's rows
   * evenly over the threads, so each op waits for its remote share). Absent: 1, the remote threads
   * as fast as the local ones. llama.cpp: GGML_THREADS_ACROSS_SOCKETS.
   */
  cpuThreadsAcrossSocketsFraction?: number;
  /**
   * The CPU experts of a layer are one task with one hidden-state round trip (kTransformers'
   * KExpertsCPU: one cpuinfer moe.forward per layer); false: a round trip per CPU expert.
   */
  cpuTaskPerLayer?: boolean;
  /**
   * A CPU task's hand-off as the runtime's scheduler moves it (llama.cpp's ggml_backend_sched): the
   * CPU split's inputs from the GPU and its outputs back, each tensor one synchronous copy at the
   * link's latency (LINK: latencySec with the link preset's per-transfer cost). Charged with the
   * first CPU expert of a layer whose non-expert work is on the GPU, in place of cpuRoundTripSec's
   * two bf16 hidden-state copies; nothing inside a CPU-resident layer (cpuResidentLayers: its whole
   * block is one CPU split, whose boundary preExpertSec charges). Absent: cpuRoundTripSec.
   */
  cpuSplitHandoff?: CpuSplitHandoff;
  /**
   * Copy calls per weight upload: a runtime that moves a module's weights tensor by tensor (HF
   * Accelerate's AlignDevicesHook: one set_module_tensor_to_device per parameter) pays the link's
   * latency, its per-transfer cost and the hook's host cost (`hookPerTensor`) once per tensor: an expert upload makes
   * this many calls (3 for a SwiGLU expert), a streamed layer's dense weights one per dense tensor
   * of the block (denseTensorsPerBlock). Absent: one call per expert and per streamed layer.
   */
  tensorsPerExpertTransfer?: number;
  /**
   * Host work per tensor of a hook that uploads it before the module runs and drops it after (with
   * tensorsPerExpertTransfer): PyTorch calls charged at the runtime's perKernelSec and waits at its
   * syncSec, so a per-kernel override (execution.perKernelUs, the reproduce fit) reaches them too.
   */
  hookPerTensor?: { ops: number; syncs: number };
  /**
   * MoE-Lightning's CGOPipe (./cgopipe.ts): every MoE layer runs as the micro-batch pipeline of
   * PreAttn on the GPU, QKV to the host, attention on the CPU over a host-resident KV cache, the
   * hidden states back, PostAttn and the MoE FFN on the GPU, with the next layer's offloaded expert
   * weights paged in between. A layer's time is the pipeline's makespan over all layers / L
   * (cgoPipeSchedule), charged as its non-expert work; its experts' FFN is inside it (expertSec 0).
   * A field left out is chosen per step shape by the HRM search (chooseCgoPolicy).
   */
  cgoPipe?: Partial<CgoPolicy>;
  /** Sources of the stream and write-back choices. */
  sources: Source[];
}

// ---------------------------------------------------------------------------------------------
// Presets.

const PYTORCH_BLOG_CUDA_GRAPHS =
  'PyTorch blog, "Accelerating PyTorch with CUDA Graphs" (Ngo et al., 2021): eager mode pays CPU launch overhead per kernel, several microseconds each; graphs replay the whole sequence with one launch';

export const runtimes = {
  'eager-pytorch': {
    name: 'eager-pytorch',
    describe: 'PyTorch eager mode with Hugging Face modules: Python dispatch per op, per-expert token gather/scatter',
    perKernelSec: 10e-6,
    kernelsPerLayer: 20,
    kernelsPerExpert: 9,
    syncsPerExpert: 1,
    syncSec: 20e-6,
    perStepSec: 2e-3,
    sources: [
      PYTORCH_BLOG_CUDA_GRAPHS,
      'kernels and the sync per expert counted in efeslab/fiddler@00e70f091f54e425b6d7506e64cebfc7b84add2f:src/fiddler/mixtral.py (mixtral_forward: torch.where, .tolist() (a host sync), index, w1/w3/act/mul/w2/weight, index_add_ per expert)',
    ],
    fitted: true,
  },
  'cuda-graphs': {
    name: 'cuda-graphs',
    describe: 'captured CUDA graphs (vLLM default, kTransformers): one launch per graph, no per-op Python',
    perKernelSec: 1e-6,
    kernelsPerLayer: 12,
    kernelsPerExpert: 3,
    syncsPerExpert: 0,
    syncSec: 20e-6,
    perStepSec: 0.5e-3,
    sources: [PYTORCH_BLOG_CUDA_GRAPHS],
    fitted: true,
  },
  'ktransformers-graph': {
    name: 'ktransformers-graph',
    describe:
      'kTransformers v0.2 decode: the whole forward pass captured in one CUDA graph (Hugging Face DeepSeek-V3 modules with Marlin linears), the CPU experts entered through cudaLaunchHostFunc nodes; the GPU replays ~100 small nodes per layer back to back',
    // The per-node cost is GPU time inside the replayed graph (hostThread false: the host issues
    // one replay per token): A. Gray, "Getting Started with CUDA Graphs" (NVIDIA developer blog,
    // 2019) measures 3.4 us per short kernel replayed from a graph (2.9 us of it the kernel) against
    // 3.8 us per stream launch. The count is read at kvcache-ai/ktransformers@7527619f532f3f50ce2ab7fd2ab91995c21e9ad6 (v0.2.0)
    // for one MoE decoder layer in decode: 2 x 8 for the Hugging Face DeepseekV3RMSNorm (to fp32,
    // pow, mean, add, rsqrt, mul, to bf16, weight mul) around attention; KDeepseekV2Attention.forward_chunck
    // ~50 (q_a / q_b / kv_a / o Marlin linears, the two inner RMSNorms (16), YaRN rotary and
    // apply_rotary_pos_emb (~17), the static-cache update (2), the absorbed MLA matmuls, mask, softmax,
    // einsum, casts and copies); MoEGate.forward ~19 (fp32 casts of input and weight, linear,
    // sigmoid, bias, grouped top-k, scatter, masked_fill, top-k, gather, normalisation);
    // KDeepseekV3MoE ~12 (3 D2H copies and a host node for submit_for_one_decode, the shared expert's
    // 5 Marlin/activation kernels, a host node for sync_for_one_decode, the H2D copy, the add); 2
    // residual adds: about 100.
    perKernelSec: 3.4e-6,
    kernelsPerLayer: 100,
    kernelsPerExpert: 0,
    syncsPerExpert: 0,
    syncSec: 20e-6,
    perStepSec: 0.5e-3,
    sources: [
      'A. Gray, "Getting Started with CUDA Graphs", NVIDIA developer blog (2019): 3.4 us per short kernel launched from a graph against 3.8 us from a stream (the figures as recalled, the page not re-read this session: to be checked)',
      'kvcache-ai/ktransformers@7527619f532f3f50ce2ab7fd2ab91995c21e9ad6 (v0.2.0): ktransformers/util/utils.py (prefill_and_generate: CUDAGraphRunner.capture of the whole model for decode), ktransformers/operators/attention.py (KDeepseekV2Attention.forward_chunck), ktransformers/models/modeling_deepseek_v3.py (DeepseekV3RMSNorm, MoEGate.forward), ktransformers/operators/experts.py (KDeepseekV3MoE.forward: submit_for_one_decode, shared_experts, sync_for_one_decode)',
    ],
    fitted: true,
  },
  'llama-cpp-ggml': {
    name: 'llama-cpp-ggml',
    describe: 'llama.cpp ggml graph executed by the CUDA backend (C++, no Python), fused dequant-matvec kernels',
    perKernelSec: 4e-6,
    kernelsPerLayer: 14,
    kernelsPerExpert: 3,
    syncsPerExpert: 0,
    syncSec: 20e-6,
    perStepSec: 0.5e-3,
    // ggml-cuda's decode mat-vecs (mmvq on quantised blocks, dequantised in registers; cuBLAS /
    // mmv for F16) measured end to end by llama-bench tg128 on llama 7B (t/s x model bytes / the
    // GPU's datasheet bandwidth), January 2024 builds: 4-bit 0.627 (P40, Q4_0 3.56 GiB, 56.79 t/s),
    // 0.604 (P40, Q4_K_S, 54.23 t/s, at the 3.59 GiB llama-bench gives llama 7B Q4_K_S; that table shows t/s only), 0.483 (RTX 3090 Ti, Q4_0, 127.43 t/s): mean 0.57;
    // F16 0.816 (RTX 4090, 12.55 GiB, 61.03 t/s; Q8_0 6.67 GiB at 98.13 t/s is 0.697). End to end,
    // so the small per-token costs charged apart (launches, the per-step cost) are in it too.
    hbmEfficiency: { quantized: 0.57, float: 0.82 },
    sources: [
      'ggml-org/llama.cpp@145b6280d6aa1890e22457143dad0badb3fd6820:common/arg.cpp (-ngl, --n-cpu-moe / --cpu-moe placement options)',
      'ggml-org/llama.cpp PR #4766 "llama : ggml-backend integration" (merged 2024-01): llama-bench on an RTX 4090 (ggerganov: llama 7B F16 12.55 GiB tg128 61.03 t/s, Q8_0 6.67 GiB 98.13 t/s) and a P40 (JohannesGaessler: llama 7B Q4_0 tg128 56.79 t/s, Q4_K_S 54.23 t/s on master)',
      'ggml-org/llama.cpp PR #4812 "llama-bench : add no-kv-offload parameter" (slaren, 2024-01-07): RTX 3090 Ti, llama 7B Q4_0 3.56 GiB tg128 127.43 t/s',
    ],
    fitted: true,
  },
  'moe-infinity-dispatcher': {
    name: 'moe-infinity-dispatcher',
    describe:
      "MoE-Infinity's expert dispatcher (releases since Feb 2025): Python routes each MoE layer, then a C++ fetch thread and exec threads run each routed expert in libtorch, each step waited for; Python merges the outputs with boolean-mask indexing",
    // The host cost of one op issued from Python is eager PyTorch's (the same dispatch); the C++
    // side's ops are counted at the same cost (an upper bound: libtorch skips the Python layer).
    perKernelSec: 10e-6,
    // Per layer: HF attention with its norms and residuals (~20 ops, as eager-pytorch) plus the
    // Python router of the MoE block: gate, softmax, topk, renormalise, to, one_hot, weights x mask,
    // permute, sum, permute, one logical_or per top-k slot, zeros for the output (~20 ops).
    kernelsPerLayer: 40,
    // Per routed expert: C++ fetch thread router_mask.index(...).to(kBool) and
    // hidden_states.index(mask) (3 ops); exec thread forward w1, w3, act, mul, w2 (5); Python, per
    // result: router_mask[:, idx].bool(), routing_weights_mask[mask, idx], mul, and
    // final[mask, :] += (get, add, put) (about 8).
    kernelsPerExpert: 16,
    // Waits per routed expert: the boolean index of its input (nonzero, a host sync), the exec
    // thread's cudaStreamSynchronize before and stream.synchronize() after the forward, and three
    // boolean-mask indexings in the Python merge (each a nonzero that syncs).
    syncsPerExpert: 6,
    syncSec: 20e-6,
    perStepSec: 2e-3,
    sources: [
      'EfficientMoE/MoE-Infinity@d6178017933c3d39f82be99f702d8a3e4ce98f8f:core/parallel/expert_dispatcher.cpp (GPUFetchFunc: hidden_states_.index({token_indices}); GPUExecFunc: cudaStreamSynchronize(stream), expert forward, stream.synchronize(); OutputFunc via std::async per expert)',
      'EfficientMoE/MoE-Infinity@d6178017933c3d39f82be99f702d8a3e4ce98f8f:moe_infinity/distributed/expert_executor.py (dispatch_local: expert_count ... .cpu().numpy() per layer, enqueue_expert per routed expert, wait_expert)',
      'EfficientMoE/MoE-Infinity@d6178017933c3d39f82be99f702d8a3e4ce98f8f:moe_infinity/models/deepseek.py, mixtral.py (the Python router and the per-result boolean-mask merge)',
      PYTORCH_BLOG_CUDA_GRAPHS,
    ],
    fitted: true,
  },
  'deepspeed-zero': {
    name: 'deepspeed-zero',
    describe:
      'DeepSpeed ZeRO-3 inference: eager PyTorch plus four hooks on every module (pre/post forward, the forward-time registrations of the pre/post backward functions) that fetch and release its parameters, one stream synchronize per fetch',
    perKernelSec: 10e-6,
    // Counted at microsoft/DeepSpeed@b344c04df0fdf058617004924a7aaa15055dccce (v0.16.2) for a
    // Hugging Face Mixtral decoder layer in decode, an "op" being one PyTorch/CUDA call from Python
    // at perKernelSec. Every module gets four hooks (_register_hooks_recursively): the forward
    // pre-hook (pre_sub_module_forward_function -> fetch_sub_module), the forward hook
    // (post_sub_module_forward_function -> release_sub_module), and two that register the backward
    // functions while in forward: PostBackwardFunctionModule.apply on the inputs and
    // PreBackwardFunctionForModule.apply on the outputs, each an autograd Function call and a
    // detach: 4 ops per module called. A module with partitioned parameters adds, per parameter, the
    // .to(device, non_blocking=True) of NoGatherCoalescedHandle (world size 1: no all-gather) and its
    // release (param.partition(): param.data = an empty tensor), and per fetch an Event created and
    // recorded and a current_stream().wait_stream (3 ops) and the handle's wait, a stream
    // synchronize (partition_parameters.py, partitioned_param_coordinator.py fetch_sub_module).
    // Parameters under stage3_param_persistence_threshold (1e5 elements: the norms, Mixtral's
    // 4096 x 8 router) stay on the GPU and are not fetched.
    // Per layer: the model's own ~20 ops (as eager-pytorch) + 11 hooked modules outside the experts
    // (decoder layer, 2 norms, attention, q/k/v/o, rotary, MoE block, router) x 4 = 44 + q/k/v/o
    // fetched (4 x (2 + 3) = 20) = 84 ops, and the 4 fetch waits counted as 2 ops each (syncSec =
    // 20 us; the runtime has no per-layer sync count): 92.
    kernelsPerLayer: 92,
    // Per expert called: the model's 9 ops (as eager-pytorch) + 5 hooked modules (expert MLP,
    // w1/w2/w3, act_fn) x 4 = 20 + w1/w2/w3 fetched (3 x (2 + 3) = 15): 44.
    kernelsPerExpert: 44,
    // The model's .tolist() and the three fetch waits (w1, w2, w3).
    syncsPerExpert: 4,
    syncSec: 20e-6,
    perStepSec: 2e-3,
    sources: [
      PYTORCH_BLOG_CUDA_GRAPHS,
      'microsoft/DeepSpeed@86d3e310d441fa88ad9548c549d827e0dffb8441:deepspeed/runtime/zero/parameter_offload.py (forward pre/post hooks per module fetch and release partitioned parameters)',
      'hook and op counts read at microsoft/DeepSpeed@b344c04df0fdf058617004924a7aaa15055dccce (v0.16.2): deepspeed/runtime/zero/parameter_offload.py (_register_hooks_recursively: four hooks per module), partitioned_param_coordinator.py (fetch_sub_module: Event record, wait, wait_stream; release_sub_module), partition_parameters.py (NoGatherCoalescedHandle: .to() per parameter, stream synchronize), config.py (param_persistence_threshold 1e5)',
    ],
    fitted: true,
  },
  'eager-pytorch-hqq-triton': {
    name: 'eager-pytorch-hqq-triton',
    describe:
      'mixtral-offloading: eager PyTorch running Hugging Face Mixtral with every linear (attention and experts) an HQQLinearTritonSavable whose forward launches a Triton dequant-matmul from Python',
    // Fitted on a declared subset (issue 12, part 5): the 12 Table-2 points of arXiv 2312.17238
    // with 3-bit experts (4 GPUs x full / LRU / on-demand), grid 20-120 us, median |log(sim/pub)|
    // 0.128 at 80 us (0.44 at the former 10 us); refitted in session 23 with Table 2's points run
    // without the write-back (MO_T2_CODE, src/reproduce/systems.ts): still 80 us on the grid 1-320,
    // 0.122; reported on the 12 2-bit points and the MoE-Infinity
    // README point, which it never saw. It stands for the host seconds per counted op including the
    // Python the counts leave out (module calls, HF generate's per-step work, the HQQ meta dict
    // handling in forward_triton, load_experts' generator), on the published setups' host CPUs.
    // One constant, not scaled by the host CPU: a cost inversely proportional to the host preset's
    // clock, refitted on the same subset, worsens the held-out points (README, round s26-mo).
    perKernelSec: 80e-6,
    // HF Mixtral decoder layer at batch 1, ATen ops outside the quantised linears: two RMSNorms
    // (to fp32, pow, mean, add, rsqrt, mul, mul weight, to: 16), q/k/v views and transposes (6),
    // rotary embedding (cos/sin slices and casts, apply_rotary_pos_emb with rotate_half on q and k: 18),
    // KV-cache cat (2), repeat_kv (4), eager attention (matmul, div, mask add, softmax, cast, matmul,
    // transpose, contiguous, reshape: 9), residual adds (2), router (gate linear, softmax, topk, sum,
    // div, cast, zeros, one_hot, permute, flatten, unique: 11) = 68; plus the four attention HQQ
    // linears' scale and zero dequantisation (Quantizer.dequantize: cast, subtract, multiply) and
    // output allocation: 4 x 4 = 16.
    kernelsPerLayer: 84,
    // SparseMoeWrapper.forward per expert: expert_mask[i], torch.where, index the hidden states,
    // act_fn, multiply (w1 * w3), index and multiply by the routing weight, cast, index_add_ (9);
    // the experts' own scale/zero dequantisation is the weight format's (dequantKernelsPerExpert).
    kernelsPerExpert: 9,
    // torch.where(expert_mask[i]) (nonzero: waits for the GPU), top_x.tolist(), idx.tolist().
    syncsPerExpert: 3,
    syncSec: 20e-6,
    perStepSec: 2e-3,
    triton: { launchesPerLayer: 4, launchesPerExpert: 3, launchSec: 62e-6 },
    sources: [
      PYTORCH_BLOG_CUDA_GRAPHS,
      'dvmazur/mixtral-offloading@0d3c605a2282b77225ba2aa14cf71927c00a1701:src/custom_layers.py (HQQLinearTritonSavable.forward = forward_triton: two Quantizer.dequantize of the 8-bit scale and zero, then triton_matmul{2,3,4}_transpose; SparseMoeWrapper.forward: torch.where, two .tolist() per expert); src/build_model.py (replace_attn_layers: q/k/v/o_proj are HQQLinearTritonSavable); src/triton_kernels.py (matmul2_kernel_transpose: 20 runtime arguments, @triton.autotune)',
      'perKernelSec fitted on a declared subset: `moesim reproduce --fit \'mo-t2-3bit-*\'` (the 12 mixtral-offloading points of arXiv 2312.17238 Table 2 with 3-bit experts; grid 1-320 us, 80 us, median |log| 0.122 with Table 2 run without the write-back, MO_T2_CODE); held out: the 12 2-bit points (median |error| 12%) and the MoE-Infinity README point (test/reproduce/mo-fit.test.ts)',
      'Triton launch from Python: triton-lang/triton PR #3503 (liboyue, 2024): with the Triton 2 shipped with PyTorch 2.2, JITFunction.run costs about 40 us for a kernel with a few arguments and 62 us with many; PR #3638 measured 108 us before its fix on its benchmark; 62 us taken (the HQQ matmul kernels take 20 arguments)',
    ],
    fitted: true,
  },
} satisfies Record<string, RuntimeOverheads>;
export type RuntimeName = keyof typeof runtimes;

const HARRIS_BLOG =
  'M. Harris, "How to Optimize Data Transfers in CUDA C/C++" (NVIDIA developer blog, 2012): pageable host memory is staged through a pinned buffer by the driver, about half the pinned rate in its bandwidthTest run';
/**
 * Newer measurements of pageable uploads, consistent with 0.45 x 0.8 = 0.36 of the PCI-SIG rate on
 * PCIe 4.0 x16 (11.3 GB/s of 31.5): an Nsight Systems trace in microsoft/onnxruntime#20947 (2024-06)
 * lists cudaMemcpyAsync Pageable -> Device of 1.573 MB in 139.4 us and of 0.786 MB in 68.9-70.4 us:
 * 11.3 GB/s, and a per-call intercept near zero at these sizes (the staging is pipelined with the
 * DMA). kekzl/imp#1409 (2026, RTX 5090, WSL2) measured a pageable mmap source at 9.6 GB/s against
 * 32.4 GB/s pinned (0.30), with 76 us of host time inside two calls for 864 KiB: the calling thread
 * is busy for the whole staged copy. The 30 us per pageable transfer stays an estimate.
 */
const PAGEABLE_MEASURED =
  'microsoft/onnxruntime#20947 (nsys: Pageable -> Device cudaMemcpyAsync, 1.573 MB in 139.4 us, 0.786 MB in 68.9-70.4 us: 11.3 GB/s); kekzl/imp#1409 (RTX 5090: pageable 9.6 GB/s vs pinned 32.4 GB/s, the host inside the call for the staged copy)';

/**
 * Kernel reads of mapped (zero-copy) pinned host memory, as a fraction of the link's datasheet rate.
 * S. W. Min et al., "EMOGI: Efficient Memory-access for Out-of-memory Graph-traversal in GPUs"
 * (PVLDB 14(2), 2020; abstract read at impact.crhc.illinois.edu paper 343): with the GPU's external
 * requests coalesced and aligned to the 128-byte cache line, direct zero-copy access "nearly fully
 * utilize[s] the PCIe bandwidth" (the paper's baseline being cudaMemcpy's); misaligned or 32-byte
 * requests multiply the PCIe transactions and fall far short (the per-size figures of its
 * microbenchmark are recalled, not re-read, and are not used). vLLM's decode MoE kernel reads
 * its weights in such lines: fused_moe get_default_config takes BLOCK_SIZE_K = 64 for M <= E (every
 * batch-1 decode step), 64 fp16 = 128 contiguous bytes of each weight row per load (vLLM-lineage
 * fused_moe.py excerpts; not read at a vLLM commit). So zero-copy is charged the DMA figure of
 * pinned copies (0.8), not a lower one; a kernel whose requests were 32-byte would need its own.
 */
export const ZERO_COPY_EFFICIENCY = 0.8;
const ZERO_COPY_SOURCE =
  'S. W. Min et al., EMOGI (PVLDB 14(2), 2020), abstract: zero-copy reads with coalesced, 128-byte-aligned requests nearly fully utilise the PCIe bandwidth; vLLM fused_moe get_default_config: BLOCK_SIZE_K 64 for M <= E (128-byte fp16 rows), seen in code excerpts';

/** Achieved fraction of the link's rate and cost per copy call, per host memory kind (each preset below differs only in the kind it uses and its sources). */
const LINK_EFFICIENCY = { pinned: 0.8, pageable: 0.45, mapped: ZERO_COPY_EFFICIENCY };
const LINK_PER_TRANSFER_SEC = { pinned: 10e-6, pageable: 30e-6, mapped: 0 };

export const linkPresets = {
  pinned: {
    memory: 'pinned',
    efficiency: LINK_EFFICIENCY,
    perTransferSec: LINK_PER_TRANSFER_SEC,
    sources: [
      HARRIS_BLOG,
      'issue 12: measured offloading systems reach 59-92% of the PCI-SIG rate with pinned memory; 0.8 is inside that range (a microbenchmark on the target machine should replace it)',
    ],
    fitted: true,
  },
  pageable: {
    memory: 'pageable',
    efficiency: LINK_EFFICIENCY,
    perTransferSec: LINK_PER_TRANSFER_SEC,
    sources: [HARRIS_BLOG, PAGEABLE_MEASURED],
    fitted: true,
  },
  mapped: {
    memory: 'mapped',
    efficiency: LINK_EFFICIENCY,
    // No copy call: the kernel's own loads are the transfer (the link's latency stays, once per read).
    perTransferSec: LINK_PER_TRANSFER_SEC,
    sources: [ZERO_COPY_SOURCE, HARRIS_BLOG],
    fitted: true,
  },
} satisfies Record<HostMemory, LinkSemantics>;

export const weightFormats = {
  'hqq-2bit': {
    name: 'hqq-2bit',
    dtype: 'int2',
    // HQQ groups of 16 with quant_scale/quant_zero: scale and zero are themselves 8-bit (and the
    // scales' own fp16 scale and zero per 128), 3.016 bits/param in all (src/model/formats.ts).
    groupSize: 16,
    storage: 'hqq-2bit-g16',
    dequantBytesPerParam: 4,
    dequantKernelsPerExpert: 12,
    sources: [
      'HQQ (Badri & Shaji, 2023, mobiusml/hqq): HQQLinear dequantizes the packed weight to the compute dtype then calls a dense matmul (write + read of a bf16 copy: 4 bytes/param of HBM traffic; unpack, -zero, *scale, reshape per matrix)',
      'dvmazur/mixtral-offloading demo notebook (notebooks/demo.ipynb, build_model call): ffn_config = BaseQuantizeConfig(nbits=2, group_size=16, quant_zero=True, quant_scale=True); attention nbits=4, group_size=64',
    ],
    fitted: true,
  },
  'hqq-3bit': {
    name: 'hqq-3bit',
    dtype: 'int3',
    groupSize: 64,
    storage: 'hqq-3bit-g64',
    dequantBytesPerParam: 4,
    dequantKernelsPerExpert: 12,
    sources: ['HQQ: as hqq-2bit; 3-bit is stored in 32-bit words of 10 values (3.2 bits) with 8-bit scales and zeros per 64 weights: 3.454 bits/param (src/model/formats.ts hqq-3bit-g64)'],
    fitted: true,
  },
  'hqq-4bit': {
    name: 'hqq-4bit',
    dtype: 'int4',
    groupSize: 64,
    storage: 'hqq-4bit-g64',
    dequantBytesPerParam: 4,
    dequantKernelsPerExpert: 12,
    sources: ['HQQ: as hqq-2bit'],
    fitted: true,
  },
  'gptq-4bit': {
    name: 'gptq-4bit',
    dtype: 'int4',
    groupSize: 128,
    storage: 'gptq-4bit-g128',
    dequantBytesPerParam: 0,
    dequantKernelsPerExpert: 0,
    sources: ['GPTQ with the ExLlama/Marlin kernels: dequantisation fused into the matmul (no bf16 copy)'],
    fitted: false,
  },
  'gguf-q4_k': {
    name: 'gguf-q4_k',
    dtype: 'int4',
    groupSize: 256,
    storage: 'gguf-q4_k',
    dequantBytesPerParam: 0,
    dequantKernelsPerExpert: 0,
    sources: ['llama.cpp ggml-cuda mmvq: quantised mat-vec kernels dequantise in registers (no bf16 copy); Q4_K is 4.5 bits/weight (block_q4_K, src/model/formats.ts)'],
    fitted: false,
  },
  'gguf-q4_k_m': {
    name: 'gguf-q4_k_m',
    dtype: 'int4',
    groupSize: 256,
    storage: 'gguf-q4_k_m',
    dequantBytesPerParam: 0,
    dequantKernelsPerExpert: 0,
    sources: ['as gguf-q4_k; the Q4_K_M file type mixes Q4_K, Q5_K, Q6_K and Q8_0 tensors by llama.cpp\'s rules (src/model/formats.ts gguf-q4_k_m)'],
    fitted: false,
  },
  'gguf-q4_0': {
    name: 'gguf-q4_0',
    dtype: 'int4',
    groupSize: 32,
    storage: 'gguf-q4_0',
    dequantBytesPerParam: 0,
    dequantKernelsPerExpert: 0,
    sources: ['as gguf-q4_k; Q4_0 is 18 bytes per 32 weights, 4.5 bits/weight (block_q4_0, src/model/formats.ts)'],
    fitted: false,
  },
  bf16: {
    name: 'bf16',
    dtype: 'bf16',
    groupSize: 128,
    dequantBytesPerParam: 0,
    dequantKernelsPerExpert: 0,
    sources: ['no quantisation'],
    fitted: false,
  },
  fp32: {
    name: 'fp32',
    dtype: 'fp32',
    groupSize: 128,
    dequantBytesPerParam: 0,
    dequantKernelsPerExpert: 0,
    sources: ['no quantisation, fp32: what transformers\' from_pretrained loads when no torch_dtype is passed (its releases of 2024, docstring: "If not specified - the model will get loaded in torch.float (fp32)")'],
    fitted: false,
  },
} satisfies Record<string, WeightFormat>;
export type WeightFormatName = keyof typeof weightFormats;

const STREAM_NOTE =
  'J. D. McCalpin, STREAM benchmark (cs.virginia.edu/stream): sustained Triad bandwidth on x86 servers and desktops is typically 70-85% of the DIMMs\' theoretical peak';

/** The ggml-cpu source file read for llama.cpp's CPU kernels (the version the index stores; later than the points). */
export const GGML_CPU_COMMIT = '005913fdaccf4efd0ef8f3b4be43e9540e8b06c7';

/**
 * ggml's CPU threads over two sockets reading weights that sit in one NUMA node, as a fraction of
 * the rate of one socket's threads on that node's memory (ExecutionSemantics.cpuThreadsAcrossSocketsFraction).
 * Mechanism, from the code: without --numa llama.cpp neither pins its threads nor places the
 * weights (common/arg.cpp: --numa off unless given; ggml-org/llama.cpp@5bc7a7409fc39d2801b3eeddc9e22fdd4bda718d:src/llama.cpp
 * llama_numa_init calls the CPU backend's numa init only for a strategy other than DISABLED, so
 * ggml_is_numa() is false), its default thread count is the physical cores of every socket
 * (common/common.cpp cpu_get_num_math, read in excerpts of stored versions: physical cores unless
 * the CPU is hybrid), and a decode mat-vec is split evenly over the threads whenever it has fewer
 * than 4 chunks of 64 rows per thread (ggml-org/llama.cpp@1b5f9501154fe4dbb2f8528131b1dc35f55653a2:ggml/src/ggml-cpu/ggml-cpu.c
 * ggml_compute_forward_mul_mat: `if (nchunk0 * nchunk1 < nth * 4 || ggml_is_numa())` re-chunks by
 * thread, the rule of PR #6915 (2024), and the same in ggml_compute_forward_mul_mat_id; a later
 * commit than the points', the rule older than them: at 64 threads DeepSeek-V3's experts (2048 and
 * 7168 rows: 32 and 112 chunks, under 256) and most of its attention are split by thread), so an op
 * ends at its barrier when the remote socket's threads have read their half over the socket link.
 * Measured (one program, build, model and host; only the placement differs): mozilla-ai/llamafile
 * issue #765 (SlavikCA, 2025-06-02; llamafile is a fork of llama.cpp and its ggml): 2x Xeon
 * Gold 5218, 6 DDR4 channels per socket, localscore --cpu at 32 threads "~4t/s of TG" unpinned
 * against "~8t/s" with `numactl --cpunodebind=1 --membind=1`: 0.5. A cross-build comparison on
 * another host agrees in direction, not in size (ggml-org/llama.cpp PR #1556, rankaiyx, 2x E5-2698B
 * v3: llama.cpp of May 2023 at -t 32, a 46.7 GB 65B q5_1 in node 0, 1296 ms a token, 36 GB/s;
 * ggml-org/llama.cpp PR #5377, the same host in Feb 2024, `numactl -N0 -m0 -t 16` on llama-2-13b
 * Q4_K_M, 7.87 GB at 168.6 ms, 46.7 GB/s: 0.77); not averaged in (different builds and models).
 */
export const GGML_THREADS_ACROSS_SOCKETS = 0.5;

/** The ggml backend scheduler source read for llama.cpp's CPU/GPU split copies. */
export const GGML_BACKEND_COMMIT = '5bc7a7409fc39d2801b3eeddc9e22fdd4bda718d';
/** The llama.cpp graph source read for the MoE FFN's nodes (build_moe_ffn). */
export const LLAMA_GRAPH_COMMIT = '434f71a5b4d1ff9c9c9b59e08326f0fe3d15193a';

/**
 * The split copies around a layer's CPU experts when llama.cpp keeps a layer's experts in host
 * memory and the rest of the layer on the GPU (--n-cpu-moe, -ot exps=CPU). From the code:
 * build_moe_ffn (ggml-org/llama.cpp@${LLAMA_GRAPH_COMMIT}:src/llama-graph.cpp) computes the router
 * (logits, softmax, top-k selected_experts, get_rows weights, their normalisation) with GPU weights,
 * then ggml_mul_mat_id for up, gate and down with the expert tensors, the SwiGLU between them, then
 * ggml_mul(experts, weights), n_expert_used - 1 ggml_add of views, and the residual add. The
 * scheduler (ggml-org/llama.cpp@${GGML_BACKEND_COMMIT}:ggml/src/ggml-backend.cpp
 * ggml_backend_sched_split_graph) assigns an op to the backend of its weights (pass 1), then
 * expands the GPU backends down and up over unassigned ops, stopping at CPU ops ("cpu will never be
 * used unless weights are on cpu, or there are no gpu ops between cpu ops", pass 2), the rest last:
 * so the CPU split is up, gate, SwiGLU and down; the weights multiply and the adds, between down and
 * the next GPU op, expand to the GPU. Pass 5 makes every source on another backend a split input:
 * the CPU split's are the normed hidden state (f32, a view of the GPU's ffn_norm output) and
 * selected_experts (int32, n_expert_used per token); the next GPU split's is the down output, one
 * f32 row of n_embd per routed slot. ggml_backend_sched_compute_splits copies each input in turn: a
 * split backend without cpy_tensor_async (the CPU's has none; CUDA's takes CUDA-to-CUDA copies
 * only, seen in ggml-cuda.cu excerpts of stored versions) synchronises the input's backend and
 * calls ggml_backend_tensor_copy, a blocking tensor get or set: three copies per layer, each paying
 * the link's small-copy latency.
 */
export const GGML_SCHED_CPU_EXPERTS_HANDOFF: CpuSplitHandoff = {
  toHost: [
    { name: 'the normed hidden state (ffn_norm output, f32)', perHidden: 4 },
    { name: 'selected_experts (int32 expert ids)', perSlot: 4 },
  ],
  toDevice: [{ name: 'ffn_moe_down (f32, one row per routed slot)', perSlotHidden: 4 }],
  sources: [
    `ggml-org/llama.cpp@${GGML_BACKEND_COMMIT}:ggml/src/ggml-backend.cpp (ggml_backend_sched_split_graph passes 1, 2 and 5; ggml_backend_sched_compute_splits: per split input, ggml_backend_synchronize(input_backend) then ggml_backend_tensor_copy when the split backend has no cpy_tensor_async)`,
    `ggml-org/llama.cpp@${LLAMA_GRAPH_COMMIT}:src/llama-graph.cpp (llm_graph_context::build_moe_ffn: top-k selected_experts and weights on the router's backend, build_lora_mm_id for up, gate and down, ggml_mul(experts, weights), the views and n_expert_used - 1 ggml_add)`,
  ],
};

/**
 * llama.cpp CPU decode on single-socket desktops, published outside the reproduce suite: ggml-org/llama.cpp
 * issue #4716 (Dec 2023 - Jan 2024). Bytes per token are Mixtral-8x7B's active parameters (12.75 G:
 * attention and router of 32 layers, 2 of 8 experts and the output layer, model/derived.ts
 * activeParamsPerToken) at the format's bytes per
 * weight as moesim sizes it (Q8_0: 34 bytes per 32 weights; Q4_K_M: int4 with a 16-bit scale and
 * zero per 37 weights, the suite's sizing); the DIMM peak is channels x MT/s x 8 bytes.
 */
export const GGML_CPU_DESKTOP_DECODE = [
  { source: 'ggml-org/llama.cpp issue #4716 (nathanodle, 2023-12-31: Ryzen 9 5900X, 128 GB DDR4-3600 dual channel, Mixtral Q8_0, 12 threads)', tokPerSec: 3.58, gbPerToken: 13.545, peakGBps: 57.6 },
  { source: 'ggml-org/llama.cpp issue #4716 (nathanodle, 2023-12-31: Ryzen 9 7950X, 128 GB DDR5-3600 dual channel, Mixtral Q8_0, 16 threads)', tokPerSec: 3.37, gbPerToken: 13.545, peakGBps: 57.6 },
  { source: 'ggml-org/llama.cpp issue #4716 (jrichey98, 2024-01-03: Ryzen 9 5950X, 2 x DDR4-2800, Mixtral Q4_K_M, -ngl 0)', tokPerSec: 4.55, gbPerToken: 7.753, peakGBps: 44.8 },
] as const;

/** The mean achieved DRAM fraction of GGML_CPU_DESKTOP_DECODE, to 2 decimals. */
export function ggmlCpuDesktopFraction(): number {
  const f = GGML_CPU_DESKTOP_DECODE.map((d) => (d.tokPerSec * d.gbPerToken) / d.peakGBps);
  return Math.round((f.reduce((a, b) => a + b, 0) / f.length) * 100) / 100;
}

/**
 * Fiddler's CPU expert as its own cost model prices it: latency_cpu = 7 (read as ms) per token
 * (efeslab/fiddler@f2c111c2cd17c8fe4c9a140e371e193879fef2ab:src/fiddler/mixtral.py, __init__ and
 * mixtral_forward: tokens x latency_cpu) on the paper's Environment 1 host, as a fraction of that
 * host's peak: one Mixtral token through one expert (2 x 3 x 4096 x 14336 FLOP) in 7 ms against
 * 2 x 12 cores x 2.6 GHz x 64 FLOP/cycle (Intel ARK, Xeon Gold 6126; the xeon-gold-6126-2s preset).
 */
export const FIDDLER_CPU_FLOPS_FRACTION = Math.round(((2 * 3 * 4096 * 14336) / 7e-3 / (2 * 12 * 2.6e9 * 64)) * 1e4) / 1e4;

export const cpuPresets = {
  'pytorch-eager-cpu': {
    bandwidthEfficiency: 0.7,
    flopsEfficiency: 0.5,
    describe: 'an expert FFN run by eager PyTorch on the CPU (bf16 GEMV through oneDNN/ATen), all cores',
    sources: [
      STREAM_NOTE,
      'efeslab/fiddler@00e70f091f54e425b6d7506e64cebfc7b84add2f:src/fiddler/mixtral.py (run_expert_at_cpu calls the Hugging Face expert module on CPU tensors; torch.set_num_threads(16))',
    ],
    fitted: true,
  },
  'pytorch-bf16-cpu': {
    // Fiddler's own estimate of its CPU expert: latency_cpu = 7 per token per expert against
    // latency_gpu = 70 for loading one (efeslab/fiddler@f2c111c2cd17c8fe4c9a140e371e193879fef2ab:src/fiddler/mixtral.py,
    // __init__, "TODO: find this value based on device config"; units not stated, read as ms, which
    // makes latency_gpu = 70 ms one 352 MB bf16 expert loaded from pageable memory at ~5 GB/s, the
    // order of a PCIe 3.0 pageable copy). 7 ms for one token reads one bf16 Mixtral expert
    // (3 x 4096 x 14336 x 2 B = 352 MB) at 50 GB/s: 0.2 of the 255.9 GB/s of 2x Xeon Gold 6126, the
    // Skylake host of the paper's Environment 1. Eager PyTorch bf16 GEMV without AVX512_BF16 (Skylake
    // has none: bf16 is widened to fp32) with 16 threads over two sockets' memory.
    bandwidthEfficiency: 0.2,
    // The same 7 is a cost per token: Fiddler charges a CPU expert tokens x latency_cpu
    // (mixtral_forward: cost_per_expert[e, 0] = top_2.shape[0] * self.latency_cpu), linear in the
    // tokens, i.e. compute-bound: 7 ms for each token's 2 x 3 x 4096 x 14336 = 352 MFLOP on the
    // 4.0 TFLOP/s (AVX-512 peak) of 2x Xeon Gold 6126, 50 GFLOP/s, 0.0126 of peak (FIDDLER_CPU_FLOPS_FRACTION).
    // Checked, not fitted, against the v1 README bars (asset/results.png @227715b, suite points
    // fiddler-v1-*): Environment 1's prefill of 16 tokens, ~770 CPU token-experts, takes 4.5 s
    // (5.8 ms each), as long per token as a decode step's CPU expert (~6 ms).
    flopsEfficiency: FIDDLER_CPU_FLOPS_FRACTION,
    describe: 'an expert FFN in bf16 called by eager PyTorch on CPU tensors (Fiddler: the Hugging Face expert module, torch.set_num_threads(16)), no AVX512_BF16 kernel',
    sources: [
      'efeslab/fiddler@f2c111c2cd17c8fe4c9a140e371e193879fef2ab:src/fiddler/mixtral.py (latency_cpu = 7, latency_gpu = 70; run_expert_at_cpu; torch.set_num_threads(16))',
      'efeslab/fiddler README (main, 2024-02): "Fiddler is currently relying on PyTorch implementation for expert processing at the CPU, and it is slow if your CPU does not support AVX512"; roadmap "Support for AVX512_BF16"',
    ],
    fitted: true,
  },
  'llamafile-avx512': {
    bandwidthEfficiency: 0.75,
    flopsEfficiency: 0.7,
    // GGUF k-quant mat-vecs (kTransformers v0.2's MOE::forward_one calls llamafile_sgemm on the GGUF
    // blocks against a Q8_K copy of the input, each NUMA node reading its own copy): a host's
    // measured quantGemvBandwidthFraction caps the 0.75 (2x Xeon Gold 6454S: 0.57, measured with
    // this kernel).
    quantGemv: true,
    describe: 'kTransformers\' CPU MoE kernel (llamafile sgemm on the GGUF blocks, a copy of the experts per NUMA node)',
    sources: [
      STREAM_NOTE,
      'kvcache-ai/ktransformers@8db6a4d402ba935e9bd7f812af3fb68b2a2734b3:ktransformers/operators/experts.py (KExpertsCPU: cpuinfer backend with llamafile/AMX kernels)',
      'kvcache-ai/ktransformers@30c96462eaeacc48f61c9c04249fd2364a096c59:ktransformers/ktransformers_ext/operators/llamafile/moe.cpp (MOE::forward_one: llamafile_sgemm(stride, 1, ...) per stripe with the weight\'s ggml type and its vec_dot_type)',
    ],
    fitted: true,
  },
  'fastmoe-cpu-attention': {
    // MoE-Lightning's CPU attention (fastmoe/csrc/flashattention.cpp, an MKL kernel over the host KV
    // cache) as its own performance model prices it: the HRM takes the host's DRAM bandwidth as the
    // user measures it (--cpu-mem-bdw, measured with likwid-bench load_mem / store_mem:
    // benchmarks/cpu_profile/mem_bdw.sh) and the CPU FLOP/s (cpu_flops) as achieved, no further
    // fraction (fastmoe/backend/optimizer.py: cpu_comm = attention_bytes / c_bdw). So the host's
    // figures in hardware.cpu are the measured ones, at 1.
    bandwidthEfficiency: 1,
    flopsEfficiency: 1,
    describe: 'MoE-Lightning\'s CPU attention kernel over the host-resident KV cache, at the host\'s measured bandwidth and FLOP/s (give them in hardware.cpu)',
    sources: [
      'caoshiyi/artifacts@6bc860091230db3b56944a614bb9493f22b801a4:fastmoe/backend/optimizer.py (solve_lp: cpu_comm == attention_bytes(...) / c_bdw; cpu_comp at cpu_flops), benchmarks/cpu_profile/mem_bdw.sh (likwid-bench -t load_mem / store_mem), fastmoe/csrc/flashattention.cpp',
    ],
    fitted: false,
  },
  'ggml-cpu': {
    // llama.cpp's own CPU path: ggml_compute_forward_mul_mat(_id) over the type traits' vec_dot
    // (Q4_K: ggml_vec_dot_q4_K_q8_K against the activation quantised to Q8_K by from_float; Q8_0:
    // ggml_vec_dot_q8_0_q8_0; F16: ggml_vec_dot_f16), each op ending in a ggml_barrier over all
    // threads. Achieved DRAM fraction: the mean of llama.cpp decode on single-socket desktops
    // published outside the reproduce suite (GGML_CPU_DESKTOP_DECODE: tok/s x bytes per token /
    // DIMM peak).
    bandwidthEfficiency: ggmlCpuDesktopFraction(),
    // Prefill only (decode is memory-bound); as the llamafile preset, not measured for ggml.
    flopsEfficiency: 0.7,
    // A host's measured k-quant fraction (quantGemvBandwidthFraction: 2x Xeon Gold 6454S 0.57, of
    // kTransformers' NUMA-local llamafile kernel) bounds ggml's from above on that host. An
    // assumption, not a measurement of ggml there (none is published outside the suite): the
    // tutorial that measured it says its kernels outrun llama.cpp's on that machine
    // (kvcache-ai/ktransformers@034a116365d48481d1d23de3e3982a64a8d0a341:doc/en/DeepseekR1_V3_tutorial.md,
    // "Some Explanations" 4, of its AMX kernel: "running several times faster than existing llama.cpp
    // implementations").
    quantGemv: true,
    describe: 'llama.cpp ggml-cpu kernels (k-quant vec_dot against a Q8_K copy of the activation, one barrier per graph node)',
    sources: [
      `ggml-org/llama.cpp@${GGML_CPU_COMMIT}:ggml/src/ggml-cpu/ggml-cpu.c (type_traits_cpu: GGML_TYPE_Q4_K vec_dot = ggml_vec_dot_q4_K_q8_K, vec_dot_type = GGML_TYPE_Q8_K; ggml_barrier: every thread's atomic_fetch_add on n_barrier, the last releases the rest) - read at a later commit than the points' (the stored version), the type traits and the barrier unchanged in kind`,
      ...GGML_CPU_DESKTOP_DECODE.map((d) => `${d.source}: ${d.tokPerSec} tok/s x ${d.gbPerToken} GB/token / ${d.peakGBps} GB/s = ${((d.tokPerSec * d.gbPerToken) / d.peakGBps).toFixed(3)}`),
    ],
    fitted: false,
  },
} satisfies Record<string, CpuSemantics>;
export type CpuPresetName = keyof typeof cpuPresets;

// ---------------------------------------------------------------------------------------------
// Applying semantics to the analytic costs.

/** Seconds of host work per tensor of an upload hook (ExecutionSemantics.hookPerTensor) at the runtime's op and sync costs; 0 without one. */
export function hookPerTensorSec(sem: ExecutionSemantics): number {
  const h = sem.hookPerTensor;
  return h ? h.ops * sem.runtime.perKernelSec + h.syncs * sem.runtime.syncSec : 0;
}

/** The runtime's decode kernels' achieved fraction of the GPU's HBM bandwidth, by the experts' weight format (1 when the runtime has no figure). */
export function gpuHbmEfficiency(sem: ExecutionSemantics): number {
  const e = sem.runtime.hbmEfficiency;
  if (!e) return 1;
  const dtype = sem.expertFormat?.dtype;
  return dtype === undefined || dtype === 'bf16' || dtype === 'fp16' || dtype === 'fp32' ? e.float : e.quantized;
}

/**
 * The CPU kernel's achieved fraction of the host's DRAM bandwidth: the CPU preset's, capped by the
 * host's measured figure for its kernel family (Cpu.quantGemvBandwidthFraction, for quantGemv kernels).
 */
export function cpuBandwidthEfficiency(hw: Hardware, sem: ExecutionSemantics): number {
  const measured = sem.cpu.quantGemv ? hw.cpu.quantGemvBandwidthFraction : undefined;
  return measured === undefined ? sem.cpu.bandwidthEfficiency : Math.min(sem.cpu.bandwidthEfficiency, measured);
}

/**
 * The share of the host's DRAM bandwidth a runtime whose weights sit in one NUMA node reaches: one
 * socket's (1 / sockets), times cpuThreadsAcrossSocketsFraction when its threads span the sockets;
 * 1 on one socket or without cpuWeightsOnOneNode.
 */
export function oneNodeShare(hw: Hardware, sem: ExecutionSemantics): number {
  const sockets = hw.cpu.sockets ?? 1;
  if (!sem.cpuWeightsOnOneNode || sockets <= 1) return 1;
  return (sem.cpuThreadsAcrossSocketsFraction ?? 1) / sockets;
}

/** The hardware as the runtime achieves it: the link at its efficiency and per-transfer cost, the CPU at its efficiency. */
export function effectiveHardware(hw: Hardware, sem: ExecutionSemantics): Hardware {
  const mem = sem.link.memory;
  const eff = sem.link.efficiency[mem];
  const d2h = hw.link.d2hBytesPerSec * eff;
  return {
    ...hw,
    name: hw.name,
    // With a host thread the launches are the host's time; the GPU's jobs are their kernels alone.
    gpu: { ...hw.gpu, hbmBytesPerSec: hw.gpu.hbmBytesPerSec * gpuHbmEfficiency(sem), launchOverheadSec: sem.hostThread ? 0 : sem.runtime.perKernelSec },
    link: {
      ...hw.link,
      h2dBytesPerSec: hw.link.h2dBytesPerSec * eff,
      d2hBytesPerSec: d2h,
      // Tensor-by-tensor uploads (tensorsPerExpertTransfer): each copy call pays the link latency,
      // the per-transfer cost and the hook's host cost. The write-back of an evicted expert is charged
      // per eviction (SemanticCostModel.evictWriteBackSec), not here.
      latencySec: (hw.link.latencySec + sem.link.perTransferSec[mem] + hookPerTensorSec(sem)) * (sem.tensorsPerExpertTransfer ?? 1),
      overlapsCompute: sem.expertCopies === 'copy-engine' ? hw.link.overlapsCompute : false,
    },
    cpu: {
      ...hw.cpu,
      dramBytesPerSec: (hw.cpu.dramBytesPerSec * cpuBandwidthEfficiency(hw, sem)) * oneNodeShare(hw, sem),
      flopsPerSec: hw.cpu.flopsPerSec * sem.cpu.flopsEfficiency,
    },
  };
}

/**
 * The roofline costs (RooflineCosts, behind the Costs seam of ./costs.ts) plus a runtime's execution semantics. Construct with `semanticCostModel`.
 * Seams: expertSec/expertSecAs (kernels, syncs, dequantisation), preExpertSec (per-layer kernels,
 * streamed dense weights), tailSec (per-step cost), and the hardware (achieved link and CPU).
 */
export class SemanticCostModel extends RooflineCosts {
  private readonly perExpertExtraSec: number;
  /** Per MoE layer ordinal: the runtime's costs beyond the roofline's for its transformer layers since the previous MoE layer, and its MoE block's. */
  private readonly layerExtraSec: Float64Array;
  /** The same for the dense layers after the last MoE layer (in tailSec; 0 on the host thread's path). */
  private readonly tailExtraSec: number;
  private readonly streamSec: Float64Array;
  /** Seconds of streaming the embeddings, trailing layers and LM head every pass (streamEmbeddingsAndHead). */
  private readonly tailStreamSec: number;
  /** Per MoE layer ordinal: 1 where the layer's non-expert work is CPU-resident (cpuResidentLayers). */
  private readonly cpuLayer: Uint8Array;
  private readonly cpuTail: boolean;
  private readonly cpuMinBatch: number;
  /**
   * A swap writes the evicted expert back next to the new one (mixtral-offloading: _swap's second
   * non_blocking copy, device to host, on the same stream): on one serial link the pair costs the
   * in-copy plus the out-copy. Charged by the simulator per fetch that evicts (StepCosts.evictWriteBackSec).
   */
  readonly evictWriteBackSec: number;
  /** The host thread's side (semantics.hostThread); undefined: launches inside the GPU times. */
  readonly host?: HostCosts;
  /** GPU-resident weights: the roofline's, less the non-expert weights of CPU-resident layers (cpuResidentLayers, cpuResidentTail). */
  override readonly residentWeightBytes: number;
  /** KV cache per token of context on the GPU: CPU-resident layers keep theirs in host memory (llama.cpp allocates a layer's KV on its device). */
  override readonly kvBytesPerToken: number;
  /** CGOPipe (semantics.cgoPipe): the last step shape's per-layer time, so a step's L layers schedule once. */
  private cgoLast = { tokens: -1, contextTokens: -1, prefill: false, layerSec: 0 };

  constructor(model: MoeModel, hardware: Hardware, precision: Precision, readonly semantics: ExecutionSemantics, readonly datasheet: Hardware) {
    super(model, hardware, precision);
    const rt = semantics.runtime;
    this.evictWriteBackSec = semantics.writeBackEvicted ? bytesSec(this.expertBytes, hardware.link.d2hBytesPerSec) : 0;
    const fmt = semantics.expertFormat;
    const eParams = expertParams(model);
    const dequantHbmSec = fmt ? bytesSec(eParams * fmt.dequantBytesPerParam, hardware.gpu.hbmBytesPerSec) : 0;
    const dequantKernels = fmt ? fmt.dequantKernelsPerExpert : 0;
    // Zero-token expert calls: their Python ops and syncs, no GPU work.
    const emptyCallsSec = (semantics.emptyExpertCallsPerLayer ?? 0) * (rt.kernelsPerExpert * rt.perKernelSec + rt.syncsPerExpert * rt.syncSec);
    const tritonPerExpert = rt.triton ? rt.triton.launchesPerExpert * rt.triton.launchSec : 0;
    const tritonPerLayer = rt.triton ? rt.triton.launchesPerLayer * rt.triton.launchSec : 0;
    // Per transformer layer: its waits; per MoE layer: the block's ops and waits beyond the count (hf-model-code.ts).
    const layerSyncSec = (rt.syncsPerLayer ?? 0) * rt.syncSec;
    const blockSec = rt.moeBlock ? rt.moeBlock.kernels * rt.perKernelSec + rt.moeBlock.syncs * rt.syncSec : 0;
    if (semantics.hostThread) {
      // The GPU jobs keep their kernels' time (no launch cost: effectiveHardware); the host issues
      // the runtime's kernels and waits in its syncs.
      this.perExpertExtraSec = dequantHbmSec;
      this.layerExtraSec = new Float64Array(model.moeLayers.length);
      this.tailExtraSec = 0;
      const expertHostSec = (rt.kernelsPerExpert + dequantKernels) * rt.perKernelSec + tritonPerExpert + rt.syncsPerExpert * rt.syncSec;
      const preHostSec = new Float64Array(model.moeLayers.length);
      for (let j = 0; j < model.moeLayers.length; j++) {
        const prev = j === 0 ? -1 : model.moeLayers[j - 1];
        preHostSec[j] = (model.moeLayers[j] - prev) * (rt.kernelsPerLayer * rt.perKernelSec + tritonPerLayer + layerSyncSec) + blockSec + emptyCallsSec;
      }
      const denseAfter = model.numLayers - 1 - model.moeLayers[model.moeLayers.length - 1];
      const tailHostSec = (denseAfter * rt.kernelsPerLayer + 2) * rt.perKernelSec + denseAfter * (tritonPerLayer + layerSyncSec) + rt.perStepSec;
      this.host = {
        preExpertSec: (j) => preHostSec[j],
        expertSec: () => expertHostSec,
        tailSec: () => tailHostSec,
        syncPerExpert: rt.syncsPerExpert > 0,
      };
    } else {
      const dequantSec = dequantHbmSec + dequantKernels * rt.perKernelSec;
      // The roofline already charges 3 launches per expert and 8 per layer; the runtime's counts replace them.
      this.perExpertExtraSec = Math.max(0, rt.kernelsPerExpert - KERNELS_PER_EXPERT) * rt.perKernelSec + tritonPerExpert + rt.syncsPerExpert * rt.syncSec + dequantSec;
      // Per transformer layer (as the roofline counts its launches: the dense layers since the
      // previous MoE layer and the MoE layer itself), then the MoE block's once.
      const perTransformerLayer = Math.max(0, rt.kernelsPerLayer - KERNELS_PER_LAYER) * rt.perKernelSec + tritonPerLayer + layerSyncSec;
      this.layerExtraSec = new Float64Array(model.moeLayers.length);
      for (let j = 0; j < model.moeLayers.length; j++) {
        const prev = j === 0 ? -1 : model.moeLayers[j - 1];
        this.layerExtraSec[j] = (model.moeLayers[j] - prev) * perTransformerLayer + blockSec + emptyCallsSec;
      }
      this.tailExtraSec = (model.numLayers - 1 - model.moeLayers[model.moeLayers.length - 1]) * perTransformerLayer;
    }
    // Streamed dense weights: on the compute stream before the layer (a hook or functional_call that copies then computes).
    this.streamSec = new Float64Array(model.moeLayers.length);
    const bpDense = precisionBytesPerParam(precision, 'dense', model);
    const blockParams = attentionParams(model) + routerParams(model) + sharedExpertParams(model);
    const link = hardware.link;
    for (const j of semantics.streamedDenseLayers ?? []) {
      if (j < 0 || j >= model.moeLayers.length) continue;
      const prev = j === 0 ? -1 : model.moeLayers[j - 1];
      const denseBefore = model.moeLayers[j] - prev - 1;
      let bytes = (blockParams + denseBefore * (attentionParams(model) + denseFfnParams(model))) * bpDense;
      if (semantics.streamAllExpertsOfStreamedLayers) bytes += model.numExperts * this.expertBytes;
      if (semantics.tensorsPerExpertTransfer !== undefined) {
        // One copy call per tensor: the block's dense tensors (and the dense layers before it), plus
        // every expert's when the layer streams them all (each at link.latencySec, which already
        // holds tensorsPerExpertTransfer calls).
        const perCallSec = link.latencySec / semantics.tensorsPerExpertTransfer;
        const calls = denseTensorsPerBlock(model) * (1 + denseBefore);
        const expertCalls = semantics.streamAllExpertsOfStreamedLayers ? model.numExperts * link.latencySec : 0;
        this.streamSec[j] = linkSec(calls * perCallSec + expertCalls, link.h2dBytesPerSec, bytes);
      } else {
        this.streamSec[j] = linkSec(link.latencySec, link.h2dBytesPerSec, bytes);
      }
    }
    // The embedding table crosses whole (its hook gathers it for the lookup), and so do the tail's
    // weights; a tied table is gathered twice (the embedding's hook, then the LM head's).
    const embeddingBytes = model.vocabSize * model.hiddenSize * bpDense;
    this.tailStreamSec = semantics.streamEmbeddingsAndHead ? linkSec(link.latencySec, link.h2dBytesPerSec, this.tailWeightBytes() + embeddingBytes) : 0;
    this.cpuLayer = new Uint8Array(model.moeLayers.length);
    for (const j of semantics.cpuResidentLayers ?? []) if (j >= 0 && j < model.moeLayers.length) this.cpuLayer[j] = 1;
    this.cpuTail = semantics.cpuResidentTail === true;
    this.cpuMinBatch = semantics.cpuOffloadMinBatch ?? Number.POSITIVE_INFINITY;
    let resident = residentParams(model) * bpDense;
    let gpuBlocks = model.numLayers;
    for (let j = 0; j < model.moeLayers.length; j++) {
      if (this.cpuLayer[j] !== 1) continue;
      resident -= this.preExpertWeightBytes(j);
      gpuBlocks -= model.moeLayers[j] - (j === 0 ? -1 : model.moeLayers[j - 1]);
    }
    if (this.cpuTail) {
      resident -= this.tailWeightBytes();
      gpuBlocks -= model.numLayers - 1 - model.moeLayers[model.moeLayers.length - 1];
    }
    this.residentWeightBytes = resident;
    if (semantics.mlaCache === 'per-head') this.kvBytesPerTokenLayer = perHeadKvBytesPerTokenPerLayer(model, precision.kvCache);
    this.kvBytesPerToken = this.kvBytesPerTokenLayer * gpuBlocks;
    if (semantics.cgoPipe) {
      // CGOPipe: the KV cache is in host memory (FastMoE's policies: cg = 0, cc = 1); the GPU holds
      // the non-expert weights, r_w of the experts and the two-layer buffer (cgoGpuBytes, one token per micro-batch here).
      this.kvBytesPerToken = 0;
      const w = semantics.cgoPipe.gpuWeightFraction ?? 0;
      this.residentWeightBytes = cgoGpuBytes(model, precision, 1, w);
    }
  }

  /**
   * CGOPipe's seconds per MoE layer for a step of `tokens` tokens whose contexts sum to
   * `contextTokens`: the pipeline's makespan over the step's L layers, split evenly (the layers are
   * alike). The policy is the semantics' fields, a missing one searched for this step shape.
   */
  cgoLayerSec(tokens: number, contextTokens: number, prefill = false): number {
    const last = this.cgoLast;
    if (last.tokens === tokens && last.contextTokens === contextTokens && last.prefill === prefill) return last.layerSec;
    const given = this.semantics.cgoPipe ?? {};
    const policy = chooseCgoPolicy(this.model, this.hardware, this.precision, tokens, contextTokens / Math.max(1, tokens), given);
    const n = Math.min(policy.microBatches, Math.max(1, tokens));
    const L = this.model.moeLayers.length;
    const p = { ...policy, microBatches: n };
    // A prefill runs FastMoE's prefill schedule (attention on the GPU, the KV cache offloaded), a decode step CGOPipe.
    const layerSec = prefill
      ? cgoPrefillSchedule(L, n, cgoPrefillCosts(this.model, this.hardware, this.pageableLink(), this.precision, tokens / n, contextTokens / n, p)).makespanSec / L
      : cgoPipeSchedule(L, n, cgoStageCosts(this.model, this.hardware, this.precision, tokens / n, contextTokens / n, p)).makespanSec / L;
    this.cgoLast = { tokens, contextTokens, prefill, layerSec };
    return layerSec;
  }

  /**
   * The link as copies from or to pageable host memory achieve it: the effective link with the
   * link semantics' pageable efficiency and per-transfer cost in place of its own kind's.
   */
  private pageableLink(): { latencySec: number; h2dBytesPerSec: number; d2hBytesPerSec: number } {
    const l = this.semantics.link;
    const scale = l.efficiency.pageable / l.efficiency[l.memory];
    const link = this.hardware.link;
    return {
      latencySec: link.latencySec - l.perTransferSec[l.memory] + l.perTransferSec.pageable,
      h2dBytesPerSec: link.h2dBytesPerSec * scale,
      d2hBytesPerSec: link.d2hBytesPerSec * scale,
    };
  }

  /** Whether MoE layer `j`'s non-expert work runs on the CPU (llama.cpp -ngl placement). */
  cpuResident(j: number): boolean {
    return this.cpuLayer[j] === 1;
  }

  /** The hidden states of `tokens` tokens crossing the link at a CPU/GPU split boundary (one way). */
  private boundarySec(tokens: number): number {
    const link = this.hardware.link;
    return linkSec(link.latencySec, link.h2dBytesPerSec, this.activationBytes(tokens));
  }

  /** Non-expert work of CPU-resident layer `j`: on the CPU, or on the GPU with its weights copied in for a large batch. */
  private cpuResidentPreSec(j: number, tokens: number, contextTokens: number, kvTokens: number): number {
    if (tokens >= this.cpuMinBatch) {
      return super.preExpertSec(j, tokens, contextTokens, kvTokens) + this.layerExtraSec[j] + this.h2dSec(this.preExpertWeightBytes(j));
    }
    return this.preExpertCpuSec(j, tokens, contextTokens);
  }

  /** Seconds of dense-weight streaming charged before MoE layer `j` (0 if resident). */
  streamedDenseSec(j: number): number {
    return this.streamSec[j];
  }

  override expertSec(tokens: number): number {
    // CGOPipe: the FFN runs inside the layer's pipeline (PostAttn), charged by cgoLayerSec.
    if (this.semantics.cgoPipe) return 0;
    return super.expertSec(tokens) + this.perExpertExtraSec;
  }

  override missCosts(lowBit?: Dtype): MissCosts {
    const mc = super.missCosts(lowBit);
    const task = this.semantics.cpuTaskPerLayer ? { ...mc, cpuTaskPerLayer: true } : mc;
    return this.semantics.cpuSplitHandoff
      ? {
          ...task,
          cpuTaskHandoffSec: (j: number, tokens: number) => this.cpuSplitHandoffSec(j, tokens),
          cpuTaskHandoffBytes: (j: number, tokens: number) => this.cpuSplitHandoffBytes(j, tokens),
        }
      : task;
  }

  /** The bytes cpuSplitHandoffSec moves (both ways); 0 where it charges nothing. */
  cpuSplitHandoffBytes(j: number, tokens: number): number {
    const h = this.semantics.cpuSplitHandoff;
    if (!h || this.cpuLayer[j] === 1) return 0;
    let bytes = 0;
    for (const t of h.toHost) bytes += splitTensorBytes(t, this.model, tokens);
    for (const t of h.toDevice) bytes += splitTensorBytes(t, this.model, tokens);
    return bytes;
  }

  /**
   * Seconds of the split copies around MoE layer `j`'s CPU task over `tokens` tokens
   * (semantics.cpuSplitHandoff): each tensor one copy at the link's latency plus its bytes; 0 in a
   * CPU-resident layer, or without cpuSplitHandoff.
   */
  cpuSplitHandoffSec(j: number, tokens: number): number {
    const h = this.semantics.cpuSplitHandoff;
    if (!h || this.cpuLayer[j] === 1) return 0;
    const link = this.hardware.link;
    let sec = 0;
    for (const t of h.toHost) sec += linkSec(link.latencySec, link.d2hBytesPerSec, splitTensorBytes(t, this.model, tokens));
    for (const t of h.toDevice) sec += linkSec(link.latencySec, link.h2dBytesPerSec, splitTensorBytes(t, this.model, tokens));
    return sec;
  }

  override expertSecAs(dtype: Dtype, tokens: number): number {
    return super.expertSecAs(dtype, tokens) + this.perExpertExtraSec;
  }

  override preExpertSec(j: number, tokens: number, contextTokens: number, kvTokens: number, prefill = false): number {
    if (this.semantics.cgoPipe) return this.cgoLayerSec(tokens, contextTokens, prefill);
    // A split boundary (this layer's work on the other side of the previous one's): the hidden
    // states cross the link once. Layer 0 follows the input embeddings, not charged (as before).
    const cross = j > 0 && this.cpuLayer[j] !== this.cpuLayer[j - 1] ? this.boundarySec(tokens) : 0;
    if (this.cpuLayer[j] === 1) return this.cpuResidentPreSec(j, tokens, contextTokens, kvTokens) + cross;
    return super.preExpertSec(j, tokens, contextTokens, kvTokens) + this.layerExtraSec[j] + this.streamSec[j] + cross;
  }

  override tailSec(tokens: number, contextTokens: number, outputs: number, kvTokens: number): number {
    const step = this.host ? 0 : this.semantics.runtime.perStepSec;
    const last = this.cpuLayer.length - 1;
    const lastOnCpu = last >= 0 && this.cpuLayer[last] === 1;
    const cross = this.cpuTail !== lastOnCpu ? this.boundarySec(tokens) : 0;
    if (this.cpuTail && tokens < this.cpuMinBatch) return this.tailCpuSec(tokens, contextTokens, outputs) + cross + step;
    const copy = this.cpuTail ? this.h2dSec(this.tailWeightBytes()) : 0;
    return super.tailSec(tokens, contextTokens, outputs, kvTokens) + copy + cross + step + this.tailStreamSec + this.tailExtraSec;
  }
}

/**
 * Weight tensors of one transformer block outside its routed experts, as a Hugging Face module tree
 * registers them: the model's counted figure where its modeling code was read (HF_MODEL_CODE:
 * DeepSeek-V2-Lite's MLA block and fused shared experts, 11), else q/k/v/o projections (4), the two
 * RMSNorm weights (2), the router (1), and 3 per shared expert (gate/up/down), as Mixtral's
 * MixtralDecoderLayer.
 */
export function denseTensorsPerBlock(model: MoeModel): number {
  return hfModelCode(model.name)?.tensorsPerBlock ?? 4 + 2 + 1 + 3 * model.numSharedExperts;
}

/** The analytic costs of `model` on `hw` as executed under `sem`. */
export function semanticCostModel(model: MoeModel, hw: Hardware, precision: Precision, sem: ExecutionSemantics): SemanticCostModel {
  return new SemanticCostModel(model, effectiveHardware(hw, sem), precision, sem, hw);
}
