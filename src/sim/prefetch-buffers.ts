/**
 * Device buffers prefetches land in, outside the cache (PrefetchPolicy.buffers; mixtral-offloading's
 * `ExpertCache.device_expert_buffers`, dvmazur/mixtral-offloading@0d3c605:src/expert_cache.py). A
 * guess takes a free buffer and evicts nothing; at its layer's gate a chosen guess is adopted by the
 * cache (the buffer becomes its slot, the victim's slot the free buffer, as `_swap` trades them), and
 * the guesses the gate did not choose are dropped. The loop (offload-sim.ts) and the plan
 * (prefetch-plan.ts) share one instance; the ledger charges what they do.
 */

/** In a buffer, waiting for its gate. */
export const BUF_WAITING = 1;
/** Its gate did not choose it and its copy is still on the link: the buffer is freed when it lands. */
export const BUF_DROPPED = 2;
/** Chosen, but the cache did not admit it: computed from its buffer, freed when it lands. */
export const BUF_UNCACHED = 3;

export class PrefetchBuffers {
  /** Per key: 0 (in no buffer) or BUF_*. */
  readonly state: Uint8Array;
  private used = 0;

  constructor(
    readonly capacity: number,
    keys: number,
  ) {
    this.state = new Uint8Array(keys);
  }

  get full(): boolean {
    return this.used >= this.capacity;
  }

  /** `key`'s prefetch takes a free buffer. */
  take(key: number): void {
    this.state[key] = BUF_WAITING;
    this.used++;
  }

  /** `key`'s buffer is free again. */
  free(key: number): void {
    this.state[key] = 0;
    this.used--;
  }
}
