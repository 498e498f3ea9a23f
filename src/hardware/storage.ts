/**
 * The storage tier: NVMe SSDs as hardware (issue 16). Internal units are SI (bytes, bytes/s, s).
 *
 * What a drive is described by, and where each number comes from:
 * - seqReadBytesPerSec: the datasheet's sequential read (128 KiB requests at QD32 on every consumer
 *   datasheet), MB/s = 1e6 bytes/s.
 * - randReadIops: the datasheet's 4 KiB random read IOPS at high queue depth (QD32 and more threads
 *   as the datasheet states): the drive's ceiling on requests per second.
 * - readLatencySec: the time of one 4 KiB read at queue depth 1 (command + flash read tR +
 *   transfer), from the datasheet's QD1 IOPS where one is published (latency = 1 / IOPS_QD1), else
 *   from published measurements. Only the 990 PRO's is a published measurement of the drive (a
 *   review's CrystalDiskMark RND4K Q1T1); no other preset's QD1 figure could be sourced with the
 *   search tool (sessions 27 and 28): each of those sources says "estimate" and how it was chosen.
 * - pcieGen, lanes: the drive's interface (informational; the read model uses the figures above).
 * - blockBytes, queueDepth: how the reader issues a large read (request size and requests in
 *   flight). The defaults are the datasheet's sequential-read conditions (128 KiB, QD32), under
 *   which the model reproduces the datasheet bandwidth; an mmap'd model faulting pages in on one
 *   thread is closer to 128 KiB at QD1 (Linux's default read_ahead_kb = 128).
 *
 * The timing of a read (latency + bytes / bandwidth, and the queue-depth curve) is written in
 * src/timing/storage.ts, nowhere else.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { fsReason } from '../util/fs.js';
import { unknownNameMessage } from '../util/suggest.js';
import { describeValue, positiveNumber } from '../model/resolve.js';

/** A token bucket in front of a drive (its timing: timing/storage.ts bucketPassSec and SsdBucket). */
export interface SsdBurst {
  bucketBytes: number;
  burstBytesPerSec: number;
  sustainedBytesPerSec: number;
}

export interface Ssd {
  name: string;
  seqReadBytesPerSec: number;
  randReadIops: number;
  readLatencySec: number;
  pcieGen: number;
  lanes: number;
  /** Request size the reader issues, bytes. */
  blockBytes: number;
  /** Requests the reader keeps in flight. */
  queueDepth: number;
  source: string;
  /**
   * A token bucket the reads pass (timing/storage.ts SsdBurst, SsdBucket): absent for every drive
   * preset, since a datasheet NVMe drive has none for reads (see BURST_SOURCES); present for a
   * cloud or virtual machine's disk, where the provider or the hypervisor limits throughput.
   */
  burst?: SsdBurst & { source: string };
}

/**
 * Where the token-bucket model of a disk's throughput comes from (BURST_MODEL below):
 * - AWS EBS gp2: "larger volumes have higher baseline performance levels and accumulate I/O
 *   credits faster"; "Each volume receives an initial I/O credit balance of 5.4 million I/O
 *   credits, which is enough to sustain the maximum burst performance of 3,000 IOPS for 30
 *   minutes" (Amazon EC2 user guide, ebs-volume-types.md, read through the search tool in
 *   siagholami/aws-documentation; the AWS knowledge-center page rds-low-burst-balance says the same:
 *   the volume falls back to its baseline once the balance is spent, and refills while below it).
 * - Firecracker, the hypervisor of the machine calibrated here (/proc/cmdline --firecracker-init,
 *   kernel 6.18.44-fc, a virtio-blk disk vda): a device's rate limiter is a TokenBucket {size,
 *   refill_time, one_time_burst}: "The refill-rate is derived from size and refill_time, and it is
 *   the constant rate at which the tokens replenish ... Consumption from the token bucket is
 *   unbounded in speed which allows for bursts bound in size by the amount of tokens available.
 *   Once the token bucket is empty, consumption speed is bound by the refill_rate"
 *   (firecracker-microvm/firecracker@004d935399ba6062240af269638635d54229f5bf:
 *   src/firecracker/swagger/firecracker.yaml, TokenBucket). one_time_burst (an initial credit
 *   that does not refill) is not modelled.
 * - Azure managed disks: credit-based bursting is the default on eligible premium SSDs of 512 GiB
 *   and less (learn.microsoft.com/azure/virtual-machines/disks-enable-bursting).
 * - Datasheet NVMe drives have none for reads: the cliff reviews measure is the SLC write cache's;
 *   "the read performance remains constant across the full storage capacity ... ~6100 MB/sec on
 *   average throughout the entire linear reading process" (guru3d.com, Lexar NM800 Pro 2TB
 *   review, page 9, its full-span linear read). So the presets have no burst.
 */
