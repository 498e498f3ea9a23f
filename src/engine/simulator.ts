import { EventQueue } from './event-queue.js';

/** Something that receives events: a resource, or the domain model driving the simulation. */
export interface EventTarget {
  onEvent(kind: number, a: number, b: number): void;
}

/**
 * The discrete-event core: a clock and an event heap ordered by (time, priority, sequence).
 * Knows nothing about experts. Times are in seconds (float64).
 */
export class Simulator {
  now = 0;
  /** Events handled so far. */
  eventsHandled = 0;
  private readonly queue = new EventQueue();
  private readonly targets: EventTarget[] = [];

  /** Registers an event target; returns its id for schedule(). */
  register(target: EventTarget): number {
    this.targets.push(target);
    return this.targets.length - 1;
  }

  /** Schedules an event at absolute time `time` (>= now). Lower priority runs first at equal times. */
  at(time: number, target: number, kind: number, a = 0, b = 0, priority = 0): void {
    if (!(time >= this.now)) throw new Error(`event scheduled in the past: ${time} < ${this.now}`);
    const q = this.queue;
    q.nextTime = time;
    q.pushAtNextTime(priority, target, kind, a, b);
  }

  /** The time of the event atNextTime() schedules: a field, as EventQueue.nextTime (no boxed float64 argument). */
  nextTime = 0;

  /** at(nextTime, ...). */
  atNextTime(target: number, kind: number, a: number, b: number, priority: number): void {
    const time = this.nextTime;
    if (!(time >= this.now)) throw new Error(`event scheduled in the past: ${time} < ${this.now}`);
    const q = this.queue;
    q.nextTime = time;
    q.pushAtNextTime(priority, target, kind, a, b);
  }

  /** Schedules an event `delay` seconds from now. */
  after(delay: number, target: number, kind: number, a = 0, b = 0, priority = 0): void {
    this.at(this.now + delay, target, kind, a, b, priority);
  }

  get pending(): number {
    return this.queue.size;
  }

  /** Runs events until the heap is empty or the next event is later than `until`. */
  run(until = Infinity): void {
    const q = this.queue;
    const targets = this.targets;
    while (q.size > 0 && (until === Infinity || q.peekTime() <= until)) {
      q.pop();
      this.now = q.topTime;
      this.eventsHandled++;
      targets[q.topTarget].onEvent(q.topKind, q.topA, q.topB);
    }
    if (until !== Infinity && until > this.now) this.now = until;
  }
}
