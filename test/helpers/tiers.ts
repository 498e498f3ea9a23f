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

/**
 * A 4-layer Mixtral-shaped model (8 experts of 336 MiB in bf16 per layer) on a host that gives
 * 2 GiB to experts: host DRAM holds 5 of the 32, the rest come from a Samsung 990 Pro. The YAML of
 * the replay/validate storage tests, with their own name and policies.
 */
export function tinySsdScenario(name: string, policies: string[]): string {
  return `
name: ${name}
seed: 3
model: { preset: mixtral-8x7b, numLayers: 4, moeLayers: [0, 1, 2, 3] }
hardware: { preset: rtx-4090, storage: samsung-990-pro }
hostTier: { capacityGiB: 2, initial: cold }
trace: { synthetic: { layers: 4, experts: 8, topK: 2, sequences: 2, tokensPerSequence: 8, popularity: { kind: zipf, exponent: 1.0 }, locality: 0.4 } }
policies:
${policies.map((p) => `  - ${p}`).join('\n')}
`;
}
