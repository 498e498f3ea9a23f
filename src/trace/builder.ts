/**
 * TraceBuilder: grows a Trace's typed arrays token by token (capacity doubles, so appending is
 * amortised O(1)); no JS object per access. Readers and generators append tokens to the current
 * sequence and write routes in place; `build()` trims the arrays and returns the Trace.
 */
import { checkTraceDims, MAX_TRACE_SLOTS } from './checks.js';
import { NO_EXPERT, type Trace, type TraceSequence, type TraceSource } from './types.js';

export interface TraceBuilderOptions {
  numLayers: number;
  topK: number;
  /** Tokens to reserve up front (a hint; the arrays grow as needed). */
  initialTokens?: number;
  /** Reserve gate weights from the start (otherwise they are created on the first weight written). */
  weights?: boolean;
}

export interface TraceBuildMeta {
  /** Routed experts per layer; inferred as (max expert id + 1) when omitted. */
  numExperts?: number;
  layerIds?: number[];
  source: TraceSource;
  warnings?: string[];
}

export class TraceBuilder {
  readonly numLayers: number;
  readonly topK: number;
  /** Slots per token: numLayers * topK. */
  readonly stride: number;
  private expertsBuf: Uint16Array;
  private weightsBuf: Float32Array | undefined;
  private count = 0;
  private readonly seqs: TraceSequence[] = [];
  private readonly seqIds = new Set<string>();
  private current: TraceSequence | undefined;

  constructor(opts: TraceBuilderOptions) {
    // sizes are checked before anything is allocated (a header may claim 2^31 layers)
    checkTraceDims('', { layers: opts.numLayers, topK: opts.topK });
    this.numLayers = opts.numLayers;
    this.topK = opts.topK;
    this.stride = opts.numLayers * opts.topK;
    const cap = Math.max(1, Math.min(Math.max(16, opts.initialTokens ?? 1024), Math.floor(MAX_TRACE_SLOTS / this.stride)));
    this.expertsBuf = new Uint16Array(cap * this.stride).fill(NO_EXPERT);
    if (opts.weights) this.weightsBuf = new Float32Array(cap * this.stride).fill(Number.NaN);
  }

  /** Tokens appended so far. */
  get tokens(): number {
    return this.count;
  }

  /** The experts array (valid until the next append: growing replaces it). */
  get experts(): Uint16Array {
    return this.expertsBuf;
  }

  /** The weights array, creating it (NaN = not recorded) if needed; valid until the next append. */
  get weights(): Float32Array {
    if (this.weightsBuf === undefined) this.weightsBuf = new Float32Array(this.expertsBuf.length).fill(Number.NaN);
    return this.weightsBuf;
  }

  get hasWeights(): boolean {
    return this.weightsBuf !== undefined;
  }

  hasSequence(id: string): boolean {
    return this.seqIds.has(id);
  }

  /** Start a new sequence; the following tokens belong to it. Ids must be unique. */
  beginSequence(id: string): void {
    if (this.seqIds.has(id)) throw new Error(`sequence "${id}" was already added`);
    this.seqIds.add(id);
    this.current = { id, start: this.count, length: 0 };
    this.seqs.push(this.current);
  }

  /**
   * Append one token to the current sequence with every slot absent (NO_EXPERT, weight NaN).
   * Returns the index of its slot 0 in `experts` / `weights`.
   */
  addToken(): number {
    if (this.current === undefined) throw new Error('addToken before beginSequence');
    this.ensure(this.count + 1);
    this.current.length++;
    return this.count++ * this.stride;
  }

  /**
   * Append `n` tokens whose routes are `experts[from .. from + n*stride)` (and weights, same offsets).
   */
  appendTokens(n: number, experts: Uint16Array, from = 0, weights?: Float32Array): void {
    if (this.current === undefined) throw new Error('appendTokens before beginSequence');
    if (n <= 0) return;
    this.ensure(this.count + n);
    const at = this.count * this.stride;
    const len = n * this.stride;
    this.expertsBuf.set(experts.subarray(from, from + len), at);
    if (weights !== undefined) this.weights.set(weights.subarray(from, from + len), at);
    this.count += n;
    this.current.length += n;
  }

