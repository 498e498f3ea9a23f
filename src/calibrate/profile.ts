/**
 * The calibration profile: raw medians, fitted parameters, and the Hardware object the simulator
 * can use in place of a datasheet preset. One JSON file, validated on read, written atomically.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/fs.js';
import path from 'node:path';
import { z } from 'zod';
import { hardwareSchema } from '../hardware/schema.js';
import { parseProfileJson, profileInvalid, readError, type ProfileHeader } from '../hardware/profile-file.js';
import { InputError } from '../util/errors.js';
import type { ExpertFit, TransferFit } from './fit.js';
import { fmtBytes, fmtSec } from './format.js';

const finite = z.number().finite();
const positive = finite.positive();
const nonNegative = finite.nonnegative();
const positiveInt = z.number().int().positive();

const statsFields = {
  n: positiveInt,
  iterationsPerSample: positiveInt,
  medianSec: positive,
  p10Sec: positive,
  p90Sec: positive,
  madSec: nonNegative,
  minSec: positive,
  maxSec: positive,
};
const statsSchema = z.object(statsFields).strict();

const expertSampleSchema = z
  .object({
    hiddenSize: positiveInt,
    intermediateSize: positiveInt,
    dtype: z.enum(['float32', 'float16']),
    tokens: positiveInt,
    bytes: positive,
    flops: positive,
    ...statsFields,
  })
  .strict();

/** A lower-bit copy's expert runs (low-bit.ts): bytes are its packed weights and scales plus x and y. */
const lowBitSampleSchema = z
  .object({
    dtype: z.enum(['int4', 'int8']),
    hiddenSize: positiveInt,
    intermediateSize: positiveInt,
    tokens: positiveInt,
    bytes: positive,
    flops: positive,
    ...statsFields,
  })
  .strict();

const transferSampleSchema = z.object({ bytes: positive, ...statsFields }).strict();

const qualityFields = {
  r2: finite,
  relativeResiduals: z.array(finite),
  worstRelativeResidual: finite,
  worstIndex: z.number().int().nonnegative(),
};

const expertFitSchema = z
  .object({
    method: z.enum(['joint', 'anchored']).optional(),
    overheadSec: nonNegative,
    memBandwidthBytesPerSec: positive,
    throughputFlopsPerSec: positive,
    kneeFlopsPerByte: positive,
    roofline: z.enum(['both', 'memory-bound-only', 'compute-bound-only']),
    ...qualityFields,
  })
  .strict();

const transferFitSchema = z
  .object({ latencySec: nonNegative, bandwidthBytesPerSec: positive, ...qualityFields })
  .strict();

export const calibrationProfileSchema = z
  .object({
    kind: z.literal('moesim-calibration'),
    version: z.literal(1),
    backend: z.enum(['cpu', 'webgpu']),
    /** Short device name (CPU model, WebGPU adapter). */
    deviceName: z.string().min(1),
    /** Device, runtime and host, for humans. */
    device: z.string().min(1),
    /** ISO 8601. */
    createdAt: z.iso.datetime(),
    /** Which microbenchmark plan: `moesim calibrate` (full), `--quick`, or one given through the API. */
    plan: z.enum(['full', 'quick', 'custom']),
    /** Element type the expert runs were timed in. */
    dtype: z.enum(['float32', 'float16']),
    samples: z
      .object({
        expert: z.array(expertSampleSchema).min(1),
        transfer: z.array(transferSampleSchema).min(1),
        launch: statsSchema,
        /** Host-CPU expert runs, when the backend is not the CPU (they calibrate `hardware.cpu`). */
        cpuExpert: z.array(expertSampleSchema).min(1).optional(),
        /**
         * The CPU side's hand-off (miss-exec.ts): a one-token job posted to the worker thread and its
         * result back, less the run's own time in the worker, for the cpu miss handler's replay.
         */
        cpuHandoff: statsSchema.optional(),
        /** Expert runs of lower-bit copies on the backend (MatMulNBits), for the low-precision miss handler's replay. */
        lowBitExpert: z.array(lowBitSampleSchema).min(1).optional(),
      })
      .strict(),
    fit: z
      .object({
        expert: expertFitSchema,
        transfer: transferFitSchema,
        cpuExpert: expertFitSchema.optional(),
        lowBitExpert: z.object({ int4: expertFitSchema.optional(), int8: expertFitSchema.optional() }).strict().optional(),
      })
      .strict(),
    hardware: hardwareSchema,
  })
  .strict() satisfies z.ZodType<ProfileHeader>;

export type CalibrationProfile = z.infer<typeof calibrationProfileSchema>;
export type ExpertSampleRecord = z.infer<typeof expertSampleSchema>;
export type TransferSampleRecord = z.infer<typeof transferSampleSchema>;
export type LowBitSampleRecord = z.infer<typeof lowBitSampleSchema>;

// Compile-time checks that the schemas match the types they mirror.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const expertFitMatches: Same<z.infer<typeof expertFitSchema>, ExpertFit> = true;
const transferFitMatches: Same<z.infer<typeof transferFitSchema>, TransferFit> = true;
void [expertFitMatches, transferFitMatches];

/** Validate an already-parsed profile; `where` names it in the error. */
export function parseProfile(value: unknown, where = 'profile'): CalibrationProfile {
  const r = calibrationProfileSchema.safeParse(value);
  if (!r.success) {
    throw profileInvalid(r.error, where);
  }
  return r.data;
}

