/**
 * Compressed trace files, recognised by their magic bytes (not the extension): gzip (1f 8b,
 * RFC 1952) is decompressed as it is read, with node:zlib's streaming Gunzip (concatenated members
 * included), so every importer reads `.jsonl.gz`, `.csv.gz`, `.npy.gz`, ... as it reads the plain
 * file and a large log is never held in memory decompressed. zstd (28 b5 2f fd), xz (fd 37 7a 58 5a 00)
 * and bzip2 ("BZh") have no streaming decoder in Node 20's standard library nor in this package's
 * dependencies: they are refused with the command that decompresses them.
 *
 * A truncated or corrupt gzip stream is a one-line error naming the file.
 */
import { constants as bufferConstants } from 'node:buffer';
import { closeSync, createReadStream, createWriteStream, openSync, readSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InputError, inputErrorAt } from '../util/errors.js';

export type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2';

/** File name suffixes that name a compression; the trace format is read from the extension before them. */
export const COMPRESSION_SUFFIXES = ['.gz', '.gzip', '.zst', '.zstd', '.xz', '.bz2'];

/** The compression a file's first bytes announce, or undefined for a plain file. */
export function compressionOfBytes(b: Uint8Array): Compression | undefined {
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length >= 4 && b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return 'zstd';
  if (b.length >= 6 && b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58 && b[4] === 0x5a && b[5] === 0x00) return 'xz';
  // "BZh" then the block size digit 1..9
  if (b.length >= 4 && b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68 && b[3] >= 0x31 && b[3] <= 0x39) return 'bzip2';
  return undefined;
}

