/**
 * MoETuner's joint program: one ILP over every MoE layer at once, placing each layer's experts by
 * token load and by the inter-layer routing dependency (Go & Mahajan, arXiv 2502.06643), solved by
 * HiGHS through its persistent API (`highs` npm build: passModel, setSolution, run, info).
 *
 * Data, from the training tokens: load[l][e] (routes to expert e of layer l) and the dependency
 * F[l][a][b] (stats.ts layerFlow: tokens routed to expert a in layer l-1 and to b in layer l, every
 * pair of their top-k slots). With P = E / G experts per GPU:
 *
 *   minimise  wLoad * sum_l z_l  +  wCross * sum_{l>=1} sum_{a,b} F[l][a][b] * (1 - sum_g y[l][a][b][g])
 *   s.t.      sum_g x[l][e][g] = 1                          every expert on one GPU
 *             sum_e x[l][e][g] = P                          every GPU holds P experts of every layer
 *             z_l >= sum_e load[l][e] x[l][e][g]  (all g)    z_l: the busiest GPU's routes in layer l
 *             sum_b y[l][a][b][g] <= P x[l-1][a][g]         (a of layer l-1 shares g with at most the
 *             sum_a y[l][a][b][g] <= P x[l][b][g]            P experts of layer l there, and back)
 *             sum_g y[l][a][b][g] <= 1,  0 <= y <= 1,  x binary
 *
 * y is "a and b on the same GPU g" (one y per pair with F > 0 and per GPU). The product
 * x[l-1][a][g] x[l][b][g] is linearised by the two aggregated rows: with x integral they force
 * y = 0 unless both experts are on g, and since exactly P experts of each layer sit on g they cost
 * nothing when both are (that is the assignment structure between consecutive layers' GPU
 * assignments; at the LP relaxation they bound each expert's same-GPU dependency by its P largest
 * flows, much tighter than y <= x). Per layer pair that is nnz(F) * G continuous columns and
 * 2 E G + nnz(F) rows, instead of one row per product.
 *
 * Symmetry: the G GPUs of the objective are interchangeable (it prices every crossing alike), so
 * layer 0's expert e is kept on GPUs 0..e (any placement can be relabelled so: the GPU of layer 0's
 * lowest expert becomes 0, the next new GPU 1, ...).
 *
 * Warm start: the caller's incumbent (the per-layer solution, relabelled to the symmetry rule) is
 * given to HiGHS with setSolution, so the joint search starts from it and reports its own bound.
 * Stopping: a relative gap or a branch-and-bound node count, both deterministic (a wall-clock limit
 * is optional and makes the result machine-dependent). The result says the status, incumbent,
 * dual bound and gap HiGHS reached, not a claim of optimality it did not prove.
 */
import { CsrRows, highsSolver, loadMip, MIP_STATUS, MipColumns, mipInfo, range, solveLayer } from './ilp.js';

export interface JointProgram {
  numLayers: number;
  numExperts: number;
  gpus: number;
  /** load[l * E + e]. */
  load: ArrayLike<number>;
  /** flow[(l - 1) * E * E + a * E + b] for l = 1..L-1 (stats.ts layerFlow). */
  flow: ArrayLike<number>;
  wLoad: number;
  wCross: number;
  /** Incumbent owner[l * E + e] to start from (any valid placement; relabelled here). */
  start?: ArrayLike<number>;
  maxNodes: number;
  relGap: number;
  /** Optional wall-clock limit in seconds (machine-dependent; off by default). */
  timeLimitSec?: number;
}

export interface JointSolution {
  /** owner[l * E + e]; undefined when HiGHS returned no primal solution. */
  owner?: Int32Array;
  status: string;
  /** HiGHS's incumbent objective (the program's units) and its dual bound and relative gap. */
  objective: number;
  dualBound: number;
  gap: number;
  nodes: number;
  columns: number;
  rows: number;
}

/**
 * The joint objective of a single-replica placement, in the program's units: what `solveJoint`
 * minimises, evaluated directly (no solver), so callers and tests can compare placements on it.
 */
