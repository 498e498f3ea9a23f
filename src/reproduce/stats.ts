/** The reproduce computations: signed error, median, share within a band, rank agreement. */

/** Signed relative error of a prediction, in the published metric's own unit: sim / published - 1. */
export const signedError = (simulated: number, published: number): number => simulated / published - 1;

export { median } from '../metrics/summarize.js';

/**
 * Weighted median: the value where the cumulative weight of the sorted values reaches half the
 * total; where it lands exactly on half (within 1e-12 of the total), the mean of that value and the
 * next, so equal weights give the ordinary median. NaN for no values or no positive weight.
 */
export function weightedMedian(values: readonly number[], weights: readonly number[]): number {
  if (values.length !== weights.length) throw new Error(`weightedMedian: ${values.length} values, ${weights.length} weights`);
  const order = values.map((_, i) => i).filter((i) => weights[i] > 0).sort((a, b) => values[a] - values[b]);
  const total = order.reduce((a, i) => a + weights[i], 0);
  if (order.length === 0 || !(total > 0)) return NaN;
  let cum = 0;
  for (let k = 0; k < order.length; k++) {
    cum += weights[order[k]];
    if (Math.abs(cum - total / 2) <= 1e-12 * total && k + 1 < order.length) return (values[order[k]] + values[order[k + 1]]) / 2;
    if (cum >= total / 2) return values[order[k]];
  }
  return values[order[order.length - 1]];
}

/** The fit objective's median: each system weighted equally (a value weighs 1 / its system's values). */
export function perSystemMedian(values: readonly number[], systems: readonly string[]): number {
  const n = new Map<string, number>();
  for (const s of systems) n.set(s, (n.get(s) ?? 0) + 1);
  return weightedMedian(values, systems.map((s) => 1 / n.get(s)!));
}

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
