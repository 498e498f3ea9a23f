import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse } from 'yaml';
import { scenarioSchema } from '../../src/scenario/schema.js';
import { parsePath, resolvePath } from '../../src/sweep/path.js';
import { combinations, expandSweep, parseSetOption, parseShard, planGrid, pointId, pointSeed, shardIndices, shardOf, shardSize, type SweepDefinition } from '../../src/sweep/expand.js';

const base = () => ({
  name: 't',
  seed: 7,
  model: 'mixtral-8x7b',
  hardware: 'rtx-4090',
  precision: { experts: 'int4' },
  trace: { path: 'trace.jsonl' },
  policies: [{ kind: 'none' }, { kind: 'lru', cache: { perLayer: 2 } }, { kind: 'belady', cache: { perLayer: 2 } }],
});

const grid = (g: Record<string, unknown[]>, mode: 'cartesian' | 'zip' = 'cartesian') => ({ ...base(), sweep: { mode, grid: g } });

describe('sweep paths', () => {
  it('parses dotted paths with [index] and [*]', () => {
    expect(parsePath('policies[*].cache.perLayer')).toEqual(['policies', '*', 'cache', 'perLayer']);
    expect(parsePath('policies[2].cache')).toEqual(['policies', 2, 'cache']);
    expect(parsePath('hardware.link.bandwidthGBps')).toEqual(['hardware', 'link', 'bandwidthGBps']);
    for (const bad of ['', 'a..b', '[0]', 'a.', 'a[x]', 'a[0]b']) expect(() => parsePath(bad), bad).toThrow(/expected field names/);
  });

  it('[*] fans out to the elements that have the field (a none policy has no cache)', () => {
    expect(resolvePath(scenarioSchema, base(), 'policies[*].cache.perLayer', 3)).toEqual([
      ['policies', 1, 'cache', 'perLayer'],
      ['policies', 2, 'cache', 'perLayer'],
    ]);
  });

  it('tells an optional field not set from a typo', () => {
    // Not in the scenario, but fields of the schema: fine.
    expect(resolvePath(scenarioSchema, base(), 'workload.batchSize', 2)).toEqual([['workload', 'batchSize']]);
    expect(resolvePath(scenarioSchema, base(), 'timeline.steps', 2)).toEqual([['timeline', 'steps']]);
    expect(resolvePath(scenarioSchema, base(), 'hardware.link.bandwidthGBps', 16)).toEqual([['hardware', 'link', 'bandwidthGBps']]);
    // Typos, with the place and a suggestion.
    expect(() => resolvePath(scenarioSchema, base(), 'workload.batchSzie', 2)).toThrow(/names no field: workload: unknown field "batchSzie"; did you mean "batchSize"/);
    expect(() => resolvePath(scenarioSchema, base(), 'policies[*].cache.perLayr', 2)).toThrow(/policies\[1\]\.cache: unknown field "perLayr"; did you mean "perLayer"/);
    expect(() => resolvePath(scenarioSchema, base(), 'hardware.lnk.bandwidthGBps', 2)).toThrow(/hardware: unknown key "lnk"; did you mean "link"/);
    expect(() => resolvePath(scenarioSchema, base(), 'policies[0].cache.perLayer', 2)).toThrow(/policies\[0\] \(kind none\): unknown field "cache"/);
    expect(() => resolvePath(scenarioSchema, base(), 'policies[5].cache', 2)).toThrow(/policies has 3 elements/);
    expect(() => resolvePath(scenarioSchema, base(), 'name.first', 2)).toThrow(/name is a string/);
    expect(() => resolvePath(scenarioSchema, base(), 'trace.pth', 'x')).toThrow(/trace: unknown key "pth"/);
  });
});

