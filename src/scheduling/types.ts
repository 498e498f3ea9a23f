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

export interface SchedulerContext {
  trace: Trace;
  numExperts: number;
  /** No request is passed over more than this many decode micro-batches in a row. */
  maxWaitSteps: number;
  /**
   * Predicted routing, laid out as trace.experts ([token][layer][slot], NO_EXPERT where absent), for
   * schedulers that work on predictions (expertflow). Absent: the trace's truth with noise. This is
   * where routing predictors plug in.
   */
  predictedRouting?: Uint16Array;
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
}
