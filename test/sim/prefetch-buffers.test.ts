import { describe, expect, it } from 'vitest';
import { linkCosts } from '../../src/timing/roofline.js';
import type { StepCosts } from '../../src/timing/costs.js';
import { traceOf } from '../helpers/trace.js';
import { scripted, simulate } from '../helpers/sim.js';

/**
 * mixtral-offloading's speculative loads land in spare device buffers (PrefetchPolicy.buffers:
 * ExpertCache's device_expert_buffers, b = 4 in the demo notebook; arXiv 2312.17238 §3.3): a wrong
 * guess evicts nothing, a right one replaces the layer's least recently used expert at its gate.
 * And the write-back of an evicted expert (ExpertCache._swap's device-to-host copy) is charged per
 * eviction only. Round numbers: attention 1 s, expert 2.5 s, LM head 0.5 s, 3-byte experts on a
 * 1 B/s copy engine (overlapping compute); a write-back 3 s when `writeBack`.
 */
const costs = (writeBack = 0): StepCosts => ({
  expertBytes: 3,
  ...linkCosts({ name: 't', h2dBytesPerSec: 1, d2hBytesPerSec: 1, latencySec: 0, source: 't' }),
  expertSec: () => 2.5,
  preExpertSec: () => 1,
  tailSec: () => 0.5,
  evictWriteBackSec: writeBack,
});
const spans = (c: ReturnType<typeof simulate>, resource: string, kind?: string) =>
  c.timeline.filter((s) => s.resource === resource && (kind === undefined || s.kind === kind)).map((s) => `${s.startMs / 1e3}-${s.endMs / 1e3}`);

describe('speculative loads into buffers outside the cache (mixtral-offloading)', () => {
  // Two tokens, two layers, one cached expert per layer: expert 0 at layer 0, expert 1 at layer 1,
  // both tokens. The guess for layer 1 (after gate 0) is always expert 2: wrong.
  const trace = traceOf([[[[0], [1]], [[0], [1]]]], 4);
  const wrong = scripted([
    [1, 0, 0, 0],
    [0, 0, 1, 0],
  ]);
  const run = (buffers: number | undefined) =>
    simulate(trace, { capacity: 1, prefetch: { kind: 'speculative', lookahead: 1, experts: 1, ...(buffers ? { buffers } : {}) }, predictorImpl: wrong, costs: costs() });

  it('a wrong guess in a buffer keeps the cached expert: the second token hits at layer 1', () => {
    const b = run(4);
    // Token 0: attention 0-1, expert 0 fetched 1-4 and computed 4-6.5; the guess (expert 2) copied
    // 4-7 behind the demand fetch; attention 6.5-7.5; expert 1 misses, fetched 7.5-10.5, computed
    // 10.5-13, the guess dropped. Token 1: expert 0 hits (14.5-17), the guess copied 14.5-17.5,
    // expert 1 still cached: a hit at 18 (18-20.5), LM head 20.5-21.
    expect(spans(b, 'link')).toEqual(['1-4', '4-7', '7.5-10.5', '14.5-17.5']);
    expect(spans(b, 'gpu', 'expert')).toEqual(['4-6.5', '10.5-13', '14.5-17', '18-20.5']);
    expect(b.makespanSec).toBe(21);
    expect(b.misses).toBe(2);
    expect(b.prefetch.issued).toBe(2);
    expect(b.prefetch.wasted).toBe(2);
  });

  it('into cache slots the same guess evicts expert 1: the second token misses it again', () => {
    const s = run(undefined);
    // Token 1's guess takes layer 1's only slot (evicting expert 1, 14.5-17.5): expert 1 misses at
    // 18, fetched 18-21 (the slot's guess has landed), computed 21-23.5.
    expect(spans(s, 'link')).toEqual(['1-4', '4-7', '7.5-10.5', '14.5-17.5', '18-21']);
    expect(s.makespanSec).toBe(24);
    expect(s.misses).toBe(3);
  });

  it('a right guess from a buffer replaces the least recently used expert and is computed without a fetch', () => {
    const right = scripted([
      [1, 0, 0, 0],
      [0, 1, 0, 0],
    ]);
    const c = simulate(traceOf([[[[0], [1]]]], 4), { capacity: 1, prefetch: { kind: 'speculative', lookahead: 1, experts: 1, buffers: 4 }, predictorImpl: right, costs: costs() });
    // Expert 0 fetched 1-4; the guess (expert 1) copied 4-7; attention 6.5-7.5; at gate 1 expert 1
    // is in its buffer: computed 7.5-10, no demand fetch.
    expect(spans(c, 'link')).toEqual(['1-4', '4-7']);
    expect(spans(c, 'gpu', 'expert')).toEqual(['4-6.5', '7.5-10']);
    expect(c.misses).toBe(1);
    expect(c.prefetch.hits).toBe(1);
    expect(c.makespanSec).toBe(10.5);
  });
});

describe('write-back of an evicted expert (mixtral-offloading _swap), charged per eviction', () => {
  it('a confirmed guess evicts at its gate: the victim\'s copy out is a link job of its own, the guess computes from its buffer meanwhile', () => {
    // Layer 1: expert 0 on token 0, expert 1 on token 1; the guess is always expert 1. Token 0: the
    // guess (4-7) is dropped, expert 0 fetched into the empty slot 7.5-10.5 (no victim). Token 1: the
    // guess is copied 14.5-17.5; at gate 1 (18) it replaces expert 0, whose 3 s copy back to the
    // host takes the link 18-21 while expert 1 computes 18-20.5; LM head 20.5-21.
    const c = simulate(traceOf([[[[0], [0]], [[0], [1]]]], 4), {
      capacity: 1,
      prefetch: { kind: 'speculative', lookahead: 1, experts: 1, buffers: 4 },
      predictorImpl: scripted([
        [1, 0, 0, 0],
        [0, 1, 0, 0],
      ]),
      costs: costs(3),
    });
    expect(spans(c, 'link')).toEqual(['1-4', '4-7', '7.5-10.5', '14.5-17.5', '18-21']);
    expect(spans(c, 'gpu', 'expert')).toEqual(['4-6.5', '10.5-13', '14.5-17', '18-20.5']);
    expect(c.makespanSec).toBe(21);
    expect(c.prefetch.hits).toBe(1);
    expect(c.bytesH2D).toBe(12); // the write-back moves device-to-host bytes, not counted here
    expect(spans(c, 'link', 'write-back')).toEqual(['18-21']);
  });

  // One layer, one slot: experts 0, 1, 0 on three tokens.
  const trace = traceOf([[[[0]], [[1]], [[0]]]], 2);
  it('a fetch into a free slot writes nothing back; one that evicts carries the victim\'s 3 s copy out', () => {
    const c = simulate(trace, { capacity: 1, costs: costs(3) });
    // Token 0: fetch into the empty slot 1-4 (no victim), expert 4-6.5, head 6.5-7. Token 1: the
    // fetch of expert 1 evicts expert 0: 3 s in + 3 s out, 8-14; expert 14-16.5; head 16.5-17.
    // Token 2: evicts expert 1: 18-24, expert 24-26.5, head 26.5-27.
    expect(spans(c, 'link')).toEqual(['1-4', '8-14', '18-24']);
    expect(c.makespanSec).toBe(27);
  });
  it('with no cache (every expert staged, on demand) nothing is ever written back', () => {
    const c = simulate(trace, { capacity: 0, costs: costs(3) });
    expect(spans(c, 'link')).toEqual(['1-4', '8-11', '15-18']);
    expect(c.makespanSec).toBe(21);
  });
});