export const BURST_MODEL = 'token bucket: bucketBytes of credit, spent per byte read, refilled at sustainedBytesPerSec; bytes flow at burstBytesPerSec while credit lasts';

const MBps = 1e6;
const KiB = 1024;
/** The datasheet sequential-read conditions (see the header). */
export const DEFAULT_BLOCK_BYTES = 128 * KiB;
export const DEFAULT_QUEUE_DEPTH = 32;

function drive(d: Omit<Ssd, 'blockBytes' | 'queueDepth'>): Ssd {
  return { ...d, blockBytes: DEFAULT_BLOCK_BYTES, queueDepth: DEFAULT_QUEUE_DEPTH };
}

export const ssdPresets: Record<string, Ssd> = {
  'samsung-990-pro': drive({
    name: 'Samsung 990 PRO 2TB (PCIe 4.0 x4)',
    seqReadBytesPerSec: 7450 * MBps,
    randReadIops: 1_400_000,
    // Measured (secondary, TheFPSReview): CrystalDiskMark RND4K Q1T1 read 82 MB/s (1e6 bytes/s) of
    // 4 KiB requests = 20,020 IOPS -> 49.95 us per read (was 1 / 22,000 = 45.5 us, unsourced).
    readLatencySec: 4096 / 82e6,
    pcieGen: 4,
    lanes: 4,
    source:
      'Samsung 990 PRO data sheet (MZ-V9P2T0): sequential read 7,450 MB/s, random read 4 KB QD32 1,400K IOPS (2 TB), confirmed by https://www.slashcam.com/news/single/Samsung-990-PRO--New-NVMe-SSD-top-model-reaches-th-17407.html and the retailer listing of the MZ-V9P2T0BW, https://www.digitec.ch/en/s1/product/samsung-990-pro-2000-gb-m2-7450-mbs-2000-gb-m2-ssd-35511542 ("sequential read speeds up to 7450 MB/s", "up to 1400K IOPS for reads"); readLatencySec measured, secondary: "In RND4K Q1T1 performance the Samsung 990 PRO 1TB SSD dominates performance in read performance at 82MB/s" (TheFPSReview, Samsung 990 PRO with Heatsink 1TB review, https://www.thefpsreview.com/2024/05/27/samsung-990-pro-with-heatsink-1tb-pcie-gen4-m-2-nvme-ssd-review/4), i.e. 82e6 / 4096 = 20,020 IOPS at QD1, 49.95 us per 4 KiB read through Windows and the file system; the 1 TB model (the 2 TB not measured there: QD1 reads wait on one die\'s read, so capacity changes them little, an assumption). Samsung\'s data sheet QD1 figure (22K IOPS as recalled in session 26) was not found by the search tool',
  }),
  'wd-sn850x': drive({
    name: 'WD_BLACK SN850X 2TB (PCIe 4.0 x4)',
    seqReadBytesPerSec: 7300 * MBps,
    randReadIops: 1_200_000,
    // Estimate (see source): WD publishes no QD1 figure and no measurement of this drive was found;
    // 1 / 17,000 IOPS = 59 us, above the 46.7-50 us measured on the predecessor and peers.
    readLatencySec: 1 / 17_000,
    pcieGen: 4,
    lanes: 4,
    source:
      'WD_BLACK SN850X product brief: sequential read 7,300 MB/s (all capacities), random read 1,200K IOPS (2 TB), https://www.tomshardware.com/news/wd-black-sn850x-pcie-40-ps5-ssd-hits-retail-4tb-for-dollar820, and the 2 TB review at https://www.newsdirectory3.com/nvme1-4-pcie4-0x4-wd-black-sn850x-2tb-with-the-fastest-sequential-read-and-write-speed-reviews-8/ ("Sequential Read: 7,300MB/s", "Read IOPS: 1,200K"); readLatencySec an estimate, not sourced: WD publishes no QD1 figure, and the search tool found no QD1 measurement of the SN850X (sessions 27 and 28; reviews of it found quote only the brief\'s figures); 1 / 17K IOPS (59 us) is the order session 26 recalled from reviews. Measured QD1 4K reads of nearby drives, secondary and not of this drive, take 15-21% less time: its predecessor the WD_BLACK SN850 1TB, "单队列纵深下的4K随机读取速度为87.77MB/s" (CrystalDiskMark QD1 4K random read 87.77 MB/s, PChome, https://article.pchome.net/content-2130321-2.html) = 21,430 IOPS, 46.7 us; KitGuru\'s CrystalDiskMark 8 single-thread 4K QD1 random reads: Lexar NM790 4TB 20,176 IOPS (https://kitguru.net/components/ssd-drives/simon-crisp/lexar-nm790-with-heatsink-4tb-ssd-review/11), TeamGroup T-Force Cardea A440 Pro Special Series 1TB 20,336 IOPS (https://kitguru.net/components/ssd-drives/simon-crisp/teamgroup-t-force-cardea-a440-pro-special-series-1tb-ssd-review/11), 49.6 and 49.2 us; the 990 PRO 1TB\'s 50.0 us (samsung-990-pro). Kept at 59 us until the SN850X itself is measured (override latencyUs, or calibrate --backend disk)',
  }),
  'solidigm-d7-p5520': drive({
    name: 'Solidigm D7-P5520 7.68TB (PCIe 4.0 x4, U.2)',
    seqReadBytesPerSec: 7100 * MBps,
    randReadIops: 1_100_000,
    // 7,100 MB/s and 1,100K IOPS: the product brief's as a third-party compilation quotes it, and
    // 7,100 MB/s agrees with a published measurement; the 82 us QD1 read is an estimate (see source).
    readLatencySec: 82e-6,
    pcieGen: 4,
    lanes: 4,
    source:
      'Solidigm D7-P5520 product brief (7.68 TB) not found by the search tool itself (sessions 27 and 28); its figures as a third-party compilation quotes them, secondary: a drive profile naming "Solidigm D7-P5520/P5620 Product Brief (official)" and "StorageReview review 2022-05" as its sources gives "sequential": {"read_MBps": 7100, ...}, "random_4k": {"read_IOPS": 1100000, ...}, "latency_us": {"qd1_read_4nines": 130} (aprilrushh/aprilrushh-cognitive-prefetch-poc@cb1192aaebd48af87a0d23684cb565efcb1a1d48:configs/profiles/d7_p5520.json; no capacity given for them, the family is 1.92-15.36 TB), the same 7,100 MB/s and 1,100K IOPS session 26 recalled from the brief. Measured, secondary, for the sequential figure: 4 x D7-P5520 7.68 TB (SSDPF2KX076T1, ext4) "每盘约 6.5–7.0 GB/s 读" (about 6.5-7.0 GB/s read per drive), and fio (libaio, direct=1) replaying 64 KiB production reads at random addresses "完全随机 26.59 GiB/s" over the 4 drives = 7.14 GB/s per drive (ljye2023/Tutti@8f4c1cf451982229853182a5b32f8a23868e9648:doc/design/kv-storage-layout-and-io-submission.md), consistent with 7,100 MB/s; a catalog listing of the smaller 3.84 TB SSDPF2KX038T11Z is titled "D7-P5520 Series 6500 MB/s Read" (acmemicro.com, cited by a paper in the code index). readLatencySec 82 us an estimate, not sourced: session 26\'s recollection of the brief\'s typical 4 KB QD1 read latency; the compilation above gives only the 99.99th-percentile QD1 read latency, 130 us, a tail bound which the mean (the figure this model needs) lies below, consistent with 82 us but not a source for it',
  }),
  'apple-m3-max-ssd': drive({
    name: 'Apple internal SSD (MacBook Pro M3 Max)',
    // Measured, secondary: 5,032 MB/s read (MacRumors' M1 Max vs M3 Max tests, see source); was 6,000 (estimate).
    seqReadBytesPerSec: 5032 * MBps,
    randReadIops: 200_000,
    readLatencySec: 60e-6,
    pcieGen: 4,
    lanes: 4,
    source:
      'Apple publishes no SSD figures. seqReadBytesPerSec measured, secondary: MacRumors\' M3 Max vs M1 Max MacBook Pro comparison as reported by macerkopf.de, https://www.macerkopf.de/2023/11/14/performance-vergleich-m3-max-macbook/: "Die SSD-Geschwindigkeitstests zeigten hingegen eine ähnliche Leistung zwischen den beiden Chips, wobei der M1 Max Lese-/Schreibwerte von 5727/5980 und der M3 Max 5032/6197 erreichte" (the SSD tests showed similar performance, M1 Max read/write 5,727/5,980, M3 Max 5,032/6,197 MB/s), the tool and the unit\'s capacity not stated there (was 6,000 MB/s, session 26\'s estimate); consistent with Blackmagic reads of the predecessors, 5,319 MB/s on a 2 TB 14-inch M2 Max and 5,797 MB/s on a 1 TB M1 Pro (https://www.macrumors.com/2023/01/24/new-macbook-pro-ssd-speeds). randReadIops 200K and readLatencySec 60 us estimates, not sourced: no 4 KB random or QD1 measurement of an Apple internal SSD was found by the search tool (sessions 26-28); taken of the order of PCIe 4 drives (the 990 PRO\'s measured QD1 read is 50.0 us, samsung-990-pro)',
  }),
  'apple-m4-max-ssd': drive({
    name: 'Apple internal SSD (MacBook Pro / Mac Studio M4 Max)',
    // 13.6 GB/s (M5 Max, The Verge) / 1.86 = 7.3 GB/s for the M4 Max 4 TB (see source).
    seqReadBytesPerSec: 7300 * MBps,
    randReadIops: 200_000,
    readLatencySec: 60e-6,
    pcieGen: 4,
    lanes: 4,
    source:
      'Apple publishes no SSD figures; sequential read from The Verge\'s M5 Max MacBook Pro review as summarised at https://briefly.co/anchor/Gadgets/story/apples-new-m5-max-feels-like-a-huge-upgrade-if-you-bought-your-laptop-3-years-ago: the 4 TB SSD of the 16-inch M5 Max "could sustain a 13.6GB/s read speed", "86% faster reads ... than M4 counterparts", so 13.6 / 1.86 = 7.3 GB/s for the M4 Max 4 TB (was 6,700 MB/s from memory); randReadIops 200K and readLatencySec 60 us estimates, not sourced: the M3 Max SSD\'s (see apple-m3-max-ssd), unconfirmed by the search tool (sessions 26-28)',
  }),
};