function parseProfileText(text: string, file: string): CalibrationProfile {
  return parseProfile(parseProfileJson(text, file), file);
}

export async function readProfile(file: string): Promise<CalibrationProfile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw readError(file, e);
  }
  return parseProfileText(text, file);
}

/** readProfile, synchronously (scenario resolution is synchronous). */
export function readProfileSync(file: string): CalibrationProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw readError(file, e);
  }
  return parseProfileText(text, file);
}

/** Validate, write to a temporary file beside the target, then rename: never half-written. */
export async function writeProfile(file: string, profile: CalibrationProfile): Promise<void> {
  const valid = parseProfile(profile, file);
  writeFileAtomic(file, JSON.stringify(valid, null, 2) + '\n');
}

// ---------------------------------------------------------------------------------------------

function pct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
}

function gbps(bytesPerSec: number): string {
  return `${(bytesPerSec / 1e9).toFixed(2)} GB/s`;
}

function gflops(flopsPerSec: number): string {
  return `${(flopsPerSec / 1e9).toFixed(1)} GFLOP/s`;
}

/** Worst |relative residual| above which the summary says the model fits poorly. */
const POOR_FIT = 0.25;

function poorFitNote(worst: number, why: string): string[] {
  return Math.abs(worst) > POOR_FIT
    ? [`  note         residuals above ${POOR_FIT * 100}%: ${why}; the samples are in the profile`]
    : [];
}

function expertFitLines(title: string, fit: ExpertFit, samples: readonly ExpertSampleRecord[]): string[] {
  const w = samples[fit.worstIndex];
  const bound =
    fit.roofline === 'memory-bound-only'
      ? ' (every run memory-bound: throughput is a lower bound)'
      : fit.roofline === 'compute-bound-only'
        ? ' (every run compute-bound: bandwidth is a lower bound)'
        : '';
  const how =
    fit.method === 'anchored'
      ? ['  fitted       overhead and bandwidth to each shape\'s fewest-token run, throughput to its most-token run']
      : [];
  return [
    `${title}: time = overhead + max(bytes / bandwidth, flops / throughput), ${samples.length} points${bound}`,
    ...how,
    `  overhead     ${fmtSec(fit.overheadSec)}`,
    `  bandwidth    ${gbps(fit.memBandwidthBytesPerSec)}`,
    `  throughput   ${gflops(fit.throughputFlopsPerSec)}  (knee at ${fit.kneeFlopsPerByte.toFixed(1)} FLOP/byte)`,
    `  R²           ${fit.r2.toFixed(4)}; worst residual ${pct(fit.worstRelativeResidual)}` +
      (w ? ` at ${w.hiddenSize}x${w.intermediateSize}, ${w.tokens} tokens` : ''),
    ...poorFitNote(fit.worstRelativeResidual, 'caches, timing noise or shape-dependent kernels'),
  ];
}

/** A readable summary of a profile, for the terminal. */
export function formatProfileSummary(p: CalibrationProfile): string {
  const t = p.fit.transfer;
  const tw = p.samples.transfer[t.worstIndex];
  const lines = [
    `moesim calibration: backend ${p.backend}, ${p.plan} plan, ${p.dtype}`,
    `device: ${p.device}`,
    '',
    ...expertFitLines('expert', p.fit.expert, p.samples.expert),
    '',
    `upload: time = latency + bytes / bandwidth, ${p.samples.transfer.length} points`,
    '  measured     as a miss uploads an expert: 3 buffers back to back, one wait for the device (its own cost subtracted)',
    `  latency      ${fmtSec(t.latencySec)}`,
    `  bandwidth    ${gbps(t.bandwidthBytesPerSec)}`,
    `  R²           ${t.r2.toFixed(4)}; worst residual ${pct(t.worstRelativeResidual)}` +
      (tw ? ` at ${fmtBytes(tw.bytes)}` : ''),
    ...poorFitNote(t.worstRelativeResidual, 'copies that fit in a cache run faster, or timing noise'),
    '',
    `tiny run (1x1 Identity): median ${fmtSec(p.samples.launch.medianSec)} (p10 ${fmtSec(p.samples.launch.p10Sec)}, p90 ${fmtSec(p.samples.launch.p90Sec)})`,
  ];
  for (const d of ['int4', 'int8'] as const) {
    const f = p.fit.lowBitExpert?.[d];
    const samples = (p.samples.lowBitExpert ?? []).filter((s) => s.dtype === d);
    if (f && samples.length > 0) lines.push('', ...expertFitLines(`${d} copy (MatMulNBits)`, f, samples.map((s) => ({ ...s, dtype: 'float32' as const }))));
  }
  if (p.samples.cpuHandoff) {
    const h = p.samples.cpuHandoff;
    lines.push('', `CPU worker hand-off (a job to the CPU side's thread and back, less its run): median ${fmtSec(h.medianSec)} (p10 ${fmtSec(h.p10Sec)}, p90 ${fmtSec(h.p90Sec)})`);
  }
  if (p.fit.cpuExpert && p.samples.cpuExpert) {
    lines.push('', ...expertFitLines('host CPU expert', p.fit.cpuExpert, p.samples.cpuExpert));
  }
  return lines.join('\n');
}
