/**
 * GPU-to-GPU interconnects and machines of several GPUs. Internal units are SI (bytes/s, seconds).
 *
 * Conventions:
 * - `bytesPerSec` is one GPU's injection bandwidth per direction: what it can send (and, at the same
 *   time, receive) over this fabric. NVIDIA quotes NVLink as total bidirectional bandwidth per GPU
 *   ("900 GB/s" for H100), so the per-direction figure is half of it. NIC rates are quoted in Gb/s
 *   per direction (400 Gb/s = 50 GB/s).
 * - `perPeerBytesPerSec`: on a fabric without a switch (NVLink bridges, HGX A100 4-GPU boards) a
 *   pair of GPUs is joined by a fixed number of links; a transfer to one peer cannot use the links
 *   to the others. Absent on switched fabrics (NVSwitch, PCIe switch, InfiniBand), where one GPU's
 *   traffic to any peer shares its whole injection bandwidth.
 * - `latencySec`: the alpha term of the collective model (src/timing/collectives.ts), the fixed cost
 *   of one message. These are NOT datasheet numbers: they are the order of magnitude NCCL's small-
 *   message collectives show (a few microseconds inside an NVLink node, more over PCIe and between
 *   nodes); calibrate them from `nccl-tests` on the machine to replace them, like the GPUs'
 *   launchOverheadSec. Large-message bus bandwidths published for nccl-tests all_reduce_perf
 *   (8x H100 SXM NVLink-only 460-480 GB/s with NVLS, 8x A100 NVLink 230-250 GB/s, 8x H100 PCIe
 *   35-45 GB/s; docs.alayanew.com "NCCL-tests in practice", 2026) sit near these peaks, which is
 *   why the peaks are used unscaled.
 */
export interface Interconnect {
  name: string;
  /** Per GPU, per direction, bytes/s. */
  bytesPerSec: number;
  /** Per pair of GPUs, per direction, on a fabric of point-to-point links (no switch). */
  perPeerBytesPerSec?: number;
  /** Fixed cost of one message (the alpha of an alpha-beta model), seconds. */
  latencySec: number;
  source: string;
}

const GBps = 1e9;
const Gbps = 1e9 / 8;
const US = 1e-6;

/** PCI-SIG signalling rate of an x16 link per direction after 128b/130b encoding (as hardware/presets.ts). */
const pcieX16 = (gtPerSec: number): number => (16 * gtPerSec * 1e9 * 128) / 130 / 8;

export const interconnectPresets: Record<string, Interconnect> = {
  'nvlink3-nvswitch': {
    name: 'NVLink 3 + NVSwitch (A100 SXM4)',
    bytesPerSec: 300 * GBps,
    latencySec: 3 * US,
    source: 'NVIDIA A100 datasheet: NVLink 600 GB/s per GPU (12 links, bidirectional), halved per direction; DGX A100 joins 8 GPUs through 6 NVSwitches',
  },
  'nvlink4-nvswitch': {
    name: 'NVLink 4 + NVSwitch (H100 SXM5)',
    bytesPerSec: 450 * GBps,
    latencySec: 3 * US,
    source: 'NVIDIA H100 datasheet (SXM): NVLink 900 GB/s per GPU (18 links, bidirectional), halved per direction; DGX H100 joins 8 GPUs through 4 NVSwitches',
  },
  'nvlink5-nvswitch': {
    name: 'NVLink 5 + NVSwitch (B200)',
    bytesPerSec: 900 * GBps,
    latencySec: 3 * US,
    source: 'NVIDIA DGX B200 datasheet: fifth-generation NVLink 1.8 TB/s per GPU (bidirectional), halved per direction; 2 NVSwitch chips',
  },
  'nvlink3-bridge': {
    name: 'NVLink 3 bridge (2x A100 PCIe)',
    bytesPerSec: 300 * GBps,
    perPeerBytesPerSec: 300 * GBps,
    latencySec: 3 * US,
    source: 'NVIDIA A100 PCIe datasheet: NVLink bridge for 2 GPUs, 600 GB/s (bidirectional), halved per direction',
  },
  'nvlink3-hgx4': {
    name: 'NVLink 3 point-to-point (HGX A100 4-GPU)',
    bytesPerSec: 300 * GBps,
    // 12 links per GPU split evenly over 3 peers: 4 links x 25 GB/s per direction.
    perPeerBytesPerSec: 100 * GBps,
    latencySec: 3 * US,
    source: 'NVIDIA HGX A100 4-GPU: each GPU joins each of the 3 others with 4 of its 12 NVLink 3 links (25 GB/s per link per direction)',
  },
  'pcie4-p2p': {
    name: 'PCIe 4.0 x16 peer-to-peer',
    bytesPerSec: pcieX16(16),
    latencySec: 10 * US,
    source: 'PCI-SIG PCIe 4.0: 16 GT/s per lane, x16, 128b/130b, per direction; peer-to-peer through a PCIe switch or the root complex',
  },
  'pcie5-p2p': {
    name: 'PCIe 5.0 x16 peer-to-peer',
    bytesPerSec: pcieX16(32),
    latencySec: 10 * US,
    source: 'PCI-SIG PCIe 5.0: 32 GT/s per lane, x16, 128b/130b, per direction',
  },
  'ib-hdr': {
    name: 'InfiniBand HDR 200 Gb/s (one NIC per GPU)',
    bytesPerSec: 200 * Gbps,
    latencySec: 8 * US,
    source: 'NVIDIA ConnectX-6 HDR: 200 Gb/s per port per direction; DGX A100 has one single-port HDR NIC per GPU',
  },
  'ib-ndr': {
    name: 'InfiniBand NDR 400 Gb/s (one NIC per GPU)',
    bytesPerSec: 400 * Gbps,
    latencySec: 8 * US,
    source: 'NVIDIA ConnectX-7 NDR: 400 Gb/s per port per direction; DGX H100 and DGX B200 have one 400 Gb/s port per GPU',
  },
  'roce-400g': {
    name: 'RoCE v2 400 GbE (one NIC per GPU)',
    bytesPerSec: 400 * Gbps,
    latencySec: 10 * US,
    source: 'NVIDIA ConnectX-7 400GbE: 400 Gb/s per port per direction, RDMA over Converged Ethernet',
  },
};

