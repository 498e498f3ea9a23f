import type { MissHandler } from './types.js';
import { fetchOnMiss } from './fetch.js';
import { cpuOnMiss, type CpuParams } from './cpu.js';
import { lowPrecisionOnMiss, type LowPrecisionParams } from './low-precision.js';

/** Parameters of each kind (the scenario schema's fields besides `kind` the handler reads). */
export interface MissHandlerParams {
  fetch: object;
  cpu: CpuParams;
  'low-precision': LowPrecisionParams;
}
export type MissHandlerKind = keyof MissHandlerParams;
export const missHandlerKinds = ['fetch', 'cpu', 'low-precision'] as const satisfies readonly MissHandlerKind[];

export interface MissHandlerInfo<P> {
  create: (params: P) => MissHandler;
  describe: string;
}

/** One typed table: a kind without an implementation does not compile. */
export const missHandlers: { [K in MissHandlerKind]: MissHandlerInfo<MissHandlerParams[K]> } = {
  fetch: { create: fetchOnMiss, describe: 'copy the expert to the GPU, then compute it' },
  cpu: { create: cpuOnMiss, describe: 'Fiddler: compute on the CPU when the hardware model says that is sooner' },
  'low-precision': { create: lowPrecisionOnMiss, describe: 'HOBBIT: fetch a lower-bit copy of less important missed experts' },
};
