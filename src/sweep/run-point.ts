/**
 * Runs one sweep point: the code a pool worker executes (and the in-process runner too). Returns a
 * plain object, never throws: errors cross the thread boundary as data.
 */
import { parseScenario } from '../scenario/load.js';
import { runScenario } from '../sim/run.js';
import type { RunResult } from '../metrics/types.js';
import { loadTrace } from '../trace/load.js';
import type { Trace } from '../trace/types.js';
import type { Rng } from '../rng/rng.js';
import { InputError } from '../util/errors.js';
import { canonicalJson } from './hash.js';

export interface PointTask {
  /** The point's scenario, raw (validated again here). */
  raw: Record<string, unknown>;
  baseDir: string;
  file?: string;
}

export type PointOutcome =
  | { ok: true; result: RunResult }
  /** `input`: an InputError (a property of the point, e.g. a cache that does not fit); else a bug. */
  | { ok: false; input: boolean; message: string; stack?: string };

/** Traces loaded by this thread, by spec: points of a sweep mostly replay the same file. */
const traces = new Map<string, Promise<Trace>>();
const MAX_CACHED_TRACES = 4;

const cachedLoadTrace: typeof loadTrace = (spec, baseDir, rng: Rng, check) => {
  // A file trace does not depend on the seed; a synthetic one does.
  const key = canonicalJson({ spec, baseDir, seed: 'synthetic' in spec ? rng.seed : null });
  let p = traces.get(key);
  if (!p) {
    p = loadTrace(spec, baseDir, rng, check);
    p.catch(() => traces.delete(key));
    if (traces.size >= MAX_CACHED_TRACES) traces.delete(traces.keys().next().value!);
    traces.set(key, p);
  }
  return p;
};

export async function runPoint(task: PointTask): Promise<PointOutcome> {
  try {
    const scenario = parseScenario(task.raw, task.file);
    const result = await runScenario(scenario, { baseDir: task.baseDir, file: task.file, loadTrace: cachedLoadTrace });
    return { ok: true, result };
  } catch (e) {
    const err = e as Error;
    return { ok: false, input: e instanceof InputError, message: err.message, stack: err.stack };
  }
}
