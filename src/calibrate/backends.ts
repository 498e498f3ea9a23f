/**
 * Real execution backends: the expert graph on ONNX Runtime's CPU or WebGPU execution provider,
 * with an explicit host-to-device step so a real expert cache can be driven and timed.
 *
 * - cpu: "device memory" is a separate region of host memory (SlabAllocator); upload is a real
 *   memcpy of the bytes (TypedArray.set) into it, and runs read the weights from there.
 * - webgpu: upload runs a session with no nodes whose output is its input, kept on the device
 *   (`preferredOutputLocation: 'gpu-buffer'`): ONNX Runtime copies the host bytes into a WebGPU
 *   buffer and hands back a tensor that later runs take as input with no copy (IO binding).
 *   Results are always read through sessions whose outputs are on the CPU: in onnxruntime-node,
 *   `getData()` on a gpu-buffer tensor crashes the process, so this module never calls it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { InputError } from '../util/errors.js';
import {
  buildExpertModel,
  buildIdentityModel,
  buildUploadModel,
  dtypeBytes,
  expertDtypes,
  type ExpertDtype,
  type ExpertShape,
  type ExpertWeights,
  type HostArray,
} from './expert-graph.js';

export type BackendName = 'cpu' | 'webgpu';
export const backendNames: readonly BackendName[] = ['cpu', 'webgpu'];

type Ort = typeof import('onnxruntime-node');

/** A buffer resident in the backend's device memory. */
export interface DeviceBuffer {
  readonly dtype: ExpertDtype;
  readonly dims: readonly number[];
  readonly sizeBytes: number;
  /** True once evicted/released; a released buffer must not be used again. */
  readonly released: boolean;
}

/** An expert whose three weight matrices are resident on the device. */
export interface DeviceExpert {
  readonly shape: ExpertShape;
  readonly dtype: ExpertDtype;
  readonly sizeBytes: number;
  readonly w1: DeviceBuffer;
  readonly w3: DeviceBuffer;
  readonly w2: DeviceBuffer;
}

export interface Backend {
  readonly name: BackendName;
  /** Short name of the executing device: the CPU model, or the WebGPU adapter. */
  readonly deviceName: string;
  /** Longer description: device, runtime and host. */
  readonly device: string;
  /** Element types the expert graph runs in on this backend. */
  readonly dtypes: readonly ExpertDtype[];
  /** Why each missing dtype is unsupported (the error the EP gave). */
  readonly unsupported: Partial<Record<ExpertDtype, string>>;
  /**
   * Run one expert on x ([tokens, hidden], row-major). With host weights the bytes travel with the
   * run (no cache); with a DeviceExpert they are already resident. Resolves once the result is on
   * the host.
   */
  runExpert(x: HostArray, expert: ExpertWeights | DeviceExpert): Promise<HostArray>;
  /** Host-to-device transfer of an expert's weights. */
  upload(weights: ExpertWeights): Promise<DeviceExpert>;
  /** Free an expert's device memory. */
  evict(expert: DeviceExpert): void;
  /** Host-to-device transfer of one buffer of `data.length` elements, as [1, n] unless dims are given. */
  uploadBuffer(data: HostArray, dtype: ExpertDtype, dims?: readonly number[]): Promise<DeviceBuffer>;
  releaseBuffer(buffer: DeviceBuffer): void;
  /**
   * Puts the device memory of buffers of `length` elements of `dtype` in the state every timed
   * upload of them must find, the same in the calibration, the drift probes and the replay's
   * passes: up to `live` of them held at once (the new one included), every upload goes into a buffer whose pages were
   * faulted in and which is cold (reused past the allocator's threshold), none into fresh pages.
   * Untimed; until the returned function is called. On the cpu backend: warmBufferCount buffers
   * allocated, every page written, and freed in order, their free list kept out of the allocator's
   * bound (an upload into fresh pages pays a page fault per 4 KiB: x4 to x6 the time of one into a
   * reused buffer on the 2-core VMs, reports/calibration/s27-drift/fresh-vs-reused.txt). On webgpu
   * nothing: ORT's WebGPU EP allocates its buffers itself (not steered from here; not measured).
   */
  warmBuffers(dtype: ExpertDtype, length: number, live: number): () => void;
  /** The cpu backend: device buffers carved out of new memory so far (their pages not yet faulted in; warmBuffers's own not counted). */
  freshBuffers?(): number;
  /** The cpu backend: its device memory's reuse threshold, bytes (OpenBackendOptions.cpuReuseAfterBytes). */
  readonly reuseAfterBytes?: number;
  /** Resolves once all work submitted so far has completed on the device. */
  sync(): Promise<void>;
  /** The smallest thing a run can do: a 1x1 Identity, host to host. */
  launchTiny(): Promise<void>;
  close(): Promise<void>;
}

