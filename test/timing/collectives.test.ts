import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CollectiveCosts } from '../../src/timing/collectives.js';
import type { Interconnect } from '../../src/hardware/interconnect.js';

const link: Interconnect = { name: 'l', bytesPerSec: 1e9, latencySec: 1e-6, source: 't' };
const uniform = (G: number, m: number) => {
  const s = new Float64Array(G * G);
  for (let g = 0; g < G; g++) for (let h = 0; h < G; h++) if (g !== h) s[g * G + h] = m;
  return s;
};

describe('collectives (alpha-beta)', () => {
  test("pairwise all-to-all of uniform messages is Thakur et al.'s (p - 1)(alpha + m beta)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 16 }), fc.integer({ min: 1, max: 1e6 }), (G, m) => {
        const c = new CollectiveCosts({ gpus: G, gpusPerNode: G, intra: link, inter: link }, 'pairwise');
        const t = c.allToAll(uniform(G, m), new Float64Array(G));
        expect(t).toBeCloseTo((G - 1) * (1e-6 + m / 1e9), 12);
      }),
    );
  });

  test('direct all-to-all: alpha + the larger of bytes out and in over the injection bandwidth', () => {
    const c = new CollectiveCosts({ gpus: 4, gpusPerNode: 4, intra: link, inter: link }, 'direct');
    const done = new Float64Array(4);
    const s = new Float64Array(16);
    s[0 * 4 + 1] = 1000; // GPU 0 -> 1
    s[2 * 4 + 1] = 3000; // GPU 2 -> 1: GPU 1 receives 4000
    expect(c.allToAll(s, done)).toBeCloseTo(1e-6 + 4000 / 1e9, 15);
    expect([...done]).toEqual([1e-6 + 1000 / 1e9, 1e-6 + 4000 / 1e9, 1e-6 + 3000 / 1e9, 0]);
  });

  test('a skewed all-to-all is never faster than the uniform one of the same total (direct and pairwise)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.array(fc.integer({ min: 0, max: 1e5 }), { minLength: 64, maxLength: 64 }), fc.constantFrom('direct' as const, 'pairwise' as const), (G, xs, alg) => {
        const c = new CollectiveCosts({ gpus: G, gpusPerNode: G, intra: link, inter: link }, alg);
        const s = new Float64Array(G * G);
        let total = 0;
        for (let g = 0; g < G; g++) for (let h = 0; h < G; h++) if (g !== h) total += s[g * G + h] = xs[g * 8 + h] + 1;
        const skewed = c.allToAll(s, new Float64Array(G));
        const even = c.allToAll(uniform(G, total / (G * (G - 1))), new Float64Array(G));
        expect(skewed).toBeGreaterThanOrEqual(even * (1 - 1e-12));
      }),
    );
  });

  test('ring all-reduce: 2(p-1) alpha + 2(p-1)/p n beta; inter-node beta when the ring leaves the node', () => {
    const ib: Interconnect = { name: 'ib', bytesPerSec: 1e8, latencySec: 5e-6, source: 't' };
    const one = new CollectiveCosts({ gpus: 8, gpusPerNode: 8, intra: link, inter: ib }, 'direct');
    expect(one.allReduceSec(8000)).toBeCloseTo(14e-6 + (14 * 8000) / 8 / 1e9, 15);
    const two = new CollectiveCosts({ gpus: 16, gpusPerNode: 8, intra: link, inter: ib }, 'direct');
    expect(two.allReduceSec(16000)).toBeCloseTo(30 * 5e-6 + (30 * 16000) / 16 / 1e8, 15);
    expect(one.allReduceSec(0)).toBe(0);
  });

  test('a point-to-point fabric limits each pair to its own links', () => {
    const mesh: Interconnect = { name: 'm', bytesPerSec: 3e9, perPeerBytesPerSec: 1e9, latencySec: 0, source: 't' };
    const c = new CollectiveCosts({ gpus: 4, gpusPerNode: 4, intra: mesh, inter: mesh }, 'direct');
    const s = new Float64Array(16);
    s[1] = 1e9; // one GPU's 1 GB to one peer: 1 s on that pair's links, not 1/3 s
    expect(c.allToAll(s, new Float64Array(4))).toBeCloseTo(1, 12);
  });
});
