/**
 * Issue 16: host memory checked, and the tiers of a policy's run planned (run.ts calls these).
 *
 * What the scenario keeps in host DRAM: every routed expert a dynamic GPU cache (lru, lfu, belady,
 * none) may fetch again, i.e. all of them, since an evicted expert is copied again from host
 * memory; for a static placement, the experts it leaves off the GPU; nothing for all-on-gpu. The
 * dense weights stay on the GPU in this model (RooflineCosts.residentWeightBytes), so none are
 * kept on the host. Against it: the host's DRAM (hardware.cpu.memoryGiB), less hostTier.reserveGiB,
 * at most hostTier.capacityGiB.
 *
 * - It fits: host DRAM holds it (mode dram), as before, now checked.
 * - It does not fit and the machine has an SSD (hardware.storage): host DRAM is a tier of that
 *   many experts in front of the SSD (mode three-tier, tiers.ts).
 * - It does not fit and there is no SSD: a bad-input error saying what is needed, what is there,
 *   and how to fix it. Never silently oversubscribed.
 *
 * Unified memory: the GPU's expert cache is the pool (planCapacity sizes it); what it cannot hold
 * must come from the SSD (mode ssd-direct), else the same error. A pool that holds every expert
 * starts with all of them (warm: poolHoldsAll) or reads each from the SSD at its first use (cold). GPUDirect Storage
 * (hostTier.gpuDirect): the GPU fetches from the SSD directly, host DRAM holds no experts.
 */
import type { Hardware } from '../hardware/types.js';
import { ExpertCache } from '../policies/expert-cache.js';
import { cachePolicies, cachePolicyInfo } from '../policies/index.js';
import { missHandlerInfo, missLowBit } from '../policies/miss/index.js';
import { firstUseOf, nextUseOf } from '../policies/belady.js';
import { hostTierSchema, type HostTierSpec, type PolicySpec } from '../scenario/schema.js';
import { ssdReadCost } from '../timing/storage.js';
import type { StepCosts } from '../timing/costs.js';
import type { TierMetrics } from '../metrics/tiers.js';
import type { SimCounters } from '../metrics/counters.js';
import { InputError } from '../util/errors.js';
import { HostTier, hostAccessKeys, storageLinkCosts } from './tiers.js';

const GiB = 2 ** 30;
const gib = (b: number) => `${(b / GiB).toFixed(2)} GiB`;

export interface TierPlan {
  mode: TierMetrics['mode'];
  spec: HostTierSpec;
  availableBytes: number;
  neededBytes: number;
  /** Experts the host tier holds (three-tier). */
  hostCapacityExperts: number;
  /**
   * Unified memory whose pool holds every expert, warm (hostTier.initial): the model is in the pool
   * before the run, so the GPU's cache starts with every expert (setupTiers' caller fills it) and
   * each is computed where it lies; nothing is fetched.
   */
  poolHoldsAll?: true;
}

