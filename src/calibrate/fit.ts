/**
 * Least-squares fits of the timing models the simulator uses:
 *
 *   transfer(bytes)        = latency + bytes / bandwidth                          (linear)
 *   expert(bytes, flops)   = overhead + max(bytes / memBandwidth, flops / throughput)   (roofline)
 *
 * Both are fitted on RELATIVE residuals (each point weighted by 1/observed²): the samples span
 * three or more decades, and ordinary least squares would let the largest points decide everything,
 * leaving the small transfers (which set the latency) and the one-token runs (which are
 * memory-bound, the regime that matters for decoding) badly fitted.
 *
 * The roofline is linear in (overhead, 1/memBandwidth) once the knee K = throughput / memBandwidth
 * (FLOP per byte) is fixed: time = overhead + max(bytes, flops / K) / memBandwidth. So the fit is a
 * 1-D search over K (a log grid, then golden-section refinement) around a linear solve.
 *
 * mathjs does the linear algebra (QR); it is imported lazily because it is slow to load.
 */

import { bytesSec, linkSec, rooflineSec } from '../timing/roofline.js';

type MathJs = typeof import('mathjs');
let mathOnce: Promise<MathJs> | undefined;
function loadMath(): Promise<MathJs> {
  mathOnce ??= import('mathjs');
  return mathOnce;
}

export interface FitQuality {
  /** Coefficient of determination on the observed times (1 = perfect). */
  r2: number;
  /** Per point, (predicted - observed) / observed, in input order. */
  relativeResiduals: number[];
  /** The largest |relative residual|, signed. */
  worstRelativeResidual: number;
  /** Index of that point in the input. */
  worstIndex: number;
}

export interface TransferPoint {
  bytes: number;
  timeSec: number;
}

export interface TransferFit extends FitQuality {
  latencySec: number;
  bandwidthBytesPerSec: number;
}

export interface ExpertPoint {
  bytes: number;
  flops: number;
  timeSec: number;
}

export type Roofline =
  /** Both regimes were observed: every parameter is measured. */
  | 'both'
  /** Every point was memory-bound: throughput is only a lower bound (the knee at the highest intensity seen). */
  | 'memory-bound-only'
  /** Every point was compute-bound: memory bandwidth is only a lower bound. */
  | 'compute-bound-only';

export interface ExpertFit extends FitQuality {
  /**
   * How the roofline was fitted: `joint`, least squares over every point (fitExpert); `anchored`,
   * memory roof from each shape's fewest-token run and compute roof from its most-token run
   * (fitExpertAnchored). Absent in older profiles: joint.
   */
  method?: 'joint' | 'anchored';
  overheadSec: number;
  memBandwidthBytesPerSec: number;
  throughputFlopsPerSec: number;
  /** throughput / memBandwidth: arithmetic intensity (FLOP/byte) where runs turn compute-bound. */
  kneeFlopsPerByte: number;
  roofline: Roofline;
}

export function predictTransfer(fit: Pick<TransferFit, 'latencySec' | 'bandwidthBytesPerSec'>, bytes: number): number {
  return linkSec(fit.latencySec, fit.bandwidthBytesPerSec, bytes);
}

export function predictExpert(
  fit: Pick<ExpertFit, 'overheadSec' | 'memBandwidthBytesPerSec' | 'throughputFlopsPerSec'>,
  bytes: number,
  flops: number,
): number {
  return rooflineSec(fit.overheadSec, bytes, fit.memBandwidthBytesPerSec, flops, fit.throughputFlopsPerSec);
}

