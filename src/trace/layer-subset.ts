/**
 * Traces of some MoE layers only (a logger that recorded layers 0 and 8 of a 24-layer model).
 * The scenario says how such a trace is used, in the trace field `missingLayers`:
 *
 * - `fill`: the model's other MoE layers are filled from the recorded layers' statistics: each
 *   token's route in an unrecorded layer is drawn (seeded, reproducible) from the pooled expert
 *   popularity of the recorded layers, topK distinct experts, weights 1/topK. The recorded layers
 *   keep their routes exactly; the filled ones are a model, and a warning says how many.
 *
 * Without it, a trace whose layers are fewer than the model's is refused with an error naming the
 * option. The trace's `layerIds` say which of the model's MoE layers were recorded: ids that are
 * transformer layer indices in the model's `moeLayers` map to their MoE ordinal, else an id is
 * taken as the MoE ordinal itself.
 */
import { createRng } from '../rng/rng.js';
import { InputError } from '../util/errors.js';
import { TraceBuilder } from './builder.js';
import { NO_EXPERT, type Trace } from './types.js';

export const MISSING_LAYERS_MODES = ['fill', 'recorded'] as const;
export type MissingLayersMode = (typeof MISSING_LAYERS_MODES)[number];

/** Which MoE ordinals of the model the trace's layers are, or an error message. */
export function recordedOrdinals(trace: Trace, moeLayers: number[]): number[] | string {
  const ids = trace.layerIds ?? Array.from({ length: trace.numLayers }, (_, i) => i);
  const L = moeLayers.length;
  if (ids.every((id) => moeLayers.includes(id))) return ids.map((id) => moeLayers.indexOf(id));
  if (ids.every((id) => id < L)) return ids;
  return `layer ids ${ids.join(', ')} are neither MoE layers of the model (${moeLayers[0]}..${moeLayers[L - 1]}) nor MoE ordinals 0..${L - 1}`;
}

/**
 * Make a trace of some layers fit a model of `moeLayers`; returns the trace unchanged when it
 * already has every layer.
 */
export function fitLayerSubset(trace: Trace, moeLayers: number[], modelName: string, where: string, mode: MissingLayersMode | undefined, seed = 'missing-layers'): Trace {
  const L = moeLayers.length;
  if (trace.numLayers === L) return trace;
  const recorded = trace.layerIds !== undefined ? ` (layers ${trace.layerIds.join(', ')})` : '';
  if (trace.numLayers > L) {
    throw new InputError(`${where}: the trace has ${trace.numLayers} MoE layers${recorded}, model ${modelName} has ${L}; expected a trace recorded on this model`);
  }
  if (mode === undefined) {
    throw new InputError(
      `${where}: the trace covers ${trace.numLayers} of model ${modelName}'s ${L} MoE layers${recorded}; say how to use it: ` +
        `trace.missingLayers: recorded (simulate the recorded layers only, the other layers' time still charged, their experts assumed resident) ` +
        `or trace.missingLayers: fill (the other layers drawn from the recorded layers' expert popularity), ` +
        `or give a trace of every layer, or an inline model whose moeLayers are the recorded layers (see README, Traces of some layers)`,
    );
  }
  const ords = recordedOrdinals(trace, moeLayers);
  if (typeof ords === 'string') throw new InputError(`${where}: ${ords}`);
  if (mode === 'recorded') {
    if (ords.some((o, i) => i > 0 && o <= ords[i - 1])) throw new InputError(`${where}: missingLayers: recorded needs the trace's layers in model order, got ordinals ${ords.join(', ')}`);
    const out: Trace = { ...trace, warnings: [...trace.warnings] };
    out.warnings.push(`${where}: the trace records ${trace.numLayers} of ${L} MoE layers${recorded}; only those are simulated, the other ${L - trace.numLayers} are charged their non-expert time and the compute of top-${trace.topK} resident experts (missingLayers: recorded)`);
    return out;
  }
  const K = trace.topK;
  const E = trace.numExperts;
  if (K > E) throw new InputError(`${where}: top-${K} over ${E} experts cannot be filled`);
  // Pooled popularity of the recorded layers.
  const counts = new Float64Array(E);
  for (const e of trace.experts) if (e !== NO_EXPERT) counts[e]++;
  const cum = new Float64Array(E);
  let acc = 0;
  for (let e = 0; e < E; e++) cum[e] = acc += counts[e] + 1e-9;
  const rng = createRng(seed);
  const draw = (): number => {
    const u = rng.next() * acc;
    let lo = 0, hi = E - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const isRecorded = new Int32Array(L).fill(-1);
  ords.forEach((o, i) => (isRecorded[o] = i));
  const b = new TraceBuilder({ numLayers: L, topK: K, weights: trace.weights !== undefined, initialTokens: trace.tokens });
  const srcRow = trace.numLayers * K;
  const pick: number[] = [];
  for (const s of trace.sequences) {
    b.beginSequence(s.id);
    for (let t = s.start; t < s.start + s.length; t++) {
      const slot = b.addToken();
      const ex = b.experts;
      const w = trace.weights !== undefined ? b.weights : undefined;
      for (let l = 0; l < L; l++) {
        const dst = slot + l * K;
        const r = isRecorded[l];
        if (r >= 0) {
          const src = t * srcRow + r * K;
          for (let k = 0; k < K; k++) ex[dst + k] = trace.experts[src + k];
          if (w !== undefined && trace.weights !== undefined) for (let k = 0; k < K; k++) w[dst + k] = trace.weights[src + k];
          continue;
        }
        pick.length = 0;
        while (pick.length < K) {
          const e = draw();
          if (!pick.includes(e)) pick.push(e);
        }
        for (let k = 0; k < K; k++) ex[dst + k] = pick[k];
        if (w !== undefined) for (let k = 0; k < K; k++) w[dst + k] = 1 / K;
      }
    }
  }
  const out = b.build({ numExperts: E, layerIds: moeLayers.slice(), source: trace.source, warnings: [...trace.warnings] });
  out.warnings.push(`${where}: the trace records ${trace.numLayers} of ${L} MoE layers${recorded}; the other ${L - trace.numLayers} are filled from the recorded layers' expert popularity (missingLayers: fill)`);
  return out;
}
