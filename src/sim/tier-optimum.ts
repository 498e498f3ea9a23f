/**
 * Issue 16 item 2: the offline optimum of serving an access sequence through both memory tiers
 * jointly (GPU HBM <- host DRAM <- SSD), as an integer program solved by HiGHS, and its LP
 * relaxation as a lower bound where the integer program is too large.
 *
 * The hierarchy modelled is the simulator's (tiers.ts, tier-plan.ts): neither inclusive nor
 * exclusive. An access the GPU cache holds costs nothing and touches host DRAM not at all; one it
 * misses is copied host -> GPU (c_hg, the host link's time for one expert) if host DRAM holds the
 * expert, else read SSD -> host DRAM first (c_s, the SSD's read time for one expert), admitted into
 * host DRAM (it takes a slot there) and then copied. A GPU eviction writes nothing back (expert
 * weights are read-only), so DRAM keeps or drops its own copy independently. SSD reads happen only
 * at GPU misses (fetch on miss, no staging ahead), and the GPU starts empty; host DRAM starts with
 * the simulator's warm set (hostTier.initial: warm) or empty. The GPU cache's capacity is per
 * scope (per layer, or one scope) as the policy's cache is; host DRAM is one scope (setupTiers).
 * The access sequence is the simulator's (trace/union.ts accessKeys: per step, per layer, the
 * batch's union of experts), the same one Belady's bound runs on.
 *
 * Program, for the accesses t = 0..N-1 of keys k_t, prev(t) / next(t) the previous / next access
 * of the same key. Between two accesses of a key, holding it is all-or-nothing (dropping it later
 * than at once never helps: nothing can be added to a tier between accesses of its key, since
 * fetches happen at accesses), so the decisions are per interval (t, next(t)):
 *
 *   g_t  in {0,1}  the GPU keeps k_t from t to next(t)          (cost -c_hg: a GPU hit at next(t))
 *   d_t  in {0,1}  host DRAM keeps k_t from t to next(t)
 *   d0_e in {0,1}  host DRAM keeps an initially resident e until its first access
 *   a_t  in {0,1}  an SSD read at t                               (cost c_s)
 *
 *   with G_t = g_prev(t) (0 at a first access) and D_t = d_prev(t) (d0 of k_t, or 0, at a first access):
 *   serve:           G_t + D_t + a_t >= 1     (a GPU miss is served from DRAM or from the SSD)
 *   read on a miss:  a_t + G_t <= 1,  a_t + D_t <= 1
 *   DRAM keeps only what it has:  d_t <= D_t + a_t
 *   GPU capacity:    1 + sum of g over the scope's intervals strictly spanning t <= C_g   (per scope)
 *   DRAM capacity:   D_t + a_t + sum of d (and d0) over intervals strictly spanning t <= C_h
 *
 * objective c_hg * (N - sum g) + c_s * sum a: the host link's and the SSD's busy time to serve the
 * sequence (seconds; both links move whole experts, so bytes are these counts times the expert
 * size). The spanning sums are carried by occupancy columns (S per scope, R for DRAM) updated at each
 * access, so the matrix has O(N) entries. One tier alone (g only, its capacity rows) is an interval
 * matrix (consecutive ones in each column), totally unimodular, so its LP is integral: that is
 * Belady's MIN as a linear program. The two tiers' coupling rows (serve, d_t <= D_t + a_t) break
 * that structure; no proof or citation that the joint LP is integral was found, so the program is
 * solved as a MIP, and `lpIntegral` reports whether its relaxation happened to be.
 */
import type { Highs } from 'highs';
import { ExpertCache } from '../policies/expert-cache.js';
import { cachePolicies } from '../policies/index.js';
import { firstUseOf, nextUseOf } from '../policies/belady.js';
import { CsrRows, highsSolver, loadMip, MIP_STATUS, MipColumns, mipInfo } from '../util/highs.js';
import { hostAccessKeys } from './tiers.js';

