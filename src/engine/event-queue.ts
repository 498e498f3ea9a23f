/**
 * A binary min-heap of events ordered by (time, priority, insertion sequence): one comparator,
 * tested, so same-time events always come out in a defined order (lower priority number first,
 * then first scheduled first). An event is seven numbers, stored together in one Float64Array
 * (stride 8: time, priority, sequence, target, kind, a, b): no allocation per event, and one entry
 * per cache line. Priorities, targets, kinds and a, b are 32-bit integers, exact in a float64.
 */
const S = 8;
const T = 0;
const P = 1;
const Q = 2;
const TG = 3;
const K = 4;
const A = 5;
const B = 6;

/** The one comparator: whether the event at offset `o` of `d` comes out before (time, priority, seq). Sequences are unique. */
function precedes(d: Float64Array, o: number, time: number, priority: number, seq: number): boolean {
  const t = d[o + T];
  if (t !== time) return t < time;
  const p = d[o + P];
  if (p !== priority) return p < priority;
  return d[o + Q] < seq;
}

export class EventQueue {
  private d: Float64Array;
  private cap: number;
  private n = 0;
  private nextSeq = 0;

  /** Fields of the event last returned by pop(). */
  topTime = 0;
  topTarget = 0;
  topKind = 0;
  topA = 0;
  topB = 0;

  constructor(initialCapacity = 64) {
    this.cap = initialCapacity;
    this.d = new Float64Array(initialCapacity * S);
  }

  get size(): number {
    return this.n;
  }

  push(time: number, priority: number, target: number, kind: number, a: number, b: number): void {
    this.nextTime = time;
    this.pushAtNextTime(priority, target, kind, a, b);
  }

  /**
   * The time of the event pushAtNextTime() adds. A field, not an argument: a float64 argument of a
   * call the compiler does not inline is boxed (a heap allocation per event).
   */
  nextTime = 0;

  /** push() at time `nextTime`. */
  pushAtNextTime(priority: number, target: number, kind: number, a: number, b: number): void {
    const time = this.nextTime;
    if (this.n === this.cap) this.grow();
    // Stored as ToInt32, as in the Int32Arrays this queue once kept them in.
    priority |= 0;
    const d = this.d;
    let i = this.n++;
    const s = this.nextSeq++;
    // Sift up.
    while (i > 0) {
      const p = (i - 1) >> 1;
      const o = p * S;
      if (precedes(d, o, time, priority, s)) break;
      const w = i * S;
      moveRow(d, w, o);
      i = p;
    }
    const w = i * S;
    d[w + T] = time;
    d[w + P] = priority;
    d[w + Q] = s;
    d[w + TG] = target | 0;
    d[w + K] = kind | 0;
    d[w + A] = a | 0;
    d[w + B] = b | 0;
  }

  /** Removes the earliest event into top*; false when empty. */
  pop(): boolean {
    if (this.n === 0) return false;
    const d = this.d;
    this.topTime = d[T];
    this.topTarget = d[TG] | 0;
    this.topKind = d[K] | 0;
    this.topA = d[A] | 0;
    this.topB = d[B] | 0;
    const last = --this.n;
    if (last > 0) {
      const lo = last * S;
      const t = d[lo + T], pr = d[lo + P], s = d[lo + Q];
      const tg = d[lo + TG], k = d[lo + K], a = d[lo + A], b = d[lo + B];
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= last) break;
        const r = l + 1;
        const ol = l * S;
        const c = r < last && precedes(d, r * S, d[ol + T], d[ol + P], d[ol + Q]) ? r : l;
        const o = c * S;
        if (!precedes(d, o, t, pr, s)) break;
        const w = i * S;
        moveRow(d, w, o);
        i = c;
      }
      const w = i * S;
      d[w + T] = t;
      d[w + P] = pr;
      d[w + Q] = s;
      d[w + TG] = tg;
      d[w + K] = k;
      d[w + A] = a;
      d[w + B] = b;
    }
    return true;
  }

  peekTime(): number {
    return this.n === 0 ? Infinity : this.d[T];
  }

  private grow(): void {
    const next = new Float64Array(this.cap * 2 * S);
    next.set(this.d);
    this.d = next;
    this.cap *= 2;
  }
}

/** Copies the event row at offset `o` over the row at offset `w` (a heap move). */
function moveRow(d: Float64Array, w: number, o: number): void {
  for (let f = 0; f < S; f++) d[w + f] = d[o + f];
}