/** A machine of several GPUs: how many, how they are joined, and the per-GPU hardware preset. */
export interface Machine {
  name: string;
  /** hardware/presets.ts key of one GPU with its host link and host CPU. */
  hardware: string;
  gpusPerNode: number;
  intraNode: string;
  /** Fabric between nodes (used when the scenario asks for several nodes). */
  interNode: string;
  source: string;
}

export const machinePresets: Record<string, Machine> = {
  'dgx-a100': { name: 'DGX A100-like: 8x A100 80GB, NVLink 3 + NVSwitch', hardware: 'a100-80gb', gpusPerNode: 8, intraNode: 'nvlink3-nvswitch', interNode: 'ib-hdr', source: 'NVIDIA DGX A100 datasheet' },
  'dgx-h100': { name: 'DGX H100-like: 8x H100 SXM5, NVLink 4 + NVSwitch', hardware: 'h100-sxm', gpusPerNode: 8, intraNode: 'nvlink4-nvswitch', interNode: 'ib-ndr', source: 'NVIDIA DGX H100 datasheet' },
  'dgx-b200': { name: 'DGX B200-like: 8x B200, NVLink 5 + NVSwitch', hardware: 'b200', gpusPerNode: 8, intraNode: 'nvlink5-nvswitch', interNode: 'ib-ndr', source: 'NVIDIA DGX B200 datasheet' },
  'rtx4090-8x-pcie': {
    name: '8x RTX 4090 PCIe 4.0 box',
    hardware: 'rtx-4090',
    gpusPerNode: 8,
    // GeForce RTX 40 cards have no NVLink; NVIDIA's driver does not enable PCIe P2P on them, so NCCL
    // stages through host memory. The PCIe 4.0 x16 rate is an upper bound for that path.
    intraNode: 'pcie4-p2p',
    interNode: 'roce-400g',
    source: 'NVIDIA Ada GPU architecture whitepaper (RTX 4090: PCIe 4.0 x16, no NVLink)',
  },
  'a100-2x-nvlink': { name: '2x A100 80GB with an NVLink bridge', hardware: 'a100-80gb', gpusPerNode: 2, intraNode: 'nvlink3-bridge', interNode: 'ib-hdr', source: 'NVIDIA A100 PCIe datasheet (NVLink bridge for 2 GPUs)' },
  'a100-4x-hgx': { name: 'HGX A100 4-GPU: 4x A100 80GB, NVLink 3 point-to-point', hardware: 'a100-80gb', gpusPerNode: 4, intraNode: 'nvlink3-hgx4', interNode: 'ib-hdr', source: 'NVIDIA HGX A100 4-GPU baseboard' },
};

/** The fabric of a run: `gpus` GPUs in nodes of `gpusPerNode`, intra- and inter-node interconnects. */
export interface Fabric {
  gpus: number;
  gpusPerNode: number;
  intra: Interconnect;
  inter: Interconnect;
}

/** Node of GPU `g`. */
export const nodeOf = (f: Fabric, g: number): number => Math.floor(g / f.gpusPerNode);
