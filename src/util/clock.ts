/**
 * The one timer of measured runs (calibrate, replay, validate, the disk calibration): a monotonic
 * clock in nanoseconds (process.hrtime.bigint), and seconds since a reading of it.
 *
 * `Clock` is that timer behind an interface, so a measured run can be driven by another clock: the
 * tests replay and calibrate on a fake backend whose operations advance a fake clock by the time
 * they stand for (a machine whose speed drifts, deterministically).
 */

import { readFileSync } from 'node:fs';
import { ThreadWaits, type ThreadWaitWindow } from './thread-waits.js';

/** Now, in nanoseconds of the monotonic clock. */
export const now = (): bigint => process.hrtime.bigint();

/** Seconds elapsed since `t0` (a reading of `now`). */
export const secondsSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

/** A monotonic clock in nanoseconds. */
export interface Clock {
  now(): bigint;
  /**
   * Seconds this thread has so far spent runnable but waiting for a core that other work held
   * (absent where the OS does not say). Time measured on `now` includes those waits.
   */
  waitedSec?(): number;
  /**
   * The process's other threads' run-queue waits over a window (libuv's pool runs a disk read's
   * requests: thread-waits.ts); absent where the OS does not say.
   */
  otherThreads?: ThreadWaitWindow;
}

const SCHEDSTAT = '/proc/thread-self/schedstat';

/**
 * Linux: the calling thread's run-queue wait, field 2 of /proc/thread-self/schedstat ("time spent
 * waiting on a runqueue", nanoseconds; the kernel's Documentation/scheduler/sched-stats.rst).
 * undefined where the file is missing or unreadable (not Linux, no schedstats).
 */
export function threadWaitedSec(): number | undefined {
  try {
    const f = readFileSync(SCHEDSTAT, 'utf8').trim().split(/\s+/);
    const ns = Number(f[1]);
    return f.length >= 3 && Number.isFinite(ns) ? ns / 1e9 : undefined;
  } catch {
    return undefined;
  }
}

/** The process's monotonic clock (`now`), with the calling thread's and the other threads' run-queue waits where Linux reports them. */
export const hrClock: Clock =
  threadWaitedSec() === undefined
    ? { now }
    : { now, waitedSec: () => threadWaitedSec()!, otherThreads: new ThreadWaits() };

/** Seconds elapsed on `clock` since `t0` (a reading of it). */
export const secondsOn = (clock: Clock, t0: bigint): number => Number(clock.now() - t0) / 1e9;
