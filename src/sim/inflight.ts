/**
 * What is on its way into a cache slot: per key (layer * E + expert), the link job bringing the
 * expert (a demand fetch or a prefetch), shared by the loop (offload-sim.ts) and the prefetch plan
 * (prefetch-plan.ts). A staged copy, a lower-bit copy or a prefill stream's transfer goes to a
 * staging buffer, not a slot, and is not here.
 */
import type { BandwidthLink } from '../engine/resource.js';

/**
 * An expert's copy into the cache slot an access or insert with `outcome` gave it: when that
 * evicted a victim (outcome >= 0) and the runtime writes evicted experts back (`writeBackSec` > 0,
 * StepCosts.evictWriteBackSec), the victim's copy to the host rides the same serial link in the same
 * job (mixtral-offloading's `_swap`). Returns the link job.
 */
export function fetchInto(link: BandwidthLink, bytes: number, outcome: number, writeBackSec: number, priority: number, tag: number, tag2: number): number {
  if (outcome < 0 || writeBackSec === 0) return link.transfer(bytes, priority, tag, tag2);
  return link.resource.submit(link.transferSec(bytes) + writeBackSec, priority, tag, tag2, bytes);
}

export class InFlight {
  /** The link job bringing the key into its slot, -1 if none. */
  readonly job: Int32Array;
  /** 1 while that job is a prefetch no gate has asked for yet. */
  readonly isPrefetch: Uint8Array;
  private remapKey = -1;

  constructor(
    keys: number,
    private readonly link: BandwidthLink,
  ) {
    this.job = new Int32Array(keys).fill(-1);
    this.isPrefetch = new Uint8Array(keys);
    // A reprioritized job may get a new handle.
    link.resource.remap = (_old, job) => {
      this.job[this.remapKey] = job;
    };
  }

  /** Moves `key`'s transfer, if still queued, to `priority`. */
  reprioritize(key: number, priority: number): void {
    const job = this.job[key];
    if (!this.link.resource.isQueued(job)) return;
    this.remapKey = key;
    this.link.resource.reprioritize(job, priority);
  }

  /** Cancels `key`'s transfer if it is still queued; true if it was. */
  cancelQueued(key: number): boolean {
    const job = this.job[key];
    if (!this.link.resource.isQueued(job)) return false;
    this.link.cancel(job);
    this.job[key] = -1;
    this.isPrefetch[key] = 0;
    return true;
  }
}
