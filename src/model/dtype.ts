import { z } from 'zod';
import type { Dtype } from './types.js';

/** The weight and activation formats (model/types.ts's Dtype), as a schema. */
export const dtypeSchema = z.enum(['fp32', 'bf16', 'fp16', 'fp8', 'int8', 'int4', 'int3', 'int2']) satisfies z.ZodType<Dtype>;
