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
import type { Ssd } from '../hardware/storage.js';
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
