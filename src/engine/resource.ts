import type { EventTarget, Simulator } from './simulator.js';

/**
 * Told when a job of a resource starts and ends. Tags are the caller's own numbers. The job's times
 * are read from the resource (startedSec, startedEndSec in onJobStart; doneStartSec in onJobDone),
 * not passed: a float64 argument of a call the compiler does not inline is a heap allocation, and
 * these calls run several times per simulated expert access.
 */
export interface JobListener {
  onJobStart?(resource: SerialResource, job: number, tag: number, tag2: number): void;
  onJobDone(resource: SerialResource, job: number, tag: number, tag2: number, payload: number): void;
}

const FREE = 0;
const QUEUED = 1;
const RUNNING = 2;
const CANCELLED = 3;
const DONE_EVENT = 1;
// A job slot's fields in SerialResource.jobs (stride J).
const J = 8;
const J_DURATION = 0;
const J_PRIO = 1;
const J_SEQ = 2;
const J_TAG = 3;
const J_TAG2 = 4;
const J_PAYLOAD = 5;

/**
 * A serial server (a CUDA stream, a copy engine, a CPU): one job at a time; waiting jobs leave by
 * (priority, submission order), lower priority number first. A queued job can be cancelled; a
 * running one always completes. Job slots are recycled: no allocation per job.
 */
export class SerialResource implements EventTarget {
  /** Seconds spent running jobs. */
  busySec = 0;
  jobsDone = 0;
  /** Sum of the payloads of completed jobs, in completion order (a link's bytes moved). */
  payloadDone = 0;
  /** In onJobStart: the starting job's start and end times. */
  startedSec = 0;
  startedEndSec = 0;
  /** In onJobDone: the finished job's start time. */
  doneStartSec = 0;
  private readonly id: number;
  private running = -1;
  private runningStart = 0;
  // Job slots.
  private state = new Uint8Array(16);
  /** Per slot, stride J: duration, priority, submission sequence, tag, tag2, payload (int32 fields stored as ToInt32). */
  private jobs = new Float64Array(16 * J);
  private free = new Int32Array(16);
  private freeCount = 0;
  private slots = 0;
  private nextSeq = 0;
  // Waiting heap of slot ids.
  private heap = new Int32Array(16);
  private heapSize = 0;
  private queuedCount = 0;
  /** Resources this one never runs at the same time as (see ExclusiveGroup). */
  group: ExclusiveGroup | null = null;
  /**
   * Where a job's time depends on when it starts (an SSD behind a token bucket, timing/storage.ts
   * SsdBucket): called as a job starts with its start time, submitted duration and payload; returns
   * the duration it runs. Null (the default): jobs run their submitted duration.
   */
  atStart: ((startSec: number, durationSec: number, payload: number) => number) | null = null;

  constructor(
    private readonly sim: Simulator,
    readonly name: string,
    private readonly listener: JobListener,
  ) {
    this.id = sim.register(this);
  }

  get idle(): boolean {
    return this.running < 0;
  }

  /** Jobs waiting (not running, not cancelled). */
  get queued(): number {
    return this.queuedCount;
  }

  /**
   * A place in the submission order, taken now for a job submitted later (`submit(..., seq)`): a
   * stream orders work by when the host issued it, even when the job must also wait for something
   * else (its weights) before it can be handed over.
   */
  reserveSeq(): number {
    return this.group ? this.group.nextSeq++ : this.nextSeq++;
  }

  /** Submits a job; it starts now if the resource is idle. Returns the job handle. `seq`: a reserveSeq() place (default: now). */
  submit(durationSec: number, priority: number, tag: number, tag2 = 0, payload = 0, seq = -1): number {
    this.nextDurationSec = durationSec;
    return this.submitNext(priority, tag, tag2, payload, seq);
  }

  /**
   * The duration of the job submitNext() submits: a field, not an argument, for the hot callers (a
   * float64 argument of a call the compiler does not inline is a heap allocation).
   */
  nextDurationSec = 0;

  /** submit(nextDurationSec, ...). */
  submitNext(priority: number, tag: number, tag2: number, payload: number, seq: number): number {
    const j = this.alloc();
    const o = j * J;
    const d = this.jobs;
    d[o + J_PAYLOAD] = payload;
    d[o + J_DURATION] = this.nextDurationSec;
    d[o + J_PRIO] = priority | 0;
    d[o + J_SEQ] = seq >= 0 ? seq : this.group ? this.group.nextSeq++ : this.nextSeq++;
    d[o + J_TAG] = tag | 0;
    d[o + J_TAG2] = tag2 | 0;
    if (this.running < 0 && (this.group === null || !this.group.busy)) {
      this.start(j);
    } else {
      this.state[j] = QUEUED;
      this.queuedCount++;
      this.heapPush(j);
    }
    return j;
  }