/** upload/evict of a whole expert (its three matrices), from a backend's buffer primitives. */
function expertTransfers<B extends DeviceBuffer>(
  uploadBuffer: (data: HostArray, dtype: ExpertDtype, dims?: readonly number[]) => Promise<B>,
  releaseBuffer: (buffer: DeviceBuffer) => void,
): Pick<Backend, 'upload' | 'evict'> {
  return {
    async upload(weights) {
      const { hiddenSize: h, intermediateSize: f } = weights.shape;
      const w1 = await uploadBuffer(weights.w1, weights.dtype, [h, f]);
      const w3 = await uploadBuffer(weights.w3, weights.dtype, [h, f]);
      const w2 = await uploadBuffer(weights.w2, weights.dtype, [f, h]);
      return { shape: weights.shape, dtype: weights.dtype, sizeBytes: w1.sizeBytes + w3.sizeBytes + w2.sizeBytes, w1, w3, w2 };
    },
    evict(expert) {
      releaseBuffer(expert.w1);
      releaseBuffer(expert.w3);
      releaseBuffer(expert.w2);
    },
  };
}

/** What `openBackend` accepts; anything else is an InputError naming these. */
export function parseBackendName(name: string): BackendName {
  if ((backendNames as readonly string[]).includes(name)) return name as BackendName;
  throw new InputError(`unknown backend "${name}"; expected one of: ${backendNames.join(', ')}`);
}

export interface OpenBackendOptions {
  /**
   * Environment of the WebGPU probe process, instead of this process's (tests use it to hide the
   * Vulkan drivers). In-process sessions always see this process's environment.
   */
  probeEnv?: NodeJS.ProcessEnv;
  /**
   * CPU backend: ONNX Runtime's intra-op threads. Default 1. The calibration times runs back to
   * back; a replay runs an expert after other work (an upload, its own bookkeeping), and a pool of
   * threads that went idle in between takes time to wake: on a 16-core Xeon, 15 threads made the
   * replay's expert runs 37% slower than calibrated (TPOT -16%), 1 thread within 5%. On 2 cores,
   * a second ORT thread also competes with the host thread issuing the operations. The
   * environment variable MOESIM_CPU_THREADS sets it too. A profile and a replay must use the same.
   */
  cpuThreads?: number;
  /**
   * CPU backend: a freed device buffer is handed out again only once this many bytes of buffers
   * of its size were freed after it. Default: twice the last-level cache (lastLevelCacheBytes),
   * so that no upload finds its destination in a cache. Tests set a small one to keep the warm
   * sets (warmBuffers) small.
   */
  cpuReuseAfterBytes?: number;
}

/**
 * Open a backend. Throws InputError for an unknown name, or when WebGPU has no usable adapter
 * (with ONNX Runtime's reason, in one line, and the backends that are available).
 */
export async function openBackend(name: BackendName | string, options: OpenBackendOptions = {}): Promise<Backend> {
  const backend = parseBackendName(name);
  const ort = await import('onnxruntime-node');
  const env = process.env.MOESIM_CPU_THREADS;
  const threads = options.cpuThreads ?? (env !== undefined && env !== '' ? Number(env) : 1);
  if (!(Number.isInteger(threads) && threads > 0)) {
    throw new InputError(`MOESIM_CPU_THREADS: expected a positive integer, got ${JSON.stringify(env)}`);
  }
  return backend === 'cpu' ? openCpu(ort, threads, options.cpuReuseAfterBytes ?? 2 * lastLevelCacheBytes()) : openWebGpu(ort, options);
}

