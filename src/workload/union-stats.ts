/**
 * Distinct experts per micro-batch per MoE layer, by step kind: what a token scheduler changes.
 * Counted from the trace's routing of each step's tokens (the experts the step really activates).
 */
import type { Trace } from '../trace/types.js';
import type { Step } from '../trace/steps.js';
import { LayerUnion } from '../trace/union.js';

export class UnionStats {
  decodeSteps = 0;
  prefillSteps = 0;
  readonly decodePerLayer: Float64Array;
  readonly prefillPerLayer: Float64Array;
  /** Tokens of decode micro-batches (their mean size). */
  decodeTokens = 0;
  /**
   * Decode tokens that share their micro-batch with another token of the same trace token: identical
   * routing, which only happens when requests reuse a trace sequence and reach the same position at
   * once. An artifact of reuse that flatters routing-aware schedulers.
   */
  twinTokens = 0;
  private readonly union: LayerUnion;
  private readonly seen: Int32Array;
  private stamp = 0;

  constructor(
    private readonly trace: Trace,
    numExperts: number,
  ) {
    this.union = new LayerUnion(numExperts);
    this.decodePerLayer = new Float64Array(trace.numLayers);
    this.prefillPerLayer = new Float64Array(trace.numLayers);
    this.seen = new Int32Array(trace.tokens);
  }

  record(step: Step): void {
    const sums = step.prefill ? this.prefillPerLayer : this.decodePerLayer;
    if (step.prefill) this.prefillSteps++;
    else {
      this.decodeSteps++;
      this.decodeTokens += step.count;
      // seen[t] = stamp: once in this step; -stamp: twice or more (already counted).
      const id = ++this.stamp;
      for (let i = 0; i < step.count; i++) {
        const t = step.tokens[i];
        const v = this.seen[t];
        if (v === id) {
          this.twinTokens += 2;
          this.seen[t] = -id;
        } else if (v === -id) this.twinTokens++;
        else this.seen[t] = id;
      }
    }
    for (let l = 0; l < this.trace.numLayers; l++) sums[l] += this.union.compute(this.trace, step, l);
  }
}
