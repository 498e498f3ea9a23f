/**
 * The scenario's token schedulers (`workload.schedulers`): which ready decode tokens of a serving
 * workload run together in one micro-batch. Told apart by `kind`; unknown keys rejected.
 */
import { z } from 'zod';

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
     * Routing-path predictor: until the prediction issue's predictors are wired in, the trace's
     * truth with noise: each (token, layer, slot) is replaced by another expert with this probability.
     */
    noise: z.number().min(0).max(1).default(0.1),
  }),
  z.strictObject({ kind: z.literal('lookahead'), label, maxWaitSteps }),
]);
export type SchedulerSpec = z.infer<typeof schedulerSpecSchema>;
