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
import { appendWhole, writeFileAtomic } from '../util/fs.js';
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

function isRecord(x: unknown): x is PointRecord {
  const r = x as PointRecord;
  return typeof r === 'object' && r !== null && typeof r.sweep === 'string' && typeof r.point === 'string' && typeof r.index === 'number' && (r.result !== undefined || typeof r.error === 'string');
}

/** Parses results.jsonl text. A last line without its newline, or that is not a whole record, is torn: dropped with a warning. */
export function parseResults(text: string, file: string): ReadResults {
  const records: PointRecord[] = [];
  const warnings: string[] = [];
  let pos = 0;
  let goodBytes = 0;
  let torn = false;
  let lineNo = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const last = nl < 0;
    const line = text.slice(pos, last ? text.length : nl);
    lineNo++;
    const next = last ? text.length : nl + 1;
    if (line.trim() === '') {
      pos = next;
      if (!last) goodBytes = Buffer.byteLength(text.slice(0, next));
      continue;
    }
    let parsed: unknown;
    let ok = false;
    try {
      parsed = JSON.parse(line);
      ok = isRecord(parsed);
    } catch {
      ok = false;
    }
    if (last || (!ok && text.slice(next).trim() === '')) {
      if (ok && !last) {
        records.push(parsed as PointRecord);
        goodBytes = Buffer.byteLength(text.slice(0, next));
      } else if (ok && last) {
        // A whole record whose newline was not written: keep it, the newline is restored on append.
        records.push(parsed as PointRecord);
        goodBytes = Buffer.byteLength(text);
        torn = true;
        warnings.push(`${file}:${lineNo}: last line has no newline (an interrupted write); kept the record`);
      } else {
        torn = true;
        warnings.push(`${file}:${lineNo}: dropped a torn last line (${Buffer.byteLength(line)} bytes, an interrupted write); its point runs again`);
      }
      break;
    }
    if (!ok) {
      warnings.push(`${file}:${lineNo}: not a result record; ignored`);
    } else {
      records.push(parsed as PointRecord);
    }
    goodBytes = Buffer.byteLength(text.slice(0, next));
    pos = next;
  }
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
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as SweepManifest;
    if (m.format !== 'moesim-sweep/1' || typeof m.sweep !== 'string') throw new Error('not a moesim sweep manifest');
    return m;
  } catch (e) {
    throw new InputError(`${file}: not a moesim sweep manifest (${(e as Error).message})`);
  }
}

export function writeManifest(dir: string, m: SweepManifest): void {
  writeFileAtomic(join(dir, MANIFEST), JSON.stringify(m, null, 2) + '\n');
}
