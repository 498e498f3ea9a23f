/**
 * The scenario schema: the source of truth for scenario types. zod, unknown keys rejected, errors
 * naming the field path. Parts owned by other modules (model, hardware, trace) come from there.
 */
import { z } from 'zod';
import { modelSpecSchema } from '../model/resolve.js';
import { hardwareSpecSchema } from '../hardware/resolve.js';
import { traceSpecSchema } from '../trace/load.js';
import { workloadSchema } from '../workload/schema.js';
import { predictorSchema } from '../predictors/spec.js';
import { executionSchema, systemSchema } from '../systems/catalog.js';

export const dtypeSchema = z.enum(['fp32', 'bf16', 'fp16', 'fp8', 'int8', 'int4', 'int2']);

const count = z.number().int().nonnegative();

/** Expert cache capacity: per layer, global in experts or bytes, or what the GPU's HBM leaves. */
export const capacitySchema = z.union([
  z.object({ perLayer: count }).strict(),
  z.object({ experts: count }).strict(),
  z.object({ bytes: z.number().positive() }).strict(),
  z.object({ gib: z.number().positive() }).strict(),
  z
    .object({
      hbm: z.literal(true),
      /** GiB of HBM to leave free besides the resident weights, KV cache and staging. */
      reserveGiB: z.number().nonnegative().default(0),
    })
    .strict(),
]);
export type Capacity = z.infer<typeof capacitySchema>;

const label = z.string().min(1).optional();
const unit = z.number().min(0).max(1);
const positiveInt = z.number().int().positive();

export { predictorSchema, predictorTrainingSchema, type PredictorSpec, type PredictorTraining } from '../predictors/spec.js';

/** Prefetch policies (src/policies/prefetch/). `experts`: experts planned per layer (default: topK x tokens in the step). */
export const prefetchSchema = z.discriminatedUnion('kind', [
  /** accuracy: the pre-gate's precision and recall (1 = exact, as in the paper). */
  z.object({ kind: z.literal('pregated'), accuracy: unit.default(1) }).strict(),
  z.object({ kind: z.literal('speculative'), lookahead: positiveInt.default(1), experts: positiveInt.optional() }).strict(),
  /** lookahead: plan at most this many layers ahead (default: all remaining). */
  z.object({ kind: z.literal('expertflow'), experts: positiveInt.optional(), lookahead: positiveInt.optional() }).strict(),
  z.object({ kind: z.literal('moe-infinity'), experts: positiveInt.optional(), lookahead: positiveInt.optional(), decay: z.boolean().default(true) }).strict(),
]);
export type PrefetchSpec = z.infer<typeof prefetchSchema>;

/** Miss handlers (src/policies/miss/). */
export const onMissSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fetch') }).strict(),
  /** belowTokens: a runtime's fixed rule instead of the estimate: the CPU exactly when fewer tokens than this are routed to the expert. */
  z.object({ kind: z.literal('cpu'), belowTokens: positiveInt.optional() }).strict(),
  z
    .object({
      kind: z.literal('low-precision'),
      /** The lower-bit format fetched on a miss. */
      dtype: dtypeSchema.default('int4'),
      /** Misses whose largest gate weight this step is below this get the lower-bit copy (0.5: a top-2 model's second choice). */
      belowGateWeight: unit.default(0.5),
    })
    .strict(),
]);
export type OnMissSpec = z.infer<typeof onMissSchema>;

/** What every policy may add to its cache: prefetching, a predictor, a miss handler. */
const composed = {
  prefetch: prefetchSchema.optional(),
  /** The predictor the prefetch policy uses (default: the policy's own); alone, it is only evaluated. */
  predictor: predictorSchema.optional(),
  onMiss: onMissSchema.optional(),
};

const cachedPolicy = <K extends string>(kind: K) =>
  z.object({ kind: z.literal(kind), label, cache: capacitySchema, ...composed }).strict();

/** A policy is {kind (the cache policy), cache, prefetch?, predictor?, onMiss?}. */
export const policySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none'), label, onMiss: onMissSchema.optional(), predictor: predictorSchema.optional() }).strict(),
  cachedPolicy('lru'),
  cachedPolicy('lfu'),
  cachedPolicy('belady'),
  z
    .object({
      kind: z.literal('static'),
      label,
      cache: capacitySchema,
      /** Tokens at the start of the trace (in replay order) whose routing measures popularity. Default: 10% of the trace. */
      warmupTokens: z.number().int().positive().optional(),
      /** Or a given profile: access counts [moeLayer][expert]. */
      profile: z.array(z.array(z.number().nonnegative())).optional(),
      onMiss: onMissSchema.optional(),
      predictor: predictorSchema.optional(),
    })
    .strict(),
  z.object({ kind: z.literal('all-on-gpu'), label }).strict(),
]);
export type PolicySpec = z.infer<typeof policySchema>;

