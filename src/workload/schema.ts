/**
 * The scenario's `workload:` field. Two kinds:
 *
 * - `batch` (the default; `kind` may be left out): static batching of the trace's sequences, the
 *   behaviour of every scenario written before serving workloads existed.
 * - `serving`: many requests arriving over simulated time (open loop: Poisson at a rate; closed
 *   loop: N users with a think time), continuous batching with a cap on running requests and a
 *   token budget per forward pass, decode micro-batches formed by a token scheduler.
 */
import { z } from 'zod';
import { schedulerListSchema } from '../scheduling/spec.js';

const count = z.number().int().nonnegative();
const positiveInt = z.number().int().positive();

export const batchWorkloadSchema = z.strictObject({
  kind: z.literal('batch').optional(),
  /** Sequences processed together (static batching). */
  batchSize: positiveInt.default(1),
  /** The first promptTokens recorded tokens of each sequence are its prompt, prefilled together. */
  promptTokens: count.default(0),
});

/** A token count: a fixed number, or drawn per request (seeded) from a distribution, rounded, at least min. */
export const lengthSchema = z.union([
  count,
  z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('uniform'), min: count, max: count }).refine((d) => d.max >= d.min, { message: 'max must be at least min', path: ['max'] }),
    z.strictObject({
      kind: z.literal('lognormal'),
      /** exp(mu): half the draws are below it. */
      median: z.number().positive(),
      /** Standard deviation of the log. */
      sigma: z.number().nonnegative(),
      min: count.default(1),
      max: count.optional(),
    }),
  ]),
]);
export type LengthSpec = z.infer<typeof lengthSchema>;

export const arrivalsSchema = z.discriminatedUnion('kind', [
  /** Open loop: exponential inter-arrival times (a Poisson process), the first after one gap. */
  z.strictObject({ kind: z.literal('poisson'), ratePerSec: z.number().positive() }),
  /** Closed loop: `users` users, each sends a request at time 0, and its next one thinkMs after the last completes. */
  z.strictObject({ kind: z.literal('closed'), users: positiveInt, thinkMs: z.number().nonnegative().default(0) }),
]);
export type ArrivalsSpec = z.infer<typeof arrivalsSchema>;

export const servingWorkloadSchema = z.strictObject({
  kind: z.literal('serving'),
  /** Requests served in the run (it ends when all have finished). */
  requests: positiveInt,
  arrivals: arrivalsSchema,
  /** Requests running at once (admitted, holding KV cache); the rest wait in arrival order. */
  maxBatchSize: positiveInt.default(16),
  /** Tokens one forward pass may process (prefill chunks and decode micro-batches). */
  maxBatchTokens: positiveInt.default(2048),
  /** Decode tokens per forward pass (micro-batch). Default maxBatchSize: every running request each step. */
  microBatchSize: positiveInt.optional(),
  /** Prompt tokens per request: the first tokens of the request's window of its trace sequence. */
  promptTokens: lengthSchema.default(0),
  /** Output tokens per request; `trace`: the rest of the sequence after the prompt. */
  outputTokens: z.union([z.literal('trace'), lengthSchema]).default('trace'),
  /**
   * Where a request's tokens start in its trace sequence: `prefix` (its first token, as batch
   * workloads do) or `random` (a seeded offset where the request's tokens fit), which gives
   * requests that reuse a sequence different routing at the same step.
   */
  window: z.enum(['prefix', 'random']).default('prefix'),
  prefill: z
    .strictObject({
      /** Prompt tokens per prefill forward pass (prefill micro-batch). Default maxBatchTokens. */
      microBatchTokens: positiveInt.optional(),
      /**
       * Stream prefill layer by layer (FlexGen / MoE-Lightning): while layer l computes, fetch every
       * expert of layer l+1 not on the GPU.
       */
      streaming: z.boolean().default(false),
      /** Stream only prefill passes of at least this many tokens (long prompts activate most experts). */
      streamingMinTokens: positiveInt.default(1),
    })
    .default({ streaming: false, streamingMinTokens: 1 }),
  /** Token schedulers to compare; every policy is simulated with each one. */
  schedulers: schedulerListSchema.default([{ kind: 'fifo' }]),
  /** Latency targets for SLO attainment. */
  slo: z.strictObject({ ttftMs: z.number().positive(), tpotMs: z.number().positive() }).optional(),
});

export const workloadSchema = z.discriminatedUnion('kind', [batchWorkloadSchema, servingWorkloadSchema]);

export type BatchWorkload = z.infer<typeof batchWorkloadSchema>;
export type ServingWorkload = z.infer<typeof servingWorkloadSchema>;
export type Workload = z.infer<typeof workloadSchema>;
