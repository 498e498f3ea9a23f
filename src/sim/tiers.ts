/**
 * The host tier and the storage tier (issue 16): GPU HBM <- host DRAM <- SSD.
 *
 * The GPU's expert cache (offload-sim.ts) is unchanged. What it misses is asked of the host tier:
 * an ExpertCache of host DRAM with its own capacity and policy (LRU models the OS page cache),
 * fed by the SSD, a serial read queue whose reads cost timing/storage.ts's ssdReadSec. A request
 *
 *   - that hits host DRAM goes over the host link at once (as without a storage tier);
 *   - that misses is read from the SSD into host DRAM (admitted by the host policy, locked while
 *     the read is in flight), and goes over the host link when the read completes: two links,
 *     SSD -> host, then host -> GPU, each charged to its own resource and byte counter;
 *   - for an expert whose SSD read is already on its way (staged ahead) waits for that read, raised
 *     to demand priority.
 *
 * A prefetch of an expert that is not in host DRAM stages it (SSD -> host, at the prefetch's
 * priority) instead of fetching it to the GPU; a later plan, once it is in DRAM, fetches it over
 * the host link. CPU computation of a missed expert (onMiss: cpu) reads it from host DRAM, so it
 * waits for the SSD read too.
 *
 * Unified memory and GPUDirect Storage have no host tier: the GPU's fetch path is the SSD itself
 * (storageLinkCosts below), so every fetched byte is charged to SSD -> GPU.
 */
import type { Simulator } from '../engine/simulator.js';
import { BandwidthLink, type JobListener, type SerialResource } from '../engine/resource.js';
import { HIT, BYPASSED, wasAdmitted, type ExpertCache } from '../policies/expert-cache.js';
import type { StepCosts } from '../timing/costs.js';
import { SsdBucket, type SsdBurst } from '../timing/storage.js';

/** What the host tier hands back when an expert is in host DRAM: go on with `kind` (a link kind or TIER_CPU). */
export type TierReady = (key: number, kind: number, tokens: number) => void;

/** CPU computation of a missed expert, waiting for its SSD read (not a link kind: those are 0..3). */
export const TIER_CPU = 4;
const NONE = -1;

/** Told of each SSD read as it starts (for the timeline): demand is true when a miss waits for it, false for a staging. */
export type SsdReadListener = (key: number, demand: boolean, startSec: number, endSec: number) => void;

/** The small interface offload-sim.ts calls (its only dependency on this file). */
export interface TierHook {
  /** Called once by the simulator: the clock, what to do when an expert reaches host DRAM, and (optionally) who hears of each SSD read. */
  bind(sim: Simulator, ready: TierReady, onRead?: SsdReadListener): void;
  /**
   * A GPU miss needs `key` from host memory for `kind` over `tokens`: true if it is in host DRAM
   * now (the caller goes on at once); false if it is being read from the SSD (ready() is called
   * when it arrives).
   */
  request(key: number, kind: number, tokens: number): boolean;
  /** A prefetch of `key`: true if it is in host DRAM (the caller fetches it to the GPU); false if it is staged or being staged from the SSD. */
  stage(key: number, priority: number): boolean;
  /** Called when the run ends (resource totals into the counters). */
  finish(): void;
  /** The SSD's read queue (after bind): a recorded schedule's one-at-a-time executor puts it in the link's exclusive group. */
  readonly ssdResource?: SerialResource;
}

/** Counters of the host and storage tiers (bytes charged to the link each crossed). */
export interface TierCounters {
  hostRequests: number;
  hostHits: number;
  /** Requests that found their expert's SSD read (a staging) already on its way. */
  hostLateStaged: number;
  hostMisses: number;
  hostEvictions: number;
  ssdReads: number;
  ssdDemandReads: number;
  ssdStagedReads: number;
  /** Staged experts a later request found in host DRAM (or on its way). */
  ssdStagedUsed: number;
  /** Bytes read from the SSD into host DRAM. */
  bytesSsdToHost: number;
  ssdBusySec: number;
  /** Sum over demand SSD reads of request -> arrival in host DRAM (queueing + read). */
  ssdDemandWaitSec: number;
}

export function newTierCounters(): TierCounters {
  return {
    hostRequests: 0,
    hostHits: 0,
    hostLateStaged: 0,
    hostMisses: 0,
    hostEvictions: 0,
    ssdReads: 0,
    ssdDemandReads: 0,
    ssdStagedReads: 0,
    ssdStagedUsed: 0,
    bytesSsdToHost: 0,
    ssdBusySec: 0,
    ssdDemandWaitSec: 0,
  };
}

export const SSD_PRIORITY_DEMAND = 0;

export class HostTier implements TierHook, JobListener {
  readonly counters = newTierCounters();
  private sim!: Simulator;
  private ready!: TierReady;
  private ssd!: BandwidthLink;
  /** SSD read job of each key in flight, NONE if none. */
  private readonly inflight: Int32Array;
  /** What waits for the key's read (a link kind or TIER_CPU; NONE: a staging nobody waits for yet). */
  private readonly waitKind: Int8Array;
  private readonly waitTokens: Int32Array;
  private readonly requestSec: Float64Array;
  /** Staged, not yet requested. */
  private readonly stagedUnused: Uint8Array;
  /** Locked in the host cache while its read is in flight. */
  private readonly lockedRead: Uint8Array;
  private remapKey = -1;
  private onRead?: SsdReadListener;
  /** When set, the key of every SSD read in the order the reads start (for a disk replay). */
  readLog?: number[];

