/**
 * Traces in chunks: generators and writers exchange fixed-size chunks so a trace of any length is
 * produced and written with flat memory. A chunk's arrays are reused by its source: they are valid
 * until the next `nextChunk()` call.
 */
import { TraceBuilder } from './builder.js';
import type { Trace, TraceSource } from './types.js';

/** A run of consecutive tokens of one sequence inside a chunk. */
export interface ChunkSegment {
  /** Sequence id. */
  sequence: string;
  /** First token of the run, as an index into the chunk. */
  start: number;
  length: number;
  /** True if the sequence started in an earlier chunk (this run continues it). */
  continued: boolean;
}

export interface TraceChunk {
  tokens: number;
  /** [tokens][numLayers][topK], a view valid until the next chunk is requested. */
  experts: Uint16Array;
  weights?: Float32Array;
  segments: ChunkSegment[];
}

/** Shape and provenance of a chunked trace, known before its first chunk. */
export interface TraceHeader {
  numLayers: number;
  numExperts: number;
  topK: number;
  layerIds?: number[];
  source: TraceSource;
}

export interface TraceStream {
  readonly header: TraceHeader;
  /** Total tokens the stream will produce, when known. */
  readonly totalTokens?: number;
  /** Up to `maxTokens` more tokens, or null at the end. */
  nextChunk(maxTokens: number): TraceChunk | null;
}

/** Drain a stream into an in-memory Trace. */
export function collectTrace(stream: TraceStream, chunkTokens = 65536): Trace {
  const h = stream.header;
  const b = new TraceBuilder({ numLayers: h.numLayers, topK: h.topK, initialTokens: stream.totalTokens ?? chunkTokens });
  const stride = h.numLayers * h.topK;
  for (let c = stream.nextChunk(chunkTokens); c !== null; c = stream.nextChunk(chunkTokens)) {
    for (const seg of c.segments) {
      if (!seg.continued) b.beginSequence(seg.sequence);
      b.appendTokens(seg.length, c.experts, seg.start * stride, c.weights);
    }
  }
  return b.build({ numExperts: h.numExperts, layerIds: h.layerIds, source: h.source });
}

/** A stream over an in-memory Trace (chunks are views into its arrays, no copy). */
export function traceStream(trace: Trace): TraceStream {
  const stride = trace.numLayers * trace.topK;
  let seqIndex = 0;
  let offsetInSeq = 0;
  let token = 0;
  return {
    header: {
      numLayers: trace.numLayers,
      numExperts: trace.numExperts,
      topK: trace.topK,
      layerIds: trace.layerIds,
      source: trace.source,
    },
    totalTokens: trace.tokens,
    nextChunk(maxTokens: number): TraceChunk | null {
      if (token >= trace.tokens || seqIndex >= trace.sequences.length) return null;
      const first = token;
      const segments: ChunkSegment[] = [];
      let left = Math.max(1, maxTokens);
      while (left > 0 && seqIndex < trace.sequences.length) {
        const s = trace.sequences[seqIndex];
        const n = Math.min(left, s.length - offsetInSeq);
        if (n > 0) segments.push({ sequence: s.id, start: token - first, length: n, continued: offsetInSeq > 0 });
        token += n;
        left -= n;
        offsetInSeq += n;
        if (offsetInSeq >= s.length) {
          seqIndex++;
          offsetInSeq = 0;
        }
      }
      const chunk: TraceChunk = {
        tokens: token - first,
        experts: trace.experts.subarray(first * stride, token * stride),
        segments,
      };
      if (trace.weights !== undefined) chunk.weights = trace.weights.subarray(first * stride, token * stride);
      return chunk;
    },
  };
}

/** The first `tokens` tokens of a stream (the last sequence may end early). */
export function takeTokens(stream: TraceStream, tokens: number): TraceStream {
  let left = tokens;
  return {
    header: stream.header,
    totalTokens: stream.totalTokens === undefined ? tokens : Math.min(tokens, stream.totalTokens),
    nextChunk(maxTokens: number): TraceChunk | null {
      if (left <= 0) return null;
      const c = stream.nextChunk(Math.min(maxTokens, left));
      if (c === null) return null;
      if (c.tokens <= left) {
        left -= c.tokens;
        return c;
      }
      // the source gave more than asked: cut the chunk
      const stride = c.experts.length / c.tokens;
      const n = left;
      left = 0;
      const segments = c.segments.filter((s) => s.start < n).map((s) => ({ ...s, length: Math.min(s.length, n - s.start) }));
      const out: TraceChunk = { tokens: n, experts: c.experts.subarray(0, n * stride), segments };
      if (c.weights !== undefined) out.weights = c.weights.subarray(0, n * stride);
      return out;
    },
  };
}
