/**
 * The one timer of measured runs (calibrate, replay, validate, the disk calibration): a monotonic
 * clock in nanoseconds (process.hrtime.bigint), and seconds since a reading of it.
 *
 * `Clock` is that timer behind an interface, so a measured run can be driven by another clock: the
 * tests replay and calibrate on a fake backend whose operations advance a fake clock by the time
 * they stand for (a machine whose speed drifts, deterministically).
 */

/** Now, in nanoseconds of the monotonic clock. */
export const now = (): bigint => process.hrtime.bigint();

/** Seconds elapsed since `t0` (a reading of `now`). */
export const secondsSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

/** A monotonic clock in nanoseconds. */
export interface Clock {
  now(): bigint;
}

/** The process's monotonic clock (`now`). */
export const hrClock: Clock = { now };

/** Seconds elapsed on `clock` since `t0` (a reading of it). */
export const secondsOn = (clock: Clock, t0: bigint): number => Number(clock.now() - t0) / 1e9;