export function jointObjective(p: Pick<JointProgram, 'numLayers' | 'numExperts' | 'gpus' | 'load' | 'flow' | 'wLoad' | 'wCross'>, owner: ArrayLike<number>): { total: number; maxLoad: Float64Array; crossFlow: Float64Array } {
  const { numLayers: L, numExperts: E, gpus: G } = p;
  const maxLoad = new Float64Array(L);
  const crossFlow = new Float64Array(L);
  const per = new Float64Array(G);
  let total = 0;
  for (let l = 0; l < L; l++) {
    per.fill(0);
    for (let e = 0; e < E; e++) per[owner[l * E + e]] += p.load[l * E + e];
    maxLoad[l] = Math.max(...per);
    if (l > 0) {
      const base = (l - 1) * E * E;
      let c = 0;
      for (let a = 0; a < E; a++) {
        const ga = owner[(l - 1) * E + a];
        for (let b = 0; b < E; b++) if (owner[l * E + b] !== ga) c += p.flow[base + a * E + b];
      }
      crossFlow[l] = c;
    }
    total += p.wLoad * maxLoad[l] + p.wCross * crossFlow[l];
  }
  return { total, maxLoad, crossFlow };
}

/** Relabels GPUs so that layer 0's expert e sits on a GPU <= e (the program's symmetry rule). */
export function canonicalOwners(owner: ArrayLike<number>, numExperts: number, gpus: number): Int32Array {
  const map = new Int32Array(gpus).fill(-1);
  let next = 0;
  for (let e = 0; e < numExperts; e++) if (map[owner[e]] < 0) map[owner[e]] = next++;
  for (let g = 0; g < gpus; g++) if (map[g] < 0) map[g] = next++;
  return Int32Array.from(owner, (g) => map[g]);
}

/** HiGHS's model status in words (its node limit reports as the solution limit). */

export async function solveJoint(p: JointProgram): Promise<JointSolution> {
  const { numLayers: L, numExperts: E, gpus: G } = p;
  if (E % G !== 0) throw new Error(`${E} experts do not split evenly over ${G} GPUs`);
  const P = E / G;
  const highs = await highsSolver();

  // Columns: x[l][e][g], then z[l], then y per (l >= 1, pair with F > 0, g).
  const xCol = (l: number, e: number, g: number) => (l * E + e) * G + g;
  const nX = L * E * G;
  const zCol = (l: number) => nX + l;
  const pairs: { l: number; a: number; b: number; f: number }[] = [];
  for (let l = 1; l < L; l++) {
    const base = (l - 1) * E * E;
    for (let a = 0; a < E; a++) for (let b = 0; b < E; b++) {
      const f = p.flow[base + a * E + b];
      if (f > 0) pairs.push({ l, a, b, f });
    }
  }
  const yBase = nX + L;
  const yCol = (i: number, g: number) => yBase + i * G + g;
  const numCols = yBase + pairs.length * G;

  const cols = new MipColumns(numCols);
  const { cost: colCost, upper: colUpper, integrality } = cols;
  for (let c = 0; c < nX; c++) integrality[c] = 1;
  for (let e = 0; e < E; e++) for (let g = e + 1; g < G; g++) colUpper[xCol(0, e, g)] = 0; // symmetry
  for (let l = 0; l < L; l++) {
    colCost[zCol(l)] = p.wLoad;
    colUpper[zCol(l)] = highs.infinity;
  }
  let offset = 0;
  for (const [i, q] of pairs.entries()) {
    offset += p.wCross * q.f;
    for (let g = 0; g < G; g++) colCost[yCol(i, g)] = -p.wCross * q.f;
  }

  // Rows, as CSR.
  const rows = new CsrRows();
  const row = (entries: [number, number][], lo: number, hi: number) => rows.add(entries, lo, hi);
  for (let l = 0; l < L; l++) {
    for (let e = 0; e < E; e++) row(range(G).map((g) => [xCol(l, e, g), 1]), 1, 1);
    for (let g = 0; g < G; g++) row(range(E).map((e) => [xCol(l, e, g), 1]), P, P);
    for (let g = 0; g < G; g++) {
      const r: [number, number][] = [[zCol(l), 1]];
      for (let e = 0; e < E; e++) if (p.load[l * E + e] !== 0) r.push([xCol(l, e, g), -p.load[l * E + e]]);
      row(r, 0, highs.infinity);
    }
  }
  // Aggregated product rows, per (layer, expert, GPU) on each side.
  const byA = new Map<number, number[]>();
  const byB = new Map<number, number[]>();
  for (const [i, q] of pairs.entries()) {
    const ka = (q.l - 1) * E + q.a;
    const kb = q.l * E + q.b;
    (byA.get(ka) ?? byA.set(ka, []).get(ka)!).push(i);
    (byB.get(kb) ?? byB.set(kb, []).get(kb)!).push(i);
  }
  for (const [ka, list] of byA) {
    const l = Math.floor(ka / E), a = ka % E;
    for (let g = 0; g < G; g++) row([...list.map((i): [number, number] => [yCol(i, g), 1]), [xCol(l, a, g), -P]], -highs.infinity, 0);
  }
  for (const [kb, list] of byB) {
    const l = Math.floor(kb / E), b = kb % E;
    for (let g = 0; g < G; g++) row([...list.map((i): [number, number] => [yCol(i, g), 1]), [xCol(l, b, g), -P]], -highs.infinity, 0);
  }
  if (G > 1) for (let i = 0; i < pairs.length; i++) row(range(G).map((g) => [yCol(i, g), 1]), -highs.infinity, 1);
  const numRows = rows.count;

  const model = highs.createModel();
  try {
    loadMip(model, cols, rows, p, offset);
    if (p.start) {
      const own = canonicalOwners(p.start, E, G);
      const colValue = new Float64Array(numCols);
      for (let l = 0; l < L; l++) for (let e = 0; e < E; e++) colValue[xCol(l, e, own[l * E + e])] = 1;
      const parts = jointObjective(p, own);
      for (let l = 0; l < L; l++) colValue[zCol(l)] = parts.maxLoad[l];
      for (const [i, q] of pairs.entries()) {
        const g = own[(q.l - 1) * E + q.a];
        if (own[q.l * E + q.b] === g) colValue[yCol(i, g)] = 1;
      }
      model.setSolution({ colValue });
    }
    const run = model.run();
    const status = MIP_STATUS[run.modelStatus] ?? `HiGHS model status ${run.modelStatus}`;
    const info = (name: string) => mipInfo(model, name);
    const base = { status, objective: info('objective_function_value'), dualBound: info('mip_dual_bound'), gap: info('mip_gap'), nodes: info('mip_node_count'), columns: numCols, rows: numRows };
    if (info('primal_solution_status') !== 2) return base;
    const x = model.getSolution().colValue;
    const owner = new Int32Array(L * E).fill(-1);
    for (let l = 0; l < L; l++) for (let e = 0; e < E; e++) for (let g = 0; g < G; g++) if (x[xCol(l, e, g)] > 0.5) owner[l * E + e] = g;
    if (owner.some((g) => g < 0)) return { ...base, status: `${status} without an assignment` };
    return { ...base, owner };
  } finally {
    model.dispose();
  }
}