  /** Write the route of (token, layer): topK experts (and weights) starting at the given offsets. */
  setRoute(token: number, layer: number, experts: ArrayLike<number>, expertsFrom = 0, weights?: ArrayLike<number>, weightsFrom = 0): void {
    const at = (token * this.numLayers + layer) * this.topK;
    const ex = this.expertsBuf;
    for (let k = 0; k < this.topK; k++) ex[at + k] = experts[expertsFrom + k];
    if (weights !== undefined) {
      const w = this.weights;
      for (let k = 0; k < this.topK; k++) w[at + k] = weights[weightsFrom + k];
    }
  }

  /** The finished Trace (arrays trimmed to size). The builder must not be used afterwards. */
  build(meta: TraceBuildMeta): Trace {
    const len = this.count * this.stride;
    const experts = this.expertsBuf.length === len ? this.expertsBuf : this.expertsBuf.slice(0, len);
    let weights: Float32Array | undefined;
    if (this.weightsBuf !== undefined) weights = this.weightsBuf.length === len ? this.weightsBuf : this.weightsBuf.slice(0, len);
    let numExperts = meta.numExperts;
    if (numExperts === undefined) {
      let max = -1;
      for (let i = 0; i < len; i++) {
        const e = experts[i];
        if (e !== NO_EXPERT && e > max) max = e;
      }
      numExperts = max + 1;
    }
    this.expertsBuf = new Uint16Array(0);
    this.weightsBuf = undefined;
    const trace: Trace = {
      numLayers: this.numLayers,
      numExperts,
      topK: this.topK,
      tokens: this.count,
      experts,
      sequences: this.seqs.filter((s) => s.length > 0),
      source: meta.source,
      warnings: meta.warnings ?? [],
    };
    if (weights !== undefined) trace.weights = weights;
    if (meta.layerIds !== undefined) trace.layerIds = meta.layerIds;
    return trace;
  }

  /**
   * Make room for `tokens` tokens in all (a reader's estimate, e.g. from the file size), exactly,
   * so that appending up to there never copies; capped at what a trace may hold (more tokens than
   * that are refused when appended, not here).
   */
  reserve(tokens: number): void {
    const cap = Math.min(Math.ceil(tokens), Math.floor(MAX_TRACE_SLOTS / this.stride));
    if (cap * this.stride <= this.expertsBuf.length) return;
    this.resize(cap);
  }

  private ensure(tokens: number): void {
    const need = tokens * this.stride;
    if (need <= this.expertsBuf.length) return;
    if (need > MAX_TRACE_SLOTS) checkTraceDims('', { tokens, layers: this.numLayers, topK: this.topK });
    let cap = Math.max(1, this.expertsBuf.length / this.stride);
    while (cap < tokens) cap *= 2;
    cap = Math.min(cap, Math.floor(MAX_TRACE_SLOTS / this.stride));
    this.resize(cap);
  }

  private resize(cap: number): void {
    const ex = new Uint16Array(cap * this.stride);
    ex.set(this.expertsBuf);
    ex.fill(NO_EXPERT, this.expertsBuf.length);
    this.expertsBuf = ex;
    if (this.weightsBuf !== undefined) {
      const w = new Float32Array(cap * this.stride);
      w.set(this.weightsBuf);
      w.fill(Number.NaN, this.weightsBuf.length);
      this.weightsBuf = w;
    }
  }
}

/** A growable typed array of one kind, for importers that buffer rows before building. */
export class GrowableArray<T extends Uint16Array | Uint32Array | Int32Array | Float32Array | Float64Array> {
  private buf: T;
  length = 0;
  constructor(private readonly make: (n: number) => T, initial = 1024) {
    this.buf = make(Math.max(16, initial));
  }
  push(v: number): void {
    if (this.length === this.buf.length) this.grow(this.length + 1);
    this.buf[this.length++] = v;
  }
  /** Make room for `n` more values and return the array (valid until the next push/reserve). */
  reserve(n: number): T {
    if (this.length + n > this.buf.length) this.grow(this.length + n);
    return this.buf;
  }
  get array(): T {
    return this.buf;
  }
  /** The values as an exactly sized array. */
  trimmed(): T {
    return this.buf.slice(0, this.length) as T;
  }
  private grow(min: number): void {
    let cap = this.buf.length * 2;
    while (cap < min) cap *= 2;
    const next = this.make(cap);
    next.set(this.buf);
    this.buf = next;
  }
}
