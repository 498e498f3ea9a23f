/**
 * Issue 13 through the CLI: bad input and file-system faults give one line `moesim: FILE...: what
 * was expected`, exit 2, no stack trace, nothing half-written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, moesim, ROOT } from '../helpers/cli.js';
import { mountTmpfs, unmountTmpfs } from '../helpers/tmpfs.js';

const MIXTRAL = join(ROOT, 'traces/mixtral-8x7b-instruct/humaneval-decode.jsonl');
const dir = mkdtempSync(join(tmpdir(), 'moesim-bad-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectBadInput(r: ReturnType<typeof moesim>, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines.filter((l) => l.startsWith('moesim: '))).toHaveLength(1);
  expect(lines[lines.length - 1]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
}

const small = join(dir, 'small.jsonl');
writeFileSync(small, readFileSync(MIXTRAL, 'utf8').split('\n').slice(0, 20).join('\n') + '\n');

const scenario = (name: string, policies: string, extra = ''): string => {
  const f = join(dir, name);
  writeFileSync(f, `name: t\nmodel: mixtral-8x7b\nhardware: rtx-4090\nprecision: { experts: int4 }\ntrace: { path: ${JSON.stringify(MIXTRAL)} }\n${extra}policies: ${policies}\n`);
  return f;
};

describe('bad input through the CLI', () => {
  it('a failed trace convert leaves the previous output intact and names the input', () => {
    const good = join(dir, 'good.moesim');
    expect(moesim(['trace', 'convert', small, '-o', good]).code).toBe(0);
    const before = readFileSync(good);
    const tab = join(dir, 'tab.jsonl');
    writeFileSync(tab, '{"problem_id": "a\\tb", "layer": 0, "experts": [1,2], "token_idx": 0}\n');
    expectBadInput(moesim(['trace', 'convert', tab, '-o', good]), /^moesim: tab\.jsonl: sequence id "a\\tb" contains a tab/);
    expect(readFileSync(good).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('output paths: into a file, at a folder, a name too long', () => {
    const afile = join(dir, 'afile');
    writeFileSync(afile, 'x');
    const s = scenario('ok.yaml', '[{ kind: lru, cache: { perLayer: 2 } }]');
    expectBadInput(moesim(['run', s, '--no-report', '--out', join(afile, 'x.json')]), /afile: cannot create folder: a file of that name already exists$/);
    mkdirSync(join(dir, 'adir'), { recursive: true });
    expectBadInput(moesim(['trace', 'stats', small, '--html', join(dir, 'adir')]), /adir: cannot write: it is a folder, expected a file$/);
    expectBadInput(moesim(['trace', 'convert', small, '-o', join(dir, `${'x'.repeat(300)}.moesim`)]), /cannot write: file name too long$/);
  });

  it('scenario messages: unknown policy, key typo, 1e400, file named on resolver errors, trace.path', () => {
    expectBadInput(moesim(['run', scenario('a.yaml', '[{ kind: lruu, cache: { perLayer: 2 } }]'), '--no-report']), /a\.yaml: policies\[0\]\.kind: unknown policy "lruu"; did you mean "lru"\?/);
    expectBadInput(moesim(['run', scenario('b.yaml', '[{ kind: lru, cache: { perLayr: 2 } }]'), '--no-report']), /b\.yaml: policies\[0\]\.cache: unknown field "perLayr"; did you mean "perLayer"\?/);
    expectBadInput(moesim(['run', scenario('c.yaml', '[{ kind: static, cache: { perLayer: 2 }, profile: [[1e400, 2]] }]'), '--no-report']), /c\.yaml: .*got Infinity \(a number beyond float64/);
    const d = join(dir, 'd.yaml');
    writeFileSync(d, `name: t\nmodel: { preset: mixtral-8x7b, topK: 9 }\nhardware: rtx-4090\ntrace: { path: ${JSON.stringify(MIXTRAL)} }\npolicies: [{ kind: lru, cache: { perLayer: 2 } }]\n`);
    expectBadInput(moesim(['run', d, '--no-report']), /^moesim: \S*d\.yaml: model\.topK: /);
    const e = join(dir, 'e.yaml');
    writeFileSync(e, 'name: t\nmodel: mixtral-8x7b\nhardware: rtx-4090\ntrace: { path: nothere.jsonl }\npolicies: [{ kind: lru, cache: { perLayer: 2 } }]\n');
    expectBadInput(moesim(['run', e, '--no-report']), /e\.yaml: trace\.path: no such file: nothere\.jsonl/);
    const cr = join(dir, 'cr.yaml');
    writeFileSync(cr, 'a\rb\u0000c: 1\n');
    const r = moesim(['run', cr, '--no-report']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/[\r\u0000]/);
  });

  it('silent surprises refused: promptTokens longer than every sequence, reserveGiB larger than the GPU', () => {
    expectBadInput(moesim(['run', scenario('j.yaml', '[{ kind: lru, cache: { perLayer: 2 } }]', 'workload: { promptTokens: 100000 }\n'), '--no-report']), /j\.yaml: workload\.promptTokens: 100000 covers every sequence/);
    expectBadInput(moesim(['run', scenario('f.yaml', '[{ kind: lru, cache: { hbm: true, reserveGiB: 1000 } }]'), '--no-report']), /f\.yaml: policies\[0\]\.cache: .*leaves no GPU memory for any expert/);
  });

  it('YAML: real alias counts accepted, billion laughs and huge files refused', () => {
    const many = scenario('alias.yaml', '\n  - { kind: lru, cache: &c { perLayer: 2 }, label: p0 }\n' + Array.from({ length: 149 }, (_, i) => `  - { kind: lru, cache: *c, label: p${i + 1} }\n`).join(''));
    expect(moesim(['run', many, '--no-report']).code).toBe(0);
    const laughs = join(dir, 'laughs.yaml');
    let y = 'a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n';
    let prev = 'a';
    for (const n of 'bcdefghi') {
      y += `${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
      prev = n;
    }
    writeFileSync(laughs, y);
    expectBadInput(moesim(['run', laughs, '--no-report']), /laughs\.yaml: YAML aliases expand to too many nodes/);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, 'name: t\njunk:\n' + '  - 1\n'.repeat(400_000));
    expectBadInput(moesim(['run', big, '--no-report']), /big\.yaml: [0-9,]+ bytes, more than the limit/);
  });

  it('sweep: 10^10 points refused even with --dry-run; --shard -1/2; duplicate --set', () => {
    const s = join(ROOT, 'scenarios/sweep-cache-link.yaml');
    const v = Array.from({ length: 100 }, (_, i) => i + 1).join(',');
    const sets = ['seed', 'precision.groupSize', 'timeline.steps', 'workload.batchSize', 'evaluation.maxTokens'].flatMap((p) => ['--set', `${p}=${v}`]);
    expectBadInput(moesim(['sweep', s, ...sets, '--dry-run']), /sweep-cache-link\.yaml: sweep: the grid has 210,000,000,000 points .*more than the limit of 100,000/);
    expectBadInput(moesim(['sweep', s, '--shard', '-1/2', '--dry-run']), /^moesim: --shard: expected i\/n with 0 <= i < n.*got "-1\/2"/);
    expectBadInput(moesim(['sweep', s, '--set', 'seed=1,2', '--set', 'seed=3', '--dry-run']), /--set seed: given twice/);
  });
});

// ---- a full disk ---------------------------------------------------------------------------------

const mnt = join(dir, 'full');
let mounted = false;
let why = '';
beforeAll(() => {
  ({ mounted, why } = mountTmpfs(mnt));
});
afterAll(() => {
  if (mounted) unmountTmpfs(mnt);
});

describe('a full disk (200 KB tmpfs) through the CLI', () => {
  it('run --out, trace convert and stats --html: one line, previous file intact, no temp files', (ctx) => {
    if (!mounted) {
      console.log(`SKIPPED tmpfs fault tests: cannot mount a tmpfs (${why})`);
      return ctx.skip();
    }
    const s = scenario('disk.yaml', '[{ kind: lru, cache: { perLayer: 2 } }]', 'timeline: { fromStep: 0, steps: 30 }\n');
    const out = join(mnt, 'r.json');
    writeFileSync(out, 'previous\n');
    expectBadInput(moesim(['run', s, '--no-report', '--out', out]), /r\.json: cannot write: no space left on device$/);
    expect(readFileSync(out, 'utf8')).toBe('previous\n');
    const t = join(mnt, 't.moesim');
    writeFileSync(t, 'previous\n');
    expectBadInput(moesim(['trace', 'convert', MIXTRAL, '-o', t]), /t\.moesim: cannot write: no space left on device$/);
    expect(readFileSync(t, 'utf8')).toBe('previous\n');
    expectBadInput(moesim(['trace', 'stats', small, '--html', join(mnt, 's.html')]), /s\.html: cannot write: no space left on device$/);
    expect(readdirSync(mnt).sort()).toEqual(['r.json', 't.moesim']);
  });

  it('sweep: stops with one line when results.jsonl cannot grow; every line left is whole; no lock left', (ctx) => {
    if (!mounted) return ctx.skip();
    const out = join(mnt, 'sw');
    const r = moesim(['sweep', join(ROOT, 'scenarios/sweep-cache-link.yaml'), '--out', out, '--workers', '2', '--no-report']);
    expectBadInput(r, /results\.jsonl: cannot write: no space left on device$/);
    const lines = readFileSync(join(out, 'results.jsonl'), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    for (const l of lines) JSON.parse(l);
    expect(readdirSync(out).sort()).toEqual(['results.csv', 'results.jsonl', 'sweep.json']);
    rmSync(out, { recursive: true });
  });
});

// ---- a read-only file system (s28-badin: mkdir -p said "no such file or folder" there) -------------

const rofs = join(dir, 'rofs');
let roMounted = false;
beforeAll(() => {
  roMounted = mountTmpfs(rofs, '64k', true).mounted;
});
afterAll(() => {
  if (roMounted) unmountTmpfs(rofs);
});

describe('a read-only file system (tmpfs mounted ro) through the CLI', () => {
  it('every output says read-only file system, before the work where it is long', (ctx) => {
    if (!roMounted) return ctx.skip();
    const s = scenario('ro.yaml', '[{ kind: lru, cache: { perLayer: 2 } }]');
    expectBadInput(moesim(['run', s, '--no-report', '--out', join(rofs, 'x.json')]), /rofs\/x\.json: cannot write: read-only file system$/);
    expectBadInput(moesim(['sweep', join(ROOT, 'scenarios/sweep-cache-link.yaml'), '--out', join(rofs, 'sw'), '--no-report']), /rofs\/sw: cannot create folder: read-only file system$/);
    expectBadInput(moesim(['reproduce', '--only', 'fiddler*', '--fit', 'none', '--out', join(rofs, 'rep')]), /rofs\/rep: cannot create folder: read-only file system$/);
    expectBadInput(moesim(['calibrate', '--backend', 'disk', '--quick', '-o', join(rofs, 'd.json')]), /rofs\/d\.json: cannot write: read-only file system$/);
    expect(readdirSync(rofs)).toEqual([]);
  });
});

describe('an expert id beyond the scenario\'s model, named where it is in the file', () => {
  const withTrace = (name: string, trace: string): string => {
    const f = join(dir, `${name}.yaml`);
    writeFileSync(f, `name: t\nmodel: mixtral-8x7b\nhardware: rtx-4090\nprecision: { experts: int4 }\ntrace: { path: ${trace}, missingLayers: fill }\npolicies: [{ kind: lru, cache: { perLayer: 2 } }]\n`);
    return f;
  };
  it('CSV: by file and line', () => {
    const cols = Array.from({ length: 10 }, (_, e) => `expert_${e}`).join(',');
    writeFileSync(join(dir, 'oor.csv'), `layer_id,token_id,${cols}\n0,0,0.5,0.5,0,0,0,0,0,0,0,0\n0,1,0,0.5,0,0,0,0,0,0,0,0.5\n`);
    expectBadInput(moesim(['run', withTrace('oor-csv', 'oor.csv'), '--no-report']), /oor\.csv:3: expert_9 is among this row's top-2, beyond the scenario's model, which has experts 0\.\.7$/);
  });
  it('.npy: by its index (token, layer, slot)', () => {
    const ids = new Int32Array(3 * 32 * 2).map((_, i) => i % 2);
    ids[1 * 64 + 5 * 2 + 1] = 9;
    let header = "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 32, 2), }";
    header = header.padEnd(118 - 1) + '\n';
    const head = Buffer.alloc(10);
    Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0]).copy(head);
    head.writeUInt16LE(header.length, 8);
    writeFileSync(join(dir, 'oor.npy'), Buffer.concat([head, Buffer.from(header), Buffer.from(ids.buffer)]));
    expectBadInput(moesim(['run', withTrace('oor-npy', 'oor.npy'), '--no-report']), /oor\.npy: experts\[1, 5, 1\] \(token, layer, slot\): expert id 9 is beyond the scenario's model, which has experts 0\.\.7$/);
  });
});

/**
 * EACCES: as root chmod cannot provoke it, so these run moesim as the unprivileged user nobody
 * (setpriv) against folders nobody cannot write and a file nobody cannot read; skipped with the
 * reason where that is not possible.
 */
