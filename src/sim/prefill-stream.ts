/**
 * Prefill streaming (FlexGen, MoE-Lightning): a long prompt activates most experts of every layer,
 * so instead of waiting for layer l+1's router, fetch every expert of layer l+1 that is not on the
 * GPU while layer l computes. Fetches go over the same link at prefetch priority (behind demand
 * fetches, in layer order), into staging buffers; when layer l+1's router has chosen, a missing
 * expert that was streamed is computed as soon as its weights are there instead of being fetched
 * again, and streamed experts the router did not choose are dropped (queued ones cancelled).
 *
 * Decides nothing about the cache: the cache policy still sees every access and admits as usual.
 * Per key state; at most two layers (l, l+1) are in flight at once. Typed arrays only.
 */
import type { BandwidthLink } from '../engine/resource.js';
import { LINK_STAGED, STREAM_TAG, linkJob } from './jobs.js';

export interface PrefillStreaming {
  /** Stream only prefill steps with at least this many tokens. */
  minTokens: number;
}

/** tag2 of a streamed fetch on the link (demand fetches carry a token count >= 1). */
export { STREAM_TAG } from './jobs.js';

const NONE = 0;
const IN_FLIGHT = 1;
const ARRIVED = 2;
/** In flight, and layer l's router chose it: compute on arrival. */
const WAITED_FOR = 3;
/** In flight, not chosen: drop on arrival. */
const UNWANTED = 4;

export class PrefillStreamer {
  /** Bytes streamed that no router chose. */
  wastedBytes = 0;
  streamedExperts = 0;
  /** Most streamed experts held in staging buffers at once. */
  peakBuffered = 0;
  private active = false;
  private buffered = 0;
  private readonly state: Uint8Array;
  private readonly job: Int32Array;
  private readonly waitTokens: Int32Array;
  /** Keys streamed for each layer: list[l * E ..], count[l]. */
  private readonly list: Int32Array;
  private readonly listCount: Int32Array;

  constructor(
    private readonly spec: PrefillStreaming,
    private readonly numLayers: number,
    private readonly numExperts: number,
    private readonly link: BandwidthLink,
    private readonly expertBytes: number,
    private readonly resident: Uint8Array,
    private readonly priority: number,
  ) {
    const keys = numLayers * numExperts;
    this.state = new Uint8Array(keys);
    this.job = new Int32Array(keys);
    this.waitTokens = new Int32Array(keys);
    this.list = new Int32Array(keys);
    this.listCount = new Int32Array(numLayers);
  }

  /** A step begins; a long enough prefill streams its first layer now. */
  stepStarted(prefill: boolean, tokens: number): void {
    this.active = prefill && tokens >= this.spec.minTokens;
    if (this.active) this.stream(0);
  }

  /** Layer `layer`'s GPU work begins: stream the next layer. */
  layerStarted(layer: number): void {
    if (this.active && layer + 1 < this.numLayers) this.stream(layer + 1);
  }

  private stream(layer: number): void {
    const E = this.numExperts;
    let n = this.listCount[layer];
    for (let e = 0; e < E; e++) {
      const key = layer * E + e;
      if (this.resident[key] === 1 || this.state[key] !== NONE) continue;
      this.state[key] = IN_FLIGHT;
      // A transfer into a staging buffer, marked as the streamer's.
      this.job[key] = this.link.transfer(this.expertBytes, this.priority, linkJob(key, LINK_STAGED), STREAM_TAG);
      this.list[layer * E + n++] = key;
      this.streamedExperts++;
      this.buffered++;
    }
    this.listCount[layer] = n;
    if (this.buffered > this.peakBuffered) this.peakBuffered = this.buffered;
  }

  /**
   * The router chose `key` and the cache missed. Returns 1 if its streamed weights are already on
   * the GPU (compute now), 0 if they are on the way (arrived() will say when), -1 if it was not
   * streamed (fetch it on demand).
   */
  claim(key: number, tokens: number): number {
    const s = this.state[key];
    if (s === ARRIVED) {
      this.state[key] = NONE;
      this.buffered--;
      return 1;
    }
    if (s === IN_FLIGHT) {
      this.state[key] = WAITED_FOR;
      this.waitTokens[key] = tokens;
      return 0;
    }
    return -1;
  }

  /** Layer `layer`'s router has chosen and every choice was claimed: drop the rest. */
  gateDone(layer: number): void {
    const E = this.numExperts;
    const n = this.listCount[layer];
    for (let i = 0; i < n; i++) {
      const key = this.list[layer * E + i];
      const s = this.state[key];
      if (s === IN_FLIGHT) {
        if (this.link.cancel(this.job[key])) {
          this.state[key] = NONE;
          this.buffered--;
        } else this.state[key] = UNWANTED;
      } else if (s === ARRIVED) {
        this.state[key] = NONE;
        this.buffered--;
        this.wastedBytes += this.expertBytes;
      }
    }
    this.listCount[layer] = 0;
  }

  /** A streamed fetch completed. Returns the tokens to compute it for, or 0 if none wait for it yet. */
  arrived(key: number): number {
    const s = this.state[key];
    if (s === WAITED_FOR) {
      this.state[key] = NONE;
      this.buffered--;
      return this.waitTokens[key];
    }
    if (s === UNWANTED) {
      this.state[key] = NONE;
      this.buffered--;
      this.wastedBytes += this.expertBytes;
      return 0;
    }
    this.state[key] = ARRIVED;
    return 0;
  }
}