/** R², relative residuals and the worst of them. */
export function fitQuality(observed: readonly number[], predicted: readonly number[]): FitQuality {
  const n = observed.length;
  const mean = observed.reduce((a, b) => a + b, 0) / n;
  let ssRes = 0;
  let ssTot = 0;
  const rel: number[] = [];
  let worst = 0;
  let worstIndex = 0;
  for (let i = 0; i < n; i++) {
    ssRes += (predicted[i] - observed[i]) ** 2;
    ssTot += (observed[i] - mean) ** 2;
    const r = (predicted[i] - observed[i]) / observed[i];
    rel.push(r);
    if (Math.abs(r) > Math.abs(worst)) {
      worst = r;
      worstIndex = i;
    }
  }
  return { r2: ssTot === 0 ? (ssRes === 0 ? 1 : 0) : 1 - ssRes / ssTot, relativeResiduals: rel, worstRelativeResidual: worst, worstIndex };
}

/**
 * Weighted linear least squares: minimizes Σ w_i (A_i·β - y_i)². Columns are scaled to unit
 * max-norm before the QR solve (bytes and FLOPs are ~1e9 where the intercept column is 1).
 * Returns β and the weighted sum of squared residuals.
 */
async function weightedLeastSquares(
  rows: readonly (readonly number[])[],
  y: readonly number[],
  weights: readonly number[],
): Promise<{ beta: number[]; sse: number }> {
  const math = await loadMath();
  const m = rows.length;
  const k = rows[0].length;
  if (m < k) throw new Error(`least squares: ${m} points for ${k} parameters`);
  const scale = new Array<number>(k).fill(0);
  for (const r of rows) for (let j = 0; j < k; j++) scale[j] = Math.max(scale[j], Math.abs(r[j]));
  for (let j = 0; j < k; j++) if (scale[j] === 0) scale[j] = 1;
  const sw = weights.map(Math.sqrt);
  const A = rows.map((r, i) => r.map((v, j) => (v / scale[j]) * sw[i]));
  const b = y.map((v, i) => v * sw[i]);
  const { Q, R } = math.qr(A) as unknown as { Q: number[][]; R: number[][] };
  const qtb: number[] = [];
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += Q[i][j] * b[i];
    qtb.push(s);
  }
  const Rk = R.slice(0, k).map((r) => r.slice(0, k));
  const solved = math.usolve(Rk, qtb) as unknown as number[][] | number[];
  const z = (solved as (number | number[])[]).map((v) => (Array.isArray(v) ? v[0] : v));
  const beta = z.map((v, j) => v / scale[j]);
  let sse = 0;
  for (let i = 0; i < m; i++) {
    let p = 0;
    for (let j = 0; j < k; j++) p += rows[i][j] * beta[j];
    sse += weights[i] * (p - y[i]) ** 2;
  }
  return { beta, sse };
}

function checkPoints(points: readonly { timeSec: number }[], what: string, min: number): void {
  if (points.length < min) throw new Error(`${what} fit needs at least ${min} points, got ${points.length}`);
  for (const p of points) {
    if (!(p.timeSec > 0) || !Number.isFinite(p.timeSec)) throw new Error(`${what} fit: time must be positive, got ${p.timeSec}`);
  }
}

/** transfer = latency + bytes / bandwidth; latency is clamped at 0 (refit through the origin). */
export async function fitTransfer(points: readonly TransferPoint[]): Promise<TransferFit> {
  checkPoints(points, 'transfer', 2);
  const y = points.map((p) => p.timeSec);
  const w = y.map((t) => 1 / (t * t));
  let { beta } = await weightedLeastSquares(points.map((p) => [1, p.bytes]), y, w);
  let [latency, secPerByte] = beta;
  if (latency < 0) {
    ({ beta } = await weightedLeastSquares(points.map((p) => [p.bytes]), y, w));
    latency = 0;
    secPerByte = beta[0];
  }
  if (!(secPerByte > 0)) {
    throw new Error('transfer fit: time does not grow with bytes: fixed costs or noise dominate; measure larger transfers');
  }
  const fit = { latencySec: latency, bandwidthBytesPerSec: 1 / secPerByte };
  return { ...fit, ...fitQuality(y, points.map((p) => predictTransfer(fit, p.bytes))) };
}

