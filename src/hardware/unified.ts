/**
 * Machines with a storage tier (issue 16): unified-memory machines (one pool shared by CPU and GPU;
 * the GPU reads experts at the pool's bandwidth, no host-to-device copy; the SSD is the offload
 * tier) and discrete machines paired with an NVMe drive.
 *
 * Unified machines: `gpu.hbmBytes` and `cpu.dramBytes` are the same pool (the largest
 * configuration sold), `gpu.hbmBytesPerSec` its bandwidth. GPU FLOP/s are shader ALUs x 2 (FMA) x
 * clock unless the vendor quotes a figure. CPU FLOP/s are cores x clock x fp32 FLOP/cycle, each factor
 * sourced in the preset's source string or marked "not sourced" there (session 27): treat those as
 * estimates and override them in a scenario.
 *
 * The `link` of a unified machine carries only CPU-side work's activations (an on-miss CPU
 * computation): a copy within the pool, at half the pool bandwidth (read + write), no latency.
 * Expert reads never use it: they come from the SSD (timing/storage.ts).
 *
 * GH200 is not one pool: 96 GB HBM3 and 480 GB LPDDR5X joined by NVLink-C2C. It is modelled as the
 * three tiers it has: GPU HBM <- Grace LPDDR5X over C2C <- a data-center SSD.
 */
import { cpuPresets, gpuPresets, linkPresets } from './presets.js';
import { ssdPresets } from './storage.js';
import type { Cpu, Gpu, Hardware, HostLink } from './types.js';

const GiB = 2 ** 30;
const GBps = 1e9;
const TFLOPS = 1e12;
/** Kernel launch on Metal / CUDA on an SoC: the same 5 us convention as presets.ts (not a datasheet number). */
const LAUNCH_OVERHEAD_SEC = 5e-6;

function poolLink(name: string, poolBytesPerSec: number): HostLink {
  return {
    name: `${name} (unified pool, no copy)`,
    h2dBytesPerSec: poolBytesPerSec / 2,
    d2hBytesPerSec: poolBytesPerSec / 2,
    latencySec: 0,
    source: 'unified memory: activations move within the one pool (a copy reads and writes: half its bandwidth)',
  };
}

interface UnifiedSoc {
  key: string;
  name: string;
  poolGiB: number;
  poolGBps: number;
  gpuFp32Tflops: number;
  gpuBf16Tflops: number;
  cpuGflops: number;
  cores: number;
  ssd: string;
  source: string;
}

