/**
 * Prefetch-plan reconciliation: the prefetch policy writes a plan (policies/prefetch/types.ts), and
 * this file makes the world agree with it. At the start of each pass (known = 0) and after each
 * gate (known = l + 1) reconcile() asks the policy for a plan of the layers >= known, then
 *
 *   - fetches, in plan order, what it names that is neither resident nor on its way (reserving a
 *     cache slot, locked until the transfer arrives; with a storage tier, what is not in host DRAM
 *     is staged there from the SSD first, and a later plan fetches it);
 *   - pins what it names that is resident (locked until its layer's gate: never a victim), and
 *     raises queued prefetches it names to the plan's priority;
 *   - unpins what it no longer names and, if the policy cancels (cancelStale), cancels queued
 *     prefetches it no longer names, freeing their slots.
 *
 * It decides nothing itself (the policy does) and charges through the ledger (ledger.ts); the loop
 * (offload-sim.ts) calls it and asks it, at each gate, which experts the plan named.
 */
import type { BandwidthLink } from '../engine/resource.js';
import { BYPASSED, type ExpertCache } from '../policies/expert-cache.js';
import type { PrefetchPlan, PrefetchPolicy, PrefetchView } from '../policies/prefetch/types.js';
import type { PredictorDriver } from '../predictors/driver.js';
import { fetchInto, type InFlight } from './inflight.js';
import { LINK_PREFETCH, linkJob } from './jobs.js';
import { BUF_DROPPED, BUF_WAITING, type PrefetchBuffers } from './prefetch-buffers.js';
import type { Ledger } from './ledger.js';
import type { LoopPosition, SimObserver } from './observers.js';
import type { TierHook } from './tiers.js';

export const PRIORITY_DEMAND = 0;
/** Prefetches queue at PRIORITY_PREFETCH + the plan's priority (0 = most urgent). */
export const PRIORITY_PREFETCH = 1;

export interface Prefetcher {
  policy: PrefetchPolicy;
  predictor: PredictorDriver;
}

/** What the plan works on: the loop's world. */
export interface PlanWorld {
  readonly numLayers: number;
  readonly numExperts: number;
  readonly topK: number;
  readonly cache: ExpertCache;
  readonly link: BandwidthLink;
  readonly inflight: InFlight;
  readonly ledger: Ledger;
  readonly observer: SimObserver | null;
  readonly tiers?: TierHook;
  readonly expertBytes: number;
  /** StepCosts.evictWriteBackSec: link seconds of copying an evicted expert back to the host (0: none). */
  readonly writeBackSec: number;
  /** Prefetches land in these buffers instead of cache slots (PrefetchPolicy.buffers); null: into slots. */
  readonly buffers: PrefetchBuffers | null;
  readonly at: LoopPosition;
}

export class PrefetchReconciler {
  private readonly L: number;
  private readonly E: number;
  /** Plan generation that last named the key. */
  private readonly planned: Int32Array;
  private planGen = 0;
  private readonly plannedPerLayer: Int32Array;
  /** Keys pinned by the plan (1 per key), and the list of them. */
  private readonly pinned: Uint8Array;
  private pinKeys: Int32Array;
  private pinCount = 0;
  /** Prefetches issued and possibly still queued. */
  private prefetchKeys: Int32Array;
  private prefetchCount = 0;
  /** The plan being written (keys and priorities), and the known layers it was made with. */
  private planKeys: Int32Array;
  private planPrio: Int32Array;
  private planCount = 0;
  private planKnown = 0;
  private agreed = false;
  private readonly view: PrefetchView;
  private readonly out: PrefetchPlan;

