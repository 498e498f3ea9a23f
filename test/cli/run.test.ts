import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moesim, ROOT } from '../helpers/cli.js';

const MIXTRAL = join(ROOT, 'traces/mixtral-8x7b-instruct/humaneval-decode.jsonl');

function scenarioFile(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'moesim-'));
  const f = join(dir, 'scenario.yaml');
  writeFileSync(f, yaml);
  return f;
}

const base = (over: Record<string, string> = {}) => {
  const parts: Record<string, string> = {
    name: 'name: t',
    model: 'model: mixtral-8x7b',
    hardware: 'hardware: rtx-4090',
    precision: 'precision: { experts: int4 }',
    trace: `trace: { path: ${JSON.stringify(MIXTRAL)} }`,
    policies: 'policies: [{ kind: lru, cache: { perLayer: 2 } }]',
    ...over,
  };
  return Object.values(parts).join('\n') + '\n';
};

function expectInputError(r: ReturnType<typeof moesim>, pattern: RegExp) {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^moesim: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.stdout).toBe('');
}

describe('moesim run', () => {
  it('prints the comparison of the quick start', () => {
    const r = moesim(['run', 'scenarios/quickstart.yaml', '--no-report']);
    expect(r.code, r.stderr).toBe(0);
    for (const p of ['none', 'static, 4/layer', 'lru, 4/layer', 'lfu, 4/layer', 'belady, 4/layer', 'all-on-gpu']) expect(r.stdout).toContain(p);
    expect(r.stdout).toMatch(/hit rate/);
  });

  it('--json prints one JSON document with the documented fields, byte-identical across runs', () => {
    const a = moesim(['run', 'scenarios/quickstart.yaml', '--json', '--no-report']);
    const b = moesim(['run', 'scenarios/quickstart.yaml', '--json', '--no-report']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const doc = JSON.parse(a.stdout);
    expect(doc.results.map((r: { policy: string }) => r.policy)).toEqual(['none', 'static', 'lru', 'lfu', 'belady', 'all-on-gpu']);
    for (const r of doc.results) {
      for (const k of ['accesses', 'hits', 'misses', 'hitRate', 'bytesH2D', 'stallMs', 'ttftMs', 'tpotMs', 'tokensPerSec', 'gpuMemoryBytes']) {
        expect(typeof r.metrics[k], k).toBe('number');
      }
      expect(r.metrics.hits + r.metrics.misses).toBe(r.metrics.accesses);
      expect(typeof r.label).toBe('string');
    }
  });

  it('--out writes the same document to a file', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'moesim-')), 'r.json');
    const r = moesim(['run', 'scenarios/quickstart.yaml', '--json', '--no-report', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(r.stdout);
  });
});

describe('bad input: one line, exit 2, no stack, nothing written', () => {
  it('unknown preset suggests the nearest names', () => {
    expectInputError(moesim(['run', scenarioFile(base({ hardware: 'hardware: rtx-4099' }))]), /hardware.*"rtx-4099".*rtx-4090/);
    expectInputError(moesim(['run', scenarioFile(base({ model: 'model: mixtral-8x8b' }))]), /model.*mixtral-8x7b/);
  });

  it('zero or negative bandwidth names the field', () => {
    expectInputError(moesim(['run', scenarioFile(base({ hardware: 'hardware: { preset: rtx-4090, link: { bandwidthGBps: 0 } }' }))]), /hardware\.link\.bandwidthGBps/);
    expectInputError(moesim(['run', scenarioFile(base({ hardware: 'hardware: { preset: rtx-4090, link: { bandwidthGBps: -3 } }' }))]), /hardware\.link\.bandwidthGBps/);
  });

  it('a cache larger than HBM', () => {
    expectInputError(moesim(['run', scenarioFile(base({ policies: 'policies: [{ kind: lru, cache: { experts: 250 } }]' }))]), /policies\[0\]\.cache: .*exceed the GPU/);
  });

  it('unknown fields and wrong types name the path', () => {
    expectInputError(moesim(['run', scenarioFile(base({ policies: 'policies: [{ kind: lru, cache: { perLayer: -1 } }]' }))]), /policies\[0\]\.cache\.perLayer/);
    expectInputError(moesim(['run', scenarioFile(base() + 'colour: blue\n')]), /unknown field "colour"/);
    expectInputError(moesim(['run', scenarioFile(base({ policies: 'policies: [{ kind: lruu, cache: { perLayer: 1 } }]' }))]), /policies\[0\]\.kind/);
  });

  it('a truncated JSON line names the file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moesim-'));
    const lines = readFileSync(MIXTRAL, 'utf8').split('\n').slice(0, 40);
    lines[17] = lines[17].slice(0, 30);
    writeFileSync(join(dir, 'cut.jsonl'), lines.join('\n'));
    expectInputError(moesim(['run', scenarioFile(base({ trace: `trace: { path: ${JSON.stringify(join(dir, 'cut.jsonl'))} }` }))]), /cut\.jsonl:18/);
  });

  it('an expert id beyond the model and a layer out of range', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moesim-'));
    const rows = readFileSync(MIXTRAL, 'utf8').split('\n').filter(Boolean);
    const bad = rows.map((l, i) => (i === 5 ? l.replace(/"experts": \[\d+/, '"experts": [9') : l));
    writeFileSync(join(dir, 'e.jsonl'), bad.join('\n') + '\n');
    expectInputError(moesim(['run', scenarioFile(base({ trace: `trace: { path: ${JSON.stringify(join(dir, 'e.jsonl'))} }` }))]), /e\.jsonl:6: "experts"\[0\]: expert id 9 is beyond the scenario's model, which has experts 0\.\.7/);
    const badLayer = rows.map((l, i) => (i === 3 ? l.replace(/"layer": \d+/, '"layer": 40') : l));
    writeFileSync(join(dir, 'l.jsonl'), badLayer.join('\n') + '\n');
    expectInputError(moesim(['run', scenarioFile(base({ trace: `trace: { path: ${JSON.stringify(join(dir, 'l.jsonl'))} }` }))]), /layer|MoE layers/);
  });

  it('prefetching in a serving workload is refused before anything runs', () => {
    const yaml = base({
      policies: 'policies: [{ kind: lru, cache: { perLayer: 4 }, prefetch: { kind: expertflow } }]',
    }) + 'workload: { kind: serving, requests: 4, arrivals: { kind: poisson, ratePerSec: 1 }, schedulers: [{ kind: fifo }] }\n';
    expectInputError(moesim(['run', scenarioFile(yaml)]), /policies\[0\]\.prefetch: prefetching is not supported with serving workloads/);
  });

  it('a missing scenario file', () => {
    expectInputError(moesim(['run', '/nonexistent/s.yaml']), /\/nonexistent\/s.yaml: cannot read/);
  });

  it('--out is not written when the run fails', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'moesim-')), 'r.json');
    const r = moesim(['run', scenarioFile(base({ hardware: 'hardware: nope' })), '--out', out]);
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});

