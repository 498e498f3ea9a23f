/** Plain-text tables of results: pure functions of a RunResult. */
import { plural } from './style.js';
import type { PredictorReport, RunResult } from '../metrics/types.js';
import { tierTable } from './tiers.js';

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
    `trace ${r.trace.path ?? r.trace.format}: ${plural(r.trace.tokens, 'token')} in ${plural(r.trace.sequences, 'sequence')}`,
    '',
  ];
  const extra: string[] = [];
  const pf = prefetchTable(r);
  if (pf) extra.push('', pf);
  const pr = predictorTable(r);
  if (pr) extra.push('', pr);
  const tt = tierTable(r); // issue 16
  if (tt) extra.push('', tt);
  const foot = r.warnings.length ? ['', ...r.warnings.map((w) => `warning: ${w}`)] : [];
  return [...head, renderTable(header, rows), ...extra, ...foot].join('\n');
}

const pct = (x: number) => `${fmt(100 * x, 1)}%`;

/**
 * Prefetching, miss handling and the stall split, when some policy prefetches or handles misses
 * other than by fetching; null otherwise.
 */
export function prefetchTable(r: RunResult): string | null {
  const shown = r.results.filter((p) => p.prefetch !== undefined || (p.onMiss !== undefined && p.onMiss !== 'fetch'));
  if (shown.length === 0) return null;
  // The SSD class (issue 16) only where a run has a storage tier behind host DRAM.
  const ssd = shown.some((p) => p.metrics.stallSplitMs.ssdMs !== undefined);
  const header = ['policy', 'hits', 'late', 'misses', 'pf hits', 'pf wasted', 'wasted GiB', 'cancelled', 'stall ms', 'capacity', 'mispred', 'link queue', '(late pf)', 'cpu wait', ...(ssd ? ['ssd wait'] : []), 'CPU %', 'low-bit %', 'plan P', 'plan R'];
  const rows = r.results
    .filter((p) => p.policy !== 'all-on-gpu')
    .map((p) => {
      const m = p.metrics;
      const s = m.stallSplitMs;
      const f = m.prefetch;
      const pfCols = p.prefetch ? [String(f.hits), String(f.wasted), fmt(f.wastedBytes / GiB, 2), String(f.cancelled)] : ['-', '-', '-', '-'];
      return [
        p.label,
        String(m.hits),
        String(m.lateHits),
        String(m.misses),
        ...pfCols,
        fmt(m.stallMs, 1),
        fmt(s.capacityMs, 1),
        fmt(s.mispredictionMs, 1),
        fmt(s.linkQueueMs, 1),
        fmt(s.latePrefetchMs, 1),
        fmt(s.cpuMs, 1),
        ...(ssd ? [s.ssdMs !== undefined ? fmt(s.ssdMs, 1) : '-'] : []),
        pct(m.onMiss.cpuShare),
        pct(m.onMiss.lowPrecisionShare),
        m.plan ? fmt(m.plan.precision, 2) : '-',
        m.plan ? fmt(m.plan.recall, 2) : '-',
      ];
    });
  return [
    'prefetching and miss handling: hits = resident and arrived; late = resident but still on the link (a late prefetch); stall split in ms;',
    'plan P/R = precision/recall of the prefetch plan against each gate; CPU % / low-bit % = share of expert computations',
    '',
    renderTable(header, rows),
  ].join('\n');
}

