/**
 * `moesim replay`: execute a real MoE model on a real backend, following a trace's routing step by
 * step, with a real device-side expert cache driven by the scenario's cache policies: the same
 * policy code (`createPolicyCache`) as the simulator.
 *
 * The model: the scenario model's MoE structure (layers, experts per layer, top-k) at a scaled
 * shape (scale.ts), seeded random SwiGLU experts in fp32 held in host memory. Per step and MoE
 * layer, like the simulator (OffloadSim):
 *
 *   1. the hidden states of the step's tokens are RMS-normalised (the expert input);
 *   2. the union of the experts the step's tokens are routed to at this layer (the trace's
 *      routing) is looked up in the ExpertCache, in order of first appearance;
 *   3. a hit runs the expert on its device-resident weights; a miss uploads the expert's weights
 *      (backend.upload: the real host-to-device copy), evicting the policy's victim first (its
 *      device memory freed), then runs it; a miss the policy does not admit runs from a staging
 *      copy that is freed right after;
 *   4. each expert's output, weighted by the trace's gate weight (1/k when not recorded), is added
 *      to its tokens' hidden states (the residual stream), which feed the next layer.
 *
 * There is no attention or other non-expert work: the simulation of a replay charges none either.
 * Uploads and runs are issued by this one thread, each awaited before the next (ONNX Runtime's
 * runs are synchronous): they never overlap, which a calibration profile's link says
 * (overlapsCompute: false).
 *
 * Timing (process.hrtime.bigint): an untimed warm-up pass over the first steps with a throwaway
 * cache (JIT, ORT's first runs, page faults of the device memory pool), then `repeats` timed
 * passes over every step, each from an empty cache, round-robin over the policies; a step's time
 * is its median over the passes.
 * Initial residents (static placement, all-on-gpu) are uploaded before a pass and not timed or
 * counted, as the simulator charges nothing for them.
 */
import type { Backend, DeviceExpert } from './backends.js';
import { expertWeightBytes, type ExpertShape, type ExpertWeights } from './expert-graph.js';
import { SlabAllocator } from './backends.js';
import type { Progress } from './microbench.js';
import { quantile } from './microbench.js';
import { summarizeLatencies, tokenLatencies, type LatencySummary, type StepLog } from '../metrics/latency.js';
import type { Scenario } from '../scenario/schema.js';
import { createPolicyCache, type PreparedScenario } from '../sim/run.js';
import { LayerUnion } from '../sim/union.js';
import { NO_EXPERT } from '../trace/types.js';

export interface ReplayOptions {
  backend: Backend;
  scenario: Scenario;
  /** The scenario, prepared (trace loaded and truncated as wanted). Capacities come from it. */
  prep: PreparedScenario;
  /** Indices into scenario.policies to replay. */
  policies: number[];
  shape: ExpertShape;
  /** Steps of the untimed warm-up pass (default 8). */
  warmupSteps?: number;
  /** Timed passes (default 3); a step's time is its median over them. */
  repeats?: number;
  /** Seed of the weights and embeddings. */
  seed?: string;
  progress?: Progress;
}

export interface ReplayPolicyResult {
  /** Index into scenario.policies. */
  index: number;
  policy: string;
  label: string;
  capacityExperts: number;
  accesses: number;
  hits: number;
  misses: number;
  hitRate: number;
  perLayerAccesses: number[];
  perLayerHits: number[];
  /** Host-to-device uploads of experts, and their bytes (initial residents not counted). */
  uploads: number;
  bytesH2D: number;
  evictions: number;
  /** Per step, seconds: the median over the timed passes. */
  stepSec: number[];
  /** Per pass, per step, seconds. */
  passStepSec: number[][];
  /** Per MoE layer, seconds summed over the steps, median over the passes. */
  perLayerSec: number[];
  /** Time inside backend.upload and backend.runExpert, summed over the steps, median over the passes. */
  uploadSec: number;
  computeSec: number;
  /** Mean step time of each pass (its spread shows the run-to-run noise). */
  passMeanStepSec: number[];
  latency: LatencySummary;
}

