/**
 * Fiddler (Kamahori et al., ICLR 2025): when a missed expert would be computed sooner on the CPU,
 * from host memory, than copied to the GPU and computed there, compute it on the CPU; the tokens'
 * activations cross the link instead of the weights. Decided per expert and token count from the
 * hardware model (CPU roofline vs. link queue + copy + GPU), so a prefill routes many tokens to the
 * GPU and a decode step few to the CPU.
 *
 * `belowTokens` replaces the estimate with a runtime's fixed rule: compute on the CPU exactly when
 * fewer than that many tokens are routed to the expert (llama.cpp: CPU-resident weights are
 * computed by the CPU below a batch of 32, above it copied to the GPU; kTransformers: always the
 * CPU, a very large threshold).
 */
import type { MissHandler } from './types.js';

export interface CpuParams {
  belowTokens?: number;
}

export function cpuOnMiss(params: CpuParams = {}): MissHandler {
  const below = params.belowTokens;
  if (below !== undefined) {
    return { kind: 'cpu', needsImportance: false, needsEstimates: false, decide: (q) => (q.tokens < below ? 'cpu' : 'fetch') };
  }
  return {
    kind: 'cpu',
    needsImportance: false,
    needsEstimates: true,
    decide: (q) => (q.cpuFinishSec < q.fetchFinishSec ? 'cpu' : 'fetch'),
  };
}
