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
import { BURST_MODEL, DISK_PROFILE_KIND, type Ssd } from '../hardware/storage.js';
import { SsdBucket, ssdReadRate, ssdReadSec, type SsdBurst } from '../timing/storage.js';

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

/** One long run of expert reads back to back after an idle time (the token bucket's measurement). */
export interface DiskLongRun {
  idleSec: number;
  reads: number;
  bytesPerRead: number;
  /** Seconds from the run's start at which each read ended. */
  endSec: number[];
}

/** What a long run says about a token bucket in front of the disk (fitBurst). */
export interface DiskBurstFit {
  /** The long run's slope over its second half: the rate the disk sustains, bytes/s. */
  sustainedBytesPerSec: number;
  /** The line's intercept: bytes read above the sustained rate (a full bucket), bytes. */
  interceptBytes: number;
  /** The drive's own rate at the profile's request size and queue depth (the short reads' fit): the burst rate. */
  burstBytesPerSec: number;
  /** Seconds a full bucket lasts at the burst rate: interceptBytes / (burst - sustained). */
  drainSec: number;
  /** The second half's scatter: (max - min) / sustained of its four quarters' rates; a throttle smaller than it is not resolved. */
  spread: number;
  /** The bucket, when one is seen (see fitBurst); undefined: none. */
  burst?: SsdBurst;
  why: string;
}

export interface DiskProfile {
  kind: typeof DISK_PROFILE_KIND;
  version: 1;
  ssd: Ssd;
  measurements: DiskPoint[];
  fit: DiskFit;
  validation: { points: DiskValidationPoint[]; meanAbsError: number; replayError: number };
  /** With --long: the fitting run, the bucket fit, and a held-out run of the same length simulated with and without it. */
  long?: { fitRun: DiskLongRun; burstFit: DiskBurstFit; heldOut: DiskLongRun; heldOutError: { withBurst: number; withoutBurst: number }; simulatedSec: { withBurst: number; withoutBurst: number }; measuredSec: number; loadAverage: number[] };
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
  /** Seconds of each long run (the token bucket's measurement), 0: none. */
  longSec?: number;
  /** Idle seconds before each long run (the bucket refills while idle). */
  longIdleSec?: number;
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

/**
 * A token bucket from a long run of back-to-back reads that starts after an idle time (the bucket
 * full): the bytes read by time t follow min(R t, B + S t), the burst rate R until the credit is
 * spent, then the sustained rate S, B the bucket. S and B are the slope and intercept of a least
 * squares line through the run's second half (past any burst of the length the run can show); R
 * is the drive's own rate at the profile's request size and queue depth from the short reads'
 * fit (Firecracker's bucket is "unbounded in speed": the burst runs at what the device does). With
 * S at or above R, or below it by less than the run's own scatter (the spread of its second
 * half's quarters), no throttle is resolved (none). With S below R by more: a bucket of B where a full one lasts
 * at least two reads at R (a shorter one is not resolved by this run), else a bucket of 0 (a plain
 * limit at the sustained rate the long run measured); the reason is said.
 */
export function fitBurst(run: DiskLongRun, burstBytesPerSec: number): DiskBurstFit {
  const n = run.endSec.length;
  if (n < 4) throw new Error('fitBurst: needs at least four reads');
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = Math.floor(n / 2); i < n; i++) {
    xs.push(run.endSec[i]);
    ys.push((i + 1) * run.bytesPerRead);
  }
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const S = sxy / sxx;
  const B = my - S * mx;
  const R = burstBytesPerSec;
  const drainSec = R > S && B > 0 ? B / (R - S) : 0;
  const readSec = run.bytesPerRead / R;
  // The run's own scatter: the rates of the second half's four quarters, (max - min) / S.
  const h = Math.floor(n / 2);
  const q = Math.max(1, Math.floor((n - h) / 4));
  const rates: number[] = [];
  for (let a = h; a + q <= n; a += q) {
    const t0 = a === 0 ? 0 : run.endSec[a - 1];
    rates.push((q * run.bytesPerRead) / (run.endSec[a + q - 1] - t0));
  }
  const spread = (Math.max(...rates) - Math.min(...rates)) / S;
  const base = { sustainedBytesPerSec: S, interceptBytes: B, burstBytesPerSec: R, drainSec, spread };
  if (!(S > 0)) return { ...base, why: 'no sustained rate (the run did not progress)' };
  if (!(R > S * (1 + spread))) {
    if (R > S) return { ...base, why: `no throttle resolved: the short reads' rate (${(R / 1e9).toFixed(3)} GB/s) is above the sustained rate (${(S / 1e9).toFixed(3)} GB/s) by less than the run's own spread (${(100 * spread).toFixed(1)}%)` };
    return { ...base, why: `the sustained rate (${(S / 1e9).toFixed(3)} GB/s) is not below the short reads' rate (${(R / 1e9).toFixed(3)} GB/s): no burst` };
  }
  // S below R: the long run is throttled. A bucket is resolved where a full one lasts at least two
  // reads at R; otherwise the bucket is 0 (a plain limit at S: what the long run sustained).
  if (!(drainSec >= 2 * readSec)) {
    return { ...base, burst: { bucketBytes: 0, burstBytesPerSec: R, sustainedBytesPerSec: S }, why: `a rate limit at ${(S / 1e9).toFixed(3)} GB/s, no bucket resolved (the intercept, ${(B / MiB).toFixed(1)} MiB, is under two reads at the burst rate)` };
  }
  return { ...base, burst: { bucketBytes: B, burstBytesPerSec: R, sustainedBytesPerSec: S }, why: `a bucket of ${(B / MiB).toFixed(0)} MiB (${drainSec.toFixed(2)} s at the burst rate), then ${(S / 1e9).toFixed(3)} GB/s` };
}

