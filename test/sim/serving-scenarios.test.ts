import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import { comparisonTable } from '../../src/report/table.js';

describe('shipped serving scenarios', () => {
  it('serving.yaml serves 128 requests from the Mixtral trace, says the sequences are reused, and compares the three schedulers', async () => {
    const { scenario, file, baseDir } = loadScenarioFile('scenarios/serving.yaml');
    const r = await runScenario(scenario, { baseDir, file });
    expect(r.results.map((p) => p.scheduler)).toEqual(['fifo', 'expertflow', 'lookahead']);
    expect(r.workload?.reusedSequences).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/128 requests from a trace of 2 sequences: sequences are reused/);
    for (const p of r.results) expect(p.serving!.completed).toBe(128);
    const [f, e, l] = r.results.map((p) => p.serving!);
    expect(e.distinctExpertsPerMicroBatch.decode).toBeLessThan(f.distinctExpertsPerMicroBatch.decode);
    expect(l.distinctExpertsPerMicroBatch.decode).toBeLessThan(f.distinctExpertsPerMicroBatch.decode);
    const table = comparisonTable(r);
    expect(table).toMatch(/policy · scheduler\s+tok\/s/);
    expect(table).toMatch(/lru, 4\/layer · expertflow/);
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
