/**
 * Per-layer frequency: the chance that expert e is among a token's experts at layer l, estimated as
 * the fraction of observed tokens routed to it there (prior: K/E from one pseudo-token). Knows
 * nothing of the current token or sequence; the baseline every other predictor should beat.
 */
import type { PredictorContext, RoutingPredictor } from './types.js';
import type { TraceView } from './trace-view.js';

/** Marginal counts per layer, shared by predictors that fall back to popularity. */
export class LayerFrequency {
  readonly counts: Float64Array;
  readonly tokens: Float64Array;
  private readonly scratch: Int32Array;

  constructor(
    readonly numLayers: number,
    readonly numExperts: number,
    readonly topK: number,
  ) {
    this.counts = new Float64Array(numLayers * numExperts);
    this.tokens = new Float64Array(numLayers);
    this.scratch = new Int32Array(topK);
  }

  add(view: TraceView, token: number): void {
    const E = this.numExperts;
    for (let l = 0; l < this.numLayers; l++) {
      const n = view.experts(token, l, this.scratch);
      if (n === 0) continue;
      this.tokens[l]++;
      for (let i = 0; i < n; i++) this.counts[l * E + this.scratch[i]]++;
    }
  }

  /** Smoothed chance of expert e at `layer`. */
  score(layer: number, e: number): number {
    return (this.counts[layer * this.numExperts + e] + this.topK / this.numExperts) / (this.tokens[layer] + 1);
  }

  scores(layer: number, out: Float64Array): void {
    for (let e = 0; e < this.numExperts; e++) out[e] = this.score(layer, e);
  }
}

export function popularity(ctx: PredictorContext): RoutingPredictor {
  const freq = new LayerFrequency(ctx.numLayers, ctx.numExperts, ctx.topK);
  return {
    kind: 'popularity',
    setValued: false,
    condition() {},
    scores: (layer, out) => freq.scores(layer, out),
    learn: (view, token) => freq.add(view, token),
    parameterCount: () => ctx.numLayers * ctx.numExperts,
  };
}
