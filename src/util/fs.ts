/**
 * Every file moesim writes goes through here: whole files through `writeFileAtomic` (or
 * `AtomicFile` when streamed), appended lines through `appendWhole`. A failure leaves the previous
 * file as it was and no temp file behind, and is reported as bad input (`fsInputError`):
 * `moesim: reports/x/result.json: cannot write: no space left on device`.
 */
import { accessSync, closeSync, constants, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { InputError } from './errors.js';

/** What an fs error code means, in the words of a one-line message. */
const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for the file system',
  EEXIST: 'a file of that name already exists',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, expected a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENAMETOOLONG: 'file name too long',
  ENOENT: 'no such file or folder',
  ESPIPE: 'not a regular file (a pipe or a socket)',
  ENXIO: 'not a regular file (a pipe or a socket)',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  EBUSY: 'the file is busy',
  EIO: 'input/output error',
  EINVAL: 'invalid file (not a regular file?)',
  EXDEV: 'cannot rename across file systems',
  ETXTBSY: 'the file is busy',
};

/** The path as shown in messages: relative to the working folder when inside it. */
export function shownPath(path: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export function isFsError(e: unknown): e is NodeJS.ErrnoException {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return e instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/**
 * The one mapping from file-system errors to bad-input lines. `verb` is what was being done
 * (`write`, `read`, `create folder`); `path` what the user named (default: the error's own path).
 * Errors that are not fs errors, and InputErrors, pass through unchanged.
 */
/** What a file-system error means, in words ("no such file or folder"); the code where it has none. */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code ? (REASONS[code] ?? code) : String((e as Error)?.message ?? e);
}

export function fsInputError(e: unknown, verb: 'write' | 'read' | 'create folder' | 'lock', path?: string): unknown {
  if (e instanceof InputError || !isFsError(e)) return e;
  const code = e.code as string;
  const where = path ?? e.path ?? (e as { dest?: string }).dest;
  const reason = REASONS[code] ?? code;
  return new InputError(`${where !== undefined ? `${shownPath(String(where))}: ` : ''}cannot ${verb}: ${reason}`);
}

function tempName(path: string): string {
  // in the target folder (same file system, so rename is atomic), hidden, unique per process and call
  const base = basename(path).slice(0, 100);
  return join(dirname(path), `.${base}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
}

function ensureFolder(path: string): void {
  makeFolder(dirname(path));
}

/**
 * Before a long computation: refuses now an output folder that could not be made or written at the
 * end (a file in the way, no permission, a read-only file system), so that no work is lost and
 * nothing is created. The write itself still checks (a disk can fill meanwhile).
 */
export function checkOutputFolder(dir: string, file?: string): void {
  const target = resolve(dir);
  let d = target;
  let st;
  for (;;) {
    try {
      st = statSync(d);
      break;
    } catch {
      const up = dirname(d);
      if (up === d) return;
      d = up;
    }
  }
  if (!st.isDirectory()) {
    throw new InputError(`${shownPath(dir)}: cannot create folder: ${d === target ? 'a file of that name already exists' : 'a part of the path is a file, not a folder'}`);
  }
  try {
    accessSync(d, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw fsInputError(e, file !== undefined || d === target ? 'write' : 'create folder', file ?? dir);
  }
}

/** As checkOutputFolder, for a file: not a folder, a pipe or a device, and its folder can be made and written. */
export function checkOutputFile(path: string): void {
  refuseFolder(path);
  checkOutputFolder(dirname(path), path);
}

/** mkdir -p, its failure (a file in the way, no permission) reported as bad input. */
export function makeFolder(dir: string): void {
  let isFile = false;
  try {
    isFile = !statSync(dir).isDirectory();
  } catch {
    /* absent */
  }
  if (isFile) throw new InputError(`${shownPath(dir)}: cannot create folder: a file of that name already exists`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    // mkdir -p on a read-only file system (or a folder without write permission) may report ENOENT
    // for the part it could not make: the nearest existing folder says why
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') checkOutputFolder(dir);
    throw fsInputError(e, 'create folder', dir);
  }
}

function refuseFolder(path: string): void {
  if (path === '') throw new InputError('cannot write a file with an empty name; give a file name');
  let kind: string | undefined;
  try {
    const st = statSync(path);
    // renaming over a device or a pipe would replace it with a plain file: refused
    kind = st.isFile() ? undefined : st.isDirectory() ? 'folder' : st.isFIFO() ? 'pipe' : st.isSocket() ? 'socket' : 'device';
  } catch {
    /* absent (or unreadable): the write says why */
  }
  if (kind === 'folder') throw new InputError(`${shownPath(path)}: cannot write: it is a folder, expected a file`);
  if (kind !== undefined) throw new InputError(`${shownPath(path)}: cannot write: it is a ${kind}, not a regular file; give a file name`);
}

// Temp files being written: removed if the process exits (or is stopped by SIGINT/SIGTERM) first.
const live = new Set<string>();
let hooked = false;
function track(tmp: string): void {
  live.add(tmp);
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const t of live) removeQuietly(t);
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    // only where no command handles the signal itself (a sweep stops gracefully and cleans up)
    if (process.listenerCount(sig) > 0) continue;
    const onSignal = (): void => {
      for (const t of live) removeQuietly(t);
      process.off(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}
function untrack(tmp: string): void {
  live.delete(tmp);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

/** Writes a whole file or nothing: a temp file beside it, fsync, then an atomic rename. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  refuseFolder(path);
  ensureFolder(path);
  const tmp = tempName(path);
  let fd: number | undefined;
  track(tmp);
  try {
    fd = openSync(tmp, 'wx');
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
    untrack(tmp);
  } catch (e) {
    untrack(tmp);
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* closing a failed file */
      }
    }
    removeQuietly(tmp);
    throw fsInputError(e, 'write', path);
  }
}

/** The folders `mkdir -p dir` would create, outermost first (none if it exists). */
function missingFolders(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; ; ) {
    try {
      statSync(d);
      break;
    } catch {
      out.unshift(d);
    }
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return out;
}

/**
 * Writes several files (a report's pages, charts and result) all or none: every one to a temp file
 * beside its target first, fsynced; only when all are written are they renamed over their targets.
 * A failure (a folder that cannot be made, a full disk, no permission) removes the temp files and
 * the folders this call created, and leaves every previous file as it was.
 */
export function writeFilesAtomic(files: ReadonlyArray<{ path: string; data: string | Uint8Array }>): void {
  const created: string[] = [];
  const temps: { tmp: string; path: string }[] = [];
  const undo = (): void => {
    for (const t of temps) {
      untrack(t.tmp);
      removeQuietly(t.tmp);
    }
    for (const d of created.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        /* not empty (another writer) or gone */
      }
    }
  };
  try {
    for (const f of files) {
      refuseFolder(f.path);
      const dir = dirname(f.path);
      const missing = missingFolders(dir);
      makeFolder(dir);
      created.push(...missing);
      const tmp = tempName(f.path);
      track(tmp);
      temps.push({ tmp, path: f.path });
      let fd: number | undefined;
      try {
        fd = openSync(tmp, 'wx');
        const buf = typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : f.data;
        let off = 0;
        while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
        fsyncSync(fd);
        closeSync(fd);
        fd = undefined;
      } catch (e) {
        if (fd !== undefined) {
          try {
            closeSync(fd);
          } catch {
            /* closing a failed file */
          }
        }
        throw fsInputError(e, 'write', f.path);
      }
    }
  } catch (e) {
    undo();
    throw e;
  }
  for (const t of temps) {
    try {
      renameSync(t.tmp, t.path);
      untrack(t.tmp);
    } catch (e) {
      undo();
      throw fsInputError(e, 'write', t.path);
    }
  }
}

/**
 * A file written in pieces that appears whole or not at all: `open`, `write` any number of times,
 * then `commit` (fsync and rename over the target) or `abort` (the temp file removed). Until
 * `commit`, the previous file at the target is untouched.
 */
export class AtomicFile {
  private done = false;
  private constructor(readonly path: string, private readonly tmp: string, private readonly fh: FileHandle) {}

  static async open(path: string): Promise<AtomicFile> {
    refuseFolder(path);
    ensureFolder(path);
    const tmp = tempName(path);
    track(tmp);
    try {
      return new AtomicFile(path, tmp, await open(tmp, 'wx'));
    } catch (e) {
      untrack(tmp);
      removeQuietly(tmp);
      throw fsInputError(e, 'write', path);
    }
  }

  async write(data: Uint8Array, length = data.byteLength): Promise<void> {
    try {
      let off = 0;
      while (off < length) off += (await this.fh.write(data, off, length - off)).bytesWritten;
    } catch (e) {
      await this.abort();
      throw fsInputError(e, 'write', this.path);
    }
  }

  async commit(): Promise<void> {
    try {
      await this.fh.sync();
      await this.fh.close();
      this.done = true;
      renameSync(this.tmp, this.path);
      untrack(this.tmp);
    } catch (e) {
      await this.abort();
      throw fsInputError(e, 'write', this.path);
    }
  }

  /** Drops the temp file; safe to call more than once, and after a failure. */
  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.fh.close().catch(() => undefined);
    }
    removeQuietly(this.tmp);
    untrack(this.tmp);
  }
}

/** Writes a file through `AtomicFile`: `body` writes into it; any throw leaves the target as it was. */
export async function withAtomicFile<T>(path: string, body: (f: AtomicFile) => Promise<T>): Promise<T> {
  const f = await AtomicFile.open(path);
  try {
    const r = await body(f);
    await f.commit();
    return r;
  } catch (e) {
    await f.abort();
    throw e;
  }
}

/**
 * Appends `text` whole or not at all: one write call (a kill leaves it whole or torn, never
 * interleaved), fsync; a failed or short write (a full disk) is cut back to the file's previous
 * length, so the file never ends in a torn line because of an error.
 */
export function appendWhole(file: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'a');
  } catch (e) {
    throw fsInputError(e, 'write', file);
  }
  let size = 0;
  try {
    size = fstatSync(fd).size;
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    try {
      ftruncateSync(fd, size);
    } catch {
      /* the next reader drops a torn tail */
    }
    throw fsInputError(e, 'write', file);
  } finally {
    closeSync(fd);
  }
}
