/**
 * The analytic timing model, and the only module where bytes are divided by a bandwidth: roofline
 * kernels on the GPU (time = launches x overhead + max(bytes / HBM bandwidth, FLOPs / FLOP/s), the
 * FLOP/s being the preset's measured sustained large-GEMM rate where it has one, the datasheet peak
 * otherwise), transfers on the host link (latency + bytes / bandwidth), experts on the CPU (the
 * slower of reading the weights from DRAM and computing). The primitives below are what
 * calibrate/fit.ts fits; RooflineCosts precomputes them once per run, so the hot loop does a
 * multiply and a max.
 */
import type { Dtype, MoeModel } from '../model/types.js';
import { precisionBytesPerParam, tierDtype, type TieredPrecision } from '../model/formats.js';
import type { Cpu, Gpu, Hardware, HostLink } from '../hardware/types.js';
import type { Costs, MissCosts, StepCosts } from './costs.js';
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

/** The scenario's precision: each weight tier a dtype or a named format (src/model/formats.ts). */
export type Precision = TieredPrecision;

/** Kernel launches the model charges: per transformer layer's non-expert work, and per expert. */
export const KERNELS_PER_LAYER = 8; // norm, qkv, rope, attention, out-proj, norm, router, top-k
export const KERNELS_PER_EXPERT = 3; // gate/up, activation x up, down

/**
 * Query rows per tile of a fused attention kernel: FlashAttention-2's forward pass (Dao 2023,
 * arXiv 2307.08691, Algorithm 1: each thread block holds one block of B_r queries and streams every
 * K/V block it needs from HBM once) runs one block per kBlockM = 128 query rows for head dims 64 and
 * 128 on sm80/sm90 (Dao-AILab/flash-attention@01afd16d248c4c7d0f9aed1914084f16c490eaed:
 * csrc/flash_attn/src/flash_fwd_launch_template.h, run_mha_fwd_hdim64/hdim128:
 * Flash_fwd_kernel_traits<Headdim, 128, ...>). DeepSpeed-FastGen's blocked flash attention uses the
 * same block (microsoft/DeepSpeed:deepspeed/inference/v2/kernels/ragged_ops/blocked_flash/
 * blocked_flash.py get_q_block_size: 128 for head size <= 64, and <= 160 on cc x.0; 64 on
 * sm86/sm89, which this constant does not tell apart).
 */
export const ATTENTION_QUERY_TILE = 128;

/**
 * KV-cache tokens a fused causal attention kernel reads, per layer, for `n` new tokens of one
 * sequence after `prior` cached ones: ceil(n / ATTENTION_QUERY_TILE) query tiles, each streaming the
 * keys and values up to its last query once (causal: FlashAttention-2 stops at the diagonal,
 * flash_fwd_kernel.h compute_attn_1rowblock's n_block_max), so tile i (from 1) reads
 * prior + min(i x tile, n) tokens, at most prior + n (the ceil(n / tile) x context bound). One token
 * (decode) reads its context, prior + 1, as before. Sums of integers: exact in a double.
 */
export function kvReadTokens(prior: number, n: number): number {
  if (n <= 0) return 0;
  const b = ATTENTION_QUERY_TILE;
  const tiles = Math.ceil(n / b);
  // Tiles 1 .. tiles-1 end at i x b; the last ends at n.
  return tiles * prior + (b * (tiles - 1) * tiles) / 2 + n;
}

/**
 * Token p's share (0 <= p < n) of kvReadTokens(prior, n): its query tile's KV read split evenly over
 * the tile's tokens, so the shares of the n tokens sum to kvReadTokens(prior, n) (up to rounding).
 * Used where a step's tokens are split over GPUs (expert parallelism, data-parallel attention).
 */
export function tileKvShare(prior: number, n: number, p: number): number {
  const b = ATTENTION_QUERY_TILE;
  const start = p - (p % b);
  const end = Math.min(start + b, n);
  return (prior + end) / (end - start);
}

/**
 * The dtype the GPU computes in for weights stored as `d`: fp32 and fp16 weights in their own
 * dtype (an fp16 checkpoint's matmuls run in fp16), fp8 where the GPU has fp8 tensor cores, and
 * weight-only quantization dequantizes to the half type of the activations: bf16, or fp16 on a GPU
 * without bf16 tensor cores (its preset's bf16 rate below its fp16 rate: Volta, Turing), where
 * runtimes run fp16 activations (HQQ's and GPTQ's kernels take fp16; a bf16 matmul there falls
 * back to the fp32 rate).
 */
export function computeDtype(d: Dtype, gpuFlops: Partial<Record<Dtype, number>>): Dtype {
  if (d === 'fp32') return 'fp32';
  if (d === 'fp16' && gpuFlops.fp16) return 'fp16';
  if (d === 'fp8' && gpuFlops.fp8) return 'fp8';
  if (d !== 'bf16' && gpuFlops.fp16 !== undefined && (gpuFlops.bf16 === undefined || gpuFlops.bf16 < gpuFlops.fp16)) return 'fp16';
  return 'bf16';
}