const socs: UnifiedSoc[] = [
  {
    key: 'm3-max',
    name: 'Apple M3 Max (16-core CPU, 40-core GPU, 128 GB)',
    poolGiB: 128,
    poolGBps: 400,
    // 40 cores x 128 ALUs x 2 x 1.398 GHz = 14.32 TFLOPS (hmc-tech.com, below); Apple GPUs run fp16/bf16 at the fp32 rate.
    gpuFp32Tflops: 14.3,
    gpuBf16Tflops: 14.3,
    // 12 P-cores x 32 fp32 FLOP/cycle (4 x 128-bit FMA) x 4.05 GHz = 1555.2; E-cores not counted.
    cpuGflops: 12 * 32 * 4.05,
    cores: 16,
    ssd: 'apple-m3-max-ssd',
    source:
      'Apple MacBook Pro (M3 Max, 2023) tech specs: up to 128 GB unified memory, 400 GB/s; GPU: https://hmc-tech.com/gpu/apple-32-core-m4-max-vs-apple-40-core-m3-max lists the 40-core M3 Max at 5120 shaders, 1398 MHz, FP32 14.32 TFLOPS and FP16 14.32 TFLOPS; CPU: 12 performance + 4 efficiency cores (AnandTech\'s M3 launch table as copied at https://pcextreme.com.br/apple-announces-m3-soc-family-m3-m3-pro-and-m3-max-make-their-marks/: "CPU: Performance 12-Core", "CPU: Efficiency 4-Core"), P-core clock 4.05 GHz ("maximum CPU clock rate of 4.05 GHz for its performance cores", https://ora.it.com/apple-m3-specifications/how-many-ghz-is-the-apple-m3, secondary: Apple publishes no clocks; a maximum, not an all-core clock); Apple P-core 32 fp32 FLOP/cycle: four 128-bit FP/SIMD units ("FP/SIMD units: 11: fp/simd 12: fp/simd 13: fp/simd + ... 14: fp/simd + ...", dougallj/applecpu@1ab127f9205e077c364f3fed0d4dc14c8b2b9a19:firestorm.html) each taking one FMLA (vector, 4S) per cycle (throughput test "Result (median cycles for \"code\"): 0.2503", same commit, measurements/firestorm/FMLA_v_4S.html), i.e. 4 units x 4 lanes x 2; measured on the M1\'s Firestorm and assumed unchanged in later P-cores (not confirmed by the search tool); E-cores not counted',
  },
  {
    key: 'm4-max',
    name: 'Apple M4 Max (16-core CPU, 40-core GPU, 128 GB)',
    poolGiB: 128,
    poolGBps: 546,
    // 5120 ALUs x 2 x 1.678 GHz (the 32-core M4 Max's clock, hmc-tech.com, below) = 17.2 TFLOPS.
    gpuFp32Tflops: 17.2,
    gpuBf16Tflops: 17.2,
    // 12 P-cores x 32 fp32 FLOP/cycle x 4.5 GHz = 1728; E-cores not counted (as for the M3 Max).
    cpuGflops: 12 * 32 * 4.5,
    cores: 16,
    ssd: 'apple-m4-max-ssd',
    source:
      'Apple M4 Max newsroom / MacBook Pro tech specs: up to 128 GB unified memory, 546 GB/s (16-core CPU, 40-core GPU, 546 GB/s confirmed by https://macmegasite.com/2024/10/30/m4-max-chip-has-16-core-cpu-40-core-gpu-and-35-increase-in-memory-bandwidth); GPU: https://hmc-tech.com/gpu/apple-32-core-m4-max-vs-apple-40-core-m3-max lists the 32-core M4 Max at 4096 shaders, 1678 MHz, FP32 = FP16 13.74 TFLOPS, so the 40-core part (5120 shaders, same clock assumed) is 17.2 TFLOPS; CPU: 12 performance and 4 efficiency cores ("The latter features 12 performance cores and 4 efficiency cores", http://www.notebookcheck.net/Apple-M4-Max-official-with-incremental-upgrades-over-the-M3-Max.911098.0.html), P-core clock 4.5 GHz ("reaching up to 4.50GHz in its performance cores", a Geekbench 6 listing as reported at https://techloot.co.uk/ios/m4-max-emerges-as-worlds-fastest-chipset-in-geekbench-6, secondary); Apple P-core 32 fp32 FLOP/cycle: four 128-bit FP/SIMD units ("FP/SIMD units: 11: fp/simd 12: fp/simd 13: fp/simd + ... 14: fp/simd + ...", dougallj/applecpu@1ab127f9205e077c364f3fed0d4dc14c8b2b9a19:firestorm.html) each taking one FMLA (vector, 4S) per cycle (throughput test "Result (median cycles for \"code\"): 0.2503", same commit, measurements/firestorm/FMLA_v_4S.html), i.e. 4 units x 4 lanes x 2; measured on the M1\'s Firestorm and assumed unchanged in later P-cores (not confirmed by the search tool); E-cores not counted (was 1,820 GFLOP/s, E-cores counted at an unsourced rate)',
  },
  {
    key: 'm3-ultra',
    name: 'Apple M3 Ultra (32-core CPU, 80-core GPU, 512 GB)',
    poolGiB: 512,
    poolGBps: 819,
    gpuFp32Tflops: 28.6,
    gpuBf16Tflops: 28.6,
    // 24 P-cores (two M3 Max dies) x 32 fp32 FLOP/cycle x 4.05 GHz = 3110.4; E-cores not counted.
    cpuGflops: 24 * 32 * 4.05,
    cores: 32,
    ssd: 'apple-m4-max-ssd',
    source:
      'Apple Mac Studio (M3 Ultra) tech specs: up to 512 GB unified memory, 819 GB/s; two M3 Max dies (GPU, CPU FLOP/s twice the M3 Max: GPU 2 x 14.32 TFLOPS of the 40-core M3 Max at 1398 MHz, https://hmc-tech.com/gpu/apple-32-core-m4-max-vs-apple-40-core-m3-max, the same clock assumed; 80-core GPU, https://iphonewalle.netlify.app/2025/03/07/m3-ultra-chip-gpu-benchmark); CPU FLOP/s: 24 P-cores (Apple\'s newsroom as quoted at https://mjtsai.com/blog/2025/03/05/apple-m3-ultra/: "links two M3 Max dies", "up to a 32-core CPU with 24 performance cores and eight efficiency cores") at the M3 Max\'s 4.05 GHz and 32 fp32 FLOP/cycle (see m3-max; the M3 Ultra\'s own clock not sourced); the SSD is the M4 Max preset, whose random IOPS and QD1 latency are not sourced',
  },
  {
    key: 'jetson-agx-orin-64gb',
    name: 'NVIDIA Jetson AGX Orin 64GB',
    poolGiB: 64,
    poolGBps: 204.8,
    // 2048 CUDA cores x 2 x 1.3 GHz; GPU 170 sparse int8 TOPS -> 85 dense -> fp16/bf16 42.5 dense.
    gpuFp32Tflops: 5.3,
    gpuBf16Tflops: 42.5,
    // 12 Cortex-A78AE x 16 fp32 FLOP/cycle (2 x 128-bit FMA: not sourced) x 2.2 GHz = 422.4.
    cpuGflops: 12 * 16 * 2.2,
    cores: 12,
    ssd: 'samsung-990-pro',
    source:
      'NVIDIA Jetson AGX Orin series technical brief: 64 GB 256-bit LPDDR5 at 204.8 GB/s, 2048-core Ampere GPU at 1.3 GHz, 12-core Cortex-A78AE at 2.2 GHz, 275 TOPS (sparse, GPU + DLA); the brief as quoted at http://mzph.cn/web/30785.shtml: 16 SMs of 128 CUDA cores, 2048 in all, 5.3 FP32 TFLOPS, 64 tensor cores, 170 sparse INT8 TOPS; an M.2 PCIe 4 NVMe drive in its M.2 Key M slot; dense bf16 42.5 = 170 sparse int8 TOPS / 2 (sparsity, as every NVIDIA sparse figure) / 2 (half precision at half the integer rate: the brief\'s tensor cores "支持16个半精度HMMA和32个整型IMMA", 16 half-precision HMMA to 32 integer IMMA, as quoted above; bf16 at the fp16 rate as on the A100, whose datasheet gives BF16 = FP16 = 312 and INT8 624 dense), secondary through the quoted brief; the CPU\'s 16 fp32 FLOP/cycle per Cortex-A78AE is inferred, not read from an Arm document on the A78: two 128-bit FP/ASIMD pipes each taking an FMA, as in the Neoverse N1 of the same Austin family ("def N1UnitV0 : ProcResource<1>;  // FP/ASIMD 0", "def N1UnitV1 ...  // FP/ASIMD 1", llvm/llvm-project@02cec0a4ec2edb30a6e92730ca17378b35de9596:llvm/lib/Target/AArch64/AArch64SchedNeoverseN1.td, after Arm\'s N1 Software Optimization Guide), whose tuning GCC uses for the A78AE (AARCH64_CORE("cortex-a78ae", ..., neoversen1, ...), gcc-mirror/gcc@00c22ba69d8e738a4789b30165ff9c925c508fc1:gcc/config/aarch64/aarch64-cores.def); cores and 2.2 GHz from the technical brief above',
  },
  {
    key: 'dgx-spark',
    name: 'NVIDIA DGX Spark (GB10 Grace Blackwell, 128 GB)',
    poolGiB: 128,
    poolGBps: 273,
    // 1 PFLOP FP4 sparse / 16 = 62.5 dense bf16 (FP32 accumulate), consumer Blackwell's ratio (RTX 5090:
    // 3352 sparse FP4 / 209.5 dense bf16); measured ~60 (see source); fp32 31 TFLOPS (NVIDIA at Hot Chips 2025).
    gpuFp32Tflops: 31,
    gpuBf16Tflops: 62.5,
    // X925: 5 x 3.9 GHz + 5 x 4.0 GHz, x 32 FLOP/cycle; A725: 10 x 2.8 GHz x 16 = 1712 (FLOP/cycle not sourced).
    cpuGflops: (5 * 3.9 + 5 * 4.0) * 32 + 10 * 2.8 * 16,
    cores: 20,
    ssd: 'samsung-990-pro',
    source:
      'NVIDIA DGX Spark product page: 128 GB LPDDR5x unified memory, 273 GB/s, 1 PFLOP FP4 (sparse), 20-core Arm CPU (10 X925 + 10 A725), up to 4 TB NVMe M.2; fp32: The Register on NVIDIA\'s Hot Chips 2025 GB10 talk (copy at https://afnnews.qaasid.com/145463): "roughly 1 petaFLOP of peak FP4 performance with sparsity or about 31 teraFLOPS of single precision compute (FP32)", and https://dgx-spark.warehack.ing/hardware/: 6,144 CUDA cores; dense bf16 (FP32 accumulate) 62.5 TFLOPS derived, NVIDIA publishing no GB10 bf16 figure: 1 PFLOP sparse FP4 / 16, the ratio of NVIDIA\'s consumer Blackwell tensor cores, the RTX 5090\'s 3,352 AI TOPS (NVIDIA\'s GeForce RTX 50 Series page as cited at https://analysis.castromedia.org/analysis/compute/entities/rtx-5090.html; "FP4 Tensor Performance (sparse) | 3,352 TOPS", https://www.spheron.network/blog/nvidia-rtx-5090-specs/) over its 209.5 dense FP16/BF16 TFLOPS with FP32 accumulate (RTX Blackwell whitepaper, the rtx-5090 preset) = 16.0, and the same on the workstation part, so not a GeForce-only limit: RTX PRO 5000 Blackwell "2.36 PFLOPS FP4 Tensor Sparse", "Tensor BF16 147.4 TFLOPS" (https://hmc-tech.com/gpus/nvidia-geforce-rtx-4090-vs-nvidia-rtx-pro-5000-blackwell) = 16.0; that GB10 (compute capability 12.1) has the RTX 50 series\' rates is an assumption, from its SM 12.x tensor-core lineage ("The SM 12.x used in GB10 has 5th Generation Blackwell Tensor Cores", "SM 12.x uses the mma.* instruction family", NVIDIA on its developer forum as quoted in https://github.com/NVIDIA/dgx-spark-playbooks/issues/22) and its RTX 5070-sized GPU (6,144 CUDA cores, as above); measured, secondary: John Carmack found "it only seems to be delivering about half the quoted performance (assuming 1 PF sparse FP4 = 125 TF dense BF16)" (his post as quoted at https://burhan.co.id/blog/john-carmack-bongkar-masalah-nvidia-dgx-spark-performa-setengah-konsumsi-daya-tak-sesuai-klaim), "The equivalent BF16 performance settles around 60 TFLOPS" (https://www.banandre.com/blog/2025-10/dgx-spark-underperformance-claims-vs-reality-in-ai-hardware, on his and Awni Hannun\'s tests), 4% under 62.5; Carmack read the shortfall as a power limit (about 100 W drawn), the consumer ratio gives it without one (was 125 = 1 PFLOP / 8, the datacenter Blackwell ratio, not sourced); not sourced: the drive (a 990 PRO, M.2 2280, stands in for the unnamed one: GB10 machines take "PCIe Gen 4 NVMe" drives in "M.2 2230 and M.2 2242" form factors, the Dell Pro Max with GB10 owner\'s manual as summarised at https://gitea.opentesla.org/epilectrik/spark/raw/commit/e982ea4962e0fadfc4de239f98792cdbceca7c4e/context/memory-and-storage.md), and the CPU FLOP/s: the 10 X925 + 10 A725 cores are confirmed ("10x Cortex-X925 + 10x Cortex-A725", https://dgx-spark.warehack.ing/hardware/), their clocks measured by Chips and Cheese ("All of the A725 cores run at 2.8 GHz. X925 cores clock up to 3.9 GHz on the first cluster, and up to 4 GHz on the second", https://old.chipsandcheese.com/2025/12/31/inside-nvidia-gb10s-memory-subsystem-from-the-cpu-side, five X925 per cluster); fp32 FLOP/cycle partly sourced: 32 per X925 takes four of its six 128-bit vector pipes to do FMA (GCC\'s X925 tuning: "6, /* general_ops_per_cycle  */" for Advanced SIMD, "SVE_128", "4, /* fma_reassoc_width.  */", gcc-mirror/gcc@1f53319cae81aea438b6c0ba55f49e5669acf1c8:gcc/config/aarch64/tuning_models/cortexx925.h: a compiler heuristic, not a pipe map); 16 per A725 (two 128-bit FMA pipes) not sourced (was 1,696 GFLOP/s with every X925 at 3.9 GHz)',
  },
  {
    key: 'strix-halo',
    name: 'AMD Ryzen AI Max+ 395 (Strix Halo, Radeon 8060S, 128 GB)',
    poolGiB: 128,
    poolGBps: 256,
    // 40 CUs x 64 lanes x 2 x 2.9 GHz (no dual issue); WMMA fp16/bf16 512 FLOP/clock/CU = 4x.
    gpuFp32Tflops: 14.8,
    gpuBf16Tflops: 59.4,
    // 16 Zen 5 cores x 64 fp32 FLOP/cycle (2 x 512-bit FMA, GCC's znver5 model) x 3.0 GHz base = 3072.
    cpuGflops: 16 * 64 * 3.0,
    cores: 16,
    ssd: 'samsung-990-pro',
    source:
      'AMD Ryzen AI Max+ 395 product page: 16 Zen 5 cores, 3.0 GHz base, Radeon 8060S (40 CUs, 2.9 GHz), up to 128 GB LPDDR5X-8000 on a 256-bit bus (256 GB/s); GPU fp32: https://fpsbench.com/compare/gpu/amd-radeon-8060s-vs-amd-radeon-r9-m295x lists the 8060S at 2,560 shaders, 40 CUs, 2900 MHz boost, FP32 14.85 TFLOPS, FP16 29.70 TFLOPS (2:1, packed vector math); bf16 59.4 = 40 CUs x 512 FLOP/clock/CU x 2.9 GHz: RDNA 3\'s FP16/BF16 matrix rate of 512 FLOP/clock/CU (the r/hardware table "FP16 256 512 1024 ... BF16 0 512 1024" for RDNA 2/3/4, after AMD GPUOpen\'s RDNA 4 matrix-core article, https://reddit.perdach.com/r/hardware/comments/1j97xyw/rdna2_vs_rdna3_vs_rdna4_ai_tops/mhcayxj/; consistent with Wikipedia\'s RDNA 3 "Up to 122.8 TFLOPS (FP16)" = 96 CUs x 512 x 2.5 GHz), secondary, and assumed for RDNA 3.5; CPU: 16 cores at 3.0 GHz base (ComputerBase\'s table as copied at https://techastuce.com/it/amd-strix-halo-ryzen-ai-max-con-un-massimo-di-16-core-40-cu-e-256-gb-s-aggiornato: "Ryzen AI Max+ (Pro) 395 Z5 16/32 3,0-5,1 GHz"), a 512-bit FP datapath ("Each of these \"Zen 5\" cores are unlike the ones on \"Strix Point,\" in that they feature a fully unlocked AVX512 hardware pipeline (512-bit FP)", https://techpowerup.com/330548/amd-debuts-ryzen-ai-max-series-strix-halo-soc-up-to-16-zen-5-cores-massive-igpu; Zen 5\'s "4 x 512-bit execution throughput", http://numberworld.org/blogs/2024_8_7_zen5_avx512_teardown as summarised at https://news.ai.kelsus.com/stories/41182395), of which two take FMA, each a full 512-bit FMA per cycle: GCC\'s Zen 5 model reserves "znver4-fpu0|znver4-fpu1" for one cycle for "znver5_sse_muladd" (against "znver4-fpu0*2|znver4-fpu1*2", double-pumped, for Zen 4), gcc-mirror/gcc@088ed1042d12f23261bc499b927b93fd61f8d574:gcc/config/i386/zn4zn5.md, so 2 x 16 lanes x 2 = 64 fp32 FLOP/cycle (a compiler cost model of desktop Zen 5, taken for Strix Halo\'s full-width cores)',
  },
];

