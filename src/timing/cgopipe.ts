/**
 * MoE-Lightning's CGOPipe (Cao et al., ASPLOS 2025, arXiv 2411.11217; code: the ASPLOS artifact,
 * caoshiyi/artifacts@6bc860091230db3b56944a614bb9493f22b801a4, branch asplos25, which holds the
 * fastmoe package): a decode step of a batch of N sequences split into n micro-batches, each
 * MoE layer as five stages per micro-batch on four resources that run concurrently:
 *
 *   pre   GPU   PreAttn: norm and the QKV projection           (execution_engine.py pre_attention)
 *   qkv   D2H   the micro-batch's Q, K, V to pinned host memory  (offload_qkv, offload_stream)
 *   attn  CPU   attention over the KV cache in host memory       (cpu_attention: a cpu_executor thread)
 *   hid   H2D   the attention output back to the GPU             (load_hidden, load_stream)
 *   post  GPU   PostAttn: o-proj, router and the MoE FFN         (post_attention)
 *
 * and the next layer's expert weights paged over the same H2D stream, one page after each
 * micro-batch's hidden states (prefetch_experts(i + 1, 0, k, stage="decode") on load_stream), into
 * a GPU buffer of two layers' experts (weights_prefetch_num_pages_gpu = 2); a layer's first PostAttn
 * waits for its last page (post_attention: `if batch_id == 0: prefetch_events[...].wait`). The issue
 * order is the decode loop's (fastmoe/serve/router/model_rpc.py, "Prologue": pre_attention of
 * micro-batches 0 and 1; then per layer i and micro-batch k: load_hidden(i, k), the page,
 * post_attention(i, k), then pre_attention of the micro-batch two ahead, (i, k + 2) or
 * (i + 1, k + 2 - n)).
 *
 * A prefill runs its own schedule (cgoPrefillSchedule, model_rpc.py batch_forward_step "# prefill"):
 * per layer and micro-batch the whole layer on the GPU, the KV cache copied to host memory, the hidden
 * states offloaded and reloaded, the next layer's offloaded experts as one page.
 *
 * This module is time only: the stage costs from the roofline of the effective hardware
 * (cgoStageCosts), the schedule's timeline as a list schedule of those stages in that issue order
 * (cgoPipeSchedule), and the policy (n micro-batches, the fraction r_w of expert weights kept on the
 * GPU) chosen by the HRM estimate T = max(comm, T_cpu, T_gpu) per layer (chooseCgoPolicy: an
 * exhaustive search over the handful of integers the paper's MILP solves; fastmoe/backend/optimizer.py
 * solve_lp: `prob += T >= ctog; prob += T >= cpu_T; prob += T >= gpu_T`).
 */
import type { Dtype, MoeModel } from '../model/types.js';
import type { Gpu, Hardware } from '../hardware/types.js';
import { attentionFlopsPerToken, attentionParams, bytesPerParam, embeddingParams, expertParams, kvBytesPerTokenPerLayer, numMoeLayers, routerParams, sharedExpertParams } from '../model/derived.js';
import { bytesSec, cpuExpertTimeSec, gpuFlopsPerSec, linkSec, rooflineSec, type Precision } from './roofline.js';
import { InputError } from '../util/errors.js';
import { precisionBytesPerParam, tierDtype } from '../model/formats.js';

/** A GPU stage: `kernels` launches plus the slower of its HBM bytes and its FLOPs at the rate of computeDtype(dtype) (a T4's fp16 on its tensor cores). */
function gpuStageSec(gpu: Gpu, bytes: number, flops: number, dtype: Dtype, kernels: number): number {
  return rooflineSec(kernels * gpu.launchOverheadSec, bytes, gpu.hbmBytesPerSec, flops, gpuFlopsPerSec(gpu, dtype));
}

export const CGO_ARTIFACT = 'caoshiyi/artifacts@6bc860091230db3b56944a614bb9493f22b801a4 (branch asplos25)';

/** Seconds of each stage of one micro-batch in one layer, and of one weight page. */
export interface CgoStageCosts {
  preSec: number;
  qkvSec: number;
  attnSec: number;
  hidSec: number;
  postSec: number;
  /** One page of the next layer's offloaded expert weights over H2D (a layer's are `microBatches` pages). */
  pageSec: number;
  /**
   * The page's staging copy on the CPU, from the pageable weights (`ws`) into the pinned buffer
   * (prefetch_experts_to_pin on copy_executor, one thread); absent: 0.
   */
  pinSec?: number;
}

