/**
 * The scenario's `hardware:` field, in user units (GB = 1e9 bytes, GiB = 2^30 bytes, TFLOP/s,
 * GFLOP/s, microseconds): a machine preset name, or an object that starts from a machine preset
 * or a calibration profile (`profile: path/to/profile.json`, written by `moesim calibrate`) and/or
 * component presets, and overrides single numbers. Resolves to SI units.
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { readProfileHardwareSync } from './profile-file.js';
import { InputError } from '../util/errors.js';
import { unknownNameMessage } from '../util/suggest.js';
import { describeValue, inputErrorFromZod, positiveNumber, presetOrObject } from '../model/resolve.js';
import type { Dtype } from '../model/types.js';
import { cpuPresets, gpuPresets, hardwarePresets, linkPresets } from './presets.js';
import type { Cpu, Gpu, Hardware, HostLink } from './types.js';
import { resolveStorage, storageSpecSchema } from './storage.js';
import { storageMachinePresets } from './unified.js';

/** Every machine preset: presets.ts's and issue 16's machines with an SSD (unified.ts). */
export const allMachinePresets: Record<string, Hardware> = { ...hardwarePresets, ...storageMachinePresets };

const GiB = 2 ** 30;
const GB = 1e9;

const tflopsSchema = z
  .object({
    fp32: positiveNumber(),
    bf16: positiveNumber(),
    fp16: positiveNumber(),
    fp8: positiveNumber(),
    int8: positiveNumber(),
  })
  .partial()
  .strict();

const gpuSpecSchema = z
  .object({
    preset: z.string(),
    name: z.string().min(1),
    memoryGiB: positiveNumber(),
    bandwidthGBps: positiveNumber(),
    tflops: tflopsSchema,
    /** Measured sustained large-GEMM TFLOP/s by dtype (Gpu.sustainedFlopsPerSec), each at most that dtype's peak. */
    sustainedTflops: tflopsSchema,
    launchOverheadUs: z.number().nonnegative({ error: (iss) => `expected a number >= 0, got ${describeValue(iss.input)}` }),
  })
  .partial()
  .strict();

const linkSpecSchema = z
  .object({
    preset: z.string(),
    name: z.string().min(1),
    bandwidthGBps: positiveNumber(),
    d2hBandwidthGBps: positiveNumber(),
    latencyUs: z.number().nonnegative({ error: (iss) => `expected a number >= 0, got ${describeValue(iss.input)}` }),
    /** false: transfers and kernels never overlap (no copy engine); see HostLink.overlapsCompute. */
    overlapsCompute: z.boolean({ error: (iss) => `expected true or false, got ${describeValue(iss.input)}` }),
  })
  .partial()
  .strict();

const cpuSpecSchema = z
  .object({
    preset: z.string(),
    name: z.string().min(1),
    memoryGiB: positiveNumber(),
    bandwidthGBps: positiveNumber(),
    gflops: positiveNumber(),
  })
  .partial()
  .strict();

const hardwareObjectSchema = z
  .object({
    preset: z.string(),
    profile: z.string().min(1),
    gpu: gpuSpecSchema,
    link: linkSpecSchema,
    cpu: cpuSpecSchema,
    // Issue 16: the storage tier (an SSD preset name, or an object) and unified memory.
    storage: z.union([z.string(), storageSpecSchema]),
    unified: z.boolean({ error: (iss) => `expected true or false, got ${describeValue(iss.input)}` }),
  })
  .partial()
  .strict();

type GpuSpec = z.infer<typeof gpuSpecSchema>;
type LinkSpec = z.infer<typeof linkSpecSchema>;
type CpuSpec = z.infer<typeof cpuSpecSchema>;

function knownKeys(path: readonly PropertyKey[]): readonly string[] {
  const shapes: Record<string, readonly string[]> = {
    '': Object.keys(hardwareObjectSchema.shape),
    gpu: Object.keys(gpuSpecSchema.shape),
    'gpu.tflops': Object.keys(tflopsSchema.shape),
    'gpu.sustainedTflops': Object.keys(tflopsSchema.shape),
    link: Object.keys(linkSpecSchema.shape),
    cpu: Object.keys(cpuSpecSchema.shape),
    storage: Object.keys(storageSpecSchema.shape),
  };
  return shapes[path.map(String).join('.')] ?? [];
}

