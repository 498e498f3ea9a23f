/** Token counts drawn per request from a LengthSpec with a seeded stream. */
import type { Rng } from '../rng/rng.js';
import type { LengthSpec } from './schema.js';

/** A standard normal draw (Box-Muller, one of the pair). */
export function normal(rng: Rng): number {
  const u = 1 - rng.next(); // (0, 1]
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function drawLength(spec: LengthSpec, rng: Rng): number {
  if (typeof spec === 'number') return spec;
  if (spec.kind === 'uniform') return spec.min + rng.int(spec.max - spec.min + 1);
  const x = Math.round(spec.median * Math.exp(spec.sigma * normal(rng)));
  const lo = Math.max(spec.min, x);
  return spec.max !== undefined ? Math.min(spec.max, lo) : lo;
}

/** The largest value a spec can produce, or Infinity. */
export function maxLength(spec: LengthSpec): number {
  if (typeof spec === 'number') return spec;
  if (spec.kind === 'uniform') return spec.max;
  return spec.max ?? Infinity;
}

export function describeLength(spec: LengthSpec | 'trace'): string {
  if (spec === 'trace') return 'the rest of the trace sequence';
  if (typeof spec === 'number') return String(spec);
  if (spec.kind === 'uniform') return `uniform ${spec.min}..${spec.max}`;
  return `lognormal (median ${spec.median}, sigma ${spec.sigma}, min ${spec.min}${spec.max !== undefined ? `, max ${spec.max}` : ''})`;
}
