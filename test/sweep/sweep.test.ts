import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { sweep } from '../../src/sweep/sweep.js';
import { merge } from '../../src/sweep/merge.js';
import { readResultsFile, type PointRecord } from '../../src/sweep/results.js';

const MIXTRAL = join(ROOT, 'traces/mixtral-8x7b-instruct/humaneval-decode.jsonl');

/** A small sweep on the Mixtral trace: 3 cache sizes x 2 links = 6 points. */
function scenario(grid = `    policies[*].cache.perLayer: [1, 3, 5]\n    hardware.link.bandwidthGBps: [16, 64]\n`, extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'moesim-sweep-'));
  const file = join(dir, 'scenario.yaml');
  writeFileSync(
    file,
    `name: small-sweep
seed: 3
model: mixtral-8x7b
hardware: { preset: rtx-4090 }
precision: { experts: int4 }
trace: { path: ${JSON.stringify(MIXTRAL)} }
policies:
  - kind: none
  - kind: lru
    cache: { perLayer: 2 }
  - kind: belady
    cache: { perLayer: 2 }
timeline: { fromStep: 10, steps: 1 }
${extra}sweep:
  grid:
${grid}`,
  );
  return file;
}

const out = () => mkdtempSync(join(tmpdir(), 'moesim-out-'));
const byPoint = (records: PointRecord[]) => [...records].sort((a, b) => (a.point < b.point ? -1 : 1)).map((r) => JSON.stringify(r));
const recordsOf = (dir: string) => readResultsFile(join(dir, 'results.jsonl')).records;

