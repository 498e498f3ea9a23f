import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend, probeWebGpu, type Backend } from '../../src/calibrate/backends.js';
import {
  expertDtypes,
  float32ToHalfBits,
  halfBitsToFloat32,
  randomActivations,
  randomExpertWeights,
  referenceExpert,
  toFloat32,
  type ExpertDtype,
  type ExpertShape,
  type HostArray,
} from '../../src/calibrate/expert-graph.js';
import { createRng } from '../../src/rng/rng.js';

describe('half precision', () => {
  it('converts exactly representable values both ways', () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [2 ** -24, 0x0001], // smallest subnormal
      [Infinity, 0x7c00],
    ];
    for (const [v, bits] of cases) {
      expect(float32ToHalfBits(v)).toBe(bits);
      expect(halfBitsToFloat32(bits)).toBe(v);
    }
  });

  it('rounds to nearest, ties to even, and overflows to infinity', () => {
    expect(float32ToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie: stays even
    expect(float32ToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie: rounds up to even
    expect(float32ToHalfBits(70000)).toBe(0x7c00);
    expect(Number.isNaN(halfBitsToFloat32(float32ToHalfBits(NaN)))).toBe(true);
  });

  it('round-trips within half a unit in the last place', () => {
    const rng = createRng('half');
    for (let i = 0; i < 1000; i++) {
      const v = (rng.next() * 2 - 1) * 100;
      const back = halfBitsToFloat32(float32ToHalfBits(v));
      expect(Math.abs(back - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
    }
  });
});

/** Max |a - b| relative to max |b|. */
function relError(actual: HostArray, dtype: ExpertDtype, expected: Float64Array): number {
  const a = toFloat32(actual, dtype);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - expected[i]));
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return maxDiff / maxRef;
}

// float32 accumulates in float32 (GEMM reassociation: ~1e-6); float16 rounds inputs, intermediates and output.
const tolerance: Record<ExpertDtype, number> = { float32: 1e-5, float16: 1e-2 };
const shapes: ExpertShape[] = [
  { hiddenSize: 16, intermediateSize: 40 },
  { hiddenSize: 64, intermediateSize: 176 },
];
const tokenCounts = [1, 3, 8];

function graphSuite(name: 'cpu' | 'webgpu', available: () => Promise<string | undefined>): void {
  describe(`expert graph on the ${name} backend`, () => {
    let backend: Backend | undefined;
    let unavailable: string | undefined;
    beforeAll(async () => {
      unavailable = await available();
      if (unavailable === undefined) backend = await openBackend(name);
      else console.warn(`SKIPPED ${name} graph tests: ${unavailable}`);
    }, 60_000);
    afterAll(async () => {
      await backend?.close();
    });

    for (const dtype of expertDtypes) {
      it(`matches the TypeScript reference in ${dtype}, host weights and uploaded weights`, (ctx) => {
        if (backend === undefined) ctx.skip(`${name} backend unavailable: ${unavailable ?? '?'}`);
        const b = backend as Backend;
        if (!b.dtypes.includes(dtype)) {
          console.warn(`SKIPPED ${name} ${dtype}: ${b.unsupported[dtype] ?? '?'}`);
          ctx.skip(`${name} does not run ${dtype}: ${b.unsupported[dtype] ?? '?'}`);
        }
        return (async () => {
          const rng = createRng(`graph-${name}-${dtype}`);
          for (const shape of shapes) {
            const w = randomExpertWeights(shape, dtype, rng.fork(`w${shape.hiddenSize}`));
            const dev = await b.upload(w);
            expect(dev.sizeBytes).toBe(3 * shape.hiddenSize * shape.intermediateSize * (dtype === 'float32' ? 4 : 2));
            for (const tokens of tokenCounts) {
              const x = randomActivations(tokens, shape.hiddenSize, dtype, rng.fork(`x${shape.hiddenSize}-${tokens}`));
              const ref = referenceExpert(x, w, tokens);
              const fromHost = await b.runExpert(x, w);
              const fromDevice = await b.runExpert(x, dev);
              expect(fromHost.length).toBe(tokens * shape.hiddenSize);
              expect(relError(fromHost, dtype, ref)).toBeLessThan(tolerance[dtype]);
              expect(relError(fromDevice, dtype, ref)).toBeLessThan(tolerance[dtype]);
            }
            b.evict(dev);
            expect(dev.w1.released).toBe(true);
            await expect(b.runExpert(randomActivations(1, shape.hiddenSize, dtype, rng), dev)).rejects.toThrow(/evicted/);
          }
        })();
      }, 60_000);
    }

    it('uploads a copy: changing the host weights afterwards does not change the device expert', async (ctx) => {
      if (backend === undefined) ctx.skip(`${name} backend unavailable: ${unavailable ?? '?'}`);
      const b = backend as Backend;
      const shape = { hiddenSize: 32, intermediateSize: 88 };
      const rng = createRng(`copy-${name}`);
      const w = randomExpertWeights(shape, 'float32', rng.fork('w'));
      const x = randomActivations(2, shape.hiddenSize, 'float32', rng.fork('x'));
      const ref = referenceExpert(x, w, 2);
      const dev = await b.upload(w);
      w.w1.fill(0);
      w.w2.fill(0);
      expect(relError(await b.runExpert(x, dev), 'float32', ref)).toBeLessThan(tolerance.float32);
      b.evict(dev);
    }, 60_000);

    it('uploads a buffer and waits for the device', async (ctx) => {
      if (backend === undefined) ctx.skip(`${name} backend unavailable: ${unavailable ?? '?'}`);
      const b = backend as Backend;
      const buf = await b.uploadBuffer(new Float32Array(1000).fill(1), 'float32');
      await b.sync();
      expect(buf.sizeBytes).toBe(4000);
      expect(buf.dims).toEqual([1, 1000]);
      b.releaseBuffer(buf);
      expect(buf.released).toBe(true);
      await b.launchTiny();
    }, 60_000);
  });
}

graphSuite('cpu', async () => undefined);
graphSuite('webgpu', async () => {
  const p = await probeWebGpu();
  return p.ok ? undefined : (p.reason ?? 'unknown reason');
});
