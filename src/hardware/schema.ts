/**
 * Hardware models in SI units (bytes, bytes per second, FLOP per second, seconds): the one
 * definition. The types (hardware/types.ts) are inferred from this schema, which also validates a
 * calibration profile's `hardware` (hardware/profile-file.ts).
 */
import { z } from 'zod';

const finite = z.number().finite();
const positive = finite.positive();
const nonNegative = finite.nonnegative();

/** Compute dtypes a sustained rate can be given for (the GEMM dtypes of flopsPerSec). */
const SUSTAINED_DTYPES = ['fp32', 'bf16', 'fp16', 'fp8', 'int8'] as const;

/**
 * Measured sustained dense large-GEMM FLOP/s by compute dtype (issue 12): what a long run of large
 * matmuls reaches on the part as sold (power and clock limits included: a 70 W T4 runs cuBLAS fp16
 * at ~24 of its 65 TFLOP/s). The roofline charges compute at this rate where a dtype has one and at
 * the datasheet peak otherwise. Each value is at most that dtype's peak; `source` cites the measurement.
 */
export const sustainedFlopsSchema = z
  .object({
    fp32: positive.optional(),
    bf16: positive.optional(),
    fp16: positive.optional(),
    fp8: positive.optional(),
    int8: positive.optional(),
    source: z.string().min(1),
  })
  .strict();

export const gpuSchema = z
  .object({
    name: z.string().min(1),
    hbmBytes: positive,
    hbmBytesPerSec: positive,
    /** Dense (no sparsity) peak FLOP/s by compute dtype. int4/int2 weights are computed in the listed compute dtype. */
    flopsPerSec: z
      .object({
        fp32: positive,
        bf16: positive,
        fp16: positive.optional(),
        fp8: positive.optional(),
        int8: positive.optional(),
        int4: positive.optional(),
        int3: positive.optional(),
        int2: positive.optional(),
      })
      .strict(),
    /** Fixed cost per kernel launch, seconds. */
    launchOverheadSec: nonNegative,
    /** Measured sustained large-GEMM FLOP/s by compute dtype, where published; absent: the peak above. */
    sustainedFlopsPerSec: sustainedFlopsSchema.optional(),
    /** Datasheet or measurement each number comes from. */
    source: z.string().min(1),
  })
  .strict()
  .superRefine((g, ctx) => {
    const s = g.sustainedFlopsPerSec;
    if (!s) return;
    for (const d of SUSTAINED_DTYPES) {
      const v = s[d];
      if (v === undefined) continue;
      const peak = g.flopsPerSec[d];
      if (peak === undefined) ctx.addIssue({ code: 'custom', path: ['sustainedFlopsPerSec', d], message: `expected a dtype with a peak in flopsPerSec (flopsPerSec.${d} is not given)` });
      else if (v > peak) ctx.addIssue({ code: 'custom', path: ['sustainedFlopsPerSec', d], message: `expected at most the peak flopsPerSec.${d} (${peak}), got ${v}` });
    }
  });

export const hostLinkSchema = z
  .object({
    name: z.string().min(1),
    /** Host-to-device bandwidth, bytes/s (per direction). */
    h2dBytesPerSec: positive,
    d2hBytesPerSec: positive,
    /** Per-transfer latency, seconds. */
    latencySec: nonNegative,
    /**
     * Whether transfers run while the GPU computes (a copy engine: true, the default). false: the
     * two never overlap, as when one host thread issues both and waits for each (ONNX Runtime's
     * synchronous runs, which calibration profiles describe).
     */
    overlapsCompute: z.boolean().optional(),
    source: z.string().min(1),
  })
  .strict();

export const cpuSchema = z
  .object({
    name: z.string().min(1),
    dramBytes: positive,
    dramBytesPerSec: positive,
    /** Sustained FLOP/s for the expert GEMV/GEMM on all cores. */
    flopsPerSec: positive,
    /**
     * Sockets (NUMA nodes) the DRAM bandwidth above is summed over. Informational, except for a
     * runtime that keeps its weights in one node's memory (execution semantics cpuWeightsOnOneNode:
     * llama.cpp without --numa), which reads at dramBytesPerSec / sockets.
     */
    sockets: z.number().int().positive().optional(),
    /** Physical cores over all sockets. */
    cores: z.number().int().positive().optional(),
    /** Vector/matrix ISA extensions relevant to expert kernels: avx2, avx512, avx512-bf16, avx512-vnni, amx, sve2, neon. */
    isa: z.array(z.string()).optional(),
    /** Peak FP32 FLOP/s per ISA over all cores (the `flopsPerSec` above is the widest vector ISA's). */
    flopsPerSecByIsa: z.object({ avx2: positive.optional(), avx512: positive.optional(), sve2: positive.optional() }).strict().optional(),
    /**
     * Achieved DRAM bandwidth of a quantised-block mat-vec (GGUF k-quant dot products, decode at one
     * token) on this host, as a fraction of dramBytesPerSec, where a measurement is published. A CPU
     * kernel of that family (CpuSemantics.quantGemv) reads at no more than this fraction.
     */
    quantGemvBandwidthFraction: z.number().positive().max(1).optional(),
    /** Peak matrix-engine FLOP/s (Intel AMX tiles) over all cores, by data type; int8 counted as ops. */
    matrixFlopsPerSec: z.object({ bf16: positive.optional(), int8: positive.optional() }).strict().optional(),
    source: z.string().min(1),
  })
  .strict();

/** An NVMe SSD (issue 16; fields and their sources in hardware/storage.ts). */
export const ssdSchema = z
  .object({
    name: z.string().min(1),
    seqReadBytesPerSec: positive,
    randReadIops: positive,
    readLatencySec: nonNegative,
    pcieGen: positive,
    lanes: positive,
    /** Request size the reader issues, bytes. */
    blockBytes: positive,
    /** Requests the reader keeps in flight. */
    queueDepth: positive,
    source: z.string().min(1),
    /** A token bucket in front of the disk (timing/storage.ts SsdBucket); absent: none. */
    burst: z.object({ bucketBytes: nonNegative, burstBytesPerSec: positive, sustainedBytesPerSec: positive, source: z.string().min(1) }).strict().optional(),
  })
  .strict();

export const hardwareSchema = z
  .object({
    /** Preset key this came from, or "custom". */
    name: z.string().min(1),
    gpu: gpuSchema,
    link: hostLinkSchema,
    cpu: cpuSchema,
    /** Issue 16: an NVMe SSD the experts that do not fit in memory are read from (the storage tier). */
    storage: ssdSchema.optional(),
    /**
     * Issue 16: one memory pool shared by CPU and GPU (Apple M-series, Jetson, DGX Spark, Strix
     * Halo): `gpu.hbmBytes` is the pool and `cpu.dramBytes` the same pool; experts are read by the GPU
     * at `gpu.hbmBytesPerSec` with no host-to-device copy, and the SSD is the offload tier.
     */
    unified: z.boolean().optional(),
  })
  .strict();
