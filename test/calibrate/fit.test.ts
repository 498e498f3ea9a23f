import { describe, expect, it } from 'vitest';
import { fitExpert, fitExpertAnchored, fitTransfer, predictExpert, predictTransfer } from '../../src/calibrate/fit.js';
import { expertBytesMoved, expertFlops, type ExpertShape } from '../../src/calibrate/expert-graph.js';
import { createRng } from '../../src/rng/rng.js';

const MiB = 2 ** 20;

function within(actual: number, expected: number, rel: number): void {
  expect(Math.abs(actual - expected) / expected).toBeLessThan(rel);
}

/** The points of a real plan: shapes x tokens 1..512, bytes and FLOPs as the microbenchmark computes them. */
function planPoints(shapes: ExpertShape[], maxTokens = 512): Array<{ bytes: number; flops: number; tokens: number; shape: string }> {
  const out: Array<{ bytes: number; flops: number; tokens: number; shape: string }> = [];
  for (const s of shapes) {
    for (let t = 1; t <= maxTokens; t *= 2) out.push({ bytes: expertBytesMoved(s, 'float32', t), flops: expertFlops(s, t), tokens: t, shape: `${s.hiddenSize}x${s.intermediateSize}` });
  }
  return out;
}

const shapes: ExpertShape[] = [
  { hiddenSize: 256, intermediateSize: 704 },
  { hiddenSize: 512, intermediateSize: 1408 },
  { hiddenSize: 1024, intermediateSize: 2816 },
];

describe('fitTransfer', () => {
  it('recovers latency and bandwidth from exact samples', async () => {
    const truth = { latencySec: 12e-6, bandwidthBytesPerSec: 9.5e9 };
    const pts = [64 * 1024, 256 * 1024, MiB, 4 * MiB, 16 * MiB, 64 * MiB].map((bytes) => ({ bytes, timeSec: predictTransfer(truth, bytes) }));
    const fit = await fitTransfer(pts);
    within(fit.latencySec, truth.latencySec, 0.01);
    within(fit.bandwidthBytesPerSec, truth.bandwidthBytesPerSec, 0.01);
    expect(fit.r2).toBeGreaterThan(1 - 1e-9);
    expect(Math.abs(fit.worstRelativeResidual)).toBeLessThan(1e-6);
    expect(fit.relativeResiduals).toHaveLength(pts.length);
  });

  it('stays close under 3% multiplicative noise', async () => {
    const truth = { latencySec: 30e-6, bandwidthBytesPerSec: 2e9 };
    const rng = createRng('transfer-noise');
    const pts = [];
    for (let bytes = 64 * 1024; bytes <= 64 * MiB; bytes *= 2) {
      pts.push({ bytes, timeSec: predictTransfer(truth, bytes) * (1 + 0.03 * (2 * rng.next() - 1)) });
    }
    const fit = await fitTransfer(pts);
    within(fit.latencySec, truth.latencySec, 0.1);
    within(fit.bandwidthBytesPerSec, truth.bandwidthBytesPerSec, 0.03);
    expect(fit.r2).toBeGreaterThan(0.99);
  });

  it('clamps a negative intercept to zero latency', async () => {
    const pts = [MiB, 2 * MiB, 4 * MiB].map((bytes) => ({ bytes, timeSec: bytes / 1e9 - 1e-6 }));
    const fit = await fitTransfer(pts);
    expect(fit.latencySec).toBe(0);
    within(fit.bandwidthBytesPerSec, 1e9, 0.05);
  });

  it('rejects too few or non-positive samples', async () => {
    await expect(fitTransfer([{ bytes: 1, timeSec: 1 }])).rejects.toThrow(/at least 2/);
    await expect(fitTransfer([{ bytes: 1, timeSec: 1 }, { bytes: 2, timeSec: 0 }])).rejects.toThrow(/positive/);
  });
});

