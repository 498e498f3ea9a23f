/** Runs point tasks on worker threads (piscina), or in this thread for tests and tiny sweeps. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { Piscina } from 'piscina';
import { runPoint, type PointOutcome, type PointTask } from './run-point.js';

/**
 * The compiled worker file. Built code finds it beside itself; under vitest (TypeScript sources)
 * it is the build in dist/, which `npm test` refreshes first (pretest).
 */
export function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'worker.js');
  const root = resolve(dirname(here), '..', '..');
  const built = join(root, 'dist', 'src', 'sweep', 'worker.js');
  if (!existsSync(built)) throw new Error(`sweep workers run compiled code: ${built} is missing; run npx tsc -p . first`);
  return built;
}

export interface PointRunner {
  run(task: PointTask, signal?: AbortSignal): Promise<PointOutcome>;
  close(): Promise<void>;
  readonly threads: number;
}

export function createRunner(workers: number): PointRunner {
  if (workers <= 0) {
    return {
      threads: 0,
      run: (task) => runPoint(task),
      close: async () => {},
    };
  }
  const pool = new Piscina<PointTask, PointOutcome>({
    filename: workerFile(),
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: 60_000,
  });
  return {
    threads: workers,
    run: (task, signal) => pool.run(task, signal ? { signal } : {}),
    close: () => pool.destroy(),
  };
}
