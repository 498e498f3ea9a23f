/**
 * MoETuner's two programs as its body describes them (Go & Mahajan, arXiv 2502.06643; the body is
 * read here only through a third-party summary, uni042/llm-paper-summary@be02ea496b2c1225ba16142b62b3b233ceeb99ba
 * papers/inference/04-moe-parallelism-communication/2025-2502.06643-moetuner-balanced-expert-placement-token-routing.md,
 * sections 第1 ILP / 第2 ILP; the paper's own equations could not be read), solved by HiGHS:
 *
 * ILP 1, token-balanced clusters (one program per layer: its objective is a sum over layers and
 * clusters, so it separates): binaries x[e][c] put each of the layer's E experts in one of G clusters,
 * every cluster non-empty; minimise sum_c |sum_e load[e] x[e][c] - mean| (mean = the layer's routes / G).
 * A cluster's expert count is free ("not simply splitting the expert count": a hot expert may sit
 * with fewer others).
 *
 * ILP 2, clusters to GPUs: per layer a one-to-one map y[l][c][g]; the traffic between cluster c of
 * layer l-1 and cluster c' of layer l is T = sum of the expert-pair transitions F[l][a][b] (stats.ts
 * layerFlow) over a in c, b in c'; a GPU pair (g, h), g != h, carries sum T[c][c'] over c on g and c'
 * on h, priced at that pair's seconds per token (its bandwidth: intra- or inter-node); minimise the sum
 * over layer pairs of the heaviest directed GPU pair's cost, subject to every GPU holding the same
 * number of experts over the whole model (L E / G; the memory balance the summary states). The product
 * y[l-1][c][g] y[l][c'][h] is linearised exactly for one-to-one maps by continuous w[c][c'][g][h] with
 * sum_h w = y[l-1][c][g] and sum_g w = y[l][c'][h] (each (c, c') pair is one cell of a transport
 * between the two layers' GPU maps).
 *
 * Where G! is small (G <= 5) ILP 2 is solved exactly by dynamic programming instead (clusterMapChain:
 * each layer pair's term depends on the two layers' maps only, and the memory row is carried as each
 * GPU's running expert count; HiGHS on this program, limited to 200 nodes, had not returned after
 * 8 minutes at Mixtral's 32 layers on 4 GPUs here); HiGHS solves it above that. When ILP 2 has no feasible map (the cluster sizes cannot be
 * permuted to equal totals), ILP 1 is re-solved with exactly E / G experts per cluster, said in the
 * note (moesim's choice; the summary does not say what MoETuner does then).
 *
 * The solver stops at relGap or maxNodes (deterministic; an optional timeLimitSec adds a wall-clock limit
 * and makes the result machine-dependent: at 8 GPUs ILP 2 by HiGHS had not returned in 5 minutes
 * under a 200-node limit for 3 layers of 64 experts here). MoETuner used Gurobi 12.0.0 with a tolerance
 * of 0.025 (the summary's 実装 line); the scenarios set relGap: 0.025.
 */
import { CsrRows, highsSolver, loadMip, MIP_STATUS, MipColumns, mipInfo, range } from './ilp.js';
import { layerFlow, routeLoad } from './stats.js';
import type { PlacementContext, Placement, PlacementPlan } from './types.js';
import { placementFromLists } from './types.js';

export interface TwoStageOptions {
  maxNodes: number;
  relGap: number;
  /** Optional wall-clock limit of each HiGHS run, seconds (machine-dependent; off by default). */
  timeLimitSec?: number;
}

/** HiGHS's model status in words (its node limit reports as the solution limit). */

/** ILP 1's objective for one layer: sum over clusters of |cluster routes - mean|. */
export function clusterDeviation(load: ArrayLike<number>, cluster: ArrayLike<number>, G: number): number {
  const per = new Float64Array(G);
  let total = 0;
  for (let e = 0; e < load.length; e++) {
    per[cluster[e]] += load[e];
    total += load[e];
  }
  let d = 0;
  for (let c = 0; c < G; c++) d += Math.abs(per[c] - total / G);
  return d;
}