describe('sweep()', () => {
  const file = scenario();

  it('runs every point on worker threads, the same as in this thread, point for point', async () => {
    const pooled = out();
    const inline = out();
    const a = await sweep({ scenarioFile: file, outDir: pooled, workers: 2 });
    const b = await sweep({ scenarioFile: file, outDir: inline, workers: 0 });
    expect([a.ran, a.resumed, a.totalPoints, a.workers, a.interrupted]).toEqual([6, 0, 6, 2, false]);
    expect(b.ran).toBe(6);
    expect(byPoint(recordsOf(pooled))).toEqual(byPoint(recordsOf(inline)));
    // Settled in grid order: the same sweep gives the same bytes.
    expect(readFileSync(join(pooled, 'results.jsonl'), 'utf8')).toBe(readFileSync(join(inline, 'results.jsonl'), 'utf8'));
    expect(readFileSync(join(pooled, 'results.csv'), 'utf8')).toBe(readFileSync(join(inline, 'results.csv'), 'utf8'));
    const recs = recordsOf(pooled);
    expect(recs.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    // Each point ran its own scenario: the values and the derived seed are in its result.
    const r3 = recs[3];
    expect(r3.assignments).toEqual({ 'policies[*].cache.perLayer': 3, 'hardware.link.bandwidthGBps': 64 });
    expect(r3.result!.scenario.seed).toBe(r3.seed);
    expect(r3.result!.results.map((p) => p.label)).toEqual(['none', 'lru, 3/layer', 'belady, 3/layer']);
    // The timeline is recorded at the first point only.
    expect(recs.map((r) => r.result!.results.some((p) => p.timeline !== undefined))).toEqual([true, false, false, false, false, false]);
  });

  it('n shards merged equal one unsharded run, point for point', async () => {
    const whole = out();
    await sweep({ scenarioFile: file, outDir: whole, workers: 2 });
    const parts = [0, 1, 2].map(() => out());
    for (let i = 0; i < 3; i++) {
      const s = await sweep({ scenarioFile: file, outDir: parts[i], workers: 1, shard: { index: i, count: 3 } });
      expect([s.shardPoints, s.ran]).toEqual([2, 2]);
    }
    const merged = out();
    const m = merge({ inputs: parts, outDir: merged });
    expect([m.points, m.totalPoints, m.missing]).toEqual([6, 6, []]);
    expect(byPoint(recordsOf(merged))).toEqual(byPoint(recordsOf(whole)));
    expect(readFileSync(join(merged, 'results.jsonl'), 'utf8')).toBe(readFileSync(join(whole, 'results.jsonl'), 'utf8'));
    expect(readFileSync(join(merged, 'results.csv'), 'utf8')).toBe(readFileSync(join(whole, 'results.csv'), 'utf8'));
    expect(JSON.parse(readFileSync(join(merged, 'sweep.json'), 'utf8')).shard).toBeUndefined();
    // Missing shards are reported.
    expect(merge({ inputs: [parts[0]], outDir: out() }).missing).toEqual([1, 2, 4, 5]);
  });

  it('resumes: finished points are skipped, the rest run', async () => {
    const dir = out();
    const first = await sweep({ scenarioFile: file, outDir: dir, workers: 0, shard: { index: 1, count: 2 } });
    expect(first.ran).toBe(3);
    const second = await sweep({ scenarioFile: file, outDir: dir, workers: 0 });
    expect([second.resumed, second.ran]).toEqual([3, 3]);
    const third = await sweep({ scenarioFile: file, outDir: dir, workers: 0 });
    expect([third.resumed, third.ran]).toEqual([6, 0]);
    const recs = recordsOf(dir);
    expect(recs.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('merge refuses shards of different sweeps; sweep refuses a folder of another sweep', async () => {
    const a = out();
    const b = out();
    await sweep({ scenarioFile: file, outDir: a, workers: 0, shard: { index: 0, count: 6 } });
    await sweep({ scenarioFile: scenario(`    hardware.link.bandwidthGBps: [8]\n`), outDir: b, workers: 0 });
    const target = out();
    expect(() => merge({ inputs: [a, b], outDir: target })).toThrow(/merge: the inputs come from different sweeps .*expected shards of one sweep/);
    expect(readResultsFile(join(target, 'results.jsonl')).records).toEqual([]);
    await expect(sweep({ scenarioFile: file, outDir: b, workers: 0 })).rejects.toThrow(/holds results of another sweep/);
  });

  it('a point that cannot run (model larger than the GPU) is recorded with its error; the others run', async () => {
    const f = scenario(`    hardware.gpu.memoryGiB: [24, 2]\n`);
    const dir = out();
    const s = await sweep({ scenarioFile: f, outDir: dir, workers: 0 });
    expect(s.failed).toEqual([{ index: 1, assignments: { 'hardware.gpu.memoryGiB': 2 }, error: expect.stringMatching(/more than the GPU's 2\.00 GiB/) }]);
    const recs = recordsOf(dir);
    expect(recs.map((r) => [r.index, r.result !== undefined, r.error !== undefined])).toEqual([
      [0, true, false],
      [1, false, true],
    ]);
    // Not retried on resume: it is a property of the point.
    expect((await sweep({ scenarioFile: f, outDir: dir, workers: 0 })).ran).toBe(0);
  });

  it('two sweeps never write to one folder at once', async () => {
    const dir = out();
    const first = sweep({ scenarioFile: file, outDir: dir, workers: 1 });
    await new Promise((r) => setTimeout(r, 50));
    await expect(sweep({ scenarioFile: file, outDir: dir, workers: 0 })).rejects.toThrow(/another sweep \(pid \d+ on .*\) is writing here/);
    expect((await first).ran).toBe(6);
  });

  it('checks every point before running any: an unknown preset stops the sweep with nothing written', async () => {
    const f = scenario(`    hardware.preset: [rtx-4090, rtx-4099]\n`);
    const dir = out();
    await expect(sweep({ scenarioFile: f, outDir: dir, workers: 0 })).rejects.toThrow(/sweep point 2 of 2 \(hardware\.preset=rtx-4099\): hardware\.preset: unknown hardware "rtx-4099"/);
    expect(readResultsFile(join(dir, 'results.jsonl')).records).toEqual([]);
  });
});