  /** Cancels a queued job. Returns false if it already started (it will complete). */
  cancel(job: number): boolean {
    if (this.state[job] !== QUEUED) return false;
    this.state[job] = CANCELLED;
    this.queuedCount--;
    return true;
  }

  /** Whether `job` is still waiting. */
  isQueued(job: number): boolean {
    return this.state[job] === QUEUED;
  }

  /**
   * Seconds until a job submitted now at `priority` would start: what is left of the running job
   * plus the queued jobs that would leave before it (priority <= `priority`). O(queued).
   */
  backlogSec(priority: number): number {
    let sec = this.running < 0 ? 0 : Math.max(0, this.runningStart + this.jobs[this.running * J + J_DURATION] - this.sim.now);
    for (let i = 0; i < this.heapSize; i++) {
      const j = this.heap[i];
      if (this.state[j] === QUEUED && this.jobs[j * J + J_PRIO] <= priority) sec += this.jobs[j * J + J_DURATION];
    }
    return sec;
  }

  /** Raises a queued job's priority (e.g. a prefetch that became a demand). */
  reprioritize(job: number, priority: number): void {
    if (this.state[job] !== QUEUED || (priority | 0) >= this.jobs[job * J + J_PRIO]) return;
    // Lazy: cancel the old entry, enqueue a copy with the same tags at the new priority.
    this.state[job] = CANCELLED;
    this.queuedCount--;
    const j = this.alloc();
    const d = this.jobs;
    const o = j * J;
    const oj = job * J;
    d[o + J_DURATION] = d[oj + J_DURATION];
    d[o + J_PRIO] = priority | 0;
    d[o + J_SEQ] = d[oj + J_SEQ];
    d[o + J_TAG] = d[oj + J_TAG];
    d[o + J_TAG2] = d[oj + J_TAG2];
    d[o + J_PAYLOAD] = d[oj + J_PAYLOAD];
    this.state[j] = QUEUED;
    this.queuedCount++;
    this.heapPush(j);
    this.remap?.(job, j);
  }

  /** Set by owners that track job handles, to learn that reprioritize() moved a job. */
  remap?: (oldJob: number, newJob: number) => void;

  onEvent(kind: number, job: number): void {
    if (kind !== DONE_EVENT) return;
    const start = this.runningStart;
    const o = job * J;
    const tag = this.jobs[o + J_TAG] | 0;
    const tag2 = this.jobs[o + J_TAG2] | 0;
    const payload = this.jobs[o + J_PAYLOAD];
    this.busySec += this.sim.now - start;
    this.jobsDone++;
    this.payloadDone += payload;
    this.doneStartSec = start;
    this.running = -1;
    this.release(job);
    if (this.group) {
      // One stream, like a single-threaded executor: the listener reacts first (the group stays
      // busy, so what it submits queues), then the next job is picked by priority and submission
      // order among everything waiting.
      this.listener.onJobDone(this, job, tag, tag2, payload);
      this.group.busy = false;
      this.group.startNext();
    } else {
      // Start the next waiting job before telling the listener, so that a job the listener submits
      // now queues behind jobs that were already waiting.
      this.startNext();
      this.listener.onJobDone(this, job, tag, tag2, payload);
    }
  }

  /** Sequence number of the job that would start next (cancelled ones dropped), or Infinity. */
  peekNextSeq(): number {
    while (this.heapSize > 0) {
      const j = this.heap[0];
      if (this.state[j] !== CANCELLED) return this.jobs[j * J + J_SEQ];
      this.heapPop();
      this.release(j);
    }
    return Infinity;
  }

  /** Starts the next waiting job, if any. */
  startNext(): void {
    while (this.heapSize > 0) {
      const j = this.heapPop();
      if (this.state[j] === CANCELLED) {
        this.release(j);
        continue;
      }
      this.queuedCount--;
      this.start(j);
      return;
    }
  }

