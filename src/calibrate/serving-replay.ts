/**
 * Serving workloads in `moesim replay` and `moesim validate` (issue 12 item 7): requests arriving
 * over time, batched step by step by the workload's token scheduler (workload/plan.ts).
 *
 * Which tokens a step holds depends on simulated time (arrivals, step times) and, for a cache-aware
 * scheduler, on the cache: there is no order fixed in advance. The replay executes the steps the
 * simulator planned: the simulation that records the schedule (replay.ts) draws its steps from the
 * scheduler as `moesim run` does, on the costs it records with, and records each step it was given
 * (its tokens, which requests start and which emit a token) and when it started. Every pass then
 * executes those steps back to back. The simulator's idle gaps (nothing arrived yet) are not
 * executed: a step's time, simulated and measured, is from its start to its end, and TTFT/TPOT are
 * computed on both sides from those step times (TTFT from a request's first step, its queueing
 * before that left out), so they compare the same thing. Tokens per request are counted from the
 * executed steps and must be the simulation's.
 */
import type { LoadedScenario } from '../scenario/load.js';
import type { PreparedScenario } from '../sim/world.js';
import type { ExpertCache } from '../policies/expert-cache.js';
import type { Step, StepSource } from '../trace/steps.js';
import { servingSource } from '../workload/plan.js';
import { cachePolicyInfo } from '../policies/index.js';
import { InputError } from '../util/errors.js';

/** The steps a simulation took, copied, and when each started (simulated seconds). */
export interface RecordedSteps {
  steps: Step[];
  startSec: number[];
  /** Streams the steps' startSeq and emitSeq index: the requests. */
  streams: number;
  maxTokens: number;
}

function copyStep(s: Step): Step {
  return {
    index: s.index,
    count: s.count,
    tokens: s.tokens.slice(0, s.count),
    contextTokens: s.contextTokens,
    kvTokens: s.kvTokens,
    emitSeq: s.emitSeq.slice(0, s.emitCount),
    emitCount: s.emitCount,
    startSeq: s.startSeq.slice(0, s.startCount),
    startCount: s.startCount,
    prefill: s.prefill,
  };
}

/** `inner`, with every step it hands out recorded into `out`. */
export function recordingSource(inner: StepSource, out: RecordedSteps): StepSource {
  return {
    next(now) {
      const s = inner.next(now);
      if (s !== null) {
        out.steps.push(copyStep(s));
        out.startSec.push(now);
      }
      return s;
    },
    get maxTokens() {
      return inner.maxTokens;
    },
    get resumeSec() {
      return inner.resumeSec;
    },
    ...(inner.streams !== undefined ? { streams: inner.streams } : {}),
  };
}

/** The recorded steps again, back to back, whatever the time. */
export function recordedSource(r: RecordedSteps): StepSource {
  let i = 0;
  return {
    next: () => (i < r.steps.length ? r.steps[i++] : null),
    maxTokens: r.maxTokens,
    streams: r.streams,
  };
}

/**
 * The step source of a simulation that records a replay's schedule: the serving scheduler (the
 * workload's only one) over this world's cache, recorded into `out`; undefined for a batch workload.
 */
export function servingScheduleSource(prep: PreparedScenario, cache: ExpertCache, out: RecordedSteps | undefined): StepSource | undefined {
  const serving = prep.serving;
  if (!serving || !out) return undefined;
  const source = servingSource(serving, prep.trace, prep.model.numExperts, 0, cache.resident, prep.rng.fork('workload'));
  out.streams = source.streams;
  out.maxTokens = source.maxTokens;
  return recordingSource(source, out);
}

export function emptyRecordedSteps(): RecordedSteps {
  return { steps: [], startSec: [], streams: 0, maxTokens: 0 };
}

/**
 * What replay and validate execute of a serving workload, refused by name otherwise: one scheduler
 * without a predictor (a run per scheduler, and schedulers' predictors, are not replayed), no
 * truncation of the trace (the requests are planned on all of it), and the policies a serving run
 * takes (no offline cache policy, no prefetching: as `moesim run`).
 */
export function checkServingReplayable(loaded: LoadedScenario, indices: number[], maxTokens: number | undefined): void {
  const w = loaded.scenario.workload;
  if (w.kind !== 'serving') return;
  if (w.schedulers.length !== 1) {
    throw new InputError(`${loaded.file}: workload.schedulers: replay and validate run one scheduler of a serving workload, the scenario has ${w.schedulers.length}; keep one`);
  }
  const s = w.schedulers[0];
  if ('predictor' in s && s.predictor) {
    throw new InputError(`${loaded.file}: workload.schedulers[0].predictor: replay and validate do not run a scheduler's predictor yet; pick a scheduler without one`);
  }
  if (w.prefill.streaming) throw new InputError(`${loaded.file}: workload.prefill.streaming: replay and validate do not stream prefills yet; set it false`);
  if (maxTokens !== undefined) throw new InputError(`--max-tokens: a serving workload's requests are planned on the whole trace; shorten the trace or the workload instead`);
  for (const i of indices) {
    const p = loaded.scenario.policies[i];
    if (cachePolicyInfo(p.kind).offline) throw new InputError(`${loaded.file}: policies[${i}]: ${p.kind} needs the whole access order before the run, which a serving workload does not have; pick other policies with --policy`);
    if ('prefetch' in p && p.prefetch) throw new InputError(`${loaded.file}: policies[${i}].prefetch: prefetching is not run with serving workloads; pick other policies with --policy`);
  }
}
