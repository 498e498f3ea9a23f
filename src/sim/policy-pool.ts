/**
 * The policies of one run on several cores (issue 11): `scenario.policies` are independent
 * simulations of one prepared scenario (every random stream is forked by name, never shared in
 * order), so a share of them can run on worker threads while this thread runs the first share.
 *
 * Each worker prepares the scenario itself (loads the trace, sets up the predictors: the same
 * deterministic steps) and runs its policies; the results come back in the scenario's order. The
 * warnings a policy adds are kept apart per policy and merged in policy order, each once, which is
 * what the sequential run does (every warning a policy adds is added only if not already there), so
 * the RunResult is byte-identical to the sequential one (test/sim/policy-pool.test.ts runs every
 * shipped scenario both ways).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { PolicyResult } from '../metrics/types.js';
import type { Scenario } from '../scenario/schema.js';
import { InputError } from '../util/errors.js';

/**
 * Below this many expert accesses per policy (tokens x layers x top-k), a policy simulates in about
 * a second on one core (the timing model runs 1.5-2.7 M accesses/s, README Benchmark), less than a
 * worker spends starting and loading the trace again: the run stays on one thread.
 */
export const PARALLEL_MIN_ACCESSES = 4_000_000;

/** What one policy of a share produced: its results (one per scheduler) and the warnings it added, in order. */
export interface PolicyOutcome {
  results: PolicyResult[];
  warnings: string[];
}

/** A worker's task: the parsed scenario (plain data), where its files resolve, and which policies to run. */
export interface ShareTask {
  scenario: Scenario;
  baseDir: string;
  file?: string;
  timings: boolean;
  indices: number[];
}

export type ShareOutcome =
  | { ok: true; outcomes: PolicyOutcome[] }
  /** `input`: an InputError in the worker (the same one the sequential run would throw); else a bug. */
  | { ok: false; input: boolean; message: string; stack?: string };

/**
 * Threads for a run: none asked, one; a number, that many (no more than the policies); 'auto',
 * the core count when a policy has at least PARALLEL_MIN_ACCESSES accesses, else one.
 */
export function policyThreads(jobs: number | 'auto' | undefined, policies: number, accessesPerPolicy: number): number {
  if (jobs === undefined) return 1;
  if (jobs === 'auto' && accessesPerPolicy < PARALLEL_MIN_ACCESSES) return 1;
  const want = jobs === 'auto' ? availableParallelism() : jobs;
  return Math.max(1, Math.min(want, policies));
}

/** Policy indices of share s of n: contiguous blocks, the first share (this thread's) the first block. */
export function shares(policies: number, n: number): number[][] {
  const out: number[][] = [];
  for (let s = 0; s < n; s++) {
    const from = Math.floor((s * policies) / n);
    const to = Math.floor(((s + 1) * policies) / n);
    out.push(Array.from({ length: to - from }, (_, k) => from + k));
  }
  return out.filter((x) => x.length > 0);
}

/** The compiled worker: beside this file when built; under vitest (TypeScript sources) the build in dist/, which pretest refreshes. */
function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'policy-worker.js');
  const built = join(resolve(dirname(here), '..', '..'), 'dist', 'src', 'sim', 'policy-worker.js');
  if (!existsSync(built)) throw new Error(`policy workers run compiled code: ${built} is missing; run npx tsc -p . first`);
  return built;
}

/** Run the shares on worker threads, one thread each; rejects with the first share's error (an InputError stays one). */
export async function runShares(tasks: ShareTask[]): Promise<PolicyOutcome[][]> {
  if (tasks.length === 0) return [];
  const pool = new Piscina<ShareTask, ShareOutcome>({ filename: workerFile(), minThreads: tasks.length, maxThreads: tasks.length });
  try {
    const done = await Promise.all(tasks.map((t) => pool.run(t)));
    return done.map((d) => {
      if (d.ok) return d.outcomes;
      if (d.input) throw new InputError(d.message);
      const e = new Error(d.message);
      if (d.stack) e.stack = d.stack;
      throw e;
    });
  } finally {
    await pool.destroy();
  }
}

/** Merge per-policy warnings into the run's: in policy order, each once (what the sequential run's checks do). */
export function mergeWarnings(into: string[], perPolicy: string[][]): void {
  for (const ws of perPolicy) for (const w of ws) if (!into.includes(w)) into.push(w);
}
