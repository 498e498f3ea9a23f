import { describe, expect, it } from 'vitest';
import { linkCosts } from '../../src/timing/roofline.js';
import type { HostCosts, StepCosts } from '../../src/timing/costs.js';
import { traceOf } from '../helpers/trace.js';
import { simulate } from '../helpers/sim.js';

/**
 * Why mixtral-offloading's "full" (speculative) gains little over "lru" in the simulation (issue
 * #12, s21): on the compute stream the guess's copy sits in front of the next layer's work, and
 * the host's issue time of that layer is all it can hide behind. Round numbers as in host-thread.test.ts: attention
 * 1 s, expert 2 s, LM head 0.5 s, 3-byte experts on a 1 B/s link; host: a layer's attention
 * `preSec`, an expert 1 s, the tail 0.5 s.
 */
const host = (preSec: number): HostCosts => ({ preExpertSec: () => preSec, expertSec: () => 1, tailSec: () => 0.5, syncPerExpert: true });
const costs = (preSec: number): StepCosts => ({
  expertBytes: 3,
  ...linkCosts({ name: 't', h2dBytesPerSec: 1, d2hBytesPerSec: 1, latencySec: 0, overlapsCompute: false, source: 't' }),
  expertSec: () => 2,
  preExpertSec: () => 1,
  tailSec: () => 0.5,
  host: host(preSec),
});
const busy = (c: ReturnType<typeof simulate>, resource: string, kind?: string) =>
  c.timeline.filter((s) => s.resource === resource && (kind === undefined || s.kind === kind)).map((s) => `${s.startMs / 1e3}-${s.endMs / 1e3}`);

describe('speculative loading on the compute stream with a host thread and a sync per expert (mixtral-offloading)', () => {
  // One token, two layers: expert 0 at layer 0, expert 1 at layer 1; an exact guess of layer 1.
  const trace = traceOf([[[[0], [1]]]], 2);
  const run = (preSec: number, guess: boolean) =>
    simulate(trace, { capacity: 1, ...(guess ? { prefetch: { kind: 'pregated' as const, accuracy: 1 } } : {}), costs: costs(preSec) });

  it('the guess is copied after the layer\'s expert kernels and before the next layer\'s: it hides only behind the host\'s issue time', () => {
    // Host issues attention 1 in 7-9 while expert 0 computes (7-9); the guess's copy follows on the
    // stream (9-12) and attention 1 waits for it (12-13): with 2 s of issue time nothing is gained.
    expect(busy(run(2, true), 'link', 'prefetch')).toEqual(['9-12']);
    expect(busy(run(2, true), 'gpu', 'attention')).toEqual(['2-3', '12-13']);
    expect(run(2, true).makespanSec).toBe(16.5);
    expect(run(2, false).makespanSec).toBe(16.5);
    // With 8 s of issue time (13-21) the copy (15-18) is hidden whole: the guess saves its 3 s.
    expect(busy(run(8, true), 'link', 'prefetch')).toEqual(['15-18']);
    expect(busy(run(8, true), 'cpu', 'host-launch')).toEqual(['0-8', '12-13', '13-21', '22-23', '23-23.5']);
    expect(run(8, true).makespanSec).toBe(25.5);
    expect(run(8, false).makespanSec).toBe(28.5);
  });
});