describe('expandSweep', () => {
  it('cartesian: every combination, the first path slowest; zip: i-th values together', () => {
    const c = expandSweep(grid({ 'policies[*].cache.perLayer': [1, 2, 3], 'hardware.link.bandwidthGBps': [16, 64] }));
    expect(c.points.map((p) => Object.values(p.assignments))).toEqual([
      [1, 16], [1, 64], [2, 16], [2, 64], [3, 16], [3, 64],
    ]);
    const z = expandSweep(grid({ 'policies[*].cache.perLayer': [1, 2, 3], 'workload.batchSize': [1, 2, 4] }, 'zip'));
    expect(z.points.map((p) => Object.values(p.assignments))).toEqual([[1, 1], [2, 2], [3, 4]]);
    // The point scenario: values written where the path says; a preset name became { preset }.
    const p = c.points[3].raw as ReturnType<typeof base> & { hardware: unknown; policies: Array<{ cache?: unknown }> };
    expect(p.hardware).toEqual({ preset: 'rtx-4090', link: { bandwidthGBps: 64 } });
    expect(p.policies.map((x) => x.cache)).toEqual([undefined, { perLayer: 2 }, { perLayer: 2 }]);
    expect('sweep' in p).toBe(false);
    expect(p.seed).toBe(c.points[3].seed);
  });

  it("a point's id and seed depend on the scenario and the point only, not on the other points or their order", () => {
    const all = expandSweep(grid({ 'policies[*].cache.perLayer': [1, 2, 3], 'hardware.link.bandwidthGBps': [16, 32, 64] }));
    const some = expandSweep(grid({ 'policies[*].cache.perLayer': [3, 2], 'hardware.link.bandwidthGBps': [64] }));
    for (const p of some.points) {
      const same = all.points.find((q) => JSON.stringify(q.assignments) === JSON.stringify(p.assignments))!;
      expect([p.id, p.seed, JSON.stringify(p.raw)]).toEqual([same.id, same.seed, JSON.stringify(same.raw)]);
    }
    expect(new Set(all.points.map((p) => p.seed)).size).toBe(all.points.length);
    expect(all.id).not.toBe(some.id);
    // Another scenario seed gives other point seeds.
    const reseeded = expandSweep({ ...grid({ 'policies[*].cache.perLayer': [3] }), seed: 8 });
    expect(reseeded.points[0].seed).not.toBe(expandSweep(grid({ 'policies[*].cache.perLayer': [3] })).points[0].seed);
  });

  it('rejects bad sweeps before anything runs, naming the path or the point', () => {
    expect(() => expandSweep(grid({}))).toThrow(/sweep\.grid: expected at least one path/);
    expect(() => expandSweep(grid({ 'workload.batchSize': [] }))).toThrow(/sweep\.grid\.workload\.batchSize: expected a non-empty list/);
    expect(() => expandSweep(base())).toThrow(/no sweep: expected a sweep: block/);
    expect(() => expandSweep(grid({ 'workload.batchSzie': [1, 2] }))).toThrow(/sweep path workload\.batchSzie names no field/);
    expect(() => expandSweep(grid({ 'hardware.link.bandwidthGBps': [16, 'fast'] }))).toThrow(
      /sweep point 2 of 2 \(hardware\.link\.bandwidthGBps=fast\): hardware\.link\.bandwidthGBps: expected a positive number, got "fast"/,
    );
    expect(() => expandSweep(grid({ 'policies[*].cache.perLayer': [2, -1] }))).toThrow(/sweep point 2 of 2 .*policies\[1\]\.cache\.perLayer/);
    expect(() => expandSweep(grid({ 'workload.batchSize': [1, 2], 'workload.promptTokens': [0] }, 'zip'))).toThrow(/zip mode needs lists of one length/);
    expect(() => expandSweep(grid({ 'workload.batchSize': [1, 1] }))).toThrow(/repeats point 1/);
    expect(() => expandSweep({ ...grid({ 'workload.batchSize': [1] }), sweep: { grid: { 'workload.batchSize': [1] }, mode: 'diagonal' } })).toThrow(/sweep\.mode/);
  });

  it('--set entries replace or extend the grid; values are YAML scalars', () => {
    expect(parseSetOption('hardware.link.bandwidthGBps=16,32', parse)).toEqual({ path: 'hardware.link.bandwidthGBps', values: [16, 32] });
    expect(parseSetOption('hardware.preset=rtx-4090,h100-sxm', parse).values).toEqual(['rtx-4090', 'h100-sxm']);
    expect(parseSetOption('policies[1].cache=[{perLayer: 2}, {gib: 4}]', parse).values).toEqual([{ perLayer: 2 }, { gib: 4 }]);
    expect(() => parseSetOption('nothing', parse)).toThrow(/--set: expected path=v1,v2/);
    // A comma inside a flow mapping, a nested list or quotes does not separate values.
    expect(parseSetOption('hardware={preset: rtx-4090, gpu: {memoryGiB: 20}}', parse).values).toEqual([{ preset: 'rtx-4090', gpu: { memoryGiB: 20 } }]);
    expect(parseSetOption('policies[1].cache={perLayer: 2},{gib: 4, hbm: false}', parse).values).toEqual([{ perLayer: 2 }, { gib: 4, hbm: false }]);
    expect(parseSetOption('policies[0].profile={a: [1, 2]}', parse).values).toEqual([{ a: [1, 2] }]);
    expect(parseSetOption('name="a,b",c', parse).values).toEqual(['a,b', 'c']);
    // an apostrophe inside a plain value opens no quote (YAML quotes only at a value's start)
    expect(parseSetOption("policies[0].label=Belady's,LRU's", parse).values).toEqual(["Belady's", "LRU's"]);
    expect(parseSetOption("name='a,b', 'c'", parse).values).toEqual(['a,b', 'c']);
    expect(parseSetOption("p={label: Bob's, k: 'x,y'},{k: 2}", parse).values).toEqual([{ label: "Bob's", k: 'x,y' }, { k: 2 }]);
    const s = expandSweep(grid({ 'workload.batchSize': [1, 2] }), { set: [{ path: 'workload.batchSize', values: [4] }, { path: 'hardware.link.bandwidthGBps', values: [8, 16] }] });
    expect(s.points.map((p) => p.assignments)).toEqual([
      { 'workload.batchSize': 4, 'hardware.link.bandwidthGBps': 8 },
      { 'workload.batchSize': 4, 'hardware.link.bandwidthGBps': 16 },
    ]);
  });

  it('records the timeline at one point unless asked for all', () => {
    const withTimeline = (t: unknown) => ({ ...grid({ 'policies[*].cache.perLayer': [1, 2, 3] }), timeline: { fromStep: 0, steps: 1 }, sweep: { grid: { 'policies[*].cache.perLayer': [1, 2, 3] }, timeline: t } });
    const has = (t: unknown) => expandSweep(withTimeline(t)).points.map((p) => 'timeline' in p.raw);
    expect(has(undefined)).toEqual([true, false, false]);
    expect(has('all')).toEqual([true, true, true]);
    expect(has({ 'policies[*].cache.perLayer': 2 })).toEqual([false, true, false]);
    expect(() => has({ 'policies[*].cache.perLayer': 9 })).toThrow(/sweep\.timeline: no point has/);
    expect(() => has({ 'workload.batchSize': 1 })).toThrow(/is not a swept path/);
  });
});