/**
 * A start for ILP 1: the heaviest expert first into the lightest cluster that still has room (every
 * cluster kept fillable: a cluster left empty takes the next expert once only as many experts remain
 * as empty clusters); with `size`, at most `size` experts a cluster.
 */
export function greedyClusters(load: ArrayLike<number>, G: number, size?: number): Int32Array {
  const E = load.length;
  const order = Array.from({ length: E }, (_, e) => e).sort((a, b) => load[b] - load[a] || a - b);
  const sum = new Float64Array(G);
  const count = new Int32Array(G);
  const cluster = new Int32Array(E);
  for (const [i, e] of order.entries()) {
    const empty = count.reduce((n, c) => n + (c === 0 ? 1 : 0), 0);
    let best = -1;
    for (let c = 0; c < G; c++) {
      if (size !== undefined && count[c] >= size) continue;
      if (E - i <= empty && count[c] > 0) continue;
      if (best < 0 || sum[c] < sum[best]) best = c;
    }
    cluster[e] = best;
    sum[best] += load[e];
    count[best]++;
  }
  // Relabel so that expert 0 is in cluster 0 (the program's symmetry row).
  const c0 = cluster[0];
  for (let e = 0; e < E; e++) cluster[e] = cluster[e] === c0 ? 0 : cluster[e] === 0 ? c0 : cluster[e];
  return cluster;
}

/**
 * ILP 1 for one layer: cluster[e] in 0..G-1, every cluster non-empty (and of exactly `size` experts
 * when given). Expert 0 is put in cluster 0 (the clusters are interchangeable). HiGHS starts from
 * greedyClusters (setSolution), so a node limit returns at worst that start.
 */
export async function clusterLayer(load: ArrayLike<number>, G: number, o: TwoStageOptions, size?: number): Promise<{ cluster: Int32Array; status: string }> {
  const E = load.length;
  if (E < G) throw new Error(`${E} experts cannot fill ${G} non-empty clusters`);
  let total = 0;
  for (let e = 0; e < E; e++) total += load[e];
  const mean = total / G;
  const highs = await highsSolver();
  // Columns: x[e][c], then d[c] (the cluster's deviation from the mean).
  const xCol = (e: number, c: number) => e * G + c;
  const dCol = (c: number) => E * G + c;
  const numCols = E * G + G;
  const cols = new MipColumns(numCols);
  const { cost: colCost, upper: colUpper, integrality } = cols;
  for (let i = 0; i < E * G; i++) integrality[i] = 1;
  for (let c = 0; c < G; c++) {
    colCost[dCol(c)] = 1;
    colUpper[dCol(c)] = highs.infinity;
  }
  for (let c = 1; c < G; c++) colUpper[xCol(0, c)] = 0; // expert 0 in cluster 0
  const rows = new CsrRows();
  const row = (entries: [number, number][], lo: number, hi: number) => rows.add(entries, lo, hi);
  for (let e = 0; e < E; e++) row(Array.from({ length: G }, (_, c): [number, number] => [xCol(e, c), 1]), 1, 1);
  for (let c = 0; c < G; c++) row(Array.from({ length: E }, (_, e): [number, number] => [xCol(e, c), 1]), size ?? 1, size ?? highs.infinity);
  for (let c = 0; c < G; c++) {
    const routes: [number, number][] = [];
    for (let e = 0; e < E; e++) if (load[e] !== 0) routes.push([xCol(e, c), load[e]]);
    row([[dCol(c), 1], ...routes.map(([i, v]): [number, number] => [i, -v])], -mean, highs.infinity); // d >= routes - mean
    row([[dCol(c), 1], ...routes], mean, highs.infinity); // d >= mean - routes
  }
  const start = greedyClusters(load, G, size);
  const model = highs.createModel();
  try {
    loadMip(model, cols, rows, o);
    const colValue = new Float64Array(numCols);
    const per = new Float64Array(G);
    for (let e = 0; e < E; e++) {
      colValue[xCol(e, start[e])] = 1;
      per[start[e]] += load[e];
    }
    for (let c = 0; c < G; c++) colValue[dCol(c)] = Math.abs(per[c] - mean);
    model.setSolution({ colValue });
    const run = model.run();
    const status = MIP_STATUS[run.modelStatus] ?? `HiGHS model status ${run.modelStatus}`;
    const primal = mipInfo(model, 'primal_solution_status');
    const cluster = new Int32Array(E).fill(-1);
    if (primal === 2) {
      const x = model.getSolution().colValue;
      for (let e = 0; e < E; e++) for (let c = 0; c < G; c++) if (x[xCol(e, c)] > 0.5) cluster[e] = c;
    }
    if (cluster.some((c) => c < 0)) return { cluster: start, status: `${status} without an assignment (the greedy start kept)` };
    // The start is HiGHS's incumbent from the outset, so its answer is never worse; kept only if strictly better.
    return clusterDeviation(load, cluster, G) < clusterDeviation(load, start, G) ? { cluster, status } : { cluster: start, status: `${status} (the greedy start)` };
  } finally {
    model.dispose();
  }
}

