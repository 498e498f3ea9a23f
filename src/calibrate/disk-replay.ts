/**
 * The storage tier of `moesim replay` / `moesim validate` (issue 16): an SSD-tier expert's read is
 * executed for real, from a file on this machine's disk.
 *
 * The simulated side: a policy whose tier plan (sim/tier-plan.ts) is three-tier (host DRAM in front
 * of an SSD) runs with its host tier (sim/tiers.ts) in the replay world: the host tier's capacity in
 * experts is planned with the scenario's model, as the GPU cache's is; its reads cost the SSD's
 * ssdReadSec of the replayed (scaled) expert. The recorded schedule then has a READ operation where
 * each SSD read starts (sim/schedule.ts); the SSD's read queue is in the exclusive group with the
 * GPU and the link, since the replay executes one operation at a time.
 *
 * The executed side (ExpertFile): every expert's host weights live in one region whose slots are
 * aligned for direct I/O; the file holds the same bytes, slot after slot, written with O_DIRECT
 * (so the page cache never holds them). A READ reads the expert's slot back into its host slot,
 * straight into the memory the upload then copies to the device (no staging copy): requests of the
 * Ssd's blockBytes with its queueDepth in flight (Node's fs.read on libuv's thread pool, 4 threads
 * unless UV_THREADPOOL_SIZE says otherwise). Before each pass, every expert the host tier does not
 * hold at the start has one float per 4 KiB page set to NaN: an expert computed without having been
 * read back whole would turn the hidden state to NaN, which the replay throws on.
 *
 * Unified memory (a hardware.unified machine, plan ssd-direct): one pool is the CPU's memory and the
 * GPU's; the GPU's cache is sized in it and what it misses is read from the SSD straight into it
 * (sim/tier-plan.ts). The replay world has no host tier then: the recorded schedule is the GPU
 * cache's (uploads, evictions), each upload charged as an SSD read (setupTiers' storageLinkCosts,
 * as moesim run charges it), and replay.ts executes it on the cpu backend, which stands in for the
 * pool: an upload is ExpertFile.read of the expert into its host slot (no copy to a device
 * region), the expert is computed in place from that slot, and an eviction poisons the slot (its
 * memory is another expert's now), untimed, so that a fetch read back is checked as the first is.
 * Not replayed (refused by name): GPUDirect Storage (hostTier.gpuDirect on a discrete GPU), a
 * miss computed on the CPU or from a lower-bit copy on unified memory, a backend other than cpu.
 *
 * The page cache: with O_DIRECT (mode "direct") it is bypassed. Where the file system refuses
 * O_DIRECT (tmpfs, some network file systems), the file is read through the page cache (mode
 * "buffered"), which then serves the reads: the share of the bytes read that reached the block
 * device is measured per pass from /proc/self/io's read_bytes (Linux task I/O accounting, counted
 * where a read is submitted to the block layer), and reported, so that a read the page cache served
 * is never taken for a disk's.
 */
