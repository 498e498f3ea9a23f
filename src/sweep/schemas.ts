/**
 * Schemas of the files moesim reads back (results.jsonl records, RunResult JSON, sweep.json),
 * checked on every read (`moesim report`, `merge`, sweep resume) so that a damaged or foreign file
 * is reported with the file, the line and what was expected, never half-understood. They require
 * what the readers use and let other fields through (a later version may add some). NaN metrics
 * are written by JSON as null, so numbers are nullable.
 */
import { z } from 'zod';

const num = z.number().nullable();

/** Metrics: an object whose known fields, when present, have their types (older files may lack some). */
const optNum = num.optional();
const optObj = z.looseObject({}).optional();
export const metricsSchema = z.looseObject({
  accesses: optNum,
  hits: optNum,
  misses: optNum,
  hitRate: optNum,
  perLayerHitRate: z.array(num).optional(),
  bytesH2D: optNum,
  stallMs: optNum,
  ttftMs: optNum,
  tpotMs: optNum,
  tpotP99Ms: optNum,
  tokensPerSec: optNum,
  gpuMemoryBytes: optNum,
  makespanMs: optNum,
  tokens: optNum,
  cacheCapacityExperts: optNum,
  gpuMemory: optObj,
  stallSplitMs: optObj,
  prefetch: optObj,
  onMiss: optObj,
});

export const policyResultSchema = z.looseObject({
  policy: z.string(),
  label: z.string(),
  metrics: metricsSchema,
});

export const runResultSchema = z.looseObject({
  moesimVersion: z.string(),
  scenario: z.looseObject({
    name: z.string(),
    seed: z.union([z.number(), z.string()]),
    file: z.string().optional(),
    resolved: z.record(z.string(), z.unknown()),
  }),
  model: z.string(),
  hardware: z.string(),
  trace: z.looseObject({ format: z.string(), tokens: z.number(), sequences: z.number(), path: z.string().optional() }),
  results: z.array(policyResultSchema),
  warnings: z.array(z.string()),
});

export const pointRecordSchema = z
  .looseObject({
    sweep: z.string(),
    point: z.string(),
    index: z.number().int().nonnegative(),
    assignments: z.record(z.string(), z.unknown()),
    seed: z.number(),
    result: runResultSchema.optional(),
    error: z.string().optional(),
  })
  .refine((r) => r.result !== undefined || r.error !== undefined, { message: 'expected a "result" or an "error"' });

export const manifestSchema = z.looseObject({
  format: z.literal('moesim-sweep/1'),
  sweep: z.string(),
  name: z.string(),
  moesimVersion: z.string(),
  scenarioFile: z.string().optional(),
  definition: z.looseObject({
    mode: z.enum(['cartesian', 'zip']),
    grid: z.array(z.looseObject({ path: z.string(), values: z.array(z.unknown()) })),
  }),
  base: z.record(z.string(), z.unknown()),
  totalPoints: z.number().int().nonnegative(),
  shard: z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() }).optional(),
});

/** The first issue of a failed parse, as `path: message` (`result.results[0].metrics: expected object, got undefined`). */
export function firstIssue(error: z.ZodError): string {
  const i = error.issues[0];
  let path = '';
  for (const p of i.path) path += typeof p === 'number' ? `[${p}]` : path === '' ? String(p) : `.${String(p)}`;
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : '';
  return `${path === '' ? '' : `${path}: `}${i.message.replace(/^Invalid input: /, '')}${more}`;
}
