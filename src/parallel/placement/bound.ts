/**
 * A lower bound on the joint program's objective (joint.ts) that decomposes by layer and by layer
 * pair, so it exists at every scale (unlike the exact chain DP, chain-dp.ts, which needs few
 * balanced assignments a layer, and HiGHS's own dual bound, which needs the root LP of the whole
 * program solved: that did not finish at 64 experts on 8 GPUs). The joint objective is
 *
 *   wLoad * sum_l z_l  +  wCross * sum_{l>=1} (F_l total - same-GPU flow between layers l-1 and l)
 *
 * and each part is bounded from below on its own:
 *
 *  - z_l (the busiest GPU's routes of layer l) >= max(total_l / G, the largest expert's load): some
 *    GPU carries at least the mean, and the GPU holding the heaviest expert carries at least it.
 *  - The same-GPU flow between layers l-1 and l: a GPU holds exactly P = E / G experts of every layer,
 *    so the pairs (a of layer l-1, b of layer l) that share a GPU form a P-regular bipartite graph
 *    (G disjoint K_{P,P}). Its flow is at most the heaviest P-regular bipartite subgraph's, a
 *    b-matching (each expert matched at most P times on each side), which is a linear program with
 *    an integral optimum (the bipartite b-matching polytope is integral), solved here by HiGHS.
 *
 * Minimising each term alone gives at most what any one placement achieves on all terms together,
 * so the sum is a valid lower bound. With P = 1 (as many experts as GPUs: Mixtral's 8 on 8 GPUs) it
 * is the optimum: every GPU holds one expert of a layer, so z_l is the largest expert's load whatever
 * the placement, and any sequence of per-pair matchings is realised by one placement (layer 0's
 * expert e on GPU e, layer l's expert b on the GPU of the layer l-1 expert it is matched with):
 * `assignmentChain` builds that placement, optimal for the joint objective.
 */
import { highsSolver } from './ilp.js';
import type { JointProgram } from './joint.js';

type Prog = Pick<JointProgram, 'numLayers' | 'numExperts' | 'gpus' | 'load' | 'flow' | 'wLoad' | 'wCross'>;

/**
 * The heaviest b-matching between layer l-1's experts (rows a) and layer l's (columns b), each
 * expert in at most `cap` pairs: value and the chosen pairs (mate[a * E + b] = 1). An LP (HiGHS);
 * its vertex optimum is integral.
 */
export async function maxBMatching(E: number, cap: number, w: ArrayLike<number>): Promise<{ value: number; chosen: Uint8Array }> {
  const chosen = new Uint8Array(E * E);
  const terms: string[] = [];
  const byA: string[][] = Array.from({ length: E }, () => []);
  const byB: string[][] = Array.from({ length: E }, () => []);
  for (let a = 0; a < E; a++) {
    for (let b = 0; b < E; b++) {
      const f = w[a * E + b];
      if (!(f > 0)) continue;
      const v = `m_${a}_${b}`;
      terms.push(`+ ${f} ${v}`);
      byA[a].push(v);
      byB[b].push(v);
    }
  }
  if (terms.length === 0) return { value: 0, chosen };
  const rows: string[] = [];
  for (let a = 0; a < E; a++) if (byA[a].length > cap) rows.push(` ra_${a}: ${byA[a].join(' + ')} <= ${cap}`);
  for (let b = 0; b < E; b++) if (byB[b].length > cap) rows.push(` rb_${b}: ${byB[b].join(' + ')} <= ${cap}`);
  const vars = byA.flat();
  const lp = `Maximize\n obj: ${terms.join(' ')}\nSubject To\n${rows.length ? rows.join('\n') : ` none: ${vars[0]} <= 1`}\nBounds\n${vars.map((v) => ` 0 <= ${v} <= 1`).join('\n')}\nEnd\n`;
  const highs = await highsSolver();
  const r = highs.solve(lp, { output_flag: false });
  if (r.Status !== 'Optimal') throw new Error(`b-matching LP: HiGHS status ${r.Status}`);
  const cols = r.Columns as Record<string, { Primal: number }>;
  let value = 0;
  for (let a = 0; a < E; a++) {
    for (let b = 0; b < E; b++) {
      const x = cols[`m_${a}_${b}`]?.Primal ?? 0;
      if (x > 0.5) {
        chosen[a * E + b] = 1;
        value += w[a * E + b];
      }
    }
  }
  return { value, chosen };
}

export interface DecomposedBound {
  /** The lower bound on the joint objective (the program's units). */
  total: number;
  /** Its load part (wLoad x sum of the per-layer bounds) and crossing part. */
  load: number;
  cross: number;
  /** True when it is the optimum (P = 1). */
  exact: boolean;
  /** Per pair l = 1..L-1, the chosen same-GPU pairs (for assignmentChain). */
  chosen: Uint8Array[];
}

export async function decomposedBound(p: Prog): Promise<DecomposedBound> {
  const { numLayers: L, numExperts: E, gpus: G } = p;
  if (E % G !== 0) throw new Error(`${E} experts do not split evenly over ${G} GPUs`);
  const P = E / G;
  let load = 0;
  for (let l = 0; l < L; l++) {
    let tot = 0, max = 0;
    for (let e = 0; e < E; e++) {
      const v = p.load[l * E + e];
      tot += v;
      if (v > max) max = v;
    }
    load += p.wLoad * Math.max(tot / G, max);
  }
  let cross = 0;
  const chosen: Uint8Array[] = [];
  for (let l = 1; l < L; l++) {
    const w = Float64Array.from({ length: E * E }, (_, i) => p.flow[(l - 1) * E * E + i]);
    let tot = 0;
    for (const f of w) tot += f;
    const m = await maxBMatching(E, P, w);
    chosen.push(m.chosen);
    cross += p.wCross * (tot - m.value);
  }
  return { total: load + cross, load, cross, exact: P === 1, chosen };
}

/**
 * With as many experts as GPUs (P = 1), the placement realising the bound's matchings: layer 0's
 * expert e on GPU e; layer l's expert b on the GPU of the layer l-1 expert matched to it, the
 * unmatched experts on the remaining GPUs in order. Optimal for the joint objective (see above).
 */
export function assignmentChain(E: number, L: number, chosen: Uint8Array[]): Int32Array {
  const owner = new Int32Array(L * E);
  for (let e = 0; e < E; e++) owner[e] = e;
  for (let l = 1; l < L; l++) {
    const m = chosen[l - 1];
    const used = new Uint8Array(E);
    const cur = owner.subarray(l * E, (l + 1) * E).fill(-1);
    for (let a = 0; a < E; a++) {
      for (let b = 0; b < E; b++) {
        if (m[a * E + b] && cur[b] < 0) {
          const g = owner[(l - 1) * E + a];
          if (!used[g]) {
            cur[b] = g;
            used[g] = 1;
          }
        }
      }
    }
    let g = 0;
    for (let b = 0; b < E; b++) {
      if (cur[b] >= 0) continue;
      while (used[g]) g++;
      cur[b] = g;
      used[g] = 1;
    }
  }
  return owner;
}