export interface ClusterMapProgram {
  numLayers: number;
  gpus: number;
  /** traffic[(l - 1) * G * G + c * G + c'] for l = 1..L-1: transitions from cluster c of layer l-1 to c' of layer l. */
  traffic: ArrayLike<number>;
  /** size[l * G + c]: experts in cluster c of layer l. */
  size: ArrayLike<number>;
  /** price[g * G + h]: nanoseconds of one token from GPU g to GPU h (0 on the diagonal; nanoseconds keep the solver's coefficients near 1). */
  price: ArrayLike<number>;
  /** Experts every GPU holds over the whole model. */
  perGpu: number;
}

/** ILP 2's objective for gpuOf[l * G + c]: sum over layer pairs of the heaviest directed GPU pair (nanoseconds). */
export function clusterMapObjective(p: ClusterMapProgram, gpuOf: ArrayLike<number>): number {
  const { numLayers: L, gpus: G } = p;
  const pair = new Float64Array(G * G);
  let total = 0;
  for (let l = 1; l < L; l++) {
    pair.fill(0);
    for (let c = 0; c < G; c++) for (let d = 0; d < G; d++) {
      const g = gpuOf[(l - 1) * G + c], h = gpuOf[l * G + d];
      if (g !== h) pair[g * G + h] += p.traffic[(l - 1) * G * G + c * G + d] * p.price[g * G + h];
    }
    let m = 0;
    for (let i = 0; i < G * G; i++) if (pair[i] > m) m = pair[i];
    total += m;
  }
  return total;
}

/** Whether every GPU holds p.perGpu experts over the model under gpuOf. */
export function memoryBalanced(p: ClusterMapProgram, gpuOf: ArrayLike<number>): boolean {
  const held = new Float64Array(p.gpus);
  for (let l = 0; l < p.numLayers; l++) for (let c = 0; c < p.gpus; c++) held[gpuOf[l * p.gpus + c]] += p.size[l * p.gpus + c];
  return held.every((n) => n === p.perGpu);
}

function permutations(G: number): Int32Array[] {
  const out: Int32Array[] = [];
  const cur = new Int32Array(G);
  const used = new Uint8Array(G);
  const rec = (i: number) => {
    if (i === G) {
      out.push(Int32Array.from(cur));
      return;
    }
    for (let g = 0; g < G; g++) {
      if (used[g]) continue;
      used[g] = 1;
      cur[i] = g;
      rec(i + 1);
      used[g] = 0;
    }
  };
  rec(0);
  return out;
}

/**
 * ILP 2 exactly, memory row included, by dynamic programming over the layers' G! maps (G <= 5): the
 * state is (this layer's map, each GPU's experts so far minus P per layer), and a state whose excess
 * the remaining layers cannot bring back to zero is dropped. With every cluster of P experts the
 * excess stays zero and this is the plain chain over maps. `objective` Infinity: no balanced map.
 */
