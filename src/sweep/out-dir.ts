import { join } from 'node:path';

/** A folder name from a scenario name. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'scenario';
}

/** `reports/<scenario name>/`, or `.../shard-<i>-of-<n>/` for one shard of a sweep. */
export function defaultOutDir(name: string, shard?: { index: number; count: number }): string {
  const base = join('reports', safeName(name));
  return shard ? join(base, `shard-${shard.index}-of-${shard.count}`) : base;
}
