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
  if (r.workload?.kind === 'serving') return servingTable(r);
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

/**
 * A serving workload: one row per (policy, scheduler) with throughput, latency percentiles, SLO
 * attainment and the distinct experts a decode micro-batch activates per MoE layer.
 */
export function servingTable(r: RunResult): string {
  const slo = r.results.find((p) => p.serving?.slo)?.serving?.slo;
  const header = [
    'policy · scheduler',
    'tok/s',
    'TTFT p50 ms',
    'TTFT p99 ms',
    'TPOT p50 ms',
    'TPOT p99 ms',
    'queue p99 ms',
    ...(slo ? ['SLO %'] : []),
    'experts/µbatch',
    'hit rate',
    'stall s',
    'idle s',
    'max wait',
  ];
  const rows = r.results.map((p) => {
    const m = p.metrics;
    const s = p.serving;
    if (!s) return [p.label, ...header.slice(1).map(() => '-')];
    return [
      p.label,
      fmt(s.throughputTokensPerSec, 2),
      fmt(s.ttftMs.p50, 0),
      fmt(s.ttftMs.p99, 0),
      fmt(s.tpotMs.p50, 0),
      fmt(s.tpotMs.p99, 0),
      fmt(s.queueingMs.p99, 0),
      ...(slo ? [s.slo ? fmt(s.slo.bothPct, 1) : '-'] : []),
      fmt(s.distinctExpertsPerMicroBatch.decode, 2),
      `${fmt(100 * m.hitRate, 1)}%`,
      fmt(m.stallMs / 1e3, 1),
      fmt(m.idleMs / 1e3, 1),
      `${s.maxPassedOver}/${s.waitBound}`,
    ];
  });
  const w = r.workload!;
  const head = [
    `scenario ${r.scenario.name} (seed ${r.scenario.seed}) · model ${r.model} · hardware ${r.hardware}`,
    `trace ${r.trace.path ?? r.trace.format}: ${r.trace.tokens} tokens in ${r.trace.sequences} sequences` +
      (w.reusedSequences ? ` (reused: ${w.requests} requests sample them with the scenario's seed)` : ''),
    `workload: ${w.description}`,
    '',
  ];
  const notes = [
    '',
    'tok/s: output tokens per second of simulated time; TTFT from arrival; TPOT per request (last - first token) / (outputs - 1);',
    `experts/µbatch: distinct experts per decode micro-batch per MoE layer (mean); max wait: most decode micro-batches in a row a request was passed over / bound` +
      (slo ? `; SLO %: requests with TTFT <= ${slo.ttftMs} ms and TPOT <= ${slo.tpotMs} ms` : ''),
  ];
  const foot = r.warnings.length ? ['', ...r.warnings.map((x) => `warning: ${x}`)] : [];
  return [...head, renderTable(header, rows), ...notes, ...foot].join('\n');
}