  constructor(
    /** Host DRAM: its capacity and policy. */
    readonly cache: ExpertCache,
    readonly expertBytes: number,
    /** Seconds of one SSD read of `bytes` (timing/storage.ts). */
    readonly ssdReadSec: (bytes: number) => number,
    /** A token bucket the SSD's reads pass (timing/storage.ts): each read's seconds then depend on when it starts. */
    readonly burst?: SsdBurst,
  ) {
    const n = cache.numKeys;
    this.inflight = new Int32Array(n).fill(NONE);
    this.waitKind = new Int8Array(n).fill(NONE);
    this.waitTokens = new Int32Array(n);
    this.requestSec = new Float64Array(n);
    this.stagedUnused = new Uint8Array(n);
    this.lockedRead = new Uint8Array(n);
  }

  bind(sim: Simulator, ready: TierReady, onRead?: SsdReadListener): void {
    this.sim = sim;
    this.ready = ready;
    this.onRead = onRead;
    this.ssd = new BandwidthLink(sim, 'ssd', this.ssdReadSec, this);
    if (this.burst) {
      const bucket = new SsdBucket(this.burst);
      // The payload of an SSD job is its bytes (BandwidthLink.transfer).
      this.ssd.resource.atStart = (startSec, driveSec, bytes) => bucket.read(startSec, bytes, driveSec);
    }
    this.ssd.resource.remap = (_old, job) => {
      this.inflight[this.remapKey] = job;
    };
  }

  /** The SSD's read queue (for tests and the timeline). */
  get ssdResource(): SerialResource {
    return this.ssd.resource;
  }

  request(key: number, kind: number, tokens: number): boolean {
    const c = this.counters;
    c.hostRequests++;
    const outcome = this.cache.access(key);
    if (this.stagedUnused[key] === 1) {
      this.stagedUnused[key] = 0;
      c.ssdStagedUsed++;
    }
    const job = this.inflight[key];
    if (job !== NONE) {
      // Staged and still on its way: wait for it, at demand priority.
      c.hostLateStaged++;
      this.waitKind[key] = kind;
      this.waitTokens[key] = tokens;
      this.requestSec[key] = this.sim.now;
      if (this.ssd.resource.isQueued(job)) {
        this.remapKey = key;
        this.ssd.resource.reprioritize(job, SSD_PRIORITY_DEMAND);
      }
      return false;
    }
    if (outcome === HIT) {
      c.hostHits++;
      return true;
    }
    c.hostMisses++;
    c.ssdDemandReads++;
    if (outcome >= 0) c.hostEvictions++;
    // Who waits is set before the read, which may start at once (the timeline calls it a demand read).
    this.waitKind[key] = kind;
    this.waitTokens[key] = tokens;
    this.requestSec[key] = this.sim.now;
    this.read(key, SSD_PRIORITY_DEMAND, wasAdmitted(outcome));
    return false;
  }

  stage(key: number, priority: number): boolean {
    if (this.inflight[key] !== NONE) return false;
    if (this.cache.resident[key] === 1) return true;
    const outcome = this.cache.insert(key);
    if (outcome === BYPASSED) return false; // no room (all locked): try again at a later plan
    if (outcome >= 0) this.counters.hostEvictions++;
    this.counters.ssdStagedReads++;
    this.waitKind[key] = NONE;
    this.read(key, priority, true);
    return false;
  }

  private read(key: number, priority: number, admitted: boolean): void {
    this.counters.ssdReads++;
    if (admitted) {
      this.cache.lock(key);
      this.lockedRead[key] = 1;
    }
    this.inflight[key] = this.ssd.transfer(this.expertBytes, priority, key);
  }

  onJobStart(res: SerialResource, _job: number, tag: number): void {
    this.readLog?.push(tag);
    this.onRead?.(tag, this.waitKind[tag] !== NONE, res.startedSec, res.startedEndSec);
  }

  onJobDone(_res: SerialResource, _job: number, tag: number): void {
    const key = tag;
    this.inflight[key] = NONE;
    if (this.lockedRead[key] === 1) {
      this.lockedRead[key] = 0;
      this.cache.unlock(key);
    }
    const kind = this.waitKind[key];
    if (kind === NONE) {
      this.stagedUnused[key] = 1;
      return;
    }
    this.waitKind[key] = NONE;
    this.counters.ssdDemandWaitSec += this.sim.now - this.requestSec[key];
    this.ready(key, kind, this.waitTokens[key]);
  }

  finish(): void {
    this.counters.bytesSsdToHost = this.ssd.bytesMoved;
    this.counters.ssdBusySec = this.ssd.resource.busySec;
  }
}

/**
 * The step costs of a machine whose GPU fetches experts straight from the SSD (unified memory, or
 * GPUDirect Storage): the fetch path's time is the SSD read (the link model is not used for experts).
 */
export function storageLinkCosts<T extends StepCosts>(cost: T, ssdReadSec: (bytes: number) => number): T {
  const c = Object.create(cost) as T;
  Object.defineProperty(c, 'h2dSec', { value: ssdReadSec, enumerable: true });
  return c;
}

/**
 * The host tier's access order for Belady's bound on it: the GPU cache's demand misses, in order,
 * replaying `keys` (the GPU's accesses, trace/union.ts's accessKeys) through a fresh GPU cache.
 * Exact when the GPU cache is fetched into on every miss with no prefetching (the run is then the
 * same sequence of cache decisions); run.ts allows a Belady host tier only then.
 */
export function hostAccessKeys(keys: Int32Array, freshGpuCache: ExpertCache): Int32Array {
  const out = new Int32Array(keys.length);
  const hits = freshGpuCache.accessMany(keys, 0, keys.length, out);
  return out.slice(0, keys.length - hits);
}
