/**
 * The policy part of the scenario schema: a cache policy with its capacity, and what it may add
 * (prefetching, a predictor, a miss handler). The tables (index.ts, prefetch/index.ts,
 * miss/index.ts) take their spec types from here: `Extract<PolicySpec, {kind: K}>`.
 */
import { z } from 'zod';
import { dtypeSchema } from '../model/dtype.js';
import { predictorSchema } from '../predictors/spec.js';

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

/** Prefetch policies (src/policies/prefetch/). `experts`: experts planned per layer (default: topK x tokens in the step). */
export const prefetchSchema = z.discriminatedUnion('kind', [
  /** accuracy: the pre-gate's precision and recall (1 = exact, as in the paper). */
  z.object({ kind: z.literal('pregated'), accuracy: unit.default(1) }).strict(),
  /**
   * buffers: the guesses land in this many device buffers outside the cache (mixtral-offloading's
   * buffer_size): a wrong guess evicts nothing; a guess its gate confirms replaces the layer's
   * least recently used expert then. Absent: the guesses are fetched into cache slots.
   */
  z.object({ kind: z.literal('speculative'), lookahead: positiveInt.default(1), experts: positiveInt.optional(), buffers: positiveInt.optional() }).strict(),
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

export type CachePolicyKind = PolicySpec['kind'];
export type PrefetchKind = PrefetchSpec['kind'];
export type MissHandlerKind = OnMissSpec['kind'];
/** The spec of one cache policy kind, one prefetch kind, one miss handler kind. */
export type PolicySpecOf<K extends CachePolicyKind> = Extract<PolicySpec, { kind: K }>;
export type PrefetchSpecOf<K extends PrefetchKind> = Extract<PrefetchSpec, { kind: K }>;
export type OnMissSpecOf<K extends MissHandlerKind> = Extract<OnMissSpec, { kind: K }>;
