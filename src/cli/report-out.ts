/** Writing a report after a command, with its messages on stderr (stdout stays the command's). */
import { relative } from 'node:path';
import type { ReportSource } from '../report/data.js';
import { writeReport } from '../report/write.js';

/** A path as a message gives it: relative to `cwd` when inside it, else as given (no `../../..`). */
export function shownPath(path: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, path);
  if (rel === '') return '.';
  return rel.startsWith('..') ? path : rel;
}

/** The stderr line after a report is written: its page, the charts, and where their SVGs are. */
export function reportMessage(index: string, dir: string, charts: number, svgs: number, cwd: string = process.cwd()): string {
  return `report: ${shownPath(index, cwd)} (${charts} chart${charts === 1 ? '' : 's'}${svgs ? `, SVGs in ${shownPath(dir, cwd)}/charts/` : ''})\n`;
}

export async function writeReportAndSay(source: ReportSource, dir: string, opts: { svg?: boolean; also?: { path: string; data: string }[] } = {}): Promise<string> {
  const w = await writeReport(source, dir, opts);
  process.stderr.write(reportMessage(w.index, dir, w.charts.length, w.svgs.length));
  return w.index;
}