function unifiedMachine(s: UnifiedSoc): Hardware {
  const gpu: Gpu = {
    name: s.name,
    hbmBytes: s.poolGiB * GiB,
    hbmBytesPerSec: s.poolGBps * GBps,
    flopsPerSec: { fp32: s.gpuFp32Tflops * TFLOPS, bf16: s.gpuBf16Tflops * TFLOPS, fp16: s.gpuBf16Tflops * TFLOPS },
    launchOverheadSec: LAUNCH_OVERHEAD_SEC,
    source: s.source,
  };
  const cpu: Cpu = {
    name: `${s.name} CPU`,
    dramBytes: s.poolGiB * GiB,
    dramBytesPerSec: s.poolGBps * GBps,
    flopsPerSec: s.cpuGflops * 1e9,
    cores: s.cores,
    source: s.source,
  };
  return { name: s.key, gpu, link: poolLink(s.name, s.poolGBps * GBps), cpu, storage: structuredClone(ssdPresets[s.ssd]), unified: true };
}

/** Machines with an SSD: unified SoCs, GH200 with a data-center drive, a 4090 desktop with a PCIe 4 drive. */
export const storageMachinePresets: Record<string, Hardware> = {
  ...Object.fromEntries(socs.map((s) => [s.key, unifiedMachine(s)])),
  'gh200-nvme': { name: 'gh200-nvme', gpu: gpuPresets.gh200, link: linkPresets['nvlink-c2c'], cpu: cpuPresets['grace-72c'], storage: ssdPresets['solidigm-d7-p5520'] },
  'rtx-4090-nvme': { name: 'rtx-4090-nvme', gpu: gpuPresets['rtx-4090'], link: linkPresets['pcie4-x16'], cpu: cpuPresets['ryzen-7950x'], storage: ssdPresets['samsung-990-pro'] },
};
