/** Writing a report after a command, with its messages on stderr (stdout stays the command's). */
import { relative } from 'node:path';
import type { ReportSource } from '../report/data.js';
import { writeReport } from '../report/write.js';

export async function writeReportAndSay(source: ReportSource, dir: string, opts: { svg?: boolean; also?: { path: string; data: string }[] } = {}): Promise<string> {
  const w = await writeReport(source, dir, opts);
  const rel = relative(process.cwd(), w.index) || w.index;
  process.stderr.write(`report: ${rel.startsWith('..') ? w.index : rel} (${w.charts.length} chart${w.charts.length === 1 ? '' : 's'}${w.svgs.length ? `, SVGs in ${relative(process.cwd(), dir) || '.'}/charts/` : ''})\n`);
  return w.index;
}