/** Plans policy `i`'s memory tiers, or throws the bad-input error. */
export function planTiers(
  hardware: Hardware,
  p: PolicySpec,
  i: number,
  dims: { numLayers: number; numExperts: number },
  expertBytes: number,
  gpuCapacityExperts: number,
  hostTier: HostTierSpec | undefined,
  streaming = false,
): TierPlan {
  const spec = hostTier ?? hostTierSchema.parse({});
  const total = dims.numLayers * dims.numExperts;
  // Host DRAM holds every expert a cache may fetch; a placement that never fills on a miss (static) only those it leaves off the GPU.
  const info = cachePolicyInfo(p.kind);
  const keptExperts = info.capacity === 'all' ? 0 : info.capacity === 'configured' && !info.fillsOnMiss ? Math.max(0, total - gpuCapacityExperts) : total;
  const neededBytes = keptExperts * expertBytes;
  const label = `policies[${i}] (${p.kind})`;
  if (hardware.unified) {
    const pool = hardware.gpu.hbmBytes;
    if (info.capacity === 'all' || gpuCapacityExperts >= total) {
      // The pool holds every expert. Warm (the default, as a host tier starts): in place from the
      // start. Cold: each expert is read from the SSD at its first use (a fetch-on-miss cache; a
      // static placement's pins are taken as loaded).
      if (spec.initial === 'cold' && info.capacity !== 'all') {
        if (!hardware.storage) throw new InputError(`hostTier.initial: cold on unified memory reads every expert from storage at its first use; expected hardware.storage, or initial: warm`);
        return { mode: 'ssd-direct', spec, availableBytes: pool, neededBytes: 0, hostCapacityExperts: 0 };
      }
      return { mode: 'dram', spec, availableBytes: pool, neededBytes: 0, hostCapacityExperts: 0, ...(info.capacity !== 'all' ? { poolHoldsAll: true as const } : {}) };
    }
    if (!hardware.storage) {
      throw new InputError(
        `hardware: ${label} on unified memory holds ${gpuCapacityExperts} of ${total} experts in the ${gib(pool)} pool; the other ${gib((total - gpuCapacityExperts) * expertBytes)} need a storage tier; expected hardware.storage (e.g. storage: samsung-990-pro), more memory (gpu.memoryGiB), or lower precision.experts`,
      );
    }
    return { mode: 'ssd-direct', spec, availableBytes: pool, neededBytes: (total - gpuCapacityExperts) * expertBytes, hostCapacityExperts: 0 };
  }
  if (spec.gpuDirect) {
    if (!hardware.storage) throw new InputError(`hostTier.gpuDirect: GPUDirect Storage reads experts from an SSD; expected hardware.storage`);
    if (keptExperts > 0) return { mode: 'ssd-direct', spec, availableBytes: 0, neededBytes, hostCapacityExperts: 0 };
  }
  if (spec.reserveGiB * GiB >= hardware.cpu.dramBytes) {
    throw new InputError(`hostTier.reserveGiB: ${spec.reserveGiB} GiB leaves no host DRAM at all (${hardware.cpu.name}: ${gib(hardware.cpu.dramBytes)}); expected less than hardware.cpu.memoryGiB`);
  }
  let available = hardware.cpu.dramBytes - spec.reserveGiB * GiB;
  if (spec.capacityGiB !== undefined) available = Math.min(available, spec.capacityGiB * GiB);
  if (neededBytes <= available) {
    // Fits. A cold host tier in front of an SSD still reads each expert once from it.
    const cold = hardware.storage && spec.initial === 'cold' && keptExperts > 0;
    const plan: TierPlan = { mode: cold ? 'three-tier' : 'dram', spec, availableBytes: available, neededBytes, hostCapacityExperts: keptExperts };
    return cold ? threeTier(p, i, streaming, plan) : plan;
  }
  if (!hardware.storage) {
    throw new InputError(
      `hardware.cpu.memoryGiB: ${label} keeps ${keptExperts} experts (${gib(neededBytes)}) in host memory, more than the ${gib(available)} of DRAM the host has for them (${hardware.cpu.name}: ${gib(hardware.cpu.dramBytes)}${spec.reserveGiB > 0 ? `, less hostTier.reserveGiB ${spec.reserveGiB}` : ''}); expected a storage tier (hardware.storage, e.g. storage: samsung-990-pro), a larger cpu.memoryGiB, lower precision.experts, or a static placement that keeps fewer experts off the GPU`,
    );
  }
  return threeTier(p, i, streaming, { mode: 'three-tier', spec, availableBytes: available, neededBytes, hostCapacityExperts: Math.floor(available / expertBytes) });
}

/** What the host tier does not model yet, refused as bad input. */
function threeTier(p: PolicySpec, i: number, streaming: boolean, plan: TierPlan): TierPlan {
  if ('onMiss' in p && p.onMiss && missLowBit(p.onMiss) !== undefined) throw new InputError(`policies[${i}].onMiss: lower-bit copies with a host tier in front of an SSD are not modelled yet; expected onMiss fetch or cpu, or a host that holds the experts`);
  if (streaming) throw new InputError(`workload.prefill.streaming: prefill streaming with a host tier in front of an SSD is not modelled yet; expected streaming off, or a host that holds the experts`);
  return plan;
}

/** What a run needs from the plan: the costs the simulator charges, the host tier if any. */
export interface TierSetup {
  cost: StepCosts;
  host?: HostTier;
  /** The GPU fetches from the SSD (ssd-direct): the link's transfers are SSD reads. */
  direct?: true;
}

/**
 * The simulator's costs and host tier of a plan. `gpuKeys` (the GPU's access order) and a fresh
 * GPU cache are asked for only by a Belady host tier, which must run with fetch on miss, no
 * prefetching and a batch workload (checked here).
 */
