/**
 * Issue 16: where each byte came from and where the time went per memory tier, as a table for the
 * terminal and a chart for the report. Pure functions of a RunResult / ReportSource; absent when
 * no result has tiers (no SSD, no unified memory, no hostTier block).
 */
import type { RunResult } from '../metrics/types.js';
import type { TierMetrics } from '../metrics/tiers.js';
import type { Chart } from './charts.js';
import type { ReportSource } from './data.js';
import { chartConfig, FULL_WIDTH, SCHEMA } from './style.js';
import { renderTable } from './table.js';

const GiB = 2 ** 30;
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');

/** Per policy: host DRAM (available / needed), host tier hit rate, bytes per link, busy time per resource. */
export function tierTable(r: RunResult): string | null {
  const rows = r.results.filter((p) => p.tiers);
  if (rows.length === 0) return null;
  const header = ['policy', 'tiers', 'DRAM GiB', 'needs GiB', 'host hit', 'SSD reads', 'SSD->host GiB', 'host->GPU GiB', 'SSD->GPU GiB', 'GPU busy ms', 'link busy ms', 'SSD busy ms', 'stall ms', 'SSD wait ms'];
  const body = rows.map((p) => {
    const t = p.tiers!;
    return [
      p.label,
      t.mode,
      f(t.hostDram.availableBytes / GiB, 1),
      f(t.hostDram.neededBytes / GiB, 1),
      t.host ? `${f(100 * t.host.hitRate, 1)}%` : '-',
      t.ssd ? String(t.ssd.reads) : '-',
      f(t.bytes.ssdToHost / GiB),
      f(t.bytes.hostToGpu / GiB),
      f(t.bytes.ssdToGpu / GiB),
      f(t.busyMs.gpu, 1),
      f(t.busyMs.hostToGpu, 1),
      f(t.mode === 'ssd-direct' ? t.busyMs.ssdToGpu : t.busyMs.ssdToHost, 1),
      f(p.metrics.stallMs, 1),
      p.metrics.stallSplitMs.ssdMs !== undefined ? f(p.metrics.stallSplitMs.ssdMs, 1) : '-',
    ];
  });
  const drive = rows[0].tiers!.storage;
  const out = [
    `memory tiers${drive ? ` (storage: ${drive})` : ''}: bytes charged to the link each crossed; SSD wait = the part of the GPU's stall spent waiting for SSD reads into host DRAM (three tiers)`,
    renderTable(header, body),
  ];
  const bounded = rows.filter((p) => p.tiers!.bounds);
  if (bounded.length > 0) {
    const c = bounded[0].tiers!.bounds!.perExpertSec;
    out.push(
      '',
      `tier bounds: link seconds to serve the run's ${bounded[0].tiers!.bounds!.accesses} expert accesses = host->GPU copies x ${f(1e3 * c.hostToGpu, 3)} ms + SSD reads x ${f(1e3 * c.ssdRead, 3)} ms (per expert); per-tier Belady = Belady on the GPU, then on host DRAM over its misses; joint = both tiers' decisions together (sim/tier-optimum.ts)`,
      renderTable(['policy', 'copies', 'SSD reads', 'run s', 'per-tier Belady s', 'joint s', 'joint'], bounded.map((p) => boundRow(p.label, p.tiers!.bounds!))),
    );
  }
  return out.join('\n');
}

/** One policy's bounds: its moves, per-tier Belady's, the joint optimum (exact, a bound with its gap, or why skipped). */
function boundRow(label: string, b: NonNullable<TierMetrics['bounds']>): string[] {
  const j = b.joint;
  let what: string;
  if (j.method === 'skipped') what = j.status;
  else if (j.exact) what = j.method === 'mip' ? 'joint optimum (exact, HiGHS MIP)' : 'joint optimum (exact: HiGHS LP relaxation integral)';
  else if (j.lowerBoundSec === undefined) what = `no bound (HiGHS ${j.method}: ${j.status})`;
  else what = `${j.method === 'lp' ? 'LP lower bound' : `MIP bound (${j.status})`}, gap ${f(j.gapPct ?? NaN, 1)}%`;
  const value = j.exact && j.best ? j.best.transferSec : j.lowerBoundSec;
  return [label, String(b.run.gpuFetches), String(b.run.ssdReads), f(b.run.transferSec, 3), f(b.perTierBelady.transferSec, 3), value === undefined ? '-' : `${j.exact ? '' : '>= '}${f(value, 3)}`, what];
}

