/**
 * RowCollector: the small importer interface. An importer turns its files into rows, one per
 * (sequence, position, layer), in any order, and calls `add`; `build` makes the Trace (sequences in order of
 * first appearance, positions ascending, layers by their original ids kept as `layerIds`, a (token, layer)
 * without a row left absent and counted in a warning). Rows are held compactly in typed arrays, never one
 * object per row. Ids and weights are checked as they arrive, so errors name the file and line.
 *
 * A new recorder's layout needs one file with a function reading it into a RowCollector, and a line in the
 * formats table (src/trace/load.ts); src/trace/mapping.ts is such an importer, driven by a declarative mapping.
 */
import { inputErrorAt } from '../util/errors.js';
import { GrowableArray, TraceBuilder } from './builder.js';
import { badWeightMessage, isStorableWeight } from './checks.js';
import { lowerBound } from './numbers.js';
import type { Trace, TraceSource } from './types.js';

export interface RowCollectorOptions {
  topK?: number;
  numExperts?: number;
  /** The scenario model's expert count: an id beyond it is refused at its line. */
  modelExperts?: number;
  /** `order`: a row's position is its order within (sequence, layer); else the position given to add(). */
  positions?: 'given' | 'order';
}

export class RowCollector {
  private readonly seqIndex = new Map<string, number>();
  private readonly seqNames: string[] = [];
  private readonly rowSeq = new GrowableArray((n) => new Uint32Array(n));
  private readonly rowPos = new GrowableArray((n) => new Float64Array(n));
  private readonly rowLayer = new GrowableArray((n) => new Uint16Array(n));
  private readonly rowLine = new GrowableArray((n) => new Uint32Array(n));
  private readonly rowFile = new GrowableArray((n) => new Uint32Array(n));
  private readonly files: string[] = [];
  private experts: GrowableArray<Uint16Array> | undefined;
  private weights: GrowableArray<Float32Array> | undefined;
  private topK: number;
  private readonly maxExperts: number;
  private readonly order = new Map<string, number>();
  private readonly seen = new Uint32Array(0x10000);
  private stamp = 0;
  private maxExpert = -1;
  private weighted: boolean | undefined;

  constructor(private readonly opts: RowCollectorOptions = {}) {
    this.topK = opts.topK ?? -1;
    this.maxExperts = opts.numExperts ?? opts.modelExperts ?? 0xffff;
  }

  get rows(): number {
    return this.rowSeq.length;
  }

  /** One row: `field` names the experts field in messages; `line` is the file's line (or undefined). */
  add(file: string, line: number | undefined, seq: string, position: number | undefined, layer: number, experts: ArrayLike<number>, weights: ArrayLike<number> | undefined, field = 'experts'): void {
    const err = (m: string): Error => inputErrorAt(file, line, m);
    if (!Number.isInteger(layer) || layer < 0 || layer > 0xfffe) throw err(`layer: expected an integer in 0..65534, got ${layer}`);
    if (this.topK < 0) {
      if (experts.length === 0) throw err(`"${field}": no expert ids`);
      this.topK = experts.length;
    }
    const K = this.topK;
    if (experts.length !== K) throw err(`"${field}" has ${experts.length} experts, expected ${K} (${this.opts.topK !== undefined ? 'topK option' : 'as on the first row'})`);
    const hasW = weights !== undefined;
    if (this.weighted === undefined) this.weighted = hasW;
    else if (this.weighted !== hasW) throw err(hasW ? 'has gate weights but the first row has none' : 'has no gate weights but the first row has');
    let si = this.seqIndex.get(seq);
    if (si === undefined) {
      si = this.seqNames.length;
      this.seqIndex.set(seq, si);
      this.seqNames.push(seq);
    }
    let pos = position;
    if (this.opts.positions === 'order' || pos === undefined) {
      const k = `${si}\u0000${layer}`;
      pos = this.order.get(k) ?? 0;
      this.order.set(k, pos + 1);
    } else if (!Number.isInteger(pos) || pos < 0) throw err(`position: expected a non-negative integer, got ${pos}`);
    this.experts ??= new GrowableArray((n) => new Uint16Array(n), 1024 * K);
    const ex = this.experts.reserve(K);
    const at = this.experts.length;
    this.stamp++;
    for (let k = 0; k < K; k++) {
      const e = experts[k];
      if (!Number.isInteger(e) || e < 0 || e >= this.maxExperts) {
        if (this.opts.numExperts === undefined && this.opts.modelExperts !== undefined && Number.isInteger(e) && e >= this.maxExperts) {
          throw err(`"${field}"[${k}]: expert id ${e} is beyond the scenario's model, which has experts 0..${this.maxExperts - 1}`);
        }
        throw err(`"${field}"[${k}]: expected an expert id in 0..${this.maxExperts - 1}, got ${e}`);
      }
      if (this.seen[e] === this.stamp) throw err(`"${field}": expert ${e} appears twice`);
      this.seen[e] = this.stamp;
      ex[at + k] = e;
      if (e > this.maxExpert) this.maxExpert = e;
    }
    this.experts.length += K;
    if (weights !== undefined) {
      if (weights.length !== K) throw err(`weights: expected ${K} numbers (one per expert), got ${weights.length}`);
      this.weights ??= new GrowableArray((n) => new Float32Array(n), 1024 * K);
      const w = this.weights.reserve(K);
      const wat = this.weights.length;
      for (let k = 0; k < K; k++) {
        if (!isStorableWeight(weights[k])) throw err(`weights[${k}]: ${badWeightMessage(String(weights[k]))}`);
        w[wat + k] = weights[k];
      }
      this.weights.length += K;
    }
    let fi = this.files.length - 1;
    if (fi < 0 || this.files[fi] !== file) fi = this.files.push(file) - 1;
    this.rowSeq.push(si);
    this.rowPos.push(pos);
    this.rowLayer.push(layer);
    this.rowLine.push(line ?? 0);
    this.rowFile.push(fi);
  }