describe('fitExpert', () => {
  it('recovers overhead, bandwidth and throughput from exact samples on both sides of the knee', async () => {
    const truth = { overheadSec: 40e-6, memBandwidthBytesPerSec: 20e9, throughputFlopsPerSec: 150e9 };
    const pts = planPoints(shapes).map((p) => ({ ...p, timeSec: predictExpert(truth, p.bytes, p.flops) }));
    const fit = await fitExpert(pts);
    expect(fit.roofline).toBe('both');
    within(fit.overheadSec, truth.overheadSec, 0.01);
    within(fit.memBandwidthBytesPerSec, truth.memBandwidthBytesPerSec, 0.01);
    within(fit.throughputFlopsPerSec, truth.throughputFlopsPerSec, 0.01);
    within(fit.kneeFlopsPerByte, 7.5, 0.01);
    expect(fit.r2).toBeGreaterThan(1 - 1e-9);
    expect(Math.abs(fit.worstRelativeResidual)).toBeLessThan(1e-4);
  });

  it('recovers a GPU-like roofline (knee at high intensity)', async () => {
    const truth = { overheadSec: 5e-6, memBandwidthBytesPerSec: 2e12, throughputFlopsPerSec: 1e14 };
    const pts = planPoints(shapes, 512).map((p) => ({ ...p, timeSec: predictExpert(truth, p.bytes, p.flops) }));
    const fit = await fitExpert(pts);
    within(fit.overheadSec, truth.overheadSec, 0.01);
    within(fit.memBandwidthBytesPerSec, truth.memBandwidthBytesPerSec, 0.01);
    within(fit.throughputFlopsPerSec, truth.throughputFlopsPerSec, 0.01);
  });

  it('says when every run was memory-bound (throughput is then a lower bound)', async () => {
    const truth = { overheadSec: 10e-6, memBandwidthBytesPerSec: 1e9, throughputFlopsPerSec: 1e15 };
    const pts = planPoints(shapes, 16).map((p) => ({ ...p, timeSec: predictExpert(truth, p.bytes, p.flops) }));
    const fit = await fitExpert(pts);
    expect(fit.roofline).toBe('memory-bound-only');
    within(fit.memBandwidthBytesPerSec, truth.memBandwidthBytesPerSec, 0.01);
    within(fit.overheadSec, truth.overheadSec, 0.01);
    expect(fit.throughputFlopsPerSec).toBeLessThan(truth.throughputFlopsPerSec);
    expect(fit.r2).toBeGreaterThan(1 - 1e-9);
  });

  it('stays close under 3% multiplicative noise and reports each point\'s residual', async () => {
    const truth = { overheadSec: 40e-6, memBandwidthBytesPerSec: 20e9, throughputFlopsPerSec: 150e9 };
    const rng = createRng('expert-noise');
    const pts = planPoints(shapes).map((p) => ({ ...p, timeSec: predictExpert(truth, p.bytes, p.flops) * (1 + 0.03 * (2 * rng.next() - 1)) }));
    const fit = await fitExpert(pts);
    within(fit.memBandwidthBytesPerSec, truth.memBandwidthBytesPerSec, 0.05);
    within(fit.throughputFlopsPerSec, truth.throughputFlopsPerSec, 0.05);
    expect(fit.r2).toBeGreaterThan(0.99);
    expect(fit.relativeResiduals).toHaveLength(pts.length);
    expect(Math.abs(fit.worstRelativeResidual)).toBeLessThan(0.1);
    expect(Math.abs(fit.relativeResiduals[fit.worstIndex])).toBe(Math.abs(fit.worstRelativeResidual));
  });
});

describe('fitExpertAnchored', () => {
  const truth = { overheadSec: 40e-6, memBandwidthBytesPerSec: 20e9, throughputFlopsPerSec: 150e9 };

  it('recovers an exact roofline from its two ends', async () => {
    for (const t of [truth, { overheadSec: 5e-6, memBandwidthBytesPerSec: 2e12, throughputFlopsPerSec: 1e14 }]) {
      const pts = planPoints(shapes).map((p) => ({ ...p, timeSec: predictExpert(t, p.bytes, p.flops) }));
      const fit = await fitExpertAnchored(pts);
      expect(fit.method).toBe('anchored');
      expect(fit.roofline).toBe('both');
      within(fit.overheadSec, t.overheadSec, 0.01);
      within(fit.memBandwidthBytesPerSec, t.memBandwidthBytesPerSec, 0.01);
      within(fit.throughputFlopsPerSec, t.throughputFlopsPerSec, 0.01);
      expect(Math.abs(fit.worstRelativeResidual)).toBeLessThan(1e-4);
    }
  });

  it('keeps the one-token runs right when mid-size runs leave the roofline (ORT CPU: GEMM packing from 2 tokens)', async () => {
    const pts = planPoints(shapes).map((p) => {
      const t = predictExpert(truth, p.bytes, p.flops);
      return { ...p, timeSec: p.tokens >= 2 && p.tokens <= 16 ? 3 * t : t };
    });
    const anchored = await fitExpertAnchored(pts);
    within(anchored.memBandwidthBytesPerSec, truth.memBandwidthBytesPerSec, 0.01);
    within(anchored.throughputFlopsPerSec, truth.throughputFlopsPerSec, 0.01);
    const oneToken = pts.map((p, i) => ({ p, i })).filter(({ p }) => p.tokens === 1);
    for (const { i } of oneToken) expect(Math.abs(anchored.relativeResiduals[i])).toBeLessThan(1e-6);
    // The joint least-squares fit, pulled by the slow mid-size runs, misses the one-token runs.
    const joint = await fitExpert(pts);
    expect(Math.max(...oneToken.map(({ i }) => Math.abs(joint.relativeResiduals[i])))).toBeGreaterThan(0.2);
  });

  it('says when every run was memory-bound, with a throughput that is a lower bound', async () => {
    const t = { overheadSec: 10e-6, memBandwidthBytesPerSec: 1e9, throughputFlopsPerSec: 1e15 };
    const fit = await fitExpertAnchored(planPoints(shapes, 16).map((p) => ({ ...p, timeSec: predictExpert(t, p.bytes, p.flops) })));
    expect(fit.roofline).toBe('memory-bound-only');
    within(fit.memBandwidthBytesPerSec, t.memBandwidthBytesPerSec, 0.01);
    expect(fit.throughputFlopsPerSec).toBeLessThan(t.throughputFlopsPerSec);
    expect(Math.abs(fit.worstRelativeResidual)).toBeLessThan(1e-6);
  });

  it('falls back to the joint fit with one shape', async () => {
    const pts = planPoints(shapes.slice(0, 1)).map((p) => ({ ...p, timeSec: predictExpert(truth, p.bytes, p.flops) }));
    expect((await fitExpertAnchored(pts)).method).toBe('joint');
  });
});
