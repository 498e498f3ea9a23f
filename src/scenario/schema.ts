/**
 * The scenario schema: the source of truth for scenario types. zod, unknown keys rejected, errors
 * naming the field path. Parts owned by other modules (model, hardware, trace) come from there.
 */
import { z } from 'zod';
import { modelSpecSchema } from '../model/resolve.js';
import { hardwareSpecSchema } from '../hardware/resolve.js';
import { traceSpecSchema } from '../trace/load.js';
import { workloadSchema } from '../workload/schema.js';
import { policySchema } from '../policies/spec.js';
import { executionSchema, systemSchema } from '../systems/catalog.js';

export { dtypeSchema } from '../model/dtype.js';
import { dtypeSchema } from '../model/dtype.js';

export { capacitySchema, prefetchSchema, onMissSchema, policySchema, type Capacity, type PrefetchSpec, type OnMissSpec, type PolicySpec } from '../policies/spec.js';
export { predictorSchema, predictorTrainingSchema, type PredictorSpec, type PredictorTraining } from '../predictors/spec.js';

const count = z.number().int().nonnegative();
const positiveInt = z.number().int().positive();

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
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