/** A disk calibration profile (moesim calibrate --backend disk): a measured Ssd. */
export const DISK_PROFILE_KIND = 'moesim-disk-profile';

const nonNegative = () => z.number({ error: (iss) => `expected a number >= 0, got ${describeValue(iss.input)}` }).nonnegative({ error: (iss) => `expected a number >= 0, got ${describeValue(iss.input)}` });
const positiveInt = () => z.number({ error: (iss) => `expected a positive integer, got ${describeValue(iss.input)}` }).int().positive();

/** `hardware.storage:` in a scenario, user units (MB/s = 1e6 bytes/s, microseconds, KiB). */
export const storageSpecSchema = z
  .object({
    preset: z.string(),
    /** A disk profile written by `moesim calibrate --backend disk` (relative to the scenario's folder). */
    profile: z.string().min(1),
    name: z.string().min(1),
    seqReadMBps: positiveNumber(),
    randReadKiops: positiveNumber(),
    latencyUs: nonNegative(),
    pcieGen: positiveInt(),
    lanes: positiveInt(),
    blockKiB: positiveNumber(),
    queueDepth: positiveInt(),
    /** A token bucket in front of the disk (MB = 1e6 bytes); null removes a profile's. */
    burst: z
      .object({ bucketMB: nonNegative(), burstMBps: positiveNumber(), sustainedMBps: positiveNumber() })
      .strict()
      .refine((b) => b.burstMBps >= b.sustainedMBps, { message: 'burstMBps must be at least sustainedMBps' })
      .nullable(),
  })
  .partial()
  .strict();
