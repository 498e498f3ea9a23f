/** The reproduce computations: signed error, median, share within a band, rank agreement. */

/** Signed relative error of a prediction, in the published metric's own unit: sim / published - 1. */
export const signedError = (simulated: number, published: number): number => simulated / published - 1;

export { median } from '../metrics/summarize.js';

/** Share of |errors| at most `band` (0.25: within 25%). */
export const shareWithin = (errors: readonly number[], band = 0.25): number =>
  errors.length === 0 ? NaN : errors.filter((e) => Math.abs(e) <= band + 1e-12).length / errors.length;

export interface RankAgreement {
  pairs: number;
  /** Pairs ordered the same way by the published and the simulated values. */
  concordant: number;
  /** Every pair in the published order (a simulated tie breaks it). */
  preserved: boolean;
}

/**
 * Rank agreement of one published comparison: for every pair with different published values, is
 * the simulated order the same? Values are "lower is better" (seconds per token); pairs tied in the
 * publication are skipped, a simulated tie (relative difference below 1e-9) counts as discordant.
 */
export function rankAgreement(published: readonly number[], simulated: readonly number[]): RankAgreement {
  let pairs = 0;
  let concordant = 0;
  for (let i = 0; i < published.length; i++) {
    for (let j = i + 1; j < published.length; j++) {
      const dp = published[i] - published[j];
      if (dp === 0) continue;
      pairs++;
      const ds = simulated[i] - simulated[j];
      const tie = Math.abs(ds) <= 1e-9 * Math.max(Math.abs(simulated[i]), Math.abs(simulated[j]));
      if (!tie && Math.sign(ds) === Math.sign(dp)) concordant++;
    }
  }
  return { pairs, concordant, preserved: concordant === pairs };
}