export function clusterMapChain(p: ClusterMapProgram): { gpuOf: Int32Array; objective: number; states: number } {
  const { numLayers: L, gpus: G } = p;
  const perms = permutations(G);
  const S = perms.length;
  const P = p.perGpu / L;
  // Largest change of a GPU's excess in each layer, and what the layers after l can still correct.
  const swing = new Float64Array(L);
  for (let l = 0; l < L; l++) for (let c = 0; c < G; c++) swing[l] = Math.max(swing[l], Math.abs(p.size[l * G + c] - P));
  const rest = new Float64Array(L);
  for (let l = L - 2; l >= 0; l--) rest[l] = rest[l + 1] + swing[l + 1];
  const pair = new Float64Array(G * G);
  const term = (l: number, a: Int32Array, b: Int32Array): number => {
    pair.fill(0);
    for (let c = 0; c < G; c++) for (let d = 0; d < G; d++) {
      const g = a[c], h = b[d];
      if (g !== h) pair[g * G + h] += p.traffic[(l - 1) * G * G + c * G + d] * p.price[g * G + h];
    }
    let m = 0;
    for (let i = 0; i < G * G; i++) if (pair[i] > m) m = pair[i];
    return m;
  };
  interface State { j: number; ex: number[]; v: number; prev: string }
  const layers: Map<string, State>[] = [];
  const add = (m: Map<string, State>, st: State, l: number) => {
    if (st.ex.some((x) => Math.abs(x) > rest[l] + 1e-9)) return;
    const key = `${st.j}|${st.ex.join(',')}`;
    const old = m.get(key);
    if (!old || st.v < old.v) m.set(key, st);
  };
  const first = new Map<string, State>();
  for (let j = 0; j < S; j++) add(first, { j, ex: Array.from({ length: G }, (_, g) => p.size[perms[j].indexOf(g)] - P), v: 0, prev: '' }, 0);
  layers.push(first);
  let states = first.size;
  const t = new Float64Array(S * S);
  for (let l = 1; l < L; l++) {
    for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) t[i * S + j] = term(l, perms[i], perms[j]);
    const next = new Map<string, State>();
    for (const [key, st] of layers[l - 1]) {
      for (let j = 0; j < S; j++) {
        const ex = st.ex.slice();
        for (let c = 0; c < G; c++) ex[perms[j][c]] += p.size[l * G + c] - P;
        add(next, { j, ex, v: st.v + t[st.j * S + j], prev: key }, l);
      }
    }
    layers.push(next);
    states += next.size;
  }
  let best: State | undefined;
  for (const st of layers[L - 1].values()) if (st.ex.every((x) => Math.abs(x) < 1e-9) && (!best || st.v < best.v)) best = st;
  const gpuOf = new Int32Array(L * G);
  if (!best) return { gpuOf, objective: Infinity, states };
  const objective = best.v;
  for (let l = L - 1; l >= 0; l--) {
    gpuOf.set(perms[best!.j], l * G);
    if (l > 0) best = layers[l - 1].get(best!.prev);
  }
  return { gpuOf, objective, states };
}

