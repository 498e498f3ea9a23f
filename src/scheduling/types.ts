/**
 * Token schedulers decide which ready decode tokens of a serving workload run together in the next
 * micro-batch (one forward pass). They see a read-only view of the ready set and answer with
 * indices into it; they never advance a clock or count bytes. Every running request has at most one
 * ready token (its next one: token t+1 only exists once token t has run), so no scheduler can run a
 * sequence's tokens out of order.
 */
import type { Rng } from '../rng/rng.js';
import type { Trace } from '../trace/types.js';
import type { SchedulerKind } from './spec.js';

/**
 * The ready decode tokens, in FIFO priority order: the longest passed over first, then the earliest
 * admitted. Arrays are the source's scratch buffers; only the first `count` entries are valid.
 */
export interface ReadyTokens {
  count: number;
  /** Request of each ready token. */
  readonly request: Int32Array;
  /** Trace token index (row of trace.experts) whose routing the token follows. */
  readonly token: Int32Array;
  /** Decode micro-batches in a row the request has been passed over (0: it ran in the last one, or just became ready). */
  readonly waited: Int32Array;
}

/**
 * Where a scheduler's routing paths come from: ready token i's path as bit masks (see paths.ts),
 * numLayers * maskWords(numExperts) words written at out[offset ..]. No allocation per call.
 */
export interface PathSource {
  fill(ready: ReadyTokens, i: number, out: Uint32Array, offset: number): void;
}

/** Paths a routing predictor predicts, from what has run so far (it is told what has). */
export interface PathPredictions extends PathSource {
  /**
   * Request `request`'s tokens at positions [from, from + count) of its window (prompt first, then
   * decode tokens) completed their forward pass: their routing is known from now on.
   */
  completed(request: number, from: number, count: number): void;
}

export interface SchedulerContext {
  trace: Trace;
  numExperts: number;
  /** No request is passed over more than this many decode micro-batches in a row. */
  maxWaitSteps: number;
  /**
   * Predicted routing paths, for schedulers that work on predictions (expertflow): a routing
   * predictor's (see predicted-paths.ts). Absent: the trace's truth with noise.
   */
  predictions?: PathPredictions;
  /** Residency of each expert key (layer * numExperts + expert) on the GPU, read when deciding. */
  resident?: Uint8Array;
  rng: Rng;
}

export interface TokenScheduler {
  readonly kind: SchedulerKind;
  /**
   * Picks min(capacity, ready.count) ready tokens, always including the first
   * mandatoryCount(ready, capacity, maxWaitSteps) of them; writes their indices (ascending) into
   * `out` and returns how many.
   */
  select(ready: ReadyTokens, capacity: number, out: Int32Array): number;
  /** Told after each step which tokens completed (see PathPredictions.completed); for schedulers that learn. */
  completed?(request: number, from: number, count: number): void;
}