const asNobody = (() => {
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root: cannot switch to an unprivileged user (and chmod already binds this user: see the folder tests above)' };
  const probe = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', '0']);
  if (probe.error || probe.status !== 0) return { ok: false, why: `setpriv cannot run node as nobody here (${probe.error?.message ?? probe.stderr.toString().trim()})` };
  return { ok: true, why: '' };
})();
if (!asNobody.ok) console.warn(`skipped: EACCES tests: ${asNobody.why}`);

describe.skipIf(!asNobody.ok)('permission denied (as the unprivileged user nobody)', () => {
  const nobody = (args: string[]) => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', HOME: '/tmp' } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const top = mkdtempSync(join(tmpdir(), 'moesim-eacces-'));
  chmodSync(top, 0o755);
  const locked = join(top, 'locked');
  mkdirSync(locked);
  chmodSync(locked, 0o555);
  const free = join(top, 'free');
  mkdirSync(free);
  chmodSync(free, 0o777);
  const trace = join(top, 'small.jsonl');
  writeFileSync(trace, readFileSync(MIXTRAL));
  chmodSync(trace, 0o644);
  const secret = join(top, 'secret.jsonl');
  writeFileSync(secret, readFileSync(trace));
  chmodSync(secret, 0o600);
  const scen = join(top, 's.yaml');
  writeFileSync(scen, `name: t\nmodel: mixtral-8x7b\nhardware: rtx-4090\nprecision: { experts: int4 }\ntrace: { path: small.jsonl }\npolicies: [{ kind: lru, cache: { perLayer: 2 } }]\nsweep:\n  grid:\n    policies[*].cache.perLayer: [1, 2]\n`);
  chmodSync(scen, 0o644);
  afterAll(() => rmSync(top, { recursive: true, force: true }));

  it.each([
    ['run --out', ['run', scen, '--no-report', '--out', join(locked, 'r.json')], /locked\/r\.json: cannot write: permission denied$/],
    ['run --report-dir', ['run', scen, '--report-dir', join(locked, 'rep')], /locked\/rep: cannot create folder: permission denied$/],
    ['trace convert -o', ['trace', 'convert', trace, '-o', join(locked, 't.moesim')], /locked\/t\.moesim: cannot write: permission denied$/],
    ['trace stats --html', ['trace', 'stats', trace, '--html', join(locked, 's.html')], /locked\/s\.html: cannot write: permission denied$/],
    ['sweep --out', ['sweep', scen, '--no-report', '--workers', '1', '--out', join(locked, 'sw')], /locked\/sw: cannot create folder: permission denied$/],
    ['an unreadable trace', ['trace', 'stats', secret], /secret\.jsonl: (cannot read: )?permission denied$/],
    // checked before the work (s28-badin): nothing measured or simulated for a folder that cannot take the result
    ['run --out beside an unwritable --report-dir', ['run', scen, '--out', join(free, 'ok.json'), '--report-dir', join(locked, 'rep')], /locked\/rep: cannot create folder: permission denied$/],
    ['reproduce --out', ['reproduce', '--only', 'fiddler*', '--fit', 'none', '--out', join(locked, 'rep')], /locked\/rep: cannot create folder: permission denied$/],
    ['calibrate -o', ['calibrate', '--backend', 'disk', '--quick', '-o', join(locked, 'disk.json')], /locked\/disk\.json: cannot write: permission denied$/],
  ])('%s: one line, exit 2, nothing left behind', (_what, args, pattern) => {
    const r = nobody(args as string[]);
    expectBadInput(r, pattern as RegExp);
    expect(readdirSync(locked)).toEqual([]);
    expect(readdirSync(free)).toEqual([]);
  });
});