export type CgoResource = 'gpu' | 'd2h' | 'cpu' | 'h2d' | 'copy';
export type CgoStage = 'pre' | 'qkv' | 'attn' | 'hid' | 'post' | 'page' | 'pin';

/** One operation of the timeline: stage, layer, micro-batch (for a page: the slot), start and end. */
export interface CgoOp {
  stage: CgoStage;
  layer: number;
  micro: number;
  resource: CgoResource;
  startSec: number;
  endSec: number;
}

const RESOURCE: Record<CgoStage, CgoResource> = { pre: 'gpu', post: 'gpu', qkv: 'd2h', attn: 'cpu', hid: 'h2d', page: 'h2d', pin: 'copy' };

/**
 * The timeline of one decode step over `layers` layers and `micro` micro-batches. Each resource runs
 * its operations in the decode loop's issue order, each when its inputs are done:
 *   pre(i, k) after post(i - 1, k) (its hidden state); qkv after pre; attn after qkv; hid after attn;
 *   page(i + 1, k) after hid(i, k) on the same stream and after post(i - 1, n - 1) (the half of the
 *   two-layer buffer it overwrites is layer i - 1's, read by all its PostAttns); post(i, k) after hid(i, k), and post(i, 0) after the last page
 *   of layer i; a page, and the PostAttn issued after it, after the page's staging copy (pin: the host
 *   waits on its future), itself submitted two positions earlier on the one copy thread. Layer 0's pages were moved during the previous step's last layer, as this step's
 *   last layer moves the next step's (steady state), so every step moves L layers of pages.
 * Returns the operations in order of issue and the makespan (the last post or page).
 */
export function cgoPipeSchedule(layers: number, micro: number, c: CgoStageCosts, record = false): { makespanSec: number; ops: CgoOp[] } {
  if (!(layers >= 1 && micro >= 1)) throw new Error(`cgoPipeSchedule: layers and micro-batches must be >= 1 (got ${layers}, ${micro})`);
  const n = micro;
  const N = layers * n;
  const end = { pre: new Float64Array(N), qkv: new Float64Array(N), attn: new Float64Array(N), hid: new Float64Array(N), post: new Float64Array(N), page: new Float64Array(N), pin: new Float64Array(N) };
  const free: Record<CgoResource, number> = { gpu: 0, d2h: 0, cpu: 0, h2d: 0, copy: 0 };
  const ops: CgoOp[] = [];
  const sec: Record<CgoStage, number> = { pre: c.preSec, qkv: c.qkvSec, attn: c.attnSec, hid: c.hidSec, post: c.postSec, page: c.pageSec, pin: c.pinSec ?? 0 };
  const run = (stage: CgoStage, f: number, ready: number, layer: number, k: number) => {
    const r = RESOURCE[stage];
    const s = Math.max(free[r], ready);
    const e = s + sec[stage];
    free[r] = e;
    end[stage][f] = e;
    if (record) ops.push({ stage, layer, micro: k, resource: r, startSec: s, endSec: e });
  };
  // pre, then its QKV copy and the CPU attention, issued together (pre_attention, offload_qkv, cpu_attention).
  const issuePre = (f: number) => {
    const i = Math.floor(f / n);
    const k = f % n;
    run('pre', f, i > 0 ? end.post[f - n] : 0, i, k);
    run('qkv', f, end.pre[f], i, k);
    run('attn', f, end.qkv[f], i, k);
  };
  // Two micro-batches ahead (one when there is one): the prologue, then one per PostAttn.
  const ahead = Math.min(2, n);
  // The staging copy of page f (the page issued at loop position f, of layer (i + 1) % L), submitted
  // two positions earlier (get_prefetch_e2p_idx: slot k + 2; the prologue submits slots 0 and 1) when
  // the host passes that position, after its wait on that position's CPU attention; one copy thread.
  // It waits for no upload from its slot: prefetch_experts_to_pin_func synchronises
  // prefetch_events[slot], which the decode records on prefetch_stream while its copies run on
  // load_stream, so the event is already complete.
  const issuePin = (f: number) => {
    if (f >= N) return;
    const i = Math.floor(f / n);
    run('pin', f, f >= ahead ? end.attn[f - ahead] : 0, (i + 1) % layers, f % n);
  };
  for (let f = 0; f < ahead; f++) {
    issuePre(f);
    issuePin(f);
  }
  let makespan = 0;
  for (let i = 0; i < layers; i++) {
    for (let k = 0; k < n; k++) {
      const f = i * n + k;
      run('hid', f, end.attn[f], i, k);
      // The next layer's page k (layer 0 of the next step after the last layer) overwrites layer
      // i - 1's part of the two-layer buffer, which every PostAttn of layer i - 1 reads (each
      // micro-batch's fused MoE kernel reads all the layer's experts): after its last one. The code
      // has no event for it (the copy is on load_stream); stream order and the host's waits make it hold.
      const slotFree = i > 0 ? end.post[i * n - 1] : 0;
      // The host waits for the page's staging copy (copy_futures[k].result()) before it issues the
      // page and the PostAttn after it.
      run('page', f, Math.max(slotFree, end.pin[f]), (i + 1) % layers, k);
      // Layer i's weights: its pages moved during layer i - 1 (layer 0's: before this step).
      const weights = k === 0 && i > 0 ? end.page[f - 1] : 0;
      run('post', f, Math.max(end.hid[f], weights, end.pin[f]), i, k);
      if (f + ahead < N) issuePre(f + ahead);
      issuePin(f + ahead);
      makespan = Math.max(makespan, end.post[f], end.page[f]);
    }
  }
  return { makespanSec: makespan, ops };
}

