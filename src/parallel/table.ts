/** The printed comparison of a ParallelRunResult: one row per (placement, cache policy). */
import type { ParallelRunResult } from './run.js';

const pad = (s: string, n: number, right = false) => (right ? s.padStart(n) : s.padEnd(n));

export function parallelTable(r: ParallelRunResult): string {
  const f = r.fabric;
  const head = [
    `${r.scenario.name}: ${r.model} on ${f.gpus} x ${r.hardware} (${f.nodes} node${f.nodes === 1 ? '' : 's'}, ${f.intraNode}${f.nodes > 1 ? ` + ${f.interNode}` : ''}), attention ${f.attention === 'coherent' ? 'context-coherent (ExFlow)' : `${f.attention}-parallel`}, ${f.allToAll} all-to-all`,
    r.workload !== undefined
      ? `trace ${r.trace.source}: placement trained on tokens 0..${r.trace.trainTokens - 1}; serving requests drawn from the other ${r.trace.evalTokens}: ${r.workload}`
      : `trace ${r.trace.source}: placement trained on tokens 0..${r.trace.trainTokens - 1}, evaluated on ${r.trace.evalTokens === r.trace.trainTokens && r.inSample ? 'the same' : 'the other'} ${r.trace.evalTokens} in steps of ${r.batchTokens} tokens`,
  ];
  const servingCols = r.workload !== undefined ? ['TTFT ms', 'p50', 'p99'] : [];
  const tpotCols = r.workload !== undefined ? ['TPOT ms', 'p50', 'p99'] : ['TPOT ms', 'p99 ms'];
  const cols = ['placement | cache', ...servingCols, ...tpotCols, 'tok/s', 'imbalance', 'tok imb', 'a2a MB/step', 'a2a ms/step', 'cross %', 'top-1 hops', 'objective eval ms (rr)', 'migr'];
  const rows = r.runs.map((x) => [
    x.label,
    ...(x.serving ? [x.serving.ttftMs.mean, x.serving.ttftMs.p50, x.serving.ttftMs.p99, x.serving.tpotMs.mean, x.serving.tpotMs.p50, x.serving.tpotMs.p99].map((v) => v.toFixed(3)) : [x.tpotMeanMs.toFixed(3), x.tpotP99Ms.toFixed(3)]),
    x.throughputTokPerSec.toFixed(1),
    x.meanImbalance.toFixed(3),
    x.meanTokenImbalance.toFixed(3),
    (x.collectiveBytes / Math.max(1, x.steps) / 1e6).toFixed(3),
    ((x.collectiveSec / Math.max(1, x.steps)) * 1e3).toFixed(3),
    (x.crossFraction * 100).toFixed(1),
    x.top1Hops !== undefined ? x.top1Hops.toFixed(2) : '-',
    x.objective ? `${(x.objective.evalSec * 1e3).toFixed(2)} (${(x.objective.roundRobinEvalSec * 1e3).toFixed(2)})` : '-',
    String(x.migrations),
  ]);
  const w = cols.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, w[i], i > 0)).join('  ');
  // One line per placement (its label, e.g. two moetuner programs side by side), not per cache policy.
  const notes = r.runs.filter((x, i, a) => a.findIndex((y) => y.placement === x.placement && y.note === x.note) === i).map((x) => `  ${x.label.split(' | ')[0]}: ${x.note}`);
  // Per-GPU busy time (its compute: attention, experts, the tail; collectives and fetch waits not counted) and expert time, per step.
  const lw = Math.max(...r.runs.map((x) => x.label.length));
  const perStep = (sec: number, steps: number) => ((sec / Math.max(1, steps)) * 1e3).toFixed(3);
  const busy = r.runs.map((x) => `  ${pad(x.label, lw)}  ${x.gpus.map((g) => `${perStep(g.busySec, x.steps)} (${perStep(g.expertSec, x.steps)})`).join('  ')}`);
  return [...head, '', line(cols), ...rows.map(line), '', `per-GPU busy ms/step (expert ms/step), GPU 0..${f.gpus - 1}:`, ...busy, '', 'placements:', ...notes, ...r.warnings.map((m) => `warning: ${m}`)].join('\n');
}
