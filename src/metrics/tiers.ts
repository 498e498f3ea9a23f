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
  /** Three tiers, `moesim run`: this run's moves against per-tier Belady and the joint two-tier optimum (sim/tier-bounds.ts). */
  bounds?: TierBounds;
}

/** Moves through GPU <- host DRAM <- SSD, in link seconds: host -> GPU copies x c_hg + SSD reads x c_s. */
export interface TierMoves {
  gpuFetches: number;
  ssdReads: number;
  transferSec: number;
}

/**
 * Issue 16 item 2: bounds on what serving the run's access sequence through both tiers must move
 * (sim/tier-optimum.ts). All three in link seconds at the same per-expert costs.
 */
export interface TierBounds {
  /** The GPU's expert accesses (the batch's union per step and layer). */
  accesses: number;
  /** Seconds of one expert's host -> GPU copy (c_hg) and of its SSD read (c_s). */
  perExpertSec: { hostToGpu: number; ssdRead: number };
  /** This run's copies and SSD reads (prefetches and stagings included). */
  run: TierMoves;
  /** Belady's MIN on the GPU, then on host DRAM over the GPU's misses (the shipped belady and hostTier.policy: belady). */
  perTierBelady: TierMoves;
  joint: {
    /** mip: the integer program; lp: its relaxation (a lower bound); skipped: `reason` says why. */
    method: 'mip' | 'lp' | 'skipped';
    /** HiGHS's status, or the reason it was skipped. */
    status: string;
    /** Proven optimal (mip, gap 0). */
    exact?: boolean;
    /** The best schedule the MIP found. */
    best?: TierMoves;
    /** A proven lower bound on the optimum (link seconds). */
    lowerBoundSec?: number;
    /** (best known schedule - lower bound) / best known, percent; best known: the MIP's, else the smaller of the run's and per-tier Belady's. */
    gapPct?: number;
    /** Whether the LP relaxation's solution was integral (lp). */
    lpIntegral?: boolean;
    columns?: number;
    rows?: number;
  };
}
