// Session 27: the joint two-tier optimum vs per-tier Belady vs the shipped policies, on a scenario's
// first P expert accesses (flat-sequence model: the simulator's counts for fetch on miss, batch).
// node reports/tier-optimum-s27/measure.mjs SCENARIO P mip|lp [policyIndex]   (after npm run build)
import { performance } from 'node:perf_hooks';
import { loadScenarioFile } from '../../dist/src/scenario/load.js';
import { prepareScenario } from '../../dist/src/sim/run.js';
import { createPolicyCache } from '../../dist/src/sim/world.js';
import { planTiers } from '../../dist/src/sim/tier-plan.js';
import { accessKeys } from '../../dist/src/trace/union.js';
import { ssdReadCost } from '../../dist/src/timing/storage.js';
import { composedCost, jointOptimum } from '../../dist/src/sim/tier-optimum.js';

const [file, P, method, pi = '0'] = process.argv.slice(2);
const { scenario, baseDir } = loadScenarioFile(file);
const prep = await prepareScenario(scenario, { baseDir });
const i = Number(pi);
const p = scenario.policies[i];
const E = prep.model.numExperts, L = prep.trace.numLayers;
const all = accessKeys(prep.trace, prep.newSource(), E);
const keys = all.slice(0, Math.min(all.length, Number(P)));
const plan = createPolicyCache({ ...prep, warnings: [] }, p, i).plan;
const tier = planTiers(prep.hardware, p, i, { numLayers: L, numExperts: E }, prep.cost.expertBytes, plan.capacityExperts, scenario.hostTier);
const bytes = prep.cost.expertBytes;
const inst = {
  keys, numLayers: L, numExperts: E, gpuCapacityPerScope: plan.capacityPerScope, gpuPerLayer: plan.perLayer,
  hostCapacity: tier.hostCapacityExperts, hostWarm: tier.spec.initial === 'warm',
  hostToGpuSec: prep.cost.h2dSec(bytes), ssdReadSec: ssdReadCost(prep.hardware.storage)(bytes),
};
const out = { scenario: scenario.name, accesses: keys.length, ofAccesses: all.length, gpu: `${plan.capacityPerScope}${plan.perLayer ? '/layer' : ' experts'}`, hostExperts: inst.hostCapacity, hostWarm: inst.hostWarm, perExpertMs: { hostToGpu: 1e3 * inst.hostToGpuSec, ssdRead: 1e3 * inst.ssdReadSec }, policies: {} };
for (const g of ['lru', 'lfu', 'belady']) for (const h of ['lru', 'belady']) out.policies[`gpu ${g} / host ${h}`] = composedCost(inst, g, h);
const t0 = performance.now();
const s = await jointOptimum(inst, { method, maxNodes: 500 });
out.joint = { ...s, solveSec: Number(((performance.now() - t0) / 1e3).toFixed(1)) };
console.log(JSON.stringify(out, null, 1));
