/**
 * The one timing seam of the simulator: every second the world charges comes from a `Costs`.
 * The analytic roofline (roofline.ts) implements it from a model's shapes and a Hardware; a replay
 * of real execution (calibrate/) builds one from a calibration profile; tests use round numbers.
 *
 * Real-system execution semantics (link efficiency for pinned or pageable memory, runtime
 * overheads per token, layer or expert, dequantization, write-back) belong behind these methods:
 * add the parameter to the roofline's inputs and charge it in the method that owns that time, and
 * the simulator, calibration and replay all see it.
 */

/** What the GPU and the link cost in one step. */
export interface StepCosts {
  /** Bytes of one expert's weights as cached on the GPU. */
  readonly expertBytes: number;
  /** Whether host-to-device copies run concurrently with GPU compute (false: one exclusive stream). */
  readonly linkOverlapsCompute: boolean;
  /** GPU time of one expert FFN over `tokens` tokens routed to it. */
  expertSec(tokens: number): number;
  /**
   * Non-expert GPU work charged before MoE layer `moeLayer`'s experts: `tokens` tokens whose
   * contexts sum to `contextTokens` (attention FLOPs), the attention kernel reading `kvTokens`
   * tokens of KV cache per layer (Step.kvTokens; a decode step: contextTokens); `prefill`: the step
   * is a prefill (Step.prefill; a system whose prefill runs another schedule reads it).
   */
  preExpertSec(moeLayer: number, tokens: number, contextTokens: number, kvTokens: number, prefill?: boolean): number;
  /** Work after the last MoE layer (trailing dense layers, LM head on `outputs` tokens); `kvTokens` as above. */
  tailSec(tokens: number, contextTokens: number, outputs: number, kvTokens: number): number;
  /** Host-to-device time of one transfer of `bytes` (excluding queueing). */
  h2dSec(bytes: number): number;
  /**
   * Link seconds a fetch that evicts a cached expert adds for copying the victim back to host
   * memory on the same serial link (mixtral-offloading's ExpertCache._swap). Charged only when the
   * fetch has a victim: a fetch into a free slot or a staging buffer writes nothing back.
   * Undefined: 0.
   */
  readonly evictWriteBackSec?: number;
  /**
   * Time of a CPU round trip: `activationBytes` to the host, `cpuSec` of CPU work, the results
   * (`activationBytes` again) back to the device.
   */
  cpuRoundTripSec(activationBytes: number, cpuSec: number): number;
  /**
   * The host (launch) thread's side, when the runtime's software time is its own resource: then
   * the three GPU methods above return device time only, and each GPU job waits for its launch on
   * the host thread (src/sim/offload-sim.ts). Undefined: launches are inside the GPU times.
   */
  readonly host?: HostCosts;
}

/**
 * Seconds the host thread spends issuing work (Python dispatch, kernel launches, the copy calls):
 * the host runs ahead of the GPU until it needs a result from it (the router's choice at a gate,
 * a per-expert `.tolist()` when `syncPerExpert`, the sampled token after the tail).
 */
export interface HostCosts {
  /** Issuing the non-expert work before MoE layer `moeLayer`'s experts. */
  preExpertSec(moeLayer: number, tokens: number, contextTokens: number): number;
  /** Issuing one expert over `tokens` tokens (its kernels, its copy call). */
  expertSec(tokens: number): number;
  /** Issuing the work after the last MoE layer and sampling (per forward pass). */
  tailSec(tokens: number, contextTokens: number, outputs: number): number;
  /**
   * The host waits for the compute stream to drain before issuing each expert (a host sync per
   * expert, e.g. `torch.where(mask)` + `.tolist()`): then the expert's launch starts only when
   * every expert issued before it is computed and, with copies on the compute stream, the link is idle.
   */
  readonly syncPerExpert: boolean;
}

/** The costs of serving misses other than by fetching. */
export interface MissCosts {
  /** CPU time of one expert over `tokens` tokens, from host memory. */
  cpuExpertSec(tokens: number): number;
  /** Bytes of `tokens` tokens' activations (hidden states), each way. */
  activationBytes(tokens: number): number;
  /** Bytes of the lower-bit copy of an expert. */
  readonly lowBitExpertBytes: number;
  /** GPU time of the lower-bit copy over `tokens` tokens. */
  lowBitExpertSec(tokens: number): number;
  /**
   * Seconds of one lower-bit copy's upload on the link when measured as the runtime sends it
   * (a replay: LowBitDevice.upload, calibrate/replay-shape.ts). Undefined: the link's time for
   * lowBitExpertBytes.
   */
  readonly lowBitUploadSec?: number;
  /**
   * The CPU-computed experts of one layer are one CPU task (kTransformers: one cpuinfer
   * moe.forward per layer for all its routed experts): the hidden states cross the link once each
   * way per layer, not per expert. Absent or false: one round trip per CPU expert.
   */
  readonly cpuTaskPerLayer?: boolean;
  /**
   * Seconds of a CPU task's hand-off at MoE layer `layer` in a step of `tokens` tokens when the
   * runtime moves it its own way (llama.cpp: the ggml scheduler's synchronous split-input copies,
   * ExecutionSemantics.cpuSplitHandoff): charged with the layer's first CPU expert in place of
   * cpuRoundTripSec's two copies. Undefined: cpuRoundTripSec.
   */
  cpuTaskHandoffSec?(layer: number, tokens: number): number;
  /** Bytes that hand-off moves across the link, both ways (the ledger's activation bytes); with cpuTaskHandoffSec. */
  cpuTaskHandoffBytes?(layer: number, tokens: number): number;
}

/** Everything the simulator charges time for. */
export interface Costs extends StepCosts, MissCosts {}
