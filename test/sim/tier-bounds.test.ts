import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import { tierTable } from '../../src/report/tiers.js';
import { JOINT_LP_MAX_ACCESSES } from '../../src/sim/tier-bounds.js';
import { tierBase } from '../helpers/tiers.js';

// OLMoE bf16 (12 MiB experts) on a host with 4 GiB for experts in front of a 990 PRO: three tiers.
const hardware = { preset: 'rtx-4090', cpu: { memoryGiB: 4 }, storage: 'samsung-990-pro' };
const policies = [
  { kind: 'lru', cache: { perLayer: 8 } },
  { kind: 'lfu', cache: { perLayer: 8 } },
  { kind: 'belady', cache: { perLayer: 8 } },
];
const run = (extra: Record<string, unknown>, tierBounds = true) =>
  runScenario(parseScenario({ name: 'tier-bounds', ...tierBase, hardware, policies, ...extra }), { baseDir: '.', tierBounds });

describe('tier bounds on a three-tier run', () => {
  it('per-tier Belady is the run of belady with a belady host tier; the joint optimum is exact and below every run', async () => {
    const r = await run({ hostTier: { policy: 'belady', initial: 'warm' } });
    const b = r.results.map((p) => p.tiers!.bounds!);
    expect(b[0].accesses).toBe(16 * 6 * 8);
    // The bound's flat model makes the simulator's decisions: belady + belady host tier's moves are per-tier Belady's.
    expect(b[2].run.gpuFetches).toBe(b[2].perTierBelady.gpuFetches);
    expect(b[2].run.ssdReads).toBe(b[2].perTierBelady.ssdReads);
    for (const x of b) {
      expect(x.joint.method).toBe('mip');
      expect(x.joint.exact).toBe(true);
      expect(x.joint.best!.transferSec).toBeLessThanOrEqual(x.perTierBelady.transferSec + 1e-12);
      expect(x.joint.best!.transferSec).toBeLessThanOrEqual(x.run.transferSec + 1e-12);
    }
    // Link seconds: the run's copies and reads at the per-expert costs are its link and SSD busy time.
    const lru = r.results[0].tiers!;
    expect(b[0].run.transferSec * 1e3).toBeCloseTo(lru.busyMs.hostToGpu + lru.busyMs.ssdToHost, 6);
    expect(tierTable(r)).toMatch(/joint optimum \(exact, HiGHS MIP\)/);
  });

  it('not asked for (RunContext.tierBounds unset): no bounds', async () => {
    const r = await run({}, false);
    expect(r.results[0].tiers!.bounds).toBeUndefined();
  });

  it('between the MIP and the LP limits: the LP relaxation, a lower bound; a lower LP limit skips it', async () => {
    const trace = { synthetic: { ...tierBase.trace.synthetic, tokensPerSequence: 10 } };
    const r = await run({ trace, policies: [policies[0]] });
    const b = r.results[0].tiers!.bounds!;
    expect(b.accesses).toBe(1280);
    expect(b.joint.method).toBe('lp');
    expect(b.joint.status).toBe('Optimal');
    expect(b.joint.lowerBoundSec!).toBeLessThanOrEqual(b.perTierBelady.transferSec + 1e-12);
    expect(b.joint.lowerBoundSec!).toBeLessThanOrEqual(b.run.transferSec + 1e-12);
    expect(tierTable(r)).toMatch(b.joint.exact ? /exact: HiGHS LP relaxation integral/ : /LP lower bound, gap \d+\.\d%/);
    const capped = await runScenario(parseScenario({ name: 'tier-bounds', ...tierBase, hardware, trace, policies: [policies[0]] }), { baseDir: '.', tierBounds: { lpMaxAccesses: 1100 } });
    expect(capped.results[0].tiers!.bounds!.joint.status).toMatch(/^skipped: 1280 accesses, more than the 1100 the LP relaxation/);
  });

  it('a trace above the size guard: skipped, in one line that says why', async () => {
    const trace = { synthetic: { ...tierBase.trace.synthetic, tokensPerSequence: 50 } };
    const r = await run({ trace, policies: [policies[0]] });
    const j = r.results[0].tiers!.bounds!.joint;
    expect(j.method).toBe('skipped');
    expect(j.status).toBe(`skipped: 6400 accesses, more than the ${JOINT_LP_MAX_ACCESSES} the LP relaxation is solved for (MIP up to 1000; --tier-bounds-max-accesses raises it)`);
    expect(tierTable(r)).toContain(j.status);
  });
});
