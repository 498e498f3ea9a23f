/**
 * The calibration profile: raw medians, fitted parameters, and the Hardware object the simulator
 * can use in place of a datasheet preset. One JSON file, validated on read, written atomically.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/fs.js';
import path from 'node:path';
import { z } from 'zod';
import type { Hardware } from '../hardware/types.js';
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

/** Hardware (src/hardware/types.ts) in SI units, as the simulator takes it. */
export const hardwareSchema = z
  .object({
    name: z.string().min(1),
    gpu: z
      .object({
        name: z.string().min(1),
        hbmBytes: positive,
        hbmBytesPerSec: positive,
        flopsPerSec: z
          .object({
            fp32: positive,
            bf16: positive,
            fp16: positive.optional(),
            fp8: positive.optional(),
            int8: positive.optional(),
            int4: positive.optional(),
            int2: positive.optional(),
          })
          .strict(),
        launchOverheadSec: nonNegative,
        source: z.string().min(1),
      })
      .strict(),
    link: z
      .object({
        name: z.string().min(1),
        h2dBytesPerSec: positive,
        d2hBytesPerSec: positive,
        latencySec: nonNegative,
        overlapsCompute: z.boolean().optional(),
        source: z.string().min(1),
      })
      .strict(),
    cpu: z
      .object({
        name: z.string().min(1),
        dramBytes: positive,
        dramBytesPerSec: positive,
        flopsPerSec: positive,
        source: z.string().min(1),
      })
      .strict(),
  })
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
      })
      .strict(),
    fit: z
      .object({
        expert: expertFitSchema,
        transfer: transferFitSchema,
        cpuExpert: expertFitSchema.optional(),
      })
      .strict(),
    hardware: hardwareSchema,
  })
  .strict();

export type CalibrationProfile = z.infer<typeof calibrationProfileSchema>;
export type ExpertSampleRecord = z.infer<typeof expertSampleSchema>;
export type TransferSampleRecord = z.infer<typeof transferSampleSchema>;

// Compile-time checks that the schemas match the types they mirror.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const hardwareMatches: Same<z.infer<typeof hardwareSchema>, Hardware> = true;
const expertFitMatches: Same<z.infer<typeof expertFitSchema>, ExpertFit> = true;
const transferFitMatches: Same<z.infer<typeof transferFitSchema>, TransferFit> = true;
void [hardwareMatches, expertFitMatches, transferFitMatches];

function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out === '' ? String(k) : `.${String(k)}`;
  return out === '' ? '(top level)' : out;
}

/** Validate an already-parsed profile; `where` names it in the error. */
export function parseProfile(value: unknown, where = 'profile'): CalibrationProfile {
  const r = calibrationProfileSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const detail =
      issue.code === 'unrecognized_keys' ? `unknown key "${issue.keys[0] ?? ''}"` : issue.message.replace(/\s+/g, ' ');
    throw new InputError(`${where}: not a valid moesim calibration profile: ${formatPath(issue.path)}: ${detail}`);
  }
  return r.data;
}

function readError(file: string, e: unknown): InputError {
  const code = (e as NodeJS.ErrnoException).code;
  return new InputError(`${file}: cannot read calibration profile${code ? ` (${code})` : ''}`);
}

function parseProfileText(text: string, file: string): CalibrationProfile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not JSON: ${(e as Error).message}`);
  }
  return parseProfile(value, file);
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
  if (p.fit.cpuExpert && p.samples.cpuExpert) {
    lines.push('', ...expertFitLines('host CPU expert', p.fit.cpuExpert, p.samples.cpuExpert));
  }
  return lines.join('\n');
}
