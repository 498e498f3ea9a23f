import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, moesim, ROOT } from '../helpers/cli.js';
import { sweep } from '../../src/sweep/sweep.js';

const SHIPPED = join(ROOT, 'scenarios/sweep-cache-link.yaml');
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);

function expectInputError(r: ReturnType<typeof moesim>, pattern: RegExp) {
  expect(r.code, r.stderr).toBe(2);
  const err = r.stderr.trim().split('\n');
  expect(err).toHaveLength(1);
  expect(err[0]).toMatch(/^moesim: /);
  expect(err[0]).toMatch(pattern);
  expect(r.stdout).toBe('');
}

describe('moesim sweep (the shipped cache x link sweep)', () => {
  it('survives SIGKILL: rerun resumes, every point exactly once, a torn last line dropped with a warning, report written', async () => {
    const out = join(tmp('moesim-kill-'), 'out');
    const jsonl = join(out, 'results.jsonl');
    // Three seeds on top of the shipped grid (63 points), and one worker, so that the
    // kill, once two points are on disk, surely lands mid-sweep even on a busy machine.
    const grid = ['--set', 'seed=1,2,3'];
    const N = 63;
    const child = spawn(process.execPath, [CLI, 'sweep', SHIPPED, ...grid, '--out', out, '--workers', '1', '--no-report'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    const t0 = Date.now();
    while (lines(jsonl).length < 2 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const before = lines(jsonl).length;
    expect(before).toBeGreaterThanOrEqual(2);
    expect(before).toBeLessThan(N);
    // What a kill in the middle of a write leaves: half a line.
    appendFileSync(jsonl, readFileSync(jsonl, 'utf8').split('\n')[0].slice(0, 120));

    const r = moesim(['sweep', SHIPPED, ...grid, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: .*results\.jsonl:\d+: dropped a torn last line \(120 bytes/);
    expect(r.stdout).toMatch(new RegExp(`${N} points: ${N - before} run, ${before} already done`));
    const recs = lines(jsonl).map((l) => JSON.parse(l) as { point: string; index: number; result?: unknown });
    expect(recs.map((x) => x.index)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(new Set(recs.map((x) => x.point)).size).toBe(N);
    expect(recs.every((x) => x.result !== undefined)).toBe(true);
    // The CSV agrees: N points x 5 policies (+ header).
    expect(lines(join(out, 'results.csv'))).toHaveLength(1 + N * 5);
    // Plain progress lines, not a bar, when stderr is not a terminal.
    expect(r.stderr).toMatch(new RegExp(`sweep: ${N}/${N} points \\(100%\\), [\\d.]+ points/s`));
    expect(r.stderr).not.toMatch(/\u001b\[/);
    // The report, with every chart as SVG.
    expect(r.stderr).toMatch(/report: .*index\.html \(6 charts/);
    expect(readdirSync(join(out, 'charts')).sort()).toEqual(
      ['bytes-moved', 'hit-rate-vs-cache', 'per-layer-hit-rate', 'throughput-vs-memory', 'timeline', 'tpot-vs-memory'].map((c) => `${c}.svg`),
    );
    // A rerun of a finished sweep runs nothing.
    const again = moesim(['sweep', SHIPPED, ...grid, '--out', out, '--no-report']);
    expect(again.stdout).toMatch(new RegExp(`0 run, ${N} already done`));
  });

  it('Ctrl-C (SIGINT) stops it cleanly: exit 130, whole lines only, and a rerun finishes', async () => {
    const out = join(tmp('moesim-int-'), 'out');
    const jsonl = join(out, 'results.jsonl');
    const grid = ['--set', 'seed=1,2,3'];
    const child = spawn(process.execPath, [CLI, 'sweep', SHIPPED, ...grid, '--out', out, '--workers', '1', '--no-report'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const t0 = Date.now();
    while (lines(jsonl).length < 1 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/moesim: interrupted: \d+ of 63 points finished and saved in .*results\.jsonl; run the same command again to resume/);
    const text = readFileSync(jsonl, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const done = lines(jsonl).map((l) => JSON.parse(l) as { index: number });
    expect(done.length).toBeLessThan(63);
    const r = moesim(['sweep', SHIPPED, ...grid, '--out', out, '--no-report']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/torn/);
    expect(lines(jsonl)).toHaveLength(63);
  });

  it('--dry-run checks and lists the points', () => {
    const r = moesim(['sweep', SHIPPED, '--dry-run', '--shard', '1/4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sweep-cache-link: sweep [0-9a-f]{12}, cartesian, 21 points \(shard 1\/4: 5\), all valid/);
  });
});

describe('moesim sweep / merge: bad input is one line, exit 2, before any point runs', () => {
  const quick = join(ROOT, 'scenarios/quickstart.yaml');
  it('a path that names no field', () => {
    const out = join(tmp('moesim-bad-'), 'out');
    expectInputError(moesim(['sweep', quick, '--set', 'policies[*].cache.perLayr=2,3', '--out', out]), /quickstart\.yaml: sweep path policies\[\*\]\.cache\.perLayr names no field: .*did you mean "perLayer"/);
    expect(existsSync(out)).toBe(false);
  });
  it('a value of the wrong type names the point and the field', () => {
    expectInputError(moesim(['sweep', quick, '--set', 'hardware.link.bandwidthGBps=16,fast']), /sweep point 2 of 2 \(hardware\.link\.bandwidthGBps=fast\): hardware\.link\.bandwidthGBps: expected a positive number/);
  });
  it('an empty grid, or none', () => {
    const dir = tmp('moesim-bad-');
    const f = join(dir, 's.yaml');
    writeFileSync(f, readFileSync(quick, 'utf8').replace(/trace:\n  path: \.\.\//, `trace:\n  path: ${ROOT}/`) + 'sweep:\n  grid: {}\n');
    expectInputError(moesim(['sweep', f]), /sweep\.grid: expected at least one path/);
    expectInputError(moesim(['sweep', quick]), /no sweep: expected a sweep: block/);
    expectInputError(moesim(['sweep', quick, '--set', 'workload.batchSize=']), /--set workload\.batchSize: expected one or more values/);
  });
  it('shards of different sweeps given to merge', async () => {
    const a = join(tmp('moesim-m-'), 'a');
    const b = join(tmp('moesim-m-'), 'b');
    await sweep({ scenarioFile: quick, set: [{ path: 'workload.batchSize', values: [1] }], outDir: a, workers: 0 });
    await sweep({ scenarioFile: quick, set: [{ path: 'hardware.link.bandwidthGBps', values: [16] }], outDir: b, workers: 0 });
    const target = join(tmp('moesim-m-'), 'merged');
    expectInputError(moesim(['merge', a, b, '--out', target]), /merge: the inputs come from different sweeps/);
    expect(existsSync(target)).toBe(false);
  });
});

describe('moesim run writes its report', () => {
  it('into reports/<scenario name>/run/, messages on stderr, --json stdout unchanged', () => {
    const cwd = tmp('moesim-run-');
    const r = moesim(['run', join(ROOT, 'scenarios/quickstart.yaml'), '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).scenario.name).toBe('quickstart');
    expect(r.stderr).toMatch(/^report: reports\/quickstart\/run\/index\.html \(6 charts/m);
    expect(existsSync(join(cwd, 'reports/quickstart/run/index.html'))).toBe(true);
    expect(JSON.parse(readFileSync(join(cwd, 'reports/quickstart/run/result.json'), 'utf8'))).toEqual(JSON.parse(r.stdout));
    // moesim report finds the run in the scenario's folder and rebuilds it from the saved result.
    const again = moesim(['report', 'reports/quickstart', '--out', 'again', '--no-svg'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(join(cwd, 'again/index.html'))).toBe(true);
    expect(existsSync(join(cwd, 'again/charts'))).toBe(false);
    const none = tmp('moesim-run-');
    expect(moesim(['run', join(ROOT, 'scenarios/quickstart.yaml'), '--no-report'], { cwd: none }).code).toBe(0);
    expect(existsSync(join(none, 'reports'))).toBe(false);
  });

  it('a sweep of the same scenario lands beside the run, never over it', () => {
    const cwd = tmp('moesim-run-');
    expect(moesim(['run', join(ROOT, 'scenarios/quickstart.yaml')], { cwd }).code).toBe(0);
    const before = readFileSync(join(cwd, 'reports/quickstart/run/index.html'), 'utf8');
    const s = moesim(['sweep', join(ROOT, 'scenarios/quickstart.yaml'), '--set', 'hardware.link.bandwidthGBps=16,32', '--workers', '1'], { cwd });
    expect(s.code, s.stderr).toBe(0);
    expect(existsSync(join(cwd, 'reports/quickstart/sweep/results.jsonl'))).toBe(true);
    expect(existsSync(join(cwd, 'reports/quickstart/sweep/index.html'))).toBe(true);
    expect(readFileSync(join(cwd, 'reports/quickstart/run/index.html'), 'utf8')).toBe(before);
    // Both there: report asks which.
    expectInputError(moesim(['report', 'reports/quickstart'], { cwd }), /holds a run and a sweep; name one: reports\/quickstart\/run or reports\/quickstart\/sweep/);
    expect(moesim(['report', 'reports/quickstart/sweep', '--no-svg'], { cwd }).code).toBe(0);
  });
});
