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
import { interconnectPresets, machinePresets } from '../hardware/interconnect.js';

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

// ---- issue 17: several GPUs (src/parallel/) ---------------------------------------------------

const presetName = (table: Record<string, unknown>, what: string) =>
  z.string().refine((k) => Object.hasOwn(table, k), {
    error: (iss) => `unknown ${what} ${JSON.stringify(iss.input)}; expected one of ${Object.keys(table).join(', ')}`,
  });

/** Expert placement policies (src/parallel/placement/), computed on the training part of the trace. */
export const placementSchema = z.discriminatedUnion('kind', [
  /** Expert e of every layer on GPU e mod G: the baseline. */
  z.object({ kind: z.literal('round-robin'), label }).strict(),
  /** DeepSeek EPLB: `redundantPerGpu` extra replicas of the hottest experts on every GPU, packed by load. */
  z.object({ kind: z.literal('eplb'), label, redundantPerGpu: count.default(1) }).strict(),
  /** ExFlow: inter-layer affinity (tokens stay on one GPU across layers), an integer program per layer. */
  z.object({ kind: z.literal('exflow'), label, maxNodes: positiveInt.default(2000), relGap: unit.default(0.01) }).strict(),
  /** MoETuner: an ILP over token load and inter-layer routing dependency (HiGHS; it stops at relative gap relGap or after maxNodes branch-and-bound nodes per layer, both deterministic). */
  z.object({ kind: z.literal('moetuner'), label, maxNodes: positiveInt.default(2000), relGap: unit.default(0.01) }).strict(),
  /** Lina-like dynamic re-placement every `intervalSteps` steps from the load of the last interval; migration charged. */
  z.object({ kind: z.literal('lina'), label, intervalSteps: positiveInt.default(16) }).strict(),
]);
export type PlacementSpec = z.infer<typeof placementSchema>;
export type PlacementKind = PlacementSpec['kind'];

/**
 * Several GPUs with expert parallelism. `machine` (src/hardware/interconnect.ts) fills the GPUs per
 * node and the interconnects; single fields override it. The scenario's `hardware:` is one GPU with
 * its host link and CPU; its `policies:` are each GPU's expert cache (all-on-gpu: no offloading).
 */
export const parallelSchema = z
  .object({
    machine: presetName(machinePresets, 'machine').optional(),
    /** GPUs in all (default: the machine's GPUs per node x nodes). */
    gpus: positiveInt.optional(),
    nodes: positiveInt.default(1),
    gpusPerNode: positiveInt.optional(),
    interconnect: presetName(interconnectPresets, 'interconnect').optional(),
    interNode: presetName(interconnectPresets, 'interconnect').optional(),
    allToAll: z.enum(['direct', 'pairwise']).default('direct'),
    /**
     * data: each GPU runs attention for its own tokens (dispatch + combine all-to-alls); tensor:
     * attention split over all GPUs (all-reduces); coherent: ExFlow's context-coherent mode, a token
     * stays on the GPU of its first expert (its KV cache assumed on every GPU).
     */
    attention: z.enum(['data', 'tensor', 'coherent']).default('data'),
    placements: z.array(placementSchema).min(1),
    /** Placement is computed on the first `fraction` of the trace's tokens and evaluated on the rest. */
    train: z.object({ fraction: z.number().gt(0).lt(1).default(0.5) }).strict().default({ fraction: 0.5 }),
    /** Record a per-GPU timeline of the first this many evaluated steps (0: none). */
    timelineSteps: count.default(0),
  })
  .strict();
export type ParallelSpec = z.infer<typeof parallelSchema>;

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
    /** Several GPUs: expert parallelism and placement (issue 17; src/parallel/). */
    parallel: parallelSchema.optional(),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
