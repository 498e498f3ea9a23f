/**
 * One expert FFN as an ONNX graph, built in code with onnx-proto, plus a plain TypeScript reference.
 *
 * SwiGLU: y = (silu(x·W1) ⊙ (x·W3))·W2, silu(g) = g·sigmoid(g).
 * x is [tokens, hidden]; W1 and W3 are [hidden, inter]; W2 is [inter, hidden]. The weights are
 * GRAPH INPUTS, not initializers, so one session serves every expert and every shape (all
 * dimensions are symbolic): the caller decides where the weights live (host, or device-resident
 * tensors uploaded beforehand).
 */
import onnxProto from 'onnx-proto';
import type { InferenceSession as OrtSession } from 'onnxruntime-common';
import type { Rng } from '../rng/rng.js';

const { onnx } = onnxProto;

/** Element types the expert graph is built for. */
export type ExpertDtype = 'float32' | 'float16';
export const expertDtypes: readonly ExpertDtype[] = ['float32', 'float16'];

/** Host storage of one tensor: float32 values, or IEEE half bits (Node 20 has no Float16Array). */
export type HostArray = Float32Array | Uint16Array;

export interface ExpertShape {
  hiddenSize: number;
  intermediateSize: number;
}

/** An expert's weights in host memory, row-major, in the graph's layout. */
export interface ExpertWeights {
  shape: ExpertShape;
  dtype: ExpertDtype;
  /** Gate projection, [hidden, inter]. */
  w1: HostArray;
  /** Up projection, [hidden, inter]. */
  w3: HostArray;
  /** Down projection, [inter, hidden]. */
  w2: HostArray;
}

const elemTypeOf: Record<ExpertDtype, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
};

export function dtypeBytes(dtype: ExpertDtype): number {
  return dtype === 'float32' ? 4 : 2;
}

/** Bytes of the three weight matrices. */
export function expertWeightBytes(shape: ExpertShape, dtype: ExpertDtype): number {
  return 3 * shape.hiddenSize * shape.intermediateSize * dtypeBytes(dtype);
}

/** Bytes one run touches: the weights once, plus x and y. Intermediates are ignored (they stay in cache). */
export function expertBytesMoved(shape: ExpertShape, dtype: ExpertDtype, tokens: number): number {
  return expertWeightBytes(shape, dtype) + 2 * tokens * shape.hiddenSize * dtypeBytes(dtype);
}

/** FLOPs of one run: three GEMMs of 2·tokens·hidden·inter each; the elementwise ops are negligible. */
export function expertFlops(shape: ExpertShape, tokens: number): number {
  return 6 * tokens * shape.hiddenSize * shape.intermediateSize;
}

type Dim = number | string;

export function valueInfo(name: string, elemType: number, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export function encodeModel(graph: onnxProto.onnx.IGraphProto, opsets: { domain: string; version: number }[] = [{ domain: '', version: 17 }]): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'moesim',
    opsetImport: opsets,
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The serialized SwiGLU expert model. Inputs x, w1, w3, w2; output y. */
export function buildExpertModel(dtype: ExpertDtype): Uint8Array {
  const t = elemTypeOf[dtype];
  return encodeModel({
    name: `moesim_swiglu_expert_${dtype}`,
    node: [
      { name: 'gate', opType: 'MatMul', input: ['x', 'w1'], output: ['g'] },
      { name: 'gate_sigmoid', opType: 'Sigmoid', input: ['g'], output: ['g_sig'] },
      { name: 'silu', opType: 'Mul', input: ['g', 'g_sig'], output: ['a'] },
      { name: 'up', opType: 'MatMul', input: ['x', 'w3'], output: ['u'] },
      { name: 'glu', opType: 'Mul', input: ['a', 'u'], output: ['h'] },
      { name: 'down', opType: 'MatMul', input: ['h', 'w2'], output: ['y'] },
    ],
    input: [
      valueInfo('x', t, ['tokens', 'hidden']),
      valueInfo('w1', t, ['hidden', 'inter']),
      valueInfo('w3', t, ['hidden', 'inter']),
      valueInfo('w2', t, ['inter', 'hidden']),
    ],
    output: [valueInfo('y', t, ['tokens', 'hidden'])],
  });
}

/**
 * A one-node Identity model, [rows, cols] -> [rows, cols]: run on a 1x1 tensor, the "tiny kernel"
 * of the launch-overhead benchmark.
 */
export function buildIdentityModel(dtype: ExpertDtype): Uint8Array {
  const t = elemTypeOf[dtype];
  return encodeModel({
    name: `moesim_identity_${dtype}`,
    node: [{ name: 'copy', opType: 'Identity', input: ['in'], output: ['out'] }],
    input: [valueInfo('in', t, ['rows', 'cols'])],
    output: [valueInfo('out', t, ['rows', 'cols'])],
  });
}

/**
 * A model with no nodes whose output IS its input, [rows, cols]. Run with `preferredOutputLocation:
 * 'gpu-buffer'`, ONNX Runtime's only work is to copy the fed host tensor into a device buffer: this
 * is how the WebGPU backend uploads. (An Identity node would add a device-to-device copy: measured
 * on lavapipe, 35 ms instead of 23 ms for 32 MiB.)
 */
export function buildUploadModel(dtype: ExpertDtype): Uint8Array {
  const t = elemTypeOf[dtype];
  return encodeModel({
    name: `moesim_upload_${dtype}`,
    node: [],
    input: [valueInfo('in', t, ['rows', 'cols'])],
    output: [valueInfo('in', t, ['rows', 'cols'])],
  });
}

/** An ONNX Runtime session of the expert model on one execution provider. */
export async function createExpertSession(
  executionProvider: 'cpu' | 'webgpu',
  dtype: ExpertDtype,
  options: Omit<OrtSession.SessionOptions, 'executionProviders'> = {},
): Promise<OrtSession> {
  const ort = await import('onnxruntime-node');
  return ort.InferenceSession.create(buildExpertModel(dtype), { ...options, executionProviders: [executionProvider] });
}

// ---------------------------------------------------------------------------------------------
// IEEE 754 half precision, for float16 tensors held in Uint16Array.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Round-to-nearest-even conversion of one number to half-precision bits. */
export function float32ToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // may carry into the exponent: correct
  return sign | half;
}