/** The report's chart of bytes per link and busy time per resource, one bar per policy. */
export function tierCharts(src: ReportSource): Chart[] {
  const point = src.points.find((p) => p.result?.results.some((q) => q.tiers));
  const r = point?.result;
  if (!r) return [];
  const bytes: Array<Record<string, unknown>> = [];
  const time: Array<Record<string, unknown>> = [];
  const stall: Array<Record<string, unknown>> = [];
  for (const p of r.results) {
    const t = p.tiers;
    if (!t) continue;
    const b = [
      ['SSD -> host DRAM', t.bytes.ssdToHost],
      ['host DRAM -> GPU', t.bytes.hostToGpu],
      ['SSD -> GPU (unified / GPUDirect)', t.bytes.ssdToGpu],
    ] as const;
    for (const [link, v] of b) bytes.push({ label: p.label, panel: 'bytes moved (GiB)', part: link, value: Number((v / GiB).toPrecision(6)) });
    const s = [
      ['GPU compute', t.busyMs.gpu],
      ['host -> GPU link', t.busyMs.hostToGpu],
      ['SSD reads', t.busyMs.ssdToHost + t.busyMs.ssdToGpu],
    ] as const;
    for (const [res, v] of s) time.push({ label: p.label, panel: 'busy time (ms)', part: res, value: Number(v.toPrecision(6)) });
    // What the GPU waited on (the stall classes add up to the stall): the SSD, the copy, the link's queue, the CPU.
    const sp = p.metrics.stallSplitMs;
    const w = [
      ...(sp.ssdMs !== undefined ? ([['SSD reads (into host DRAM)', sp.ssdMs]] as const) : []),
      [t.mode === 'ssd-direct' ? 'fetch from the SSD' : 'host -> GPU copy', sp.capacityMs + sp.mispredictionMs],
      ['link queue', sp.linkQueueMs],
      ['CPU experts', sp.cpuMs],
    ] as const;
    for (const [cls, v] of w) stall.push({ label: p.label, panel: 'GPU stall (ms)', part: cls, value: Number(v.toPrecision(6)) });
  }
  const bar = (title: string) => ({
    width: Math.floor((FULL_WIDTH - 90) / 3),
    height: 220,
    transform: [{ filter: { field: 'panel', equal: title } }],
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'label', type: 'nominal', title: null },
      x: { field: 'value', type: 'quantitative', title, stack: 'zero' },
      color: { field: 'part', type: 'nominal', title: 'tier / resource' },
      tooltip: [{ field: 'label' }, { field: 'part' }, { field: 'value', format: '.3f' }],
    },
  });
  return [
    {
      id: 'memory-tiers',
      title: 'Memory tiers: where each byte came from, where the time went',
      caption:
        'Per policy, the bytes each link moved (an expert that missed both the GPU and host DRAM crosses SSD -> host and then host -> GPU; on unified memory and with GPUDirect it crosses SSD -> GPU once) the busy time of the GPU, the host link and the SSD, and what the GPU waited on (its stall split: SSD reads into host DRAM, the copy to the GPU, the link queue, CPU experts; these add up to the stall). The resources run concurrently: busy times overlap and do not add up to the run time.',
      spec: {
        $schema: SCHEMA,
        title: 'Memory tiers',
        config: chartConfig,
        data: { values: [...bytes, ...time, ...stall] },
        hconcat: [bar('bytes moved (GiB)'), bar('busy time (ms)'), bar('GPU stall (ms)')],
        resolve: { scale: { color: 'independent' } },
      },
      table: {
        columns: [
          { key: 'label', title: 'policy' },
          { key: 'panel', title: 'what' },
          { key: 'part', title: 'tier / resource' },
          { key: 'value', title: 'value', format: 'f3' },
        ],
        rows: [...bytes, ...time, ...stall],
      },
    },
  ];
}
