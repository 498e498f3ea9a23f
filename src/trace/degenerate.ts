/**
 * Degenerate sequences: warm-up or profiling passes that a logger records along with the real
 * requests. A sequence is *uniform* when it has two or more tokens and every token takes the same
 * route in every layer as its first token; it is a *repeat* when its routes (and length) equal an
 * earlier sequence's exactly. Both inflate cache hit rates (a warm-up pass of 4,000 identical
 * tokens is 4,000 hits), so they are reported with their share of the trace's recorded accesses,
 * and can be dropped (`dropDegenerate: true`).
 */
import { TraceBuilder } from './builder.js';
import { NO_EXPERT, type Trace, type TraceSequence } from './types.js';

export interface DegenerateSequences {
  /** Indices (into trace.sequences) of sequences whose tokens all take one route. */
  uniform: number[];
  /** Indices of sequences that repeat an earlier sequence exactly, with the index repeated. */
  repeats: { sequence: number; of: number }[];
  /** Recorded (token, layer, slot) accesses of these sequences, and of the whole trace. */
  accesses: number;
  totalAccesses: number;
}

function recorded(trace: Trace, s: TraceSequence): number {
  const row = trace.numLayers * trace.topK;
  let n = 0;
  const ex = trace.experts;
  for (let i = s.start * row, end = (s.start + s.length) * row; i < end; i++) if (ex[i] !== NO_EXPERT) n++;
  return n;
}

/** Find uniform and repeated sequences. */
export function findDegenerateSequences(trace: Trace): DegenerateSequences {
  const row = trace.numLayers * trace.topK;
  const ex = trace.experts;
  const uniform: number[] = [];
  const repeats: { sequence: number; of: number }[] = [];
  const byHash = new Map<string, number[]>();
  let accesses = 0;
  let totalAccesses = 0;
  trace.sequences.forEach((s, si) => {
    const a = s.start * row;
    const len = s.length * row;
    const n = recorded(trace, s);
    totalAccesses += n;
    let isUniform = s.length >= 2;
    for (let t = 1; isUniform && t < s.length; t++) {
      const b = a + t * row;
      for (let j = 0; j < row; j++) {
        if (ex[b + j] !== ex[a + j]) {
          isUniform = false;
          break;
        }
      }
    }
    // FNV-1a over the routes, then an exact comparison against the candidates.
    let h = 0x811c9dc5;
    for (let i = a; i < a + len; i++) h = Math.imul(h ^ ex[i], 0x01000193);
    const key = `${s.length}:${h >>> 0}`;
    const cands = byHash.get(key) ?? [];
    let of = -1;
    for (const c of cands) {
      const o = trace.sequences[c].start * row;
      let same = true;
      for (let j = 0; j < len; j++) {
        if (ex[o + j] !== ex[a + j]) {
          same = false;
          break;
        }
      }
      if (same) {
        of = c;
        break;
      }
    }
    if (of < 0) {
      cands.push(si);
      byHash.set(key, cands);
    }
    if (isUniform) uniform.push(si);
    if (of >= 0) repeats.push({ sequence: si, of });
    if (isUniform || of >= 0) accesses += n;
  });
  return { uniform, repeats, accesses, totalAccesses };
}

const pct = (a: number, b: number): string => `${b === 0 ? 0 : ((100 * a) / b).toFixed(1)}%`;

/** One warning line for the degenerate sequences found, or undefined if none. */
export function degenerateWarning(trace: Trace, d: DegenerateSequences, dropped: boolean): string | undefined {
  if (d.uniform.length === 0 && d.repeats.length === 0) return undefined;
  const tokens = (idx: number[]) => idx.reduce((n, i) => n + trace.sequences[i].length, 0);
  const parts: string[] = [];
  if (d.uniform.length > 0) {
    const names = d.uniform.slice(0, 3).map((i) => `"${trace.sequences[i].id}"`).join(', ') + (d.uniform.length > 3 ? ', ...' : '');
    parts.push(`${d.uniform.length} sequence${d.uniform.length === 1 ? '' : 's'} (${names}; ${tokens(d.uniform)} tokens) route every token identically (warm-up or profiling passes?)`);
  }
  if (d.repeats.length > 0) {
    const r = d.repeats.filter((x) => !d.uniform.includes(x.sequence));
    if (r.length > 0) {
      const names = r.slice(0, 3).map((x) => `"${trace.sequences[x.sequence].id}" = "${trace.sequences[x.of].id}"`).join(', ') + (r.length > 3 ? ', ...' : '');
      parts.push(`${r.length} sequence${r.length === 1 ? '' : 's'} repeat another exactly (${names})`);
    }
  }
  const share = `${pct(d.accesses, d.totalAccesses)} of the recorded accesses`;
  const files = trace.source.path?.split(',') ?? [];
  const where = files.length > 0 ? `${files[0].split(/[\\/]/).pop()}${files.length > 1 ? ` (+${files.length - 1} files)` : ''}: ` : '';
  return `${where}${parts.join('; ')}; ${share}; ${dropped ? 'dropped (dropDegenerate: true)' : 'kept; set dropDegenerate: true to drop them'}`;
}

/** The trace without the given sequences (their tokens removed, the rest contiguous). */
export function dropSequences(trace: Trace, drop: Set<number>): Trace {
  const b = new TraceBuilder({ numLayers: trace.numLayers, topK: trace.topK, weights: trace.weights !== undefined, initialTokens: trace.tokens });
  const row = trace.numLayers * trace.topK;
  trace.sequences.forEach((s, i) => {
    if (drop.has(i)) return;
    b.beginSequence(s.id);
    b.appendTokens(s.length, trace.experts, s.start * row, trace.weights);
  });
  const out = b.build({ numExperts: trace.numExperts, layerIds: trace.layerIds, source: trace.source, warnings: [...trace.warnings] });
  return out;
}

/** Warn about degenerate sequences (and drop them when asked); returns the trace to use. */
export function checkDegenerate(trace: Trace, drop = false): Trace {
  const d = findDegenerateSequences(trace);
  const w = degenerateWarning(trace, d, drop);
  if (w === undefined) return trace;
  if (!drop) {
    trace.warnings.push(w);
    return trace;
  }
  const out = dropSequences(trace, new Set([...d.uniform, ...d.repeats.map((r) => r.sequence)]));
  if (out.tokens === 0) return Object.assign(trace, { warnings: [...trace.warnings, w.replace(/dropped.*$/, 'not dropped: nothing else would remain')] });
  out.warnings.push(w);
  return out;
}
