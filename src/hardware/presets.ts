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
/** Said in each GPU's source, so `moesim presets --json` shows which of its numbers no datasheet gives. */
const LAUNCH_NOTE = 'launchOverheadSec 5 us: not from the datasheet, a typical CUDA launch-to-start latency with no cited measurement (moesim calibrate replaces it)';

function withLaunchNote(gpus: Record<string, Gpu>): Record<string, Gpu> {
  for (const g of Object.values(gpus)) if (g.launchOverheadSec === LAUNCH_OVERHEAD_SEC) g.source = `${g.source}; ${LAUNCH_NOTE}`;
  return gpus;
}

export const gpuPresets: Record<string, Gpu> = withLaunchNote({
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
    sustainedFlopsPerSec: {
      bf16: 271.2 * TFLOPS,
      source:
        'Maximum Achievable Matmul FLOPS (mean of 100 torch.matmul iterations after 50 warm-up, best shape of a search), stas00/ml-engineering@b9e29720eebd4aa946fa9678975385efbc90a777:compute/accelerator/README.md (https://github.com/stas00/ml-engineering/blob/b9e29720eebd4aa946fa9678975385efbc90a777/compute/accelerator/README.md), BF16 table: "| NVIDIA A100 SXM | 271.2 | 312 | 86.9% | 1024x10240x5120 | 2.6.0+cu126 |" (the row names no memory size; no fp16 row)',
    },
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
    sustainedFlopsPerSec: {
      fp16: 52.47 * TFLOPS,
      bf16: 56.9 * TFLOPS,
      source:
        'zzc0721/torch-performance-test-data issue #120 (2026-01-12, https://github.com/zzc0721/torch-performance-test-data/issues/120: "NVIDIA L4", a physical machine, PyTorch 2.9.0+cu128): "FP16: ... 10240x10240: 52.47 TFLOPS", "BF16: ... 10240x10240: 56.90 TFLOPS"; the script (test.py@9d82827637262c4351e3f9483f96b8cff57a601f) times 30 torch.mm of two n x n matrices after 10 warm-up with CUDA events, 2 n^3 FLOP each; the 10240 row taken, the longest run (about 1.2 s), as the 72 W part power-caps a continuous GEMM (its 2048 row, milliseconds long, reads 68.83 / 70.89)',
    },
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
    sustainedFlopsPerSec: {
      fp16: 24 * TFLOPS,
      source:
        'NVIDIA Developer Forums, "About GPU peak performance" (https://forums.developer.nvidia.com/t/about-gpu-peak-performance/264462): cuBLAS fp16 4096x4096 by 4096x4096, mean of 100 iterations, "T4’s real FP16 flops is about 24T"; NVIDIA\'s moderator: "the performance of ~24T is arising due to power capping of the GPU ... about 70W. It is expected behavior for approximately continuous matrix multiply operations on a T4"',
    },
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
  // --- Published setups (issue 12). GeForce tensor rates: FP16/BF16 with FP32 accumulate runs at half
  // the FP16-accumulate rate on GeForce Ampere/Ada (SMs x boost clock x 512 FLOP/clk), as the
  // Ampere GA102 and Ada whitepapers tabulate; INT8 is 4x that (2x the FP16-accumulate rate).
  'rtx-3060': {
    name: 'NVIDIA GeForce RTX 3060 12GB',
    hbmBytes: 12 * GiB,
    hbmBytesPerSec: 360 * GBps, // 192-bit GDDR6 at 15 Gbps
    // 28 SMs (3584 CUDA cores), 1.777 GHz boost: FP32 12.74; FP16/BF16 tensor, FP32 accumulate 28 x 1.777 x 512 = 25.5; INT8 102.
    flopsPerSec: { fp32: 12.74 * TFLOPS, bf16: 25.5 * TFLOPS, fp16: 25.5 * TFLOPS, int8: 102 * TFLOPS },
    sustainedFlopsPerSec: {
      fp16: 24.8 * TFLOPS,
      bf16: 25.47 * TFLOPS,
      source:
        'zzc0721/torch-performance-test-data issue #131 (2026-02-02, https://github.com/zzc0721/torch-performance-test-data/issues/131: "NVIDIA GeForce RTX 3060", a physical machine, PyTorch 2.7.0+cu128; the memory size is not stated): "FP16: ... 10240x10240: 24.80 TFLOPS", "BF16: ... 10240x10240: 25.47 TFLOPS" (test.py@9d82827637262c4351e3f9483f96b8cff57a601f: 30 timed torch.mm after 10 warm-up; the 10240 row, the longest run)',
    },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA GeForce RTX 3060 family specifications (3584 cores, 1.78 GHz boost, 12 GB GDDR6 192-bit), https://www.nvidia.com/en-us/geforce/graphics-cards/30-series/rtx-3060-3060ti/; tensor rates per the NVIDIA Ampere GA102 whitepaper method, https://www.nvidia.com/content/PDF/nvidia-ampere-ga-102-gpu-architecture-whitepaper-v2.pdf',
  },
  'rtx-3080': {
    name: 'NVIDIA GeForce RTX 3080 10GB',
    hbmBytes: 10 * GiB,
    hbmBytesPerSec: 760 * GBps,
    // GA102 whitepaper, RTX 3080 dense: FP16/BF16 tensor with FP32 accumulate 59.5, INT8 238 TOPS, FP32 29.8.
    flopsPerSec: { fp32: 29.8 * TFLOPS, bf16: 59.5 * TFLOPS, fp16: 59.5 * TFLOPS, int8: 238 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA Ampere GA102 GPU Architecture whitepaper (GeForce RTX 3080), https://www.nvidia.com/content/PDF/nvidia-ampere-ga-102-gpu-architecture-whitepaper-v2.pdf',
  },
  'rtx-3080-laptop': {
    name: 'NVIDIA GeForce RTX 3080 Laptop GPU 16GB',
    hbmBytes: 16 * GiB,
    hbmBytesPerSec: 448 * GBps, // 256-bit GDDR6 at 14 Gbps
    // GA104, 48 SMs (6144 CUDA cores); boost 1.245-1.71 GHz by the laptop's power limit: the top (1.71 GHz)
    // is taken: FP32 21.0, FP16/BF16 tensor FP32-accumulate 48 x 1.71 x 512 = 42.0, INT8 168.
    flopsPerSec: { fp32: 21.0 * TFLOPS, bf16: 42.0 * TFLOPS, fp16: 42.0 * TFLOPS, int8: 168 * TFLOPS },
    sustainedFlopsPerSec: {
      fp16: 33.65 * TFLOPS,
      bf16: 33.3 * TFLOPS,
      source:
        'zzc0721/torch-performance-test-data issue #61 (2025-10-08, https://github.com/zzc0721/torch-performance-test-data/issues/61: "NVIDIA GeForce RTX 3080 Laptop GPU", PyTorch 2.6.0+cu124; the laptop\'s power limit is not stated): "FP16: ... 10240x10240: 33.65 TFLOPS", "BF16: ... 10240x10240: 33.30 TFLOPS" (test.py@9d82827637262c4351e3f9483f96b8cff57a601f: 30 timed torch.mm after 10 warm-up; the 10240 row, the longest run)',
    },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA GeForce RTX 3080 Laptop GPU specifications (6144 cores, 1245-1710 MHz boost, 16 GB GDDR6 256-bit), https://www.nvidia.com/en-us/geforce/laptops/30-series/',
  },
  'rtx-4070': {
    name: 'NVIDIA GeForce RTX 4070 12GB',
    hbmBytes: 12 * GiB,
    hbmBytesPerSec: 504 * GBps, // 192-bit GDDR6X at 21 Gbps
    // 46 SMs (5888 CUDA cores), 2.475 GHz boost: FP32 29.1; FP16/BF16 FP32-accumulate 46 x 2.475 x 512 = 58.3; FP8 116.6; INT8 233.2.
    flopsPerSec: { fp32: 29.1 * TFLOPS, bf16: 58.3 * TFLOPS, fp16: 58.3 * TFLOPS, fp8: 116.6 * TFLOPS, int8: 233.2 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA GeForce RTX 4070 family specifications (5888 cores, 2.48 GHz boost, 12 GB GDDR6X 192-bit), https://www.nvidia.com/en-us/geforce/graphics-cards/40-series/rtx-4070-family/; tensor rates per the Ada whitepaper method, https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf',
  },
  'rtx-4080': {
    name: 'NVIDIA GeForce RTX 4080 16GB',
    hbmBytes: 16 * GiB,
    hbmBytesPerSec: 716.8 * GBps,
    // Ada whitepaper, RTX 4080 dense: FP16/BF16 FP32-accumulate 97.5, FP8 194.9, INT8 389.9 TOPS, FP32 48.7.
    flopsPerSec: { fp32: 48.7 * TFLOPS, bf16: 97.5 * TFLOPS, fp16: 97.5 * TFLOPS, fp8: 194.9 * TFLOPS, int8: 389.9 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA Ada GPU Architecture whitepaper (Table: GeForce RTX 4080), https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf',
  },
  'rtx-4090d': {
    name: 'NVIDIA GeForce RTX 4090 D 24GB',
    hbmBytes: 24 * GiB,
    hbmBytesPerSec: 1008 * GBps,
    // 114 SMs (14592 CUDA cores), 2.52 GHz boost: FP32 73.5; FP16/BF16 FP32-accumulate 114 x 2.52 x 512 = 147.1; FP8 294.2; INT8 588.4.
    flopsPerSec: { fp32: 73.5 * TFLOPS, bf16: 147.1 * TFLOPS, fp16: 147.1 * TFLOPS, fp8: 294.2 * TFLOPS, int8: 588.4 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA GeForce RTX 4090 D specifications (14592 cores, 2.52 GHz boost, 24 GB GDDR6X 384-bit, 21 Gbps), https://www.nvidia.cn/geforce/graphics-cards/40-series/rtx-4090-d/',
  },
  'rtx-5090': {
    name: 'NVIDIA GeForce RTX 5090 32GB',
    hbmBytes: 32 * GiB,
    hbmBytesPerSec: 1792 * GBps, // 512-bit GDDR7 at 28 Gbps
    // Blackwell GeForce whitepaper, RTX 5090 dense: FP16/BF16 FP32-accumulate 209.5, FP8 419, INT8 838 TOPS, FP32 104.8.
    flopsPerSec: { fp32: 104.8 * TFLOPS, bf16: 209.5 * TFLOPS, fp16: 209.5 * TFLOPS, fp8: 419 * TFLOPS, int8: 838 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA RTX Blackwell GPU Architecture whitepaper (GeForce RTX 5090), https://images.nvidia.com/aem-dam/Solutions/geforce/blackwell/nvidia-rtx-blackwell-gpu-architecture.pdf',
  },
  a10: {
    name: 'NVIDIA A10 24GB',
    hbmBytes: 24 * GiB,
    hbmBytesPerSec: 600 * GBps,
    // Datasheet: FP32 31.2, BF16/FP16 tensor 125 (250 sparse), INT8 250 (500 sparse).
    flopsPerSec: { fp32: 31.2 * TFLOPS, bf16: 125 * TFLOPS, fp16: 125 * TFLOPS, int8: 250 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA A10 Tensor Core GPU datasheet, https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a10/pdf/a10-datasheet.pdf',
  },
  a10g: {
    name: 'NVIDIA A10G 24GB (AWS G5)',
    hbmBytes: 24 * GiB,
    hbmBytesPerSec: 600 * GBps,
    // NVIDIA publishes no A10G datasheet; AWS gives 24 GB per GPU. The A10 datasheet's numbers (same
    // GA102 board memory system) stand in; treat the FLOP/s as unconfirmed for this part.
    flopsPerSec: { fp32: 31.2 * TFLOPS, bf16: 125 * TFLOPS, fp16: 125 * TFLOPS, int8: 250 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'AWS EC2 G5 instances (NVIDIA A10G, 24 GB per GPU), https://aws.amazon.com/ec2/instance-types/g5/; other numbers from the NVIDIA A10 datasheet, https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a10/pdf/a10-datasheet.pdf',
  },
  l40s: {
    name: 'NVIDIA L40S 48GB',
    hbmBytes: 48 * GiB,
    hbmBytesPerSec: 864 * GBps,
    // Datasheet (sparse): BF16/FP16 733, FP8 1466, INT8 1466; halved for dense. FP32 91.6.
    flopsPerSec: { fp32: 91.6 * TFLOPS, bf16: 366.5 * TFLOPS, fp16: 366.5 * TFLOPS, fp8: 733 * TFLOPS, int8: 733 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA L40S GPU datasheet, https://resources.nvidia.com/en-us-l40s/l40s-datasheet-28413',
  },
  v100: {
    name: 'NVIDIA Tesla V100 SXM2 32GB',
    hbmBytes: 32 * GiB,
    hbmBytesPerSec: 900 * GBps,
    // Datasheet (SXM2): FP32 15.7, tensor (FP16 mixed precision) 125. Volta has no bf16 or int8 tensor
    // cores: bf16 runs at the fp32 rate here.
    flopsPerSec: { fp32: 15.7 * TFLOPS, bf16: 15.7 * TFLOPS, fp16: 125 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA Tesla V100 GPU datasheet (V100 SXM2 column), https://images.nvidia.com/content/technologies/volta/pdf/volta-v100-datasheet-update-us-1165301-r5.pdf',
  },
  p40: {
    name: 'NVIDIA Tesla P40 24GB',
    hbmBytes: 24 * GiB,
    hbmBytesPerSec: 346 * GBps,
    // Datasheet: FP32 12, INT8 47 TOPS. Pascal GP102's native fp16 is 1/64 rate, so runtimes compute in
    // fp32 on this part: fp16 and bf16 are set to the fp32 rate.
    flopsPerSec: { fp32: 12 * TFLOPS, bf16: 12 * TFLOPS, fp16: 12 * TFLOPS, int8: 47 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA Tesla P40 datasheet, https://images.nvidia.com/content/pdf/tesla/184427-Tesla-P40-Datasheet-NV-Final-Letter-Web.pdf',
  },
  'rtx-2080': {
    name: 'NVIDIA GeForce RTX 2080 8GB',
    hbmBytes: 8 * GiB,
    hbmBytesPerSec: 448 * GBps, // 256-bit GDDR6 at 14 Gbps
    // Turing TU104, 46 SMs (2944 CUDA cores), 1.71 GHz reference boost: FP32 10.07; FP16 tensor with FP32
    // accumulate 46 x 1.71 GHz x 512 = 40.3 (GeForce Turing runs FP32-accumulate at half the FP16-accumulate 80.5); INT8 161 TOPS.
    // Turing has no bf16 tensor cores: bf16 at the fp32 rate.
    flopsPerSec: { fp32: 10.07 * TFLOPS, bf16: 10.07 * TFLOPS, fp16: 46 * 1.71e9 * 512, int8: 161.1 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA Turing GPU Architecture whitepaper (WP-09183-001, Appendix A, GeForce RTX 2080 reference: 2944 cores, 1710 MHz boost, 8 GB GDDR6 256-bit 14 Gbps = 448 GB/s, 10.1 TFLOPS FP32, 80.5 / 40.3 TFLOPS FP16 tensor with FP16 / FP32 accumulate, 161.1 INT8 TOPS; figures recalled, the PDF not re-read this session: to be checked), https://images.nvidia.com/aem-dam/en-zz/Solutions/design-visualization/technologies/turing-architecture/NVIDIA-Turing-Architecture-Whitepaper.pdf',
  },
  'quadro-rtx-6000': {
    name: 'NVIDIA Quadro RTX 6000 24GB',
    hbmBytes: 24 * GiB,
    hbmBytesPerSec: 672 * GBps,
    // Datasheet: FP32 16.3, tensor 130.5 (FP16), INT8 261 TOPS. Turing has no bf16 tensor cores: bf16 at the fp32 rate.
    flopsPerSec: { fp32: 16.3 * TFLOPS, bf16: 16.3 * TFLOPS, fp16: 130.5 * TFLOPS, int8: 261 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA Quadro RTX 6000 datasheet, https://www.nvidia.com/content/dam/en-zz/Solutions/design-visualization/quadro-product-literature/quadro-rtx-6000-us-nvidia-704093-r4-web.pdf',
  },
  'rtx-6000-ada': {
    name: 'NVIDIA RTX 6000 Ada Generation 48GB',
    hbmBytes: 48 * GiB,
    hbmBytesPerSec: 960 * GBps,
    // Datasheet: FP32 91.1 TFLOPS, Tensor 1457 TFLOPS (FP8, with sparsity) -> 728.5 dense FP8/INT8,
    // 364.2 dense FP16/BF16 (the professional AD102 card: FP32 accumulation at the full rate).
    flopsPerSec: { fp32: 91.1 * TFLOPS, bf16: 364.2 * TFLOPS, fp16: 364.2 * TFLOPS, fp8: 728.5 * TFLOPS, int8: 728.5 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA RTX 6000 Ada Generation datasheet (48 GB GDDR6, 960 GB/s, PCIe 4.0 x16), https://www.nvidia.com/content/dam/en-zz/Solutions/design-visualization/rtx-6000/proviz-print-rtx6000-datasheet-web-2504660.pdf',
  },
  h200: {
    name: 'NVIDIA H200 SXM 141GB',
    hbmBytes: 141 * GiB,
    hbmBytesPerSec: 4800 * GBps,
    // Datasheet (sparse): BF16/FP16 1979, FP8/INT8 3958; halved for dense. FP32 67 (same GH100 as H100 SXM).
    flopsPerSec: { fp32: 67 * TFLOPS, bf16: 989.5 * TFLOPS, fp16: 989.5 * TFLOPS, fp8: 1979 * TFLOPS, int8: 1979 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA H200 Tensor Core GPU datasheet (H200 SXM column), https://nvdam.widen.net/s/nb5zzzsjdf/hpc-datasheet-sc23-h200-datasheet-3002446',
  },
  b200: {
    name: 'NVIDIA B200 180GB (HGX B200)',
    hbmBytes: 180 * GiB, // HGX B200: 1440 GB over 8 GPUs
    hbmBytesPerSec: 7700 * GBps, // HGX B200: 62 TB/s over 8 GPUs
    // HGX B200 (8 GPUs, sparse): FP16/BF16 36 PF, FP8 72 PF, INT8 72 POPS; dense FP32 600 TF. Per GPU,
    // halved for dense: BF16 2250, FP8 4500, INT8 4500, FP32 75.
    flopsPerSec: { fp32: 75 * TFLOPS, bf16: 2250 * TFLOPS, fp16: 2250 * TFLOPS, fp8: 4500 * TFLOPS, int8: 4500 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA HGX platform specifications (HGX B200 column, divided by 8 GPUs), https://www.nvidia.com/en-us/data-center/hgx/',
  },
  gh200: {
    name: 'NVIDIA GH200 Grace Hopper Superchip (H100 96GB HBM3)',
    hbmBytes: 96 * GiB,
    hbmBytesPerSec: 4000 * GBps,
    // Datasheet (sparse): BF16/FP16 1979, FP8/INT8 3958; halved for dense. FP32 67.
    flopsPerSec: { fp32: 67 * TFLOPS, bf16: 989.5 * TFLOPS, fp16: 989.5 * TFLOPS, fp8: 1979 * TFLOPS, int8: 1979 * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: 'NVIDIA GH200 Grace Hopper Superchip datasheet (96GB HBM3, 4 TB/s), https://resources.nvidia.com/en-us-grace-cpu/grace-hopper-superchip',
  },
});

/**
 * Host-to-device links at PCI-SIG signalling rates, per direction, after 128b/130b encoding:
 * lanes x GT/s x 128/130 / 8. Achievable pinned-memory copies reach roughly 80-90% of this
 * (e.g. ~25 GB/s on Gen4, ~50 GB/s on Gen5); set `link.bandwidthGBps` from a measurement to model
 * that. latencySec: 10 us per transfer, a typical measured cudaMemcpyAsync issue-to-completion time
 * for small transfers, not a spec number.
 */
const pcieLatencySec = 10e-6;
const LINK_LATENCY_NOTE = 'latencySec 10 us per transfer: not from the specification, a typical small-copy issue-to-completion time with no cited measurement (moesim calibrate replaces it)';
function pcie(gen: number, gtPerSec: number): HostLink {
  const bytesPerSec = (16 * gtPerSec * 1e9 * 128) / 130 / 8;
  return {
    name: `PCIe ${gen}.0 x16`,
    h2dBytesPerSec: bytesPerSec,
    d2hBytesPerSec: bytesPerSec,
    latencySec: pcieLatencySec,
    source: `PCI-SIG PCI Express Base Specification ${gen}.0: ${gtPerSec} GT/s per lane, 128b/130b encoding, x16, per direction; ${LINK_LATENCY_NOTE}`,
  };
}

export const linkPresets: Record<string, HostLink> = {
  'pcie3-x16': pcie(3, 8), // 15.75 GB/s
  'pcie4-x16': pcie(4, 16), // 31.5 GB/s
  'pcie5-x16': pcie(5, 32), // 63.0 GB/s
  /**
   * GH200's CPU-GPU link. NVIDIA quotes 900 GB/s total (bidirectional), so 450 GB/s per direction.
   * The latency is the PCIe presets' typical per-transfer cost (not measured for C2C).
   */
  'nvlink-c2c': {
    name: 'NVLink-C2C',
    h2dBytesPerSec: 450 * GBps,
    d2hBytesPerSec: 450 * GBps,
    latencySec: pcieLatencySec,
    source: `NVIDIA GH200 Grace Hopper Superchip datasheet: NVLink-C2C 900 GB/s bidirectional CPU-GPU bandwidth, https://resources.nvidia.com/en-us-grace-cpu/grace-hopper-superchip; ${LINK_LATENCY_NOTE} (the PCIe figure, not measured for C2C)`,
  },
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
  // --- Published setups (issue 12). Same formulas; sockets and cores recorded for reading.
  'xeon-gold-6126-2s': {
    name: '2x Intel Xeon Gold 6126 (Skylake-SP)',
    dramBytes: 384 * GiB, // 12 x 32 GB DDR4 RDIMM
    dramBytesPerSec: 2 * 6 * 2666e6 * 8, // 255.9 GB/s
    flopsPerSec: 2 * 12 * 2.6e9 * 64, // 4.0 TFLOP/s (AVX-512, 2 FMA units)
    sockets: 2,
    cores: 24,
    isa: ['avx2', 'avx512'],
    flopsPerSecByIsa: { avx2: 2 * 12 * 2.6e9 * 32, avx512: 2 * 12 * 2.6e9 * 64 },
    source: 'Intel ARK, Xeon Gold 6126: 12 cores, 2.60 GHz base, 6 channels DDR4-2666, 2 AVX-512 FMA units (ark.intel.com/content/www/us/en/ark/products/120483)',
  },
  'xeon-8280-2s': {
    name: '2x Intel Xeon Platinum 8280 (Cascade Lake)',
    dramBytes: 384 * GiB, // 12 x 32 GB DDR4 RDIMM
    dramBytesPerSec: 2 * 6 * 2933e6 * 8, // 281.6 GB/s
    flopsPerSec: 2 * 28 * 2.7e9 * 64, // 9.7 TFLOP/s (AVX-512, 2 FMA units)
    sockets: 2,
    cores: 56,
    isa: ['avx2', 'avx512', 'avx512-vnni'],
    flopsPerSecByIsa: { avx2: 2 * 28 * 2.7e9 * 32, avx512: 2 * 28 * 2.7e9 * 64 },
    source: 'Intel ARK, Xeon Platinum 8280: 28 cores, 2.70 GHz base, 6 channels DDR4-2933, 2 AVX-512 FMA units, Intel DL Boost (VNNI) (ark.intel.com/content/www/us/en/ark/products/192478)',
  },
  'xeon-e5-2698v4-2s': {
    name: '2x Intel Xeon E5-2698 v4 (Broadwell-EP)',
    dramBytes: 512 * GiB, // as in NVIDIA DGX-1 (512 GB DDR4)
    dramBytesPerSec: 2 * 4 * 2400e6 * 8, // 153.6 GB/s
    flopsPerSec: 2 * 20 * 2.2e9 * 32, // 2.8 TFLOP/s (AVX2, 2 FMA units)
    sockets: 2,
    cores: 40,
    isa: ['avx2'],
    flopsPerSecByIsa: { avx2: 2 * 20 * 2.2e9 * 32 },
    source: 'Intel ARK, Xeon E5-2698 v4: 20 cores, 2.20 GHz base, 4 channels DDR4-2400, AVX2 (ark.intel.com/content/www/us/en/ark/products/91753)',
  },
  'xeon-gold-6454s-2s': {
    name: '2x Intel Xeon Gold 6454S (Sapphire Rapids)',
    dramBytes: 1024 * GiB, // 16 x 64 GB DDR5-4800, as in kTransformers' showcase machine (1 TB)
    dramBytesPerSec: 2 * 8 * 4800e6 * 8, // 614.4 GB/s
    flopsPerSec: 2 * 32 * 2.2e9 * 64, // 9.0 TFLOP/s (AVX-512, 2 FMA units)
    sockets: 2,
    cores: 64,
    isa: ['avx2', 'avx512', 'avx512-bf16', 'avx512-vnni', 'amx'],
    flopsPerSecByIsa: { avx2: 2 * 32 * 2.2e9 * 32, avx512: 2 * 32 * 2.2e9 * 64 },
    // AMX: 1024 BF16 FLOP and 2048 INT8 ops per cycle per core (Intel's AMX TMUL peak).
    matrixFlopsPerSec: { bf16: 2 * 32 * 2.2e9 * 1024, int8: 2 * 32 * 2.2e9 * 2048 },
    // Measured by difference from kTransformers' V0.2 table on this machine (2x 6454S, 8 x DDR5-4800
    // per socket): decode at 8 and at 6 routed experts, so 1/tok_s(8) - 1/tok_s(6) is the CPU time of
    // 2 experts x 58 MoE layers of DeepSeek-V3 at Q4_K_M (3.107 GB as the suite sizes it; every fixed
    // cost cancels): dual socket (USE_NUMA, a copy per node) 1/12.208 - 1/13.69 = 8.87 ms -> 350 GB/s
    // = 0.570 of 614.4 GB/s; single socket (numactl -N 1 -m 1) 1/8.73 - 1/10.303 = 17.49 ms -> 178 GB/s
    // = 0.578 of 307.2 GB/s. Per socket the same fraction in both modes. Fit subset declared: those
    // four rows of the suite (kt-v02-{dual,single}-{6e,8e}); 0.57 taken.
    quantGemvBandwidthFraction: 0.57,
    source: 'Intel ARK, Xeon Gold 6454S: 32 cores, 2.20 GHz base, 8 channels DDR5-4800, AVX-512 and AMX (ark.intel.com/content/www/us/en/ark/products/231750); AMX peak per core from the Intel 64 and IA-32 Architectures Optimization Reference Manual (AMX chapter); quantGemvBandwidthFraction 0.57 measured by difference from kvcache-ai/ktransformers@034a116365d48481d1d23de3e3982a64a8d0a341:doc/en/DeepseekR1_V3_tutorial.md (V0.2 decode at 6 and 8 experts, dual and single socket: 0.570 and 0.578 of peak)',
  },
  'epyc-7763-2s': {
    name: '2x AMD EPYC 7763 (Milan)',
    dramBytes: 1024 * GiB,
    dramBytesPerSec: 2 * 8 * 3200e6 * 8, // 409.6 GB/s
    flopsPerSec: 2 * 64 * 2.45e9 * 32, // 10.0 TFLOP/s (AVX2, two 256-bit FMA pipes)
    sockets: 2,
    cores: 128,
    isa: ['avx2'],
    flopsPerSecByIsa: { avx2: 2 * 64 * 2.45e9 * 32 },
    source: 'AMD EPYC 7763 product page: 64 cores, 2.45 GHz base, 8 channels DDR4-3200, https://www.amd.com/en/products/processors/server/epyc/7003-series/amd-epyc-7763.html',
  },
  'epyc-9654-2s': {
    name: '2x AMD EPYC 9654 (Genoa)',
    dramBytes: 1536 * GiB, // 24 x 64 GB DDR5-4800
    dramBytesPerSec: 2 * 12 * 4800e6 * 8, // 921.6 GB/s
    flopsPerSec: 2 * 96 * 2.4e9 * 32, // 14.7 TFLOP/s (Zen 4 runs AVX-512 over two 256-bit FMA pipes)
    sockets: 2,
    cores: 192,
    isa: ['avx2', 'avx512', 'avx512-bf16', 'avx512-vnni'],
    flopsPerSecByIsa: { avx2: 2 * 96 * 2.4e9 * 32, avx512: 2 * 96 * 2.4e9 * 32 },
    source: 'AMD EPYC 9654 product page: 96 cores, 2.4 GHz base, 12 channels DDR5-4800, AVX-512, https://www.amd.com/en/products/processors/server/epyc/4th-generation-9004-and-8004-series/amd-epyc-9654.html',
  },
  'ryzen-5950x': {
    name: 'AMD Ryzen 9 5950X',
    dramBytes: 64 * GiB, // 2 x 32 GB DDR4
    dramBytesPerSec: 2 * 3200e6 * 8, // 51.2 GB/s, dual channel DDR4-3200
    flopsPerSec: 16 * 3.4e9 * 32, // 1.7 TFLOP/s (AVX2)
    sockets: 1,
    cores: 16,
    isa: ['avx2'],
    flopsPerSecByIsa: { avx2: 16 * 3.4e9 * 32 },
    source: 'AMD Ryzen 9 5950X product page: 16 cores, 3.4 GHz base, 2 channels DDR4-3200, https://www.amd.com/en/products/processors/desktops/ryzen/5000-series/amd-ryzen-9-5950x.html',
  },
  'core-i9-13900k': {
    name: 'Intel Core i9-13900K',
    dramBytes: 64 * GiB, // 2 x 32 GB DDR5
    dramBytesPerSec: 2 * 5600e6 * 8, // 89.6 GB/s, dual channel DDR5-5600
    // 8 P-cores at 3.0 GHz base x 32 FLOP/cycle (AVX2, 2 FMA) + 16 E-cores at 2.2 GHz base x 16 (2 x 128-bit FMA).
    flopsPerSec: 8 * 3.0e9 * 32 + 16 * 2.2e9 * 16, // 1.3 TFLOP/s
    sockets: 1,
    cores: 24,
    isa: ['avx2'],
    flopsPerSecByIsa: { avx2: 8 * 3.0e9 * 32 + 16 * 2.2e9 * 16 },
    source: 'Intel ARK, Core i9-13900K: 8 P-cores 3.0 GHz base, 16 E-cores 2.2 GHz base, DDR5-5600 dual channel, AVX2 (ark.intel.com/content/www/us/en/ark/products/230496)',
  },
  // --- Cloud VMs of published setups (s27-hosts). A VM's vCPUs are a slice of a host socket: cores
  // and FLOP/s are the VM's; the DRAM bandwidth is the socket's peak, as no source gives the VM's share.
  'colab-xeon-2vcpu': {
    name: 'Google Colab free-tier VM: 2 vCPUs (1 core, 2 threads) of an Intel Xeon @ 2.20GHz (Broadwell)',
    dramBytes: 12.7 * GiB, // Colab's "12.7 GB" System RAM on a T4 runtime (taken in GiB, as every preset here)
    // Not sourced for the VM: Broadwell-EP's socket peak, 4 channels DDR4-2400 (the Xeon E5 v4 line's maximum).
    dramBytesPerSec: 4 * 2400e6 * 8, // 76.8 GB/s
    flopsPerSec: 1 * 2.2e9 * 32, // 70.4 GFLOP/s: one core (the 2 vCPUs are its 2 hyperthreads), AVX2 with 2 FMA units
    sockets: 1,
    cores: 1,
    isa: ['avx2'],
    flopsPerSecByIsa: { avx2: 1 * 2.2e9 * 32 },
    source:
      'CPU: /proc/cpuinfo of the Colab free-tier instance posted in milochen0418/pynecone-colab-ide issue #19 (2023-07-13, https://github.com/milochen0418/pynecone-colab-ide/issues/19: "model name : Intel(R) Xeon(R) CPU @ 2.20GHz", family 6 model 79 (Broadwell), "cache size : 56320 KB", "siblings : 2", "cpu cores : 1", flags with avx2 and fma, no avx512) and the same model, cache and 1 core / 2 siblings for Colab Pro in googlecolab/colabtools issue #1937 (2021-03-31, https://github.com/googlecolab/colabtools/issues/1937); Google names no SKU (a 2.20 GHz 55 MB Broadwell is an E5-2699 v4 or E7-8880 v4 on Intel ARK). ' +
      'Memory: 12.7 GB of System RAM on Colab\'s standard (not high-RAM) runtime, googlecolab/colabtools issue #4134 (2023-11-06, https://github.com/googlecolab/colabtools/issues/4134: "it is using 12.7 GB of System RAM instead of 32 GB", a Colab Pro user on the standard runtime, answered about T4s), the month before arXiv:2312.17238; high-RAM runtimes are Colab Pro\'s (Colab\'s own out-of-memory message, quoted in PV-Lab/FTCP issue #8, 2022-05-19: "If you are interested in access to high-RAM runtimes, you may want to check out Colab Pro"). ' +
      'dramBytesPerSec not sourced for the VM: the socket peak of the Xeon E5 v4 line (4 channels DDR4-2400, Intel ARK)',
  },
  'epyc-7v12-nc4as': {
    name: 'Azure NCasT4_v3 VM: AMD EPYC 7V12 (Rome), 4 vCPUs (NC4as_T4_v3)',
    dramBytes: 28 * GiB, // NC4as_T4_v3, the family's one-GPU size with the least memory
    // Not sourced for the VM: a Rome socket's peak, 8 channels DDR4-3200.
    dramBytesPerSec: 8 * 3200e6 * 8, // 204.8 GB/s
    flopsPerSec: 4 * 2.45e9 * 32, // 0.31 TFLOP/s: 4 non-multithreaded cores at the 2.45 GHz base, AVX2 (Zen 2: two 256-bit FMA pipes)
    sockets: 1,
    cores: 4,
    isa: ['avx2'],
    flopsPerSecByIsa: { avx2: 4 * 2.45e9 * 32 },
    source:
      'Microsoft Learn, NCasT4_v3-series (MicrosoftDocs/azure-docs articles/virtual-machines/nct4-v3-series.md and sizes/gpu-accelerated/includes/ncast4-v3-series-specs.md, https://learn.microsoft.com/azure/virtual-machines/nct4-v3-series): "powered by Nvidia Tesla T4 GPUs and AMD EPYC 7V12(Rome) CPUs", "up to 64 non-multithreaded AMD EPYC 7V12 (Rome) processor cores (base frequency of 2.45 GHz, all-cores peak frequency of 3.1 GHz and single-core peak frequency of 3.3 GHz)", 4-64 vCores, 28-440 GiB; the sizes with one T4 are NC4as (4 vCPUs, 28 GiB), NC8as (8, 56) and NC16as (16, 110) (Aspire.Hosting.Azure.Kubernetes AksNodeVmSizes, StandardNCASv3T4). ' +
      'arXiv:2312.17238 §4.3 names no size: NC4as_T4_v3 taken (4 cores, 28 GiB); the cores and memory are the only fields that differ between the sizes, and no mixtral-offloading or accelerate point reads either beyond the memory bound. ' +
      'dramBytesPerSec not sourced for the VM: the socket peak of EPYC Rome (8 channels DDR4-3200)',
  },
  'grace-72c': {
    name: 'NVIDIA Grace CPU (72 Arm Neoverse V2 cores, GH200)',
    dramBytes: 480 * GiB, // LPDDR5X
    dramBytesPerSec: 512e9, // datasheet: up to 512 GB/s
    // 72 cores x 3.1 GHz base x 32 fp32 FLOP/cycle (16 FP64 FLOP/cycle, twice as many fp32 lanes in
    // the same 128-bit SVE2 vectors) = 7.14 TF, as the Grace CPU Superchip's FP64 7.1 TF over 144 cores.
    flopsPerSec: 72 * 3.1e9 * 32,
    sockets: 1,
    cores: 72,
    isa: ['neon', 'sve2'],
    flopsPerSecByIsa: { sve2: 72 * 3.1e9 * 32 },
    source: 'NVIDIA GH200 Grace Hopper Superchip datasheet (72 Neoverse V2 cores, up to 480 GB LPDDR5X at up to 512 GB/s), https://resources.nvidia.com/en-us-grace-cpu/grace-hopper-superchip; flopsPerSec = 72 cores x 3.1 GHz x 32 fp32 FLOP/cycle: "Grace can perform 16 FP64 FMA operations per cycle, so a Grace CPU with a nominal CPU frequency of 3.3GHz should report between 52 and 53 Gop/sec" (NVIDIA Grace CPU Benchmarking Guide, https://nvidia.github.io/grace-cpu-benchmarking-guide/foundations/FMA/index.html: 16 FP64 FLOP per cycle, i.e. four 128-bit FP/ASIMD pipes, as the Neoverse V2 port map lists "6-9 FP/ASIMD units 4 x SIMD (16 B, 128 bit)", https://www.emergentmind.com/topics/grace-arm-neoverse-v2-cpu after Laukemann et al. 2024), so 32 fp32 FLOP per cycle; 3.1 GHz: "host_processor_frequency": "3.1 GHz base / 3.44 GHz boost" for the Grace CPU in mlcommons/inference_results_v6.1 closed/Crusoe/systems/GB200-NVL72_GB200-186GB_aarch64x16_Dynamo.json (secondary: a GB200 system description); consistent with FP64 7.1 TF per 144 cores in the NVIDIA Grace CPU Superchip datasheet (144 x 16 x 3.1 GHz = 7.14 TF)',
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
  // Published setups (issue 12). Desktop Ampere cards in a Ryzen 5000 desktop, Ada and Blackwell in
  // current desktops; the laptop 3080 with a desktop-class Core i9 stand-in (laptop CPUs vary);
  // data-center cards in the servers they are usually sold in (A10/A10G/L40S: Gen4 with EPYC Milan,
  // V100 and P40: Gen3 with Broadwell/Skylake as in DGX-1 era servers, H200 and B200: Gen5 with
  // Sapphire Rapids, GH200 with its Grace CPU over NVLink-C2C). A point's own host is set per point.
  'rtx-3060': machine('rtx-3060', 'rtx-3060', 'pcie4-x16', 'ryzen-5950x'),
  'rtx-3080': machine('rtx-3080', 'rtx-3080', 'pcie4-x16', 'ryzen-5950x'),
  'rtx-3080-laptop': machine('rtx-3080-laptop', 'rtx-3080-laptop', 'pcie4-x16', 'core-i9-13900k'),
  'rtx-4070': machine('rtx-4070', 'rtx-4070', 'pcie4-x16', 'core-i9-13900k'),
  'rtx-4080': machine('rtx-4080', 'rtx-4080', 'pcie4-x16', 'ryzen-7950x'),
  'rtx-4090d': machine('rtx-4090d', 'rtx-4090d', 'pcie4-x16', 'xeon-gold-6454s-2s'),
  'rtx-5090': machine('rtx-5090', 'rtx-5090', 'pcie5-x16', 'ryzen-7950x'),
  a10: machine('a10', 'a10', 'pcie4-x16', 'epyc-7763-2s'),
  a10g: machine('a10g', 'a10g', 'pcie4-x16', 'epyc-7763-2s'),
  l40s: machine('l40s', 'l40s', 'pcie4-x16', 'epyc-9654-2s'),
  v100: machine('v100', 'v100', 'pcie3-x16', 'xeon-e5-2698v4-2s'),
  p40: machine('p40', 'p40', 'pcie3-x16', 'xeon-gold-6126-2s'),
  // Turing desktop card (llmfit PR #755): a point's own host is set per point.
  'rtx-2080': machine('rtx-2080', 'rtx-2080', 'pcie3-x16', 'core-i9-13900k'),
  'quadro-rtx-6000': machine('quadro-rtx-6000', 'quadro-rtx-6000', 'pcie3-x16', 'xeon-gold-6126-2s'),
  // Fiddler's (ICLR 2025) second environment: an RTX 6000 Ada with a Sapphire Rapids Xeon Platinum 8480+ host.
  'rtx-6000-ada': machine('rtx-6000-ada', 'rtx-6000-ada', 'pcie4-x16', 'xeon-8480plus-2s'),
  h200: machine('h200', 'h200', 'pcie5-x16', 'xeon-8480plus-2s'),
  b200: machine('b200', 'b200', 'pcie5-x16', 'xeon-8480plus-2s'),
  gh200: machine('gh200', 'gh200', 'nvlink-c2c', 'grace-72c'),
};
