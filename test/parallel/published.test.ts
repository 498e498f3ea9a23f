/**
 * The published claims of ExFlow and MoETuner, checked loosely: the direction of each effect on
 * moesim's shipped Mixtral trace, not the papers' magnitudes (their models, clusters and batches are
 * not modelled; README "Published claims beside these" sets the figures side by side).
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { runParallelScenario } from '../../src/parallel/run.js';

const ROOT = join(import.meta.dirname, '../..');

describe('published claims, direction only', () => {
  test('ExFlow (arXiv 2401.08383): the affinity placement cuts cross-GPU routes, and context-coherent EP moves fewer bytes than two all-to-alls', async () => {
    const { scenario, baseDir, file, raw } = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-exflow.yaml'));
    const r = await runParallelScenario(scenario, { baseDir, file });
    const by = (k: string) => r.runs.find((x) => x.placement === k)!;
    // "up to 67% of tokens' cross-GPU routing latency" removed: here the share of routes changing GPU falls.
    expect(by('exflow').crossFraction).toBeLessThan(by('round-robin').crossFraction);
    expect(by('moetuner').crossFraction).toBeLessThan(by('round-robin').crossFraction);
    // ExFlow's own cost (its repo's calculate_cost: top-1 GPU changes per token over L - 1 transitions) falls too.
    expect(by('exflow').top1Hops!).toBeLessThan(by('round-robin').top1Hops!);
    // One all-to-all per layer instead of two: the same placement on data-parallel attention moves more bytes.
    const rawP = raw as Record<string, Record<string, unknown>>;
    const data = parseScenario({ ...rawP, parallel: { ...rawP.parallel, attention: 'data', placements: [{ kind: 'round-robin' }] } }, file);
    const d = await runParallelScenario(data, { baseDir, file });
    expect(by('round-robin').collectiveBytes).toBeLessThan(d.runs[0].collectiveBytes);
  }, 120_000);

  test('MoETuner (arXiv 2502.06643), "reduced tail latency": its placement serves with a lower TTFT p99 than round-robin; its TPOT stays within 9.3% of round-robin (README: the speedup is not reproduced)', async () => {
    const { scenario, baseDir, file } = loadScenarioFile(join(ROOT, 'scenarios/parallel-mixtral-serving.yaml'));
    const r = await runParallelScenario(scenario, { baseDir, file });
    const by = (k: string) => r.runs.find((x) => x.placement === k)!.serving!;
    expect(by('moetuner').ttftMs.p99).toBeLessThan(by('round-robin').ttftMs.p99);
    // Its end-to-end speedups (9.3% single node, 17.5% multi-node) are not reproduced: the step time moves < 1% here (README).
    expect(Math.abs(by('moetuner').tpotMs.mean / by('round-robin').tpotMs.mean - 1)).toBeLessThan(0.093);
  }, 120_000);
});
