/**
 * Fiddler (Kamahori et al., ICLR 2025): when a missed expert would be computed sooner on the CPU,
 * from host memory, than copied to the GPU and computed there, compute it on the CPU; the tokens'
 * activations cross the link instead of the weights. Decided per expert and token count from the
 * hardware model (CPU roofline vs. link queue + copy + GPU), so a prefill routes many tokens to the
 * GPU and a decode step few to the CPU.
 */
import type { MissHandler } from './types.js';

export function cpuOnMiss(): MissHandler {
  return {
    kind: 'cpu',
    needsImportance: false,
    needsEstimates: true,
    decide: (q) => (q.cpuFinishSec < q.fetchFinishSec ? 'cpu' : 'fetch'),
  };
}