/** ILP 2 by HiGHS (with its memory row); `gpuOf` undefined when it found no feasible map. */
export async function solveClusterMap(p: ClusterMapProgram, o: TwoStageOptions, symmetric: boolean): Promise<{ gpuOf?: Int32Array; status: string; objective: number; dualBound: number; nodes: number }> {
  const { numLayers: L, gpus: G } = p;
  const highs = await highsSolver();
  const yCol = (l: number, c: number, g: number) => (l * G + c) * G + g;
  const nY = L * G * G;
  const mCol = (l: number) => nY + l - 1;
  const cells: { l: number; c: number; d: number; t: number }[] = [];
  for (let l = 1; l < L; l++) for (let c = 0; c < G; c++) for (let d = 0; d < G; d++) {
    const t = p.traffic[(l - 1) * G * G + c * G + d];
    if (t > 0) cells.push({ l, c, d, t });
  }
  const wBase = nY + Math.max(0, L - 1);
  const wCol = (i: number, g: number, h: number) => wBase + (i * G + g) * G + h;
  const numCols = wBase + cells.length * G * G;
  const cols = new MipColumns(numCols);
  const { cost: colCost, upper: colUpper, integrality } = cols;
  for (let c = 0; c < nY; c++) integrality[c] = 1;
  for (let l = 1; l < L; l++) {
    colCost[mCol(l)] = 1;
    colUpper[mCol(l)] = highs.infinity;
  }
  // Symmetry: every GPU alike (one node): layer 0's cluster c on GPU c; otherwise cluster 0 on GPU 0 (nodes of equal size).
  for (let c = 0; c < G; c++) for (let g = 0; g < G; g++) if ((symmetric || c === 0) && g !== c) colUpper[yCol(0, c, g)] = 0;
  const rows = new CsrRows();
  const row = (entries: [number, number][], lo: number, hi: number) => rows.add(entries, lo, hi);
  for (let l = 0; l < L; l++) {
    for (let c = 0; c < G; c++) row(range(G).map((g) => [yCol(l, c, g), 1]), 1, 1);
    for (let g = 0; g < G; g++) row(range(G).map((c) => [yCol(l, c, g), 1]), 1, 1);
  }
  for (const [i, q] of cells.entries()) {
    for (let g = 0; g < G; g++) row([...range(G).map((h): [number, number] => [wCol(i, g, h), 1]), [yCol(q.l - 1, q.c, g), -1]], 0, 0);
    for (let h = 0; h < G; h++) row([...range(G).map((g): [number, number] => [wCol(i, g, h), 1]), [yCol(q.l, q.d, h), -1]], 0, 0);
  }
  for (let l = 1; l < L; l++) {
    for (let g = 0; g < G; g++) for (let h = 0; h < G; h++) {
      if (g === h) continue;
      const r: [number, number][] = [[mCol(l), 1]];
      for (const [i, q] of cells.entries()) if (q.l === l) r.push([wCol(i, g, h), -q.t * p.price[g * G + h]]);
      row(r, 0, highs.infinity);
    }
  }
  for (let g = 0; g < G; g++) {
    const r: [number, number][] = [];
    for (let l = 0; l < L; l++) for (let c = 0; c < G; c++) r.push([yCol(l, c, g), p.size[l * G + c]]);
    row(r, p.perGpu, p.perGpu);
  }
  const model = highs.createModel();
  try {
    loadMip(model, cols, rows, o);
    const run = model.run();
    const status = MIP_STATUS[run.modelStatus] ?? `HiGHS model status ${run.modelStatus}`;
    const info = (name: string) => mipInfo(model, name);
    const base = { status, objective: info('objective_function_value'), dualBound: info('mip_dual_bound'), nodes: info('mip_node_count') };
    if (info('primal_solution_status') !== 2) return base;
    const y = model.getSolution().colValue;
    const gpuOf = new Int32Array(L * G).fill(-1);
    for (let l = 0; l < L; l++) for (let c = 0; c < G; c++) for (let g = 0; g < G; g++) if (y[yCol(l, c, g)] > 0.5) gpuOf[l * G + c] = g;
    if (gpuOf.some((g) => g < 0)) return { ...base, status: `${status} without a map` };
    return { ...base, gpuOf };
  } finally {
    model.dispose();
  }
}

/** Cluster traffic and sizes of per-layer clusters cluster[l * E + e], from the expert-pair flow. */
export function clusterProgram(ctx: PlacementContext, cluster: ArrayLike<number>, flow: ArrayLike<number>): ClusterMapProgram {
  const { trace, gpus: G } = ctx;
  const { numLayers: L, numExperts: E } = trace;
  const traffic = new Float64Array(Math.max(0, L - 1) * G * G);
  for (let l = 1; l < L; l++) for (let a = 0; a < E; a++) for (let b = 0; b < E; b++) {
    traffic[(l - 1) * G * G + cluster[(l - 1) * E + a] * G + cluster[l * E + b]] += flow[(l - 1) * E * E + a * E + b];
  }
  const size = new Float64Array(L * G);
  for (let k = 0; k < L * E; k++) size[Math.floor(k / E) * G + cluster[k]]++;
  // Nanoseconds per token between two GPUs: the intra-node price inside a node, the inter-node one across.
  const inter = ctx.crossInterSecPerToken ?? ctx.crossSecPerToken;
  const price = new Float64Array(G * G);
  for (let g = 0; g < G; g++) for (let h = 0; h < G; h++) {
    if (g !== h) price[g * G + h] = (Math.floor(g / ctx.gpusPerNode) === Math.floor(h / ctx.gpusPerNode) ? ctx.crossSecPerToken : inter) * 1e9;
  }
  return { numLayers: L, gpus: G, traffic, size, price, perGpu: (L * E) / G };
}