/** Predictor accuracy per lookahead distance (precision / recall / top-k accuracy), one row per distinct predictor. */
export function predictorTable(r: RunResult): string | null {
  const seen = new Set<string>();
  const reports = [];
  for (const p of r.results) {
    if (!p.predictor) continue;
    const key = JSON.stringify(p.predictor.spec);
    if (seen.has(key)) continue;
    seen.add(key);
    reports.push(p.predictor);
  }
  if (reports.length === 0) return null;
  const maxD = Math.max(...reports.map((x) => x.evaluation.perLookahead.length));
  const ds = [1, 2, 3, 4, 8, 16, 32].filter((d) => d <= maxD);
  const header = ['predictor', 'training', 'params', 'train ms', ...ds.map((d) => `d=${d} P/R/top-k`)];
  const rows = reports.map((x) => {
    const spec = x.spec as Record<string, unknown>;
    const args = Object.entries(spec)
      .filter(([k]) => k !== 'kind' && k !== 'train')
      .map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toPrecision(3) : String(v)}`)
      .join(', ');
    return [
      args ? `${x.kind} (${args})` : x.kind,
      x.training.mode,
      String(x.parameters),
      x.trainMs !== undefined ? fmt(x.trainMs, 0) : '-',
      ...ds.map((d) => {
        const a = x.evaluation.perLookahead.find((e) => e.lookahead === d);
        return a && a.samples > 0 ? `${fmt(a.precision, 2)}/${fmt(a.recall, 2)}/${fmt(a.topKAccuracy, 2)}` : '-';
      }),
    ];
  });
  const notes = reports.map((x) => `  ${x.kind}: evaluated on ${x.training.evaluatedOn}${x.training.offlineOn ? `; trained offline on ${x.training.offlineOn}` : ''}`);
  return [
    'predictor accuracy by lookahead d (d = 1: the next layer, asked right after a gate; d = l + 1: layer l, asked before the forward pass)',
    '',
    renderTable(header, rows),
    ...[...new Set(notes)],
    ...publishedLines(reports),
  ].join('\n');
}

/** The paper's accuracy next to the measured one, for predictors standing for a system's (PredictorReport.published). */
function publishedLines(reports: readonly PredictorReport[]): string[] {
  const withPaper = reports.filter((x) => x.published);
  if (withPaper.length === 0) return [];
  const header = ['predictor', 'system', 'paper metric', 'measured here', 'published', 'source'];
  const rows = withPaper.map((x) => {
    const c = x.published!;
    return [
      x.kind,
      c.system,
      c.metric ?? '-',
      c.measured === null ? '-' : fmt(c.measured, 3),
      c.value === null ? 'no number' : `${c.bound === 'lower' ? '> ' : ''}${fmt(c.value, 3)}`,
      `${c.paper}, ${c.where}`,
    ];
  });
  const notes = withPaper.map((x) => `  ${x.published!.system}: ${x.published!.measuredAs}; paper: ${x.published!.setting}; ${x.published!.note}`);
  return ['', 'predictors against their papers (measured on this run\'s trace, in the paper\'s metric)', '', renderTable(header, rows), ...[...new Set(notes)]];
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
    `trace ${r.trace.path ?? r.trace.format}: ${plural(r.trace.tokens, 'token')} in ${plural(r.trace.sequences, 'sequence')}` +
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
  const sp = schedulerPredictorTable(r);
  const foot = r.warnings.length ? ['', ...r.warnings.map((x) => `warning: ${x}`)] : [];
  return [...head, renderTable(header, rows), ...notes, ...(sp ? ['', sp] : []), ...foot].join('\n');
}

/** The predictors token schedulers predicted routing paths with, and their accuracy over the run; null when none did. */
export function schedulerPredictorTable(r: RunResult): string | null {
  const shown = r.results.filter((p) => p.schedulerPredictor);
  if (shown.length === 0) return null;
  const header = ['policy · scheduler', 'predictor', 'training', 'params', 'tokens', 'path P', 'path R'];
  const rows = shown.map((p) => {
    const x = p.schedulerPredictor!;
    return [p.label, x.kind, x.training.mode, String(x.parameters), String(x.accuracy.tokens), fmt(x.accuracy.precision, 3), fmt(x.accuracy.recall, 3)];
  });
  const notes = [...new Set(shown.filter((p) => p.schedulerPredictor!.training.offlineOn).map((p) => `  ${p.schedulerPredictor!.kind}: trained offline on ${p.schedulerPredictor!.training.offlineOn}`))];
  for (const p of shown) {
    const c = p.schedulerPredictor!.published;
    if (!c) continue;
    const value = c.value === null ? 'no number' : `${c.bound === 'lower' ? 'above ' : ''}${fmt(c.value, 3)}`;
    notes.push(`  ${p.label}: path R ${fmt(c.measured ?? 0, 3)} against ${c.system}'s published ${value} (${c.paper}, ${c.where}; measured as ${c.measuredAs})`);
  }
  return [
    "scheduler predictions: each decode token's routing path, predicted before its forward pass from what had run, against its routing (precision / recall over (token, MoE layer))",
    '',
    renderTable(header, rows),
    ...notes,
  ].join('\n');
}
