/**
 * Distinct experts per micro-batch per MoE layer, by step kind: what a token scheduler changes.
 * Counted from the trace's routing of each step's tokens (the experts the step really activates).
 */
import type { Trace } from '../trace/types.js';
import type { Step } from '../sim/steps.js';
import { LayerUnion } from '../sim/union.js';

export class UnionStats {
  decodeSteps = 0;
  prefillSteps = 0;
  readonly decodePerLayer: Float64Array;
  readonly prefillPerLayer: Float64Array;
  /** Tokens of decode micro-batches (their mean size). */
  decodeTokens = 0;
  private readonly union: LayerUnion;

  constructor(
    private readonly trace: Trace,
    numExperts: number,
  ) {
    this.union = new LayerUnion(numExperts);
    this.decodePerLayer = new Float64Array(trace.numLayers);
    this.prefillPerLayer = new Float64Array(trace.numLayers);
  }

  record(step: Step): void {
    const sums = step.prefill ? this.prefillPerLayer : this.decodePerLayer;
    if (step.prefill) this.prefillSteps++;
    else {
      this.decodeSteps++;
      this.decodeTokens += step.count;
    }
    for (let l = 0; l < this.trace.numLayers; l++) sums[l] += this.union.compute(this.trace, step, l);
  }
}