/** The policy: micro-batches of the batch, and the fraction of the expert weights kept on the GPU. */
export interface CgoPolicy {
  microBatches: number;
  gpuWeightFraction: number;
}

/** Per-layer shapes the stage costs need (GQA attention: MoE-Lightning runs Mixtral and DBRX). */
function shapes(model: MoeModel, precision: Precision) {
  const a = model.attention;
  if (a.kind !== 'gqa') throw new InputError(`system.kind moe-lightning: ${model.name} has ${a.kind} attention; CGOPipe's CPU attention is modelled for GQA models (Mixtral, DBRX) only`);
  const h = model.hiddenSize;
  const qDim = a.numHeads * a.headDim;
  const kvDim = a.numKvHeads * a.headDim;
  const bpDense = precisionBytesPerParam(precision, 'dense', model);
  const bpExpert = precisionBytesPerParam(precision, 'experts', model);
  return {
    h,
    qkvParams: h * qDim + 2 * h * kvDim,
    qkvWidth: qDim + 2 * kvDim,
    postParams: qDim * h + routerParams(model) + sharedExpertParams(model),
    attnParams: attentionParams(model),
    bpDense,
    bpExpert,
    expertBytes: expertParams(model) * bpExpert,
    kvBytes: kvBytesPerTokenPerLayer(model, precision.kvCache),
    attnFlops: attentionFlopsPerToken(model, 1),
  };
}

/**
 * Stage costs of one layer for a micro-batch of `tokens` tokens whose contexts sum to
 * `contextTokens`, with `micro` micro-batches per layer and `gpuWeightFraction` of the experts
 * resident on the GPU. Activations cross in fp16 (2 bytes); the QKV projection writes Q, K and V
 * (pre_attention returns qkv), PostAttn reads the o-proj, the router and every expert with tokens
 * (min(E, tokens x k)) from HBM once per micro-batch (the fused MoE kernel: fastmoe/layers/stacked_fused_moe.py).
 */
export function cgoStageCosts(model: MoeModel, hw: Hardware, precision: Precision, tokens: number, contextTokens: number, policy: CgoPolicy): CgoStageCosts {
  const s = shapes(model, precision);
  const gpu = hw.gpu;
  const link = hw.link;
  const act = 2;
  const preBytes = s.qkvParams * s.bpDense + tokens * (s.h + s.qkvWidth) * act;
  const preSec = gpuStageSec(gpu, preBytes, 2 * s.qkvParams * tokens, tierDtype(precision.dense), 2);
  const qkvSec = linkSec(link.latencySec, link.d2hBytesPerSec, tokens * s.qkvWidth * act);
  // The CPU reads the micro-batch's KV cache from host DRAM (and its Q, K, V); the attention FLOPs per context token.
  const attnSec = cpuExpertTimeSec(hw.cpu, contextTokens * s.kvBytes + tokens * s.qkvWidth * act, s.attnFlops * contextTokens);
  const hidSec = linkSec(link.latencySec, link.h2dBytesPerSec, tokens * s.h * act);
  const used = Math.min(model.numExperts, tokens * model.topK);
  const postBytes = s.postParams * s.bpDense + used * s.expertBytes + tokens * s.h * act * 2;
  const postFlops = 2 * tokens * (s.postParams + model.topK * expertParams(model));
  const postSec = gpuStageSec(gpu, postBytes, postFlops, tierDtype(precision.experts), 2 + 3 * used);
  const offloaded = (model.numExperts - residentExperts(model, policy.gpuWeightFraction)) * s.expertBytes;
  const pageSec = offloaded > 0 ? linkSec(link.latencySec, link.h2dBytesPerSec, offloaded / policy.microBatches) : 0;
  // The staging copy reads the page from host DRAM and writes it to the pinned buffer: twice its bytes at the host's DRAM bandwidth.
  const pinSec = offloaded > 0 ? bytesSec((2 * offloaded) / policy.microBatches, hw.cpu.dramBytesPerSec) : 0;
  return { preSec, qkvSec, attnSec, hidSec, postSec, pageSec, pinSec };
}

