/**
 * The scenario's token schedulers (`workload.schedulers`): which ready decode tokens of a serving
 * workload run together in one micro-batch. Told apart by `kind`; unknown keys rejected.
 */
import { z } from 'zod';
import { predictorSchema } from '../predictors/spec.js';

export const schedulerKinds = ['fifo', 'expertflow', 'lookahead'] as const;
export type SchedulerKind = (typeof schedulerKinds)[number];

const label = z.string().min(1).optional();
/**
 * The most decode micro-batches in a row a running request may be passed over. Default: twice the
 * micro-batches of a full round (ceil(maxBatchSize / micro-batch)); raised, with a warning, to the
 * smallest bound round-robin can keep (that count minus one) if set lower.
 */
const maxWaitSteps = z.number().int().nonnegative().optional();

export const schedulerSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('fifo'), label }),
  z.strictObject({
    kind: z.literal('expertflow'),
    label,
    maxWaitSteps,
    /**
     * Predicted paths from a routing predictor (the same specs as policies' `predictor:`), each
     * ready token's predicted before its forward pass from what has run (scheduling/predicted-paths.ts).
     */
    predictor: predictorSchema.optional(),
    /**
     * Without a predictor: the trace's truth with noise, each (token, layer, slot) replaced by
     * another expert with this probability (default DEFAULT_NOISE).
     */
    noise: z.number().min(0).max(1).optional(),
  }),
  z.strictObject({ kind: z.literal('lookahead'), label, maxWaitSteps }),
]);
export type SchedulerSpec = z.infer<typeof schedulerSpecSchema>;

/** expertflow's noise when it has no predictor and none is given. */
export const DEFAULT_NOISE = 0.1;

/**
 * The workload's list of schedulers: an expertflow scheduler takes `predictor` or `noise`, not
 * both; without a predictor its noise is filled in (so a resolved scenario shows it).
 */
export const schedulerListSchema = z
  .array(schedulerSpecSchema)
  .min(1)
  .superRefine((list, ctx) => {
    list.forEach((s, i) => {
      if (s.kind === 'expertflow' && s.predictor && s.noise !== undefined) {
        ctx.addIssue({ code: 'custom', path: [i, 'noise'], message: 'give predictor (predicted paths) or noise (the truth with noise), not both' });
      }
    });
  })
  .transform((list) => list.map((s) => (s.kind === 'expertflow' && !s.predictor && s.noise === undefined ? { ...s, noise: DEFAULT_NOISE } : s)));
