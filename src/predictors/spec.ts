/**
 * The scenario's routing predictor specs (`policies[].predictor`, and the `predictor` of an
 * expertflow token scheduler): told apart by `kind`, unknown keys rejected. Here, next to the
 * predictors, so that both the scenario schema and the scheduler specs can use it.
 */
import { z } from 'zod';
import { noPublishedValue, publishedSystems } from './published.js';

const unit = z.number().min(0).max(1);
const positiveInt = z.number().int().positive();

/**
 * How a predictor learns: offline on the first `fraction` of the scenario trace's sequences, or on
 * another trace (`path`, relative to the scenario file); `online`: keep learning causally during
 * the run, from each token once its forward pass has completed. Default: online only.
 */
export const predictorTrainingSchema = z
  .object({
    fraction: z.number().gt(0).lt(1).optional(),
    path: z.string().min(1).optional(),
    online: z.boolean().optional(),
  })
  .strict()
  .refine((t) => t.fraction === undefined || t.path === undefined, { message: 'give fraction or path, not both' });
export type PredictorTraining = z.infer<typeof predictorTrainingSchema>;

const train = predictorTrainingSchema.optional();

/** Routing predictors (src/predictors/). */
export const predictorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('oracle'), precision: unit.default(1), recall: unit.default(1) }).strict(),
  z.object({ kind: z.literal('affinity'), maxDistance: positiveInt.default(4), train }).strict(),
  z
    .object({
      kind: z.literal('path'),
      epochs: positiveInt.default(10),
      learningRate: z.number().positive().default(0.1),
      l2: z.number().nonnegative().default(1e-4),
      maxExamples: positiveInt.default(2_000_000),
      train,
    })
    .strict(),
  z.object({ kind: z.literal('activation-matrix'), maxMatrices: positiveInt.default(1000), train }).strict(),
  z.object({ kind: z.literal('popularity'), train }).strict(),
  /**
   * The accuracy `of`'s paper publishes (published.ts), as the oracle at precision = recall =
   * that value; refused for a system whose paper gives no number.
   */
  z
    .object({
      kind: z.literal('published'),
      of: z.enum(publishedSystems).superRefine((of, ctx) => {
        const why = noPublishedValue(of);
        if (why) ctx.addIssue({ code: 'custom', message: why });
      }),
    })
    .strict(),
]);
export type PredictorSpec = z.infer<typeof predictorSchema>;
