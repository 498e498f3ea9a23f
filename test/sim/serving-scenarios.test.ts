import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import { comparisonTable } from '../../src/report/table.js';

describe('shipped serving scenarios', () => {
  it('serving.yaml serves 128 requests from the Mixtral trace, says the sequences are reused, and compares the schedulers', async () => {
    const { scenario, file, baseDir } = loadScenarioFile('scenarios/serving.yaml');
    const r = await runScenario(scenario, { baseDir, file });
    expect(r.results.map((p) => p.scheduler)).toEqual(['fifo', 'expertflow', 'expertflow', 'lookahead']);
    expect(r.workload?.reusedSequences).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/128 requests from a trace of 2 sequences: sequences are reused/);
    for (const p of r.results) expect(p.serving!.completed).toBe(128);
    const [f, e, ep, l] = r.results.map((p) => p.serving!);
    expect(e.distinctExpertsPerMicroBatch.decode).toBeLessThan(f.distinctExpertsPerMicroBatch.decode);
    expect(l.distinctExpertsPerMicroBatch.decode).toBeLessThan(f.distinctExpertsPerMicroBatch.decode);
    // With the path predictor (online, from each request's earlier tokens): fewer experts than fifo, more than with the near-truth.
    expect(ep.distinctExpertsPerMicroBatch.decode).toBeLessThan(f.distinctExpertsPerMicroBatch.decode);
    expect(ep.distinctExpertsPerMicroBatch.decode).toBeGreaterThan(e.distinctExpertsPerMicroBatch.decode);
    expect(r.results[2].schedulerPredictor).toMatchObject({ kind: 'path', training: { mode: 'online' } });
    const table = comparisonTable(r);
    expect(table).toMatch(/policy · scheduler\s+tok\/s/);
    expect(table).toMatch(/lru, 4\/layer · expertflow/);
    expect(table).toMatch(/lru, 4\/layer · expertflow \(path\)\s+path\s+online/);
    expect(table).toMatch(/TPOT p99 ms/);
    expect(table).toMatch(/experts\/µbatch/);
  });

  it('serving-synthetic.yaml reuses no sequence and streams its prefills', async () => {
    const { scenario, file, baseDir } = loadScenarioFile('scenarios/serving-synthetic.yaml');
    const r = await runScenario(scenario, { baseDir, file });
    expect(r.workload?.reusedSequences).toBe(false);
    for (const p of r.results) {
      expect(p.serving!.twinTokenPct).toBe(0);
      expect(p.serving!.streamedExperts).toBeGreaterThan(0);
    }
  });
});
