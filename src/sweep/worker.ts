/** Pool worker entry (piscina loads this file's default export in each thread). */
import { runPoint, type PointTask, type PointOutcome } from './run-point.js';

export default function (task: PointTask): Promise<PointOutcome> {
  return runPoint(task);
}
