/**
 * Miss handlers decide what happens to an expert that is not on the GPU when its gate asks for it:
 * copy it then compute (fetch), compute it on the CPU from host memory (Fiddler), or copy a
 * lower-bit version and compute that (HOBBIT). They decide from estimates the simulator gives them;
 * the simulator charges the time.
 */

import type { MissHandlerKind } from '../spec.js';

export type MissDecision = 'fetch' | 'cpu' | 'low-bit';

/** What a handler may look at for one missed expert. */
export interface MissQuery {
  /** Tokens routed to the expert this step. */
  tokens: number;
  /** Largest gate weight among those tokens (1 for a top-1 choice when the trace has no weights, else 0). */
  importance: number;
  /** Estimated seconds from now until the expert is computed if fetched: link queue + copy + GPU. */
  fetchFinishSec: number;
  /** Estimated seconds from now until computed on the CPU: CPU queue + activations both ways + CPU. */
  cpuFinishSec: number;
}

export interface MissHandler {
  readonly kind: MissHandlerKind;
  /** Whether decide() reads importance (the simulator computes it only then). */
  readonly needsImportance: boolean;
  /** Whether decide() reads the time estimates. */
  readonly needsEstimates: boolean;
  decide(q: MissQuery): MissDecision;
}
