/**
 * The bound on how long a request may be passed over, kept by earliest-deadline-first reasoning.
 *
 * A ready request passed over w micro-batches in a row must run within the next W - w + 1 ones
 * (W = maxWaitSteps). With m tokens per micro-batch, the requests with w >= W - k share the m(k+1)
 * places of the next k+1 micro-batches, so at least C_k - m*k of them must run now, where
 * C_k = #{w >= W - k}. Taking the max over k, and taking those requests longest-passed-over first,
 * keeps every later micro-batch feasible as long as at most m(W+1) requests are running: then no
 * request is ever passed over more than W micro-batches in a row, whatever the scheduler does with
 * the places left.
 */
import type { ReadyTokens } from './types.js';

/**
 * How many of the first ready tokens (they come longest-passed-over first) the next micro-batch of
 * `capacity` tokens must include.
 */
export function mandatoryCount(ready: ReadyTokens, capacity: number, maxWaitSteps: number): number {
  const n = ready.count;
  const m = Math.min(capacity, n);
  let need = 0;
  for (let i = 0; i < n; i++) {
    const k = maxWaitSteps - ready.waited[i];
    const c = i + 1 - (k > 0 ? capacity * k : 0);
    if (c > need) need = c;
  }
  return need < m ? need : m;
}

/** The smallest bound every running request can be kept within: ceil(running / capacity) - 1. */
export function minFeasibleWait(maxRunning: number, capacity: number): number {
  return Math.max(0, Math.ceil(maxRunning / capacity) - 1);
}
