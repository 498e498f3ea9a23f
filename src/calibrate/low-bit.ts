/**
 * Lower-bit copies of an expert for `moesim replay` (HOBBIT's low-precision miss handler): the
 * expert's weights quantised to 4 or 8 bits in blocks along the reduction dimension, one fp32 scale
 * per block, executed by ONNX Runtime's MatMulNBits (com.microsoft; a dequantising matmul: the
 * weights stay packed on the device and are dequantised inside the kernel), on the backend's own
 * execution provider. A copy uploads fewer bytes than the fp32 expert: int4 0.5 + 4/B bytes per
 * weight, int8 1 + 4/B (B the block, 32 or 16 weights).
 *
 * Layout (MatMulNBits: B is [N, K/block, block·bits/8], column n of the [K, N] weight packed along
 * k, low nibble first for 4 bits; no zero-point input, so the zero point is 2^(bits-1)):
 *   - w13: W1 and W3 side by side ([hidden, 2·inter]) as one packed buffer: the gate and up
 *     projections are one MatMulNBits whose output is split;
 *   - w2: W2 ([inter, hidden]) packed;
 *   - scales: the scales of w13 then those of w2, one fp32 buffer (sliced in the graph).
 * Three buffers per copy, like the fp32 expert's three matrices: a copy is three uploads.
 *
 * Quantisation is symmetric per block: scale = max|w| / (2^(bits-1) - 1), q = round(w / scale) +
 * 2^(bits-1), clamped. The replay computes a miss at that precision (a degraded computation, as in
 * HOBBIT); lowBitReference computes the same dequantised expert in TypeScript for the tests.
 */
import onnxProto from 'onnx-proto';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { Dtype } from '../model/types.js';
import { InputError } from '../util/errors.js';
import { lastLevelCacheBytes, SlabAllocator, type Backend } from './backends.js';
import { encodeModel, valueInfo, type ExpertShape, type ExpertWeights } from './expert-graph.js';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

export type LowBitBits = 4 | 8;
export const lowBitDtypes = ['int4', 'int8'] as const;
export type LowBitDtype = (typeof lowBitDtypes)[number];

export interface LowBitFormat {
  dtype: LowBitDtype;
  bits: LowBitBits;
  /** Weights per scale along the reduction dimension. */
  block: number;
}

/** The replay's format of `dtype` for `shape`; an InputError for a format it does not execute. */
export function lowBitFormat(dtype: Dtype, shape: ExpertShape, where = 'onMiss.dtype'): LowBitFormat {
  if (dtype !== 'int4' && dtype !== 'int8') {
    throw new InputError(`${where}: replay and validate execute lower-bit copies as int4 or int8 (ONNX Runtime MatMulNBits), not ${dtype}`);
  }
  const { hiddenSize: h, intermediateSize: f } = shape;
  const block = h % 32 === 0 && f % 32 === 0 ? 32 : h % 16 === 0 && f % 16 === 0 ? 16 : 0;
  if (block === 0) throw new InputError(`${where}: a ${dtype} copy needs hidden and intermediate sizes that are multiples of 16, got ${h}x${f}; pick another --scale`);
  return { dtype, bits: dtype === 'int4' ? 4 : 8, block };
}

/** Bytes of the three buffers of one copy: the packed weights of w13 and w2, and the scales. */
export function lowBitBufferBytes(shape: ExpertShape, fmt: LowBitFormat): { w13: number; w2: number; scales: number } {
  const { hiddenSize: h, intermediateSize: f } = shape;
  const packed = (k: number, n: number) => (n * k * fmt.bits) / 8;
  return { w13: packed(h, 2 * f), w2: packed(f, h), scales: 4 * (((2 * f) * h) / fmt.block + (h * f) / fmt.block) };
}

/** Bytes one copy uploads. */
export function lowBitExpertBytes(shape: ExpertShape, fmt: LowBitFormat): number {
  const b = lowBitBufferBytes(shape, fmt);
  return b.w13 + b.w2 + b.scales;
}

/** One expert's lower-bit copy in host memory. */
export interface LowBitWeights {
  shape: ExpertShape;
  format: LowBitFormat;
  w13: Uint8Array;
  w2: Uint8Array;
  scales: Float32Array;
}

/**
 * Packs the [K, N] row-major matrices `mats` (side by side along N) into MatMulNBits' B, writing
 * their scales to `scales` from `scaleOffset`.
 */