/**
 * For a fixed knee K: the best (overhead >= 0, secPerByte >= 0) and its weighted SSE. A slope
 * that would be negative is held at 0 (constant time), so an impossible fit never wins the search.
 */
async function fitAtKnee(
  points: readonly ExpertPoint[],
  y: readonly number[],
  w: readonly number[],
  knee: number,
): Promise<{ overhead: number; secPerByte: number; sse: number }> {
  const feature = points.map((p) => Math.max(p.bytes, p.flops / knee));
  const { beta, sse } = await weightedLeastSquares(feature.map((f) => [1, f]), y, w);
  if (beta[1] <= 0) {
    const r = await weightedLeastSquares(feature.map(() => [1]), y, w);
    return { overhead: r.beta[0], secPerByte: 0, sse: r.sse };
  }
  if (beta[0] < 0) {
    const r = await weightedLeastSquares(feature.map((f) => [f]), y, w);
    return { overhead: 0, secPerByte: r.beta[0], sse: r.sse };
  }
  return { overhead: beta[0], secPerByte: beta[1], sse };
}

/** expert = overhead + max(bytes / memBandwidth, flops / throughput). */
export async function fitExpert(points: readonly ExpertPoint[]): Promise<ExpertFit> {
  checkPoints(points, 'expert', 3);
  const y = points.map((p) => p.timeSec);
  const w = y.map((t) => 1 / (t * t));
  const intensity = points.map((p) => p.flops / p.bytes);
  const iMin = Math.min(...intensity);
  const iMax = Math.max(...intensity);
  // Log grid over K, a decade beyond the intensities seen on each side (where the fit degenerates
  // to one regime), refined by golden section around the best grid point.
  const lo = Math.log(iMin / 10);
  const hi = Math.log(iMax * 10);
  const steps = 240;
  const sseAt = new Map<number, number>();
  const evalK = async (logK: number): Promise<number> => {
    const r = await fitAtKnee(points, y, w, Math.exp(logK));
    sseAt.set(logK, r.sse);
    return r.sse;
  };
  let bestI = 0;
  let bestSse = Infinity;
  for (let i = 0; i <= steps; i++) {
    const sse = await evalK(lo + ((hi - lo) * i) / steps);
    if (sse < bestSse) {
      bestSse = sse;
      bestI = i;
    }
  }
  let a = lo + ((hi - lo) * Math.max(0, bestI - 1)) / steps;
  let b = lo + ((hi - lo) * Math.min(steps, bestI + 1)) / steps;
  const g = (Math.sqrt(5) - 1) / 2;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = await evalK(c);
  let fd = await evalK(d);
  for (let it = 0; it < 80 && b - a > 1e-10; it++) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = await evalK(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = await evalK(d);
    }
  }
  let logK = (a + b) / 2;
  if ((await evalK(logK)) > bestSse) logK = lo + ((hi - lo) * bestI) / steps;
  // One regime only: any K beyond the data fits equally; report the bound the data supports.
  let knee = Math.exp(logK);
  let roofline: Roofline = 'both';
  if (knee >= iMax) {
    knee = iMax;
    roofline = 'memory-bound-only';
  } else if (knee <= iMin) {
    knee = iMin;
    roofline = 'compute-bound-only';
  }
  const best = await fitAtKnee(points, y, w, knee);
  if (!(best.secPerByte > 0)) {
    throw new Error(
      'expert fit: time does not grow with work (bytes, FLOPs): fixed costs or noise dominate every run; measure larger shapes or more tokens',
    );
  }
  const memBandwidth = 1 / best.secPerByte;
  const fit = {
    overheadSec: best.overhead,
    memBandwidthBytesPerSec: memBandwidth,
    throughputFlopsPerSec: memBandwidth * knee,
  };
  return {
    method: 'joint',
    ...fit,
    kneeFlopsPerByte: knee,
    roofline,
    ...fitQuality(y, points.map((p) => predictExpert(fit, p.bytes, p.flops))),
  };
}