  constructor(
    private readonly pf: Prefetcher,
    private readonly w: PlanWorld,
  ) {
    this.L = w.numLayers;
    this.E = w.numExperts;
    const nKeys = this.L * this.E;
    this.planned = new Int32Array(nKeys).fill(-1);
    this.plannedPerLayer = new Int32Array(this.L);
    this.pinned = new Uint8Array(nKeys);
    this.pinKeys = new Int32Array(64);
    this.prefetchKeys = new Int32Array(64);
    this.planKeys = new Int32Array(64);
    this.planPrio = new Int32Array(64);
    const self = this;
    this.view = {
      numLayers: this.L,
      numExperts: this.E,
      topK: w.topK,
      get stepTokens() {
        return w.at.step!.count;
      },
      get setValued() {
        return pf.predictor.setValued;
      },
      get gateAgreed() {
        return self.agreed;
      },
      scores(layer, out) {
        pf.predictor.stepScores(w.at.step!, self.planKnown, layer, out);
      },
    };
    this.out = {
      add(key, priority) {
        if (self.planCount === self.planKeys.length) {
          self.planKeys = grow(self.planKeys);
          self.planPrio = grow(self.planPrio);
        }
        self.planKeys[self.planCount] = key;
        self.planPrio[self.planCount++] = priority;
      },
    };
  }

  /** Whether the plan in force names `key`. */
  named(key: number): boolean {
    return this.planned[key] === this.planGen;
  }

  /** Experts the plan in force names at `layer`. */
  plannedAt(layer: number): number {
    return this.plannedPerLayer[layer];
  }

  /** The gate of `layer` has come: its planned experts are unpinned (the gate looks them up now). */
  gateOpened(layer: number): void {
    let w = 0;
    const E = this.E;
    const cache = this.w.cache;
    for (let i = 0; i < this.pinCount; i++) {
      const key = this.pinKeys[i];
      if (((key / E) | 0) === layer) {
        this.pinned[key] = 0;
        cache.unlock(key);
      } else this.pinKeys[w++] = key;
    }
    this.pinCount = w;
  }

  /** The gate of `layer` chose `actual` experts, `correct` of them planned: the policy hears whether the plan agreed. */
  gateClosed(layer: number, actual: number, correct: number): void {
    this.agreed = correct === actual && this.plannedPerLayer[layer] === actual;
  }

  /** Every MoE layer of the step is computed: the predictor learns the step's routing. */
  stepRouted(): void {
    this.pf.predictor.observeStep(this.w.at.step!);
  }

  /** Applies the policy's plan made with the routing known at layers < known (see the file's comment). */
  reconcile(known: number): void {
    const { cache, link, inflight, ledger, observer, tiers, expertBytes, writeBackSec, buffers } = this.w;
    const E = this.E;
    this.planCount = 0;
    this.planKnown = known;
    if (known === 0) this.agreed = false;
    if (this.pf.policy.plan(this.view, known, this.out) === false) return;
    const gen = ++this.planGen;
    this.plannedPerLayer.fill(0);
    // Pass 1: mark the plan, pin what it names (so that no fetch below evicts a planned expert),
    // and raise the priority of planned prefetches still queued.
    let w = 0;
    for (let i = 0; i < this.planCount; i++) {
      const key = this.planKeys[i];
      const layer = (key / E) | 0;
      if (layer < known || layer >= this.L || this.planned[key] === gen) continue;
      this.planned[key] = gen;
      this.plannedPerLayer[layer]++;
      this.planKeys[w] = key;
      this.planPrio[w++] = this.planPrio[i];
      if (inflight.job[key] >= 0 && inflight.isPrefetch[key] === 1) inflight.reprioritize(key, PRIORITY_PREFETCH + this.planPrio[i]);
      if (cache.resident[key] === 1) this.pin(key);
    }
    // Pass 2: fetch, in plan order, what is neither resident nor on its way.
    for (let i = 0; i < w; i++) {
      const key = this.planKeys[i];
      if (cache.resident[key] === 1) continue;
      if (buffers !== null) {
        this.toBuffer(buffers, key, PRIORITY_PREFETCH + this.planPrio[i]);
        continue;
      }
      // Not in host DRAM: stage it there from the SSD first; a later plan fetches it to the GPU.
      if (tiers && !tiers.stage(key, PRIORITY_PREFETCH + this.planPrio[i])) continue;
      const outcome = cache.insert(key);
      if (outcome === BYPASSED) {
        ledger.prefetchRefused();
        continue;
      }
      if (outcome >= 0) {
        observer?.evicted(outcome, key);
        ledger.evicted(outcome);
      }
      cache.lock(key); // in flight
      inflight.job[key] = fetchInto(link, expertBytes, outcome, writeBackSec, PRIORITY_PREFETCH + this.planPrio[i], linkJob(key, LINK_PREFETCH), 0);
      inflight.isPrefetch[key] = 1;
      if (this.prefetchCount === this.prefetchKeys.length) this.prefetchKeys = grow(this.prefetchKeys);
      this.prefetchKeys[this.prefetchCount++] = key;
      ledger.prefetchIssued();
      this.pin(key);
    }
    // Unpin what the plan no longer names.
    w = 0;
    for (let i = 0; i < this.pinCount; i++) {
      const key = this.pinKeys[i];
      if (this.planned[key] === gen) this.pinKeys[w++] = key;
      else {
        this.pinned[key] = 0;
        cache.unlock(key);
      }
    }
    this.pinCount = w;
    // Cancel queued prefetches the plan no longer names; forget those that left the queue.
    const cancel = this.pf.policy.cancelStale;
    w = 0;
    for (let i = 0; i < this.prefetchCount; i++) {
      const key = this.prefetchKeys[i];
      if (inflight.isPrefetch[key] === 0) continue;
      if (cancel && this.planned[key] !== gen && inflight.cancelQueued(key)) {
        observer?.cancelled(key);
        if (buffers !== null && buffers.state[key] !== 0) buffers.free(key);
        else {
          cache.unlock(key);
          cache.evict(key);
        }
        ledger.prefetchCancelled();
        continue;
      }
      this.prefetchKeys[w++] = key;
    }
    this.prefetchCount = w;
  }

