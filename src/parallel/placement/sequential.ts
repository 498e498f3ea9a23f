/**
 * Layer-by-layer placement by the assignment program of ilp.ts: layer 0 first, then each layer
 * given the one before. Shared by exflow.ts (affinity only) and moetuner.ts (load and affinity).
 */
import { crossCost, placementObjective, type ObjectiveWeights } from './objective.js';
import { solveLayer } from './ilp.js';
import { roundRobinPlacement } from './round-robin.js';
import { routeLoad } from './stats.js';
import { ownersOf, placementFromOwners, type PlacementContext, type PlacementPlan } from './types.js';

export interface SequentialOptions {
  name: string;
  wLoad: number;
  wCross: number;
  maxNodes: number;
  relGap: number;
  /** Layer 0 as round-robin (nothing before it to be near) instead of solved. */
  firstRoundRobin: boolean;
}

/** Seconds as integer-friendly coefficients for the solver: nanoseconds. */
const NS = 1e9;

export async function sequentialPlacement(ctx: PlacementContext, o: SequentialOptions): Promise<PlacementPlan & { objectiveSec: number; roundRobinSec: number }> {
  const { trace, gpus: G, train } = ctx;
  const { numLayers: L, numExperts: E } = trace;
  const load = routeLoad(trace, train);
  const owner = new Int32Array(L * E);
  const statuses = new Map<string, number>();
  for (let l = 0; l < L; l++) {
    if (l === 0 && o.firstRoundRobin) {
      for (let e = 0; e < E; e++) owner[e] = e % G;
      continue;
    }
    const cost = crossCost(trace, train, l, owner, G);
    const sol = await solveLayer({
      numExperts: E,
      gpus: G,
      load: load.subarray(l * E, (l + 1) * E),
      cost,
      wLoad: o.wLoad * NS,
      wCross: o.wCross * NS,
      maxNodes: o.maxNodes,
      relGap: o.relGap,
      fixFirst: l === 0,
    });
    if (sol.owner) owner.set(sol.owner, l * E);
    else for (let e = 0; e < E; e++) owner[l * E + e] = e % G; // no assignment found: round-robin for this layer
    statuses.set(sol.status, (statuses.get(sol.status) ?? 0) + 1);
  }
  // The policy's own objective (ExFlow: crossings only; MoETuner: load and crossings).
  const w: ObjectiveWeights = { computeSecPerToken: o.wLoad, crossSecPerToken: o.wCross };
  const rr = roundRobinPlacement(G, L, E);
  const objectiveSec = placementObjective(trace, train, owner, G, w, load).totalSec;
  const roundRobinSec = placementObjective(trace, train, ownersOf(rr), G, w, load).totalSec;
  const solved = [...statuses].map(([s, n]) => `${n} layer${n === 1 ? '' : 's'} ${s}`).join(', ');
  if (objectiveSec > roundRobinSec) {
    return {
      placement: rr,
      objectiveSec: roundRobinSec,
      roundRobinSec,
      note: `${o.name}: HiGHS per layer (${solved}); its joint objective ${fmtUs(objectiveSec)} exceeded round-robin's ${fmtUs(roundRobinSec)} on the training tokens, so round-robin is kept`,
    };
  }
  return {
    placement: placementFromOwners(G, L, E, owner),
    objectiveSec,
    roundRobinSec,
    note: `${o.name}: HiGHS per layer (${solved}); training objective ${fmtUs(objectiveSec)} vs round-robin ${fmtUs(roundRobinSec)}`,
  };
}

const fmtUs = (s: number): string => `${(s * 1e6).toFixed(1)} us`;
