import { join } from 'node:path';

/** A folder name from a scenario name. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'scenario';
}

/**
 * Where a sweep of a scenario writes: `reports/<scenario name>/sweep/`, or
 * `.../sweep/shard-<i>-of-<n>/` for one shard. Beside `run/` and `validate-<backend>/`, so that a
 * run, a sweep and a validation of one scenario never overwrite each other.
 */
export function defaultOutDir(name: string, shard?: { index: number; count: number }): string {
  const base = join('reports', safeName(name), 'sweep');
  return shard ? join(base, `shard-${shard.index}-of-${shard.count}`) : base;
}

/** Where `moesim run` writes its report: `reports/<scenario name>/run/`. */
export function defaultRunDir(name: string): string {
  return join('reports', safeName(name), 'run');
}

/** Where `moesim validate` writes its report: `reports/<scenario name>/validate-<backend>/`. */
export function defaultValidateDir(name: string, backend: string): string {
  return join('reports', safeName(name), `validate-${backend}`);
}

/** The report folders a scenario's folder may hold, in the order `moesim report` looks. */
export const REPORT_KINDS = ['run', 'sweep'] as const;
