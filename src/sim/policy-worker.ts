/** Policy worker entry (piscina loads this file's default export in each thread): one share of a run's policies. */
import { runPolicyShare } from './run.js';
import type { ShareOutcome, ShareTask } from './policy-pool.js';
import { InputError } from '../util/errors.js';

export default async function (task: ShareTask): Promise<ShareOutcome> {
  try {
    const outcomes = await runPolicyShare(task.scenario, { baseDir: task.baseDir, file: task.file, ...(task.timings ? { clock: () => performance.now() } : {}) }, task.indices);
    return { ok: true, outcomes };
  } catch (e) {
    const err = e as Error;
    return { ok: false, input: e instanceof InputError, message: err.message, stack: err.stack };
  }
}
