import type { CommandModule } from 'yargs';
import { cpuPresets as hostCpuPresets, gpuPresets, hardwarePresets, linkPresets as hostLinkPresets } from '../hardware/presets.js';
import { storagePresetsText } from '../hardware/presets-text.js';
import type { Gpu } from '../hardware/types.js';
import { modelPresets } from '../model/presets.js';
import { expertBytes, numMoeLayers, totalParams } from '../model/derived.js';
import { cachePolicies, cachePolicyKinds } from '../policies/index.js';
import { renderTable } from '../report/table.js';
import { schedulerKinds, tokenSchedulers } from '../scheduling/index.js';
import { prefetchKinds, prefetchPolicies } from '../policies/prefetch/index.js';
import { missHandlerKinds, missHandlers } from '../policies/miss/index.js';
import { predictorKinds, predictors } from '../predictors/index.js';
import { publishedAccuracies, publishedSystems } from '../predictors/published.js';
import { systemKinds, systems } from '../systems/catalog.js';
import { cpuPresets, linkPresets, runtimes, weightFormats, type WeightFormat } from '../timing/execution-semantics.js';
import { formatBitsPerWeight, groupedBits, storageFormats } from '../model/formats.js';

const GiB = 2 ** 30;

/** A GPU's measured sustained large-GEMM rates ("fp16 24, bf16 ..." TFLOP/s), or "peak" when it has none (the roofline then charges the datasheet peak). */
function sustainedText(g: Gpu): string {
  const s = g.sustainedFlopsPerSec;
  if (!s) return 'peak';
  return (['fp32', 'bf16', 'fp16', 'fp8', 'int8'] as const)
    .filter((d) => s[d] !== undefined)
    .map((d) => `${d} ${Number((s[d]! / 1e12).toPrecision(4))}`)
    .join(', ');
}

