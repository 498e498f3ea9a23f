/**
 * Text and HTML of `moesim replay` and `moesim validate`: pure functions of their results.
 */
import type { ReplayResult } from '../calibrate/replay.js';
import { ssdValidationLines } from './validate-ssd.js';
import type { MetricRow, ValidateResult } from '../calibrate/validate.js';
import type { Spread } from '../calibrate/drift.js';
import { chartPage, escapeHtml, type PageChart, type VegaLibraries } from './chart-page.js';
import { renderTable } from './table.js';
import { FULL_WIDTH, kindColorScale, POLICY_COLORS } from './style.js';

const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const ms = (sec: number): string => fmt(sec * 1e3, 3);

export function fmtError(e: number): string {
  if (!Number.isFinite(e)) return '-';
  return `${e >= 0 ? '+' : ''}${(100 * e).toFixed(1)}%`;
}

export interface ReplayHeader {
  scenario: string;
  scaledDescription: string;
  warnings: string[];
}

/** How a replay is timed, in one line. */
export function timingNote(r: Pick<ReplayResult, 'warmupSteps' | 'repeats'>): string {
  return (
    `timing: ${r.warmupSteps} warm-up steps untimed (separate cache), then ${r.repeats} timed pass${r.repeats === 1 ? '' : 'es'} ` +
    `over every step from an empty cache; a step's time is its median over the passes`
  );
}

export function formatReplay(r: ReplayResult, h: ReplayHeader): string {
  const header = ['policy', 'hit rate', 'hits', 'late', 'misses', 'prefetched', 'uploaded MiB', 'TTFT ms', 'TPOT ms', 'TPOT p50', 'TPOT p99', 'upload ms/step', 'expert ms/step', 'layer ms min', 'layer ms max', 'pass spread', 'on CPU', 'low-bit'];
  const n = r.trace.steps;
  const rows = r.policies.map((p) => {
    const perLayer = p.perLayerSec.map((t) => t / n);
    const spread = (Math.max(...p.passMeanStepSec) - Math.min(...p.passMeanStepSec)) / Math.min(...p.passMeanStepSec);
    return [
      p.label,
      `${fmt(100 * p.hitRate, 1)}%`,
      String(p.hits),
      String(p.lateHits),
      String(p.misses),
      String(p.prefetchUploads),
      fmt(p.bytesH2D / 2 ** 20, 1),
      fmt(p.latency.ttftMs, 3),
      fmt(p.latency.tpotMs, 3),
      fmt(p.latency.tpotP50Ms, 3),
      fmt(p.latency.tpotP99Ms, 3),
      ms(p.uploadSec / n),
      ms(p.computeSec / n),
      ms(Math.min(...perLayer)),
      ms(Math.max(...perLayer)),
      `${fmt(100 * spread, 1)}%`,
      String(p.cpuExperts),
      String(p.lowBitFetches),
    ];
  });
  return [
    `moesim replay: scenario ${h.scenario} on ${r.backend.name}: ${r.backend.device}`,
    `model: ${h.scaledDescription}`,
    `trace: ${r.trace.tokens} tokens in ${r.trace.sequences} sequence${r.trace.sequences === 1 ? "" : "s"}, ${n} steps`,
    timingNote(r),
    '',
    renderTable(header, rows),
    '',
    'late: computed from a prefetch still to be uploaded at its gate; prefetched: uploads ahead of the gate',
    'on CPU: misses computed on the CPU EP beside the device (onMiss: cpu); low-bit: misses fetched as an int4/int8 copy (onMiss: low-precision), their bytes in uploaded MiB',
    'pass spread: (slowest - fastest) / fastest mean step time over the timed passes',
    ...h.warnings.map((w) => `warning: ${w}`),
  ].join('\n');
}

function rowCells(r: MetricRow): string[] {
  const digits = r.unit === '' ? 0 : r.unit === '%' ? 2 : 3;
  const name = r.unit ? `${r.metric} (${r.unit})` : r.metric;
  const err = r.exact ? (r.simulated === r.measured ? 'identical' : 'DIFFERS') : fmtError(r.error);
  return [name, fmt(r.simulated, digits), fmt(r.measured, digits), err];
}

/** The TPOT mean row's error, per policy. */
export function tpotErrors(v: ValidateResult): { label: string; error: number }[] {
  return v.policies.map((p) => ({ label: p.label, error: p.rows.find((r) => r.metric === 'TPOT mean')!.error }));
}

const fmtRatio = (x: number): string => `x${x.toFixed(3)}`;