/** `hardware:` in a scenario: a machine preset name or `{ preset?, gpu?, link?, cpu? }`. */
export const hardwareSpecSchema = presetOrObject(hardwareObjectSchema, knownKeys);
export type HardwareSpec = z.infer<typeof hardwareSpecSchema>;

function lookup<T>(table: Record<string, T>, what: string, name: string, fieldPath: string): T {
  const found = table[name];
  if (found === undefined) throw new InputError(`${fieldPath}: ${unknownNameMessage(what, name, Object.keys(table))}`);
  return structuredClone(found);
}

/** Names of the fields set in a component spec (for `source` and the machine name). */
function overriddenFields(spec: object): string[] {
  return Object.entries(spec)
    .filter(([k, v]) => k !== 'preset' && v !== undefined)
    .flatMap(([k, v]) => (k === 'tflops' || k === 'sustainedTflops' ? Object.keys(v as object).map((d) => `${k}.${d}`) : [k]));
}

function withOverrideNote(source: string, fields: string[]): string {
  return fields.length === 0 ? source : `${source}; overridden in scenario: ${fields.join(', ')}`;
}

/** Missing required fields of a component given without any preset. */
function requireAll(fieldPath: string, what: string, missing: string[]): void {
  if (missing.length > 0) {
    throw new InputError(`${fieldPath}: without a ${what} preset, give ${missing.join(', ')}`);
  }
}

function resolveGpu(spec: GpuSpec | undefined, base: Gpu | undefined, fieldPath: string): Gpu {
  const s = spec ?? {};
  const from = s.preset !== undefined ? lookup(gpuPresets, 'GPU', s.preset, `${fieldPath}.preset`) : base;
  if (from === undefined) {
    const missing = ['memoryGiB', 'bandwidthGBps', 'tflops.fp32', 'tflops.bf16', 'launchOverheadUs'].filter((k) =>
      k.startsWith('tflops.') ? s.tflops?.[k.slice(7) as 'fp32' | 'bf16'] === undefined : s[k as keyof GpuSpec] === undefined,
    );
    requireAll(fieldPath, 'GPU', missing);
  }
  const flopsPerSec: Gpu['flopsPerSec'] = { ...(from?.flopsPerSec ?? { fp32: 0, bf16: 0 }) };
  for (const [dtype, tflops] of Object.entries(s.tflops ?? {})) {
    if (tflops !== undefined) flopsPerSec[dtype as Dtype & keyof typeof flopsPerSec] = tflops * 1e12;
  }
  const fields = overriddenFields(s);
  const sustained = resolveSustained(s, from, flopsPerSec, fieldPath);
  return {
    name: s.name ?? from?.name ?? 'custom GPU',
    hbmBytes: s.memoryGiB !== undefined ? s.memoryGiB * GiB : from!.hbmBytes,
    hbmBytesPerSec: s.bandwidthGBps !== undefined ? s.bandwidthGBps * GB : from!.hbmBytesPerSec,
    flopsPerSec,
    launchOverheadSec: s.launchOverheadUs !== undefined ? s.launchOverheadUs * 1e-6 : from!.launchOverheadSec,
    ...(sustained ? { sustainedFlopsPerSec: sustained } : {}),
    source: from === undefined ? 'inline in scenario' : withOverrideNote(from.source, fields),
  };
}

type SustainedDtype = keyof typeof tflopsSchema.shape;

/**
 * The GPU's sustained large-GEMM rates: the preset's, less each dtype whose peak the scenario
 * overrides (the measurement was of the preset's part), plus `sustainedTflops`; each at most the
 * dtype's peak (an InputError naming the field otherwise). Undefined when no dtype has one.
 */
