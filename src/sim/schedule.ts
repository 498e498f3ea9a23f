/**
 * The operations a simulated run executes, in the order it executes them: what `moesim replay`
 * runs on a real device. Recorded by OffloadSim (options.schedule, through observers.ts) on a link that does not overlap
 * compute: then one operation runs at a time, and which runs next depends only on the order work
 * was submitted and its priority, never on how long anything takes (engine/resource.ts,
 * ExclusiveGroup). So the order recorded with any durations is the order of a real single-stream
 * executor, and a replay that follows it makes the cache policy's decisions on the device exactly.
 *
 * Operations (three int32 each: op, a, b):
 *   STEP      a = step index                  a forward pass starts
 *   LAYER     a = MoE layer                   the layer starts (its non-expert work, none in a replay)
 *   GATE      a = MoE layer                   its router has chosen: an expert is a hit if on the device now
 *   UPLOAD    a = key, b = 1 if a prefetch    an expert's weights go to its cache slot
 *   STAGE     a = key                         an expert the cache does not keep goes to a staging buffer
 *   COMPUTE   a = key, b = tokens             an expert runs (a staged one is dropped after it)
 *   EVICT     a = victim, b = key             the cache gave the victim's slot to key (decision time;
 *                                             the slot's old contents stay until key's UPLOAD starts)
 *   CANCEL    a = key                         a queued prefetch of key was cancelled before it started
 *   STEP_END                                  the pass is over
 *   CPU       a = key, b = tokens             a miss is computed on the CPU from host memory (Fiddler),
 *                                             recorded when its gate submits it: the CPU runs its
 *                                             jobs in that order beside the device, and the layer
 *                                             ends once the last of them is done
 *   STAGE_LOW a = key                         a miss's lower-bit copy goes to a staging buffer (HOBBIT);
 *                                             its COMPUTE runs that copy
 *   READ      a = key, b = 1 if a miss waits  an expert is read from the SSD into host DRAM (issue 16: a
 *                                             storage tier; b = 0: a prefetch's staging)
 */
export const OP_STEP = 0;
export const OP_LAYER = 1;
export const OP_UPLOAD = 2;
export const OP_STAGE = 3;
export const OP_COMPUTE = 4;
export const OP_EVICT = 5;
export const OP_CANCEL = 6;
export const OP_STEP_END = 7;
export const OP_GATE = 8;
export const OP_CPU = 9;
export const OP_STAGE_LOW = 10;
export const OP_READ = 11;

export const opNames = ['step', 'layer', 'upload', 'stage', 'compute', 'evict', 'cancel', 'step-end', 'gate', 'cpu', 'stage-low', 'read'] as const;

export class ScheduleLog {
  ops = new Int32Array(3 * 1024);
  /** Operations recorded (ops holds 3 ints per operation). */
  length = 0;
  /** Keys resident before the first step (static placement), uploaded before the run. */
  initial: Int32Array = new Int32Array(0);

  push(op: number, a = 0, b = 0): void {
    if (3 * this.length === this.ops.length) {
      const g = new Int32Array(this.ops.length * 2);
      g.set(this.ops);
      this.ops = g;
    }
    const i = 3 * this.length++;
    this.ops[i] = op;
    this.ops[i + 1] = a;
    this.ops[i + 2] = b;
  }

  op(i: number): number {
    return this.ops[3 * i];
  }

  a(i: number): number {
    return this.ops[3 * i + 1];
  }

  b(i: number): number {
    return this.ops[3 * i + 2];
  }

  /** How many operations are one of `ops`. */
  count(...ops: number[]): number {
    let n = 0;
    for (let i = 0; i < this.length; i++) if (ops.includes(this.ops[3 * i])) n++;
    return n;
  }

  /** Index one past the STEP_END of the first `steps` steps (all of them if fewer). */
  endOfSteps(steps: number): number {
    let seen = 0;
    for (let i = 0; i < this.length; i++) if (this.op(i) === OP_STEP_END && ++seen === steps) return i + 1;
    return this.length;
  }

  /** Same operations in the same order. */
  equals(other: ScheduleLog): boolean {
    if (this.length !== other.length || this.initial.length !== other.initial.length) return false;
    for (let i = 0; i < 3 * this.length; i++) if (this.ops[i] !== other.ops[i]) return false;
    for (let i = 0; i < this.initial.length; i++) if (this.initial[i] !== other.initial[i]) return false;
    return true;
  }

  /** The first operation where two logs differ, in words (for error messages). */
  firstDifference(other: ScheduleLog): string {
    const n = Math.min(this.length, other.length);
    for (let i = 0; i < n; i++) {
      if (this.op(i) !== other.op(i) || this.a(i) !== other.a(i) || this.b(i) !== other.b(i)) {
        return `operation ${i}: ${this.describe(i)} vs ${other.describe(i)}`;
      }
    }
    return this.length === other.length ? 'initial residents' : `lengths ${this.length} vs ${other.length}`;
  }

  describe(i: number): string {
    return `${opNames[this.op(i)]}(${this.a(i)}, ${this.b(i)})`;
  }
}