/** Seconds the model gives a long run: each read ssdReadSec, through the bucket (full at the start) when there is one. */
export function simulateLongRun(ssd: Ssd, run: Pick<DiskLongRun, 'reads' | 'bytesPerRead'>, burst?: SsdBurst): number {
  const drive = ssdReadSec(ssd, run.bytesPerRead, ssd.blockBytes, ssd.queueDepth);
  if (!burst) return run.reads * drive;
  const bucket = new SsdBucket(burst);
  let t = 0;
  for (let i = 0; i < run.reads; i++) t += bucket.read(t, run.bytesPerRead, drive);
  return t;
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
    let long: DiskProfile['long'];
    if (o.longSec && o.longSec > 0) {
      const idleSec = o.longIdleSec ?? 5;
      const longRun = async (): Promise<DiskLongRun> => {
        await new Promise((r) => setTimeout(r, idleSec * 1e3));
        say(`long run: expert reads back to back for ${o.longSec} s (after ${idleSec} s idle)`);
        const endSec: number[] = [];
        const t0 = now();
        while (secondsSince(t0) < o.longSec!) {
          await timedRead(fd, buf, offset, pos(o.expertBytes), o.expertBytes, block, deepest);
          endSec.push(secondsSince(t0));
        }
        return { idleSec, reads: endSec.length, bytesPerRead: o.expertBytes, endSec };
      };
      const fitRun = await longRun();
      const burstFit = fitBurst(fitRun, ssdReadRate(ssd, block, deepest));
      if (burstFit.burst) ssd.burst = { ...burstFit.burst, source: `moesim calibrate --backend disk --long ${o.longSec}: ${fitRun.reads} expert reads back to back after ${idleSec} s idle on ${hostname()}, fitted (calibrate/disk.ts fitBurst); ${BURST_MODEL}` };
      const heldOut = await longRun();
      const measuredSec = heldOut.endSec[heldOut.endSec.length - 1];
      const withBurst = simulateLongRun(ssd, heldOut, burstFit.burst);
      const withoutBurst = simulateLongRun(ssd, heldOut);
      const { loadavg } = await import('node:os');
      long = {
        fitRun,
        burstFit,
        heldOut,
        measuredSec,
        simulatedSec: { withBurst, withoutBurst },
        heldOutError: { withBurst: (withBurst - measuredSec) / measuredSec, withoutBurst: (withoutBurst - measuredSec) / measuredSec },
        loadAverage: loadavg(),
      };
    }
    return { kind: DISK_PROFILE_KIND, version: 1, ssd, measurements, fit, validation: { points, meanAbsError, replayError }, ...(long ? { long } : {}) };
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
 * reads (each ssdReadSec(expertBytes), through the Ssd's token bucket if it has one). Creates `file`
 * and deletes it.
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
    // Back to back, as read: through the disk's token bucket (full at the start) where it has one.
    const simulatedSec = simulateLongRun(ssd, { reads: keys.length, bytesPerRead: expertBytes }, ssd.burst);
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
  if (p.long) {
    const l = p.long;
    const b = l.burstFit;
    const rate = (r: DiskLongRun) => (r.reads * r.bytesPerRead) / r.endSec[r.endSec.length - 1] / 1e9;
    lines.push(
      `long runs (${l.fitRun.endSec[l.fitRun.endSec.length - 1].toFixed(1)} s each after ${l.fitRun.idleSec} s idle; load average ${l.loadAverage.map((x) => x.toFixed(2)).join(' ')}): fitting run ${rate(l.fitRun).toFixed(3)} GB/s, held out ${rate(l.heldOut).toFixed(3)} GB/s`,
      `  bucket fit: sustained ${(b.sustainedBytesPerSec / 1e9).toFixed(3)} GB/s, burst (the drive's rate) ${(b.burstBytesPerSec / 1e9).toFixed(3)} GB/s, intercept ${(b.interceptBytes / MiB).toFixed(1)} MiB: ${b.why}`,
      `  held-out run of ${l.heldOut.reads} expert reads: measured ${l.measuredSec.toFixed(3)} s, simulated ${l.simulatedSec.withBurst.toFixed(3)} s with the bucket (error ${(100 * l.heldOutError.withBurst).toFixed(1)}%), ${l.simulatedSec.withoutBurst.toFixed(3)} s without (${(100 * l.heldOutError.withoutBurst).toFixed(1)}%)`,
    );
  }
  return lines.join('\n');
}
