/**
 * Streaming line reader over bytes: a file is read in 1 MiB chunks and each line is handed to the
 * callback as a byte range of a Buffer (no string per line unless the caller decodes one), so a
 * 1 GB trace is never held in memory, as one string or as JS objects.
 */
import { basename } from 'node:path';
import { InputError, inputErrorAt } from '../util/errors.js';
import { ByteReader, readWhole } from './compressed.js';

/**
 * Called once per line with `buf[start, end)` (no trailing "\n" or "\r") and its 1-based number.
 * The bytes are only valid during the call. Return `false` to stop reading.
 */
export type LineCallback = (buf: Buffer, start: number, end: number, lineNo: number) => void | boolean;

const CHUNK_BYTES = 1 << 20;
/** Chunks read between two turns of the event loop (16 MiB): timers and progress bars still run. */
const CHUNKS_PER_YIELD = 16;

/**
 * Read `path` line by line; resolves with the number of lines read. The file is read with
 * synchronous reads into one reused 1 MiB buffer (the unfinished last line is moved to its front
 * before the next read; the buffer doubles only for a line longer than it), so nothing is
 * allocated per chunk and no read waits on the thread pool. A gzip file is decompressed as it
 * is read (src/trace/compressed.ts); zstd, xz and bzip2 are refused.
 */
export async function forEachLine(path: string, onLine: LineCallback, label = displayName(path)): Promise<number> {
  const reader = openBytes(path, label);
  let buf = Buffer.allocUnsafe(CHUNK_BYTES);
  /** Bytes of an unfinished line at buf[0, have), with no newline among them. */
  let have = 0;
  let lineNo = 0;
  let chunks = 0;
  try {
    for (;;) {
      if (have === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const n = reader.compressed ? await reader.read(buf, have, buf.length - have) : reader.readPlain(buf, have, buf.length - have);
      const limit = have + n;
      let pos = 0;
      for (let from = have; ; ) {
        const nl = buf.indexOf(10, from);
        if (nl < 0 || nl >= limit) break;
        lineNo++;
        const end = nl > pos && buf[nl - 1] === 13 ? nl - 1 : nl;
        if (onLine(buf, pos, end, lineNo) === false) return lineNo;
        pos = from = nl + 1;
      }
      if (n === 0) {
        if (pos < limit) {
          lineNo++;
          const end = buf[limit - 1] === 13 ? limit - 1 : limit;
          onLine(buf, pos, end, lineNo);
        }
        return lineNo;
      }
      buf.copy(buf, 0, pos, limit);
      have = limit - pos;
      if (++chunks % CHUNKS_PER_YIELD === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } catch (err) {
    throw wrapFsError(err, label);
  } finally {
    reader.close();
  }
}

/** The file name used in messages: the base name keeps one-line errors short. */
export function displayName(path: string): string {
  return basename(path);
}

/** Turn an fs error (ENOENT, EISDIR, ...) into a one-line InputError; pass other errors through. */
/** A trace file opened for reading (decompressed as it is read), its open errors in words (wrapFsError). */
export function openBytes(path: string, label: string): ByteReader {
  try {
    return ByteReader.open(path, label);
  } catch (err) {
    throw wrapFsError(err, label);
  }
}

export function wrapFsError(err: unknown, label: string): unknown {
  if (err instanceof InputError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return inputErrorAt(label, undefined, 'no such file');
  if (code === 'EISDIR') return inputErrorAt(label, undefined, 'is a directory, expected a file');
  if (code === 'EACCES') return inputErrorAt(label, undefined, 'permission denied');
  if (typeof code === 'string') return inputErrorAt(label, undefined, `cannot read (${code})`);
  return err;
}

/** Up to 60 characters of a line, for messages. */
export function excerpt(buf: Buffer, start: number, end: number): string {
  const s = buf.toString('utf8', start, Math.min(end, start + 60));
  // binary garbage: a few bytes, escaped, rather than the terminal-garbling text
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f\ufffd]/.test(s)) {
    const n = Math.min(end - start, 12);
    let out = '';
    for (let i = start; i < start + n; i++) out += buf[i] >= 0x20 && buf[i] < 0x7f && buf[i] !== 0x5c ? String.fromCharCode(buf[i]) : `\\x${buf[i].toString(16).padStart(2, '0')}`;
    return `${out}${end - start > n ? '...' : ''} (binary data)`;
  }
  return end - start > 60 ? `${s}...` : s;
}

/** A whole JSON file (one document, not JSON lines): read, a UTF-8 BOM dropped, parsed; errors name the file. */
export async function readJsonDocument(path: string, file = displayName(path)): Promise<unknown> {
  const bytes = await readWhole(path, file).catch((e: unknown) => {
    throw wrapFsError(e, file);
  });
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw inputErrorAt(file, undefined, `invalid JSON (${(e as Error).message})`);
  }
}
