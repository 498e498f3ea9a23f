import { describe, expect, it } from 'vitest';
import { openBackend } from '../../src/calibrate/backends.js';
import { randomActivations, randomExpertWeights } from '../../src/calibrate/expert-graph.js';
import { CpuExpertRunner, replayMissCosts } from '../../src/calibrate/miss-exec.js';
import type { CalibrationProfile } from '../../src/calibrate/profile.js';
import { curveSec, measureReplayShape, scaleCurve, tokenCounts, type ReplayShapeCurves } from '../../src/calibrate/replay-shape.js';
import { scaleModel } from '../../src/calibrate/scale.js';
import { profileCosts } from '../../src/calibrate/validate.js';
import { resolveModel } from '../../src/model/resolve.js';
import { createRng } from '../../src/rng/rng.js';

const SHAPE = { hiddenSize: 32, intermediateSize: 64 };

/** A profile's fits only (what replayMissCosts and profileCosts read): flat 10 µs experts. */
const fit = { overheadSec: 10e-6, memBandwidthBytesPerSec: 1e15, throughputFlopsPerSec: 1e18 };
const profile = {
  backend: 'cpu',
  samples: { cpuHandoff: { medianSec: 5e-6 } },
  fit: { expert: fit, lowBitExpert: { int4: fit, int8: fit } },
} as unknown as CalibrationProfile;

/** Measured at the replayed shape: a step past one token (ORT's MatMul path), an upload as ORT's Identity runs take it. */
const curves: ReplayShapeCurves = {
  shape: SHAPE,
  expert: { tokens: [1, 2, 4], sec: [100e-6, 150e-6, 170e-6] },
  cpu: { tokens: [1, 2, 4], sec: [120e-6, 160e-6, 180e-6] },
  lowBit: { int4: { tokens: [1, 2, 4], sec: [400e-6, 410e-6, 430e-6] } },
  lowBitUploadSec: { int4: 70e-6 },
};

describe('replay-shape curves', () => {
  it('are linear between measured token counts, go on at the last slope, and hold the first below it', () => {
    const c = { tokens: [1, 2, 4], sec: [100, 150, 170] };
    expect(curveSec(c, 1)).toBe(100);
    expect(curveSec(c, 2)).toBe(150);
    expect(curveSec(c, 3)).toBe(160);
    expect(curveSec(c, 8)).toBe(210);
    expect(curveSec(c, 0.5)).toBe(100);
    expect(curveSec({ tokens: [1], sec: [7] }, 16)).toBe(7);
    expect(scaleCurve(c, 2).sec).toEqual([200, 300, 340]);
    expect(tokenCounts(1)).toEqual([1]);
    expect(tokenCounts(13)).toEqual([1, 2, 4, 8, 16]);
  });

  it('price the CPU expert, the lower-bit run and its upload as measured at the shape, at the pass speed', () => {
    const speed = { device: 0.8, cpu: 1.25 };
    const m = replayMissCosts(SHAPE, { profile, curves }, 'int4', speed);
    expect(m.cpuExpertSec(2)).toBeCloseTo(1.25 * 160e-6, 12);
    expect(m.cpuExpertSec(3)).toBeCloseTo(1.25 * 170e-6, 12);
    expect(m.lowBitExpertSec(1)).toBeCloseTo(0.8 * 400e-6, 12);
    expect(m.lowBitUploadSec).toBeCloseTo(0.8 * 70e-6, 12);
    // Without curves (or for another shape): the profile's fits, and the link's time for the copy's bytes.
    const f = replayMissCosts(SHAPE, { profile }, 'int4', speed);
    expect(f.cpuExpertSec(2)).toBeCloseTo(1.25 * 10e-6, 9);
    expect(f.lowBitUploadSec).toBeUndefined();
    const other = replayMissCosts({ hiddenSize: 48, intermediateSize: 96 }, { profile, curves }, 'int4', speed);
    expect(other.lowBitUploadSec).toBeUndefined();
  });

  it('price the device expert from the curve, times the pass factor', () => {
    const model = resolveModel({ preset: 'mixtral-8x7b', numLayers: 2, moeLayers: [0, 1] });
    const scaled = scaleModel(model, { hiddenSize: 32, intermediateSize: 64 }, 8);
    const hw = { ...(JSON.parse(JSON.stringify({ gpu: { name: 'x', hbmBytes: 1e9, hbmBytesPerSec: 1e10, flopsPerSec: { fp32: 1e11, bf16: 1e11 }, launchOverheadSec: 1e-6 }, link: { name: 'l', h2dBytesPerSec: 1e10, d2hBytesPerSec: 1e10, latencySec: 1e-6, overlapsCompute: false }, cpu: { name: 'c', dramBytes: 1e9, dramBytesPerSec: 1e10, flopsPerSec: 1e11 } }))) };
    const c = profileCosts(scaled, hw, curves.expert, 1.1);
    expect(c.expertSec(2)).toBeCloseTo(1.1 * 150e-6, 12);
    expect(c.expertSec(4)).toBeCloseTo(1.1 * 170e-6, 12);
    const plain = profileCosts(scaled, hw);
    expect(plain.expertSec(2)).toBeLessThan(100e-6);
  });
});

describe('measureReplayShape on the CPU backend', () => {
  it('measures every operation the replay runs at its shape, at 1, 2, 4 tokens', async () => {
    const backend = await openBackend('cpu');
    try {
      const m = await measureReplayShape(backend, SHAPE, createRng('t'), { maxTokens: 3, cpu: true, lowBit: ['int4'], runs: 5, coldBytes: 1 << 16 });
      expect(m.expert.tokens).toEqual([1, 2, 4]);
      expect(m.expert.sec).toHaveLength(3);
      expect(m.cpu!.sec).toHaveLength(3);
      expect(m.lowBit.int4!.sec).toHaveLength(3);
      expect(m.lowBit.int8).toBeUndefined();
      for (const x of [...m.expert.sec, ...m.cpu!.sec, ...m.lowBit.int4!.sec, m.lowBitUploadSec.int4!]) expect(x).toBeGreaterThan(0);
    } finally {
      await backend.close();
    }
  }, 60_000);

  it("the CPU worker reports its thread's waits for a core with each run", async () => {
    const w = randomExpertWeights(SHAPE, 'float32', createRng('w'));
    const runner = await CpuExpertRunner.open([w], [0], 1);
    try {
      const r = await runner.submit(0, randomActivations(1, 32, 'float32', createRng('x')) as Float32Array);
      expect(typeof r.waitSec).toBe('number');
      expect(r.waitSec).toBeGreaterThanOrEqual(0);
      expect(r.waitSec).toBeLessThanOrEqual(r.sec + 1e-3);
    } finally {
      await runner.close();
    }
  });
});
