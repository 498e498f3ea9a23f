/**
 * Hardware catalog with datasheet numbers. Internal units are SI (bytes, bytes/s, FLOP/s, s).
 *
 * Conventions:
 * - Memory capacity: a marketed "80GB" is taken as 80 x 2^30 bytes (80 GiB), the common convention.
 *   What nvidia-smi reports as total (and what is usable after the CUDA context) is a little less.
 * - Memory bandwidth: marketed GB/s = 1e9 bytes/s, as in the datasheets.
 * - FLOP/s: dense peaks (no 2:4 structured sparsity). Datasheets that quote only sparse tensor numbers
 *   are halved, as their footnotes say. fp16/bf16/fp8 tensor numbers use FP32 accumulation, what
 *   inference GEMMs use. int8 is TOPS (counted as FLOP/s). int4/int2 weights are computed in bf16/fp16.
 * - launchOverheadSec: 5 us for every GPU. This is a typical measured CUDA kernel launch-to-start
 *   latency (a few us on current drivers), not a datasheet number; calibrate to replace it.
 */
import type { Cpu, Gpu, Hardware, HostLink } from './types.js';

const GiB = 2 ** 30;
const GBps = 1e9;
const TFLOPS = 1e12;
const LAUNCH_OVERHEAD_SEC = 5e-6;