describe('shards', () => {
  it('parses i/n', () => {
    expect(parseShard('2/8')).toEqual({ index: 2, count: 8 });
    for (const bad of ['8/8', '1', '-1/2', 'a/b', '0/0']) expect(() => parseShard(bad), bad).toThrow(/--shard: expected i\/n/);
  });

  it('n shards partition the points: disjoint, complete, deterministic', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 9 }), (n, count) => {
        const points = Array.from({ length: n }, (_, index) => ({ index }));
        const parts = Array.from({ length: count }, (_, index) => shardOf(points, { index, count }).map((p) => p.index));
        const flat = parts.flat().sort((a, b) => a - b);
        expect(flat).toEqual(points.map((p) => p.index));
        expect(parts).toEqual(Array.from({ length: count }, (_, index) => shardOf(points, { index, count }).map((p) => p.index)));
      }),
    );
  });

  it('cartesian size is the product of the list lengths', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), (lens) => {
        const def: SweepDefinition = { mode: 'cartesian', timeline: 'first', grid: lens.map((n, i) => ({ path: `p${i}`, values: Array.from({ length: n }, (_, k) => k) })) };
        expect(combinations(def)).toHaveLength(lens.reduce((a, b) => a * b, 1));
      }),
    );
  });
});

describe('planGrid: a grid planned without expanding it', () => {
  const paths = ['hardware.link.bandwidthGBps', 'policies[*].cache.perLayer', 'workload.batchSize'];
  const brute = (g: Record<string, unknown[]>, mode: 'cartesian' | 'zip') => {
    const def: SweepDefinition = { mode, timeline: 'first', grid: Object.entries(g).map(([path, values]) => ({ path, values })) };
    return combinations(def).map((values) => Object.fromEntries(Object.keys(g).map((p, k) => [p, values[k]])));
  };

  it('point i, its id and seed, equal the brute-force expansion (cartesian and zip), and shards cover it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom<'cartesian' | 'zip'>('cartesian', 'zip'),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 1, max: 4 }),
        (axes, mode, lens, count) => {
          const g: Record<string, unknown[]> = {};
          for (let k = 0; k < axes; k++) {
            const n = mode === 'zip' ? lens[0] : lens[k];
            g[paths[k]] = Array.from({ length: n }, (_, j) => j + 1);
          }
          const plan = planGrid(grid(g, mode));
          const all = brute(g, mode);
          expect(plan.size).toBe(all.length);
          all.forEach((assignments, i) => {
            const id = plan.identity(i);
            expect(id.assignments).toEqual(assignments);
            expect(id.id).toBe(pointId(plan.base, assignments));
            expect(id.seed).toBe(pointSeed(7, assignments));
            expect(plan.point(i).id).toBe(id.id);
          });
          expect(expandSweep(grid(g, mode)).points.map((p) => p.id)).toEqual(all.map((a) => pointId(plan.base, a)));
          const parts = Array.from({ length: count }, (_, index) => [...shardIndices(plan.size, { index, count })]);
          parts.forEach((p, index) => expect(p.length).toBe(shardSize(plan.size, { index, count })));
          expect(parts.flat().sort((a, b) => a - b)).toEqual(all.map((_, i) => i));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a repeated value is found from the axes, naming the first repeating point as the expansion would', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }), (a, b) => {
        const g = { 'hardware.link.bandwidthGBps': a, 'workload.batchSize': b };
        const all = brute(g, 'cartesian').map((x) => JSON.stringify(x));
        const first = all.findIndex((x, i) => all.indexOf(x) < i);
        if (first < 0) expect(() => planGrid(grid(g))).not.toThrow();
        else expect(() => planGrid(grid(g))).toThrow(new RegExp(`sweep point ${first + 1} of ${all.length} .* repeats point ${all.indexOf(all[first]) + 1};`));
      }),
      { numRuns: 60 },
    );
  });

  it('the timeline point is the first matching one in grid order', () => {
    const g = { 'hardware.link.bandwidthGBps': [8, 16, 32], 'workload.batchSize': [1, 2, 4], seed: [1, 2] };
    const plan = planGrid({ ...grid(g), timeline: { steps: 4 }, sweep: { grid: g, timeline: { 'workload.batchSize': 4, seed: 2 } } });
    const all = brute(g, 'cartesian');
    const want = all.findIndex((x) => x['workload.batchSize'] === 4 && x.seed === 2);
    all.forEach((_, i) => expect(plan.point(i).raw.timeline !== undefined, `point ${i}`).toBe(i === want));
  });

  it('a 100,000-point grid: planned from its axes (values checked, not points), any point built on demand', () => {
    const g = { 'hardware.link.bandwidthGBps': Array.from({ length: 250 }, (_, i) => i + 1), seed: Array.from({ length: 400 }, (_, i) => i) };
    const plan = planGrid(grid(g));
    expect(plan.size).toBe(100_000);
    expect(plan.allChecked).toBe(false);
    expect(plan.checked.length).toBe(250 + 400 - 1); // the first point of every value, point 0 once
    const last = plan.point(99_999);
    expect(last.assignments).toEqual({ 'hardware.link.bandwidthGBps': 250, seed: 399 });
    expect(last.seed).toBe(pointSeed(399, last.assignments));
    // every value checked up front: a bad one is refused before anything runs, naming its first point
    const bad = { ...g, 'hardware.link.bandwidthGBps': [...g['hardware.link.bandwidthGBps'].slice(0, 249), -1] };
    expect(() => planGrid(grid(bad))).toThrow(/sweep point 99601 of 100000 \(hardware\.link\.bandwidthGBps=-1, seed=0\): hardware\.link\.bandwidthGBps/);
  });
});