export interface ReplayResult {
  backend: { name: string; device: string };
  shape: ExpertShape;
  expertBytes: number;
  warmupSteps: number;
  repeats: number;
  trace: { tokens: number; sequences: number; steps: number };
  steps: StepLog[];
  policies: ReplayPolicyResult[];
  /** Seconds spent creating the host weights. */
  setupSec: number;
}

const now = (): bigint => process.hrtime.bigint();
const sec = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

/** FNV-1a of a string: the seed of one expert's weights. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0 || 1;
}

/** Uniform values in [-scale, scale) from xorshift32 seeded with `seed`: fast enough for a GiB of weights. */
function fillUniform(out: Float32Array, seed: number, scale: number): void {
  let x = seed >>> 0 || 1;
  const k = (2 * scale) / 4294967296;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) * k - scale;
  }
}

/**
 * Every expert's weights in host memory, page-aligned (like pinned host memory), each expert's
 * three matrices contiguous. Scaled like a trained layer (uniform ±1/sqrt(fan-in)).
 */
export function hostExperts(numKeys: number, shape: ExpertShape, seed: string, memory: SlabAllocator): ExpertWeights[] {
  const { hiddenSize: h, intermediateSize: f } = shape;
  const out: ExpertWeights[] = [];
  for (let key = 0; key < numKeys; key++) {
    const all = memory.alloc('float32', 3 * h * f) as Float32Array;
    const w1 = all.subarray(0, h * f);
    const w3 = all.subarray(h * f, 2 * h * f);
    const w2 = all.subarray(2 * h * f);
    fillUniform(w1, hash32(`${seed}/expert/${key}/w1`), 1 / Math.sqrt(h));
    fillUniform(w3, hash32(`${seed}/expert/${key}/w3`), 1 / Math.sqrt(h));
    fillUniform(w2, hash32(`${seed}/expert/${key}/w2`), 1 / Math.sqrt(f));
    out.push({ shape, dtype: 'float32', w1, w3, w2 });
  }
  return out;
}

interface PassCounters {
  accesses: number;
  hits: number;
  misses: number;
  uploads: number;
  bytesH2D: number;
  evictions: number;
  perLayerAccesses: Float64Array;
  perLayerHits: Float64Array;
  stepSec: number[];
  perLayerSec: Float64Array;
  uploadSec: number;
  computeSec: number;
}