export type StorageSpec = z.infer<typeof storageSpecSchema>;

const diskProfileSchema = z
  .object({
    kind: z.literal(DISK_PROFILE_KIND),
    version: z.literal(1),
    ssd: z
      .object({
        name: z.string(),
        seqReadBytesPerSec: z.number().positive(),
        randReadIops: z.number().positive(),
        readLatencySec: z.number().nonnegative(),
        // 0: not known (a measured disk).
        pcieGen: z.number().int().nonnegative(),
        lanes: z.number().int().nonnegative(),
        blockBytes: z.number().positive(),
        queueDepth: z.number().int().positive(),
        source: z.string(),
        burst: z
          .object({ bucketBytes: z.number().nonnegative(), burstBytesPerSec: z.number().positive(), sustainedBytesPerSec: z.number().positive(), source: z.string() })
          .strict()
          .refine((b) => b.burstBytesPerSec >= b.sustainedBytesPerSec, { message: 'burstBytesPerSec must be at least sustainedBytesPerSec' })
          .optional(),
      })
      .strict(),
  })
  .passthrough();

/** Reads a disk profile file; InputError naming the file and field otherwise. */
export function readDiskProfileSync(file: string): Ssd {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: cannot read the disk profile: ${fsReason(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(`${file}: expected a JSON disk profile (moesim calibrate --backend disk)`);
  }
  const parsed = diskProfileSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new InputError(`${file}: ${i.path.join('.') || 'profile'}: ${i.message}; expected a profile of kind ${DISK_PROFILE_KIND}, version 1`);
  }
  return parsed.data.ssd;
}

