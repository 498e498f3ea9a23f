import type { MissHandler } from './types.js';

/** The default: copy the expert over the link, then compute it on the GPU. */
export function fetchOnMiss(): MissHandler {
  return { kind: 'fetch', needsImportance: false, needsEstimates: false, decide: () => 'fetch' };
}
