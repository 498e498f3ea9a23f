import type { Step, StepSource } from '../../src/trace/steps.js';
import { servingWorkloadSchema, type ServingWorkload } from '../../src/workload/schema.js';
import { traceOf } from './trace.js';

/** Sequences of the given lengths, one layer, token t of the whole trace routed to expert t % 4. Test fixture only. */
export function lengthsTrace(lengths: number[], layers = 1, experts = 4) {
  let t = 0;
  return traceOf(
    lengths.map((n) => Array.from({ length: n }, () => { const tok = t++; return Array.from({ length: layers }, (_, l) => [(tok * (l + 1)) % experts]); })),
    experts,
  );
}

/** A serving workload with defaults filled (Poisson at 2/s unless given). */
export function servingSpec(w: object): ServingWorkload {
  return servingWorkloadSchema.parse({ kind: 'serving', arrivals: { kind: 'poisson', ratePerSec: 2 }, ...w });
}

export interface DrivenStep {
  atSec: number;
  tokens: number[];
  emit: number[];
  start: number[];
  prefill: boolean;
  context: number;
}

/**
 * Drives a step source without the simulator: every step takes `stepSec`; when the source idles,
 * time jumps to its resumeSec.
 */
export function drive(src: StepSource, stepSec = 1, maxSteps = 100000): DrivenStep[] {
  const out: DrivenStep[] = [];
  let now = 0;
  for (let i = 0; i < maxSteps; i++) {
    const s: Step | null = src.next(now);
    if (s === null) {
      const r = src.resumeSec ?? Infinity;
      if (r === Infinity) return out;
      if (!(r > now)) throw new Error(`resume ${r} not after ${now}`);
      now = r;
      continue;
    }
    out.push({
      atSec: now,
      tokens: [...s.tokens.slice(0, s.count)],
      emit: [...s.emitSeq.slice(0, s.emitCount)],
      start: [...s.startSeq.slice(0, s.startCount)],
      prefill: s.prefill,
      context: s.contextTokens,
    });
    now += stepSec;
  }
  throw new Error('source did not finish');
}
