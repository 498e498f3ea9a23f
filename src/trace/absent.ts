/** Absent (token, layer) routes of a trace, counted for the one-line warning every reader gives. */
import { NO_EXPERT, type Trace } from './types.js';

/** "N (token, layer) routes missing in S sequences; left absent", or undefined when none is. */
export function absentRoutesWarning(trace: Trace, file: string): string | undefined {
  const K = trace.topK;
  const row = trace.numLayers * K;
  let missing = 0;
  let seqs = 0;
  for (const s of trace.sequences) {
    let m = 0;
    for (let i = s.start * row, end = (s.start + s.length) * row; i < end; i += K) if (trace.experts[i] === NO_EXPERT) m++;
    if (m > 0) {
      missing += m;
      seqs++;
    }
  }
  if (missing === 0) return undefined;
  return `${file}: ${missing} (token, layer) routes missing in ${seqs} sequence${seqs === 1 ? '' : 's'}; left absent`;
}