function pack(mats: readonly Float32Array[], K: number, Nper: number, fmt: LowBitFormat, out: Uint8Array, scales: Float32Array, scaleOffset: number): void {
  const { bits, block } = fmt;
  const nb = K / block;
  const blob = (block * bits) / 8;
  const zp = 1 << (bits - 1);
  const qmax = (1 << bits) - 1;
  const lim = zp - 1;
  for (let m = 0; m < mats.length; m++) {
    const w = mats[m];
    for (let c = 0; c < Nper; c++) {
      const n = m * Nper + c;
      for (let b = 0; b < nb; b++) {
        let amax = 0;
        for (let o = 0; o < block; o++) amax = Math.max(amax, Math.abs(w[(b * block + o) * Nper + c]));
        const scale = amax > 0 ? amax / lim : 1;
        scales[scaleOffset + n * nb + b] = scale;
        const base = (n * nb + b) * blob;
        for (let o = 0; o < block; o++) {
          const q = Math.min(qmax, Math.max(0, Math.round(w[(b * block + o) * Nper + c] / scale) + zp));
          if (bits === 8) out[base + o] = q;
          else if ((o & 1) === 0) out[base + (o >> 1)] = q;
          else out[base + (o >> 1)] |= q << 4;
        }
      }
    }
  }
}

/** Quantises fp32 expert weights to `fmt`. */
export function quantizeExpert(w: ExpertWeights, fmt: LowBitFormat): LowBitWeights {
  if (w.dtype !== 'float32') throw new Error('quantizeExpert: float32 weights only');
  const { hiddenSize: h, intermediateSize: f } = w.shape;
  const bytes = lowBitBufferBytes(w.shape, fmt);
  const w13 = new Uint8Array(bytes.w13);
  const w2 = new Uint8Array(bytes.w2);
  const scales = new Float32Array(bytes.scales / 4);
  pack([w.w1 as Float32Array, w.w3 as Float32Array], h, f, fmt, w13, scales, 0);
  pack([w.w2 as Float32Array], f, h, fmt, w2, scales, (2 * f * h) / fmt.block);
  return { shape: w.shape, format: fmt, w13, w2, scales };
}

/** The dequantised fp32 weights of a copy (what MatMulNBits computes with), for references. */
export function dequantizeExpert(q: LowBitWeights): ExpertWeights {
  const { hiddenSize: h, intermediateSize: f } = q.shape;
  const { bits, block } = q.format;
  const zp = 1 << (bits - 1);
  const blob = (block * bits) / 8;
  const unpack = (B: Uint8Array, K: number, scaleOffset: number, col0: number, Nout: number, out: Float32Array) => {
    const nb = K / block;
    for (let c = 0; c < Nout; c++) {
      const n = col0 + c;
      for (let k = 0; k < K; k++) {
        const b = (k / block) | 0;
        const o = k % block;
        const base = (n * nb + b) * blob;
        const v = bits === 8 ? B[base + o] : (o & 1) === 0 ? B[base + (o >> 1)] & 15 : B[base + (o >> 1)] >> 4;
        out[k * Nout + c] = (v - zp) * q.scales[scaleOffset + n * nb + b];
      }
    }
  };
  const w1 = new Float32Array(h * f);
  const w3 = new Float32Array(h * f);
  const w2 = new Float32Array(f * h);
  unpack(q.w13, h, 0, 0, f, w1);
  unpack(q.w13, h, 0, f, f, w3);
  unpack(q.w2, f, (2 * f * h) / block, 0, h, w2);
  return { shape: q.shape, dtype: 'float32', w1, w3, w2 };
}

