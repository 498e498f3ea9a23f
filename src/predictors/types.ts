/**
 * Routing predictors: at a point in a token's forward pass, given what is known then (the token's
 * routing at the layers already computed, its sequence's earlier tokens, other requests seen
 * before), score the experts of later layers. One interface, one file per predictor, one typed table
 * (index.ts).
 *
 * Protocol (the simulator and the evaluator drive it the same way):
 *   condition(view, token, known)  the token's routing is known at layers < known (0: nothing yet);
 *   scores(layer, out)             for layers >= known: out[e] in [0, 1], the predicted chance that
 *                                  expert e is among the token's experts at `layer`;
 *   learn(view, token)             the token's forward pass is complete (online learning); called
 *                                  before view.observe(token).
 * A predictor reads the trace only through what the view says is known (the oracle excepted, which
 * reads the future by design).
 */
import type { Rng } from '../rng/rng.js';
import type { TraceView } from './trace-view.js';
import type { PredictorSpec } from './spec.js';

export interface FitReport {
  examples: number;
  epochs: number;
  /** Mean training loss of the last epoch (cross-entropy, nats). */
  finalLoss: number;
}

export interface RoutingPredictor {
  readonly kind: PredictorSpec['kind'];
  /**
   * true: scores are set membership (0 or 1) and the whole set is the prediction (oracle). false:
   * scores rank experts; a prediction is the top ones.
   */
  readonly setValued: boolean;
  condition(view: TraceView, token: number, known: number): void;
  scores(layer: number, out: Float64Array): void;
  learn(view: TraceView, token: number): void;
  /** Offline training over whole sequences (predictors without one learn token by token). */
  fit?(view: TraceView, sequences: readonly number[], rng: Rng): FitReport;
  /** Learned numbers (parameters, counts, stored matrices). */
  parameterCount(): number;
}

/** What every predictor factory is given. */
export interface PredictorContext {
  numLayers: number;
  numExperts: number;
  topK: number;
  rng: Rng;
}
