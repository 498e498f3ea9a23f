/**
 * The model `moesim replay` executes: the scenario model's structure (MoE layers, experts per
 * layer, top-k) with its hidden and expert-intermediate sizes scaled down so that every expert's
 * weights fit a host budget and the largest expert cache a policy asks for fits a device budget.
 *
 * Experts are executed as SwiGLU (three matrices, no biases) whatever the model's own expert
 * layout; the simulation of a replay charges exactly those three matrices.
 */
import type { MoeModel } from '../model/types.js';
import { InputError } from '../util/errors.js';
import { expertWeightBytes, type ExpertDtype, type ExpertShape } from './expert-graph.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

export interface ScaleRequest {
  /** Divide hidden and expert-intermediate sizes by this (>= 1). */
  scale?: number;
  /** Or give the sizes (both, or one with the other following the model's ratio). */
  hiddenSize?: number;
  intermediateSize?: number;
  /** All experts' weights on the host, bytes (default 1 GiB). */
  hostBudgetBytes?: number;
  /** The largest expert cache plus a step's staging copies, on the device, bytes (default 1 GiB). */
  deviceBudgetBytes?: number;
}

export interface ScaledModel {
  /** The model whose structure is replayed (hidden and intermediate sizes scaled). */
  model: MoeModel;
  shape: ExpertShape;
  dtype: ExpertDtype;
  /** Original hidden size / scaled hidden size. */
  factor: number;
  /** How the shape was chosen. */
  chosen: 'fits-unscaled' | 'budget' | 'scale' | 'explicit';
  numExpertsTotal: number;
  expertBytes: number;
  hostBytes: number;
  /** Experts the device holds at most (cache + staging) and their bytes. */
  deviceExperts: number;
  deviceBytes: number;
  hostBudgetBytes: number;
  deviceBudgetBytes: number;
}

/** Sizes are multiples of this (vector-friendly), and at least this. */
export const SIZE_QUANTUM = 16;

const roundDown = (x: number) => Math.max(SIZE_QUANTUM, Math.floor(x / SIZE_QUANTUM) * SIZE_QUANTUM);
const roundNear = (x: number) => Math.max(SIZE_QUANTUM, Math.round(x / SIZE_QUANTUM) * SIZE_QUANTUM);

export function fmtSize(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`;
}

/** One line: "hidden 256, intermediate 896 (1/16 of 4096 x 14336), 256 experts x 2.6 MiB = 672.0 MiB fp32". */
export function describeScaled(s: ScaledModel, original: MoeModel): string {
  // The intermediate size's own factor where it does not follow the hidden size's (--hidden and --intermediate both given).
  const fi = original.expertIntermediateSize / s.shape.intermediateSize;
  const factors = Math.abs(fi / s.factor - 1) < 0.01 ? `1/${+s.factor.toFixed(2)}` : `1/${+s.factor.toFixed(2)} x 1/${+fi.toFixed(2)}`;
  const of = s.chosen === 'fits-unscaled' ? 'unscaled' : `${factors} of ${original.hiddenSize} x ${original.expertIntermediateSize}`;
  return (
    `hidden ${s.shape.hiddenSize}, expert intermediate ${s.shape.intermediateSize} (${of}), ` +
    `${s.numExpertsTotal} experts x ${fmtSize(s.expertBytes)} = ${fmtSize(s.hostBytes)} ${s.dtype} on the host, ` +
    `up to ${s.deviceExperts} on the device (${fmtSize(s.deviceBytes)})`
  );
}

/**
 * Choose the replayed shape. Default: the largest shape (the model's hidden:intermediate ratio
 * kept) whose experts fit both budgets. `deviceExperts`: the most experts any replayed policy keeps
 * on the device at once. Throws InputError, naming the sizes, when a requested shape (or even the
 * smallest one) does not fit.
 */
export function scaleModel(model: MoeModel, req: ScaleRequest, deviceExperts: number): ScaledModel {
  const dtype: ExpertDtype = 'float32';
  const hostBudget = req.hostBudgetBytes ?? GiB;
  const deviceBudget = req.deviceBudgetBytes ?? GiB;
  const n = model.moeLayers.length * model.numExperts;
  const h0 = model.hiddenSize;
  const f0 = model.expertIntermediateSize;
  const ratio = f0 / h0;
  const bytesOf = (h: number, f: number) => expertWeightBytes({ hiddenSize: h, intermediateSize: f }, dtype);

  let h: number;
  let f: number;
  let chosen: ScaledModel['chosen'];
  if (req.hiddenSize !== undefined || req.intermediateSize !== undefined) {
    if (req.scale !== undefined) throw new InputError('give --scale or --hidden/--intermediate, not both');
    h = req.hiddenSize ?? Math.max(1, Math.round(req.intermediateSize! / ratio));
    f = req.intermediateSize ?? Math.max(1, Math.round(req.hiddenSize! * ratio));
    chosen = 'explicit';
  } else if (req.scale !== undefined) {
    if (!(req.scale >= 1)) throw new InputError(`--scale: expected a number >= 1, got ${req.scale}`);
    h = Math.max(1, Math.round(h0 / req.scale));
    f = Math.max(1, Math.round(f0 / req.scale));
    chosen = 'scale';
  } else {
    // Both budgets as a bound on one expert's bytes, then the shape with the model's ratio under it.
    const perExpert = Math.min(hostBudget / n, deviceBudget / Math.max(1, deviceExperts));
    if (bytesOf(h0, f0) <= perExpert) {
      h = h0;
      f = f0;
      chosen = 'fits-unscaled';
    } else {
      const elems = perExpert / 12; // 3 matrices x 4 bytes: h * f <= elems
      h = roundDown(Math.sqrt(elems / ratio));
      f = roundNear(h * ratio);
      while (bytesOf(h, f) > perExpert && h > SIZE_QUANTUM) {
        h -= SIZE_QUANTUM;
        f = roundNear(h * ratio);
      }
      chosen = 'budget';
    }
  }
  const expertBytes = bytesOf(h, f);
  const hostBytes = n * expertBytes;
  const deviceBytes = deviceExperts * expertBytes;
  const what = `model ${model.name} scaled to hidden ${h}, expert intermediate ${f} (fp32)`;
  if (hostBytes > hostBudget) {
    throw new InputError(
      `${what} needs ${fmtSize(hostBytes)} of host memory for its ${n} experts (${fmtSize(expertBytes)} each), more than the host budget of ${fmtSize(hostBudget)}; ` +
        (chosen === 'budget' || chosen === 'fits-unscaled'
          ? 'expected a larger --host-budget-gib'
          : 'expected a larger --scale, smaller --hidden/--intermediate, or a larger --host-budget-gib'),
    );
  }
  if (deviceBytes > deviceBudget) {
    throw new InputError(
      `${what} needs ${fmtSize(deviceBytes)} of device memory for ${deviceExperts} resident experts (${fmtSize(expertBytes)} each), more than the device budget of ${fmtSize(deviceBudget)}; ` +
        'expected a larger --scale, smaller --hidden/--intermediate, a larger --device-budget-gib, or smaller caches',
    );
  }
  return {
    model: { ...model, name: `${model.name}@${h}x${f}`, hiddenSize: h, expertIntermediateSize: f, expertMatrices: 3, expertBias: false },
    shape: { hiddenSize: h, intermediateSize: f },
    dtype,
    factor: h0 / h,
    chosen,
    numExpertsTotal: n,
    expertBytes,
    hostBytes,
    deviceExperts,
    deviceBytes,
    hostBudgetBytes: hostBudget,
    deviceBudgetBytes: deviceBudget,
  };
}
