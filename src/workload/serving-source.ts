/**
 * Continuous batching of a serving workload, as a StepSource the simulator asks for the next step
 * whenever the GPU is free:
 *
 * 1. requests that have arrived by now join the waiting queue (arrival order); closed-loop users
 *    send their next request thinkSec after their last one finished;
 * 2. waiting requests are admitted while fewer than maxBatchSize run (they hold KV cache until done);
 * 3. if an admitted request still has prompt tokens to prefill, the step is a prefill pass: prompts in
 *    admission order, up to prefillTokens tokens (a long prompt is chunked over several passes; its
 *    first output comes with its last chunk);
 * 4. otherwise the step is a decode micro-batch: the token scheduler picks up to microBatchSize
 *    (at most maxBatchTokens) of the running requests' next tokens;
 * 5. with nothing running, the GPU idles until the next arrival (resumeSec).
 *
 * Prefill passes go first (as vLLM's default scheduler before chunked prefill did); a request is
 * passed over only by decode micro-batches, and the scheduler bounds that (see scheduling/). When a
 * step completes, the scheduler is told which requests' tokens ran (schedulers that predict routing
 * learn from them).
 */
import type { TokenScheduler, ReadyTokens } from '../scheduling/types.js';
import { kvReadTokens, tileKvShare } from '../timing/roofline.js';
import type { Step, StepSource } from '../trace/steps.js';
import type { Trace } from '../trace/types.js';
import type { RequestTable } from './requests.js';
import { UnionStats } from './union-stats.js';

export interface ServingLimits {
  maxBatchSize: number;
  /** Decode tokens per micro-batch (already capped by the token budget). */
  microBatchSize: number;
  /** Prompt tokens per prefill pass. */
  prefillTokens: number;
}

export class ServingSource implements StepSource {
  readonly streams: number;
  readonly maxTokens: number;
  resumeSec = Infinity;
  /** Arrival time of each request (closed loop: filled as users send them). */
  readonly arrivalSec: Float64Array;
  /** Per request: most decode micro-batches in a row it was passed over. */
  readonly maxWaited: Int32Array;
  readonly stats: UnionStats;
  /** Context each of the current step's tokens attends to (itself included); contextTokens is their sum. */
  readonly tokenContext: Float64Array;
  /** KV-cache tokens each of the current step's tokens reads, its share of its query tile's (tileKvShare); kvTokens is their sum. */
  readonly tokenKv: Float64Array;
  /** 1 for each of the current step's tokens whose request emits an output with it (a decode token, a prompt's last token); emitCount is their sum. */
  readonly tokenEmits: Uint8Array;
  /** Decode micro-batches whose choice the scheduler made among more ready tokens than places. */
  contestedMicroBatches = 0;
  private readonly prefilled: Int32Array;
  private readonly outputs: Int32Array;
  private readonly decoded: Int32Array;
  private readonly waited: Int32Array;
  private readonly admitted: Uint8Array;
  private readonly started: Uint8Array;
  private arrivalsKnown: number;
  private nextArrival = 0;
  private readonly waiting: Int32Array;
  private waitHead = 0;
  private waitTail = 0;
  /** Running requests in admission order. */
  private readonly running: Int32Array;
  private runningCount = 0;
  /** The last step's requests and their token counts (prefill) or 1 (decode). */
  private readonly lastReq: Int32Array;
  private readonly lastTok: Int32Array;
  private lastCount = 0;
  private lastPrefill = false;
  private readonly step: Step;
  private readonly ready: ReadyTokens;
  private readonly pick: Int32Array;
  private readonly closedUsers: number;
  private readonly thinkSec: number;