function resolveSustained(s: GpuSpec, from: Gpu | undefined, peaks: Gpu['flopsPerSec'], fieldPath: string): Gpu['sustainedFlopsPerSec'] {
  const rates: Partial<Record<SustainedDtype, number>> = {};
  const base = from?.sustainedFlopsPerSec;
  let fromPreset = false;
  if (base) {
    for (const d of Object.keys(tflopsSchema.shape) as SustainedDtype[]) {
      const v = base[d];
      if (v !== undefined && s.tflops?.[d] === undefined) {
        rates[d] = v;
        fromPreset = true;
      }
    }
  }
  const given = Object.entries(s.sustainedTflops ?? {}).filter(([, v]) => v !== undefined) as [SustainedDtype, number][];
  for (const [d, tflops] of given) {
    const peak = peaks[d];
    const field = `${fieldPath}.sustainedTflops.${d}`;
    if (peak === undefined) throw new InputError(`${field}: the GPU has no ${d} peak (give tflops.${d} too)`);
    if (tflops * 1e12 > peak) throw new InputError(`${field}: expected at most the ${d} peak (${peak / 1e12} TFLOP/s), got ${tflops}`);
    rates[d] = tflops * 1e12;
  }
  if (Object.keys(rates).length === 0) return undefined;
  const source = fromPreset
    ? given.length > 0
      ? `${base!.source}; overridden in scenario: ${given.map(([d]) => `sustainedTflops.${d}`).join(', ')}`
      : base!.source
    : 'inline in scenario';
  return { ...rates, source };
}

function resolveLink(spec: LinkSpec | undefined, base: HostLink | undefined, fieldPath: string): HostLink {
  const s = spec ?? {};
  const from = s.preset !== undefined ? lookup(linkPresets, 'link', s.preset, `${fieldPath}.preset`) : base;
  if (from === undefined) {
    requireAll(fieldPath, 'link', ['bandwidthGBps', 'latencyUs'].filter((k) => s[k as keyof LinkSpec] === undefined));
  }
  const h2d = s.bandwidthGBps !== undefined ? s.bandwidthGBps * GB : from!.h2dBytesPerSec;
  // d2h follows an overridden h2d unless given: a PCIe link is symmetric.
  const d2h = s.d2hBandwidthGBps !== undefined ? s.d2hBandwidthGBps * GB : s.bandwidthGBps !== undefined ? h2d : from!.d2hBytesPerSec;
  const overlaps = s.overlapsCompute ?? from?.overlapsCompute;
  return {
    name: s.name ?? from?.name ?? 'custom link',
    h2dBytesPerSec: h2d,
    d2hBytesPerSec: d2h,
    latencySec: s.latencyUs !== undefined ? s.latencyUs * 1e-6 : from!.latencySec,
    ...(overlaps !== undefined ? { overlapsCompute: overlaps } : {}),
    source: from === undefined ? 'inline in scenario' : withOverrideNote(from.source, overriddenFields(s)),
  };
}

function resolveCpu(spec: CpuSpec | undefined, base: Cpu | undefined, fieldPath: string): Cpu {
  const s = spec ?? {};
  const from = s.preset !== undefined ? lookup(cpuPresets, 'CPU', s.preset, `${fieldPath}.preset`) : base;
  if (from === undefined) {
    requireAll(fieldPath, 'CPU', ['memoryGiB', 'bandwidthGBps', 'gflops'].filter((k) => s[k as keyof CpuSpec] === undefined));
  }
  return {
    name: s.name ?? from?.name ?? 'custom CPU',
    dramBytes: s.memoryGiB !== undefined ? s.memoryGiB * GiB : from!.dramBytes,
    dramBytesPerSec: s.bandwidthGBps !== undefined ? s.bandwidthGBps * GB : from!.dramBytesPerSec,
    flopsPerSec: s.gflops !== undefined ? s.gflops * 1e9 : from!.flopsPerSec,
    // The preset's sockets describe its bandwidth; an overridden bandwidth describes another host (one socket unless said).
    ...(s.bandwidthGBps === undefined && from?.sockets !== undefined ? { sockets: from.sockets } : {}),
    // A per-socket fraction of the same CPU: kept when the bandwidth is overridden to one socket's.
    ...(from?.quantGemvBandwidthFraction !== undefined ? { quantGemvBandwidthFraction: from.quantGemvBandwidthFraction } : {}),
    source: from === undefined ? 'inline in scenario' : withOverrideNote(from.source, overriddenFields(s)),
  };
}