/** One access sequence through GPU HBM <- host DRAM <- SSD. */
export interface TwoTierInstance {
  /** The GPU's accesses, keys layer * numExperts + expert. */
  keys: Int32Array;
  numLayers: number;
  numExperts: number;
  /** The GPU cache: experts per scope, and whether a scope is a layer (else one scope). */
  gpuCapacityPerScope: number;
  gpuPerLayer: boolean;
  /** Experts host DRAM holds (one scope). */
  hostCapacity: number;
  /** Host DRAM starts with the first hostCapacity keys (hostTier.initial: warm), else empty. */
  hostWarm: boolean;
  /** Seconds of one expert's copy host -> GPU, and of its SSD read. */
  hostToGpuSec: number;
  ssdReadSec: number;
}

/** What serving the sequence moved, and its cost in link seconds. */
export interface TwoTierCost {
  gpuFetches: number;
  ssdReads: number;
  transferSec: number;
}

export const transferSec = (inst: Pick<TwoTierInstance, 'hostToGpuSec' | 'ssdReadSec'>, gpuFetches: number, ssdReads: number) => gpuFetches * inst.hostToGpuSec + ssdReads * inst.ssdReadSec;

/**
 * The sequence served by the shipped caches on both tiers (the flat-sequence model: the simulator's
 * counts for fetch on miss, no prefetching, a batch workload): `gpu` on the GPU, `host` on host DRAM
 * fed by the GPU's misses, host DRAM warm as setupTiers fills it. belady on both is per-tier Belady
 * composed: the GPU's optimum, then host DRAM's on what the GPU misses.
 */
export function composedCost(inst: TwoTierInstance, gpu: 'lru' | 'lfu' | 'belady', host: 'lru' | 'lfu' | 'belady'): TwoTierCost {
  const { numLayers: L, numExperts: E } = inst;
  const scopes = inst.gpuPerLayer ? L : 1;
  const gpuCache = () => {
    const nextUse = gpu === 'belady' ? nextUseOf(inst.keys, L * E) : undefined;
    const policy = cachePolicies[gpu].create({ numLayers: L, numExperts: E, capacityPerScope: inst.gpuCapacityPerScope, scopes, nextUse });
    return new ExpertCache(L, E, inst.gpuCapacityPerScope, inst.gpuPerLayer, policy);
  };
  const misses = hostAccessKeys(inst.keys, gpuCache());
  const nextUse = host === 'belady' ? nextUseOf(misses, L * E) : undefined;
  const firstUse = host === 'belady' ? firstUseOf(misses, L * E) : undefined;
  const policy = cachePolicies[host].create({ numLayers: L, numExperts: E, capacityPerScope: inst.hostCapacity, scopes: 1, nextUse, firstUse });
  const dram = new ExpertCache(L, E, inst.hostCapacity, false, policy);
  if (inst.hostWarm) for (let k = 0; k < Math.min(inst.hostCapacity, L * E); k++) dram.insert(k);
  const hostHits = dram.accessMany(misses, 0, misses.length);
  const ssdReads = misses.length - hostHits;
  return { gpuFetches: misses.length, ssdReads, transferSec: transferSec(inst, misses.length, ssdReads) };
}

export interface JointSolution {
  /** 'mip': the integer program; 'lp': its relaxation only (a lower bound). */
  method: 'mip' | 'lp';
  /** HiGHS's model status. */
  status: string;
  /** Proven optimal (MIP, gap 0). */
  exact: boolean;
  /** The best schedule found (MIP): its cost and counts. Absent without one. */
  best?: TwoTierCost;
  /** A proven lower bound on the optimum's link seconds (the MIP's dual bound, or the LP's value). */
  lowerBoundSec: number;
  /** (best - bound) / best, percent (MIP with a schedule). */
  gapPct?: number;
  /** Whether the LP relaxation's solution was integral (method lp). */
  lpIntegral?: boolean;
  columns: number;
  rows: number;
}