  /** Drops every queued prefetch (the run is over): they never moved a byte and are not counted as issued. */
  cancelAll(): void {
    const { cache, inflight, ledger, observer, buffers } = this.w;
    for (let i = 0; i < this.prefetchCount; i++) {
      const key = this.prefetchKeys[i];
      if (inflight.isPrefetch[key] === 0) continue;
      if (!inflight.cancelQueued(key)) continue;
      observer?.cancelled(key);
      if (buffers !== null && buffers.state[key] !== 0) {
        buffers.free(key);
        ledger.prefetchDropped();
        continue;
      }
      cache.unlock(key);
      if (this.pinned[key] === 1) {
        this.pinned[key] = 0;
        cache.unlock(key);
      }
      cache.evict(key);
      ledger.prefetchDropped();
    }
    this.prefetchCount = 0;
  }

  /** A prefetch into a free device buffer (PrefetchWorld.buffers): no cache slot, no victim. */
  private toBuffer(buffers: PrefetchBuffers, key: number, priority: number): void {
    const { link, inflight, ledger, expertBytes } = this.w;
    const b = buffers.state[key];
    if (b === BUF_WAITING) return;
    if (b === BUF_DROPPED) {
      // Named again while its copy is still on the link: it waits for its gate again.
      buffers.state[key] = BUF_WAITING;
      ledger.prefetchRenamed();
      return;
    }
    if (buffers.full) {
      ledger.prefetchRefused();
      return;
    }
    buffers.take(key);
    inflight.job[key] = link.transfer(expertBytes, priority, linkJob(key, LINK_PREFETCH), 0);
    inflight.isPrefetch[key] = 1;
    if (this.prefetchCount === this.prefetchKeys.length) this.prefetchKeys = grow(this.prefetchKeys);
    this.prefetchKeys[this.prefetchCount++] = key;
    ledger.prefetchIssued();
  }

  private pin(key: number): void {
    if (this.pinned[key] === 1) return;
    this.pinned[key] = 1;
    this.w.cache.lock(key);
    if (this.pinCount === this.pinKeys.length) this.pinKeys = grow(this.pinKeys);
    this.pinKeys[this.pinCount++] = key;
  }
}

function grow(a: Int32Array): Int32Array {
  const g = new Int32Array(a.length * 2);
  g.set(a);
  return g;
}