/** The compression of the file at `path` (its first 6 bytes); fs errors pass through. */
export function compressionOf(path: string): Compression | undefined {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(6);
    const n = readSync(fd, b, 0, 6, 0);
    return compressionOfBytes(b.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

const UNSUPPORTED: Record<Exclude<Compression, 'gzip'>, string> = {
  zstd: 'zstd-compressed: decompress with `zstd -d` first',
  xz: 'xz-compressed: decompress with `xz -d` first',
  bzip2: 'bzip2-compressed: decompress with `bzip2 -d` first',
};

/** Throws the one-line refusal for a compression moesim cannot stream; gzip passes. */
export function requireReadable(c: Compression | undefined, file: string): void {
  if (c !== undefined && c !== 'gzip') throw inputErrorAt(file, undefined, UNSUPPORTED[c]);
}

/** The extension that names the trace format: "x.jsonl.gz" -> ".jsonl", "x.csv" -> ".csv" (lower case). */
export function innerExtension(path: string): string {
  const ext = extname(path).toLowerCase();
  if (!COMPRESSION_SUFFIXES.includes(ext)) return ext;
  return extname(path.slice(0, -ext.length)).toLowerCase();
}

/** The file name without its compression suffix ("layer3.parquet.gz" -> "layer3.parquet"). */
export function withoutCompressionSuffix(name: string): string {
  const ext = extname(name).toLowerCase();
  return COMPRESSION_SUFFIXES.includes(ext) ? name.slice(0, -ext.length) : name;
}

function gzipError(err: unknown, file: string): unknown {
  if (err instanceof InputError) return err;
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && (e.code.startsWith('Z_') || e.code.startsWith('ERR_'))) {
    const what = e.code === 'Z_BUF_ERROR' ? 'truncated gzip data' : 'corrupt gzip data';
    return inputErrorAt(file, undefined, `${what} (${e.message}); the file was cut short or damaged`);
  }
  return err;
}

/**
 * A file read front to back, decompressed if it is gzip: `read` fills up to `len` bytes and returns
 * fewer only at the end. Plain files are read with synchronous reads (no thread-pool wait).
 */
export class ByteReader {
  private fd = -1;
  private pos = 0;
  private iter: AsyncIterator<Buffer> | undefined;
  private stream: { destroy(): void } | undefined;
  private source: { destroy(): void } | undefined;
  private pending: Buffer | undefined;
  private pendingAt = 0;
  private done = false;
  /** Bytes handed out so far (decompressed). */
  offset = 0;

  private constructor(
    readonly path: string,
    readonly file: string,
    readonly compression: Compression | undefined,
  ) {}

  /** Open `path`; `file` names it in messages. A zstd, xz or bzip2 file is refused here. */
  static open(path: string, file: string): ByteReader {
    const c = compressionOf(path);
    requireReadable(c, file);
    const r = new ByteReader(path, file, c);
    if (c === 'gzip') {
      const src = createReadStream(path, { highWaterMark: 1 << 20 });
      const gz = createGunzip({ chunkSize: 1 << 18 });
      src.on('error', (e) => gz.destroy(e));
      src.pipe(gz);
      r.stream = gz;
      r.source = src;
      r.iter = gz[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    } else r.fd = openSync(path, 'r');
    return r;
  }

  get compressed(): boolean {
    return this.compression !== undefined;
  }

  /** A plain file's next bytes, read at once (no await): for readers whose hot loop should not yield per chunk. */
  readPlain(buf: Uint8Array, off: number, len: number): number {
    let got = 0;
    while (got < len) {
      const n = readSync(this.fd, buf, off + got, len - got, this.pos);
      if (n === 0) break;
      got += n;
      this.pos += n;
    }
    this.offset += got;
    return got;
  }

  /** Read up to `len` bytes into `buf` at `off`. */
  async read(buf: Uint8Array, off: number, len: number): Promise<number> {
    if (this.iter === undefined) return this.readPlain(buf, off, len);
    let got = 0;
    while (got < len) {
      if (this.pending === undefined || this.pendingAt >= this.pending.length) {
        if (this.done) break;
        let r: IteratorResult<Buffer>;
        try {
          r = await this.iter.next();
        } catch (e) {
          throw gzipError(e, this.file);
        }
        if (r.done === true) {
          this.done = true;
          break;
        }
        this.pending = r.value;
        this.pendingAt = 0;
        continue;
      }
      const n = Math.min(len - got, this.pending.length - this.pendingAt);
      buf.set(this.pending.subarray(this.pendingAt, this.pendingAt + n), off + got);
      this.pendingAt += n;
      got += n;
    }
    this.offset += got;
    return got;
  }

  /** Skip `n` bytes; returns how many were skipped (fewer only at the end). */
  async skip(n: number): Promise<number> {
    if (this.iter === undefined) {
      this.pos += n;
      this.offset += n;
      return n;
    }
    const scratch = Buffer.allocUnsafe(Math.min(n, 1 << 20));
    let left = n;
    while (left > 0) {
      const got = await this.read(scratch, 0, Math.min(left, scratch.length));
      if (got === 0) break;
      left -= got;
    }
    return n - left;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    // both ends: the file is closed even when reading stops early (a sniff, a line callback that stops)
    this.stream?.destroy();
    this.source?.destroy();
    this.stream = undefined;
    this.source = undefined;
  }
}

/** The first `n` bytes of a file, decompressed (fewer if it is shorter). */
export async function readHead(path: string, n: number, file = basename(path)): Promise<Buffer> {
  const r = ByteReader.open(path, file);
  try {
    const b = Buffer.alloc(n);
    const got = await r.read(b, 0, n);
    return b.subarray(0, got);
  } finally {
    r.close();
  }
}

const WHOLE = 'the most moesim reads whole (a JSON document, an .npz or a .pt); expected a smaller file (a JSON Lines log is read line by line)';

/**
 * A whole file, decompressed (for formats that need it whole: a JSON document, an .npz's directory), at
 * most `maxBytes` (Node's largest Buffer): past it, one line naming the file, not a RangeError.
 */
export async function readWhole(path: string, file = basename(path), maxBytes: number = bufferConstants.MAX_LENGTH): Promise<Buffer> {
  const c = compressionOf(path);
  requireReadable(c, file);
  if (c === undefined) {
    const size = statSync(path).size;
    if (size > maxBytes) throw inputErrorAt(file, undefined, `${size} bytes, more than ${maxBytes}, ${WHOLE}`);
    return readFile(path);
  }
  const r = ByteReader.open(path, file);
  try {
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const b = Buffer.allocUnsafe(1 << 20);
      const got = await r.read(b, 0, b.length);
      if (got === 0) break;
      total += got;
      // a gzip bomb stops here, before it is held whole
      if (total > maxBytes) throw inputErrorAt(file, undefined, `decompresses to more than ${maxBytes} bytes, ${WHOLE}`);
      parts.push(got === b.length ? b : b.subarray(0, got));
    }
    return Buffer.concat(parts);
  } finally {
    r.close();
  }
}

/**
 * A gzip file decompressed, streaming, into a private temporary folder under the same name less
 * ".gz" (so messages still name it), for a format read by random access (Parquet). `cleanup`
 * removes the folder.
 */
export async function decompressToTemp(path: string, file = basename(path)): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'moesim-gz-'));
  const out = join(dir, withoutCompressionSuffix(basename(path)));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await pipeline(createReadStream(path), createGunzip(), createWriteStream(out));
  } catch (e) {
    await cleanup();
    throw gzipError(e, file);
  }
  return { path: out, cleanup };
}

/** A file's name without its directory, compression suffix and extension ("q7.json.gz" -> "q7"). */
export function fileStem(path: string): string {
  const name = withoutCompressionSuffix(basename(path));
  return basename(name, extname(name));
}