export function presetsText(): string {
  const hw = renderTable(
    ['hardware', 'GPU', 'HBM GiB', 'HBM GB/s', 'bf16 TFLOP/s', 'sustained TFLOP/s', 'link GB/s', 'CPU', 'DRAM GB/s'],
    Object.entries(hardwarePresets).map(([key, h]) => [
      key,
      h.gpu.name,
      (h.gpu.hbmBytes / GiB).toFixed(0),
      (h.gpu.hbmBytesPerSec / 1e9).toFixed(0),
      (h.gpu.flopsPerSec.bf16 / 1e12).toFixed(0),
      sustainedText(h.gpu),
      (h.link.h2dBytesPerSec / 1e9).toFixed(1),
      h.cpu.name,
      (h.cpu.dramBytesPerSec / 1e9).toFixed(0),
    ]),
  );
  // The component presets a scenario can combine (hardware: { preset, gpu: { preset }, cpu: { preset }, link: { preset } }):
  // some host CPUs (Cascade Lake) are in no machine preset, so list them on their own.
  const cpus = renderTable(
    ['cpu (hardware.cpu.preset)', 'name', 'cores', 'DRAM GB/s', 'fp32 TFLOP/s', 'ISA'],
    Object.entries(hostCpuPresets).map(([key, c]) => [
      key,
      c.name,
      c.cores === undefined ? '-' : String(c.cores),
      (c.dramBytesPerSec / 1e9).toFixed(0),
      (c.flopsPerSec / 1e12).toFixed(1),
      c.isa?.join(' ') ?? '-',
    ]),
  );
  const components = [
    `gpu presets (hardware.gpu.preset): ${Object.keys(gpuPresets).join(', ')}`,
    `link presets (hardware.link.preset): ${Object.entries(hostLinkPresets).map(([k, l]) => `${k} (${(l.h2dBytesPerSec / 1e9).toFixed(1)} GB/s)`).join(', ')}`,
  ].join('\n');
  const models = renderTable(
    ['model', 'layers', 'MoE layers', 'experts', 'top-k', 'shared', 'params B', 'expert MiB (bf16)'],
    Object.entries(modelPresets).map(([key, m]) => [
      key,
      String(m.numLayers),
      String(numMoeLayers(m)),
      String(m.numExperts),
      String(m.topK),
      String(m.numSharedExperts),
      (totalParams(m) / 1e9).toFixed(1),
      (expertBytes(m, 'bf16') / 2 ** 20).toFixed(1),
    ]),
  );
  const policies = renderTable(
    ['policy', 'what it does'],
    cachePolicyKinds.map((k) => [k, cachePolicies[k].describe]),
  );
  const schedulers = renderTable(
    ['token scheduler', 'what it does (serving workloads)'],
    schedulerKinds.map((k) => [k, tokenSchedulers[k].describe]),
  );
  const sources = [
    ...Object.entries(hardwarePresets).map(
      ([k, h]) => `  ${k}: GPU ${h.gpu.source}${h.gpu.sustainedFlopsPerSec ? `; sustained GEMM rate (${sustainedText(h.gpu)} TFLOP/s) ${h.gpu.sustainedFlopsPerSec.source}` : ''}; link ${h.link.source}; CPU ${h.cpu.source}`,
    ),
    ...Object.entries(hostCpuPresets).map(([k, c]) => `  cpu ${k}: ${c.source}`),
    ...Object.entries(modelPresets).map(([k, m]) => `  ${k}: ${m.source}`),
  ];
  const prefetch = renderTable(
    ['prefetch', 'what it does (default predictor)'],
    prefetchKinds.map((k) => [k, `${prefetchPolicies[k].describe} (${prefetchPolicies[k].defaultPredictor})`]),
  );
  const predictorTable = renderTable(['predictor', 'what it predicts from'], predictorKinds.map((k) => [k, predictors[k].describe]));
  const publishedTable = renderTable(
    ['published predictor accuracy', 'stand-in', 'metric', 'value', 'source'],
    publishedSystems.map((k) => {
      const p = publishedAccuracies[k];
      const value = p.value === null ? 'no number' : `${'bound' in p && p.bound === 'lower' ? '> ' : ''}${p.value}`;
      return [k, p.standIn ?? '-', p.metric ?? '-', value, `${p.paper}, ${p.where}`];
    }),
  );
  const miss = renderTable(['on miss', 'what it does'], missHandlerKinds.map((k) => [k, missHandlers[k].describe]));
  const systemTable = renderTable(['system', 'what it is (system: { kind: ... })'], systemKinds.map((k) => [k, systems[k].describe]));
  const runtimeTable = renderTable(
    ['runtime', 'us/kernel', 'kernels/layer', 'kernels/expert', 'syncs/expert', 'ms/step', 'fitted'],
    Object.values(runtimes).map((r) => [r.name, (r.perKernelSec * 1e6).toFixed(1), String(r.kernelsPerLayer), String(r.kernelsPerExpert), String(r.syncsPerExpert), (r.perStepSec * 1e3).toFixed(1), r.fitted ? 'yes' : 'no']),
  );
  const formatTable = renderTable(
    ['weight format', 'stored as', 'group', 'dequant B/param', 'dequant kernels/expert'],
    Object.values(weightFormats).map((f: WeightFormat) => [f.name, f.storage ?? f.dtype, String(f.groupSize), String(f.dequantBytesPerParam), String(f.dequantKernelsPerExpert)]),
  );
  // The storage formats a precision tier can name (src/model/formats.ts), bits per weight from their layouts.
  const mix = modelPresets['mixtral-8x7b'];
  const storageTable = renderTable(
    ['storage format', 'dtype', 'bits/weight (Mixtral experts)', 'layout'],
    Object.entries(storageFormats).map(([k, f]) => [k, f.dtype, formatBitsPerWeight(k, mix, 'experts').toFixed(4), f.describe]),
  );
  const semanticSources = [
    ...Object.values(runtimes).map((r) => `  runtime ${r.name}: ${r.sources.join('; ')}`),
    ...Object.entries(linkPresets).map(([k, l]) => `  link ${k} (efficiency pinned ${l.efficiency.pinned}, pageable ${l.efficiency.pageable}): ${l.sources.join('; ')}`),
    ...Object.values(weightFormats).map((f) => `  format ${f.name}: ${f.sources.join('; ')}`),
    ...Object.entries(storageFormats).map(([k, f]) => `  storage ${k}: ${f.source}`),
    ...Object.entries(cpuPresets).map(([k, c]) => `  cpu ${k} (bandwidth x${c.bandwidthEfficiency}, FLOP/s x${c.flopsEfficiency}): ${c.sources.join('; ')}`),
  ];
  const systemSources = systemKinds.flatMap((k) => [`  ${k}:`, ...systems[k].models.map((m) => `    models: ${m}`), ...systems[k].simplifies.map((m) => `    simplifies: ${m}`), `    sources: ${systems[k].sources.join('; ')}`]);
  return [
    hw, '', cpus, '', components, '', storagePresetsText(), '', models, '', policies, '', prefetch, '', predictorTable, '', publishedTable, '', miss, '', schedulers, '',
    systemTable, '', runtimeTable, '', formatTable, '', storageTable, '',
    'Sources:', ...sources, '', 'Execution semantics sources:', ...semanticSources, '', 'Systems (from their code):', ...systemSources,
  ].join('\n');
}