/** One pass over the steps (at most `maxSteps`) with a fresh cache of policy `index`. */
async function replayPass(
  o: ReplayOptions,
  hosts: ExpertWeights[],
  index: number,
  maxSteps: number,
  steps: StepLog[] | null,
): Promise<PassCounters> {
  const { backend, prep, scenario } = o;
  const { trace } = prep;
  const L = trace.numLayers;
  const E = prep.model.numExperts;
  const K = trace.topK;
  const h = o.shape.hiddenSize;
  const { cache } = createPolicyCache(prep, scenario.policies[index], index);
  const c: PassCounters = {
    accesses: 0,
    hits: 0,
    misses: 0,
    uploads: 0,
    bytesH2D: 0,
    evictions: 0,
    perLayerAccesses: new Float64Array(L),
    perLayerHits: new Float64Array(L),
    stepSec: [],
    perLayerSec: new Float64Array(L),
    uploadSec: 0,
    computeSec: 0,
  };
  const resident: (DeviceExpert | undefined)[] = new Array(L * E);
  try {
    for (let k = 0; k < L * E; k++) if (cache.resident[k] === 1) resident[k] = await backend.upload(hosts[k]);
    await backend.sync();

    const source = prep.newSource();
    const union = new LayerUnion(E);
    const maxTokens = source.maxTokens;
    const hidden = new Float32Array(maxTokens * h);
    const normed = new Float32Array(maxTokens * h);
    const rows = new Int32Array(maxTokens);
    const gates = new Float32Array(maxTokens);
    const ids = trace.experts;
    const weights = trace.weights;

    for (let step = source.next(0); step !== null && c.stepSec.length < maxSteps; step = source.next(0)) {
      if (steps) steps.push({ count: step.count, prefill: step.prefill, startSeq: Array.from(step.startSeq.subarray(0, step.startCount)), emitSeq: Array.from(step.emitSeq.subarray(0, step.emitCount)) });
      // The tokens' embeddings: seeded by token index, untimed (the simulation charges no embedding).
      for (let i = 0; i < step.count; i++) fillUniform(hidden.subarray(i * h, (i + 1) * h), hash32(`token/${step.tokens[i]}`), 1);
      const t0 = now();
      for (let layer = 0; layer < L; layer++) {
        const tl = now();
        for (let i = 0; i < step.count; i++) {
          let ss = 0;
          for (let j = i * h; j < (i + 1) * h; j++) ss += hidden[j] * hidden[j];
          const r = 1 / Math.sqrt(ss / h + 1e-6);
          for (let j = i * h; j < (i + 1) * h; j++) normed[j] = hidden[j] * r;
        }
        const u = union.compute(trace, step, layer);
        const base = layer * E;
        for (let ui = 0; ui < u; ui++) {
          const e = union.experts[ui];
          const key = base + e;
          // The rows routed to e, and their gate weights.
          let n = 0;
          for (let i = 0; i < step.count; i++) {
            const slot = (step.tokens[i] * L + layer) * K;
            for (let k = 0; k < K; k++) {
              if (ids[slot + k] !== e) continue;
              const w = weights ? weights[slot + k] : NaN;
              rows[n] = i;
              gates[n++] = Number.isFinite(w) ? w : 1 / K;
            }
          }
          const x = new Float32Array(n * h);
          for (let r = 0; r < n; r++) x.set(normed.subarray(rows[r] * h, rows[r] * h + h), r * h);

          let dev: DeviceExpert;
          const hit = cache.access(key);
          if (hit) {
            dev = resident[key]!;
            if (dev === undefined) throw new Error(`replay: cache says expert ${key} is resident, but it is not on the device`);
          } else {
            const victim = cache.lastEvicted;
            if (victim >= 0) {
              const v = resident[victim];
              if (v === undefined) throw new Error(`replay: victim ${victim} is not on the device`);
              backend.evict(v);
              resident[victim] = undefined;
              c.evictions++;
            }
            const tu = now();
            dev = await backend.upload(hosts[key]);
            c.uploadSec += sec(tu);
            c.uploads++;
            c.bytesH2D += dev.sizeBytes;
            if (cache.lastAdmitted) resident[key] = dev;
          }
          const tc = now();
          const y = (await backend.runExpert(x, dev)) as Float32Array;
          c.computeSec += sec(tc);
          if (!hit && !cache.lastAdmitted) backend.evict(dev); // a staging copy, dropped after use
          for (let r = 0; r < n; r++) {
            const g = gates[r];
            const off = rows[r] * h;
            for (let j = 0; j < h; j++) hidden[off + j] += g * y[r * h + j];
          }
          if (hit) {
            c.hits++;
            c.perLayerHits[layer]++;
          }
        }
        c.accesses += u;
        c.perLayerAccesses[layer] += u;
        c.perLayerSec[layer] += sec(tl);
      }
      c.stepSec.push(sec(t0));
      for (let j = 0; j < step.count * h; j++) {
        if (!Number.isFinite(hidden[j])) throw new Error(`replay: the hidden state diverged at step ${c.stepSec.length - 1}`);
      }
    }
    c.misses = c.accesses - c.hits;
    return c;
  } finally {
    for (const d of resident) if (d !== undefined) backend.evict(d);
  }
}

const median = (xs: number[]): number => quantile([...xs].sort((a, b) => a - b), 0.5);

