import { noHooks, type CachePolicy } from './types.js';

/** No cache: every use of an expert fetches it into a staging buffer, which is dropped after use. */
export function none(): CachePolicy {
  return {
    kind: 'none',
    ...noHooks,
    admit: () => false,
    victim: () => -1,
  };
}