export function setupTiers(
  plan: TierPlan,
  hardware: Hardware,
  cost: StepCosts,
  dims: { numLayers: number; numExperts: number },
  belady?: { allowed: string | true; gpuKeys: () => Int32Array; freshGpuCache: () => ExpertCache },
): TierSetup {
  if (plan.mode === 'dram') return { cost };
  const read = ssdReadCost(hardware.storage!);
  if (plan.mode === 'ssd-direct') {
    if (hardware.storage!.burst) throw new InputError('hardware.storage.burst: a token bucket is simulated on the host tier\'s SSD reads (a host tier in front of the SSD); this plan fetches from the SSD straight to the GPU (unified memory or hostTier.gpuDirect): remove the burst or use a host tier');
    return { cost: storageLinkCosts(cost, read), direct: true };
  }
  const L = dims.numLayers;
  const E = dims.numExperts;
  const cap = plan.hostCapacityExperts;
  let nextUse: Int32Array | undefined;
  let firstUse: Int32Array | undefined;
  if (plan.spec.policy === 'belady') {
    if (!belady || belady.allowed !== true) throw new InputError(`hostTier.policy: belady on the host tier needs its whole access order before the run: ${belady ? belady.allowed : 'not available here'}`);
    const keys = hostAccessKeys(belady.gpuKeys(), belady.freshGpuCache());
    nextUse = nextUseOf(keys, L * E);
    // A warm tier holds keys before their first access: MIN ranks them by it (session 27).
    firstUse = firstUseOf(keys, L * E);
  }
  const policy = cachePolicies[plan.spec.policy].create({ numLayers: L, numExperts: E, capacityPerScope: cap, scopes: 1, nextUse, firstUse });
  const cache = new ExpertCache(L, E, cap, false, policy);
  // Warm: the first experts of the model file (layer-major) that fit, loaded in order.
  if (plan.spec.initial === 'warm') for (let k = 0; k < Math.min(cap, L * E); k++) cache.insert(k);
  return { cost, host: new HostTier(cache, cost.expertBytes, read, hardware.storage!.burst) };
}

/**
 * A unified pool that holds every expert, warm (TierPlan.poolHoldsAll): the GPU's cache is that
 * pool, so a fetch-on-miss cache starts with every expert in it (a static placement keeps its pins).
 */
export function fillPool(poolHoldsAll: boolean | undefined, fillsOnMiss: boolean, cache: ExpertCache, keys: number): void {
  if (poolHoldsAll && fillsOnMiss) for (let k = 0; k < keys; k++) cache.insert(k);
}

/** The TierMetrics of a run. */
export function tierMetrics(plan: TierPlan, hardware: Hardware, counters: SimCounters, host: HostTier | undefined): TierMetrics {
  const direct = plan.mode === 'ssd-direct';
  const t = host?.counters;
  const ms = (s: number) => s * 1e3;
  return {
    mode: plan.mode,
    ...(hardware.storage ? { storage: hardware.storage.name } : {}),
    hostDram: {
      availableBytes: plan.availableBytes,
      neededBytes: plan.neededBytes,
      capacityExperts: plan.mode === 'three-tier' ? plan.hostCapacityExperts : 0,
      ...(plan.mode === 'three-tier' ? { policy: plan.spec.policy, initial: plan.spec.initial } : {}),
    },
    bytes: { ssdToHost: t?.bytesSsdToHost ?? 0, hostToGpu: direct ? 0 : counters.bytesH2D, ssdToGpu: direct ? counters.bytesH2D : 0 },
    ...(t
      ? {
          host: { requests: t.hostRequests, hits: t.hostHits, misses: t.hostMisses, lateStaged: t.hostLateStaged, evictions: t.hostEvictions, hitRate: t.hostRequests === 0 ? 0 : t.hostHits / t.hostRequests },
          ssd: { reads: t.ssdReads, demandReads: t.ssdDemandReads, stagedReads: t.ssdStagedReads, stagedUsed: t.ssdStagedUsed, busyMs: ms(t.ssdBusySec), demandWaitMs: ms(t.ssdDemandWaitSec) },
        }
      : {}),
    busyMs: { gpu: ms(counters.gpuBusySec), hostToGpu: direct ? 0 : ms(counters.linkBusySec), ssdToGpu: direct ? ms(counters.linkBusySec) : 0, ssdToHost: ms(t?.ssdBusySec ?? 0) },
  };
}