/**
 * FLOP/s the roofline charges `gpu` in compute dtype `d`: the measured sustained large-GEMM rate
 * (Gpu.sustainedFlopsPerSec: a power-capped T4 runs cuBLAS fp16 at ~24 of its 65 TFLOP/s) where the
 * preset has one for `d`, the datasheet peak otherwise; the bf16 rate when `d` has neither.
 */
export function gpuComputeRate(gpu: Gpu, d: Dtype): number {
  const sustained = gpu.sustainedFlopsPerSec?.[d as 'fp32' | 'bf16' | 'fp16' | 'fp8' | 'int8'];
  if (sustained !== undefined) return sustained;
  const peak = gpu.flopsPerSec[d];
  if (peak !== undefined) return peak;
  return gpu.sustainedFlopsPerSec?.bf16 ?? gpu.flopsPerSec.bf16;
}

/**
 * FLOP/s of `gpu` for weights stored as `stored`, computed in computeDtype(stored) (the dtype is chosen
 * by the datasheet peaks; its rate is gpuComputeRate's: sustained where measured); bf16 when unlisted.
 */
export function gpuFlopsPerSec(gpu: Gpu, stored: Dtype | undefined): number {
  return gpuComputeRate(gpu, stored === undefined ? 'bf16' : computeDtype(stored, gpu.flopsPerSec));
}

/**
 * Seconds to move `bytes` at `bytesPerSec`: the one place in src/ where a byte count is divided by a
 * bandwidth (host link, HBM, SSD, interconnect, fitted roofs all charge through this or linkSec).
 */
export function bytesSec(bytes: number, bytesPerSec: number): number {
  return bytes / bytesPerSec;
}

/** A copy over a link: latency plus bytes over bandwidth. */
export function linkSec(latencySec: number, bytesPerSec: number, bytes: number): number {
  return latencySec + bytesSec(bytes, bytesPerSec);
}

/** A roofline kernel (or kernels): fixed overhead plus the slower of moving `bytes` and doing `flops`. */
export function rooflineSec(overheadSec: number, bytes: number, memBytesPerSec: number, flops: number, flopsPerSec: number): number {
  const m = bytes / memBytesPerSec;
  const c = flops / flopsPerSec;
  return overheadSec + (m > c ? m : c);
}

/** Time of `kernels` GPU kernels that together read/write `bytes` of HBM and do `flops` on weights stored as `dtype`. */
export function kernelTimeSec(gpu: Gpu, bytes: number, flops: number, dtype?: Dtype, kernels = 1): number {
  return rooflineSec(kernels * gpu.launchOverheadSec, bytes, gpu.hbmBytesPerSec, flops, gpuFlopsPerSec(gpu, dtype));
}

/** An expert run on the CPU: reading its weights from DRAM or computing, whichever is slower. */
export function cpuExpertTimeSec(cpu: Cpu, bytes: number, flops: number): number {
  return rooflineSec(0, bytes, cpu.dramBytesPerSec, flops, cpu.flopsPerSec);
}

/** The link part of a Costs, from a HostLink: what BandwidthLink and the CPU miss handler are charged. */
export interface LinkCosts {
  readonly linkOverlapsCompute: boolean;
  h2dSec(bytes: number): number;
  d2hSec(bytes: number): number;
  cpuRoundTripSec(activationBytes: number, cpuSec: number): number;
}

export function linkCosts(link: HostLink): LinkCosts {
  const { latencySec, h2dBytesPerSec: h2d, d2hBytesPerSec: d2h } = link;
  if (!(h2d > 0)) throw new Error(`${link.name}: bandwidth must be positive, got ${h2d}`);
  return {
    linkOverlapsCompute: link.overlapsCompute !== false,
    h2dSec: (bytes) => latencySec + bytes / h2d,
    d2hSec: (bytes) => latencySec + bytes / d2h,
    // Written out left to right so that the sum rounds as it always has.
    cpuRoundTripSec: (act, cpuSec) => latencySec + act / d2h + cpuSec + latencySec + act / h2d,
  };
}

/** The analytic Costs of `model` on `hardware` stored at `precision`. */
export class RooflineCosts implements Costs {
  readonly linkOverlapsCompute: boolean;
  readonly h2dSec: (bytes: number) => number;
  readonly d2hSec: (bytes: number) => number;
  readonly cpuRoundTripSec: (activationBytes: number, cpuSec: number) => number;
  readonly lowBitExpertBytes: number;
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
  /** KV-cache bytes one token of context adds to one layer (a subclass may charge another cache layout: SemanticCostModel's mlaCache). */
  protected kvBytesPerTokenLayer: number;
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
    const links = linkCosts(hardware.link);
    this.linkOverlapsCompute = links.linkOverlapsCompute;
    this.h2dSec = links.h2dSec;
    this.d2hSec = links.d2hSec;
    this.cpuRoundTripSec = links.cpuRoundTripSec;
    const bpExpert = precisionBytesPerParam(precision, 'experts', model);
    const bpDense = precisionBytesPerParam(precision, 'dense', model);
    const eParams = expertParams(model);
    this.expertParamCount = eParams;
    this.expertBytes = eParams * bpExpert;
    this.expertFlopsPerToken = 2 * eParams;
    this.hbm = gpu.hbmBytesPerSec;
    this.launch = gpu.launchOverheadSec;
    const eFlops = gpuFlopsPerSec(gpu, tierDtype(precision.experts));
    this.denseFlops = gpuFlopsPerSec(gpu, tierDtype(precision.dense));
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
    this.lowBitExpertBytes = this.expertBytes;
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