/** Replay every requested policy: warm-up, then timed passes. */
export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const { prep, scenario, backend } = o;
  const warmupSteps = o.warmupSteps ?? 8;
  const repeats = Math.max(1, o.repeats ?? 3);
  const progress = o.progress ?? (() => {});
  const L = prep.trace.numLayers;
  const E = prep.model.numExperts;
  const memory = new SlabAllocator();
  const t0 = now();
  const hosts = hostExperts(L * E, o.shape, o.seed ?? `${scenario.seed}`, memory);
  const setupSec = sec(t0);
  progress(`host weights: ${L * E} experts of ${o.shape.hiddenSize}x${o.shape.intermediateSize} in ${setupSec.toFixed(1)} s`);
  const policies: ReplayPolicyResult[] = [];
  let steps: StepLog[] = [];
  try {
    // Passes go round-robin over the policies (pass 1 of each, then pass 2 of each, ...), so that
    // a burst of other work on the machine slows every policy alike rather than one of them.
    const passes: PassCounters[][] = o.policies.map(() => []);
    for (let r = 0; r < repeats; r++) {
      for (let j = 0; j < o.policies.length; j++) {
        const index = o.policies[j];
        const p = scenario.policies[index];
        if (r === 0 && warmupSteps > 0) await replayPass(o, hosts, index, warmupSteps, null);
        const log: StepLog[] | null = j === 0 && r === 0 ? [] : null;
        const c = await replayPass(o, hosts, index, Infinity, log);
        if (log) steps = log;
        const first = passes[j][0];
        if (first && (first.hits !== c.hits || first.bytesH2D !== c.bytesH2D || first.accesses !== c.accesses || first.stepSec.length !== c.stepSec.length)) {
          throw new Error(`replay: pass ${r} of policy ${index} counted ${c.hits} hits and ${c.bytesH2D} bytes, pass 0 ${first.hits} and ${first.bytesH2D}: the policy is not deterministic`);
        }
        passes[j].push(c);
        const mean = c.stepSec.reduce((a, b) => a + b, 0) / c.stepSec.length;
        progress(`${p.label ?? p.kind} pass ${r + 1}/${repeats}: ${c.stepSec.length} steps, mean ${(mean * 1e3).toFixed(3)} ms/step, ${c.hits}/${c.accesses} hits`);
      }
    }
    for (let j = 0; j < o.policies.length; j++) {
      const index = o.policies[j];
      const p = scenario.policies[index];
      const ps = passes[j];
      const c0 = ps[0];
      const nSteps = c0.stepSec.length;
      const stepSec = Array.from({ length: nSteps }, (_, s) => median(ps.map((q) => q.stepSec[s])));
      const { plan, label } = createPolicyCache(prep, p, index);
      policies.push({
        index,
        policy: p.kind,
        label,
        capacityExperts: plan.capacityExperts,
        accesses: c0.accesses,
        hits: c0.hits,
        misses: c0.misses,
        hitRate: c0.accesses === 0 ? 0 : c0.hits / c0.accesses,
        perLayerAccesses: Array.from(c0.perLayerAccesses),
        perLayerHits: Array.from(c0.perLayerHits),
        uploads: c0.uploads,
        bytesH2D: c0.bytesH2D,
        evictions: c0.evictions,
        stepSec,
        passStepSec: ps.map((q) => q.stepSec),
        perLayerSec: Array.from({ length: L }, (_, l) => median(ps.map((q) => q.perLayerSec[l]))),
        uploadSec: median(ps.map((q) => q.uploadSec)),
        computeSec: median(ps.map((q) => q.computeSec)),
        passMeanStepSec: ps.map((q) => q.stepSec.reduce((a, b) => a + b, 0) / q.stepSec.length),
        latency: summarizeLatencies(tokenLatencies(steps, stepSec, prep.trace.sequences.length)),
      });
    }
  } finally {
    memory.clear();
  }
  return {
    backend: { name: backend.name, device: backend.device },
    shape: o.shape,
    expertBytes: expertWeightBytes(o.shape, 'float32'),
    warmupSteps,
    repeats,
    trace: { tokens: prep.trace.tokens, sequences: prep.trace.sequences.length, steps: steps.length },
    steps,
    policies,
    setupSec,
  };
}

/** Largest number of experts any of these policies holds on the device at once (cache + one staging copy). */
export function deviceExpertsNeeded(prep: PreparedScenario, scenario: Scenario, policies: number[]): number {
  let most = 1;
  for (const i of policies) {
    const { plan } = createPolicyCache(prep, scenario.policies[i], i);
    most = Math.max(most, plan.capacityExperts + 1);
  }
  return most;
}