export const precisionSchema = z
  .object({
    /** Routed experts, on the host and on the GPU. */
    experts: dtypeSchema.default('bf16'),
    /** Everything else (attention, shared experts, embeddings). */
    dense: dtypeSchema.default('bf16'),
    kvCache: dtypeSchema.default('bf16'),
    /** Weights per quantization group (scale + zero point per group) for int formats. */
    groupSize: z.number().int().positive().default(128),
  })
  .strict();

/**
 * A sweep over scenario fields: `grid` maps a field path (`hardware.link.bandwidthGBps`,
 * `policies[*].cache.perLayer`) to the values it takes. `cartesian` runs every combination, `zip`
 * the i-th value of every path together. Expanded by src/sweep/; a single run ignores it.
 */
export const sweepSchema = z
  .object({
    mode: z.enum(['cartesian', 'zip']).default('cartesian'),
    grid: z
      .record(z.string().min(1), z.array(z.unknown()).min(1, { error: 'expected a non-empty list of values' }))
      .refine((g) => Object.keys(g).length > 0, { error: 'expected at least one path: values entry' }),
    /**
     * With the scenario's `timeline:`, record it at one point only (keeps results small): the first,
     * or the first whose values match `{path: value}`; or at `all` points.
     */
    timeline: z.union([z.enum(['first', 'all']), z.record(z.string().min(1), z.unknown())]).default('first'),
  })
  .strict();
export type SweepSpec = z.infer<typeof sweepSchema>;

// ---- issue 16: the host tier between the GPU's expert cache and the storage tier (hardware.storage) ----
/**
 * Host DRAM as a tier of its own: what it keeps of the experts, with its own policy (lru models the
 * OS page cache), fed by `hardware.storage`. Without it a scenario with a storage tier gets the
 * defaults; without a storage tier, host DRAM must hold what the scenario keeps there (checked).
 */
export const hostTierSchema = z
  .object({
    /** Replacement in host DRAM: lru (the OS page cache), lfu, or belady (the offline bound; batch, fetch on miss, no prefetch). */
    policy: z.enum(['lru', 'lfu', 'belady']).default('lru'),
    /** DRAM kept for the OS, the runtime and pinned buffers, not for experts. */
    reserveGiB: z.number().nonnegative().default(0),
    /** At most this much DRAM for experts (less than the host has). */
    capacityGiB: z.number().positive().optional(),
    /** warm: starts holding the first experts of the model file that fit (loaded in order); cold: empty (an mmap'd model before first touch). */
    initial: z.enum(['warm', 'cold']).default('warm'),
    /** GPUDirect Storage: experts go SSD -> GPU, bypassing host DRAM (no host tier). */
    gpuDirect: z.boolean().default(false),
  })
  .strict();
export type HostTierSpec = z.infer<typeof hostTierSchema>;

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    seed: z.union([z.number().int(), z.string()]).default(0),
    model: modelSpecSchema,
    hardware: hardwareSpecSchema,
    precision: precisionSchema.default({ experts: 'bf16', dense: 'bf16', kvCache: 'bf16', groupSize: 128 }),
    trace: traceSpecSchema,
    workload: workloadSchema.default({ batchSize: 1, promptTokens: 0 }),
    /**
     * A real system from the catalog (src/systems/): its policy, weight format and execution
     * semantics. parseScenario fills `policies` (when absent) and `precision` (when absent) from it.
     */
    system: systemSchema.optional(),
    /** Overrides of single execution-semantics parameters (src/timing/execution-semantics.ts), with or without a system. */
    execution: executionSchema.optional(),
    policies: z.array(policySchema).min(1),
    /** Predictor accuracy evaluation: lookahead distances 1..maxLookahead, on at most maxTokens tokens. */
    evaluation: z
      .object({ maxLookahead: positiveInt.default(8), maxTokens: positiveInt.default(4096) })
      .strict()
      .default({ maxLookahead: 8, maxTokens: 4096 }),
    /** Record a Gantt timeline of GPU, link and CPU for these steps of each run. */
    timeline: z
      .object({ fromStep: count.default(0), steps: z.number().int().positive().default(2) })
      .strict()
      .optional(),
    /** A grid of scenarios around this one (moesim sweep); ignored by a single run. */
    sweep: sweepSchema.optional(),
    /** Issue 16: host DRAM as a tier in front of hardware.storage. */
    hostTier: hostTierSchema.optional(),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
