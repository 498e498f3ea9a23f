/** missingLayers: recorded — the recorded layers simulated, the others' time folded into the costs. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import type { Costs } from '../../src/timing/costs.js';
import { recordedLayersCosts } from '../../src/timing/recorded-layers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..').replace(/\/dist$/, '');

/** Round numbers: MoE layer o's non-expert work 1 + o s, an expert over t tokens 10 t s, the tail 100 s. */
const fake = {
  expertBytes: 1,
  linkOverlapsCompute: true,
  expertSec: (t: number) => 10 * t,
  preExpertSec: (o: number, _tokens: number, _context: number) => 1 + o,
  tailSec: (_tokens: number, _context: number, _outputs: number) => 100,
  h2dSec: () => 0,
  cpuRoundTripSec: () => 0,
  cpuExpertSec: () => 0,
  activationBytes: () => 0,
  lowBitExpertBytes: 1,
  lowBitExpertSec: () => 0,
} satisfies Costs;

describe('recordedLayersCosts', () => {
  it('charges the unrecorded layers before each recorded one and after the last (pinned on round numbers)', () => {
    // MoE ordinals 1 and 3 recorded of 5; top-2 over 4 experts
    const c = recordedLayersCosts(fake, [1, 3], 5, 2, 4);
    // 1 token: 2 routes on 2 experts, 2 x expertSec(1) = 20 s per unrecorded layer
    expect(c.preExpertSec(0, 1, 0)).toBe(2 + (1 + 20)); // ordinal 1, plus unrecorded 0
    expect(c.preExpertSec(1, 1, 0)).toBe(4 + (3 + 20)); // ordinal 3, plus unrecorded 2
    expect(c.tailSec(1, 0, 1)).toBe(100 + (5 + 20)); // plus unrecorded 4
    // 3 tokens: 6 routes on all 4 experts, 4 x expertSec(1.5) = 60 s
    expect(c.preExpertSec(0, 3, 0)).toBe(2 + (1 + 60));
    // everything else is the wrapped costs'
    expect(c.expertSec(2)).toBe(20);
    expect(c.expertBytes).toBe(1);
  });

  it('on the vLLM-MoE-Logger layers 0 and 8 with every expert on the GPU, decode time equals the filled 24-layer run', async () => {
    const { scenario, baseDir } = loadScenarioFile(join(root, 'scenarios/vllm-moe-logger.yaml'));
    const policies = scenario.policies.filter((p) => p.kind === 'all-on-gpu');
    const run = (missingLayers: 'fill' | 'recorded') => runScenario({ ...scenario, policies, trace: { ...scenario.trace, missingLayers } as typeof scenario.trace }, { baseDir });
    const filled = await run('fill');
    const recorded = await run('recorded');
    // batch 1 decode: a filled layer's 4 distinct experts of 1 token each is exactly the assumption
    expect(recorded.results[0].metrics.tokensPerSec).toBeCloseTo(filled.results[0].metrics.tokensPerSec, 6);
    expect(recorded.warnings.join('\n')).toMatch(/records 2 of 24 MoE layers \(layers 0, 8\); only those are simulated/);
  });
});
