/**
 * One look for every moesim page (run and sweep reports, validation, trace statistics): the page
 * CSS, the vega-lite config, the chart widths, a fixed colour per policy kind and human names for
 * the fields a sweep varies. Pure data and small pure functions.
 */

/** Width of a page's content column (px); charts are sized from it. */
export const PAGE_WIDTH = 1120;
/** Plot width of a chart that has the column to itself (axis labels and legend take the rest). */
export const FULL_WIDTH = 860;

export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export const chartConfig = {
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' },
};

/**
 * A fixed colour per cache policy kind, the same on every page whatever the order of the policies.
 * Bounds (belady, all-on-gpu) get muted colours of their own.
 */
export const POLICY_COLORS: Record<string, string> = {
  none: '#7f7f7f',
  static: '#8c564b',
  lru: '#1f77b4',
  lfu: '#ff7f0e',
  belady: '#2ca02c',
  'all-on-gpu': '#9467bd',
};
const EXTRA_COLORS = ['#17becf', '#e377c2', '#bcbd22', '#d62728', '#aec7e8', '#ffbb78'];

/** The colour scale of a `kind` field over these kinds (known kinds keep their colour). */
export function kindColorScale(kinds: readonly string[]): { domain: string[]; range: string[] } {
  const known = Object.keys(POLICY_COLORS);
  const domain = [...known.filter((k) => kinds.includes(k)), ...kinds.filter((k) => !known.includes(k)).sort()];
  let extra = 0;
  return { domain, range: domain.map((k) => POLICY_COLORS[k] ?? EXTRA_COLORS[extra++ % EXTRA_COLORS.length]) };
}

/** Kinds that are bounds, not policies a system could run: they need the future, or unlimited memory. */
export const BOUND_KINDS = ['belady', 'all-on-gpu'];

/** Whether a policy is a bound: an offline optimum, everything resident, or an oracle predictor. */
export function isBound(kind: string, label: string, predictorKind?: string): boolean {
  return BOUND_KINDS.includes(kind) || predictorKind === 'oracle' || predictorKind === 'published' || /\boracle\b|pregated/.test(label);
}

/** Human names of the fields a sweep varies (the full path or its tail), with their unit. */
const FIELD_LABELS: Record<string, { name: string; unit?: string }> = {
  'hardware.link.bandwidthGBps': { name: 'link bandwidth', unit: 'GB/s' },
  'link.bandwidthGBps': { name: 'link bandwidth', unit: 'GB/s' },
  'link.latencyUs': { name: 'link latency', unit: 'µs' },
  'gpu.hbmGiB': { name: 'GPU memory', unit: 'GiB' },
  'gpu.hbmGBps': { name: 'HBM bandwidth', unit: 'GB/s' },
  hardware: { name: 'hardware' },
  model: { name: 'model' },
  seed: { name: 'seed' },
  'workload.batchSize': { name: 'batch size' },
  batchSize: { name: 'batch size' },
  'workload.promptTokens': { name: 'prompt tokens' },
  'precision.experts': { name: 'expert precision' },
  'cache.perLayer': { name: 'experts cached per layer' },
  'predictor.precision': { name: 'predictor precision' },
  'predictor.recall': { name: 'predictor recall' },
  'prefetch.accuracy': { name: 'pre-gate accuracy' },
};

function lookup(path: string): { name: string; unit?: string } | undefined {
  const plain = path.replace(/\[[^\]]*\]/g, '');
  const parts = plain.split('.');
  for (let i = 0; i < parts.length; i++) {
    const hit = FIELD_LABELS[parts.slice(i).join('.')];
    if (hit) return hit;
  }
  return undefined;
}

/** "hardware.link.bandwidthGBps" -> "link bandwidth (GB/s)"; unknown paths: their last two segments. */
export function fieldLabel(path: string): string {
  const hit = lookup(path);
  if (hit) return hit.unit ? `${hit.name} (${hit.unit})` : hit.name;
  const parts = path.split('.');
  return parts.length <= 2 ? path : parts.slice(-2).join('.');
}

/** "hardware.link.bandwidthGBps", 16 -> "link bandwidth 16 GB/s". */
export function fieldValueLabel(path: string, value: unknown): string {
  const v = typeof value === 'string' ? value : JSON.stringify(value);
  const hit = lookup(path);
  if (!hit) return `${fieldLabel(path)} = ${v}`;
  return hit.unit ? `${hit.name} ${v} ${hit.unit}` : `${hit.name} ${v}`;
}

/** The page CSS shared by every moesim page. */
export const PAGE_STYLE = `
body{font:14px/1.45 Helvetica,Arial,sans-serif;color:#222;margin:0;background:#fafafa}
main{max-width:${PAGE_WIDTH}px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:24px;margin:0 0 4px} h2{font-size:18px;margin:0 0 6px} .desc{color:#555;margin:0 0 16px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:0 0 16px;font-size:13px}
dl.facts dt{color:#666} dl.facts dd{margin:0;word-break:break-word}
nav{margin:10px 0 18px;font-size:13px} nav a{margin-right:12px;color:#2a5db0}
section.chart{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:16px 18px;margin:0 0 22px;overflow:hidden}
section.chart.key{border-color:#b8c7e0;box-shadow:0 1px 3px rgba(42,93,176,.12)}
.caption{color:#555;margin:0 0 10px;font-size:13px} .svg-link{font-size:12px;color:#2a5db0}
.vis{overflow-x:auto;margin-bottom:8px}
details.numbers summary,details.meta summary{cursor:pointer;color:#444;font-size:13px;margin:6px 0}
.scroll{overflow-x:auto;max-height:420px;overflow-y:auto;max-width:100%}
table{border-collapse:collapse;font-size:12px} th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}
th{background:#f4f4f4;position:sticky;top:0} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f4f4f4;padding:10px;border-radius:4px;overflow-x:auto;font-size:12px;white-space:pre}
.warn{color:#8a5a00} .err{color:#b00020}
`;

/** "1 sequence", "2 sequences". */
export const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;
