/**
 * Building a predictor for a run: offline training on the first sequences of the scenario's trace
 * or on another trace, and/or online learning (causal: only from tokens whose forward pass has
 * completed). The oracle is never trained.
 */
import type { Rng } from '../rng/rng.js';
import type { Trace } from '../trace/types.js';
import type { FitReport, RoutingPredictor } from './types.js';
import { TraceView } from './trace-view.js';

export interface TrainingSource {
  /** The trace to train on offline (the scenario's, or another), and how many of its leading sequences. */
  trace?: Trace;
  sequences: number;
  /** Keep learning causally during the replay. */
  online: boolean;
}

export interface TrainingReport {
  /** Tokens trained on offline. */
  offlineTokens: number;
  fit?: FitReport;
}

/** Trains `predictor` offline on `src` (fit() when it has one, else token by token in order). */
export function trainOffline(predictor: RoutingPredictor, src: TrainingSource, numExperts: number, rng: Rng): TrainingReport {
  if (!src.trace || src.sequences === 0) return { offlineTokens: 0 };
  const view = new TraceView(src.trace, numExperts);
  const seqs = Array.from({ length: src.sequences }, (_, i) => i);
  const offlineTokens = seqs.reduce((n, s) => n + src.trace!.sequences[s].length, 0);
  if (predictor.fit) return { offlineTokens, fit: predictor.fit(view, seqs, rng) };
  for (const s of seqs) {
    const seq = src.trace.sequences[s];
    for (let p = 0; p < seq.length; p++) {
      predictor.learn(view, seq.start + p);
      view.observe(seq.start + p);
    }
  }
  return { offlineTokens };
}
