import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventQueue } from '../../src/engine/event-queue.js';

describe('EventQueue', () => {
  it('orders by time, then priority, then insertion sequence', () => {
    const q = new EventQueue(2);
    q.push(2, 0, 0, 1, 0, 0);
    q.push(1, 5, 0, 2, 0, 0);
    q.push(1, 0, 0, 3, 0, 0);
    q.push(1, 0, 0, 4, 0, 0);
    q.push(0.5, 9, 0, 5, 0, 0);
    const order: number[] = [];
    while (q.pop()) order.push(q.topKind);
    expect(order).toEqual([5, 3, 4, 2, 1]);
  });

  it('pops any sequence of pushes in sorted (time, priority, sequence) order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 2 })), { maxLength: 200 }), (events) => {
        const q = new EventQueue(1);
        events.forEach(([t, p], i) => q.push(t, p, 0, i, 0, 0));
        const expected = events
          .map(([t, p], i) => ({ t, p, i }))
          .sort((x, y) => x.t - y.t || x.p - y.p || x.i - y.i)
          .map((e) => e.i);
        const got: number[] = [];
        while (q.pop()) got.push(q.topKind);
        expect(got).toEqual(expected);
      }),
    );
  });
});
