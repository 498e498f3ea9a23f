import { readFileSync } from 'node:fs';

/** moesim's version, from package.json (embedded in every result for reproducibility). */
export const VERSION: string = (() => {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      /* try the next location (src/ when run by vitest, dist/src/ when built) */
    }
  }
  return 'unknown';
})();
