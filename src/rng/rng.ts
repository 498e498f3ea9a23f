import seedrandom from 'seedrandom';

/**
 * A seeded random stream. Randomness is passed in, never global: one scenario seed, and a forked,
 * independent stream per component (rng.fork("trace"), rng.fork("policy:lru")), so adding a
 * component never changes the numbers another one draws.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** An independent stream named `name`, derived from this stream's seed (not its state). */
  fork(name: string): Rng;
  readonly seed: string;
}

export function createRng(seed: string | number): Rng {
  const s = String(seed);
  const gen = seedrandom.alea(s);
  return {
    seed: s,
    next: () => gen(),
    int: (n: number) => Math.floor(gen() * n),
    fork: (name: string) => createRng(`${s}/${name}`),
  };
}
