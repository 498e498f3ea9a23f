/**
 * The published claims of ExFlow and MoETuner, checked loosely: the direction of each effect on
 * moesim's shipped Mixtral trace, not the papers' magnitudes (ExFlow's setup could not be read;
 * MoETuner's is modelled as far as a third-party summary of its body states it, without its batches or
 * datasets; README "Published claims beside these" sets the figures side by side).
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

  test("MoETuner's setups as its body's summary states them (parallel-moetuner-1node/2node.yaml): against Megatron-LM's contiguous placement, a lighter busiest GPU, a shorter all-to-all and a shorter step at 4,056 tokens, by the README's figures", async () => {
    const rows: string[][] = [];
    for (const f of ['parallel-moetuner-1node.yaml', 'parallel-moetuner-2node.yaml']) {
      const { raw, baseDir, file } = loadScenarioFile(join(ROOT, 'scenarios', f));
      const rawP = raw as Record<string, Record<string, unknown>>;
      const sc = parseScenario({ ...rawP, parallel: { ...rawP.parallel, placements: [{ kind: 'contiguous' }, { kind: 'moetuner', program: 'per-layer' }, { kind: 'moetuner', program: 'two-stage', relGap: 0.025 }] } }, file);
      const r = await runParallelScenario(sc, { baseDir, file });
      expect(r.batchTokens).toBe(4056);
      const [c, m, two] = r.runs;
      expect(m.meanImbalance).toBeLessThan(c.meanImbalance);
      expect(m.collectiveSec).toBeLessThan(c.collectiveSec);
      expect(m.tpotMeanMs).toBeLessThan(c.tpotMeanMs);
      rows.push([c.tpotMeanMs.toFixed(3), m.tpotMeanMs.toFixed(3), c.meanImbalance.toFixed(3), m.meanImbalance.toFixed(3), two.tpotMeanMs.toFixed(3)]);
    }
    // README "MoETuner's setups": +0.91% and +0.96% (its two programs, two-stage: +1.38% and +0.94%), where MoETuner reports 9.3% and 17.5%.
    expect(rows).toEqual([
      ['37.746', '37.406', '1.304', '1.291', '37.232'],
      ['48.453', '47.993', '1.305', '1.292', '48.000'],
    ]);
  }, 120_000);
});
