/** Plain-text tables of results: pure functions of a RunResult. */
import type { RunResult } from '../metrics/types.js';

const GiB = 2 ** 30;

function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return '-';
  return x.toFixed(digits);
}

const NUMERIC = /^[-+]?[\d.,]+%?$|^-$/;

/** Right-aligns numeric columns, left-aligns text columns. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = header.map((_, i) => i > 0 && rows.length > 0 && rows.every((r) => NUMERIC.test(r[i])));
  const line = (cells: string[]) => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function comparisonTable(r: RunResult): string {
  const header = ['policy', 'hit rate', 'misses', 'H2D GiB', 'stall ms', 'TTFT ms', 'TPOT ms', 'TPOT p99', 'tok/s', 'GPU GiB', 'saved %'];
  const rows = r.results.map((p) => {
    const m = p.metrics;
    return [
      p.label,
      `${fmt(100 * m.hitRate, 1)}%`,
      String(m.misses),
      fmt(m.bytesH2D / GiB, 2),
      fmt(m.stallMs, 1),
      fmt(m.ttftMs, 2),
      fmt(m.tpotMs, 2),
      fmt(m.tpotP99Ms, 2),
      fmt(m.tokensPerSec, 1),
      fmt(m.gpuMemoryBytes / GiB, 2),
      fmt(m.memorySavingPct, 1),
    ];
  });
  const head = [
    `scenario ${r.scenario.name} (seed ${r.scenario.seed}) · model ${r.model} · hardware ${r.hardware}`,
    `trace ${r.trace.path ?? r.trace.format}: ${r.trace.tokens} tokens in ${r.trace.sequences} sequences`,
    '',
  ];
  const foot = r.warnings.length ? ['', ...r.warnings.map((w) => `warning: ${w}`)] : [];
  return [...head, renderTable(header, rows), ...foot].join('\n');
}
