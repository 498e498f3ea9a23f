/**
 * A sweep's result files. `results.jsonl`: one JSON line per finished point, appended with one
 * write as the point finishes, so a killed sweep leaves at most a torn last line, which the next
 * reader drops (with a warning). `results.csv`: the same, flattened per point x policy; rebuilt from
 * the JSON lines whenever they are read back. `sweep.json`: what was swept, for resume and merge.
 */
import { existsSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { RunResult } from '../metrics/types.js';
import { InputError } from '../util/errors.js';
import { appendWhole, fsInputError, writeFileAtomic } from '../util/fs.js';
import { firstIssue, manifestSchema, pointRecordSchema } from './schemas.js';
export { appendWhole };
import type { Assignments, SweepDefinition } from './expand.js';

export const RESULTS_JSONL = 'results.jsonl';
export const RESULTS_CSV = 'results.csv';
export const MANIFEST = 'sweep.json';

/** One line of results.jsonl. */
export interface PointRecord {
  /** The sweep's id (all lines of a file share it). */
  sweep: string;
  /** The point's id. */
  point: string;
  index: number;
  assignments: Assignments;
  seed: number;
  result?: RunResult;
  /** Set instead of `result` when the point is invalid as a whole (e.g. its cache does not fit the GPU). */
  error?: string;
}

/** sweep.json: enough to know what a results file belongs to and to reproduce it. */
export interface SweepManifest {
  format: 'moesim-sweep/1';
  sweep: string;
  name: string;
  moesimVersion: string;
  /** The scenario file as given on the command line. */
  scenarioFile?: string;
  definition: SweepDefinition;
  /** The scenario without its sweep block. */
  base: Record<string, unknown>;
  /** Points in the whole sweep (all shards). */
  totalPoints: number;
  /** Set when this folder holds one shard. */
  shard?: { index: number; count: number };
}

export interface ReadResults {
  records: PointRecord[];
  warnings: string[];
  /** Bytes of whole, valid lines at the start of the file (where a torn tail begins). */
  goodBytes: number;
  torn: boolean;
}

/** Whether text[from..] holds only whitespace (without copying it). */
function blankFrom(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return false;
  }
  return true;
}

/**
 * Parses results.jsonl text, each line checked against the record schema. A damaged line is
 * reported (file:line: what was expected) and left out; a repeated point is dropped with one
 * warning; a last line without its newline, or that is not a whole record, is torn: dropped with a
 * warning (a whole record missing only its newline is kept). Linear in the file's size.
 */
export function parseResults(text: string, file: string): ReadResults {
  const records: PointRecord[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, number>();
  let dupes = 0;
  let firstDupe = 0;
  let pos = 0;
  let bytes = 0;
  let goodBytes = 0;
  let torn = false;
  let lineNo = 0;
  const keep = (r: PointRecord): void => {
    const key = `${r.sweep}\u0000${r.point}`;
    if (seen.has(key)) {
      if (dupes++ === 0) firstDupe = lineNo;
      return;
    }
    seen.set(key, lineNo);
    records.push(r);
  };
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const last = nl < 0;
    const line = text.slice(pos, last ? text.length : nl);
    lineNo++;
    const next = last ? text.length : nl + 1;
    bytes += Buffer.byteLength(line) + (last ? 0 : 1);
    if (line.trim() === '') {
      pos = next;
      if (!last) goodBytes = bytes;
      continue;
    }
    let parsed: unknown;
    let why = '';
    try {
      parsed = JSON.parse(line);
      const r = pointRecordSchema.safeParse(parsed);
      // the record kept is the line as written (zod's output would reorder its keys)
      if (!r.success) why = firstIssue(r.error);
    } catch (e) {
      why = `not JSON (${(e as Error).message})`;
    }
    const ok = why === '';
    if (last || (!ok && blankFrom(text, next))) {
      if (ok && !last) {
        keep(parsed as PointRecord);
        goodBytes = bytes;
      } else if (ok && last) {
        // A whole record whose newline was not written: keep it, the newline is restored on append.
        keep(parsed as PointRecord);
        goodBytes = bytes;
        torn = true;
        warnings.push(`${file}:${lineNo}: last line has no newline (an interrupted write); kept the record`);
      } else {
        torn = true;
        warnings.push(`${file}:${lineNo}: dropped a torn last line (${Buffer.byteLength(line)} bytes, an interrupted write; ${why}); its point runs again`);
      }
      break;
    }
    if (!ok) warnings.push(`${file}:${lineNo}: not a result record, left out: ${why}`);
    else keep(parsed as PointRecord);
    goodBytes = bytes;
    pos = next;
  }
  if (dupes > 0) warnings.push(`${file}: ${dupes} duplicate line${dupes === 1 ? '' : 's'} of points already read (first at line ${firstDupe}); dropped`);
  return { records, warnings, goodBytes, torn };
}

