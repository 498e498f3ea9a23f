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
import { interconnectPresets, machinePresets } from '../hardware/interconnect.js';

export { dtypeSchema } from '../model/dtype.js';
import { dtypeSchema } from '../model/dtype.js';
import { tierSchema } from '../model/formats.js';

export { capacitySchema, prefetchSchema, onMissSchema, policySchema, type Capacity, type PrefetchSpec, type OnMissSpec, type PolicySpec } from '../policies/spec.js';
export { predictorSchema, predictorTrainingSchema, type PredictorSpec, type PredictorTraining } from '../predictors/spec.js';

const count = z.number().int().nonnegative();
const positiveInt = z.number().int().positive();
const label = z.string().min(1).optional();
const unit = z.number().min(0).max(1);

/**
 * A precision tier: a dtype (`int4`, sized at precision.groupSize), a named weight format
 * (`{ format: hqq-3bit-g64 }`, src/model/formats.ts) or a dtype with its own group size
 * (`{ dtype: int4, groupSize: 64 }`).
 */
export const tierPrecisionSchema = tierSchema(dtypeSchema);

export const precisionSchema = z
  .object({
    /** Routed experts, on the host and on the GPU. */
    experts: tierPrecisionSchema.default('bf16'),
    /** Everything else (attention, shared experts, embeddings). */
    dense: tierPrecisionSchema.default('bf16'),
    kvCache: dtypeSchema.default('bf16'),
    /** Weights per quantization group (fp16 scale + zero point per group) for plain int dtypes of a tier. */
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
  /** Experts [g E/G, (g+1) E/G) on GPU g: Megatron-LM's layout, MoETuner's baseline. */
  z.object({ kind: z.literal('contiguous'), label }).strict(),
  /** DeepSeek EPLB: `redundantPerGpu` extra replicas of the hottest experts on every GPU, packed by load. */
  z.object({ kind: z.literal('eplb'), label, redundantPerGpu: count.default(1) }).strict(),
  /** ExFlow: inter-layer affinity (tokens stay on one GPU across layers), an integer program per layer. */
  z.object({ kind: z.literal('exflow'), label, maxNodes: positiveInt.default(2000), relGap: unit.default(0.01) }).strict(),
  /**
   * MoETuner: an ILP over token load and inter-layer routing dependency (HiGHS). `program: joint`: one
   * program over all layers (src/parallel/placement/joint.ts), started from the per-layer solution and
   * stopped at relative gap relGap or after jointMaxNodes branch-and-bound nodes (deterministic;
   * timeLimitSec, if set, adds a wall-clock limit and makes the result machine-dependent);
   * `per-layer` (the default: with more than one expert per GPU the joint program takes minutes at
   * Mixtral's scale and does not finish its root node at 64 experts on 8 GPUs on a 2-core machine; at
   * one expert per GPU it decomposes into assignment problems and is exact in seconds,
   * src/parallel/placement/bound.ts): a program per layer, each stopped at relGap or maxNodes nodes.
   * `two-stage`: MoETuner's two programs as its body describes them (src/parallel/placement/two-stage.ts):
   * token-balanced clusters per layer, then clusters to GPUs by the heaviest bandwidth-priced GPU pair
   * under equal experts per GPU over the model; relGap and maxNodes apply to both (the paper: 0.025).
   */
  z
    .object({
      kind: z.literal('moetuner'),
      label,
      program: z.enum(['joint', 'per-layer', 'two-stage']).default('per-layer'),
      maxNodes: positiveInt.default(2000),
      relGap: unit.default(0.01),
      jointMaxNodes: positiveInt.default(200),
      timeLimitSec: z.number().positive().optional(),
    })
    .strict(),
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
    /**
     * Placement is computed on the first `fraction` of the trace's tokens and evaluated on the rest;
     * `inSample: true` (batch workloads): evaluated on those training tokens themselves, the bound a
     * placement profiled on the very data it serves reaches.
     */
    train: z.object({ fraction: z.number().gt(0).lt(1).default(0.5), inSample: z.boolean().optional() }).strict().default({ fraction: 0.5 }),
    /** Record a per-GPU timeline of the first this many evaluated steps (0: none). */
    timelineSteps: count.default(0),
    /**
     * Batch workloads: each step is a prefill pass instead of a decode step (every token reads the KV
     * cache by query tile, tileKvShare, at its position in its trace sequence after promptTokens), and
     * every trace token enters it `copies` times: a prefill-scale step of batchSize x copies tokens built
     * from a decode trace. Assumes the pass's routing is its trace tokens' routes, each `copies` times
     * (README, Several GPUs: "Prefill-scale steps").
     */
    prefill: z.object({ copies: positiveInt.max(4096).default(1) }).strict().optional(),
  })
  .strict();
export type ParallelSpec = z.infer<typeof parallelSchema>;

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
    /** Several GPUs: expert parallelism and placement (issue 17; src/parallel/). */
    parallel: parallelSchema.optional(),

    /** Issue 16: host DRAM as a tier in front of hardware.storage. */
    hostTier: hostTierSchema.optional(),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
