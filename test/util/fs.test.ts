/** Issue 13: one atomic-write helper, one mapping of fs errors to bad-input lines; faults on a tiny tmpfs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtomicFile, appendWhole, checkOutputFile, checkOutputFolder, fsInputError, writeFileAtomic, writeFilesAtomic } from '../../src/util/fs.js';
import { InputError, oneLine } from '../../src/util/errors.js';
import { mountTmpfs, unmountTmpfs } from '../helpers/tmpfs.js';
import { inputErrorMessage } from '../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'moesim-fs-'));

const message = inputErrorMessage;

describe('writeFileAtomic and the fs error mapping', () => {
  it('maps EEXIST/ENOTDIR/EISDIR/ENAMETOOLONG to one line naming the path', () => {
    const afile = join(dir, 'afile');
    writeFileSync(afile, 'x');
    expect(message(() => writeFileAtomic(join(afile, 'x.json'), '{}'))).toMatch(/afile: cannot create folder: a file of that name already exists$/);
    mkdirSync(join(dir, 'adir'));
    expect(message(() => writeFileAtomic(join(dir, 'adir'), '{}'))).toMatch(/adir: cannot write: it is a folder, expected a file$/);
    expect(message(() => writeFileAtomic(join(dir, `${'n'.repeat(300)}.json`), '{}'))).toMatch(/cannot write: file name too long$/);
    const e = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: 'reports/x' });
    expect((fsInputError(e, 'write') as Error).message).toBe('reports/x: cannot write: no space left on device');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('writeFilesAtomic: all or none; a failure leaves the previous files, no temp file and no folder it made', () => {
    const prev = join(dir, 'prev.json');
    writeFileSync(prev, 'previous\n');
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'x');
    expect(message(() => writeFilesAtomic([{ path: prev, data: 'new\n' }, { path: join(dir, 'made', 'deeper', 'a.html'), data: 'a' }, { path: join(blocker, 'b.svg'), data: 'b' }]))).toMatch(/blocker: cannot create folder: a file of that name already exists$/);
    expect(readFileSync(prev, 'utf8')).toBe('previous\n');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp') || n === 'made')).toEqual([]);
    writeFilesAtomic([{ path: prev, data: 'new\n' }, { path: join(dir, 'made', 'a.html'), data: 'a' }]);
    expect(readFileSync(prev, 'utf8')).toBe('new\n');
    expect(readFileSync(join(dir, 'made', 'a.html'), 'utf8')).toBe('a');
  });

  it('checkOutputFolder / checkOutputFile: refused before the work, nothing created', () => {
    const afile = join(dir, 'afile3');
    writeFileSync(afile, 'x');
    expect(message(() => checkOutputFolder(afile))).toMatch(/afile3: cannot create folder: a file of that name already exists$/);
    expect(message(() => checkOutputFolder(join(afile, 'a', 'b')))).toMatch(/afile3\/a\/b: cannot create folder: a part of the path is a file, not a folder$/);
    expect(message(() => checkOutputFile(dir))).toMatch(/cannot write: it is a folder, expected a file$/);
    checkOutputFolder(join(dir, 'not', 'yet'));
    checkOutputFile(join(dir, 'not', 'yet.json'));
    expect(readdirSync(dir)).not.toContain('not');
  });

  it('oneLine escapes control bytes and keeps one line', () => {
    expect(oneLine('a\rb\u0000c\td\ne')).toBe('a\\rb\\x00c\\td; e');
  });
});

// ---- faults on a 200 KB tmpfs -------------------------------------------------------------------

const mnt = join(dir, 'full');
let mounted = false;
let why = '';
beforeAll(() => {
  ({ mounted, why } = mountTmpfs(mnt));
});
afterAll(() => {
  if (mounted) unmountTmpfs(mnt);
  rmSync(dir, { recursive: true, force: true });
});

describe('a full disk (200 KB tmpfs)', () => {
  it('whole files: the previous one intact, no temp file, one line', async (ctx) => {
    if (!mounted) {
      console.log(`SKIPPED tmpfs fault tests: cannot mount a tmpfs (${why})`);
      return ctx.skip();
    }
    const target = join(mnt, 'result.json');
    writeFileAtomic(target, 'previous\n');
    expect(message(() => writeFileAtomic(target, Buffer.alloc(400_000, 65)))).toMatch(/result\.json: cannot write: no space left on device$/);
    expect(readFileSync(target, 'utf8')).toBe('previous\n');
    expect(readdirSync(mnt)).toEqual(['result.json']);

    // streamed (trace convert's writer)
    const f = await AtomicFile.open(target);
    await f.write(Buffer.alloc(100_000, 66));
    const err = await f.write(Buffer.alloc(200_000, 66)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/cannot write: no space left on device$/);
    expect(readFileSync(target, 'utf8')).toBe('previous\n');
    expect(readdirSync(mnt)).toEqual(['result.json']);
  });

  it('appends: a failed append is cut back, never a torn line', (ctx) => {
    if (!mounted) return ctx.skip();
    const jsonl = join(mnt, 'results.jsonl');
    appendWhole(jsonl, '{"a":1}\n');
    expect(message(() => appendWhole(jsonl, `{"b":"${'x'.repeat(400_000)}"}\n`))).toMatch(/results\.jsonl: cannot write: no space left on device$/);
    expect(readFileSync(jsonl, 'utf8')).toBe('{"a":1}\n');
    rmSync(jsonl);
  });
});
