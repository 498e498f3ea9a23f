/**
 * Collective communication times on a fabric of several GPUs: alpha-beta costs, the only place
 * where GPU-to-GPU traffic is costed (the division of bytes by a bandwidth is roofline.ts's bytesSec).
 *
 * - All-to-all, `pairwise`: Thakur, Rabenseifner & Gropp, "Optimization of Collective Communication
 *   Operations in MPICH" (IJHPCA 19(1), 2005), section 4.5: p-1 steps; at step k GPU g sends to
 *   (g + k) mod p and receives from (g - k) mod p. Uniform messages of m bytes cost
 *   (p-1)(alpha + m beta). moesim charges each step as its slowest pair (steps are synchronous), so a
 *   skewed placement pays for its largest messages.
 * - All-to-all, `direct`: every GPU posts its sends and receives to all peers at once, as NCCL's
 *   all-to-all does (ncclSend/ncclRecv to every peer inside ncclGroupStart/End; NCCL user guide,
 *   "Point-to-point communication"). GPU g is done after alpha + max(bytes out, bytes in) / its
 *   injection bandwidth (on a fabric of point-to-point links also: the largest message over its
 *   link, per pair). Intra- and inter-node traffic use different ports and proceed in parallel.
 * - All-reduce: the ring algorithm, 2(p-1) alpha + 2 (p-1)/p n beta (Thakur et al. 2005, section
 *   4.4; Patarasuk & Yuan 2009), beta of the slowest link the ring crosses.
 * - Peer copies (expert migration): alpha + bytes / bandwidth into each receiving GPU.
 */
import type { Fabric, Interconnect } from '../hardware/interconnect.js';
import { bytesSec, linkSec } from './roofline.js';

export type AllToAllAlgorithm = 'direct' | 'pairwise';

export class CollectiveCosts {
  readonly gpus: number;
  private readonly node: Int32Array;
  private readonly outIntra: Float64Array;
  private readonly outInter: Float64Array;
  private readonly inIntra: Float64Array;
  private readonly inInter: Float64Array;
  private readonly peerIntra: Float64Array;
  private readonly peerInter: Float64Array;

  constructor(
    readonly fabric: Fabric,
    readonly algorithm: AllToAllAlgorithm,
  ) {
    const G = fabric.gpus;
    this.gpus = G;
    this.node = new Int32Array(G);
    for (let g = 0; g < G; g++) this.node[g] = Math.floor(g / fabric.gpusPerNode);
    this.outIntra = new Float64Array(G);
    this.outInter = new Float64Array(G);
    this.inIntra = new Float64Array(G);
    this.inInter = new Float64Array(G);
    this.peerIntra = new Float64Array(G);
    this.peerInter = new Float64Array(G);
  }

  /** The interconnect between GPUs g and h. */
  linkOf(g: number, h: number): Interconnect {
    return this.node[g] === this.node[h] ? this.fabric.intra : this.fabric.inter;
  }

  /** One message of `bytes` from g to h on its own (alpha + bytes beta). */
  messageSec(g: number, h: number, bytes: number): number {
    const l = this.linkOf(g, h);
    return linkSec(l.latencySec, l.perPeerBytesPerSec ?? l.bytesPerSec, bytes);
  }

  /**
   * An all-to-all whose bytes from GPU g to GPU h are `send[g * G + h]` (the diagonal is ignored:
   * local). Writes into `doneSec[g]` the time after the collective's start at which GPU g has sent
   * and received everything, and returns the largest (the collective's time). A GPU with nothing to
   * send or receive is done at 0.
   */
  allToAll(send: Float64Array, doneSec: Float64Array): number {
    const G = this.gpus;
    doneSec.fill(0);
    if (G === 1) return 0;
    if (this.algorithm === 'pairwise') {
      let total = 0;
      for (let k = 1; k < G; k++) {
        let step = 0;
        for (let g = 0; g < G; g++) {
          const h = (g + k) % G;
          const b = send[g * G + h];
          if (b > 0) {
            const t = this.messageSec(g, h, b);
            if (t > step) step = t;
          }
        }
        total += step;
      }
      if (total > 0) doneSec.fill(total);
      return total;
    }
    const { outIntra, outInter, inIntra, inInter, peerIntra, peerInter, node } = this;
    outIntra.fill(0); outInter.fill(0); inIntra.fill(0); inInter.fill(0); peerIntra.fill(0); peerInter.fill(0);
    const { intra, inter } = this.fabric;
    for (let g = 0; g < G; g++) {
      for (let h = 0; h < G; h++) {
        const b = send[g * G + h];
        if (h === g || b <= 0) continue;
        if (node[g] === node[h]) {
          outIntra[g] += b; inIntra[h] += b;
          if (intra.perPeerBytesPerSec !== undefined) {
            const t = bytesSec(b, intra.perPeerBytesPerSec);
            if (t > peerIntra[g]) peerIntra[g] = t;
            if (t > peerIntra[h]) peerIntra[h] = t;
          }
        } else {
          outInter[g] += b; inInter[h] += b;
          if (inter.perPeerBytesPerSec !== undefined) {
            const t = bytesSec(b, inter.perPeerBytesPerSec);
            if (t > peerInter[g]) peerInter[g] = t;
            if (t > peerInter[h]) peerInter[h] = t;
          }
        }
      }
    }
    let max = 0;
    for (let g = 0; g < G; g++) {
      const bi = Math.max(outIntra[g], inIntra[g]);
      const bx = Math.max(outInter[g], inInter[g]);
      const ti = bi > 0 ? intra.latencySec + Math.max(bytesSec(bi, intra.bytesPerSec), peerIntra[g]) : 0;
      const tx = bx > 0 ? inter.latencySec + Math.max(bytesSec(bx, inter.bytesPerSec), peerInter[g]) : 0;
      const t = ti > tx ? ti : tx;
      doneSec[g] = t;
      if (t > max) max = t;
    }
    return max;
  }

  /** A ring all-reduce of `bytes` on every GPU. */
  allReduceSec(bytes: number): number {
    const G = this.gpus;
    if (G === 1 || bytes <= 0) return 0;
    const multiNode = this.fabric.gpusPerNode < G;
    const l = multiNode ? this.fabric.inter : this.fabric.intra;
    const bw = multiNode ? l.bytesPerSec : (l.perPeerBytesPerSec ?? l.bytesPerSec);
    return 2 * (G - 1) * l.latencySec + bytesSec((2 * (G - 1) * bytes) / G, bw);
  }

  /** Bytes each GPU sends in a ring all-reduce of `bytes` (for the traffic metrics). */
  allReduceBytesPerGpu(bytes: number): number {
    const G = this.gpus;
    return G === 1 ? 0 : (2 * (G - 1) * bytes) / G;
  }
}

/**
 * Non-expert work of MoE layer `moeLayer` split over `degree` GPUs by tensor parallelism: each GPU
 * holds 1/degree of the attention weights and heads (and of the KV cache), so the single-GPU
 * roofline's bytes and FLOPs are divided by the degree. Kernel launches are not divided (each GPU
 * launches every kernel); the roofline's launch term is small beside the rest and is divided with
 * it here, a simplification.
 */
export function tensorParallelPreExpertSec(preExpertSec: (moeLayer: number, tokens: number, contextTokens: number) => number, moeLayer: number, tokens: number, contextTokens: number, degree: number): number {
  return preExpertSec(moeLayer, tokens, contextTokens) / degree;
}
