/** Hardware models. Internal units are SI: bytes, bytes per second, FLOP per second, seconds. Inferred from hardware/schema.ts. */
import type { z } from 'zod';
import type { cpuSchema, gpuSchema, hardwareSchema, hostLinkSchema } from './schema.js';

export type Gpu = z.infer<typeof gpuSchema>;
export type HostLink = z.infer<typeof hostLinkSchema>;
export type Cpu = z.infer<typeof cpuSchema>;
export type Hardware = z.infer<typeof hardwareSchema>;
export type { Ssd } from './storage.js';
