/** Issue 16: where each byte came from and where the time went, per memory tier, of one run. */
export interface TierMetrics {
  /**
   * dram: host DRAM holds what the scenario keeps there (checked against the host's DRAM);
   * three-tier: GPU HBM <- host DRAM <- SSD; ssd-direct: the GPU fetches from the SSD (unified
   * memory, or GPUDirect Storage).
   */
  mode: 'dram' | 'three-tier' | 'ssd-direct';
  /** The SSD's name, when the machine has one. */
  storage?: string;
  hostDram: {
    /** Host DRAM for experts (after hostTier.reserveGiB / capacityGiB); on unified memory, the pool. */
    availableBytes: number;
    /** What the scenario keeps there: every expert a dynamic GPU cache may fetch again (all of them), or those a static placement leaves off the GPU. */
    neededBytes: number;
    /** Experts host DRAM holds (three-tier), else the experts needed there. */
    capacityExperts: number;
    policy?: string;
    initial?: string;
  };
  /** Bytes charged to the link each crossed. */
  bytes: { ssdToHost: number; hostToGpu: number; ssdToGpu: number };
  host?: { requests: number; hits: number; misses: number; lateStaged: number; evictions: number; hitRate: number };
  ssd?: { reads: number; demandReads: number; stagedReads: number; stagedUsed: number; busyMs: number; demandWaitMs: number };
  /** Busy time per resource: the GPU, host -> GPU link (or SSD -> GPU path on ssd-direct), SSD -> host reads. */
  busyMs: { gpu: number; hostToGpu: number; ssdToGpu: number; ssdToHost: number };
}