/** The lower-bit expert graph for one shape and format: inputs x, w13, w2, scales; output y. */
export function buildLowBitExpertModel(shape: ExpertShape, fmt: LowBitFormat): Uint8Array {
  const { hiddenSize: h, intermediateSize: f } = shape;
  const { bits, block } = fmt;
  const n13 = (2 * f * h) / block;
  const n2 = (h * f) / block;
  const int64 = (name: string, values: number[]) => ({ name, dataType: T.INT64, dims: [values.length], int64Data: values });
  const attr = (name: string, i: number) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
  const nbits = (name: string, x: string, b: string, s: string, y: string, K: number, N: number) => ({
    name,
    opType: 'MatMulNBits',
    domain: 'com.microsoft',
    input: [x, b, s],
    output: [y],
    attribute: [attr('K', K), attr('N', N), attr('bits', bits), attr('block_size', block)],
  });
  return encodeModel(
    {
      name: `moesim_swiglu_expert_${fmt.dtype}_${h}x${f}`,
      initializer: [int64('s13_start', [0]), int64('s13_end', [n13]), int64('s2_end', [n13 + n2]), int64('split', [f, f])],
      node: [
        { name: 's13', opType: 'Slice', input: ['scales', 's13_start', 's13_end'], output: ['sc13'] },
        { name: 's2', opType: 'Slice', input: ['scales', 's13_end', 's2_end'], output: ['sc2'] },
        nbits('gate_up', 'x', 'w13', 'sc13', 'gu', h, 2 * f),
        { name: 'split', opType: 'Split', input: ['gu', 'split'], output: ['g', 'u'], attribute: [attr('axis', 1)] },
        { name: 'gate_sigmoid', opType: 'Sigmoid', input: ['g'], output: ['g_sig'] },
        { name: 'silu', opType: 'Mul', input: ['g', 'g_sig'], output: ['a'] },
        { name: 'glu', opType: 'Mul', input: ['a', 'u'], output: ['hh'] },
        nbits('down', 'hh', 'w2', 'sc2', 'y', f, h),
      ],
      input: [
        valueInfo('x', T.FLOAT, ['tokens', h]),
        valueInfo('w13', T.UINT8, [2 * f, h / block, (block * bits) / 8]),
        valueInfo('w2', T.UINT8, [h, f / block, (block * bits) / 8]),
        valueInfo('scales', T.FLOAT, [n13 + n2]),
      ],
      output: [valueInfo('y', T.FLOAT, ['tokens', h])],
    },
    [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
  );
}

/** A model with no nodes whose output is its input (the WebGPU upload, as backends.ts's). */
function uploadModel(elemType: number, rank: number): Uint8Array {
  const dims = Array.from({ length: rank }, (_, i) => `d${i}`);
  return encodeModel({ name: `moesim_upload_${elemType}_${rank}`, node: [], input: [valueInfo('in', elemType, dims)], output: [valueInfo('in', elemType, dims)] });
}

/** A lower-bit copy resident on the device. */
export interface LowBitDeviceExpert {
  readonly lowBit: true;
  readonly shape: ExpertShape;
  readonly format: LowBitFormat;
  readonly sizeBytes: number;
  readonly w13: Tensor;
  readonly w2: Tensor;
  readonly scales: Tensor;
  released: boolean;
}

export function isLowBit(d: object): d is LowBitDeviceExpert {
  return 'lowBit' in d;
}

/**
 * Uploads and runs lower-bit copies on a backend's device: on the cpu backend, a real copy of the
 * bytes into separate host memory (reused cold, like the backend's device memory); on webgpu,
 * sessions with no nodes whose outputs stay on the device, as the backend uploads its experts.
 * The runs use the backend's execution provider.
 */
export class LowBitDevice {
  private constructor(
    private readonly ort: typeof import('onnxruntime-node'),
    private readonly backend: Backend['name'],
    private readonly session: InferenceSession,
    private readonly up8: InferenceSession | undefined,
    private readonly upF: InferenceSession | undefined,
    private readonly memory: SlabAllocator,
    readonly shape: ExpertShape,
    readonly format: LowBitFormat,
  ) {}

  static async open(backend: Backend, shape: ExpertShape, format: LowBitFormat, threads = 1): Promise<LowBitDevice> {
    const ort = await import('onnxruntime-node');
    const ep = backend.name;
    const base = { executionProviders: [ep], logSeverityLevel: 3 as const, ...(ep === 'cpu' ? { intraOpNumThreads: threads } : {}) };
    const session = await ort.InferenceSession.create(buildLowBitExpertModel(shape, format), base);
    let up8: InferenceSession | undefined;
    let upF: InferenceSession | undefined;
    if (ep === 'webgpu') {
      up8 = await ort.InferenceSession.create(uploadModel(T.UINT8, 3), { ...base, preferredOutputLocation: 'gpu-buffer' });
      upF = await ort.InferenceSession.create(uploadModel(T.FLOAT, 1), { ...base, preferredOutputLocation: 'gpu-buffer' });
    }
    return new LowBitDevice(ort, ep, session, up8, upF, new SlabAllocator(ep === 'cpu' ? (backend.reuseAfterBytes ?? 2 * lastLevelCacheBytes()) : 0), shape, format);
  }

  private dims(): { w13: number[]; w2: number[] } {
    const { hiddenSize: h, intermediateSize: f } = this.shape;
    const { block, bits } = this.format;
    return { w13: [2 * f, h / block, (block * bits) / 8], w2: [h, f / block, (block * bits) / 8] };
  }

  /** Host-to-device transfer of a copy: its three buffers. */
  async upload(q: LowBitWeights): Promise<LowBitDeviceExpert> {
    const ort = this.ort;
    const d = this.dims();
    let w13: Tensor;
    let w2: Tensor;
    let scales: Tensor;
    if (this.backend === 'cpu') {
      const bytes = (src: Uint8Array): Uint8Array => {
        const a = this.memory.alloc('float32', Math.ceil(src.length / 4)) as Float32Array;
        const dst = new Uint8Array(a.buffer, a.byteOffset, src.length);
        dst.set(src); // the transfer: a real copy of every byte
        return dst;
      };
      w13 = new ort.Tensor('uint8', bytes(q.w13), d.w13);
      w2 = new ort.Tensor('uint8', bytes(q.w2), d.w2);
      const s = this.memory.alloc('float32', q.scales.length) as Float32Array;
      s.set(q.scales);
      scales = new ort.Tensor('float32', s, [s.length]);
    } else {
      w13 = (await this.up8!.run({ in: new ort.Tensor('uint8', q.w13, d.w13) })).in as Tensor;
      w2 = (await this.up8!.run({ in: new ort.Tensor('uint8', q.w2, d.w2) })).in as Tensor;
      scales = (await this.upF!.run({ in: new ort.Tensor('float32', q.scales, [q.scales.length]) })).in as Tensor;
      for (const t of [w13, w2, scales]) if (t.location !== 'gpu-buffer') throw new Error(`webgpu low-bit upload: output landed in "${t.location}", not gpu-buffer`);
    }
    return { lowBit: true, shape: this.shape, format: this.format, sizeBytes: q.w13.length + q.w2.length + 4 * q.scales.length, w13, w2, scales, released: false };
  }

  /**
   * The destinations' state of the timed uploads, as the backend's warmBuffers gives its own: on
   * the cpu backend each of a copy's three buffer sizes warmed for `live` copies held at once
   * (SlabAllocator.warm); on webgpu nothing. Until the returned function is called.
   */
  warm(live: number): () => void {
    if (this.backend !== 'cpu') return () => {};
    const b = lowBitBufferBytes(this.shape, this.format);
    const undo = [b.w13, b.w2, b.scales].map((bytes) => this.memory.warm('float32', Math.ceil(bytes / 4), live));
    return () => {
      for (const u of undo) u();
    };
  }

  /** Buffers its memory carved out of new pages so far (the cpu backend; warm's not counted). */
  get freshBuffers(): number {
    return this.memory.freshAllocations;
  }

  async run(x: Float32Array, d: LowBitDeviceExpert): Promise<Float32Array> {
    if (d.released) throw new Error('runExpert: low-bit copy was evicted');
    const tokens = x.length / this.shape.hiddenSize;
    const out = await this.session.run({ x: new this.ort.Tensor('float32', x, [tokens, this.shape.hiddenSize]), w13: d.w13, w2: d.w2, scales: d.scales });
    return out.y.data as Float32Array;
  }

  evict(d: LowBitDeviceExpert): void {
    if (d.released) return;
    d.released = true;
    if (this.backend === 'cpu') {
      const f32 = (t: Tensor) => {
        const u = t.data as Uint8Array | Float32Array;
        return new Float32Array(u.buffer, u.byteOffset, Math.ceil(u.byteLength / 4));
      };
      this.memory.free('float32', f32(d.w13));
      this.memory.free('float32', f32(d.w2));
      this.memory.free('float32', d.scales.data as Float32Array);
    } else {
      d.w13.dispose();
      d.w2.dispose();
      d.scales.dispose();
    }
  }

  async close(): Promise<void> {
    await this.session.release();
    await this.up8?.release();
    await this.upF?.release();
    this.memory.clear();
  }
}