/** MoETuner's placement by its two programs: clusters per layer (ILP 1), then clusters to GPUs (ILP 2). */
export async function moetunerTwoStage(ctx: PlacementContext, o: TwoStageOptions): Promise<PlacementPlan & { cluster: Int32Array; gpuOf: Int32Array }> {
  const { trace, gpus: G, train } = ctx;
  const { numLayers: L, numExperts: E } = trace;
  if ((L * E) % G !== 0) throw new Error(`${L * E} experts do not split evenly over ${G} GPUs`);
  const load = routeLoad(trace, train);
  const flow = layerFlow(trace, train);
  const symmetric = ctx.gpusPerNode >= G;
  const notes: string[] = [];
  for (const size of E % G === 0 ? [undefined, E / G] : [undefined]) {
    const cluster = new Int32Array(L * E);
    const statuses = new Map<string, number>();
    let dev = 0;
    for (let l = 0; l < L; l++) {
      const layerLoad = load.subarray(l * E, (l + 1) * E);
      const r = await clusterLayer(layerLoad, G, o, size);
      cluster.set(r.cluster, l * E);
      dev += clusterDeviation(layerLoad, r.cluster, G);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    const prog = clusterProgram(ctx, cluster, flow);
    const ilp1 = `ILP 1 ${size === undefined ? 'free sizes' : `${size} experts a cluster`} (${[...statuses].map(([s, n]) => `${n} layer${n === 1 ? '' : 's'} ${s}`).join(', ')}), deviation ${dev} routes`;
    let gpuOf: Int32Array | undefined;
    let ilp2: string;
    const us = (v: number) => `${(v / 1e3).toFixed(1)} us`;
    if (G <= 5) {
      const chain = clusterMapChain(prog);
      if (Number.isFinite(chain.objective)) gpuOf = chain.gpuOf;
      ilp2 = `ILP 2 solved exactly by dynamic programming over the ${L} layers' ${G}! maps with each GPU's running expert count (${chain.states} states): ${gpuOf ? us(chain.objective) : 'no balanced map'}`;
    } else {
      const sol = await solveClusterMap(prog, o, symmetric);
      gpuOf = sol.gpuOf;
      ilp2 = `ILP 2 (HiGHS): ${sol.status} after ${sol.nodes} nodes, ${gpuOf ? us(clusterMapObjective(prog, gpuOf)) : 'no feasible map'}` + (Number.isFinite(sol.dualBound) ? `, dual bound ${us(sol.dualBound)}` : '');
    }
    if (!gpuOf && size !== undefined) {
      // Equal clusters: every map is balanced; HiGHS stopped without one, so cluster c goes to GPU c.
      gpuOf = Int32Array.from({ length: L * G }, (_, k) => k % G);
      ilp2 += ' (cluster c on GPU c kept)';
    }
    notes.push(`${ilp1}; ${ilp2}`);
    if (!gpuOf) continue;
    const lists: number[][] = [];
    for (let k = 0; k < L * E; k++) lists.push([gpuOf[Math.floor(k / E) * G + cluster[k]]]);
    let slots = 0;
    for (let k = 0; k < L * G; k++) slots = Math.max(slots, prog.size[k]);
    const placement: Placement = placementFromLists(G, L, E, slots, lists);
    return { placement, cluster, gpuOf, note: `MoETuner two-stage: ${notes.join('; then ')}` };
  }
  throw new Error(`MoETuner two-stage: no feasible placement (${notes.join('; ')})`);
}
