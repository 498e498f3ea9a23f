/**
 * A serving workload on several GPUs: the single-GPU serving step source (workload/serving-source.ts:
 * arrivals, admission, prefill passes, decode micro-batches by the token scheduler) drives the
 * expert-parallel world step by step, and the per-request clocks land in the same counters the
 * single-GPU simulator fills, so metrics/serving.ts's summarizeServing reports TTFT, TPOT, their
 * percentiles and the throughput unchanged.
 *
 * A prefill pass is an EpStep like any other: each of its tokens goes through attention on its home
 * GPU (token i of the step on GPU i mod G), is dispatched to the GPUs holding its experts (the
 * all-to-all carries every prompt token's hidden state), computed there and combined back; the LM
 * head runs on the prompts' last tokens only, where a request's prompt completes (EpStep.emits).
 * Same clocks as OffloadSim: a request's clock starts when its first step starts; an output is
 * emitted when the step that produces it ends (every GPU done).
 */
import type { SimCounters } from '../metrics/counters.js';
import type { ServingSource } from '../workload/serving-source.js';
import type { EpStep, EpStepSource } from './ep-sim.js';

export class EpServingSteps implements EpStepSource {
  readonly maxTokens: number;
  resumeSec = Infinity;
  private emitting: Int32Array;
  private emitCount = 0;

  constructor(
    private readonly source: ServingSource,
    private readonly c: SimCounters,
  ) {
    this.maxTokens = source.maxTokens;
    this.emitting = new Int32Array(source.maxTokens);
  }

  next(nowSec: number): EpStep | null {
    const c = this.c;
    // The previous step has ended at nowSec: its outputs are emitted now.
    for (let i = 0; i < this.emitCount; i++) {
      const r = this.emitting[i];
      if (c.seqOutputs[r] === 0) c.seqFirstEmitSec[r] = nowSec;
      c.seqOutputs[r]++;
      c.seqLastEmitSec[r] = nowSec;
    }
    if (this.emitCount > 0) c.makespanSec = nowSec;
    this.emitCount = 0;
    const step = this.source.next(nowSec);
    if (step === null) {
      this.resumeSec = this.source.resumeSec;
      return null;
    }
    for (let i = 0; i < step.startCount; i++) c.seqStartSec[step.startSeq[i]] = nowSec;
    if (this.emitting.length < step.emitCount) this.emitting = new Int32Array(step.emitCount);
    for (let i = 0; i < step.emitCount; i++) this.emitting[i] = step.emitSeq[i];
    this.emitCount = step.emitCount;
    c.tokens += step.count;
    c.steps++;
    if (step.contextTokens > c.peakContextTokens) c.peakContextTokens = step.contextTokens;
    return { tokens: step.tokens.slice(0, step.count), context: this.source.tokenContext.slice(0, step.count), kv: this.source.tokenKv.slice(0, step.count), emits: this.source.tokenEmits.slice(0, step.count), prefill: step.prefill };
  }
}