/** Every numeric flag of every command: parsed from what was typed (src/cli/options.ts), refused before anything is read. */
describe('numeric flags: not a number, out of range, not whole, Infinity', () => {
  const s = join(ROOT, 'scenarios/quickstart.yaml');
  const sw = join(ROOT, 'scenarios/sweep-cache-link.yaml');
  it.each([
    [['run', s, '--tier-bounds-max-accesses', 'abc'], "--tier-bounds-max-accesses: expected a whole number >= 1, got 'abc'"],
    [['run', s, '--jobs', '0'], "--jobs: expected a whole number >= 1, got '0'"],
    [['run', s, '--jobs', '1.5'], "--jobs: expected a whole number >= 1, got '1.5'"],
    [['run', s, '--jobs', 'Infinity'], "--jobs: expected a whole number >= 1, got 'Infinity'"],
    [['run', s, '--jobs', '1e400'], "--jobs: expected a whole number >= 1, got '1e400' (a number beyond float64)"],
    [['run', s, '--jobs'], '--jobs: expected a whole number >= 1, got no value'],
    [['sweep', sw, '--workers', '-1', '--dry-run'], "--workers: expected a whole number >= 1, got '-1'"],
    [['trace', 'head', MIXTRAL, '-n', 'ten'], "-n: expected a whole number >= 1, got 'ten'"],
    [['trace', 'convert', MIXTRAL, '-o', join(dir, 'n.moesim'), '--top-k', '0'], "--top-k: expected a whole number >= 1, got '0'"],
    [['trace', 'convert', MIXTRAL, '-o', join(dir, 'n.moesim'), '--layer', '0', '--layer', 'x'], "--layer: expected a whole number >= 0, got 'x'"],
    [['trace', 'synth', '--model-like', 'mixtral-8x7b', '-o', join(dir, 'n.moesim'), '--locality', '1.5'], "--locality: expected a number from 0 to 1, got '1.5'"],
    [['calibrate', '--backend', 'disk', '--max-reads', '2.5', '-o', join(dir, 'd.json')], "--max-reads: expected a whole number >= 1, got '2.5'"],
    [['replay', s, '--host-budget-gib', '0'], "--host-budget-gib: expected a number > 0, got '0'"],
    [['validate', s, '--repeats', 'NaN'], "--repeats: expected a whole number >= 1, got 'NaN'"],
    [['validate', s, '--disk-bracket-bound', '-0.1'], "--disk-bracket-bound: expected a number > 0, got '-0.1'"],
  ])('%j', (args, message) => {
    const r = moesim(args as string[]);
    expectBadInput(r, new RegExp(`^moesim: ${(message as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    expect(r.stdout).toBe('');
  });
  it('nothing written by a refused command', () => {
    expect(readdirSync(dir).filter((n) => n === 'n.moesim' || n === 'd.json')).toEqual([]);
  });
});

describe('found by bad inputs of session 28 (s28-badin)', () => {
  it('system.quantization and precision.experts that disagree: one line naming both', () => {
    const f = join(dir, 'q.yaml');
    writeFileSync(f, `name: t\nmodel: mixtral-8x7b\nhardware: rtx-4090\nprecision: { experts: int8 }\ntrace: { path: ${JSON.stringify(MIXTRAL)} }\nsystem: { kind: mixtral-offloading, quantization: hqq-2bit }\n`);
    expectBadInput(moesim(['run', f, '--no-report']), /q\.yaml: precision\.experts: int8 \(8 bits per weight\) conflicts with system\.quantization: hqq-2bit \(experts hqq-2bit-g16, [\d.]+ bits per weight\); expected/);
  });
  it('trace head --sequence that the trace lacks; a command without its file', () => {
    expectBadInput(moesim(['trace', 'head', small, '--sequence', 'nope']), /^moesim: \S*small\.jsonl: --sequence nope: no such sequence; expected one of its 1 sequence ids: "humaneval\/0"$/);
    expectBadInput(moesim(['run']), /^moesim: run: expected 1 file argument, got 0; moesim run --help shows the usage$/);
    expectBadInput(moesim(['trace', 'stats']), /^moesim: trace stats: expected 1 file argument, got 0; moesim trace stats --help shows the usage$/);
  });
  it('sweep: a key typo in the block, and 1e400 in a point label', () => {
    expectBadInput(moesim(['sweep', scenario('swk.yaml', '[{ kind: lru, cache: { perLayer: 2 } }]', 'sweep: { grd: { seed: [1, 2] } }\n'), '--dry-run']), /swk\.yaml: sweep: unknown field "grd"; did you mean "grid"\?$/);
    expectBadInput(moesim(['sweep', scenario('swi.yaml', '[{ kind: lru, cache: { perLayer: 2 } }]', "sweep: { grid: { 'hardware.link.bandwidthGBps': [1e400] } }\n"), '--dry-run']), /swi\.yaml: sweep point 1 of 1 \(hardware\.link\.bandwidthGBps=Infinity\): hardware\.link\.bandwidthGBps: expected a positive number, got Infinity/);
  });
  it('trace synth: a size beyond the limits named by its own flag', () => {
    expectBadInput(moesim(['trace', 'synth', '--model-like', 'mixtral-8x7b', '--layers', '1000000', '-o', join(dir, 'syn.moesim')]), /^moesim: trace synth: --layers: layers 1,000,000 is more than the limit of 65,535$/);
    expectBadInput(moesim(['trace', 'synth', '--model-like', 'mixtral-8x7b', '--tokens', '1000000000000', '-o', join(dir, 'syn.moesim')]), /^moesim: trace synth: --tokens: tokens 1,000,000,000,000 is more than the limit of 536,870,912$/);
  });
  it('reproduce --fit: an empty list or an unknown system, with what it takes', () => {
    expectBadInput(moesim(['reproduce', '--fit', ',', '--out', join(dir, 'rep-fit')]), /^moesim: --fit: expected loso, none, or a comma list of systems \(or point-id prefixes ending in \*\), got ','$/);
    expectBadInput(moesim(['reproduce', '--fit', 'bogus', '--out', join(dir, 'rep-fit')]), /^moesim: --fit: no point of system "bogus"; expected loso, none, or systems among deepspeed-zero-inference, fiddler, /);
    expect(readdirSync(dir)).not.toContain('rep-fit');
  });
  it('a timeline window beyond the run records nothing: refused', () => {
    expectBadInput(moesim(['run', scenario('tl.yaml', '[{ kind: lru, cache: { perLayer: 2 } }]', 'timeline: { fromStep: 100000, steps: 2 }\n'), '--no-report']), /tl\.yaml: timeline: steps 100000\.\.100001 record nothing: the run has fewer steps \(338 tokens in 2 sequences\); expected a fromStep within the run$/);
  });
  it('union forms mixed or unknown: named as such, not as a missing field of one form', () => {
    expectBadInput(moesim(['run', scenario('alt.yaml', '[{ kind: lru, cache: { perLayer: 2, gib: 3 } }]'), '--no-report']), /alt\.yaml: policies\[0\]\.cache: \{perLayer\} and \{gib\} are alternatives; expected one of them, got \{"perLayer":2,"gib":3\}$/);
    expectBadInput(moesim(['run', scenario('unk.yaml', '[{ kind: lru, cache: { size: 2 } }]'), '--no-report']), /unk\.yaml: policies\[0\]\.cache: unknown field "size"; expected one of perLayer, experts, bytes, gib, hbm$/);
  });
  it('a report folder that cannot be made leaves no --out file; a report that cannot be written whole leaves none of it', () => {
    const s = scenario('whole.yaml', '[{ kind: lru, cache: { perLayer: 2 } }]');
    const afile = join(dir, 'afile2');
    writeFileSync(afile, 'x');
    const out = join(dir, 'whole-out.json');
    expectBadInput(moesim(['run', s, '--out', out, '--report-dir', join(afile, 'rep')]), /afile2\/rep: cannot create folder: a part of the path is a file, not a folder$/);
    expect(readdirSync(dir)).not.toContain('whole-out.json');
    // charts/ is a file: index.html, result.json and --out must not appear either
    const rep = join(dir, 'half-rep');
    mkdirSync(rep);
    writeFileSync(join(rep, 'charts'), 'in the way');
    expectBadInput(moesim(['run', s, '--out', out, '--report-dir', rep]), /half-rep\/charts: cannot create folder: a file of that name already exists$/);
    expect(readdirSync(rep)).toEqual(['charts']);
    expect(readdirSync(dir)).not.toContain('whole-out.json');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('found by generated bad inputs (regressions)', () => {
  it('an output path that is a device or a pipe is refused, never replaced by a plain file', () => {
    const s = scenario('dev.yaml', '[{ kind: lru, cache: { perLayer: 2 } }]');
    const fifo = join(dir, 'out.fifo');
    spawnSync('mkfifo', [fifo]);
    expectBadInput(moesim(['run', s, '--no-report', '--out', fifo]), /out\.fifo: cannot write: it is a pipe, not a regular file; give a file name$/);
    const fifo2 = join(dir, 'pipe.moesim');
    spawnSync('mkfifo', [fifo2]);
    expectBadInput(moesim(['trace', 'convert', MIXTRAL, '-o', fifo2]), /pipe\.moesim: cannot write: it is a pipe, not a regular file; give a file name$/);
  });
  it('empty --out / --report-dir are refused by flag', () => {
    const s = scenario('empty-out.yaml', '[{ kind: lru, cache: { perLayer: 2 } }]');
    expectBadInput(moesim(['run', s, '--no-report', '--out', '']), /^moesim: --out: expected a file name, got an empty string$/);
    expectBadInput(moesim(['run', s, '--report-dir', '']), /^moesim: --report-dir: expected a folder, got an empty string$/);
    expectBadInput(moesim(['sweep', s, '--set', 'seed=1,2', '--out', '', '--no-report']), /^moesim: --out: expected a folder, got an empty string$/);
  });
  it('a batch size beyond the trace is one group of every sequence (sizes allocated for what exists), not an allocation failure', () => {
    const huge = moesim(['run', scenario('huge-batch.yaml', '[{ kind: lru, cache: { perLayer: 2 } }]', 'workload: { batchSize: 1e12 }\n'), '--no-report', '--json']);
    const all = moesim(['run', scenario('all-batch.yaml', '[{ kind: lru, cache: { perLayer: 2 } }]', 'workload: { batchSize: 100000 }\n'), '--no-report', '--json']);
    expect(huge.code).toBe(0);
    expect(JSON.parse(huge.stdout).results).toEqual(JSON.parse(all.stdout).results);
  });
});