  constructor(
    private readonly trace: Trace,
    private readonly table: RequestTable,
    private readonly limits: ServingLimits,
    private readonly scheduler: TokenScheduler,
    numExperts: number,
  ) {
    const N = table.count;
    const B = limits.maxBatchSize;
    this.streams = N;
    this.maxTokens = Math.max(limits.prefillTokens, limits.microBatchSize);
    this.arrivalSec = Float64Array.from(table.arrivalSec);
    this.maxWaited = new Int32Array(N);
    this.prefilled = new Int32Array(N);
    this.outputs = new Int32Array(N);
    this.decoded = new Int32Array(N);
    this.waited = new Int32Array(N);
    this.admitted = new Uint8Array(N);
    this.started = new Uint8Array(N);
    this.waiting = new Int32Array(N);
    this.running = new Int32Array(B);
    this.lastReq = new Int32Array(Math.max(B, this.maxTokens));
    this.lastTok = new Int32Array(this.lastReq.length);
    this.stats = new UnionStats(trace, numExperts);
    this.tokenContext = new Float64Array(this.maxTokens);
    this.tokenKv = new Float64Array(this.maxTokens);
    this.tokenEmits = new Uint8Array(this.maxTokens);
    this.step = {
      index: -1,
      count: 0,
      tokens: new Int32Array(this.maxTokens),
      contextTokens: 0,
      kvTokens: 0,
      emitSeq: new Int32Array(this.lastReq.length),
      emitCount: 0,
      startSeq: new Int32Array(this.lastReq.length),
      startCount: 0,
      prefill: false,
    };
    this.ready = { count: 0, request: new Int32Array(B), token: new Int32Array(B), waited: new Int32Array(B) };
    this.pick = new Int32Array(B);
    if (table.closed) {
      this.closedUsers = Math.min(table.closed.users, N);
      this.thinkSec = table.closed.thinkSec;
      for (let r = 0; r < this.closedUsers; r++) this.arrivalSec[r] = 0;
      this.arrivalsKnown = this.closedUsers;
    } else {
      this.closedUsers = 0;
      this.thinkSec = 0;
      this.arrivalsKnown = N;
    }
  }

  /** Output tokens each request has emitted so far. */
  outputsOf(r: number): number {
    return this.outputs[r];
  }

  next(nowSec: number): Step | null {
    this.finishLastStep(nowSec);
    while (this.nextArrival < this.arrivalsKnown && this.arrivalSec[this.nextArrival] <= nowSec) {
      this.waiting[this.waitTail++] = this.nextArrival++;
    }
    while (this.runningCount < this.limits.maxBatchSize && this.waitHead < this.waitTail) {
      const r = this.waiting[this.waitHead++];
      this.admitted[r] = 1;
      this.waited[r] = 0;
      this.running[this.runningCount++] = r;
    }
    const step = this.step;
    step.count = 0;
    step.contextTokens = 0;
    step.kvTokens = 0;
    step.emitCount = 0;
    step.startCount = 0;
    this.lastCount = 0;
    if (this.runningCount === 0) {
      this.resumeSec = this.nextArrival < this.arrivalsKnown ? this.arrivalSec[this.nextArrival] : Infinity;
      return null;
    }
    if (!this.buildPrefill()) this.buildDecode();
    step.index++;
    this.stats.record(step);
    return step;
  }

  private finishLastStep(nowSec: number): void {
    const t = this.table;
    const scheduler = this.scheduler;
    for (let i = 0; i < this.lastCount; i++) {
      const r = this.lastReq[i];
      if (this.lastPrefill) {
        scheduler.completed?.(r, this.prefilled[r], this.lastTok[i]);
        this.prefilled[r] += this.lastTok[i];
        if (this.prefilled[r] === t.promptTokens[r]) this.outputs[r]++;
      } else {
        scheduler.completed?.(r, t.promptTokens[r] + this.decoded[r], 1);
        this.decoded[r]++;
        this.outputs[r]++;
      }
      if (this.outputs[r] === t.outputTokens[r]) this.finish(r, nowSec);
    }
    this.lastCount = 0;
  }

