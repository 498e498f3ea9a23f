/**
 * Preset values fitted on points of the published suite. Everything else in a system preset is
 * read from code, a datasheet or a measurement; these few could not be sourced and were fitted on a
 * declared subset of scenarios/published/points.json (issue 12: "fit only what cannot be sourced, on
 * a declared subset, and report error on the rest"). `moesim reproduce` reports its errors on the
 * points outside every subset here as well as on all points, so an in-sample error never passes
 * for a prediction.
 */
import { cpuPresets } from '../hardware/presets.js';
import { runtimes } from '../timing/execution-semantics.js';
import { MO_T2_CODE } from './systems.js';

export interface PresetFit {
  /** The preset field, as `preset.field`. */
  parameter: string;
  /** The fitted value as the preset holds it, with its unit. */
  value: string;
  /** The points it was fitted on: ids, or id prefixes ending in `*` (as `--fit` takes them). */
  fitOn: readonly string[];
  /** How it was fitted, and where that fit is checked. */
  how: string;
}

export const presetFits: readonly PresetFit[] = [
  {
    parameter: 'runtime eager-pytorch-hqq-triton.perKernelUs',
    value: `${Math.round(runtimes['eager-pytorch-hqq-triton'].perKernelSec * 1e6)} us`,
    // The mixtral-offloading points of the 3-bit half (its naive rows run Accelerate's runtime, not this one).
    fitOn: ['a100-80gb', 'rtx-3080-laptop', 'rtx-3060', 't4'].flatMap((gpu) => ['full', 'lru', 'on-demand'].map((v) => `mo-t2-3bit-${gpu}-${v}`)),
    how: "grid search of the host cost per counted op on Table 2's twelve 3-bit mixtral-offloading points (`moesim reproduce --fit 'mo-t2-3bit-*'`, whose fold for this runtime fits exactly these), rechecked by test/reproduce/mo-fit.test.ts",
  },
  {
    parameter: 'cpu xeon-gold-6454s-2s.quantGemvBandwidthFraction',
    value: String(cpuPresets['xeon-gold-6454s-2s'].quantGemvBandwidthFraction),
    fitOn: ['kt-v02-dual-8e', 'kt-v02-single-8e', 'kt-v02-dual-6e', 'kt-v02-single-6e'],
    how: "by difference of kTransformers' V0.2 rows at 8 and 6 experts (every fixed cost cancels), rederived by test/timing/cpu-kernel-efficiency.test.ts",
  },
  {
    parameter: 'mixtral-offloading Table 2 writeBack (src/reproduce/systems.ts MO_T2_CODE)',
    value: String(MO_T2_CODE.writeBack),
    // The rows of the derivation: within a GPU's column host costs cancel between no cache and LRU.
    fitOn: ['a100-80gb', 'rtx-3080-laptop', 'rtx-3060'].flatMap((gpu) => ['lru', 'on-demand'].map((v) => `mo-t2-2bit-${gpu}-${v}`)),
    how: "a structural choice, not a grid value: the published code writes each evicted expert back (_swap), Table 2 ran unpublished code, and its LRU vs no-cache rows at the 2-bit half's link rates need 43-57% hits without the write-back against 71-78% with it (the shipped trace gives 34% and 60%); derivation in MO_T2_CODE's comment",
  },
];

/** Whether a point was used to fit any preset value. */
export function usedForPresetFit(id: string): boolean {
  return presetFits.some((f) => f.fitOn.some((e) => (e.endsWith('*') ? id.startsWith(e.slice(0, -1)) : id === e)));
}