/** Resolves `hardware.storage` to an Ssd (SI units). Throws InputError naming `fieldPath`. */
export function resolveStorage(spec: StorageSpec | string, fieldPath: string, baseDir: string): Ssd {
  const s: StorageSpec = typeof spec === 'string' ? { preset: spec } : spec;
  if (s.preset !== undefined && s.profile !== undefined) throw new InputError(`${fieldPath}: give a preset or a profile, not both`);
  let from: Ssd | undefined;
  if (s.preset !== undefined) {
    const found = ssdPresets[s.preset];
    if (!found) throw new InputError(`${fieldPath}.preset: ${unknownNameMessage('SSD', s.preset, Object.keys(ssdPresets))}`);
    from = structuredClone(found);
  } else if (s.profile !== undefined) {
    const full = isAbsolute(s.profile) ? s.profile : resolvePath(baseDir, s.profile);
    try {
      from = readDiskProfileSync(full);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${fieldPath}.profile: ${e.message.replace(full, s.profile)}`);
      throw e;
    }
  } else {
    const missing = ['seqReadMBps', 'randReadKiops', 'latencyUs'].filter((k) => s[k as keyof StorageSpec] === undefined);
    if (missing.length > 0) throw new InputError(`${fieldPath}: without an SSD preset or profile, give ${missing.join(', ')}`);
  }
  const overridden = Object.entries(s)
    .filter(([k, v]) => k !== 'preset' && k !== 'profile' && v !== undefined)
    .map(([k]) => k);
  const burst =
    s.burst === null
      ? undefined
      : s.burst !== undefined
        ? { bucketBytes: s.burst.bucketMB * MBps, burstBytesPerSec: s.burst.burstMBps * MBps, sustainedBytesPerSec: s.burst.sustainedMBps * MBps, source: `inline in scenario (${fieldPath}.burst)` }
        : from?.burst;
  return {
    name: s.name ?? from?.name ?? 'custom SSD',
    seqReadBytesPerSec: s.seqReadMBps !== undefined ? s.seqReadMBps * MBps : from!.seqReadBytesPerSec,
    randReadIops: s.randReadKiops !== undefined ? s.randReadKiops * 1e3 : from!.randReadIops,
    readLatencySec: s.latencyUs !== undefined ? s.latencyUs * 1e-6 : from!.readLatencySec,
    pcieGen: s.pcieGen ?? from?.pcieGen ?? 4,
    lanes: s.lanes ?? from?.lanes ?? 4,
    blockBytes: s.blockKiB !== undefined ? s.blockKiB * KiB : (from?.blockBytes ?? DEFAULT_BLOCK_BYTES),
    queueDepth: s.queueDepth ?? from?.queueDepth ?? DEFAULT_QUEUE_DEPTH,
    source: from === undefined ? 'inline in scenario' : overridden.length > 0 ? `${from.source}; overridden in scenario: ${overridden.join(', ')}` : from.source,
    ...(burst ? { burst } : {}),
  };
}
