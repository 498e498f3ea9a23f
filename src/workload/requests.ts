/**
 * The requests of a serving workload: which trace sequence each follows, where in it its tokens
 * start, its prompt and output lengths, and (open loop) its arrival time. Drawn once per run from
 * the scenario's seed, so every policy and scheduler serves the very same requests.
 *
 * A request with P prompt tokens and O output tokens follows the routing of P + O - 1 consecutive
 * tokens of its sequence (O when P = 0): the prompt's, then one per decode step (the last output is
 * never fed back). Routing is never invented: a request longer than what its sequence holds from
 * its start is cut to fit, and the run's warnings say how many were.
 */
import type { Rng } from '../rng/rng.js';
import type { Trace } from '../trace/types.js';
import { InputError } from '../util/errors.js';
import { MAX_TRACE_SLOTS } from '../trace/checks.js';
import { describeLength, drawLength } from './lengths.js';
import type { ServingWorkload } from './schema.js';

export interface RequestTable {
  count: number;
  /** Trace sequence each request follows. */
  seq: Int32Array;
  /** Trace token index (row of trace.experts) of the request's first token. */
  firstToken: Int32Array;
  promptTokens: Int32Array;
  outputTokens: Int32Array;
  /** Open loop: arrival times, ascending. Closed loop: NaN (set as the run goes; see ServingSource). */
  arrivalSec: Float64Array;
  closed?: { users: number; thinkSec: number };
  /** Sequences were reused: more requests than (non-empty) trace sequences. */
  reusedSequences: boolean;
  /** Requests cut to fit their trace sequence. */
  capped: number;
  /** One line each, for the run's warnings. */
  notes: string[];
}

/** Trace tokens a request with P prompt and O output tokens follows. */
export function tokensNeeded(prompt: number, outputs: number): number {
  return prompt > 0 ? prompt + outputs - 1 : outputs;
}

export function buildRequests(trace: Trace, w: ServingWorkload, rng: Rng, seedLabel: string): RequestTable {
  const N = w.requests;
  // each request serves at least one token, each token routes layers x k experts: past the limit a
  // trace may hold, refused before the request table (and the run) is allocated
  const perToken = trace.numLayers * trace.topK;
  if (N * perToken > MAX_TRACE_SLOTS) {
    throw new InputError(
      `workload.requests: ${N.toLocaleString('en-US')} requests of at least one token each route ${(N * perToken).toLocaleString('en-US')} experts (requests x ${trace.numLayers} layers x top-${trace.topK}), more than the limit of ${MAX_TRACE_SLOTS.toLocaleString('en-US')} a trace may hold; expected at most ${Math.floor(MAX_TRACE_SLOTS / perToken).toLocaleString('en-US')} requests`,
    );
  }
  const usable: number[] = [];
  trace.sequences.forEach((s, i) => {
    if (s.length > 0) usable.push(i);
  });
  if (usable.length === 0) throw new InputError('workload: the trace has no tokens to serve requests from');
  const seqRng = rng.fork('sequences');
  const promptRng = rng.fork('prompt');
  const outputRng = rng.fork('output');
  const windowRng = rng.fork('window');
  const arrivalRng = rng.fork('arrivals');
  const t: RequestTable = {
    count: N,
    seq: new Int32Array(N),
    firstToken: new Int32Array(N),
    promptTokens: new Int32Array(N),
    outputTokens: new Int32Array(N),
    arrivalSec: new Float64Array(N),
    reusedSequences: N > usable.length,
    capped: 0,
    notes: [],
  };
  for (let r = 0; r < N; r++) {
    const s = t.reusedSequences ? usable[seqRng.int(usable.length)] : usable[r];
    const seq = trace.sequences[s];
    const len = seq.length;
    let P = drawLength(w.promptTokens, promptRng);
    let O = w.outputTokens === 'trace' ? -1 : Math.max(1, drawLength(w.outputTokens, outputRng));
    let capped = false;
    if (P > len) {
      P = len;
      capped = true;
    }
    let start = 0;
    if (O < 0) {
      // The rest of the sequence after the prompt, from a start that leaves at least one output.
      if (w.window === 'random') start = windowRng.int(len - Math.max(P, 1) + 1);
      O = len - start - P + (P > 0 ? 1 : 0);
    } else {
      const room = len - tokensNeeded(P, O);
      if (room < 0) {
        O = len - P + (P > 0 ? 1 : 0);
        capped = true;
      } else if (w.window === 'random') start = windowRng.int(room + 1);
    }
    if (capped) t.capped++;
    t.seq[r] = s;
    t.firstToken[r] = seq.start + start;
    t.promptTokens[r] = P;
    t.outputTokens[r] = O;
  }
  const a = w.arrivals;
  if (a.kind === 'poisson') {
    let now = 0;
    for (let r = 0; r < N; r++) {
      now += -Math.log(1 - arrivalRng.next()) / a.ratePerSec;
      t.arrivalSec[r] = now;
    }
  } else {
    t.arrivalSec.fill(NaN);
    t.closed = { users: a.users, thinkSec: a.thinkMs / 1e3 };
  }
  if (t.reusedSequences) {
    t.notes.push(
      `workload: ${N} requests from a trace of ${usable.length} sequence${usable.length === 1 ? '' : 's'}: sequences are reused, each request samples one uniformly with seed "${seedLabel}"` +
        (w.window === 'random' ? ' and starts at a random offset in it' : ' and starts at its first token'),
    );
  }
  if (t.capped > 0) {
    t.notes.push(
      `workload: ${t.capped} of ${N} requests cut to fit their trace sequence (prompt ${describeLength(w.promptTokens)}, output ${describeLength(w.outputTokens)}); routing is never invented`,
    );
  }
  return t;
}
