/**
 * A binary min-heap of events ordered by (time, priority, insertion sequence): one comparator,
 * tested, so same-time events always come out in a defined order (lower priority number first,
 * then first scheduled first). Events are four numbers, stored in parallel typed arrays: no
 * allocation per event.
 */
export class EventQueue {
  private time: Float64Array;
  private prio: Int32Array;
  private seq: Float64Array;
  private target: Int32Array;
  private kind: Int32Array;
  private a: Int32Array;
  private b: Int32Array;
  private n = 0;
  private nextSeq = 0;

  /** Fields of the event last returned by pop(). */
  topTime = 0;
  topTarget = 0;
  topKind = 0;
  topA = 0;
  topB = 0;

  constructor(initialCapacity = 64) {
    this.time = new Float64Array(initialCapacity);
    this.prio = new Int32Array(initialCapacity);
    this.seq = new Float64Array(initialCapacity);
    this.target = new Int32Array(initialCapacity);
    this.kind = new Int32Array(initialCapacity);
    this.a = new Int32Array(initialCapacity);
    this.b = new Int32Array(initialCapacity);
  }

  get size(): number {
    return this.n;
  }

  push(time: number, priority: number, target: number, kind: number, a: number, b: number): void {
    if (this.n === this.time.length) this.grow();
    let i = this.n++;
    const s = this.nextSeq++;
    // Sift up.
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(time, priority, s, p)) break;
      this.copy(p, i);
      i = p;
    }
    this.set(i, time, priority, s, target, kind, a, b);
  }

  /** Removes the earliest event into top*; false when empty. */
  pop(): boolean {
    if (this.n === 0) return false;
    this.topTime = this.time[0];
    this.topTarget = this.target[0];
    this.topKind = this.kind[0];
    this.topA = this.a[0];
    this.topB = this.b[0];
    const last = --this.n;
    if (last > 0) {
      const t = this.time[last], pr = this.prio[last], s = this.seq[last];
      const tg = this.target[last], k = this.kind[last], a = this.a[last], b = this.b[last];
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= last) break;
        const r = l + 1;
        const c = r < last && this.lessIdx(r, l) ? r : l;
        if (!this.lessThanAt(c, t, pr, s)) break;
        this.copy(c, i);
        i = c;
      }
      this.set(i, t, pr, s, tg, k, a, b);
    }
    return true;
  }

  peekTime(): number {
    return this.n === 0 ? Infinity : this.time[0];
  }

  /** (time, prio, seq) < entry i */
  private less(time: number, prio: number, seq: number, i: number): boolean {
    const ti = this.time[i];
    if (time !== ti) return time < ti;
    const pi = this.prio[i];
    if (prio !== pi) return prio < pi;
    return seq < this.seq[i];
  }

  /** entry i < (time, prio, seq) */
  private lessThanAt(i: number, time: number, prio: number, seq: number): boolean {
    const ti = this.time[i];
    if (ti !== time) return ti < time;
    const pi = this.prio[i];
    if (pi !== prio) return pi < prio;
    return this.seq[i] < seq;
  }

  private lessIdx(i: number, j: number): boolean {
    return this.lessThanAt(i, this.time[j], this.prio[j], this.seq[j]);
  }

  private copy(from: number, to: number): void {
    this.time[to] = this.time[from];
    this.prio[to] = this.prio[from];
    this.seq[to] = this.seq[from];
    this.target[to] = this.target[from];
    this.kind[to] = this.kind[from];
    this.a[to] = this.a[from];
    this.b[to] = this.b[from];
  }

  private set(i: number, t: number, pr: number, s: number, tg: number, k: number, a: number, b: number): void {
    this.time[i] = t;
    this.prio[i] = pr;
    this.seq[i] = s;
    this.target[i] = tg;
    this.kind[i] = k;
    this.a[i] = a;
    this.b[i] = b;
  }

  private grow(): void {
    const cap = this.time.length * 2;
    const g = <T extends Float64Array | Int32Array>(arr: T): T => {
      const next = new (arr.constructor as { new (n: number): T })(cap);
      next.set(arr);
      return next;
    };
    this.time = g(this.time);
    this.prio = g(this.prio);
    this.seq = g(this.seq);
    this.target = g(this.target);
    this.kind = g(this.kind);
    this.a = g(this.a);
    this.b = g(this.b);
  }
}
