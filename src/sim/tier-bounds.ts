/**
 * Issue 16 item 2: bounds per tier and jointly, attached to each three-tier policy's TierMetrics
 * (`moesim run` asks for them: RunContext.tierBounds). What the run moved, per-tier Belady composed
 * (Belady's MIN on the GPU, then on host DRAM over the GPU's misses), and the joint two-tier
 * optimum of tier-optimum.ts: the MIP where the trace is small enough, its LP relaxation (a lower
 * bound) up to a larger size, else skipped with the reason. Sizes, not wall-clock limits, decide,
 * so the result is a function of the scenario alone.
 */
import type { Scenario } from '../scenario/schema.js';
import type { PolicyResult } from '../metrics/types.js';
import type { TierBounds, TierMoves } from '../metrics/tiers.js';
import { cachePolicyInfo } from '../policies/index.js';
import { missHandlerInfo } from '../policies/miss/index.js';
import { accessKeys } from '../trace/union.js';
import { ssdReadCost } from '../timing/storage.js';
import { highsSolver } from '../util/highs.js';
import { composedCost, jointOptimum, transferSec, type TwoTierInstance } from './tier-optimum.js';
import { createPolicyCache, type PreparedScenario } from './world.js';

/**
 * Accesses up to which the MIP is solved, and the LP relaxation (by default). Measured on this
 * machine (HiGHS's wasm build, one core of a shared 2-core VM; reports/tier-optimum-s27/): the MIP
 * took 11 s at 1,000 accesses of validate-mixtral-ssd.yaml (4 per layer, DRAM 68 experts) and 204 s
 * at 2,000; the LP 2.5 s at 1,000, 12 s at 3,000, 108 s at 5,000; on the whole deepseek-v3-4090-nvme.yaml trace (22,272) the LP
 * took 428 s.
 */
export const JOINT_MIP_MAX_ACCESSES = 1000;
export const JOINT_LP_MAX_ACCESSES = 3000;
/** Branch-and-bound nodes the MIP may explore (a deterministic stop; past it the gap is reported). */
export const JOINT_MIP_MAX_NODES = 500;

export interface TierBoundOptions {
  /** Accesses up to which the LP relaxation is solved (default JOINT_LP_MAX_ACCESSES). */
  lpMaxAccesses?: number;
}

/** Adds `tiers.bounds` to each batch result whose plan is three-tier (results in policy order). */
export async function addTierBounds(scenario: Scenario, prep: PreparedScenario, results: PolicyResult[], o: TierBoundOptions = {}): Promise<void> {
  const lpMax = Math.max(o.lpMaxAccesses ?? JOINT_LP_MAX_ACCESSES, JOINT_MIP_MAX_ACCESSES);
  if (prep.serving || results.length !== scenario.policies.length) return;
  const E = prep.model.numExperts;
  const L = prep.trace.numLayers;
  let keys: Int32Array | undefined;
  const solved = new Map<string, TierBounds['joint']>();
  for (const [i, r] of results.entries()) {
    const t = r.tiers;
    if (!t || t.mode !== 'three-tier' || !t.ssd) continue;
    const p = scenario.policies[i];
    const info = cachePolicyInfo(p.kind);
    const onMiss = 'onMiss' in p ? p.onMiss : undefined;
    if (info.capacity !== 'configured' || !info.fillsOnMiss || (onMiss && !missHandlerInfo(onMiss.kind).fetchesOnly)) continue;
    keys ??= accessKeys(prep.trace, prep.newSource(), E);
    const plan = createPolicyCache({ ...prep, warnings: [] }, p, i).plan;
    const bytes = prep.cost.expertBytes;
    const inst: TwoTierInstance = {
      keys,
      numLayers: L,
      numExperts: E,
      gpuCapacityPerScope: plan.capacityPerScope,
      gpuPerLayer: plan.perLayer,
      hostCapacity: t.hostDram.capacityExperts,
      hostWarm: t.hostDram.initial === 'warm',
      hostToGpuSec: prep.cost.h2dSec(bytes),
      ssdReadSec: ssdReadCost(prep.hardware.storage!)(bytes),
    };
    const fetches = Math.round(t.bytes.hostToGpu / bytes);
    const run: TierMoves = { gpuFetches: fetches, ssdReads: t.ssd.reads, transferSec: transferSec(inst, fetches, t.ssd.reads) };
    const perTierBelady = composedCost(inst, 'belady', 'belady');
    const key = `${plan.capacityPerScope}|${plan.perLayer}|${inst.hostCapacity}|${inst.hostWarm}`;
    let joint = solved.get(key);
    if (!joint) {
      joint = await solveJoint(inst, Math.min(run.transferSec, perTierBelady.transferSec), lpMax);
      solved.set(key, joint);
    }
    t.bounds = { accesses: keys.length, perExpertSec: { hostToGpu: inst.hostToGpuSec, ssdRead: inst.ssdReadSec }, run, perTierBelady, joint };
  }
}

async function solveJoint(inst: TwoTierInstance, bestKnownSec: number, lpMax: number): Promise<TierBounds['joint']> {
  const n = inst.keys.length;
  if (inst.gpuCapacityPerScope < 1 || inst.hostCapacity < 1) return { method: 'skipped', status: `skipped: a tier holds no expert (GPU ${inst.gpuCapacityPerScope} per scope, host DRAM ${inst.hostCapacity})` };
  if (n > lpMax) return { method: 'skipped', status: `skipped: ${n} accesses, more than the ${lpMax} the LP relaxation is solved for (MIP up to ${JOINT_MIP_MAX_ACCESSES}; --tier-bounds-max-accesses raises it)` };
  const highs = await highsSolver();
  const method = n <= JOINT_MIP_MAX_ACCESSES ? 'mip' : 'lp';
  const s = await jointOptimum(inst, { method, maxNodes: JOINT_MIP_MAX_NODES }, highs);
  const size = { columns: s.columns, rows: s.rows };
  if (!Number.isFinite(s.lowerBoundSec)) return { method, status: s.status, ...size };
  if (s.best) {
    const best = s.best;
    return { method, status: s.status, exact: s.exact, best, lowerBoundSec: s.lowerBoundSec, gapPct: s.gapPct ?? 0, ...(s.lpIntegral !== undefined ? { lpIntegral: s.lpIntegral } : {}), ...size };
  }
  const gapPct = bestKnownSec > 0 ? (100 * Math.max(0, bestKnownSec - s.lowerBoundSec)) / bestKnownSec : 0;
  return { method, status: s.status, exact: false, lowerBoundSec: s.lowerBoundSec, gapPct, ...(s.lpIntegral !== undefined ? { lpIntegral: s.lpIntegral } : {}), ...size };
}
