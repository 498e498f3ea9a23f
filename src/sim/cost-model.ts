/**
 * The timing model's numbers, from the model's shapes and the hardware: roofline kernels on the
 * GPU (time = launches x overhead + max(bytes / HBM bandwidth, FLOPs / peak FLOP/s)), transfers on
 * the host link (latency + bytes / bandwidth). Precomputed once per run, so the hot loop does a
 * multiply and a max.
 */
import type { Dtype, MoeModel } from '../model/types.js';
import type { Hardware } from '../hardware/types.js';
import { cpuExpertTimeSec } from '../hardware/roofline.js';
import type { MissCosts } from './offload-sim.js';
import {
  attentionFlopsPerToken,
  attentionParams,
  bytesPerParam,
  denseFfnParams,
  embeddingParams,
  expertParams,
  kvBytesPerTokenPerLayer,
  residentParams,
  routerParams,
  sharedExpertParams,
} from '../model/derived.js';

export interface Precision {
  experts: Dtype;
  dense: Dtype;
  kvCache: Dtype;
  groupSize: number;
}

/** Kernel launches the model charges: per transformer layer's non-expert work, and per expert. */
export const KERNELS_PER_LAYER = 8; // norm, qkv, rope, attention, out-proj, norm, router, top-k
export const KERNELS_PER_EXPERT = 3; // gate/up, activation x up, down

/** The dtype the GPU computes in for weights stored as `d`: weight-only quantization dequantizes to bf16. */
export function computeDtype(d: Dtype, gpuFlops: Partial<Record<Dtype, number>>): Dtype {
  if (d === 'fp32') return 'fp32';
  if (d === 'fp8' && gpuFlops.fp8) return 'fp8';
  return 'bf16';
}

export class CostModel {
  readonly expertBytes: number;
  readonly expertFlopsPerToken: number;
  /** Bytes that stay on the GPU for the whole run: every weight but the routed experts. */
  readonly residentWeightBytes: number;
  /** KV cache bytes per token of context, over all layers. */
  readonly kvBytesPerToken: number;
  readonly numMoeLayers: number;
  private readonly expertLaunchSec: number;
  private readonly expertMemSec: number;
  private readonly expertSecPerToken: number;
  private readonly expertParamCount: number;
  private readonly hbm: number;
  private readonly denseFlops: number;
  private readonly launch: number;
  /** Per MoE layer ordinal: weight bytes and FLOPs per token of the non-expert work charged before its experts. */
  private readonly preBytes: Float64Array;
  private readonly preFlopsPerToken: Float64Array;
  private readonly preLayers: Int32Array;
  private readonly attnFlopsPerContextToken: number;
  private readonly kvBytesPerTokenLayer: number;
  /** After the last MoE layer: trailing dense layers and the LM head. */
  private readonly tailBytes: number;
  private readonly tailFlopsPerToken: number;
  private readonly tailLayers: number;
  private readonly lmHeadBytes: number;
  private readonly lmHeadFlopsPerToken: number;

  constructor(
    readonly model: MoeModel,
    readonly hardware: Hardware,
    readonly precision: Precision,
  ) {
    const { gpu } = hardware;
    const g = precision.groupSize;
    const bpExpert = bytesPerParam(precision.experts, g);
    const bpDense = bytesPerParam(precision.dense, g);
    const eParams = expertParams(model);
    this.expertParamCount = eParams;
    this.expertBytes = eParams * bpExpert;
    this.expertFlopsPerToken = 2 * eParams;
    this.hbm = gpu.hbmBytesPerSec;
    this.launch = gpu.launchOverheadSec;
    const eFlops = gpu.flopsPerSec[computeDtype(precision.experts, gpu.flopsPerSec)] ?? gpu.flopsPerSec.bf16;
    this.denseFlops = gpu.flopsPerSec[computeDtype(precision.dense, gpu.flopsPerSec)] ?? gpu.flopsPerSec.bf16;
    this.expertLaunchSec = KERNELS_PER_EXPERT * gpu.launchOverheadSec;
    this.expertMemSec = this.expertBytes / gpu.hbmBytesPerSec;
    this.expertSecPerToken = this.expertFlopsPerToken / eFlops;

    this.residentWeightBytes = residentParams(model) * bpDense;
    this.kvBytesPerTokenLayer = kvBytesPerTokenPerLayer(model, precision.kvCache);
    this.kvBytesPerToken = this.kvBytesPerTokenLayer * model.numLayers;
    this.attnFlopsPerContextToken = attentionFlopsPerToken(model, 1);

    const attn = attentionParams(model);
    const moeNonExpert = attn + routerParams(model) + sharedExpertParams(model);
    const dense = attn + denseFfnParams(model);
    const moe = model.moeLayers;
    this.numMoeLayers = moe.length;
    this.preBytes = new Float64Array(moe.length);
    this.preFlopsPerToken = new Float64Array(moe.length);
    this.preLayers = new Int32Array(moe.length);
    let prev = -1;
    for (let j = 0; j < moe.length; j++) {
      const denseBefore = moe[j] - prev - 1;
      const params = denseBefore * dense + moeNonExpert;
      this.preBytes[j] = params * bpDense;
      this.preFlopsPerToken[j] = 2 * params;
      this.preLayers[j] = denseBefore + 1;
      prev = moe[j];
    }
    const denseAfter = model.numLayers - 1 - prev;
    this.tailBytes = denseAfter * dense * bpDense;
    this.tailFlopsPerToken = 2 * denseAfter * dense;
    this.tailLayers = denseAfter;
    const lmHead = model.tiedEmbeddings ? embeddingParams(model) : embeddingParams(model) / 2;
    this.lmHeadBytes = lmHead * bpDense;
    this.lmHeadFlopsPerToken = 2 * lmHead;
  }

