/**
 * Streaming line reader over bytes: a file is read in 1 MiB chunks and each line is handed to the
 * callback as a byte range of a Buffer (no string per line unless the caller decodes one), so a
 * 1 GB trace is never held in memory, as one string or as JS objects.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError, inputErrorAt } from '../util/errors.js';

/**
 * Called once per line with `buf[start, end)` (no trailing "\n" or "\r") and its 1-based number.
 * The bytes are only valid during the call. Return `false` to stop reading.
 */
export type LineCallback = (buf: Buffer, start: number, end: number, lineNo: number) => void | boolean;

const CHUNK_BYTES = 1 << 20;

/** Read `path` line by line; resolves with the number of lines read. */
export async function forEachLine(path: string, onLine: LineCallback, label = displayName(path)): Promise<number> {
  const stream = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  let pieces: Buffer[] = [];
  let lineNo = 0;
  let stopped = false;
  const emit = (buf: Buffer, start: number, end: number): void => {
    lineNo++;
    if (end > start && buf[end - 1] === 13) end--;
    if (onLine(buf, start, end, lineNo) === false) stopped = true;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let pos = 0;
      if (pieces.length > 0) {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          pieces.push(chunk);
          continue;
        }
        pieces.push(chunk.subarray(0, nl));
        const line = Buffer.concat(pieces);
        pieces = [];
        emit(line, 0, line.length);
        if (stopped) break;
        pos = nl + 1;
      }
      for (;;) {
        const nl = chunk.indexOf(10, pos);
        if (nl < 0) break;
        emit(chunk, pos, nl);
        if (stopped) break;
        pos = nl + 1;
      }
      if (stopped) break;
      if (pos < chunk.length) pieces.push(chunk.subarray(pos));
    }
    if (!stopped && pieces.length > 0) {
      const line = Buffer.concat(pieces);
      if (line.length > 0) emit(line, 0, line.length);
    }
  } catch (err) {
    throw wrapFsError(err, label);
  } finally {
    stream.destroy();
  }
  return lineNo;
}

/** The file name used in messages: the base name keeps one-line errors short. */
export function displayName(path: string): string {
  return basename(path);
}

/** Turn an fs error (ENOENT, EISDIR, ...) into a one-line InputError; pass other errors through. */
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
  const text = await readFile(path, 'utf8').catch((e: unknown) => {
    throw wrapFsError(e, file);
  });
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw inputErrorAt(file, undefined, `invalid JSON (${(e as Error).message})`);
  }
}