  private finish(r: number, nowSec: number): void {
    let j = 0;
    for (let i = 0; i < this.runningCount; i++) if (this.running[i] !== r) this.running[j++] = this.running[i];
    this.runningCount = j;
    if (this.closedUsers > 0 && this.arrivalsKnown < this.table.count) {
      this.arrivalSec[this.arrivalsKnown++] = nowSec + this.thinkSec;
    }
  }

  private markStart(r: number): void {
    if (this.started[r] === 0) {
      this.started[r] = 1;
      this.step.startSeq[this.step.startCount++] = r;
    }
  }

  /** A prefill pass if some running request has prompt left; false otherwise. */
  private buildPrefill(): boolean {
    const t = this.table;
    const step = this.step;
    let budget = this.limits.prefillTokens;
    for (let i = 0; i < this.runningCount && budget > 0; i++) {
      const r = this.running[i];
      const left = t.promptTokens[r] - this.prefilled[r];
      if (left <= 0) continue;
      const n = left < budget ? left : budget;
      const from = this.prefilled[r];
      const first = t.firstToken[r] + from;
      for (let p = 0; p < n; p++) {
        this.tokenContext[step.count] = from + p + 1;
        this.tokenKv[step.count] = tileKvShare(from, n, p);
        this.tokenEmits[step.count] = n === left && p === n - 1 ? 1 : 0;
        step.tokens[step.count++] = first + p;
        step.contextTokens += from + p + 1;
      }
      step.kvTokens += kvReadTokens(from, n);
      budget -= n;
      this.markStart(r);
      if (n === left) step.emitSeq[step.emitCount++] = r;
      this.lastReq[this.lastCount] = r;
      this.lastTok[this.lastCount++] = n;
    }
    if (this.lastCount === 0) return false;
    step.prefill = true;
    this.lastPrefill = true;
    return true;
  }

  /** A decode micro-batch chosen by the scheduler among the running requests' next tokens. */
  private buildDecode(): void {
    const t = this.table;
    const ready = this.ready;
    const waited = this.waited;
    const running = this.running;
    // Ready tokens in FIFO priority order: longest passed over first, then admission order
    // (running is in admission order; insertion sort is stable).
    let n = 0;
    for (let i = 0; i < this.runningCount; i++) {
      const r = running[i];
      let j = n++;
      while (j > 0 && waited[ready.request[j - 1]] < waited[r]) {
        ready.request[j] = ready.request[j - 1];
        j--;
      }
      ready.request[j] = r;
    }
    ready.count = n;
    for (let i = 0; i < n; i++) {
      const r = ready.request[i];
      ready.token[i] = t.firstToken[r] + t.promptTokens[r] + this.decoded[r];
      ready.waited[i] = waited[r];
    }
    const capacity = this.limits.microBatchSize;
    if (n > capacity) this.contestedMicroBatches++;
    const k = this.scheduler.select(ready, capacity, this.pick);
    if (k <= 0 || k > Math.min(n, capacity)) throw new Error(`scheduler ${this.scheduler.kind} picked ${k} of ${n} ready tokens (capacity ${capacity})`);
    for (let i = 0; i < n; i++) waited[ready.request[i]]++;
    const step = this.step;
    for (let i = 0; i < k; i++) {
      const idx = this.pick[i];
      const r = ready.request[idx];
      waited[r] = 0;
      const pos = t.promptTokens[r] + this.decoded[r];
      this.tokenContext[step.count] = pos + 1;
      this.tokenKv[step.count] = pos + 1;
      this.tokenEmits[step.count] = 1;
      step.tokens[step.count++] = ready.token[idx];
      step.contextTokens += pos + 1;
      step.kvTokens += pos + 1;
      step.emitSeq[step.emitCount++] = r;
      this.markStart(r);
      this.lastReq[this.lastCount] = r;
      this.lastTok[this.lastCount++] = 1;
    }
    for (let i = 0; i < n; i++) {
      const r = ready.request[i];
      if (waited[r] > this.maxWaited[r]) this.maxWaited[r] = waited[r];
    }
    step.prefill = false;
    this.lastPrefill = false;
  }
}
