import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';

/** OLMoE-1B-7B, bf16: 16 x 64 experts of 12 MiB = 12 GiB of experts, one LRU policy; tests add the hardware (a host, an SSD). */
export const tierBase = {
  seed: 1,
  model: 'olmoe-1b-7b',
  precision: { experts: 'bf16', dense: 'bf16' },
  trace: { synthetic: { layers: 16, experts: 64, topK: 8, sequences: 1, tokensPerSequence: 6, popularity: { kind: 'zipf', exponent: 0.8 } } },
  policies: [{ kind: 'lru', cache: { perLayer: 8 } }],
};

/** A run of the tier scenario named `name` with `extra` fields (hardware, hostTier, policies, ...). */
export function tierRunner(name: string) {
  return (extra: Record<string, unknown>) => runScenario(parseScenario({ name, ...tierBase, ...extra }), { baseDir: '.' });
}
