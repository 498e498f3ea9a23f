/**
 * TTFT and TPOT from per-step durations, with the simulator's definitions (OffloadSim): steps run
 * back to back; a sequence's clock starts when its first step starts; its first output comes when
 * the first step that emits for it ends (TTFT); every later output adds the gap since the previous
 * one (a TPOT sample). Used for measured runs (`moesim replay`), whose steps are timed one by one.
 */
import { mean, percentile } from './summarize.js';

/** What a step does for latency: which sequences start with it and which emit a token when it ends. */
export interface StepLog {
  /** Tokens processed. */
  count: number;
  prefill: boolean;
  startSeq: number[];
  emitSeq: number[];
}

export interface TokenLatencies {
  /** Per sequence with an output, in sequence order, seconds. */
  ttftSec: number[];
  /** Gaps between consecutive outputs of a sequence, in emission order, seconds. */
  tpotSec: number[];
}

export function tokenLatencies(steps: readonly StepLog[], durationsSec: ArrayLike<number>, numSequences: number): TokenLatencies {
  if (durationsSec.length !== steps.length) throw new Error(`tokenLatencies: ${steps.length} steps, ${durationsSec.length} durations`);
  const start = new Float64Array(numSequences).fill(-1);
  const last = new Float64Array(numSequences).fill(-1);
  const ttft = new Float64Array(numSequences).fill(-1);
  const tpotSec: number[] = [];
  let now = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    for (const q of s.startSeq) start[q] = now;
    now += durationsSec[i];
    for (const q of s.emitSeq) {
      if (last[q] < 0) ttft[q] = now - start[q];
      else tpotSec.push(now - last[q]);
      last[q] = now;
    }
  }
  return { ttftSec: Array.from(ttft).filter((t) => t >= 0), tpotSec };
}

export interface LatencySummary {
  ttftMs: number;
  ttftP50Ms: number;
  tpotMs: number;
  tpotP50Ms: number;
  tpotP99Ms: number;
  /** TPOT samples and TTFT samples behind the figures. */
  tpotSamples: number;
  ttftSamples: number;
}

export function summarizeLatencies(l: TokenLatencies): LatencySummary {
  const ttft = Float64Array.from(l.ttftSec, (x) => x * 1e3).sort();
  const tpot = Float64Array.from(l.tpotSec, (x) => x * 1e3).sort();
  return {
    ttftMs: mean(ttft),
    ttftP50Ms: percentile(ttft, 50),
    tpotMs: mean(tpot),
    tpotP50Ms: percentile(tpot, 50),
    tpotP99Ms: percentile(tpot, 99),
    tpotSamples: tpot.length,
    ttftSamples: ttft.length,
  };
}