/** How validate timed and simulated, in lines: the replay's timing and the calibration samples between its passes. */
export function validateTimingNotes(v: ValidateResult): string[] {
  const d = v.drift;
  const waits = v.policies.every((p) => p.passes.waitShareSpread !== undefined)
    ? ["waits for a core: measured per step (the replaying thread's run-queue wait, Linux schedstat); the per-pass errors compare the simulation with each step's time less them"]
    : [];
  if (!d.interleaved) {
    return [timingNote(v), 'drift: not measured (--no-interleave): every pass simulated on the profile as calibrated', ...waits];
  }
  return [
    timingNote(v),
    `drift: a calibration sample of the profile's key points (${d.points.map((p) => p.label).join('; ')}) before the first pass and after each, ` +
      `${d.probes.length} in ${d.probeSec.toFixed(1)} s (untimed); each pass simulated with the profile's expert and upload times scaled by the samples around it (geometric mean of now / profile)`,
    ...waits,
  ];
}

/** One line: how far the machine's speed moved from the profile's over the run. */
export function driftLine(v: ValidateResult): string | undefined {
  const { expertRatio: e, uploadRatio: u, probes } = v.drift;
  if (!e || !u) return undefined;
  const r = (s: Spread) => `${fmtRatio(s.median)} (${fmtRatio(s.min)} to ${fmtRatio(s.max)})`;
  return `machine speed over the run, now / profile, median (min to max) over ${probes.length} samples: expert runs ${r(e)}, uploads ${r(u)}`;
}

const range = (s: Spread): string => `${fmtError(s.median)} (${fmtError(s.min)} to ${fmtError(s.max)})`;

/**
 * Per policy: the TPOT error of each timed pass, its median, range and mean ± sd, on a core where
 * the waits for one are measured; then against the wall clock, and with the profile as calibrated.
 */
export function passErrorTable(v: ValidateResult): string {
  const onCore = v.policies.every((p) => p.passes.waitShareSpread !== undefined);
  const header = [
    'policy',
    'passes',
    ...(onCore ? ['waited for a core', 'TPOT error on a core: median'] : ['TPOT error median']),
    'min',
    'max',
    'mean ± sd',
    ...(onCore ? ['wall clock: median (min to max)'] : []),
    ...(v.drift.interleaved || onCore ? ['profile as calibrated, wall clock'] : []),
  ];
  const rows = v.policies.map((p) => {
    const s = p.passes.tpotErrorSpread;
    return [
      p.label,
      String(s.n),
      ...(onCore ? [`${fmt(100 * p.passes.waitShareSpread!.median, 0)}% (${fmt(100 * p.passes.waitShareSpread!.min, 0)}-${fmt(100 * p.passes.waitShareSpread!.max, 0)}%)`] : []),
      fmtError(s.median),
      fmtError(s.min),
      fmtError(s.max),
      `${fmtError(s.mean)} ± ${fmt(100 * s.sd, 1)}%`,
      ...(onCore ? [range(p.passes.wallTpotErrorSpread)] : []),
      ...(v.drift.interleaved || onCore ? [range(p.passes.profileTpotErrorSpread)] : []),
    ];
  });
  const notes = [
    ...(onCore ? ["waited for a core: the share of the passes' step time the replaying thread was runnable but not running (Linux schedstat), median (min-max); on a core: against each step's time less those waits"] : []),
    ...(v.drift.interleaved || onCore ? ['profile as calibrated, wall clock: every pass simulated on the profile alone against the wall clock (validate before it measured drift)'] : []),
  ];
  return [renderTable(header, rows), ...notes].join('\n');
}

