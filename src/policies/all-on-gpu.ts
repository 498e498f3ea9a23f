import { noHooks, type CachePolicy, type PolicyContext } from './types.js';

/** Every expert resident from the start: the bound when the whole model fits in GPU memory. */
export function allOnGpu(ctx: PolicyContext): CachePolicy {
  const n = ctx.numLayers * ctx.numExperts;
  return {
    kind: 'all-on-gpu',
    ...noHooks,
    admit: () => true,
    victim: () => -1,
    initialResidents: () => Array.from({ length: n }, (_, i) => i),
  };
}