/** The program's columns and rows (exported for tests that break it on purpose). */
export function buildJointProgram(inst: TwoTierInstance, infinity: number) {
  const { keys } = inst;
  const N = keys.length;
  const K = inst.numLayers * inst.numExperts;
  const Cg = inst.gpuCapacityPerScope;
  const Ch = inst.hostCapacity;
  if (!(Cg >= 1 && Ch >= 1)) throw new Error(`the joint program needs a GPU and a host DRAM capacity of at least one expert (got ${Cg}, ${Ch})`);
  const next = nextUseOf(keys, K);
  const prev = new Int32Array(N);
  const last = new Int32Array(K).fill(-1);
  for (let t = 0; t < N; t++) {
    prev[t] = last[keys[t]];
    last[keys[t]] = t;
  }
  // Initially resident keys that are accessed: their d0 column.
  const d0Of = new Int32Array(K).fill(-1);
  let n0 = 0;
  if (inst.hostWarm) for (let k = 0; k < Math.min(Ch, K); k++) if (last[k] >= 0) d0Of[k] = n0++;
  const gCol = (t: number) => t;
  const dCol = (t: number) => N + t;
  const aCol = (t: number) => 2 * N + t;
  const d0Col = (j: number) => 3 * N + j;
  const sCol = (t: number) => 3 * N + n0 + t;
  const rCol = (t: number) => 4 * N + n0 + t;
  const cols = new MipColumns(5 * N + n0);
  for (let t = 0; t < N; t++) {
    cols.cost[gCol(t)] = -inst.hostToGpuSec;
    cols.cost[aCol(t)] = inst.ssdReadSec;
    if (next[t] < 0) cols.upper[gCol(t)] = cols.upper[dCol(t)] = 0;
    cols.upper[sCol(t)] = Cg - 1;
    cols.upper[rCol(t)] = Ch;
  }
  const binaries = 3 * N + n0;
  const rows = new CsrRows();
  const scopeOf = (k: number) => (inst.gpuPerLayer ? Math.floor(k / inst.numExperts) : 0);
  const lastInScope = new Int32Array(inst.gpuPerLayer ? inst.numLayers : 1).fill(-1);
  // R[0]: the initially resident keys kept past access 0.
  const r0: [number, number][] = [[rCol(0), 1]];
  for (let k = 0; k < K; k++) if (d0Of[k] >= 0 && (N === 0 || keys[0] !== k)) r0.push([d0Col(d0Of[k]), -1]);
  if (N > 0) rows.add(r0, 0, 0);
  for (let t = 0; t < N; t++) {
    const k = keys[t];
    const p = prev[t];
    const G = p >= 0 ? gCol(p) : -1;
    const D = p >= 0 ? dCol(p) : d0Of[k] >= 0 ? d0Col(d0Of[k]) : -1;
    const a = aCol(t);
    const serve: [number, number][] = [[a, 1]];
    if (G >= 0) serve.push([G, 1]);
    if (D >= 0) serve.push([D, 1]);
    rows.add(serve, 1, infinity);
    // Redundant in the MIP (an SSD read on a GPU hit or a DRAM hit is never cheaper than one deferred
    // to the miss that needs it: removing these rows changes no optimum in the tests); they keep the
    // program to the simulator's reads and tighten the LP.
    if (G >= 0) rows.add([[a, 1], [G, 1]], -infinity, 1);
    if (D >= 0) rows.add([[a, 1], [D, 1]], -infinity, 1);
    if (next[t] >= 0) rows.add(D >= 0 ? [[dCol(t), 1], [D, -1], [a, -1]] : [[dCol(t), 1], [a, -1]], -infinity, 0);
    // GPU occupancy of k_t's scope at t: the previous access of the scope's, plus its interval if it
    // spans t, less k_t's own interval if it spanned that access.
    const s = scopeOf(k);
    const q = lastInScope[s];
    lastInScope[s] = t;
    if (q < 0) cols.upper[sCol(t)] = 0;
    else {
      const chain: [number, number][] = [[sCol(t), 1], [sCol(q), -1]];
      if (next[q] >= 0 && next[q] !== t) chain.push([gCol(q), -1]);
      if (p >= 0 && p !== q) chain.push([gCol(p), 1]);
      rows.add(chain, 0, 0);
    }
    // Host DRAM occupancy at t (one scope: every access).
    if (t > 0) {
      const chain: [number, number][] = [[rCol(t), 1], [rCol(t - 1), -1]];
      if (next[t - 1] > t) chain.push([dCol(t - 1), -1]);
      if (p >= 0 && p < t - 1) chain.push([dCol(p), 1]);
      else if (p < 0 && d0Of[k] >= 0) chain.push([d0Col(d0Of[k]), 1]);
      rows.add(chain, 0, 0);
    }
    const cap: [number, number][] = [[rCol(t), 1], [a, 1]];
    if (D >= 0) cap.push([D, 1]);
    rows.add(cap, -infinity, Ch);
  }
  return { cols, rows, binaries, offset: inst.hostToGpuSec * N, N, gCol, aCol };
}