export function readResultsFile(file: string): ReadResults {
  if (!existsSync(file)) return { records: [], warnings: [], goodBytes: 0, torn: false };
  return parseResults(readFileSync(file, 'utf8'), file);
}

/**
 * Reads results.jsonl for appending: a torn tail is cut off (or, for a whole record missing only its
 * newline, the newline is added) so the next append starts a fresh line.
 */
export function repairResultsFile(file: string): ReadResults {
  const r = readResultsFile(file);
  if (r.torn) {
    const size = readFileSync(file).length;
    if (r.goodBytes < size) truncateSync(file, r.goodBytes);
    else appendWhole(file, '\n');
  }
  return r;
}

export function recordLine(r: PointRecord): string {
  return JSON.stringify(r) + '\n';
}

/** Rewrites results.jsonl in index order (atomically). */
export function writeResultsFile(file: string, records: readonly PointRecord[]): void {
  writeFileAtomic(file, sortRecords(records).map(recordLine).join(''));
}

export function sortRecords(records: readonly PointRecord[]): PointRecord[] {
  return [...records].sort((a, b) => a.index - b.index || (a.point < b.point ? -1 : a.point > b.point ? 1 : 0));
}

// ---- CSV ---------------------------------------------------------------------------------------

/** Scalar fields of an object, flattened with dots (`gpuMemory.peakBytes`); arrays are left out. */
function flatten(obj: Record<string, unknown>, prefix = '', out: Record<string, string | number | boolean> = {}): Record<string, string | number | boolean> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix + k;
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out[key] = v;
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${key}.`, out);
  }
  return out;
}

const cell = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));

/** Rows (one per point x policy; one per failed point) as objects keyed by column. */
export function csvObjects(records: readonly PointRecord[]): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = [];
  for (const r of records) {
    const head: Record<string, string> = { sweep: r.sweep, point: r.point, index: String(r.index), seed: String(r.seed) };
    for (const [path, v] of Object.entries(r.assignments)) head[path] = cell(v);
    if (!r.result) {
      rows.push({ ...head, error: r.error ?? '' });
      continue;
    }
    for (const p of r.result.results) {
      const row: Record<string, string> = { ...head, policy: p.policy, label: p.label };
      for (const [k, v] of Object.entries(flatten(p.metrics))) row[k] = cell(v);
      rows.push(row);
    }
  }
  return rows;
}

/** Columns in first-seen order over the rows. */
export function csvColumns(rows: ReadonlyArray<Record<string, string>>): string[] {
  const seen = new Set<string>(['sweep', 'point', 'index', 'seed']);
  for (const row of rows) for (const k of Object.keys(row)) if (k !== 'error') seen.add(k);
  if (rows.some((r) => 'error' in r)) seen.add('error');
  return [...seen];
}

export function csvText(rows: ReadonlyArray<Record<string, string>>, columns: readonly string[], header: boolean): string {
  const body = rows.map((r) => columns.map((c) => r[c] ?? ''));
  return stringify(header ? [[...columns], ...body] : body);
}

/** Whole results.csv from records (index order), written atomically. */
export function writeCsvFile(file: string, records: readonly PointRecord[]): string[] {
  const rows = csvObjects(sortRecords(records));
  const columns = csvColumns(rows);
  writeFileAtomic(file, rows.length ? csvText(rows, columns, true) : '');
  return columns;
}

/**
 * Appends rows to results.csv as points finish. The columns are fixed by the file's first rows; a
 * later column (a field another version adds) waits for the rebuild at the end of the sweep.
 */
export class CsvAppender {
  private columns: string[] | undefined;
  constructor(private readonly file: string, columns: string[] | undefined) {
    this.columns = columns && columns.length ? columns : undefined;
  }
  append(record: PointRecord): void {
    const rows = csvObjects([record]);
    if (rows.length === 0) return;
    let text: string;
    if (!this.columns) {
      this.columns = csvColumns(rows);
      text = csvText(rows, this.columns, true);
      writeFileAtomic(this.file, text);
      return;
    }
    text = csvText(rows, this.columns, false);
    appendWhole(this.file, text);
  }
}

// ---- manifest ------------------------------------------------------------------------------------

export function readManifest(dir: string): SweepManifest | undefined {
  const file = join(dir, MANIFEST);
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw fsInputError(e, 'read', file) instanceof InputError ? fsInputError(e, 'read', file) : new InputError(`${file}: not a moesim sweep manifest (not JSON: ${(e as Error).message})`);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) throw new InputError(`${file}: not a moesim sweep manifest: ${firstIssue(r.error)}`);
  return raw as SweepManifest;
}

export function writeManifest(dir: string, m: SweepManifest): void {
  writeFileAtomic(join(dir, MANIFEST), JSON.stringify(m, null, 2) + '\n');
}
