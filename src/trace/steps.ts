/**
 * What the GPU processes, step by step. A step is one forward pass over a set of tokens: a prefill
 * (a prompt's tokens together) or a decode step (one token per running sequence). The simulator
 * consumes steps from a StepSource; batching and scheduling strategies are StepSources.
 */
import { kvReadTokens } from '../timing/roofline.js';
import type { Trace } from './types.js';

export interface Step {
  /** Step number from 0. */
  index: number;
  /** Tokens processed this step. */
  count: number;
  /** Trace token indices (token-major rows of trace.experts), count of them valid. */
  tokens: Int32Array;
  /** Sum over this step's tokens of the context each attends to (itself included). */
  contextTokens: number;
  /**
   * KV-cache tokens the attention kernel reads per layer this step: per sequence, kvReadTokens of its
   * tokens here and the context before them (a fused kernel reads the cache once per query tile, not
   * once per token). A decode step (one token per sequence) has kvTokens === contextTokens.
   */
  kvTokens: number;
  /**
   * Streams that emit an output token when this step ends: indices into trace.sequences, or request
   * ids when the source declares `streams` (a serving workload).
   */
  emitSeq: Int32Array;
  emitCount: number;
  /** Streams whose first step this is (batch workloads: their TTFT clock starts when this step starts). */
  startSeq: Int32Array;
  startCount: number;
  prefill: boolean;
}

export interface StepSource {
  /**
   * The next step (the same object, refilled) when the GPU is free at `nowSec`, or null when nothing
   * is ready: the end, or (see resumeSec) a wait for the next arrival. Called when the previous step
   * has ended, so a source may treat `nowSec` as that step's end.
   */
  next(nowSec: number): Step | null;
  /** Largest token count a step can have. */
  readonly maxTokens: number;
  /**
   * Read after next() returned null: when to ask again (the GPU idles until then), or Infinity (or
   * absent) when the source is exhausted.
   */
  readonly resumeSec?: number;
  /**
   * Streams that emit output tokens (the indices emitSeq and startSeq use): requests of a serving
   * workload. Absent: the trace's sequences.
   */
  readonly streams?: number;
}

export interface StaticBatching {
  batchSize: number;
  /** The first promptTokens recorded tokens of each sequence form its prompt, processed together (prefill). */
  promptTokens: number;
}

/**
 * Static batching: sequences in order of first appearance, in groups of batchSize. A group runs its
 * prefill (all prompts together), then decode steps in lockstep; a finished sequence leaves the
 * batch; the next group starts when the whole group has finished.
 */
export function staticBatches(trace: Trace, opts: StaticBatching): StepSource {
  const seqs = trace.sequences;
  // A group holds at most every sequence, a prompt at most a whole sequence: the sizes allocated
  // (a batchSize of 1e12 means "all sequences in one group", not 1e12 slots).
  const B = Math.max(1, Math.min(opts.batchSize, seqs.length));
  const P = opts.promptTokens;
  let longest = 0;
  for (const s of seqs) longest = Math.max(longest, s.length);
  const maxTokens = B * Math.max(Math.min(P, longest), 1);
  const step: Step = {
    index: -1,
    count: 0,
    tokens: new Int32Array(maxTokens),
    contextTokens: 0,
    kvTokens: 0,
    emitSeq: new Int32Array(B),
    emitCount: 0,
    startSeq: new Int32Array(B),
    startCount: 0,
    prefill: false,
  };
  let group = 0; // first sequence of the current group
  let pos = -1; // -1: group not started; else next decode position
  return {
    maxTokens,
    next(): Step | null {
      for (;;) {
        if (group >= seqs.length) return null;
        const end = Math.min(group + B, seqs.length);
        step.count = 0;
        step.contextTokens = 0;
        step.kvTokens = 0;
        step.emitCount = 0;
        step.startCount = 0;
        step.prefill = false;
        if (pos < 0) {
          for (let s = group; s < end; s++) step.startSeq[step.startCount++] = s;
          pos = 0;
          if (P > 0) {
            step.prefill = true;
            for (let s = group; s < end; s++) {
              const n = Math.min(P, seqs[s].length);
              for (let p = 0; p < n; p++) {
                step.tokens[step.count++] = seqs[s].start + p;
                step.contextTokens += p + 1;
              }
              step.kvTokens += kvReadTokens(0, n);
              if (n > 0) step.emitSeq[step.emitCount++] = s;
            }
            pos = P;
            if (step.count > 0) {
              step.index++;
              return step;
            }
            step.startCount = 0;
          }
        }
        for (let s = group; s < end; s++) {
          if (pos < seqs[s].length) {
            step.tokens[step.count++] = seqs[s].start + pos;
            step.contextTokens += pos + 1;
            step.kvTokens += pos + 1;
            step.emitSeq[step.emitCount++] = s;
          }
        }
        pos++;
        if (step.count > 0) {
          step.index++;
          return step;
        }
        group = end;
        pos = -1;
      }
    },
  };
}
