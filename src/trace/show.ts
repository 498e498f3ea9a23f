/** `moesim trace head|show`: a trace's shape and its first tokens, one line per token. */
import { InputError } from '../util/errors.js';
import { NO_EXPERT, type Trace } from './types.js';

export interface ShowOptions {
  /** Tokens to print (default 10). */
  tokens?: number;
  /** Only this sequence (by id). */
  sequence?: string;
}

/** The lines of `trace head`: a header, then `seq  pos  L<id>: e,e (w,w)  ...` per token. An unknown `sequence` is an InputError. */
export function showTrace(trace: Trace, opts: ShowOptions = {}): string[] {
  const n = opts.tokens ?? 10;
  const K = trace.topK;
  const L = trace.numLayers;
  const ids = trace.layerIds ?? Array.from({ length: L }, (_, i) => i);
  const out = [
    `${trace.tokens} tokens in ${trace.sequences.length} sequence${trace.sequences.length === 1 ? '' : 's'}, ${L} layers (ids ${ids.length > 8 ? `${ids.slice(0, 8).join(', ')}, ...` : ids.join(', ')}), ${trace.numExperts} experts, top-${K}${trace.weights !== undefined ? ', with gate weights' : ''}`,
  ];
  const seqs = opts.sequence === undefined ? trace.sequences : trace.sequences.filter((s) => s.id === opts.sequence);
  if (seqs.length === 0) {
    const some = `${trace.sequences.slice(0, 5).map((s) => `"${s.id}"`).join(', ')}${trace.sequences.length > 5 ? ', ...' : ''}`;
    throw new InputError(`${trace.source.path ?? 'trace'}: --sequence ${opts.sequence}: no such sequence; expected one of its ${trace.sequences.length} sequence ids: ${some}`);
  }
  let printed = 0;
  for (const s of seqs) {
    for (let p = 0; p < s.length && printed < n; p++, printed++) {
      const t = s.start + p;
      const groups: string[] = [];
      for (let l = 0; l < L; l++) {
        const at = (t * L + l) * K;
        if (trace.experts[at] === NO_EXPERT) {
          groups.push(`L${ids[l]}: -`);
          continue;
        }
        const ex = Array.from(trace.experts.subarray(at, at + K)).join(',');
        const w = trace.weights !== undefined && !Number.isNaN(trace.weights[at]) ? ` (${Array.from(trace.weights.subarray(at, at + K), (x) => x.toFixed(3)).join(',')})` : '';
        groups.push(`L${ids[l]}: ${ex}${w}`);
      }
      out.push(`${s.id}\t${p}\t${groups.join('  ')}`);
    }
    if (printed >= n) break;
  }
  return out;
}