  /** GPU time of one expert FFN over `tokens` tokens routed to it. */
  expertSec(tokens: number): number {
    const c = this.expertSecPerToken * tokens;
    return this.expertLaunchSec + (c > this.expertMemSec ? c : this.expertMemSec);
  }

  /** Bytes of one expert stored as `dtype` (same group size). */
  expertBytesAs(dtype: Dtype): number {
    return this.expertParamCount * bytesPerParam(dtype, this.precision.groupSize);
  }

  /** GPU time of one expert stored as `dtype` over `tokens` tokens (computed in the same dtype as the experts). */
  expertSecAs(dtype: Dtype, tokens: number): number {
    const c = this.expertSecPerToken * tokens;
    const m = this.expertBytesAs(dtype) / this.hbm;
    return this.expertLaunchSec + (c > m ? c : m);
  }

  /** CPU time of one expert over `tokens` tokens, reading its weights from DRAM (roofline). */
  cpuExpertSec(tokens: number): number {
    return cpuExpertTimeSec(this.hardware.cpu, this.expertBytes, this.expertFlopsPerToken * tokens);
  }

  /** Bytes of `tokens` tokens' hidden states in bf16 (what crosses the link for a CPU-computed expert, each way). */
  activationBytes(tokens: number): number {
    return tokens * this.model.hiddenSize * 2;
  }

  /** The costs of the miss handlers, with lower-bit copies in `lowBit`. */
  missCosts(lowBit: Dtype = this.precision.experts): MissCosts {
    return {
      cpuExpertSec: (n) => this.cpuExpertSec(n),
      activationBytes: (n) => this.activationBytes(n),
      lowBitExpertBytes: this.expertBytesAs(lowBit),
      lowBitExpertSec: (n) => this.expertSecAs(lowBit, n),
    };
  }

  /** Host-to-device time of one expert's weights (excluding queueing). */
  fetchSec(bytes = this.expertBytes): number {
    return this.hardware.link.latencySec + bytes / this.hardware.link.h2dBytesPerSec;
  }

  /**
   * Non-expert GPU work charged before MoE layer `j`'s experts: the dense layers since the previous
   * MoE layer and this layer's attention, router and shared experts. `tokens` tokens this step,
   * `contextTokens` = sum over those tokens of the context each attends to.
   */
  preExpertSec(j: number, tokens: number, contextTokens: number): number {
    const layers = this.preLayers[j];
    const bytes = this.preBytes[j] + layers * this.kvBytesPerTokenLayer * contextTokens;
    const flops = this.preFlopsPerToken[j] * tokens + layers * this.attnFlopsPerContextToken * contextTokens;
    return this.roofline(bytes, flops, layers * KERNELS_PER_LAYER);
  }

  /**
   * Work after the last MoE layer: trailing dense layers, final norm and the LM head, which runs on
   * `outputs` tokens (one per sequence that emits a token this step).
   */
  tailSec(tokens: number, contextTokens: number, outputs: number): number {
    const bytes = this.tailBytes + this.tailLayers * this.kvBytesPerTokenLayer * contextTokens + this.lmHeadBytes;
    const flops =
      this.tailFlopsPerToken * tokens + this.tailLayers * this.attnFlopsPerContextToken * contextTokens + this.lmHeadFlopsPerToken * outputs;
    return this.roofline(bytes, flops, this.tailLayers * KERNELS_PER_LAYER + 2);
  }

  private roofline(bytes: number, flops: number, kernels: number): number {
    const m = bytes / this.hbm;
    const c = flops / this.denseFlops;
    return kernels * this.launch + (m > c ? m : c);
  }
}