// ---------------------------------------------------------------------------------------------

function isDeviceExpert(e: ExpertWeights | DeviceExpert): e is DeviceExpert {
  return 'sizeBytes' in e;
}

function checkShapes(x: HostArray, expert: ExpertWeights | DeviceExpert): number {
  const h = expert.shape.hiddenSize;
  if (x.length === 0 || x.length % h !== 0) {
    throw new Error(`runExpert: x has ${x.length} elements, not a positive multiple of hidden size ${h}`);
  }
  return x.length / h;
}

function oneLine(message: string): string {
  // ORT errors look like "/path/file.cc:136 fn() cond was false. Failed to get a WebGPU adapter: ...\n".
  const first = message.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const text = first.length > 0 ? first[0] : message.trim();
  const m = /was false\.\s*(.*)$/.exec(text);
  return (m && m[1] !== '' ? m[1] : text).trim();
}

/** Tries the expert graph on one 1x1x1 run: returns undefined if it works, else the reason. */
async function tryDtype(ort: Ort, ep: BackendName, dtype: ExpertDtype): Promise<string | undefined> {
  try {
    const s = await ort.InferenceSession.create(buildExpertModel(dtype), { executionProviders: [ep], logSeverityLevel: 3 });
    try {
      const one = (): Tensor =>
        dtype === 'float32'
          ? new ort.Tensor('float32', new Float32Array([1]), [1, 1])
          : new ort.Tensor('float16', new Uint16Array([0x3c00]), [1, 1]);
      await s.run({ x: one(), w1: one(), w3: one(), w2: one() });
    } finally {
      await s.release();
    }
    return undefined;
  } catch (e) {
    return oneLine(e instanceof Error ? e.message : String(e));
  }
}

export function cpuModel(): string {
  const cpus = os.cpus();
  return cpus.length > 0 && cpus[0].model.trim() !== '' ? cpus[0].model.trim() : 'unknown CPU';
}

function cpuDescription(): string {
  return `${cpuModel()} (${os.cpus().length} logical cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM)`;
}

// ---------------------------------------------------------------------------------------------
// CPU

/**
 * The host's last-level cache in bytes (Linux sysfs; 0 when unknown). The cold rotations cover at
 * least twice it: a plan's coldBytes can be smaller than a server's L3 (300 MiB seen on a cloud
 * Xeon), and then the benchmarks would run from cache.
 */
