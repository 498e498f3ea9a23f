/**
 * Decode steps (batch 1, no prompt) straight from a chunked trace stream, for traces too long to
 * hold in memory: the simulator reads routing through a window Trace whose arrays are the current
 * chunk's. Memory stays flat however long the stream is.
 */
import type { TraceStream } from './stream.js';
import type { Trace } from './types.js';
import type { Step, StepSource } from './steps.js';

export interface StreamingSteps {
  /** The window the simulator reads: its `experts` is swapped for each chunk. */
  trace: Trace;
  source: StepSource;
}

export function streamingDecodeSteps(stream: TraceStream, numSequences: number, chunkTokens = 16384): StreamingSteps {
  const h = stream.header;
  const trace: Trace = {
    numLayers: h.numLayers,
    numExperts: h.numExperts,
    topK: h.topK,
    tokens: 0,
    experts: new Uint16Array(0),
    sequences: Array.from({ length: numSequences }, (_, i) => ({ id: String(i), start: 0, length: 0 })),
    source: h.source,
    warnings: [],
  };
  const step: Step = {
    index: -1,
    count: 1,
    tokens: new Int32Array(1),
    contextTokens: 0,
    kvTokens: 0,
    emitSeq: new Int32Array(1),
    emitCount: 1,
    startSeq: new Int32Array(1),
    startCount: 0,
    prefill: false,
  };
  let chunkTokensLeft = 0;
  let tokenInChunk = 0;
  let segments: { start: number; length: number; continued: boolean }[] = [];
  let segIndex = 0;
  let seq = -1;
  let pos = 0;
  const source: StepSource = {
    maxTokens: 1,
    next(): Step | null {
      if (chunkTokensLeft === 0) {
        const c = stream.nextChunk(chunkTokens);
        if (c === null) return null;
        trace.experts = c.experts;
        trace.tokens = c.tokens;
        chunkTokensLeft = c.tokens;
        tokenInChunk = 0;
        segments = c.segments;
        segIndex = 0;
      }
      const seg = segments[segIndex];
      step.startCount = 0;
      if (tokenInChunk === seg.start && !seg.continued) {
        seq++;
        pos = 0;
        if (seq >= numSequences) throw new Error(`stream has more than ${numSequences} sequences`);
        step.startSeq[0] = seq;
        step.startCount = 1;
      }
      step.tokens[0] = tokenInChunk;
      step.contextTokens = ++pos;
      step.kvTokens = pos;
      step.emitSeq[0] = seq;
      step.index++;
      tokenInChunk++;
      chunkTokensLeft--;
      if (tokenInChunk === seg.start + seg.length) segIndex++;
      return step;
    },
  };
  return { trace, source };
}
