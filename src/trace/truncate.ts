import type { Trace } from './types.js';

/** The first `tokens` tokens of a trace (in its flat token order), sequences cut where they end. */
export function truncateTrace(trace: Trace, tokens: number): Trace {
  if (tokens >= trace.tokens) return trace;
  const n = Math.max(0, Math.floor(tokens));
  const per = trace.numLayers * trace.topK;
  const sequences = trace.sequences
    .filter((s) => s.start < n)
    .map((s) => ({ ...s, length: Math.min(s.length, n - s.start) }));
  return {
    ...trace,
    tokens: n,
    experts: trace.experts.subarray(0, n * per),
    ...(trace.weights ? { weights: trace.weights.subarray(0, n * per) } : {}),
    sequences,
    warnings: [...trace.warnings, `only the first ${n} of the trace's ${trace.tokens} tokens are used`],
  };
}
