/**
 * Analytical roofline timing: a kernel takes as long as the slower of moving its bytes and doing
 * its FLOPs, plus a fixed launch cost; a copy takes a latency plus bytes over bandwidth.
 */
import type { Dtype } from '../model/types.js';
import type { Cpu, Gpu, HostLink } from './types.js';

/** Peak FLOP/s of `gpu` in compute dtype `dtype`; bf16 when the part lists no rate for it (int4/int2 weights). */
export function gpuFlopsPerSec(gpu: Gpu, dtype: Dtype | undefined): number {
  return (dtype === undefined ? undefined : gpu.flopsPerSec[dtype]) ?? gpu.flopsPerSec.bf16;
}

/** Time of `kernels` GPU kernels that together read/write `bytes` of HBM and do `flops` in `dtype`. */
export function kernelTimeSec(gpu: Gpu, bytes: number, flops: number, dtype?: Dtype, kernels = 1): number {
  return kernels * gpu.launchOverheadSec + Math.max(bytes / gpu.hbmBytesPerSec, flops / gpuFlopsPerSec(gpu, dtype));
}

/** Host-to-device copy of `bytes`; no copy (0 bytes) takes no time. */
export function transferTimeSec(link: HostLink, bytes: number): number {
  return bytes <= 0 ? 0 : link.latencySec + bytes / link.h2dBytesPerSec;
}

/** Device-to-host copy of `bytes`. */
export function d2hTransferTimeSec(link: HostLink, bytes: number): number {
  return bytes <= 0 ? 0 : link.latencySec + bytes / link.d2hBytesPerSec;
}

/** An expert run on the CPU: reading its weights from DRAM or computing, whichever is slower. */
export function cpuExpertTimeSec(cpu: Cpu, bytes: number, flops: number): number {
  return Math.max(bytes / cpu.dramBytesPerSec, flops / cpu.flopsPerSec);
}
