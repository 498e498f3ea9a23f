import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { runScenario } from '../../src/sim/run.js';
import { referenceHits } from '../policies/reference.js';
import { ROOT } from '../helpers/cli.js';

const QUICKSTART = join(ROOT, 'scenarios/quickstart.yaml');
const GOLDEN = join(ROOT, 'test/golden/quickstart.json');

async function quickstart() {
  const { scenario, baseDir } = loadScenarioFile(QUICKSTART);
  return runScenario(scenario, { baseDir });
}

/** Access keys of the Mixtral trace in the documented replay order, parsed independently of src/trace. */
function mixtralKeysByHand(): number[] {
  const rows = readFileSync(join(ROOT, 'traces/mixtral-8x7b-instruct/humaneval-decode.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { problem_id: number; layer: number; token_idx: number; experts: number[] });
  const seqOrder: number[] = [];
  const routes = new Map<string, number[]>();
  let maxTok = new Map<number, number>();
  for (const r of rows) {
    if (!seqOrder.includes(r.problem_id)) seqOrder.push(r.problem_id);
    routes.set(`${r.problem_id}/${r.token_idx}/${r.layer}`, r.experts);
    maxTok.set(r.problem_id, Math.max(maxTok.get(r.problem_id) ?? 0, r.token_idx));
  }
  const keys: number[] = [];
  for (const p of seqOrder) {
    for (let t = 0; t <= maxTok.get(p)!; t++) {
      for (let l = 0; l < 32; l++) for (const e of routes.get(`${p}/${t}/${l}`) ?? []) keys.push(l * 8 + e);
    }
  }
  return keys;
}

describe('runScenario on the quick start', () => {
  it('counts hits exactly as an independent implementation of the documented semantics', async () => {
    const r = await quickstart();
    const keys = mixtralKeysByHand();
    for (const kind of ['lru', 'lfu', 'belady'] as const) {
      const m = r.results.find((p) => p.policy === kind)!.metrics;
      expect(m.accesses).toBe(keys.length);
      expect(m.hits, kind).toBe(referenceHits(keys, 8, 4, true, kind));
    }
  });

  it('bounds: belady >= online policies; all-on-gpu has no stall; none has no hits', async () => {
    const r = await quickstart();
    const by = Object.fromEntries(r.results.map((p) => [p.policy, p.metrics]));
    expect(by.belady.hits).toBeGreaterThanOrEqual(by.lru.hits);
    expect(by.belady.hits).toBeGreaterThanOrEqual(by.lfu.hits);
    expect(by['all-on-gpu'].stallMs).toBe(0);
    expect(by.none.hits).toBe(0);
    expect(by.none.bytesH2D).toBe(by.none.misses * (by.none.bytesH2D / by.none.misses));
    expect(by.lru.tpotMs).toBeLessThan(by.none.tpotMs);
    expect(by['all-on-gpu'].tpotMs).toBeLessThan(by.belady.tpotMs);
    // Missing routes in the recorded trace are reported, not invented.
    expect(r.warnings.join('\n')).toMatch(/routes missing/);
  });

  it('matches the golden result (UPDATE_GOLDEN=1 rewrites it after a deliberate model change)', async () => {
    const r = await quickstart();
    const got = JSON.parse(JSON.stringify({ results: r.results, warnings: r.warnings }));
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, JSON.stringify(got, null, 2) + '\n');
    expect(got).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')));
  });
});