import { closeSync, constants, openSync, read as readCb, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import type { ExpertDtype, HostArray } from './expert-graph.js';
import type { Ssd } from '../hardware/storage.js';
import type { Hardware } from '../hardware/types.js';
import type { Scenario } from '../scenario/schema.js';
import type { StepCosts } from '../timing/costs.js';
import { planTiers, setupTiers, type TierPlan } from '../sim/tier-plan.js';
import type { HostTier } from '../sim/tiers.js';
import { createPolicyCache, type PreparedScenario } from '../sim/world.js';
import { fsInputError } from '../util/fs.js';
import { missHandlerInfo, missLowBit } from '../policies/miss/index.js';
import { InputError } from '../util/errors.js';
import { hrClock, secondsOn, type Clock } from '../util/clock.js';
import { ioWaitBound } from '../util/thread-waits.js';

/** Direct I/O alignment of offsets, sizes and buffer addresses (4 KiB covers 512 B devices too). */
const ALIGN = 4096;
const alignUp = (x: number) => Math.ceil(x / ALIGN) * ALIGN;

/** Policy `index`'s memory tiers, planned for the full-size model (as `moesim run` plans them). */
function tierPlanOf(prep: PreparedScenario, scenario: Scenario, index: number): TierPlan {
  const p = scenario.policies[index];
  const { plan: cachePlan } = createPolicyCache(prep, p, index);
  const dims = { numLayers: prep.trace.numLayers, numExperts: prep.model.numExperts };
  return planTiers(prep.hardware, p, index, dims, prep.cost.expertBytes, cachePlan.capacityExperts, scenario.hostTier, prep.streaming !== undefined);
}

/** What a policy's tiers are in the replay world: the costs its simulation charges, and its host tier (three-tier) or direct SSD fetches (unified memory). */
export interface ReplayTiers {
  cost: StepCosts;
  host?: HostTier;
  /** Unified memory: the GPU's cache is the pool, and what it misses is read from the SSD straight into it (the link's transfers are SSD reads). */
  direct?: true;
  /** Unified memory whose pool holds every expert, warm: the cache starts with all of them (tier-plan.ts fillPool). */
  poolHoldsAll?: true;
}

/**
 * The tiers of policy `index` in the replay world. `costs` are the replay's (the scaled expert);
 * `storage` the SSD whose reads are charged (the scenario's for recording a schedule, the measured
 * disk's for validate). Where its plan keeps every expert in host DRAM (or the pool), `costs` as
 * they are. Unified memory (plan ssd-direct on a hardware.unified machine): the same costs with the
 * link's transfers charged as SSD reads (tier-plan.ts setupTiers, as `moesim run` charges them).
 */
export function replayTiers(prep: PreparedScenario, scenario: Scenario, index: number, costs: StepCosts, storage: Ssd | undefined): ReplayTiers {
  const p = scenario.policies[index];
  const dims = { numLayers: prep.trace.numLayers, numExperts: prep.model.numExperts };
  const plan = tierPlanOf(prep, scenario, index);
  if (plan.mode === 'dram') return { cost: costs, ...(plan.poolHoldsAll ? { poolHoldsAll: true as const } : {}) };
  const label = `policies[${index}] (${p.kind})`;
  if (plan.mode === 'ssd-direct') {
    if (!prep.hardware.unified) throw new InputError(`${label}: hostTier.gpuDirect (GPUDirect Storage, SSD -> GPU memory) is not replayed; replay and validate execute a host tier in front of the SSD, or a unified-memory pool`);
    const onMiss = 'onMiss' in p ? p.onMiss : undefined;
    if (onMiss && (missHandlerInfo(onMiss.kind).bypassesCache || missLowBit(onMiss) !== undefined)) {
      throw new InputError(`${label}.onMiss: ${onMiss.kind} on a unified-memory machine is not replayed (a miss not fetched into the pool would be computed from memory the SSD has not filled); expected onMiss fetch`);
    }
  }
  if (!storage) throw new InputError(`${label} reads experts from an SSD: validate needs the measured disk (--disk-profile, written by moesim calibrate --backend disk)`);
  const hardware: Hardware = { ...prep.hardware, storage };
  const t = setupTiers(plan, hardware, costs, dims);
  return { cost: t.cost, ...(t.host ? { host: t.host } : {}), ...(t.direct ? { direct: true as const } : {}) };
}

/**
 * Unified memory runs on the cpu backend only: ONNX Runtime's CPU EP computes an expert from the
 * host memory its SSD read filled, in place, which is what one pool shared by CPU and GPU does; on
 * a discrete device (webgpu) every run would copy the weights over the bus first.
 */
export function checkPoolBackend(prep: PreparedScenario, scenario: Scenario, policies: number[], backend: string): void {
  if (backend === 'cpu' || !prep.hardware.unified) return;
  for (const i of policies) {
    if (tierPlanOf(prep, scenario, i).mode !== 'ssd-direct') continue;
    throw new InputError(`--backend ${backend}: policies[${i}] (${scenario.policies[i].kind}) runs on unified memory (${prep.hardware.gpu.name}), which the replay executes as host memory on the cpu backend (an expert computed in place where its SSD read put it); expected --backend cpu`);
  }
}

/** Which experts the host tier holds before the run (warm: the first of the model file). */
export function hostResident(tier: HostTier): Uint8Array {
  return Uint8Array.from(tier.cache.resident);
}

/** /proc/self/io's read_bytes: bytes this process's reads fetched from block devices; undefined where not reported. */
export function deviceReadBytes(): number | undefined {
  try {
    const m = /^read_bytes:\s*(\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface ExpertFileInfo {
  file: string;
  /** direct: O_DIRECT, the page cache bypassed; buffered: the file system refused O_DIRECT. */
  mode: 'direct' | 'buffered';
  expertBytes: number;
  /** Bytes of one expert's slot (expertBytes aligned up): what one read transfers. */
  slotBytes: number;
  blockBytes: number;
  queueDepth: number;
}

/** The experts' file on the disk and their aligned host memory (see the file's comment). */
export class ExpertFile {
  readonly info: ExpertFileInfo;
  private fd: number;
  private readonly region: Buffer;
  private readonly base: number;
  private next = 0;
  private written = false;
  /** Bytes read since the last mark, and the device's read_bytes then. */
  private readBytes = 0;
  private deviceMark: number | undefined;
  /** Per key: 1 while its host copy is poisoned (not read back since). */
  private readonly poisoned: Uint8Array;
  /**
   * Rounds of requests in one read: ceil(requests / requests at once), at most libuv's pool
   * (UV_THREADPOOL_SIZE, default 4) at once; the other threads' waits are bounded by it (ioWaitBound).
   */
  readonly rounds: number;
  /** After otherWaitEnd: the other threads' increases over the window, summed (the bound's loose side). */
  otherWaitSumSec = 0;

  /**
   * `afterRead`: called after each read of an expert's slot with its bytes (tests: a fake disk
   * advances a fake clock by the time it stands for); `clock` times the bracketing samples (probe).
   */
  constructor(
    file: string,
    private readonly numKeys: number,
    expertBytes: number,
    ssd: Pick<Ssd, 'blockBytes' | 'queueDepth'>,
    private readonly clock: Clock = hrClock,
    private readonly afterRead?: (bytes: number) => void,
  ) {
    if (!(ssd.blockBytes > 0 && ssd.blockBytes % ALIGN === 0)) throw new InputError(`hardware.storage.blockBytes: ${ssd.blockBytes} is not a positive multiple of ${ALIGN} (direct I/O reads whole 4 KiB blocks)`);
    const slotBytes = alignUp(expertBytes);
    this.poisoned = new Uint8Array(numKeys);
    let mode: ExpertFileInfo['mode'] = 'direct';
    try {
      const w = openSync(file, 'w');
      writeSync(w, Buffer.alloc(ALIGN));
      closeSync(w);
      try {
        this.fd = openSync(file, constants.O_RDWR | constants.O_DIRECT);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        mode = 'buffered';
        this.fd = openSync(file, 'r+');
      }
    } catch (e) {
      throw fsInputError(e, 'write', file);
    }
    this.region = Buffer.allocUnsafeSlow(numKeys * slotBytes + 2 * ALIGN);
    this.base = mode === 'direct' ? this.probeAlignment() : 0;
    this.info = { file, mode, expertBytes, slotBytes, blockBytes: ssd.blockBytes, queueDepth: Math.max(1, Math.round(ssd.queueDepth)) };
    const requests = Math.ceil(slotBytes / ssd.blockBytes);
    const pool = Number(process.env.UV_THREADPOOL_SIZE);
    this.rounds = Math.ceil(requests / Math.min(this.info.queueDepth, Number.isInteger(pool) && pool > 0 ? pool : 4, requests));
  }

  /** Whether the clock reports the other threads' waits (and the replaying thread's, which the on-a-core figures need too). */
  get otherWaits(): boolean {
    return this.clock.waitedSec !== undefined && this.clock.otherThreads !== undefined;
  }

  /** Before one read, outside its timed span: the other threads' waits now. */
  otherWaitBegin(): void {
    this.clock.otherThreads?.begin();
  }

  /**
   * After it, outside its timed span: what the other threads' waits could have added to the read
   * (ioWaitBound: an upper bound), in seconds, and never more than `leftSec` (the read's time less
   * the replaying thread's waits in it: waits of two threads at the same instant delay it once).
   */
  otherWaitEnd(leftSec: number): number {
    const w = this.clock.otherThreads;
    if (!w) return 0;
    w.end();
    this.otherWaitSumSec = w.sumSec;
    return Math.min(ioWaitBound(w.sumSec, w.maxSec, this.rounds), Math.max(0, leftSec));
  }

  /** The first offset into the region whose address direct I/O accepts. */
  private probeAlignment(): number {
    for (let o = 0; o < ALIGN; o += 8) {
      try {
        readSync(this.fd, this.region, o, ALIGN, 0);
        return o;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
      }
    }
    throw new InputError(`${this.info?.file ?? 'expert file'}: no buffer alignment was accepted for direct I/O; expected a file on a local disk (ext4, xfs)`);
  }

  /** Allocator of the experts' host weights (replay.ts hostExperts): slot after slot, in key order. */
  readonly memory = {
    alloc: (dtype: ExpertDtype, length: number): HostArray => {
      if (dtype !== 'float32') throw new Error(`ExpertFile: experts are fp32 in a replay, got ${dtype}`);
      if (4 * length !== this.info.expertBytes) throw new Error(`ExpertFile: an expert of ${4 * length} bytes, expected ${this.info.expertBytes}`);
      if (this.next === this.numKeys) throw new Error(`ExpertFile: more than ${this.numKeys} experts`);
      const off = this.region.byteOffset + this.base + this.next++ * this.info.slotBytes;
      return new Float32Array(this.region.buffer, off, length);
    },
  };

  /** Writes every expert's host bytes to its slot of the file (O_DIRECT in direct mode): after the weights are filled. */
  writeAll(): void {
    if (this.next !== this.numKeys) throw new Error(`ExpertFile: ${this.next} of ${this.numKeys} experts allocated`);
    const total = this.numKeys * this.info.slotBytes;
    const chunk = 64 * this.info.slotBytes;
    try {
      for (let done = 0; done < total; done += chunk) {
        const n = Math.min(chunk, total - done);
        if (writeSync(this.fd, this.region, this.base + done, n, done) !== n) throw new Error('short write');
      }
    } catch (e) {
      throw fsInputError(e, 'write', this.info.file);
    }
    this.written = true;
  }

  private slot(key: number): Buffer {
    return this.region.subarray(this.base + key * this.info.slotBytes, this.base + (key + 1) * this.info.slotBytes);
  }

  /** Sets one float per 4 KiB page of every expert not `resident` (1 = in host DRAM) to NaN: untimed, before a pass. */
  poison(resident: Uint8Array | undefined): void {
    for (let k = 0; k < this.numKeys; k++) if (!(resident && resident[k] === 1)) this.poisonKey(k);
  }

  /** Poisons one expert's host copy (unified memory: the pool dropped it, its memory is another expert's now). */
  poisonKey(key: number): void {
    const s = this.slot(key);
    for (let o = 0; o < this.info.expertBytes; o += ALIGN) s.writeFloatLE(Number.NaN, o);
    this.poisoned[key] = 1;
  }

  /** Reads back every poisoned expert, or those of them `only` marks (untimed: before a pass, what its host DRAM or pool holds). */
  async restore(only?: Uint8Array): Promise<void> {
    for (let k = 0; k < this.numKeys; k++) if (this.poisoned[k] === 1 && (!only || only[k] === 1)) await this.read(k);
  }

  /** Reads expert `key`'s slot from the file into its host memory: blockBytes requests, queueDepth in flight. */
  async read(key: number): Promise<void> {
    if (!this.written) throw new Error('ExpertFile: read before writeAll');
    const { slotBytes, blockBytes, queueDepth } = this.info;
    const buf = this.region;
    const bufBase = this.base + key * slotBytes;
    const pos = key * slotBytes;
    const n = Math.ceil(slotBytes / blockBytes);
    let next = 0;
    const fd = this.fd;
    const one = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const len = Math.min(blockBytes, slotBytes - i * blockBytes);
        readCb(fd, buf, bufBase + i * blockBytes, len, pos + i * blockBytes, (err, got) => (err ? reject(err) : got < len ? reject(new Error(`${this.info.file}: short read of expert ${key}: ${got} of ${len} bytes`)) : resolve()));
      });
    const worker = async () => {
      while (next < n) await one(next++);
    };
    await Promise.all(Array.from({ length: Math.min(queueDepth, n) }, worker));
    this.afterRead?.(slotBytes);
    this.readBytes += slotBytes;
    this.poisoned[key] = 0;
  }

  /**
   * The disk's speed now (untimed by the replay, immediately before and after a timed pass):
   * `reads` experts read back to back, spread over the file, as the pass reads them (the slot,
   * the replay's request size and queue depth); each read's seconds, wall clock and, where the
   * clock reports the replaying thread's waits for a core, less those waits and less what the
   * other threads' waits (libuv's pool: clock.otherThreads) could have added to the read
   * (otherWaitEnd): the same subtraction as the pass's reads (replay.ts), so that both sides of the
   * brackets see it.
   */
  async probe(reads: number): Promise<DiskSample> {
    const waitedSec = this.clock.waitedSec?.bind(this.clock);
    const others = this.otherWaits;
    this.clock.otherThreads?.rescan();
    const readSec: number[] = [];
    const on: number[] = [];
    const otherSec: number[] = [];
    for (let i = 0; i < reads; i++) {
      const w0 = waitedSec?.() ?? 0;
      if (others) this.otherWaitBegin();
      const t0 = this.clock.now();
      await this.read((i * 7919 + 13) % this.numKeys);
      const t = secondsOn(this.clock, t0);
      readSec.push(t);
      const main = waitedSec ? waitedSec() - w0 : 0;
      const o = others ? this.otherWaitEnd(t - main) : 0;
      if (others) otherSec.push(o);
      if (waitedSec) on.push(Math.max(0, t - main - o));
    }
    return { readSec, ...(waitedSec ? { onCoreSec: on } : {}), ...(others ? { otherWaitSec: otherSec } : {}) };
  }

  /** Starts counting (before a pass). */
  mark(): void {
    this.clock.otherThreads?.rescan();
    this.readBytes = 0;
    this.deviceMark = deviceReadBytes();
  }

  /** Since the mark: bytes read, and of those the bytes the block device delivered (undefined where the OS does not say). */
  sinceMark(): { bytes: number; deviceBytes?: number } {
    const now = deviceReadBytes();
    return { bytes: this.readBytes, ...(now !== undefined && this.deviceMark !== undefined ? { deviceBytes: now - this.deviceMark } : {}) };
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // closed
    }
    try {
      unlinkSync(this.info.file);
    } catch {
      // already gone
    }
  }
}

/** One bracketing sample of the disk: the seconds of each of its expert reads, wall clock and on a core (where reported). */
export interface DiskSample {
  readSec: number[];
  /** Each read's seconds less the replaying thread's waits for a core and the other threads' (otherWaitSec) during it. */
  onCoreSec?: number[];
  /** Per read: what the other threads' waits for a core could have added to it (ExpertFile.otherWaitEnd, an upper bound). */
  otherWaitSec?: number[];
}

/** A pass's page-cache check: the share of the bytes read that the block device did not deliver (the page cache did). */
export function pageCacheShare(s: { bytes: number; deviceBytes?: number }): number | undefined {
  if (s.deviceBytes === undefined || s.bytes === 0) return undefined;
  return Math.max(0, 1 - s.deviceBytes / s.bytes);
}

/**
 * An Ssd whose every read takes `factor` times as long (latency times it, bandwidth and IOPS ceiling
 * divided by it: timing/storage.ts's ssdReadSec scales exactly), for a pass simulated on the disk's
 * speed of its minutes. Without the profile's token bucket: the samples (reads back to back, as
 * the passes read) already run at whatever rate the disk's throttle allows in those minutes, so
 * the scaled drive stands for both; the profile as calibrated keeps its bucket.
 */
export function scaleSsd(ssd: Ssd, factor: number): Ssd {
  const { burst: _burst, ...drive } = ssd;
  return { ...drive, readLatencySec: ssd.readLatencySec * factor, seqReadBytesPerSec: ssd.seqReadBytesPerSec / factor, randReadIops: ssd.randReadIops / factor };
}
