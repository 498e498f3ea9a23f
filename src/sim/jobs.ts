/**
 * The simulator's job kinds and their encoding into the engine's integer tags, in one place: no
 * other file packs or unpacks a tag. A tag carries an expert key and a 2-bit kind; tag2 carries
 * the tokens of an expert job, STREAM_TAG on a prefill stream's transfer, or WRITE_BACK_TAG on an
 * evicted expert's copy back to the host.
 */

/** GPU and CPU jobs (tag = key << 2 | kind). */
export const JOB_PRE = 0; // non-expert work before a MoE layer's experts (key 0)
export const JOB_EXPERT = 1; // one expert over its tokens
export const JOB_TAIL = 2; // after the last MoE layer (key 0)

/** Link transfers (tag = key * 4 + kind). */
export const LINK_DEMAND = 0; // into a cache slot
export const LINK_STAGED = 1; // into a staging buffer (not cached)
export const LINK_PREFETCH = 2; // into a cache slot, ahead of the gate
export const LINK_LOW_BIT = 3; // a lower-bit copy into a staging buffer

/** The timeline's name of each link kind. */
export const LINK_KIND_NAMES = ['fetch', 'fetch', 'prefetch', 'fetch-low-bit'] as const;

/** tag2 of a prefill stream's transfer (prefill-stream.ts): a staged copy the streamer owns. */
export const STREAM_TAG = -1;

/** tag2 of the copy of an evicted expert back to the host (StepCosts.evictWriteBackSec) submitted on its own: nothing waits for it. */
export const WRITE_BACK_TAG = -2;

/** The tag of expert `key`'s computation. */
export function expertJob(key: number): number {
  return (key << 2) | JOB_EXPERT;
}

/** The tag of a transfer of expert `key` of link kind `kind`. */
export function linkJob(key: number, kind: number): number {
  return key * 4 + kind;
}

/** The expert key of a tag. */
export function jobKey(tag: number): number {
  return tag >> 2;
}

/** The kind of a tag (JOB_* on the GPU and CPU, LINK_* on the link). */
export function jobKind(tag: number): number {
  return tag & 3;
}