describe('moesim presets', () => {
  it('lists hardware, models and policies with sources', () => {
    const r = moesim(['presets']);
    expect(r.code).toBe(0);
    for (const s of ['h100-sxm', 'rtx-4090', 'mixtral-8x7b', 'deepseek-v3', 'belady', 'pregated', 'activation-matrix', 'low-precision', 'lookahead', 'Sources:', 'huggingface.co', 'mixtral-offloading', 'ktransformers', 'eager-pytorch', 'hqq-2bit', 'dvmazur/mixtral-offloading@0d3c605']) expect(r.stdout).toContain(s);
  });
});

describe('run progress on stderr (not a terminal: plain lines)', () => {
  const synthetic = (tokensPerSequence: number) =>
    base({
      trace: `trace: { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 10, tokensPerSequence: ${tokensPerSequence}, popularity: { kind: uniform } } }`,
      policies: 'policies: [{ kind: none }, { kind: lru, cache: { perLayer: 2 } }, { kind: lfu, cache: { perLayer: 2 } }]',
    });

  it('a long run prints plain progress lines on stderr, counting every policy\'s tokens', () => {
    // MOESIM_PROGRESS_DELAY_MS=0 stands for "the run has taken longer than the delay" without a clock.
    const f = scenarioFile(synthetic(1700));
    const r = moesim(['run', f, '--no-report'], { env: { MOESIM_PROGRESS_DELAY_MS: '0' } });
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe('run: 51.0 k of 51.0 k tokens to run');
    expect(lines.at(-1)).toMatch(/^run: 51\.0 k\/51\.0 k tokens \(100%\), [\d.]+ (k )?tokens\/s, elapsed \d+s, ETA 0s$/);
    expect(r.stderr).not.toMatch(/\u001b/);
  });

  it('a short run prints no progress (default delay)', () => {
    const f = scenarioFile(synthetic(20));
    const r = moesim(['run', f, '--no-report'], { env: { MOESIM_PROGRESS_DELAY_MS: undefined } });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('stdout and --out are byte-identical with and without progress', () => {
    const f = scenarioFile(synthetic(1700));
    const dir = mkdtempSync(join(tmpdir(), 'moesim-progress-'));
    const on = moesim(['run', f, '--json', '--no-report', '--out', join(dir, 'on.json')], { env: { MOESIM_PROGRESS_DELAY_MS: '0' } });
    const off = moesim(['run', f, '--json', '--no-report', '--out', join(dir, 'off.json')], { env: { MOESIM_PROGRESS_DELAY_MS: 'off' } });
    expect(on.code).toBe(0);
    expect(off.code).toBe(0);
    expect(on.stderr).toMatch(/^run: /);
    expect(off.stderr).toBe('');
    expect(on.stdout).toBe(off.stdout);
    expect(readFileSync(join(dir, 'on.json'), 'utf8')).toBe(readFileSync(join(dir, 'off.json'), 'utf8'));
  });
});

describe('trace stats / convert progress', () => {
  it('names each stage on stderr once the delay has passed, and leaves stdout as without', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'moesim-progress-')), 't.moesim');
    const on = moesim(['trace', 'stats', MIXTRAL], { env: { MOESIM_PROGRESS_DELAY_MS: '0' } });
    const off = moesim(['trace', 'stats', MIXTRAL], { env: { MOESIM_PROGRESS_DELAY_MS: 'off' } });
    expect(on.code).toBe(0);
    expect(on.stdout).toBe(off.stdout);
    expect(on.stderr).toMatch(/^trace stats: reading humaneval-decode\.jsonl \([\d.]+ MB\) \(stage 1 of 2, elapsed \d+s\)\ntrace stats: computing statistics \(stage 2 of 2, elapsed \d+s\)\ntrace stats: done in \d+s\n$/);
    expect(off.stderr).toBe('');
    const c = moesim(['trace', 'convert', MIXTRAL, '-o', out], { env: { MOESIM_PROGRESS_DELAY_MS: '0' } });
    expect(c.code).toBe(0);
    expect(c.stderr).toMatch(/trace convert: writing t\.moesim \(stage 2 of 2/);
    expect(c.stdout).toMatch(/^wrote /);
  });
});
