/**
 * The joint program's exact optimum by dynamic programming over the layer chain, for a certificate
 * when the balanced assignments of one layer are few (Mixtral's 8 experts: 70 on 2 GPUs, 2,520 on
 * 4). The joint objective (joint.ts jointObjective) is a sum of per-layer terms (the busiest GPU's
 * routes) and terms between consecutive layers (dependency flow between experts on different
 * GPUs), so over the labelled balanced assignments s_l of each layer
 *
 *   best_l(t) = node_l(t) + min_s [ best_{l-1}(s) + wCross * (F_l total - sum_g W_l(s_g, t_g)) ]
 *
 * where W_l(A, B) is the flow from the experts of set A in layer l-1 to those of B in layer l.
 * S^2 (L - 1) steps for S assignments per layer: exact, no search, no solver. Used to say how far
 * HiGHS's incumbent is from the optimum, not to place experts.
 */
import type { JointProgram } from './joint.js';

/** Labelled balanced assignments (P = E / G experts per GPU) as per-GPU expert bitmasks, or undefined past `limit`. */
export function balancedMasks(E: number, G: number, limit: number): Int32Array[] | undefined {
  const P = E / G;
  const out: Int32Array[] = [];
  const masks = new Int32Array(G);
  const cnt = new Int32Array(G);
  let over = false;
  const rec = (e: number) => {
    if (over) return;
    if (e === E) {
      if (out.length >= limit) over = true;
      else out.push(Int32Array.from(masks));
      return;
    }
    for (let g = 0; g < G; g++) {
      if (cnt[g] === P) continue;
      masks[g] |= 1 << e;
      cnt[g]++;
      rec(e + 1);
      cnt[g]--;
      masks[g] &= ~(1 << e);
    }
  };
  rec(0);
  return over ? undefined : out;
}

export interface ChainOptimum {
  total: number;
  owner: Int32Array;
  statesPerLayer: number;
}

/** The exact optimum, or undefined when a layer has more than `limit` balanced assignments (or E > 30). */
export function chainOptimum(p: Pick<JointProgram, 'numLayers' | 'numExperts' | 'gpus' | 'load' | 'flow' | 'wLoad' | 'wCross'>, limit = 5000): ChainOptimum | undefined {
  const { numLayers: L, numExperts: E, gpus: G } = p;
  if (E > 30 || E % G !== 0) return undefined;
  const states = balancedMasks(E, G, limit);
  if (!states) return undefined;
  const S = states.length;
  // Group ids: every mask that occurs, numbered.
  const groupId = new Map<number, number>();
  for (const st of states) for (let g = 0; g < G; g++) if (!groupId.has(st[g])) groupId.set(st[g], groupId.size);
  const groups = [...groupId.keys()];
  const nG = groups.length;
  const sg = new Int32Array(S * G);
  states.forEach((st, i) => st.forEach((m, g) => (sg[i * G + g] = groupId.get(m)!)));
  const node = (l: number, i: number): number => {
    let m = 0;
    for (let g = 0; g < G; g++) {
      let x = 0;
      for (let e = 0; e < E; e++) if (states[i][g] & (1 << e)) x += p.load[l * E + e];
      if (x > m) m = x;
    }
    return p.wLoad * m;
  };
  let best = new Float64Array(S);
  for (let i = 0; i < S; i++) best[i] = node(0, i);
  const back: Int32Array[] = [];
  const W = new Float64Array(nG * nG);
  for (let l = 1; l < L; l++) {
    const base = (l - 1) * E * E;
    let total = 0;
    for (let x = 0; x < E * E; x++) total += p.flow[base + x];
    for (let a = 0; a < nG; a++) {
      for (let b = 0; b < nG; b++) {
        let w = 0;
        for (let i = 0; i < E; i++) if (groups[a] & (1 << i)) for (let j = 0; j < E; j++) if (groups[b] & (1 << j)) w += p.flow[base + i * E + j];
        W[a * nG + b] = w;
      }
    }
    const next = new Float64Array(S);
    const from = new Int32Array(S);
    for (let t = 0; t < S; t++) {
      let m = Infinity, arg = 0;
      for (let s = 0; s < S; s++) {
        let same = 0;
        for (let g = 0; g < G; g++) same += W[sg[s * G + g] * nG + sg[t * G + g]];
        const v = best[s] - p.wCross * same;
        if (v < m) {
          m = v;
          arg = s;
        }
      }
      next[t] = m + p.wCross * total + node(l, t);
      from[t] = arg;
    }
    back.push(from);
    best = next;
  }
  let arg = 0;
  for (let i = 1; i < S; i++) if (best[i] < best[arg]) arg = i;
  const owner = new Int32Array(L * E);
  for (let l = L - 1; l >= 0; l--) {
    const st = states[arg];
    for (let g = 0; g < G; g++) for (let e = 0; e < E; e++) if (st[g] & (1 << e)) owner[l * E + e] = g;
    if (l > 0) arg = back[l - 1][arg];
  }
  return { total: best.reduce((m, v) => Math.min(m, v), Infinity), owner, statesPerLayer: S };
}