  /** The trace of every row added; `file` names the input in messages. */
  build(file: string, source: TraceSource): Trace {
    const rows = this.rows;
    if (rows === 0) throw inputErrorAt(file, undefined, 'no routing rows');
    const K = this.topK;
    // layers by their original ids
    const la = this.rowLayer.array;
    let maxLayer = 0;
    for (let i = 0; i < rows; i++) if (la[i] > maxLayer) maxLayer = la[i];
    const present = new Uint8Array(maxLayer + 1);
    for (let i = 0; i < rows; i++) present[la[i]] = 1;
    const ids: number[] = [];
    const remap = new Uint16Array(maxLayer + 1);
    for (let l = 0; l <= maxLayer; l++) if (present[l] === 1) remap[l] = ids.push(l) - 1;
    const L = ids.length;
    const seqs = this.seqNames.length;
    const count = new Uint32Array(seqs + 1);
    const rs = this.rowSeq.array;
    for (let i = 0; i < rows; i++) count[rs[i] + 1]++;
    for (let s = 0; s < seqs; s++) count[s + 1] += count[s];
    const order = new Uint32Array(rows);
    const fill = count.slice(0, seqs);
    for (let i = 0; i < rows; i++) order[fill[rs[i]]++] = i;
    const pos = this.rowPos.array;
    const exAll = (this.experts as GrowableArray<Uint16Array>).array;
    const wAll = this.weights?.array;
    const b = new TraceBuilder({ numLayers: L, topK: K, weights: wAll !== undefined, initialTokens: Math.ceil(rows / L) + 1 });
    let missing = 0;
    for (let s = 0; s < seqs; s++) {
      const lo = count[s];
      const hi = count[s + 1];
      const toks = new Float64Array(hi - lo);
      for (let i = lo; i < hi; i++) toks[i - lo] = pos[order[i]];
      toks.sort();
      let n = 0;
      for (let i = 0; i < toks.length; i++) if (i === 0 || toks[i] !== toks[i - 1]) toks[n++] = toks[i];
      const distinct = toks.subarray(0, n);
      const table = new Int32Array(n * L).fill(-1);
      for (let i = lo; i < hi; i++) {
        const r = order[i];
        const cell = lowerBound(distinct, pos[r]) * L + remap[la[r]];
        if (table[cell] >= 0) {
          const o = table[cell];
          const where = (x: number): string => `${this.files[this.rowFile.array[x]]}${this.rowLine.array[x] > 0 ? `:${this.rowLine.array[x]}` : ''}`;
          throw inputErrorAt(where(r), undefined, `duplicate row for sequence "${this.seqNames[s]}" position ${pos[r]} layer ${la[r]} (also at ${where(o)})`);
        }
        table[cell] = r;
      }
      b.beginSequence(this.seqNames[s]);
      for (let t = 0; t < n; t++) {
        const slot = b.addToken();
        const ex = b.experts;
        const w = wAll !== undefined ? b.weights : undefined;
        for (let l = 0; l < L; l++) {
          const r = table[t * L + l];
          if (r < 0) {
            missing++;
            continue;
          }
          for (let k = 0; k < K; k++) ex[slot + l * K + k] = exAll[r * K + k];
          if (w !== undefined && wAll !== undefined) for (let k = 0; k < K; k++) w[slot + l * K + k] = wAll[r * K + k];
        }
      }
    }
    const warnings = missing > 0 ? [`${file}: ${missing} (token, layer) routes missing; left absent`] : [];
    return b.build({
      numExperts: this.opts.numExperts ?? this.maxExpert + 1,
      layerIds: ids.every((l, i) => l === i) ? undefined : ids,
      source,
      warnings,
    });
  }
}
