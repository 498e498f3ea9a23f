/**
 * `moesim calibrate --backend disk` (issue 16): times expert-sized reads from a file on this
 * machine with the page cache bypassed (O_DIRECT, buffers aligned to the device's block), over
 * request sizes and queue depths; fits the storage read model of timing/storage.ts (latency +
 * bytes / bandwidth, and its queue-depth curve through the same primitive); writes a disk profile
 * that a scenario's `hardware.storage.profile` reads; and validates the fitted model on held-out
 * reads: expert-sized reads at each queue depth, and a replay of a run of expert reads back to back
 * (the SSD tier's serial read queue), simulated vs measured.
 *
 * Queue depth: requests are issued with Node's asynchronous fs.read, which runs on libuv's thread
 * pool (4 threads unless UV_THREADPOOL_SIZE says otherwise); deeper queues than the pool are not
 * measured.
 */
import { median } from '../metrics/summarize.js';
import { closeSync, constants, openSync, readSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { read as readCb } from 'node:fs';
import { hostname } from 'node:os';
import { InputError } from '../util/errors.js';
import { now, secondsSince } from '../util/clock.js';
import { writeFileAtomic, fsInputError } from '../util/fs.js';
import { DISK_PROFILE_KIND, type Ssd } from '../hardware/storage.js';
import { ssdReadSec } from '../timing/storage.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Direct I/O alignment of offsets, sizes and buffer addresses (a 4 KiB logical block covers 512 B devices too). */
const ALIGN = 4096;

export interface DiskPoint {
  blockBytes: number;
  queueDepth: number;
  bytes: number;
  /** Median over repeats, seconds. */
  sec: number;
  repeats: number;
}

export interface DiskFit {
  readLatencySec: number;
  seqReadBytesPerSec: number;
  randReadIops: number;
  /** Relative RMS error of the fit on its own (QD1) points. */
  fitRmsRel: number;
}

export interface DiskValidationPoint {
  what: string;
  bytes: number;
  blockBytes: number;
  queueDepth: number;
  measuredSec: number;
  simulatedSec: number;
  /** (simulated - measured) / measured. */
  error: number;
}

export interface DiskProfile {
  kind: typeof DISK_PROFILE_KIND;
  version: 1;
  ssd: Ssd;
  measurements: DiskPoint[];
  fit: DiskFit;
  validation: { points: DiskValidationPoint[]; meanAbsError: number; replayError: number };
}

export interface DiskCalibrateOptions {
  /** The test file to create (and delete afterwards), on the disk to measure. */
  file: string;
  fileBytes: number;
  /** Expert size the validation reads, bytes. */
  expertBytes: number;
  blocks: number[];
  queueDepths: number[];
  /** Read sizes the fit uses (besides the expert size, which is held out). */
  fitBytes: number[];
  repeats: number;
  /** Experts read back to back in the replay. */
  replayReads: number;
  seed: number;
  progress?: (m: string) => void;
}

export function defaultDiskOptions(file: string, expertBytes: number, quick: boolean): DiskCalibrateOptions {
  return {
    file,
    fileBytes: quick ? 128 * MiB : 512 * MiB,
    expertBytes,
    blocks: [128 * KiB, 1 * MiB],
    queueDepths: [1, 2, 4],
    fitBytes: [128 * KiB, 1 * MiB, 4 * MiB, 16 * MiB],
    repeats: quick ? 5 : 15,
    replayReads: quick ? 8 : 32,
    seed: 1,
  };
}

/** A small deterministic generator for offsets (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const alignUp = (x: number) => Math.ceil(x / ALIGN) * ALIGN;

/** A buffer of at least `bytes` whose usable part starts at an address O_DIRECT accepts (found by probing). */
function alignedBuffer(fd: number, bytes: number): { buf: Buffer; offset: number } {
  const buf = Buffer.allocUnsafeSlow(bytes + 2 * ALIGN);
  for (let o = 0; o < ALIGN; o += 8) {
    try {
      readSync(fd, buf, o, ALIGN, 0);
      return { buf, offset: o };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
    }
  }
  throw new InputError('--file: no buffer alignment was accepted for direct I/O on this file system (O_DIRECT); expected a file on a local disk (ext4, xfs), not tmpfs or a network file system');
}

function readAt(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => readCb(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

/** Reads `bytes` at file position `pos` as `block`-sized requests with `qd` in flight; seconds. */
async function timedRead(fd: number, buf: Buffer, bufOff: number, pos: number, bytes: number, block: number, qd: number): Promise<number> {
  const n = Math.ceil(bytes / block);
  let next = 0;
  const t0 = now();
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const len = Math.min(block, bytes - i * block);
      const got = await readAt(fd, buf, bufOff + i * block, alignUp(len), pos + i * block);
      if (got < len) throw new Error(`short read: ${got} of ${len} bytes`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(qd, n) }, worker));
  return secondsSince(t0);
}

/**
 * Fits the read model's latency and bandwidth to every measured point (all request sizes and
 * queue depths, through timing/storage.ts's ssdReadSec itself): least squares on relative error,
 * by a search over a log grid (100 x 100, then a finer grid around the best), which needs no
 * starting guess. Latency and bandwidth come from the requests larger than the smallest; the IOPS
 * ceiling is then fitted to the smallest requests alone (it binds only there).
 */
export function fitDisk(points: DiskPoint[]): DiskFit {
  const smallest = Math.min(...points.map((p) => p.blockBytes));
  const small = points.filter((p) => p.blockBytes === smallest);
  const use = points.filter((p) => p.blockBytes !== smallest || small.length === points.length);
  if (use.length < 2) throw new Error('fitDisk: needs at least two points');
  const relErr = (m: { readLatencySec: number; seqReadBytesPerSec: number; randReadIops: number }, ps: DiskPoint[]) => {
    let e = 0;
    for (const p of ps) {
      const r = (ssdReadSec(m, p.bytes, p.blockBytes, p.queueDepth) - p.sec) / p.sec;
      e += r * r;
    }
    return e;
  };
  // The ceiling binds small requests only: latency and bandwidth from the larger ones (no ceiling).
  const cost = (lat: number, bw: number) => {
    let e = 0;
    const m = { readLatencySec: lat, seqReadBytesPerSec: bw, randReadIops: Infinity };
    for (const p of use) {
      const r = (ssdReadSec(m, p.bytes, p.blockBytes, p.queueDepth) - p.sec) / p.sec;
      e += r * r;
    }
    return e;
  };
  let best = { lat: 0, bw: 0, e: Infinity };
  const search = (latLo: number, latHi: number, bwLo: number, bwHi: number) => {
    const n = 100;
    for (let i = 0; i <= n; i++) {
      const lat = latLo * (latHi / latLo) ** (i / n);
      for (let j = 0; j <= n; j++) {
        const bw = bwLo * (bwHi / bwLo) ** (j / n);
        const e = cost(lat, bw);
        if (e < best.e) best = { lat, bw, e };
      }
    }
  };
  search(1e-7, 1e-1, 1e6, 1e12);
  const step = (1e6) ** (1 / 100);
  search(best.lat / step ** 2, best.lat * step ** 2, best.bw / step ** 2, best.bw * step ** 2);
  // Then the IOPS ceiling from the smallest requests: the lowest ceiling that fits them best (a
  // ceiling that does not bind fits as well as any higher one).
  let iops = 1e9;
  let iopsErr = Infinity;
  for (let i = 0; i <= 900; i++) {
    const x = 1e3 * 10 ** (i / 150);
    const e = relErr({ readLatencySec: best.lat, seqReadBytesPerSec: best.bw, randReadIops: x }, small);
    if (e < iopsErr - 1e-12) {
      iops = x;
      iopsErr = e;
    }
  }
  const all = relErr({ readLatencySec: best.lat, seqReadBytesPerSec: best.bw, randReadIops: iops }, use);
  return { readLatencySec: best.lat, seqReadBytesPerSec: best.bw, randReadIops: iops, fitRmsRel: Math.sqrt(all / use.length) };
}

/** Measures, fits, validates. Creates `file` (fileBytes of incompressible data) and deletes it. */
export async function calibrateDisk(o: DiskCalibrateOptions): Promise<DiskProfile> {
  const say = o.progress ?? (() => {});
  const maxRead = Math.max(o.expertBytes * Math.min(2, o.replayReads), ...o.fitBytes);
  const fileBytes = alignUp(Math.max(o.fileBytes, 4 * maxRead));
  say(`writing ${(fileBytes / MiB).toFixed(0)} MiB test file ${o.file}`);
  let fd: number;
  try {
    const w = openSync(o.file, 'w');
    const chunk = Buffer.alloc(4 * MiB);
    const r = rng(o.seed ^ 0x5eed);
    for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((r() * 2 ** 32) >>> 0, i);
    for (let done = 0; done < fileBytes; done += chunk.length) writeSync(w, chunk, 0, Math.min(chunk.length, fileBytes - done));
    fsyncSync(w);
    closeSync(w);
    fd = openSync(o.file, constants.O_RDONLY | constants.O_DIRECT);
  } catch (e) {
    throw fsInputError(e, 'write', o.file);
  }
  try {
    const { buf, offset } = alignedBuffer(fd, alignUp(maxRead) + ALIGN);
    const r = rng(o.seed);
    /** A random aligned position with room for `bytes`. */
    const pos = (bytes: number) => Math.floor((r() * (fileBytes - alignUp(bytes))) / ALIGN) * ALIGN;
    const measure = async (bytes: number, block: number, qd: number, repeats: number) => {
      const xs: number[] = [];
      for (let i = 0; i < repeats; i++) xs.push(await timedRead(fd, buf, offset, pos(bytes), bytes, block, qd));
      return median(xs);
    };
    // Warm-up (the drive's and the OS's first-touch costs).
    await measure(1 * MiB, 128 * KiB, 1, 3);
    const measurements: DiskPoint[] = [];
    for (const block of o.blocks) {
      for (const qd of o.queueDepths) {
        for (const bytes of o.fitBytes) {
          if (bytes < block && qd > 1) continue;
          measurements.push({ blockBytes: block, queueDepth: qd, bytes, sec: await measure(bytes, block, qd, o.repeats), repeats: o.repeats });
        }
      }
    }
    // 4 KiB requests: the IOPS ceiling.
    const deepest = Math.max(...o.queueDepths);
    measurements.push({ blockBytes: 4 * KiB, queueDepth: deepest, bytes: 256 * KiB, sec: await measure(256 * KiB, 4 * KiB, deepest, o.repeats), repeats: o.repeats });
    say(`${measurements.length} read configurations timed`);
    const fit = fitDisk(measurements);
    const block = Math.max(...o.blocks);
    const ssd: Ssd = {
      name: `measured disk (${hostname()}: ${o.file})`,
      seqReadBytesPerSec: fit.seqReadBytesPerSec,
      randReadIops: fit.randReadIops,
      readLatencySec: fit.readLatencySec,
      pcieGen: 0,
      lanes: 0,
      blockBytes: block,
      queueDepth: deepest,
      source: `moesim calibrate --backend disk: O_DIRECT reads of ${o.file} on ${hostname()}, fitted (latency + bytes / bandwidth and its queue-depth curve, timing/storage.ts); pcieGen/lanes 0 = not known`,
    };
    // Held out: expert-sized reads at every queue depth with the profile's request size.
    const points: DiskValidationPoint[] = [];
    for (const qd of o.queueDepths) {
      const measuredSec = await measure(o.expertBytes, block, qd, o.repeats);
      const simulatedSec = ssdReadSec(ssd, o.expertBytes, block, qd);
      points.push({ what: `expert read, QD${qd}`, bytes: o.expertBytes, blockBytes: block, queueDepth: qd, measuredSec, simulatedSec, error: (simulatedSec - measuredSec) / measuredSec });
    }
    // Replay: the SSD tier's serial queue, `replayReads` experts back to back at the profile's QD.
    const reps: number[] = [];
    for (let k = 0; k < Math.max(1, Math.floor(o.repeats / 2)); k++) {
      let t = 0;
      for (let i = 0; i < o.replayReads; i++) t += await timedRead(fd, buf, offset, pos(o.expertBytes), o.expertBytes, block, deepest);
      reps.push(t);
    }
    const replayMeasured = median(reps);
    const replaySim = o.replayReads * ssdReadSec(ssd, o.expertBytes, block, deepest);
    const replayError = (replaySim - replayMeasured) / replayMeasured;
    points.push({ what: `replay: ${o.replayReads} expert reads back to back, QD${deepest}`, bytes: o.replayReads * o.expertBytes, blockBytes: block, queueDepth: deepest, measuredSec: replayMeasured, simulatedSec: replaySim, error: replayError });
    const meanAbsError = points.reduce((s, p) => s + Math.abs(p.error), 0) / points.length;
    return { kind: DISK_PROFILE_KIND, version: 1, ssd, measurements, fit, validation: { points, meanAbsError, replayError } };
  } finally {
    closeSync(fd);
    try {
      unlinkSync(o.file);
    } catch {
      // already gone
    }
  }
}

export interface DiskReplay {
  reads: number;
  distinctExperts: number;
  expertBytes: number;
  measuredSec: number;
  simulatedSec: number;
  error: number;
}

/**
 * Reads a run's SSD read sequence (expert keys in the order the simulated SSD started them) from a
 * file laid out one expert after another, serially, each at the Ssd's request size and queue depth
 * with the page cache bypassed; the measured total against the simulated SSD busy time of the same
 * reads (each ssdReadSec(expertBytes)). Creates `file` and deletes it.
 */
export async function replayDiskReads(file: string, keys: number[], expertBytes: number, ssd: Ssd, seed = 1): Promise<DiskReplay> {
  const slot = alignUp(expertBytes);
  const index = new Map<number, number>();
  for (const k of keys) if (!index.has(k)) index.set(k, index.size);
  const fileBytes = Math.max(slot, index.size * slot);
  let fd: number;
  try {
    const w = openSync(file, 'w');
    const chunk = Buffer.alloc(4 * MiB);
    const r = rng(seed);
    for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((r() * 2 ** 32) >>> 0, i);
    for (let done = 0; done < fileBytes; done += chunk.length) writeSync(w, chunk, 0, Math.min(chunk.length, fileBytes - done));
    fsyncSync(w);
    closeSync(w);
    fd = openSync(file, constants.O_RDONLY | constants.O_DIRECT);
  } catch (e) {
    throw fsInputError(e, 'write', file);
  }
  try {
    const { buf, offset } = alignedBuffer(fd, slot + ALIGN);
    let measuredSec = 0;
    for (const k of keys) measuredSec += await timedRead(fd, buf, offset, index.get(k)! * slot, expertBytes, ssd.blockBytes, ssd.queueDepth);
    const simulatedSec = keys.length * ssdReadSec(ssd, expertBytes, ssd.blockBytes, ssd.queueDepth);
    return { reads: keys.length, distinctExperts: index.size, expertBytes, measuredSec, simulatedSec, error: (simulatedSec - measuredSec) / measuredSec };
  } finally {
    closeSync(fd);
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
}

export function writeDiskProfile(path: string, p: DiskProfile): void {
  try {
    writeFileAtomic(path, JSON.stringify(p, null, 2) + '\n');
  } catch (e) {
    throw fsInputError(e, 'write', path);
  }
}

export function formatDiskSummary(p: DiskProfile): string {
  const f = p.fit;
  const lines = [
    `disk: latency ${(f.readLatencySec * 1e6).toFixed(1)} us, bandwidth ${(f.seqReadBytesPerSec / 1e9).toFixed(3)} GB/s, 4 KiB ceiling ${(f.randReadIops / 1e3).toFixed(1)} K IOPS (fit RMS ${(100 * f.fitRmsRel).toFixed(1)}%)`,
    'held out (simulated vs measured):',
    ...p.validation.points.map((v) => `  ${v.what}: ${(v.bytes / MiB).toFixed(2)} MiB, measured ${(v.measuredSec * 1e3).toFixed(3)} ms, simulated ${(v.simulatedSec * 1e3).toFixed(3)} ms, error ${(100 * v.error).toFixed(1)}%`),
    `mean |error| ${(100 * p.validation.meanAbsError).toFixed(1)}%, replay error ${(100 * p.validation.replayError).toFixed(1)}%`,
  ];
  return lines.join('\n');
}
