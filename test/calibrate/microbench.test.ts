/**
 * The destination state of timed uploads (issue 12 item 7): calibrate's transfer benchmark, the
 * drift probe and the replay's passes all warm the device buffers through Backend.warmBuffers, so
 * that no timed upload goes into fresh pages (a page fault per 4 KiB: x4 to x6 slower on the 2-core
 * VMs, reports/calibration/s27-drift/fresh-vs-reused.txt). Counts of fresh buffers, never times.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend, warmBufferCount, type Backend } from '../../src/calibrate/backends.js';
import { DriftProber } from '../../src/calibrate/drift.js';
import { benchTransfer, coldBytesFor, rotationCount, transferRingLive, UPLOADS_PER_SAMPLE, type MicrobenchPlan } from '../../src/calibrate/microbench.js';

/** A small reuse threshold keeps the warm sets small (the default is 2 x the last-level cache). */
const THRESHOLD = 2 * 2 ** 20;

const PLAN: MicrobenchPlan = {
  shapes: [],
  maxTokens: 1,
  dtype: 'float32',
  maxRunSec: 1,
  transferBytes: [64 * 1024, 256 * 1024],
  coldBytes: 0,
  rounds: 1,
  // More samples than the ring has buffers: the ring's releases start during the samples.
  measure: { warmupRuns: 2, warmupMs: 1, minSamples: 40, maxSamples: 40, timeBudgetMs: 1, minSampleUs: 0 },
};

/** `backend` with its warmBuffers calls recorded. */
function spied(backend: Backend, calls: { length: number; live: number }[]): Backend {
  return {
    ...backend,
    warmBuffers: (dtype, length, live) => {
      calls.push({ length, live });
      return backend.warmBuffers(dtype, length, live);
    },
  };
}

describe('timed uploads find the same destination state (cpu backend)', () => {
  let cpu: Backend;
  beforeAll(async () => {
    cpu = await openBackend('cpu', { cpuReuseAfterBytes: THRESHOLD });
  });
  afterAll(async () => {
    await cpu?.close();
  });

  it('calibrate\'s transfer benchmark warms its ring and a sample past the threshold: no upload into fresh pages', async () => {
    const calls: { length: number; live: number }[] = [];
    const before = cpu.freshBuffers!();
    const out = await benchTransfer(spied(cpu, calls), PLAN);
    expect(out.map((t) => t.bytes)).toEqual(PLAN.transferBytes);
    expect(cpu.freshBuffers!()).toBe(before);
    // One warm per size, for the ring (copies) and the sample in flight.
    expect(calls).toEqual(
      PLAN.transferBytes.map((b) => ({ length: b / 4, live: transferRingLive(Math.max(UPLOADS_PER_SAMPLE + 1, rotationCount(b, coldBytesFor(PLAN)))) })),
    );
    expect(warmBufferCount(64 * 1024, THRESHOLD, calls[0].live)).toBe(32 + 4 + 3);
  });

  it('the drift probe times its uploads through the same routine, with the same warm set, probe after probe', async () => {
    const calibrateCalls: { length: number; live: number }[] = [];
    await benchTransfer(spied(cpu, calibrateCalls), PLAN);
    const probeCalls: { length: number; live: number }[] = [];
    const points = {
      points: PLAN.transferBytes.map((b) => ({ kind: 'upload' as const, label: `upload ${b}`, profileSec: 1e-5 })),
      shapes: [],
      tokens: 1,
      transferBytes: PLAN.transferBytes,
    };
    const prober = new DriftProber(spied(cpu, probeCalls), points, PLAN);
    const before = cpu.freshBuffers!();
    for (let i = 0; i < 3; i++) await prober.probe(i);
    expect(cpu.freshBuffers!()).toBe(before);
    expect(probeCalls).toEqual([...calibrateCalls, ...calibrateCalls, ...calibrateCalls]);
  });
});