  /** GPU time of the lower-bit copy (here: the experts' own dtype; see missCosts). */
  lowBitExpertSec(tokens: number): number {
    return this.expertSec(tokens);
  }

  /** The costs of the miss handlers, with lower-bit copies in `lowBit`. */
  missCosts(lowBit?: Dtype): MissCosts {
    // Without a lower-bit dtype the copy is the experts' own (their tier, a dtype or a named format).
    return {
      cpuExpertSec: (n) => this.cpuExpertSec(n),
      activationBytes: (n) => this.activationBytes(n),
      lowBitExpertBytes: lowBit === undefined ? this.expertBytes : this.expertBytesAs(lowBit),
      lowBitExpertSec: lowBit === undefined ? (n) => this.expertSec(n) : (n) => this.expertSecAs(lowBit, n),
    };
  }

  /**
   * Non-expert GPU work charged before MoE layer `j`'s experts: the dense layers since the previous
   * MoE layer and this layer's attention, router and shared experts. `tokens` tokens this step,
   * `contextTokens` = sum over those tokens of the context each attends to (the attention FLOPs),
   * `kvTokens` = KV-cache tokens the attention kernel reads per layer (Step.kvTokens: kvReadTokens
   * per sequence; equal to contextTokens for a decode step).
   */
  preExpertSec(j: number, tokens: number, contextTokens: number, kvTokens: number): number {
    const layers = this.preLayers[j];
    const bytes = this.preBytes[j] + layers * this.kvBytesPerTokenLayer * kvTokens;
    const flops = this.preFlopsPerToken[j] * tokens + layers * this.attnFlopsPerContextToken * contextTokens;
    return this.roofline(bytes, flops, layers * KERNELS_PER_LAYER);
  }

  /**
   * Work after the last MoE layer: trailing dense layers, final norm and the LM head, which runs on
   * `outputs` tokens (one per sequence that emits a token this step); `kvTokens` as in preExpertSec.
   */
  tailSec(tokens: number, contextTokens: number, outputs: number, kvTokens: number): number {
    const bytes = this.tailBytes + this.tailLayers * this.kvBytesPerTokenLayer * kvTokens + this.lmHeadBytes;
    const flops =
      this.tailFlopsPerToken * tokens + this.tailLayers * this.attnFlopsPerContextToken * contextTokens + this.lmHeadFlopsPerToken * outputs;
    return this.roofline(bytes, flops, this.tailLayers * KERNELS_PER_LAYER + 2);
  }

  /**
   * The same non-expert work as preExpertSec, run by the CPU from host DRAM (a layer llama.cpp's
   * -ngl leaves on the CPU): the slower of reading its weights and KV cache at the CPU's DRAM
   * bandwidth and computing at its FLOP/s. No launches.
   */
  preExpertCpuSec(j: number, tokens: number, contextTokens: number): number {
    const layers = this.preLayers[j];
    const bytes = this.preBytes[j] + layers * this.kvBytesPerTokenLayer * contextTokens;
    const flops = this.preFlopsPerToken[j] * tokens + layers * this.attnFlopsPerContextToken * contextTokens;
    return cpuExpertTimeSec(this.hardware.cpu, bytes, flops);
  }

  /** Weight bytes of the non-expert work before MoE layer `j` (what a large-batch offload copies to the GPU). */
  preExpertWeightBytes(j: number): number {
    return this.preBytes[j];
  }

  /** tailSec's work on the CPU (trailing dense layers and the LM head in host memory). */
  tailCpuSec(tokens: number, contextTokens: number, outputs: number): number {
    const bytes = this.tailBytes + this.tailLayers * this.kvBytesPerTokenLayer * contextTokens + this.lmHeadBytes;
    const flops =
      this.tailFlopsPerToken * tokens + this.tailLayers * this.attnFlopsPerContextToken * contextTokens + this.lmHeadFlopsPerToken * outputs;
    return cpuExpertTimeSec(this.hardware.cpu, bytes, flops);
  }

  /** Weight bytes of the tail (trailing dense layers and the LM head). */
  tailWeightBytes(): number {
    return this.tailBytes + this.lmHeadBytes;
  }

  private roofline(bytes: number, flops: number, kernels: number): number {
    return rooflineSec(kernels * this.launch, bytes, this.hbm, flops, this.denseFlops);
  }
}

/** Costs of the steps only, from explicit functions and a link (replays and tests). */
export function stepCosts(link: HostLink, parts: Pick<StepCosts, 'expertBytes' | 'expertSec' | 'preExpertSec' | 'tailSec'>): StepCosts {
  const l = linkCosts(link);
  return { ...parts, linkOverlapsCompute: l.linkOverlapsCompute, h2dSec: l.h2dSec, cpuRoundTripSec: l.cpuRoundTripSec };
}