  private start(j: number): void {
    if (this.group) this.group.busy = true;
    this.state[j] = RUNNING;
    this.running = j;
    const now = this.sim.now;
    this.runningStart = now;
    const o = j * J;
    if (this.atStart !== null) this.jobs[o + J_DURATION] = this.atStart(now, this.jobs[o + J_DURATION], this.jobs[o + J_PAYLOAD]);
    const end = now + this.jobs[o + J_DURATION];
    this.startedSec = now;
    this.startedEndSec = end;
    this.listener.onJobStart?.(this, j, this.jobs[o + J_TAG] | 0, this.jobs[o + J_TAG2] | 0);
    const sim = this.sim;
    sim.nextTime = end;
    sim.atNextTime(this.id, DONE_EVENT, j, 0, 0);
  }

  private alloc(): number {
    if (this.freeCount > 0) return this.free[--this.freeCount];
    if (this.slots === this.state.length) this.growSlots();
    return this.slots++;
  }

  private release(j: number): void {
    this.state[j] = FREE;
    if (this.freeCount === this.free.length) {
      const g = new Int32Array(this.free.length * 2);
      g.set(this.free);
      this.free = g;
    }
    this.free[this.freeCount++] = j;
  }

  private growSlots(): void {
    const n = this.state.length * 2;
    const g = <T extends Uint8Array | Float64Array | Int32Array>(arr: T): T => {
      const next = new (arr.constructor as { new (len: number): T })(n);
      next.set(arr);
      return next;
    };
    this.state = g(this.state);
    const jobs = new Float64Array(n * J);
    jobs.set(this.jobs);
    this.jobs = jobs;
  }

  private before(i: number, j: number): boolean {
    const d = this.jobs;
    const pi = d[i * J + J_PRIO], pj = d[j * J + J_PRIO];
    return pi !== pj ? pi < pj : d[i * J + J_SEQ] < d[j * J + J_SEQ];
  }

  private heapPush(j: number): void {
    if (this.heapSize === this.heap.length) {
      const h = new Int32Array(this.heap.length * 2);
      h.set(this.heap);
      this.heap = h;
    }
    let i = this.heapSize++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(j, this.heap[p])) break;
      this.heap[i] = this.heap[p];
      i = p;
    }
    this.heap[i] = j;
  }

  private heapPop(): number {
    const top = this.heap[0];
    const last = this.heap[--this.heapSize];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.heapSize) break;
      const r = l + 1;
      const c = r < this.heapSize && this.before(this.heap[r], this.heap[l]) ? r : l;
      if (!this.before(this.heap[c], last)) break;
      this.heap[i] = this.heap[c];
      i = c;
    }
    if (this.heapSize > 0) this.heap[i] = last;
    return top;
  }
}

/**
 * Resources that never run at the same time: at most one job runs in the whole group; when it
 * ends, its listener reacts (what it submits queues), then the waiting job submitted first across
 * the group starts (within one resource, priority first as usual). This is a copy engine and a compute stream both driven by one host thread that
 * waits for each operation, as ONNX Runtime's synchronous runs are in `moesim replay`.
 */
export class ExclusiveGroup {
  busy = false;
  nextSeq = 0;
  readonly members: readonly SerialResource[];

  constructor(members: SerialResource[]) {
    for (const m of members) {
      if (m.group !== null) throw new Error(`${m.name} is already in an exclusive group`);
      if (!m.idle || m.queued > 0) throw new Error(`${m.name}: join an exclusive group before submitting jobs`);
      m.group = this;
    }
    this.members = members;
  }

  startNext(): void {
    let best: SerialResource | null = null;
    let bestSeq = Infinity;
    for (const m of this.members) {
      const s = m.peekNextSeq();
      if (s < bestSeq) {
        bestSeq = s;
        best = m;
      }
    }
    best?.startNext();
  }
}

/**
 * A link (PCIe to the GPU): a serial resource whose job duration is `transferSec(bytes)`, a
 * function the timing model supplies (the engine knows no formula). Counts the bytes of completed
 * transfers.
 */
export class BandwidthLink {
  readonly resource: SerialResource;

  constructor(
    sim: Simulator,
    name: string,
    readonly transferSec: (bytes: number) => number,
    listener: JobListener,
  ) {
    // The listener directly (no wrapper): the resource sums its jobs' payloads, the bytes.
    this.resource = new SerialResource(sim, name, listener);
  }

  /** Bytes of the completed transfers. */
  get bytesMoved(): number {
    return this.resource.payloadDone;
  }

  /** Queues a transfer; returns its job handle. */
  transfer(bytes: number, priority: number, tag: number, tag2 = 0): number {
    const r = this.resource;
    r.nextDurationSec = this.transferSec(bytes);
    return r.submitNext(priority, tag, tag2, bytes, -1);
  }

  cancel(job: number): boolean {
    return this.resource.cancel(job);
  }
}