export const gpuPresets: Record<string, Gpu> = {
  'h100-sxm': {
    name: 'NVIDIA H100 SXM5 80GB',
    hbmBytes: 80 * GiB,
    hbmBytesPerSec: 3350 * GBps,
    // Datasheet (sparse): BF16/FP16 1979, FP8/INT8 3958; halved for dense.
    flopsPerSec: { fp32: 67 * TFLOPS, bf16: 989.5 * TFLOPS, fp16: 989.5 * TFLOPS, fp8: 1979 * TFLOPS, int8: 1979 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA H100 Tensor Core GPU datasheet (H100 SXM column), https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet',
  },
  'h100-pcie': {
    name: 'NVIDIA H100 PCIe 80GB',
    hbmBytes: 80 * GiB,
    hbmBytesPerSec: 2000 * GBps,
    // Datasheet (sparse): BF16/FP16 1513, FP8/INT8 3026; halved for dense.
    flopsPerSec: { fp32: 51 * TFLOPS, bf16: 756.5 * TFLOPS, fp16: 756.5 * TFLOPS, fp8: 1513 * TFLOPS, int8: 1513 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA H100 Tensor Core GPU datasheet (H100 PCIe column), https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet',
  },
  'a100-80gb': {
    name: 'NVIDIA A100 SXM4 80GB',
    hbmBytes: 80 * GiB,
    hbmBytesPerSec: 2039 * GBps,
    // Datasheet: BF16/FP16 312 dense (624 sparse), INT8 624 dense. No FP8.
    flopsPerSec: { fp32: 19.5 * TFLOPS, bf16: 312 * TFLOPS, fp16: 312 * TFLOPS, int8: 624 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA A100 Tensor Core GPU datasheet (A100 80GB SXM column), https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf',
  },
  'a100-40gb': {
    name: 'NVIDIA A100 SXM4 40GB',
    hbmBytes: 40 * GiB,
    hbmBytesPerSec: 1555 * GBps,
    flopsPerSec: { fp32: 19.5 * TFLOPS, bf16: 312 * TFLOPS, fp16: 312 * TFLOPS, int8: 624 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA A100 Tensor Core GPU datasheet (A100 40GB SXM column), https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf',
  },
  l4: {
    name: 'NVIDIA L4 24GB',
    hbmBytes: 24 * GiB,
    hbmBytesPerSec: 300 * GBps,
    // Datasheet quotes tensor numbers with sparsity: BF16/FP16 242, FP8/INT8 485; halved for dense.
    flopsPerSec: { fp32: 30.3 * TFLOPS, bf16: 121 * TFLOPS, fp16: 121 * TFLOPS, fp8: 242.5 * TFLOPS, int8: 242.5 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA L4 Tensor Core GPU datasheet, https://resources.nvidia.com/en-us-data-center-overview/l4-gpu-datasheet',
  },
  t4: {
    name: 'NVIDIA T4 16GB',
    hbmBytes: 16 * GiB,
    hbmBytesPerSec: 320 * GBps,
    // Datasheet: FP32 8.1, mixed-precision FP16/FP32 65, INT8 130 TOPS. Turing has no bf16 tensor
    // cores: bf16 runs at the fp32 rate here (use fp16 on this part).
    flopsPerSec: { fp32: 8.1 * TFLOPS, bf16: 8.1 * TFLOPS, fp16: 65 * TFLOPS, int8: 130 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA T4 Tensor Core GPU datasheet, https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/t4-tensor-core-datasheet-951643.pdf',
  },
  'rtx-4090': {
    name: 'NVIDIA GeForce RTX 4090 24GB',
    hbmBytes: 24 * GiB,
    hbmBytesPerSec: 1008 * GBps,
    // Ada whitepaper, RTX 4090 dense: FP16/BF16 tensor with FP32 accumulate 165.2, FP8 with FP32
    // accumulate 330.3, INT8 660.6 TOPS, FP32 82.6.
    flopsPerSec: { fp32: 82.6 * TFLOPS, bf16: 165.2 * TFLOPS, fp16: 165.2 * TFLOPS, fp8: 330.3 * TFLOPS, int8: 660.6 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA Ada GPU Architecture whitepaper (Table: GeForce RTX 4090), https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf',
  },
  'rtx-3090': {
    name: 'NVIDIA GeForce RTX 3090 24GB',
    hbmBytes: 24 * GiB,
    hbmBytesPerSec: 936 * GBps,
    // GA102 whitepaper, RTX 3090 dense: FP16/BF16 tensor with FP32 accumulate 71, INT8 284 TOPS, FP32 35.6.
    flopsPerSec: { fp32: 35.6 * TFLOPS, bf16: 71 * TFLOPS, fp16: 71 * TFLOPS, int8: 284 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA Ampere GA102 GPU Architecture whitepaper (GeForce RTX 3090), https://www.nvidia.com/content/PDF/nvidia-ampere-ga-102-gpu-architecture-whitepaper-v2.pdf',
  },
  'rtx-a5000': {
    name: 'NVIDIA RTX A5000 24GB',
    hbmBytes: 24 * GiB,
    hbmBytesPerSec: 768 * GBps,
    // Datasheet: FP32 27.8, tensor 222.2 (sparse FP16) -> 111.1 dense FP16/BF16; INT8 dense = 2x FP16.
    flopsPerSec: { fp32: 27.8 * TFLOPS, bf16: 111.1 * TFLOPS, fp16: 111.1 * TFLOPS, int8: 222.2 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA RTX A5000 datasheet, https://www.nvidia.com/en-us/design-visualization/rtx-a5000/',
  },
  'rtx-a6000': {
    name: 'NVIDIA RTX A6000 48GB',
    hbmBytes: 48 * GiB,
    hbmBytesPerSec: 768 * GBps,
    // Datasheet: FP32 38.7, tensor 309.7 (sparse FP16) -> 154.8 dense FP16/BF16; INT8 309.7 dense.
    flopsPerSec: { fp32: 38.7 * TFLOPS, bf16: 154.8 * TFLOPS, fp16: 154.8 * TFLOPS, int8: 309.7 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA RTX A6000 datasheet, https://www.nvidia.com/en-us/design-visualization/rtx-a6000/',
  },
};

/**
 * Host-to-device links at PCI-SIG signalling rates, per direction, after 128b/130b encoding:
 * lanes x GT/s x 128/130 / 8. Achievable pinned-memory copies reach roughly 80-90% of this
 * (e.g. ~25 GB/s on Gen4, ~50 GB/s on Gen5); set `link.bandwidthGBps` from a measurement to model
 * that. latencySec: 10 us per transfer, a typical measured cudaMemcpyAsync issue-to-completion time
 * for small transfers, not a spec number.
 */
const pcieLatencySec = 10e-6;
function pcie(gen: number, gtPerSec: number): HostLink {
  const bytesPerSec = (16 * gtPerSec * 1e9 * 128) / 130 / 8;
  return {
    name: `PCIe ${gen}.0 x16`,
    h2dBytesPerSec: bytesPerSec,
    d2hBytesPerSec: bytesPerSec,
    latencySec: pcieLatencySec,
    source: `PCI-SIG PCI Express Base Specification ${gen}.0: ${gtPerSec} GT/s per lane, 128b/130b encoding, x16, per direction`,
  };
}

export const linkPresets: Record<string, HostLink> = {
  'pcie3-x16': pcie(3, 8), // 15.75 GB/s
  'pcie4-x16': pcie(4, 16), // 31.5 GB/s
  'pcie5-x16': pcie(5, 32), // 63.0 GB/s
};

/**
 * Hosts. dramBytesPerSec = sockets x channels x MT/s x 8 bytes (64-bit channels).
 * flopsPerSec = cores x base clock x fp32 FLOP/cycle, where FLOP/cycle = FMA units x SIMD lanes x 2:
 * AVX-512 with 2 FMA units (Sapphire Rapids) = 2 x 16 x 2 = 64; AVX2 / Zen 2 and Zen 4 (two 256-bit
 * FMA pipes; Zen 4 runs AVX-512 over them) = 2 x 8 x 2 = 32. Base clock because all-core vector
 * clocks sit near it. This is a peak: expert GEMVs on CPU are memory-bound long before it.
 * dramBytes is a configuration choice, not a spec; override with `cpu.memoryGiB`.
 */
export const cpuPresets: Record<string, Cpu> = {
  'xeon-8480plus-2s': {
    name: '2x Intel Xeon Platinum 8480+',
    dramBytes: 1024 * GiB, // 16 x 64 GB DDR5 RDIMM (one DIMM per channel)
    dramBytesPerSec: 2 * 8 * 4800e6 * 8, // 614.4 GB/s
    flopsPerSec: 2 * 56 * 2.0e9 * 64, // 14.3 TFLOP/s
    source: 'Intel ARK, Xeon Platinum 8480+: 56 cores, 2.0 GHz base, 8 channels DDR5-4800, 2 AVX-512 FMA units (ark.intel.com)',
  },
  'epyc-7742-2s': {
    name: '2x AMD EPYC 7742',
    dramBytes: 1024 * GiB, // as in NVIDIA DGX A100 (1 TB system memory)
    dramBytesPerSec: 2 * 8 * 3200e6 * 8, // 409.6 GB/s
    flopsPerSec: 2 * 64 * 2.25e9 * 32, // 9.2 TFLOP/s
    source: 'AMD EPYC 7742 product page: 64 cores, 2.25 GHz base, 8 channels DDR4-3200, https://www.amd.com/en/products/cpu/amd-epyc-7742',
  },
  'ryzen-7950x': {
    name: 'AMD Ryzen 9 7950X',
    dramBytes: 64 * GiB, // 2 x 32 GB DDR5
    dramBytesPerSec: 2 * 5200e6 * 8, // 83.2 GB/s, dual channel DDR5-5200 (AMD's rated maximum)
    flopsPerSec: 16 * 4.5e9 * 32, // 2.3 TFLOP/s
    source: 'AMD Ryzen 9 7950X product page: 16 cores, 4.5 GHz base, 2 channels DDR5-5200, https://www.amd.com/en/products/processors/desktops/ryzen/7000-series/amd-ryzen-9-7950x.html',
  },
};

function machine(name: string, gpu: string, link: string, cpu: string): Hardware {
  return { name, gpu: gpuPresets[gpu], link: linkPresets[link], cpu: cpuPresets[cpu] };
}

/**
 * One machine per GPU, paired the way such GPUs are usually deployed: H100 with Gen5 and Sapphire
 * Rapids (as in DGX H100), A100 with Gen4 and EPYC 7742 (as in DGX A100), L4 (Gen4 x16) and T4
 * (Gen3 x16) in Sapphire Rapids servers, desktop and workstation cards (all Gen4 x16) in a Ryzen desktop.
 */
export const hardwarePresets: Record<string, Hardware> = {
  'h100-sxm': machine('h100-sxm', 'h100-sxm', 'pcie5-x16', 'xeon-8480plus-2s'),
  'h100-pcie': machine('h100-pcie', 'h100-pcie', 'pcie5-x16', 'xeon-8480plus-2s'),
  'a100-80gb': machine('a100-80gb', 'a100-80gb', 'pcie4-x16', 'epyc-7742-2s'),
  'a100-40gb': machine('a100-40gb', 'a100-40gb', 'pcie4-x16', 'epyc-7742-2s'),
  l4: machine('l4', 'l4', 'pcie4-x16', 'xeon-8480plus-2s'),
  t4: machine('t4', 't4', 'pcie3-x16', 'xeon-8480plus-2s'),
  'rtx-4090': machine('rtx-4090', 'rtx-4090', 'pcie4-x16', 'ryzen-7950x'),
  'rtx-3090': machine('rtx-3090', 'rtx-3090', 'pcie4-x16', 'ryzen-7950x'),
  'rtx-a5000': machine('rtx-a5000', 'rtx-a5000', 'pcie4-x16', 'ryzen-7950x'),
  'rtx-a6000': machine('rtx-a6000', 'rtx-a6000', 'pcie4-x16', 'ryzen-7950x'),
};