/** The Hardware of a calibration profile file (relative to `baseDir`), as `hardware.profile` names it. */
function profileHardware(file: string, baseDir: string, fieldPath: string): Hardware {
  const full = isAbsolute(file) ? file : resolvePath(baseDir, file);
  try {
    return { ...readProfileHardwareSync(full), name: `profile:${file}` };
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${fieldPath}: ${e.message.replace(full, file)}`);
    throw e;
  }
}

/**
 * Resolve a `hardware:` spec to SI units. Throws InputError naming `fieldPath`. A `profile` path
 * resolves against `baseDir` (the scenario file's folder).
 */
export function resolveHardware(spec: unknown, fieldPath = 'hardware', baseDir = process.cwd()): Hardware {
  const parsed = hardwareSpecSchema.safeParse(spec);
  if (!parsed.success) throw inputErrorFromZod(parsed.error, fieldPath);
  const value = parsed.data;
  if (typeof value === 'string') return lookup(allMachinePresets, 'hardware', value, fieldPath);

  if (value.preset !== undefined && value.profile !== undefined) {
    throw new InputError(`${fieldPath}: give a preset or a profile, not both`);
  }
  const base =
    value.preset !== undefined
      ? lookup(allMachinePresets, 'hardware', value.preset, `${fieldPath}.preset`)
      : value.profile !== undefined
        ? profileHardware(value.profile, baseDir, `${fieldPath}.profile`)
        : undefined;
  const overridden = [value.gpu, value.link, value.cpu].some((c) => c !== undefined && Object.values(c).some((v) => v !== undefined)) || value.unified !== undefined;
  const storage = value.storage !== undefined ? resolveStorage(value.storage, `${fieldPath}.storage`, baseDir) : base?.storage;
  const unified = value.unified ?? base?.unified;
  if (unified && value.cpu?.memoryGiB !== undefined && value.gpu?.memoryGiB !== undefined && value.cpu.memoryGiB !== value.gpu.memoryGiB) {
    throw new InputError(`${fieldPath}.cpu.memoryGiB: a unified-memory machine has one pool; expected the same size as gpu.memoryGiB (${value.gpu.memoryGiB}), got ${value.cpu.memoryGiB}`);
  }
  const gpu = resolveGpu(value.gpu, base?.gpu, `${fieldPath}.gpu`);
  const cpu = resolveCpu(value.cpu, base?.cpu, `${fieldPath}.cpu`);
  // One pool: an overridden size applies to both views of it.
  if (unified) {
    if (value.cpu?.memoryGiB !== undefined && value.gpu?.memoryGiB === undefined) gpu.hbmBytes = cpu.dramBytes;
    else cpu.dramBytes = gpu.hbmBytes;
  }
  return {
    name: base === undefined ? 'custom' : overridden ? `${base.name}+overrides` : base.name,
    gpu,
    link: resolveLink(value.link, base?.link, `${fieldPath}.link`),
    cpu,
    ...(storage ? { storage } : {}),
    ...(unified ? { unified: true } : {}),
  };
}

/** Three significant digits, but whole numbers from 100 up (1024 GiB, not 1020). */
const fmt = (x: number): string => (x >= 100 ? Math.round(x).toString() : Number(x.toPrecision(3)).toString());

/** One line for tables: "h100-sxm: NVIDIA H100 SXM5 80GB (80 GiB, 3350 GB/s, 990 TFLOP/s bf16) | PCIe 5.0 x16 (63 GB/s) | ...". */
export function describeHardware(h: Hardware): string {
  const g = h.gpu;
  const gpu = `${g.name} (${fmt(g.hbmBytes / GiB)} GiB, ${fmt(g.hbmBytesPerSec / GB)} GB/s, ${fmt(g.flopsPerSec.bf16 / 1e12)} TFLOP/s bf16)`;
  const link = `${h.link.name} (${fmt(h.link.h2dBytesPerSec / GB)} GB/s)`;
  const cpu = `${h.cpu.name} (${fmt(h.cpu.dramBytes / GiB)} GiB, ${fmt(h.cpu.dramBytesPerSec / GB)} GB/s)`;
  return `${h.name}: ${gpu} | ${link} | ${cpu}`;
}
