import { describe, expect, it } from 'vitest';
import { linkCosts } from '../../src/timing/roofline.js';
import type { HostCosts, StepCosts } from '../../src/timing/costs.js';
import { traceOf } from '../helpers/trace.js';
import { simulate } from '../helpers/sim.js';

/**
 * The host (launch) thread as its own resource (src/sim/offload-sim.ts, "Host thread"): exact
 * timelines on round numbers. Device: attention 1 s, expert 2 s, LM head 0.5 s, 3-byte experts on
 * a 1 B/s link. Host: issuing a layer's attention 2 s, an expert 1 s, the tail 0.5 s.
 */
const host = (syncPerExpert: boolean, preSec = 2): HostCosts => ({ preExpertSec: () => preSec, expertSec: () => 1, tailSec: () => 0.5, syncPerExpert });
const costs = (overlapsCompute: boolean, h?: HostCosts): StepCosts => ({
  expertBytes: 3,
  ...linkCosts({ name: 't', h2dBytesPerSec: 1, d2hBytesPerSec: 1, latencySec: 0, overlapsCompute, source: 't' }),
  expertSec: () => 2,
  preExpertSec: () => 1,
  tailSec: () => 0.5,
  ...(h ? { host: h } : {}),
});
const spans = (c: ReturnType<typeof simulate>) =>
  c.timeline.filter((s) => s.kind !== 'stall').map((s) => `${s.resource}:${s.kind}:${s.startMs / 1e3}-${s.endMs / 1e3}`);
const busy = (c: ReturnType<typeof simulate>, resource: string, kind?: string) =>
  c.timeline.filter((s) => s.resource === resource && (kind === undefined || s.kind === kind)).map((s) => `${s.startMs / 1e3}-${s.endMs / 1e3}`);