export function lastLevelCacheBytes(): number {
  let best = 0;
  for (let i = 0; i < 8; i++) {
    try {
      const text = readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${i}/size`, 'utf8').trim();
      const m = /^(\d+)([KMG]?)$/.exec(text);
      if (m) best = Math.max(best, Number(m[1]) * ({ '': 1, K: 1024, M: 2 ** 20, G: 2 ** 30 } as Record<string, number>)[m[2]]);
    } catch {
      break;
    }
  }
  return best;
}

const PAGE = 4096;

/**
 * Buffers of `bytes` a SlabAllocator whose reuse threshold is `reuseAfterBytes` must hold freed so
 * that, with up to `live` of them held at once (the one being allocated included), every
 * allocation reuses one of them: a freed buffer comes back once `reuseAfterBytes` of its size were
 * freed after it, i.e. when its list holds at least reuseAfterBytes / bytes + 1 buffers, and up
 * to live - 1 are out when one more is asked for: ceil(reuseAfterBytes / bytes) + live.
 * Calibration's warm-up of session 26 freed only ceil(reuseAfterBytes / bytes) (its ring, the
 * cold rotation), short of it by the ring the timed uploads hold, so its uploads went into fresh
 * or reused pages depending on what ran before (x0.3 to x7 of the profile's time, README "Miss
 * handlers and serving, measured").
 */
export function warmBufferCount(bytes: number, reuseAfterBytes: number, live: number): number {
  return Math.ceil(reuseAfterBytes / Math.max(1, bytes)) + Math.max(1, live);
}
/**
 * Slab size. glibc serves allocations of 32 MiB and more (its largest dynamic mmap threshold) with
 * mmap, so every slab starts at the same offset within a page.
 */
const SLAB_BYTES = 64 * 2 ** 20;

/**
 * "Device memory" of the CPU backend, and the host staging buffers of the transfer benchmark: typed
 * arrays carved at page-aligned offsets out of large slabs, with exact-size free lists (a caching
 * allocator, like a GPU framework's). Why not plain `new Float32Array(n)`: small arrays land
 * anywhere in the malloc heap, and on some CPUs (measured: AMD EPYC, glibc 2.36) memcpy runs 10x
 * slower when the destination sits 1..31 bytes past the source modulo 4 KiB, so upload timings
 * would depend on where malloc happened to put two buffers. Page-aligned source and destination
 * make the copy what a pinned-host to device-allocator copy is.
 */
export class SlabAllocator {
  /** The slab small buffers are carved from now (earlier slabs live as long as a buffer in them). */
  private slab: ArrayBuffer | null = null;
  private used = 0;
  private readonly free_ = new Map<string, HostArray[]>();
  /** Bytes held in the free lists, and when each list was last freed into (least recently used first out). */
  private freeBytes = 0;
  private readonly lastFreed = new Map<string, number>();
  private tick = 0;
  /** Sizes kept out of the bound (warm), with how many holders each. */
  private readonly pinned = new Map<string, number>();
  private fresh = 0;

  /**
   * @param coldBytes a freed buffer is handed out again only once at least this many bytes of
   *   buffers of its size were freed after it (0: at once). Device memory is not in the CPU's
   *   caches; a buffer freed a moment ago is, and an upload into it would look cache-fast (a
   *   staging copy reused layer after layer: measured 40% faster than a cold copy).
   * @param maxFreeBytes the free lists hold at most this many bytes (default: three sizes' cold
   *   rotations); past it, the list of the size freed into longest ago is dropped, for the garbage
   *   collector. Without a bound, a run over many sizes (calibrate's transfer sizes) held every
   *   size's rotation: 2 x a 480 MiB L3 per size, 24 GiB in all, until the kernel killed it.
   */
  constructor(
    private readonly coldBytes = 0,
    private readonly maxFreeBytes = coldBytes > 0 ? 3 * coldBytes : Infinity,
  ) {}

  /** The reuse threshold: bytes of a size freed after a buffer before it is handed out again. */
  get reuseAfterBytes(): number {
    return this.coldBytes;
  }

  /** Buffers carved out of new memory by alloc (their pages faulted in by their first write), warm's not counted. */
  get freshAllocations(): number {
    return this.fresh;
  }

  alloc(dtype: ExpertDtype, length: number): HostArray {
    const key = `${dtype}:${length}`;
    const list = this.free_.get(key);
    const bytes = length * dtypeBytes(dtype);
    // The buffer freed longest ago, if enough were freed after it.
    if (list !== undefined && list.length > 0 && (list.length - 1) * bytes >= this.coldBytes) {
      if (!this.pinned.has(key)) this.freeBytes -= bytes;
      return list.shift()!;
    }
    this.fresh++;
    return this.carve(dtype, length, bytes);
  }

  private carve(dtype: ExpertDtype, length: number, bytes: number): HostArray {
    let buffer: ArrayBuffer;
    let offset = 0;
    if (bytes > SLAB_BYTES / 4) {
      buffer = new ArrayBuffer(Math.max(bytes, SLAB_BYTES / 2)); // large: its own mmap'd block
    } else {
      const rounded = Math.ceil(bytes / PAGE) * PAGE;
      if (this.slab === null || this.used + rounded > SLAB_BYTES) {
        this.slab = new ArrayBuffer(SLAB_BYTES);
        this.used = 0;
      }
      buffer = this.slab;
      offset = this.used;
      this.used += rounded;
    }
    return dtype === 'float32' ? new Float32Array(buffer, offset, length) : new Uint16Array(buffer, offset, length);
  }

  free(dtype: ExpertDtype, array: HostArray): void {
    const key = `${dtype}:${array.length}`;
    const list = this.free_.get(key) ?? [];
    list.push(array);
    this.free_.set(key, list);
    this.lastFreed.set(key, ++this.tick);
    if (this.pinned.has(key)) return;
    this.freeBytes += array.byteLength;
    while (this.freeBytes > this.maxFreeBytes && this.dropOldestList(key));
  }

  /**
   * Makes the free list of `length` elements of `dtype` hold warmBufferCount(its bytes,
   * reuseAfterBytes, live) buffers, each page of the new ones written (faulted in) and then freed
   * in order, and keeps the list out of the bound until the returned function is called (then it
   * counts again and may be dropped). While it is warm, `live` buffers of the size can be held at
   * once (the one being allocated included) and every alloc still reuses a faulted-in buffer
   * freed past the threshold.
   */
  warm(dtype: ExpertDtype, length: number, live: number): () => void {
    const key = `${dtype}:${length}`;
    const bytes = length * dtypeBytes(dtype);
    const list = this.free_.get(key) ?? [];
    this.free_.set(key, list);
    const holders = this.pinned.get(key) ?? 0;
    if (holders === 0) this.freeBytes -= list.reduce((a, b) => a + b.byteLength, 0);
    this.pinned.set(key, holders + 1);
    const want = warmBufferCount(bytes, this.coldBytes, live);
    const made: HostArray[] = [];
    while (list.length + made.length < want) {
      const a = this.carve(dtype, length, bytes);
      a.fill(0); // every page written: faulted in now, not during a timed upload
      made.push(a);
    }
    for (const a of made) this.free(dtype, a);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.pinned.get(key) ?? 1) - 1;
      if (n > 0) {
        this.pinned.set(key, n);
        return;
      }
      this.pinned.delete(key);
      this.freeBytes += (this.free_.get(key) ?? []).reduce((a, b) => a + b.byteLength, 0);
      while (this.freeBytes > this.maxFreeBytes && this.dropOldestList(key));
    };
  }

  /** Drops the free list (other than `keep`) freed into longest ago; false when there is none. */
  private dropOldestList(keep: string): boolean {
    let oldest: string | undefined;
    let at = Infinity;
    for (const [k, t] of this.lastFreed) {
      if (k !== keep && !this.pinned.has(k) && t < at) {
        at = t;
        oldest = k;
      }
    }
    if (oldest === undefined) return false;
    for (const a of this.free_.get(oldest) ?? []) this.freeBytes -= a.byteLength;
    this.free_.delete(oldest);
    this.lastFreed.delete(oldest);
    return true;
  }

  /** Bytes the free lists hold, warm ones included (for tests). */
  get heldFreeBytes(): number {
    let pinned = 0;
    for (const k of this.pinned.keys()) for (const a of this.free_.get(k) ?? []) pinned += a.byteLength;
    return this.freeBytes + pinned;
  }

  clear(): void {
    this.slab = null;
    this.used = 0;
    this.free_.clear();
    this.lastFreed.clear();
    this.pinned.clear();
    this.freeBytes = 0;
  }
}

class CpuBuffer implements DeviceBuffer {
  released = false;
  constructor(
    readonly dtype: ExpertDtype,
    readonly dims: readonly number[],
    readonly data: HostArray,
    readonly tensor: Tensor,
  ) {}
  get sizeBytes(): number {
    return this.data.byteLength;
  }
}

async function openCpu(ort: Ort, threads: number, reuseAfterBytes: number): Promise<Backend> {
  const sessionOptions = {
    executionProviders: ['cpu'],
    logSeverityLevel: 3 as const,
    intraOpNumThreads: threads,
  };
  const unsupported: Partial<Record<ExpertDtype, string>> = {};
  const dtypes: ExpertDtype[] = [];
  for (const d of expertDtypes) {
    const why = await tryDtype(ort, 'cpu', d);
    if (why === undefined) dtypes.push(d);
    else unsupported[d] = why;
  }
  const experts = new Map<ExpertDtype, InferenceSession>();
  for (const d of dtypes) experts.set(d, await ort.InferenceSession.create(buildExpertModel(d), sessionOptions));
  const tiny = await ort.InferenceSession.create(buildIdentityModel('float32'), sessionOptions);
  const tinyInput = new ort.Tensor('float32', new Float32Array([1]), [1, 1]);

  // Device memory is not in the CPU's caches: freed buffers are reused only cold (twice the LLC).
  const memory = new SlabAllocator(reuseAfterBytes);

  const hostTensor = (a: HostArray, dtype: ExpertDtype, dims: readonly number[]): Tensor =>
    dtype === 'float32'
      ? new ort.Tensor('float32', a as Float32Array, dims)
      : new ort.Tensor('float16', a as Uint16Array, dims);

  const uploadBuffer = async (data: HostArray, dtype: ExpertDtype, dims?: readonly number[]): Promise<CpuBuffer> => {
    const shape = dims ?? [1, data.length];
    const dst = memory.alloc(dtype, data.length);
    (dst as Float32Array).set(data as Float32Array); // the transfer: a real copy of every byte
    return new CpuBuffer(dtype, shape, dst, hostTensor(dst, dtype, shape));
  };
  const releaseBuffer = (b: DeviceBuffer): void => {
    const cb = b as CpuBuffer;
    if (cb.released) return;
    cb.released = true;
    memory.free(cb.dtype, cb.data);
  };

  const sessionFor = (dtype: ExpertDtype): InferenceSession => {
    const s = experts.get(dtype);
    if (s === undefined) throw new Error(`cpu backend: ${dtype} is not supported: ${unsupported[dtype] ?? '?'}`);
    return s;
  };

  return {
    name: 'cpu',
    deviceName: cpuModel(),
    device: `${cpuDescription()}, onnxruntime-node ${ort.env.versions.node ?? "?"} CPU EP, ${threads} intra-op thread${threads === 1 ? '' : 's'}`,
    dtypes,
    unsupported,
    async runExpert(x, expert) {
      const tokens = checkShapes(x, expert);
      const { hiddenSize: h, intermediateSize: f } = expert.shape;
      const d = expert.dtype;
      const feeds: Record<string, Tensor> = isDeviceExpert(expert)
        ? {
            w1: (expert.w1 as CpuBuffer).tensor,
            w3: (expert.w3 as CpuBuffer).tensor,
            w2: (expert.w2 as CpuBuffer).tensor,
          }
        : {
            w1: hostTensor(expert.w1, d, [h, f]),
            w3: hostTensor(expert.w3, d, [h, f]),
            w2: hostTensor(expert.w2, d, [f, h]),
          };
      if (isDeviceExpert(expert) && (expert.w1.released || expert.w3.released || expert.w2.released)) {
        throw new Error('runExpert: expert was evicted');
      }
      feeds.x = hostTensor(x, d, [tokens, h]);
      const out = await sessionFor(d).run(feeds);
      return out.y.data as HostArray;
    },
    ...expertTransfers(uploadBuffer, releaseBuffer),
    uploadBuffer,
    releaseBuffer,
    warmBuffers: (dtype, length, live) => memory.warm(dtype, length, live),
    freshBuffers: () => memory.freshAllocations,
    reuseAfterBytes,
    async sync() {
      // Copies and runs complete before their promises resolve.
    },
    async launchTiny() {
      await tiny.run({ in: tinyInput });
    },
    async close() {
      for (const s of experts.values()) await s.release();
      await tiny.release();
      memory.clear();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// WebGPU

export interface WebGpuProbe {
  ok: boolean;
  /** Adapter name when it could be found out (Vulkan loader log), e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  adapter?: string;
  /** Vulkan driver library, e.g. "libvulkan_lvp.so". */
  driver?: string;
  /** One line: why WebGPU is not available. */
  reason?: string;
}

let probeOnce: Promise<WebGpuProbe> | undefined;

const probeScript = `
const [ortUrl, modelB64] = process.argv.slice(1);
const ort = await import(ortUrl);
try {
  const s = await ort.InferenceSession.create(Buffer.from(modelB64, 'base64'), { executionProviders: ['webgpu'], logSeverityLevel: 3 });
  const r = await s.run({ in: new ort.Tensor('float32', new Float32Array([42]), [1, 1]) });
  if (r.out.data[0] !== 42) throw new Error('WebGPU identity returned ' + r.out.data[0]);
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, reason: String(e && e.message ? e.message : e) }));
}
`;

/**
 * Whether onnxruntime-node's WebGPU EP finds an adapter, tried in a child process (so a driver
 * crash cannot take this process down) with the Vulkan loader's driver log on, which is where the
 * adapter's name comes from: onnxruntime-node does not expose adapter info. Memoized.
 */
export function probeWebGpu(env?: NodeJS.ProcessEnv): Promise<WebGpuProbe> {
  if (env !== undefined) return runProbe(env);
  probeOnce ??= runProbe(process.env);
  return probeOnce;
}

async function runProbe(env: NodeJS.ProcessEnv): Promise<WebGpuProbe> {
  const ort = await import('onnxruntime-node');
  const bundled = ort.listSupportedBackends().some((b) => b.name === 'webgpu' && b.bundled);
  if (!bundled) {
    return {
      ok: false,
      reason: `onnxruntime-node ${ort.env.versions.node ?? ''} on ${process.platform}-${process.arch} does not ship the WebGPU execution provider`,
    };
  }
  const ortUrl = pathToFileURL(createRequire(import.meta.url).resolve('onnxruntime-node')).href;
  const modelB64 = Buffer.from(buildIdentityModel('float32')).toString('base64');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', probeScript, ortUrl, modelB64],
      { env: { ...env, VK_LOADER_DEBUG: 'driver' }, timeout: 120_000, maxBuffer: 16 * 2 ** 20 },
      (error, stdout, stderr) => {
        const last = stdout.trim().split('\n').pop() ?? '';
        let parsed: { ok?: boolean; reason?: string } = {};
        try {
          parsed = JSON.parse(last) as typeof parsed;
        } catch {
          const why = error
            ? error.signal
              ? `the WebGPU probe process was killed by ${error.signal}`
              : `the WebGPU probe process failed: ${oneLine(error.message)}`
            : 'the WebGPU probe printed no result';
          resolve({ ok: false, reason: why });
          return;
        }
        const using = [...stderr.matchAll(/Using "([^"]+)" with driver: "([^"]+)"/g)].pop();
        resolve({
          ok: parsed.ok === true,
          adapter: using?.[1],
          driver: using?.[2],
          reason: parsed.ok === true ? undefined : oneLine(parsed.reason ?? 'unknown error'),
        });
      },
    );
  });
}

/** The InputError for an unusable WebGPU backend: what ORT said, and what is available instead. */
export function webGpuUnavailable(reason: string): InputError {
  const hint =
    process.platform === 'linux' && /adapter/i.test(reason)
      ? ' (without a GPU, Mesa >= 25 lavapipe from bookworm-backports provides one; see .ci/run)'
      : '';
  return new InputError(`backend "webgpu" is not available: ${reason}${hint}; available backends: cpu`);
}

class GpuBuffer implements DeviceBuffer {
  released = false;
  constructor(
    readonly dtype: ExpertDtype,
    readonly dims: readonly number[],
    readonly tensor: Tensor,
  ) {}
  get sizeBytes(): number {
    return this.dims.reduce((a, b) => a * b, 1) * dtypeBytes(this.dtype);
  }
}

async function openWebGpu(ort: Ort, options: OpenBackendOptions): Promise<Backend> {
  const probe = await probeWebGpu(options.probeEnv);
  if (!probe.ok) throw webGpuUnavailable(probe.reason ?? 'unknown error');

  const cpuOut = { executionProviders: ['webgpu'], logSeverityLevel: 3 as const };
  const gpuOut = { ...cpuOut, preferredOutputLocation: 'gpu-buffer' as const };
  const unsupported: Partial<Record<ExpertDtype, string>> = {};
  const dtypes: ExpertDtype[] = [];
  const experts = new Map<ExpertDtype, InferenceSession>();
  const uploaders = new Map<ExpertDtype, InferenceSession>();
  let tiny: InferenceSession;
  try {
    for (const d of expertDtypes) {
      const why = await tryDtype(ort, 'webgpu', d);
      if (why !== undefined) {
        unsupported[d] = why;
        continue;
      }
      dtypes.push(d);
      experts.set(d, await ort.InferenceSession.create(buildExpertModel(d), cpuOut));
      uploaders.set(d, await ort.InferenceSession.create(buildUploadModel(d), gpuOut));
    }
    if (dtypes.length === 0) throw new Error(unsupported.float32 ?? 'no dtype works');
    tiny = await ort.InferenceSession.create(buildIdentityModel('float32'), cpuOut);
  } catch (e) {
    throw webGpuUnavailable(oneLine(e instanceof Error ? e.message : String(e)));
  }
  const tinyInput = new ort.Tensor('float32', new Float32Array([1]), [1, 1]);
  const live = new Set<GpuBuffer>();

  const hostTensor = (a: HostArray, dtype: ExpertDtype, dims: readonly number[]): Tensor =>
    dtype === 'float32'
      ? new ort.Tensor('float32', a as Float32Array, dims)
      : new ort.Tensor('float16', a as Uint16Array, dims);

  const uploadBuffer = async (data: HostArray, dtype: ExpertDtype, dims?: readonly number[]): Promise<GpuBuffer> => {
    const shape = dims ?? [1, data.length];
    if (shape.length !== 2) throw new Error('uploadBuffer: dims must be [rows, cols]');
    const s = uploaders.get(dtype);
    if (s === undefined) throw new Error(`webgpu backend: ${dtype} is not supported: ${unsupported[dtype] ?? '?'}`);
    const out = await s.run({ in: hostTensor(data, dtype, shape) });
    const t = out.in as Tensor;
    if (t.location !== 'gpu-buffer') throw new Error(`webgpu upload: output landed in "${t.location}", not gpu-buffer`);
    const b = new GpuBuffer(dtype, shape, t);
    live.add(b);
    return b;
  };
  const releaseBuffer = (b: DeviceBuffer): void => {
    const gb = b as GpuBuffer;
    if (gb.released) return;
    gb.released = true;
    live.delete(gb);
    gb.tensor.dispose();
  };
  const sync = async (): Promise<void> => {
    // A run whose output comes back to the host waits for the device queue, which runs in order.
    await tiny.run({ in: tinyInput });
  };

  return {
    name: 'webgpu',
    deviceName: probe.adapter ?? 'WebGPU adapter (name not reported)',
    device:
      `WebGPU adapter ${probe.adapter ?? '(name not reported)'}` +
      `${probe.driver ? ` via Vulkan driver ${probe.driver}` : ''}, onnxruntime-node ${ort.env.versions.node ?? '?'} WebGPU EP, ` +
      `host ${cpuDescription()}`,
    dtypes,
    unsupported,
    async runExpert(x, expert) {
      const tokens = checkShapes(x, expert);
      const { hiddenSize: h, intermediateSize: f } = expert.shape;
      const d = expert.dtype;
      const s = experts.get(d);
      if (s === undefined) throw new Error(`webgpu backend: ${d} is not supported: ${unsupported[d] ?? '?'}`);
      let feeds: Record<string, Tensor>;
      if (isDeviceExpert(expert)) {
        if (expert.w1.released || expert.w3.released || expert.w2.released) throw new Error('runExpert: expert was evicted');
        feeds = {
          w1: (expert.w1 as GpuBuffer).tensor,
          w3: (expert.w3 as GpuBuffer).tensor,
          w2: (expert.w2 as GpuBuffer).tensor,
        };
      } else {
        feeds = {
          w1: hostTensor(expert.w1, d, [h, f]),
          w3: hostTensor(expert.w3, d, [h, f]),
          w2: hostTensor(expert.w2, d, [f, h]),
        };
      }
      feeds.x = hostTensor(x, d, [tokens, h]);
      const out = await s.run(feeds);
      return out.y.data as HostArray; // a CPU-located output: safe to read
    },
    ...expertTransfers(uploadBuffer, releaseBuffer),
    uploadBuffer,
    releaseBuffer,
    warmBuffers: () => () => {},
    sync,
    async launchTiny() {
      await tiny.run({ in: tinyInput });
    },
    async close() {
      for (const b of [...live]) releaseBuffer(b);
      for (const s of experts.values()) await s.release();
      for (const s of uploaders.values()) await s.release();
      await tiny.release();
    },
  };
}