/**
 * Seconds of one micro-batch's prefill of one layer (FastMoE's prefill, fastmoe/serve/router/model_rpc.py
 * batch_forward_step "# prefill", execution_engine.py `layer`): the whole layer on the GPU
 * (model_runner.prefill with DecodePart.ALL), its KV cache copied to host memory, its hidden states
 * offloaded and reloaded between layers, and one page per layer of the offloaded experts.
 */
export interface CgoPrefillCosts {
  /** Norm, QKV projection and the attention over the prompt on the GPU, up to attn_event (mixtral-offload.py MixtralAttention.forward records it after self.attn). */
  attnSec: number;
  /** The rest of the layer on the GPU: o-proj, router and the fused MoE over every expert with tokens. */
  postSec: number;
  /** The micro-batch's KV cache to host memory (offload_kv_cache on offload_stream; kv_data_cpu is pageable). */
  kvSec: number;
  /** The hidden states to pinned host memory (offload_hidden_prefill, offload_stream). */
  hidOffSec: number;
  /** The hidden states back to the GPU (load_hidden_prefill, load_stream). */
  hidLoadSec: number;
  /** The next layer's offloaded experts, one page (prefetch_experts stage "prefill": a copy from the pageable `ws` on prefetch_stream). */
  pageSec: number;
}

/** A link as the pageable copies achieve it (FastMoE's `ws` and kv_data_cpu are allocated without pin_memory). */
export interface CgoLinkRates {
  latencySec: number;
  h2dBytesPerSec: number;
  d2hBytesPerSec: number;
}

/**
 * Prefill stage costs of one layer for a micro-batch of `tokens` prompt tokens whose contexts sum to
 * `contextTokens`: the GPU attention reads and writes the micro-batch's K and V once (a
 * flash-attention kernel, fastmoe/layers/context_flashattention_nopad.py) at the attention FLOPs per
 * context token; the MoE as in decode's PostAttn (cgoStageCosts). The KV copy and the weight page go
 * over `pageable` (their host buffers are pageable), the hidden states over the pinned `hw.link`.
 */
export function cgoPrefillCosts(model: MoeModel, hw: Hardware, pageable: CgoLinkRates, precision: Precision, tokens: number, contextTokens: number, policy: CgoPolicy): CgoPrefillCosts {
  const s = shapes(model, precision);
  const d = cgoStageCosts(model, hw, precision, tokens, contextTokens, policy);
  const act = 2;
  const attnBytes = 2 * tokens * s.kvBytes + tokens * s.qkvWidth * act + tokens * s.h * act;
  const attn = gpuStageSec(hw.gpu, attnBytes, s.attnFlops * contextTokens, tierDtype(precision.dense), 1);
  const link = hw.link;
  const hidden = tokens * s.h * act;
  const offloaded = (model.numExperts - residentExperts(model, policy.gpuWeightFraction)) * s.expertBytes;
  return {
    attnSec: d.preSec + attn,
    postSec: d.postSec,
    kvSec: linkSec(pageable.latencySec, pageable.d2hBytesPerSec, tokens * s.kvBytes),
    hidOffSec: linkSec(link.latencySec, link.d2hBytesPerSec, hidden),
    hidLoadSec: linkSec(link.latencySec, link.h2dBytesPerSec, hidden),
    pageSec: offloaded > 0 ? linkSec(pageable.latencySec, pageable.h2dBytesPerSec, offloaded) : 0,
  };
}

export type CgoPrefillStage = 'layer' | 'kv' | 'hidOff' | 'hidLoad' | 'page';
/** One operation of the prefill timeline; for `layer`, `attnEndSec` is when its attention ends (attn_event). */
export interface CgoPrefillOp {
  stage: CgoPrefillStage;
  layer: number;
  micro: number;
  resource: 'gpu' | 'd2h' | 'h2d';
  startSec: number;
  endSec: number;
}