export interface JointOptions {
  method: 'mip' | 'lp';
  /** Branch-and-bound nodes (a deterministic stop, never a wall-clock one). */
  maxNodes: number;
}

/** Solves the joint program (or its relaxation) for `inst`. */
export async function jointOptimum(inst: TwoTierInstance, o: JointOptions, highs?: Highs): Promise<JointSolution> {
  const solver = highs ?? (await highsSolver());
  const prog = buildJointProgram(inst, solver.infinity);
  const { cols, rows, N } = prog;
  if (o.method === 'mip') for (let c = 0; c < prog.binaries; c++) cols.integrality[c] = 1;
  const model = solver.createModel();
  try {
    loadMip(model, cols, rows, { maxNodes: o.maxNodes, relGap: 0 }, prog.offset);
    const run = model.run();
    const status = MIP_STATUS[run.modelStatus] ?? `HiGHS model status ${run.modelStatus}`;
    const base = { method: o.method, status, columns: cols.count, rows: rows.count };
    const hasSolution = mipInfo(model, 'primal_solution_status') === 2;
    const value = mipInfo(model, 'objective_function_value');
    const counts = () => {
      const x = model.getSolution().colValue;
      let kept = 0;
      let reads = 0;
      for (let t = 0; t < N; t++) {
        kept += Math.round(x[prog.gCol(t)]);
        reads += Math.round(x[prog.aCol(t)]);
      }
      return { gpuFetches: N - kept, ssdReads: reads, transferSec: transferSec(inst, N - kept, reads) };
    };
    if (o.method === 'lp') {
      if (status !== 'Optimal' || !hasSolution) return { ...base, exact: false, lowerBoundSec: NaN };
      const x = model.getSolution().colValue;
      let integral = true;
      for (let c = 0; c < prog.binaries; c++) if (Math.abs(x[c] - Math.round(x[c])) > 1e-6) integral = false;
      // An integral relaxed optimum is a schedule, hence the optimum.
      return integral ? { ...base, exact: true, best: counts(), lowerBoundSec: value, lpIntegral: true } : { ...base, exact: false, lowerBoundSec: value, lpIntegral: false };
    }
    const dual = mipInfo(model, 'mip_dual_bound');
    if (!hasSolution) return { ...base, exact: false, lowerBoundSec: dual };
    const best = counts();
    const exact = status === 'Optimal';
    const lowerBoundSec = exact ? best.transferSec : Math.min(best.transferSec, dual);
    return { ...base, exact, best, lowerBoundSec, gapPct: best.transferSec > 0 ? (100 * (best.transferSec - lowerBoundSec)) / best.transferSec : 0 };
  } finally {
    model.dispose();
  }
}
