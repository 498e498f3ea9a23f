/**
 * The one timer of measured runs (calibrate, replay, validate, the disk calibration): a monotonic
 * clock in nanoseconds (process.hrtime.bigint), and seconds since a reading of it.
 */

/** Now, in nanoseconds of the monotonic clock. */
export const now = (): bigint => process.hrtime.bigint();

/** Seconds elapsed since `t0` (a reading of `now`). */
export const secondsSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;
