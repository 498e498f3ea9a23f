/**
 * The timing of a read from an SSD (issue 16): the one place a storage read's seconds are written.
 *
 * A read of `bytes` is issued as requests of `blockBytes` with `queueDepth` of them in flight. Each
 * request costs the drive's latency (command, flash read) plus its transfer at the sequential
 * bandwidth; requests in flight overlap their latencies, so the steady rate is
 *
 *   X(block, qd) = min(seqBandwidth, iopsCeiling * block, qd * block / (latency + block / seqBandwidth))
 *
 * (Little's law: qd requests in flight, each resident latency + block / bw). The first request's
 * data arrives after one request time; the rest stream at X:
 *
 *   readSec(bytes) = linkSec(latency, seqBandwidth, b0) + (bytes - b0) / X,   b0 = min(bytes, block)
 *
 * At QD1 this is N (latency + block / bw); at a deep queue, latency + bytes / bw: the same
 * latency + bytes / bandwidth primitive as the host link (roofline.ts's linkSec).
 */
import type { Ssd, SsdBurst } from '../hardware/storage.js';
import { bytesSec, linkSec } from './roofline.js';

/** Steady read rate (bytes/s) with `queueDepth` requests of `blockBytes` in flight. */
export function ssdReadRate(ssd: Pick<Ssd, 'seqReadBytesPerSec' | 'randReadIops' | 'readLatencySec'>, blockBytes: number, queueDepth: number): number {
  const bw = ssd.seqReadBytesPerSec;
  const perRequest = linkSec(ssd.readLatencySec, bw, blockBytes);
  return Math.min(bw, ssd.randReadIops * blockBytes, (queueDepth * blockBytes) / perRequest);
}

/** Seconds of one read of `bytes` issued as requests of `blockBytes` at `queueDepth` (excluding queueing behind other reads). */
export function ssdReadSec(ssd: Pick<Ssd, 'seqReadBytesPerSec' | 'randReadIops' | 'readLatencySec'>, bytes: number, blockBytes: number, queueDepth: number): number {
  if (!(ssd.seqReadBytesPerSec > 0)) throw new Error(`SSD bandwidth must be positive, got ${ssd.seqReadBytesPerSec}`);
  if (bytes <= 0) return 0;
  const b0 = Math.min(bytes, blockBytes);
  const first = linkSec(ssd.readLatencySec, ssd.seqReadBytesPerSec, b0);
  if (bytes === b0) return first;
  return first + bytesSec(bytes - b0, ssdReadRate(ssd, blockBytes, queueDepth));
}

/** The read cost of an Ssd at its own request size and queue depth. */
export function ssdReadCost(ssd: Ssd): (bytes: number) => number {
  return (bytes) => ssdReadSec(ssd, bytes, ssd.blockBytes, ssd.queueDepth);
}

/** IOPS of `blockBytes` requests at `queueDepth` (the queue-depth curve). */
export function ssdIops(ssd: Pick<Ssd, 'seqReadBytesPerSec' | 'randReadIops' | 'readLatencySec'>, blockBytes: number, queueDepth: number): number {
  return ssdReadRate(ssd, blockBytes, queueDepth) / blockBytes;
}

/**
 * A token bucket in front of a drive (issue 16: the throughput limit of cloud block storage, and
 * of a virtual machine's disk device): `bucketBytes` of credit, spent by every byte read, earned
 * back at `sustainedBytesPerSec` at all times (while reading and while idle) up to the bucket;
 * while there is credit, bytes flow at up to `burstBytesPerSec`, then at the sustained rate. This
 * is the model AWS EBS documents for gp2 burst credits and for its throughput credits, Firecracker
 * implements for a VM's block device (a bucket of `size` refilled every `refill_time`, plus an
 * optional `one_time_burst`), and Azure documents for credit-based disk bursting; the sources are
 * in hardware/storage.ts. A datasheet NVMe drive has none for reads.
 */
export type { SsdBurst };

/**
 * Seconds for `bytes` to pass a bucket holding `tokens` (no drive time: the bucket alone): at the
 * burst rate while credit lasts (credit drains at burst - sustained), then at the sustained rate.
 */
export function bucketPassSec(b: SsdBurst, tokens: number, bytes: number): number {
  const R = b.burstBytesPerSec;
  const S = b.sustainedBytesPerSec;
  if (bytes <= 0) return 0;
  if (!(R > S)) return bytes / S;
  const fast = Math.min(bytes, (tokens * R) / (R - S));
  return fast / R + (bytes - fast) / S;
}

/**
 * The bucket's state along one serial read queue (the SSD tier's): reads start in time order and
 * never overlap. Starts full at time 0 (a drive idle before the run). Deterministic.
 */
export class SsdBucket {
  tokens: number;
  private lastSec = 0;

  constructor(readonly burst: SsdBurst) {
    if (!(burst.sustainedBytesPerSec > 0)) throw new Error(`burst.sustainedBytesPerSec must be positive, got ${burst.sustainedBytesPerSec}`);
    if (!(burst.burstBytesPerSec >= burst.sustainedBytesPerSec)) throw new Error(`burst.burstBytesPerSec (${burst.burstBytesPerSec}) must be at least the sustained rate (${burst.sustainedBytesPerSec})`);
    if (!(burst.bucketBytes >= 0)) throw new Error(`burst.bucketBytes must be >= 0, got ${burst.bucketBytes}`);
    this.tokens = burst.bucketBytes;
  }

  /**
   * A read of `bytes` starting at `startSec` that the drive alone would serve in `driveSec`: its
   * seconds, the longer of the drive's and the bucket's; the credit is refilled for the idle time
   * before it and charged for its bytes.
   */
  read(startSec: number, bytes: number, driveSec: number): number {
    const b = this.burst;
    if (startSec < this.lastSec) throw new Error(`SsdBucket: a read at ${startSec} s before the previous one ended (${this.lastSec} s)`);
    const t = Math.min(b.bucketBytes, this.tokens + b.sustainedBytesPerSec * (startSec - this.lastSec));
    // Credit drains at the rate the bytes actually flow: the drive's, where it is below the burst rate.
    const drive = driveSec > 0 ? bytes / driveSec : Infinity;
    const flow = drive < b.burstBytesPerSec ? { ...b, burstBytesPerSec: Math.max(drive, b.sustainedBytesPerSec) } : b;
    const sec = Math.max(driveSec, bucketPassSec(flow, t, bytes));
    this.tokens = Math.min(b.bucketBytes, Math.max(0, t + b.sustainedBytesPerSec * sec - bytes));
    this.lastSec = startSec + sec;
    return sec;
  }

  /** The credit at `atSec` (after the last read), refilled while idle. */
  tokensAt(atSec: number): number {
    return Math.min(this.burst.bucketBytes, this.tokens + this.burst.sustainedBytesPerSec * Math.max(0, atSec - this.lastSec));
  }
}
