/**
 * A predictor at work in a replay: conditions it on each token of a step, sums the scores over the
 * step's tokens, and after the step observes the tokens (learning from them when online).
 */
import type { Step } from '../trace/steps.js';
import type { RoutingPredictor } from './types.js';
import { TraceView } from './trace-view.js';

export class PredictorDriver {
  private readonly tmp: Float64Array;
  /** The (token, known) the predictor is conditioned on, for single-token steps; -1: none. */
  private condToken = -1;
  private condKnown = -1;

  constructor(
    readonly predictor: RoutingPredictor,
    readonly view: TraceView,
    /** Learn from each token once its forward pass completes. */
    readonly online: boolean,
  ) {
    this.tmp = new Float64Array(view.numExperts);
  }

  get setValued(): boolean {
    return this.predictor.setValued;
  }

  /** Sum over the step's tokens of each expert's score at `layer`, the tokens known at layers < known. */
  stepScores(step: Step, known: number, layer: number, out: Float64Array): void {
    const p = this.predictor;
    if (step.count === 1) {
      const t = step.tokens[0];
      if (t !== this.condToken || known !== this.condKnown) {
        p.condition(this.view, t, known);
        this.condToken = t;
        this.condKnown = known;
      }
      p.scores(layer, out);
      return;
    }
    this.condToken = -1;
    out.fill(0);
    const tmp = this.tmp;
    for (let i = 0; i < step.count; i++) {
      p.condition(this.view, step.tokens[i], known);
      p.scores(layer, tmp);
      for (let e = 0; e < tmp.length; e++) out[e] += tmp[e];
    }
  }

  /** The step's forward pass is complete: its tokens' routing is known from now on. */
  observeStep(step: Step): void {
    this.condToken = -1;
    for (let i = 0; i < step.count; i++) {
      const t = step.tokens[i];
      if (this.online) this.predictor.learn(this.view, t);
      this.view.observe(t);
    }
  }
}