export function halfBitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function toHalf(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToHalfBits(values[i]);
  return out;
}

export function fromHalf(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBitsToFloat32(bits[i]);
  return out;
}

/** Host values as float32 numbers, whatever the storage. */
export function toFloat32(values: HostArray, dtype: ExpertDtype): Float32Array {
  return dtype === 'float32' ? (values as Float32Array) : fromHalf(values as Uint16Array);
}

// ---------------------------------------------------------------------------------------------
// Test data and the reference.

/** Uniform values in [-scale, scale), seeded. */
export function randomArray(n: number, rng: Rng, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * scale;
  return out;
}

/**
 * Random expert weights, scaled like a trained layer (uniform ±1/sqrt(fan-in)) so outputs stay O(1)
 * and float16 neither overflows nor flushes to zero.
 */
export function randomExpertWeights(shape: ExpertShape, dtype: ExpertDtype, rng: Rng): ExpertWeights {
  const { hiddenSize: h, intermediateSize: f } = shape;
  const conv = (a: Float32Array): HostArray => (dtype === 'float32' ? a : toHalf(a));
  return {
    shape,
    dtype,
    w1: conv(randomArray(h * f, rng.fork('w1'), 1 / Math.sqrt(h))),
    w3: conv(randomArray(h * f, rng.fork('w3'), 1 / Math.sqrt(h))),
    w2: conv(randomArray(f * h, rng.fork('w2'), 1 / Math.sqrt(f))),
  };
}

/** Random activations x, [tokens, hidden]. */
export function randomActivations(tokens: number, hiddenSize: number, dtype: ExpertDtype, rng: Rng): HostArray {
  const a = randomArray(tokens * hiddenSize, rng, 1);
  return dtype === 'float32' ? a : toHalf(a);
}

/**
 * The expert in plain TypeScript, accumulating in float64 from the (possibly half-rounded) inputs.
 * O(tokens·hidden·inter): for small test shapes only.
 */
export function referenceExpert(x: HostArray, weights: ExpertWeights, tokens: number): Float64Array {
  const { hiddenSize: h, intermediateSize: f } = weights.shape;
  const xs = toFloat32(x, weights.dtype);
  const w1 = toFloat32(weights.w1, weights.dtype);
  const w3 = toFloat32(weights.w3, weights.dtype);
  const w2 = toFloat32(weights.w2, weights.dtype);
  const y = new Float64Array(tokens * h);
  const g = new Float64Array(f);
  const u = new Float64Array(f);
  for (let t = 0; t < tokens; t++) {
    g.fill(0);
    u.fill(0);
    for (let k = 0; k < h; k++) {
      const xv = xs[t * h + k];
      const row = k * f;
      for (let j = 0; j < f; j++) {
        g[j] += xv * w1[row + j];
        u[j] += xv * w3[row + j];
      }
    }
    for (let j = 0; j < f; j++) {
      const silu = g[j] / (1 + Math.exp(-g[j]));
      const hj = silu * u[j];
      const row = j * h;
      for (let k = 0; k < h; k++) y[t * h + k] += hj * w2[row + k];
    }
  }
  return y;
}
