import type { SchedulerContext, TokenScheduler } from './types.js';

/**
 * First in, first out: the tokens passed over longest, then the earliest admitted. With every
 * request ready each micro-batch this is round robin; the baseline.
 */
export function fifo(_ctx: SchedulerContext): TokenScheduler {
  return {
    kind: 'fifo',
    select(ready, capacity, out) {
      const m = Math.min(capacity, ready.count);
      for (let i = 0; i < m; i++) out[i] = i;
      return m;
    },
  };
}
