/** The placement policies: one typed table, a kind without an implementation does not compile. */
import type { PlacementKind, PlacementSpec } from '../../scenario/schema.js';
import { contiguous } from './contiguous.js';
import { eplb } from './eplb.js';
import { exflow } from './exflow.js';
import { lina } from './lina.js';
import { moetuner } from './moetuner.js';
import { roundRobin } from './round-robin.js';
import type { PlacementContext, PlacementPlan } from './types.js';

type SpecOf<K extends PlacementKind> = Extract<PlacementSpec, { kind: K }>;

export interface PlacementInfo<K extends PlacementKind> {
  create: (ctx: PlacementContext, spec: SpecOf<K>) => PlacementPlan | Promise<PlacementPlan>;
  describe: string;
  /** Changes during the run. */
  dynamic: boolean;
}

export const placementPolicies: { [K in PlacementKind]: PlacementInfo<K> } = {
  'round-robin': { create: roundRobin, describe: 'expert e on GPU e mod G (baseline)', dynamic: false },
  contiguous: { create: contiguous, describe: 'experts in blocks of E/G per GPU (Megatron-LM; MoETuner\'s baseline)', dynamic: false },
  eplb: { create: eplb, describe: 'DeepSeek EPLB: replicate hot experts, pack replicas by load', dynamic: false },
  exflow: { create: exflow, describe: 'ExFlow: inter-layer affinity, an integer program per layer (HiGHS)', dynamic: false },
  moetuner: { create: moetuner, describe: 'MoETuner: ILP over token load and inter-layer routing, joint over all layers or per layer (HiGHS)', dynamic: false },
  lina: { create: lina, describe: 'Lina-like: periodic re-placement by recent load, migration charged', dynamic: true },
};

export function createPlacement(ctx: PlacementContext, spec: PlacementSpec): Promise<PlacementPlan> {
  const info = placementPolicies[spec.kind] as PlacementInfo<PlacementKind>;
  return Promise.resolve(info.create(ctx, spec as never));
}

export function placementLabel(spec: PlacementSpec): string {
  if (spec.label) return spec.label;
  if (spec.kind === 'eplb') return `eplb +${spec.redundantPerGpu}/GPU`;
  if (spec.kind === 'lina') return `lina /${spec.intervalSteps} steps`;
  return spec.kind;
}