/** An expert run of one shape (`shape`: any key that tells shapes apart) over `tokens` tokens. */
export interface ShapedExpertPoint extends ExpertPoint {
  shape: string;
  tokens: number;
}

/** A point counts as compute-bound when it runs this much slower than the memory roof predicts. */
const COMPUTE_BOUND_RATIO = 1.5;

/**
 * The roofline measured at its two ends, the way rooflines are usually measured (a streaming
 * kernel for bandwidth, a large GEMM for peak FLOP/s):
 *
 * - memory roof (overhead, bandwidth): least squares (relative) over each shape's fewest-token
 *   run, which is memory-bound on any device (about 0.5 FLOP/byte in fp32): the runs of a decode
 *   step;
 * - compute roof (throughput): the median over each shape's most-token run, where that run is at
 *   least COMPUTE_BOUND_RATIO times slower than the memory roof, of FLOPs / (time - overhead).
 *
 * Why not the joint fit: kernels between the two ends need not follow a roofline. ONNX Runtime's
 * CPU MatMul runs one token as a GEMV but packs the weights for a GEMM from two tokens on (the
 * weights are inputs, so nothing can be pre-packed): measured on a 2-core EPYC, 2..16 tokens take
 * 2-4x the one-token time, and a joint fit then misses the one-token runs, those of decoding, by
 * +40%. The mid-range points keep their residuals in the profile. Falls back to the joint fit with
 * fewer than two shapes.
 */
export async function fitExpertAnchored(points: readonly ShapedExpertPoint[]): Promise<ExpertFit> {
  checkPoints(points, 'expert', 3);
  const shapes = new Map<string, ShapedExpertPoint[]>();
  for (const p of points) shapes.set(p.shape, [...(shapes.get(p.shape) ?? []), p]);
  if (shapes.size < 2) return fitExpert(points);
  const fewest = [...shapes.values()].map((ps) => ps.reduce((a, b) => (b.tokens < a.tokens ? b : a)));
  const most = [...shapes.values()].map((ps) => ps.reduce((a, b) => (b.tokens > a.tokens ? b : a)));
  const y = fewest.map((p) => p.timeSec);
  const w = y.map((t) => 1 / (t * t));
  let { beta } = await weightedLeastSquares(fewest.map((p) => [1, p.bytes]), y, w);
  let [overhead, secPerByte] = beta;
  if (overhead < 0) {
    ({ beta } = await weightedLeastSquares(fewest.map((p) => [p.bytes]), y, w));
    overhead = 0;
    secPerByte = beta[0];
  }
  if (!(secPerByte > 0)) return fitExpert(points);
  const memBandwidth = 1 / secPerByte;
  const memRoof = (p: ExpertPoint) => overhead + bytesSec(p.bytes, memBandwidth);
  const bound = most.filter((p) => p.timeSec > COMPUTE_BOUND_RATIO * memRoof(p) && p.timeSec > overhead);
  let throughput: number;
  let roofline: Roofline;
  if (bound.length > 0) {
    const rates = bound.map((p) => p.flops / (p.timeSec - overhead)).sort((a, b) => a - b);
    throughput = rates[Math.floor((rates.length - 1) / 2)];
    roofline = 'both';
  } else {
    // Every run memory-bound: the throughput is at least what the most intense run needed.
    const top = points.reduce((a, b) => (b.flops / b.bytes > a.flops / a.bytes ? b : a));
    throughput = top.flops / Math.max(top.timeSec - overhead, 1e-12) ;
    throughput = Math.max(throughput, (top.flops / top.bytes) * memBandwidth);
    roofline = 'memory-bound-only';
  }
  const fit = { overheadSec: overhead, memBandwidthBytesPerSec: memBandwidth, throughputFlopsPerSec: throughput };
  return {
    method: 'anchored',
    ...fit,
    kneeFlopsPerByte: throughput / memBandwidth,
    roofline,
    ...fitQuality(points.map((p) => p.timeSec), points.map((p) => predictExpert(fit, p.bytes, p.flops))),
  };
}