/**
 * The timeline of FastMoE's prefill over `layers` layers and `micro` micro-batches, in the code's
 * issue order (model_rpc.py batch_forward_step: prefetch_experts(0); per layer i and micro-batch k:
 * layer(i, 0, k), offload_kv_cache(i, k), and with more than one micro-batch
 * offload_hidden_prefill(k), load_hidden_prefill((k + 1) % n); after the layer's micro-batches
 * prefetch_experts(i + 1), layer 0's for the decode after the last layer). Three streams: the GPU's
 * (cur_stream), device to host (offload_stream: KV and hidden states, in order), host to device
 * (load_stream and prefetch_stream share the link; in issue order). Waits, from execution_engine.py:
 *   layer(i, k) after the hidden load of (i, k) (prefill_load_hidden_events), for k = 0 after layer i's
 *   page (prefetch_events), and after the KV copy last issued on its cache line (offload_kv_events,
 *   two lines, alternating per micro-batch: memory.py alloc_cpu);
 *   kv(i, k) after layer(i, k)'s attention (attn_events); hidOff(i, k) after layer(i, k) (compute_events);
 *   hidLoad of micro-batch m for layer i after layer(i - 1, m) (compute_events; layer 0 has none,
 *   the last layer offloads none).
 * The host thread issues in that order and blocks in the two pageable copies (CUDA runtime API,
 * "API synchronization behavior": a copy from device to pageable host memory returns once it has
 * completed; one from pageable host memory returns once the source is staged, which is the copy):
 * after kv(i, k) and after each page, nothing later is issued before they end. So a page also waits
 * for the layer before's last KV copy, which is after its attention: the page's half of the two-layer
 * buffer (layer i - 1's) is no longer read. Returns the makespan (the last operation, layer 0's page
 * for the decode included).
 */
export function cgoPrefillSchedule(layers: number, micro: number, c: CgoPrefillCosts, record = false): { makespanSec: number; ops: CgoPrefillOp[] } {
  if (!(layers >= 1 && micro >= 1)) throw new Error(`cgoPrefillSchedule: layers and micro-batches must be >= 1 (got ${layers}, ${micro})`);
  const n = micro;
  const layerEnd = new Float64Array(layers * n);
  const hidLoadEnd = new Float64Array(layers * n);
  const lineKvEnd = [0, 0];
  const free = { gpu: 0, d2h: 0, h2d: 0 };
  const ops: CgoPrefillOp[] = [];
  let host = 0;
  let makespan = 0;
  const run = (stage: CgoPrefillStage, r: 'gpu' | 'd2h' | 'h2d', ready: number, sec: number, layer: number, k: number) => {
    const s0 = Math.max(free[r], ready, host);
    const e = s0 + sec;
    free[r] = e;
    makespan = Math.max(makespan, e);
    if (record) ops.push({ stage, layer, micro: k, resource: r, startSec: s0, endSec: e });
    return { s0, e };
  };
  let pageEnd = run('page', 'h2d', 0, c.pageSec, 0, 0).e;
  host = pageEnd;
  for (let i = 0; i < layers; i++) {
    for (let k = 0; k < n; k++) {
      const f = i * n + k;
      const line = k % 2;
      const ready = Math.max(k === 0 ? pageEnd : 0, hidLoadEnd[f], lineKvEnd[line]);
      const L = run('layer', 'gpu', ready, c.attnSec + c.postSec, i, k);
      layerEnd[f] = L.e;
      const kv = run('kv', 'd2h', L.s0 + c.attnSec, c.kvSec, i, k).e;
      lineKvEnd[line] = kv;
      host = Math.max(host, kv);
      if (n > 1) {
        if (i < layers - 1) run('hidOff', 'd2h', L.e, c.hidOffSec, i, k);
        const m = (k + 1) % n;
        const target = m === 0 ? i + 1 : i;
        if (target >= 1 && target < layers) hidLoadEnd[target * n + m] = run('hidLoad', 'h2d', layerEnd[(target - 1) * n + m], c.hidLoadSec, target, m).e;
      }
    }
    pageEnd = run('page', 'h2d', 0, c.pageSec, (i + 1) % layers, 0).e;
    host = Math.max(host, pageEnd);
  }
  return { makespanSec: makespan, ops };
}