/** Everything `moesim presets` lists, as one JSON document (the presets as moesim resolves them). */
export function presetsJson(): unknown {
  return {
    hardware: hardwarePresets,
    models: Object.fromEntries(
      Object.entries(modelPresets).map(([k, m]) => [k, { ...m, derived: { moeLayers: numMoeLayers(m), totalParams: totalParams(m), expertBytesBf16: expertBytes(m, 'bf16') } }]),
    ),
    policies: Object.fromEntries(cachePolicyKinds.map((k) => [k, { describe: cachePolicies[k].describe }])),
    prefetch: Object.fromEntries(prefetchKinds.map((k) => [k, { describe: prefetchPolicies[k].describe, defaultPredictor: prefetchPolicies[k].defaultPredictor }])),
    // The published kind's `of`: each system's published accuracy with its source.
    predictors: Object.fromEntries(predictorKinds.map((k) => [k, { describe: predictors[k].describe, ...(k === 'published' ? { of: publishedAccuracies } : {}) }])),
    onMiss: Object.fromEntries(missHandlerKinds.map((k) => [k, { describe: missHandlers[k].describe }])),
    schedulers: Object.fromEntries(schedulerKinds.map((k) => [k, { describe: tokenSchedulers[k].describe }])),
    // Component presets (hardware: { gpu: { preset }, cpu: { preset }, link: { preset } }).
    components: { gpus: gpuPresets, cpus: hostCpuPresets, links: hostLinkPresets },
    // The systems catalog and the execution semantics it draws on, each with its sources.
    systems: Object.fromEntries(
      systemKinds.map((k) => [k, { describe: systems[k].describe, models: systems[k].models, simplifies: systems[k].simplifies, sources: systems[k].sources }]),
    ),
    executionSemantics: { runtimes, links: linkPresets, weightFormats, cpus: cpuPresets },
    // The named storage formats a precision tier can take ({ format: NAME }), bits per weight from their
    // layouts; a mix (Q4_K_M) has its bits by model and tier, given here for Mixtral-8x7B as the text table does.
    storageFormats: Object.fromEntries(
      Object.entries(storageFormats).map(([k, f]) => {
        const mix = modelPresets['mixtral-8x7b'];
        const layout = f.kind === 'grouped' ? { quantBits: f.quantBits, groupSize: f.groupSize, metaBitsPerGroup: f.metaBitsPerGroup } : {};
        const bits = f.kind === 'grouped' ? { bitsPerWeight: groupedBits(f) } : { bitsPerWeightMixtral: { experts: formatBitsPerWeight(k, mix, 'experts'), dense: formatBitsPerWeight(k, mix, 'dense') } };
        return [k, { kind: f.kind, dtype: f.dtype, ...layout, ...bits, describe: f.describe, source: f.source }];
      }),
    ),
  };
}

export const presetsCommand: CommandModule<object, { json: boolean }> = {
  command: 'presets',
  describe: 'List hardware, model, cache/prefetch/predictor/miss policy and token scheduler presets with their sources',
  builder: (y) => y.option('json', { type: 'boolean', default: false, describe: 'print one JSON document instead of the tables' }),
  handler: (a) => {
    process.stdout.write(a.json ? JSON.stringify(presetsJson(), null, 2) + '\n' : presetsText() + '\n');
  },
};