export function formatValidation(v: ValidateResult): string {
  const hw = v.profile.hardware;
  const lines = [
    `moesim validate: scenario ${v.scenario.name}, backend ${v.backend.name}: ${v.backend.device}`,
    `profile: ${v.profile.file} (${v.profile.backend}, ${v.profile.plan} plan, ${v.profile.createdAt}): ` +
      `${(hw.gpu.hbmBytesPerSec / 1e9).toFixed(2)} GB/s, ${(hw.gpu.flopsPerSec.fp32 / 1e9).toFixed(1)} GFLOP/s, ` +
      `${(hw.gpu.launchOverheadSec * 3 * 1e6).toFixed(1)} µs per expert run; upload ${(hw.link.h2dBytesPerSec / 1e9).toFixed(2)} GB/s + ${(hw.link.latencySec * 1e6).toFixed(1)} µs`,
    `model: ${v.scaled.description}`,
    `trace: ${v.trace.tokens} tokens in ${v.trace.sequences} sequence${v.trace.sequences === 1 ? "" : "s"}, ${v.trace.steps} steps`,
    ...validateTimingNotes(v),
    'simulated: the same policies on the same trace, the scaled experts on the profile\'s hardware, no non-expert work (none is executed), uploads not overlapping compute',
  ];
  for (const p of v.policies) {
    lines.push('', p.label, renderTable(['metric', 'simulated', 'measured', 'error'], p.rows.map(rowCells)));
  }
  lines.push('', `TPOT mean error: ${tpotErrors(v).map((e) => `${e.label} ${fmtError(e.error)}`).join(', ')}`);
  lines.push('', `TPOT error per timed pass (each pass's simulated TPOT against its measured one):`, passErrorTable(v));
  {
    const worst = (f: (p: ValidateResult['policies'][number]) => Spread) => `${(100 * Math.max(...v.policies.map((p) => Math.max(Math.abs(f(p).min), Math.abs(f(p).max))))).toFixed(1)}%`;
    const onCore = v.policies.every((p) => p.passes.waitShareSpread !== undefined);
    lines.push(
      `worst |TPOT error| of a pass: ${worst((p) => p.passes.tpotErrorSpread)} ${onCore ? 'on a core' : 'wall clock'}${v.drift.interleaved ? ' with the samples' : ''}; ` +
        `${worst((p) => p.passes.profileTpotErrorSpread)} wall clock with the profile as calibrated`,
    );
  }
  const drift = driftLine(v);
  if (drift) lines.push(drift);
  lines.push(...ssdValidationLines(v));
  if (v.loadAverage) lines.push(`load average at the end: ${v.loadAverage.map((x) => x.toFixed(2)).join(', ')} (other work on the machine adds timing noise)`);
  for (const w of v.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// HTML

type Chart = PageChart & { note: string; spec: Record<string, unknown> };

/** The vega-lite specs of the validation page. */
export function validationCharts(v: ValidateResult): Chart[] {
  const perStep: Record<string, unknown>[] = [];
  const residuals: Record<string, unknown>[] = [];
  const perLayer: Record<string, unknown>[] = [];
  for (const p of v.policies) {
    p.measuredStepSec.forEach((m, step) => {
      const s = p.simulatedStepSec[step];
      perStep.push({ policy: p.label, step, source: 'measured', ms: m * 1e3 });
      perStep.push({ policy: p.label, step, source: 'simulated', ms: s * 1e3 });
      residuals.push({ policy: p.label, step, measuredMs: m * 1e3, simulatedMs: s * 1e3, residualPct: (100 * (s - m)) / m });
    });
    p.measuredLayerSec.forEach((m, layer) => {
      perLayer.push({ policy: p.label, layer, source: 'measured', ms: m * 1e3 });
      perLayer.push({ policy: p.label, layer, source: 'simulated', ms: p.simulatedLayerSec[layer] * 1e3 });
    });
  }
  const kindOfPolicy = new Map(v.policies.map((p) => [p.label, (p as { policy?: string }).policy]));
  const kindOf = (label: string): string => kindOfPolicy.get(label) ?? Object.keys(POLICY_COLORS).find((k) => label === k || label.startsWith(`${k},`) || label.startsWith(`${k} `)) ?? label;
  const kinds = [...new Set(v.policies.map((p) => kindOf(p.label)))];
  const labels = v.policies.map((p) => p.label);
  const color = { field: 'kind', type: 'nominal', title: 'policy kind', scale: kindColorScale(kinds) };
  const errors = v.policies.flatMap((p) => p.rows.filter((r) => !r.exact).map((r) => ({ policy: p.label, kind: kindOf(p.label), metric: r.metric, errorPct: 100 * r.error, within: Math.abs(r.error) <= 0.1 })));
  const maxErr = Math.max(15, ...errors.map((e) => Math.abs(e.errorPct)).filter(Number.isFinite)) * 1.1;
  const metricsShown = [...new Set(errors.map((e) => e.metric))];
  for (const d of [...perStep, ...residuals, ...perLayer]) d.kind = kindOf(String(d.policy));
  const width = FULL_WIDTH;
  const passes = v.policies.flatMap((p) =>
    p.passes.order.flatMap((order, r) => [
      { policy: p.label, kind: kindOf(p.label), pass: order + 1, simulation: v.drift.interleaved ? 'with the samples around the pass' : 'profile as calibrated', errorPct: 100 * p.passes.tpotError[r] },
      ...(v.drift.interleaved ? [{ policy: p.label, kind: kindOf(p.label), pass: order + 1, simulation: 'profile as calibrated', errorPct: 100 * p.passes.profileTpotError[r] }] : []),
    ]),
  );
  const probes = v.drift.probes.flatMap((q) => [
    { sample: q.boundary, atSec: q.atSec, what: 'expert runs', ratio: q.expertRatio },
    { sample: q.boundary, atSec: q.atSec, what: 'uploads', ratio: q.uploadRatio },
  ]);
  const driftCharts: Chart[] = [
    {
      id: 'passes',
      title: 'TPOT error of each timed pass',
      note: 'Passes in the order they ran (round-robin over the policies). Filled: each pass simulated on the machine\'s speed re-measured around it, against its time on a core (less its waits for one, where measured); hollow: on the profile as calibrated, against the wall clock. A drifting or shared machine moves the hollow points together; the filled ones should stay near 0.',
      spec: {
        data: { values: passes },
        mark: { type: 'point', size: 40 },
        encoding: {
          x: { field: 'pass', type: 'quantitative', title: 'pass (order run)' },
          y: { field: 'errorPct', type: 'quantitative', title: 'TPOT error %' },
          color,
          shape: { field: 'policy', type: 'nominal', title: 'policy', sort: labels },
          fill: { condition: { test: "datum.simulation === 'profile as calibrated'", value: 'transparent' }, field: 'kind', type: 'nominal', scale: kindColorScale(kinds), legend: null },
          tooltip: [{ field: 'policy' }, { field: 'pass' }, { field: 'simulation' }, { field: 'errorPct', title: 'error %', format: '+.1f' }],
        },
        width,
        height: 220,
      },
    },
    ...(probes.length > 0
      ? [
          {
            id: 'drift',
            title: 'The machine\'s speed over the run: calibration samples between passes',
            note: 'Median time of the profile\'s key points now over their median in the profile (1 = as calibrated; 1.2 = 20% slower).',
            spec: {
              data: { values: probes },
              mark: { type: 'line', point: true },
              encoding: {
                x: { field: 'atSec', type: 'quantitative', title: 's since the first sample' },
                y: { field: 'ratio', type: 'quantitative', title: 'now / profile', scale: { zero: false } },
                color: { field: 'what', type: 'nominal', title: null },
                tooltip: [{ field: 'sample' }, { field: 'what' }, { field: 'ratio', format: '.3f' }],
              },
              width,
              height: 180,
            },
          },
        ]
      : []),
  ];
  return [
    {
      id: 'errors',
      title: 'Simulated vs measured: error per policy and metric, against the ±10% target',
      note: '(simulated - measured) / measured, one panel per metric. The shaded band is the ±10% target; a bar outside it is a miss. Counts (hits, bytes) are checked to be identical and not shown.',
      spec: {
        data: { values: errors },
        facet: { row: { field: 'metric', type: 'nominal', sort: metricsShown, title: null, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' } } },
        spec: {
          width: width - 200,
          height: { step: 18 },
          layer: [
            { mark: { type: 'rect', color: '#54a24b', opacity: 0.13 }, encoding: { x: { datum: -10, type: 'quantitative' }, x2: { datum: 10 } } },
            { mark: { type: 'rule', color: '#54a24b', strokeDash: [3, 3] }, encoding: { x: { datum: 10, type: 'quantitative' } } },
            { mark: { type: 'rule', color: '#54a24b', strokeDash: [3, 3] }, encoding: { x: { datum: -10, type: 'quantitative' } } },
            { mark: { type: 'rule', color: '#444' }, encoding: { x: { datum: 0, type: 'quantitative' } } },
            {
              mark: { type: 'bar', height: { band: 0.75 } },
              encoding: {
                y: { field: 'policy', type: 'nominal', title: null, sort: labels, axis: { labelLimit: 220 } },
                x: { field: 'errorPct', type: 'quantitative', title: 'error % (simulated vs measured)', scale: { domain: [-maxErr, maxErr] } },
                color,
                opacity: { condition: { test: 'datum.within', value: 0.95 }, value: 0.55 },
                tooltip: [{ field: 'policy' }, { field: 'metric' }, { field: 'errorPct', title: 'error %', format: '+.1f' }],
              },
            },
            {
              mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
              encoding: {
                y: { field: 'policy', type: 'nominal', sort: labels },
                x: { field: 'errorPct', type: 'quantitative' },
                text: { field: 'errorPct', format: '+.1f' },
              },
            },
          ],
        },
      },
    },
    {
      id: 'per-step',
      title: 'Time per step (token): predicted vs measured',
      note: 'Measured: median over the timed passes.',
      spec: {
        data: { values: perStep },
        mark: { type: 'line', strokeWidth: 1 },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          y: { field: 'ms', type: 'quantitative', title: 'ms' },
          color: { field: 'source', type: 'nominal', title: null, scale: { domain: ['measured', 'simulated'], range: ['#333', '#e45756'] } },
          row: { field: 'policy', type: 'nominal', title: null, sort: labels, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' } },
        },
        width: width - 160,
        height: 130,
        resolve: { scale: { y: 'independent' } },
      },
    },
    {
      id: 'scatter',
      title: 'Predicted vs measured step time',
      note: 'One point per step; the line is predicted = measured.',
      spec: {
        data: { values: residuals },
        layer: [
          { mark: { type: 'point', filled: true, opacity: 0.5, size: 18 }, encoding: { x: { field: 'measuredMs', type: 'quantitative', title: 'measured ms' }, y: { field: 'simulatedMs', type: 'quantitative', title: 'predicted ms' }, color } },
          {
            transform: [{ aggregate: [{ op: 'min', field: 'measuredMs', as: 'lo' }, { op: 'max', field: 'measuredMs', as: 'hi' }] }, { fold: ['lo', 'hi'], as: ['end', 'v'] }],
            mark: { type: 'line', color: '#888', strokeDash: [4, 4] },
            encoding: { x: { field: 'v', type: 'quantitative' }, y: { field: 'v', type: 'quantitative' } },
          },
        ],
        width: 520,
        height: 420,
      },
    },
    {
      id: 'residuals',
      title: 'Residuals per step',
      note: '(predicted - measured) / measured, per step.',
      spec: {
        data: { values: residuals },
        mark: { type: 'point', filled: true, size: 12, opacity: 0.6 },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          y: { field: 'residualPct', type: 'quantitative', title: 'residual %' },
          color,
          shape: { field: 'policy', type: 'nominal', title: 'policy', sort: labels },
        },
        width,
        height: 220,
      },
    },
    {
      id: 'per-layer',
      title: 'Time per MoE layer, per step: predicted vs measured',
      note: 'Mean over steps.',
      spec: {
        data: { values: perLayer },
        mark: 'bar',
        encoding: {
          x: { field: 'layer', type: 'ordinal' },
          xOffset: { field: 'source' },
          y: { field: 'ms', type: 'quantitative', title: 'ms per step' },
          color: { field: 'source', type: 'nominal', title: null, scale: { domain: ['measured', 'simulated'], range: ['#333', '#e45756'] } },
          row: { field: 'policy', type: 'nominal', title: null, sort: labels, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' } },
        },
        width: width - 160,
        height: 120,
      },
    },
    ...driftCharts,
  ];
}

function htmlTable(header: string[], rows: string[][]): string {
  const th = header.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${i > 0 ? ' class="num"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A self-contained page (vega, vega-lite and vega-embed inlined): works offline. */
export function renderValidationHtml(v: ValidateResult, libs: VegaLibraries): string {
  const tables = v.policies
    .map((p) => `<h3>${escapeHtml(p.label)}</h3><div class="scroll">${htmlTable(['metric', 'simulated', 'measured', 'error'], p.rows.map(rowCells))}</div>`)
    .join('\n');
  const within = tpotErrors(v).filter((e) => Math.abs(e.error) <= 0.1).length;
  const facts: Array<[string, string]> = [
    ['backend', `${v.backend.name}: ${v.backend.device}`],
    ['model', v.scaled.description],
    ['trace', `${v.trace.tokens} token${v.trace.tokens === 1 ? '' : 's'} in ${v.trace.sequences} sequence${v.trace.sequences === 1 ? '' : 's'}, ${v.trace.steps} steps`],
    ['TPOT within ±10%', `${within} of ${v.policies.length} policies`],
    ['drift', driftLine(v) ?? 'not measured (--no-interleave)'],
  ];
  return chartPage({
    title: `moesim validate: ${v.scenario.name} on ${v.backend.name}`,
    facts,
    summary: formatValidation(v),
    summaryTitle: 'The validation as printed on the terminal',
    html: `<section class="chart" id="tables"><h2>Simulated vs measured, per policy</h2>${tables}</section>`,
    charts: validationCharts(v),
    libs,
  });
}
