/** Hardware models. Internal units are SI: bytes, bytes per second, FLOP per second, seconds. */
import type { Dtype } from '../model/types.js';
import type { Ssd } from './storage.js';
export type { Ssd } from './storage.js';

export interface Gpu {
  name: string;
  hbmBytes: number;
  hbmBytesPerSec: number;
  /** Dense (no sparsity) peak FLOP/s by compute dtype. int4/int2 weights are computed in the listed compute dtype. */
  flopsPerSec: Partial<Record<Dtype, number>> & { bf16: number; fp32: number };
  /** Fixed cost per kernel launch, seconds. */
  launchOverheadSec: number;
  /** Datasheet or measurement each number comes from. */
  source: string;
}

export interface HostLink {
  name: string;
  /** Host-to-device bandwidth, bytes/s (per direction). */
  h2dBytesPerSec: number;
  d2hBytesPerSec: number;
  /** Per-transfer latency, seconds. */
  latencySec: number;
  /**
   * Whether transfers run while the GPU computes (a copy engine: true, the default). false: the
   * two never overlap, as when one host thread issues both and waits for each (ONNX Runtime's
   * synchronous runs, which calibration profiles describe).
   */
  overlapsCompute?: boolean;
  source: string;
}

export interface Cpu {
  name: string;
  dramBytes: number;
  dramBytesPerSec: number;
  /** Sustained FLOP/s for the expert GEMV/GEMM on all cores. */
  flopsPerSec: number;
  /** Optional description of the part (informational; the timing model reads the fields above). */
  sockets?: number;
  /** Physical cores over all sockets. */
  cores?: number;
  /** Vector/matrix ISA extensions relevant to expert kernels: avx2, avx512, avx512-bf16, avx512-vnni, amx, sve2, neon. */
  isa?: string[];
  /** Peak FP32 FLOP/s per ISA over all cores (the `flopsPerSec` above is the widest vector ISA's). */
  flopsPerSecByIsa?: Partial<Record<'avx2' | 'avx512' | 'sve2', number>>;
  /** Peak matrix-engine FLOP/s (Intel AMX tiles) over all cores, by data type; int8 counted as ops. */
  matrixFlopsPerSec?: { bf16?: number; int8?: number };
  source: string;
}

export interface Hardware {
  /** Preset key this came from, or "custom". */
  name: string;
  gpu: Gpu;
  link: HostLink;
  cpu: Cpu;
  /** Issue 16: an NVMe SSD the experts that do not fit in memory are read from (the storage tier). */
  storage?: Ssd;
  /**
   * Issue 16: one memory pool shared by CPU and GPU (Apple M-series, Jetson, DGX Spark, Strix
   * Halo): `gpu.hbmBytes` is the pool and `cpu.dramBytes` the same pool; experts are read by the GPU
   * at `gpu.hbmBytesPerSec` with no host-to-device copy, and the SSD is the offload tier.
   */
  unified?: boolean;
}