describe('the host thread issues the GPU\'s work ahead of it', () => {
  // One token, two layers: expert 0 at layer 0, expert 1 at layer 1; an exact pre-gate prefetches layer 1.
  const trace = traceOf([[[[0], [1]]]], 2);

  it('compute stream: each GPU job waits for its launch; the stream keeps the order the host issued in', () => {
    const c = simulate(trace, { capacity: 1, prefetch: { kind: 'pregated', accuracy: 1 }, costs: costs(false, host(false)) });
    // Host: attention 0 (0-2); after the gate (3) expert 0 (3-4), then layer 1's prefetch, then
    // attention 1 (4-6); after gate 1 (12) expert 1 (12-13), then the tail (13-13.5).
    expect(busy(c, 'cpu', 'host-launch')).toEqual(['0-2', '3-4', '4-6', '12-13', '13-13.5']);
    // Stream: the demand copy (3-6); expert 0's kernels were issued (4) before the prefetch copy,
    // so they run first (6-8); the prefetch (8-11) before attention 1, issued later (6); expert 1
    // is resident at its gate.
    expect(spans(c).filter((s) => !s.startsWith('cpu:'))).toEqual([
      'gpu:attention:2-3',
      'link:fetch:3-6',
      'gpu:expert:6-8',
      'link:prefetch:8-11',
      'gpu:attention:11-12',
      'gpu:expert:13-15',
      'gpu:lm-head:15-15.5',
    ]);
    expect(c.makespanSec).toBe(15.5);
  });

  it('copy engine: the prefetch runs while the host issues the next layer, and the host hides behind the GPU', () => {
    const c = simulate(trace, { capacity: 1, prefetch: { kind: 'pregated', accuracy: 1 }, costs: costs(true, host(false)) });
    expect(spans(c).filter((s) => !s.startsWith('cpu:'))).toEqual([
      'gpu:attention:2-3',
      'link:fetch:3-6',
      'link:prefetch:6-9',
      'gpu:expert:6-8',
      'gpu:attention:8-9',
      'gpu:expert:10-12',
      'gpu:lm-head:12-12.5',
    ]);
    expect(busy(c, 'cpu', 'host-launch')).toEqual(['0-2', '3-4', '4-6', '9-10', '10-10.5']);
    expect(c.makespanSec).toBe(12.5);
  });

  it('a sync per expert makes the host wait for the stream to drain before each expert', () => {
    // One layer, two experts: expert 0 resident, expert 1 missing.
    const two = traceOf([[[[0, 1]]]], 2);
    const withoutSync = simulate(two, { capacity: 2, costs: costs(true, host(false)) });
    const withSync = simulate(two, { capacity: 2, costs: costs(true, host(true)) });
    // Cold cache: both miss; copies 3-6 and 6-9. Without a sync the host issues both (3-4, 4-5),
    // the GPU computes each as its weights arrive (6-8, 9-11).
    expect(busy(withoutSync, 'gpu', 'expert')).toEqual(['6-8', '9-11']);
    expect(busy(withoutSync, 'cpu', 'host-launch')).toEqual(['0-2', '3-4', '4-5', '5-5.5']);
    // With it, the second launch waits until expert 0 is computed (8): 8-9, computed 9-11; the tail is issued after it.
    expect(busy(withSync, 'cpu', 'host-launch')).toEqual(['0-2', '3-4', '8-9', '9-9.5']);
    expect(busy(withSync, 'gpu', 'expert')).toEqual(['6-8', '9-11']);
    expect(withSync.makespanSec).toBe(11.5);
  });

  it('the host is the bottleneck when issuing is slower than the GPU: the makespan is the host\'s', () => {
    // All resident (capacity 2, one expert per layer reused): host 2 + 1 per layer, GPU 1 + 2.
    const warm = traceOf([[[[0], [0]]], [[[0], [0]]]], 2);
    const slowHost = simulate(warm, { capacity: 2, costs: costs(true, host(false, 10)) });
    const noHost = simulate(warm, { capacity: 2, costs: costs(true) });
    expect(slowHost.makespanSec).toBeGreaterThan(noHost.makespanSec);
    // Every GPU job starts no earlier than the end of its launch.
    const launches = slowHost.timeline.filter((s) => s.kind === 'host-launch');
    const gpu = slowHost.timeline.filter((s) => s.resource === 'gpu' && s.kind !== 'stall');
    expect(gpu.length).toBe(launches.length);
    for (let i = 0; i < gpu.length; i++) expect(gpu[i].startMs).toBeGreaterThanOrEqual(launches[i].endMs);
  });

  it('speculative loading beats on-demand loading on the compute stream only when the host thread has time to hide the copy behind', () => {
    // mixtral-offloading's Table 2 mechanism, in miniature: host-bound issuing (8 s per layer's
    // attention), copies on the compute stream. LRU alone: layer 1's copy waits for its gate.
    const hostBound = costs(false, host(false, 8));
    const lru = simulate(trace, { capacity: 1, costs: hostBound });
    const spec = simulate(trace, { capacity: 1, prefetch: { kind: 'pregated', accuracy: 1 }, costs: hostBound });
    expect(lru.makespanSec).toBe(24.5);
    // The prefetch copy (14-17) runs while the host still issues layer 1's attention (10-18).
    expect(busy(spec, 'link', 'prefetch')).toEqual(['14-17']);
    expect(spec.makespanSec).toBe(22.5);
    // The same software time inside the GPU jobs (attention 1 + 8, expert 2 + 1, tail 0.5 + 0.5): nothing hides the copy.
    const inside: StepCosts = { ...costs(false), preExpertSec: () => 9, expertSec: () => 3, tailSec: () => 1 };
    expect(simulate(trace, { capacity: 1, costs: inside }).makespanSec).toBe(31);
    expect(simulate(trace, { capacity: 1, prefetch: { kind: 'pregated', accuracy: 1 }, costs: inside }).makespanSec).toBe(31);
  });
});