/**
 * GPU bytes the policy needs: the non-expert weights (attention, router, shared experts of every
 * layer, embeddings and head: FastMoE's gpu_home holds them), r_w of the experts, the two-layer
 * buffer for the offloaded rest, and one micro-batch's FFN activations (tokens x k rows of the
 * gate/up intermediate). The KV cache is in host memory (cg = 0 in the artifact's policies).
 */
export function cgoGpuBytes(model: MoeModel, precision: Precision, tokensPerMicro: number, gpuWeightFraction: number): number {
  const s = shapes(model, precision);
  const L = numMoeLayers(model);
  const nonExpert = (L * (s.attnParams + routerParams(model) + sharedExpertParams(model)) + embeddingParams(model)) * s.bpDense;
  const resident = residentExperts(model, gpuWeightFraction);
  const experts = L * resident * s.expertBytes;
  // experts_pool_size = num_layers x num_experts_gpu + 2 x (eg - num_experts_gpu) (build_context).
  const buffer = 2 * (model.numExperts - resident) * s.expertBytes;
  const act = tokensPerMicro * model.topK * 2 * model.expertIntermediateSize * 2;
  return nonExpert + experts + buffer + act;
}

/**
 * Experts per layer kept on the GPU for the fraction `w`: FastMoE truncates, `num_experts_gpu =
 * int(num_local_experts * policy.wg)` (execution_engine.py build_context and
 * init_weights_prefetch_meta), so a Mixtral policy of wg = 0.07 keeps no expert on the GPU.
 */
export function residentExperts(model: MoeModel, w: number): number {
  return Math.trunc(model.numExperts * w);
}

/** GPU memory the search leaves free (the CUDA context, allocator slack): 10% of HBM, as FastMoE's `gpu peak mem ... / 21.600 GB` of a 24 GB L4 (the README's optimizer output). */
export const CGO_GPU_MEMORY_FRACTION = 0.9;

/** The largest r_w (to 0.01) whose GPU bytes fit in CGO_GPU_MEMORY_FRACTION of HBM; -1 when none fits. */
function maxGpuWeightFraction(model: MoeModel, hw: Hardware, precision: Precision, tokensPerMicro: number): number {
  const budget = hw.gpu.hbmBytes * CGO_GPU_MEMORY_FRACTION;
  for (let w = 100; w >= 0; w--) if (cgoGpuBytes(model, precision, tokensPerMicro, w / 100) <= budget) return w / 100;
  return -1;
}

/** The HRM estimate of one layer: T = max(comm, T_cpu, T_gpu), each the sum over the micro-batches. */
export function hrmLayerSec(c: CgoStageCosts, micro: number): number {
  const comm = micro * (c.hidSec + c.pageSec);
  const cpu = micro * c.attnSec;
  const gpu = micro * (c.preSec + c.postSec);
  const d2h = micro * c.qkvSec;
  return Math.max(comm, cpu, gpu, d2h);
}

/**
 * The policy for a batch of `sequences` decode sequences at a mean context of `meanContext`:
 * given fields are kept; a missing one is searched. For each micro-batch count n in 1..64 (at most
 * the batch), the largest r_w that fits the GPU (maxGpuWeightFraction), and the n of least HRM
 * estimate (the first on ties). An exhaustive search stands in for the paper's MILP over the same
 * few integers (optimizer.py solve_lp / get_nb_ub).
 */
export function chooseCgoPolicy(model: MoeModel, hw: Hardware, precision: Precision, sequences: number, meanContext: number, given: Partial<CgoPolicy>): CgoPolicy {
  const candidates = given.microBatches !== undefined ? [given.microBatches] : Array.from({ length: Math.min(64, Math.max(1, sequences)) }, (_, i) => i + 1);
  let best: CgoPolicy | undefined;
  let bestSec = Number.POSITIVE_INFINITY;
  for (const n of candidates) {
    const mu = Math.ceil(sequences / n);
    const w = given.gpuWeightFraction ?? maxGpuWeightFraction(model, hw, precision, mu);
    if (w < 0) continue;
    const p = { microBatches: n, gpuWeightFraction: w };
    const t = hrmLayerSec(cgoStageCosts(model, hw, precision, mu, mu * meanContext, p), n);
    if (t < bestSec) {
      bestSec = t;
      best = p;
    }
  }
  if (!best) throw new InputError(`system.kind moe-lightning: no policy fits ${model.name}'s non-expert weights, a two-layer expert buffer and one micro-batch's activations in ${(hw.gpu.hbmBytes / 2 ** 30).toFixed(1)} GiB x ${CGO_GPU_MEMORY_FRACTION}`);
  return best;
}