/**
 * Block-coordinate descent on the joint objective: each layer in turn re-solved exactly (ilp.ts's
 * per-layer program, E x G binaries) with both neighbouring layers fixed, where the dependency
 * cost of expert b on GPU g is its flow from layer l-1 experts off g plus its flow to layer l+1
 * experts off g. A layer's new assignment is kept only when it lowers that layer's part of the
 * objective, so the joint objective never rises; sweeps stop when one changes nothing. A start
 * for the joint program (a local optimum of it), not a solver of it.
 */
export async function improveByLayers(p: JointProgram, owner: ArrayLike<number>, sweeps: number): Promise<{ owner: Int32Array; sweeps: number; layerSolves: number }> {
  const { numLayers: L, numExperts: E, gpus: G } = p;
  const own = Int32Array.from(owner);
  const local = (l: number, o: ArrayLike<number>, cost: Float64Array): number => {
    const per = new Float64Array(G);
    let c = 0;
    for (let e = 0; e < E; e++) {
      per[o[e]] += p.load[l * E + e];
      c += cost[e * G + o[e]];
    }
    return p.wLoad * Math.max(...per) + p.wCross * c;
  };
  let done = 0, solves = 0;
  for (let s = 0; s < sweeps; s++) {
    let changed = false;
    for (let l = 0; l < L; l++) {
      const cost = new Float64Array(E * G);
      for (let b = 0; b < E; b++) {
        for (let g = 0; g < G; g++) {
          let c = 0;
          if (l > 0) for (let a = 0; a < E; a++) if (own[(l - 1) * E + a] !== g) c += p.flow[(l - 1) * E * E + a * E + b];
          if (l + 1 < L) for (let d = 0; d < E; d++) if (own[(l + 1) * E + d] !== g) c += p.flow[l * E * E + b * E + d];
          cost[b * G + g] = c;
        }
      }
      const sol = await solveLayer({ numExperts: E, gpus: G, load: Array.from({ length: E }, (_, e) => p.load[l * E + e]), cost, wLoad: p.wLoad, wCross: p.wCross, maxNodes: p.maxNodes, relGap: p.relGap });
      solves++;
      if (!sol.owner) continue;
      const cur = own.subarray(l * E, (l + 1) * E);
      if (local(l, sol.owner, cost) < local(l, cur, cost) - 1e-9 * Math.max(1, Math.abs(local(l, cur, cost)))) {
        cur.set(sol.owner);
        changed = true;
      }
    }
    done++;
    if (!changed) break;
  }
  return { owner: own, sweeps: done, layerSolves: solves };
}
