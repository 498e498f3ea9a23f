import type { MissHandler } from './types.js';
import type { Dtype } from '../../model/types.js';
import type { MissCosts } from '../../timing/costs.js';
import type { MissHandlerKind, OnMissSpecOf } from '../spec.js';
import { fetchOnMiss } from './fetch.js';
import { cpuOnMiss } from './cpu.js';
import { lowPrecisionOnMiss } from './low-precision.js';

export type { MissHandlerKind } from '../spec.js';
export const missHandlerKinds = ['fetch', 'cpu', 'low-precision'] as const satisfies readonly MissHandlerKind[];

/** What a table row is asked for the miss costs: the roofline's (or a replay's) costs of one lower-bit format. */
export interface MissCostSource {
  missCosts(lowBit?: Dtype): MissCosts;
}

export interface MissHandlerInfo<K extends MissHandlerKind> {
  create: (params: Omit<OnMissSpecOf<K>, 'kind'>) => MissHandler;
  describe: string;
  /** The default: no handler is installed, the simulator fetches every miss. */
  fetchesOnly: boolean;
  /** Computes some misses elsewhere (the CPU) without caching them: nothing fills a cache then but prefetching. */
  bypassesCache: boolean;
  /** The lower-bit format a miss may be fetched as, if any. */
  lowBit?: (spec: OnMissSpecOf<K>) => Dtype;
  /** "cpu on miss", "int4 on miss": the part of a policy's label. */
  label: (spec: OnMissSpecOf<K>) => string;
}

/** One typed table: a kind without an implementation does not compile. */
export const missHandlers: { [K in MissHandlerKind]: MissHandlerInfo<K> } = {
  fetch: { create: fetchOnMiss, describe: 'copy the expert to the GPU, then compute it', fetchesOnly: true, bypassesCache: false, label: () => 'fetch on miss' },
  cpu: {
    create: cpuOnMiss,
    describe: 'Fiddler: compute on the CPU when the hardware model says that is sooner',
    fetchesOnly: false,
    bypassesCache: true,
    label: () => 'cpu on miss',
  },
  'low-precision': {
    create: lowPrecisionOnMiss,
    describe: 'HOBBIT: fetch a lower-bit copy of less important missed experts',
    fetchesOnly: false,
    bypassesCache: false,
    lowBit: (spec) => spec.dtype,
    label: (spec) => `${spec.dtype} on miss`,
  },
};

/** The table row of a spec's own kind. */
export function missHandlerInfo<K extends MissHandlerKind>(kind: K): MissHandlerInfo<K> {
  return missHandlers[kind];
}

/** A fresh handler of `spec`'s kind. */
export function createMissHandler<K extends MissHandlerKind>(spec: OnMissSpecOf<K> & { kind: K }): MissHandler {
  return missHandlerInfo<K>(spec.kind).create(spec);
}

/** The costs `spec`'s handler decides and is charged by: `costs` at its lower-bit format, if it has one. */
export function missCostsOf<K extends MissHandlerKind>(spec: OnMissSpecOf<K> & { kind: K }, costs: MissCostSource): MissCosts {
  const info = missHandlerInfo<K>(spec.kind);
  return costs.missCosts(info.lowBit?.(spec));
}

export function missLabel<K extends MissHandlerKind>(spec: OnMissSpecOf<K> & { kind: K }): string {
  return missHandlerInfo<K>(spec.kind).label(spec);
}

/** The lower-bit format `spec`'s handler may fetch a miss as, if any. */
export function missLowBit<K extends MissHandlerKind>(spec: OnMissSpecOf<K> & { kind: K }): Dtype | undefined {
  return missHandlerInfo<K>(spec.kind).lowBit?.(spec);
}
