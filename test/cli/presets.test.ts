import { describe, expect, it } from 'vitest';
import { presetsJson, presetsText } from '../../src/cli/presets.js';
import { cpuPresets, hardwarePresets } from '../../src/hardware/presets.js';
import { systemKinds } from '../../src/systems/catalog.js';
import { storageFormats } from '../../src/model/formats.js';

interface Sourced { sources: string[] }
interface Doc {
  systems: Record<string, { describe: string; models: string[]; simplifies: string[]; sources: string[] }>;
  executionSemantics: Record<'runtimes' | 'links' | 'weightFormats' | 'cpus', Record<string, Sourced>>;
  components: { gpus: Record<string, { source: string }>; cpus: Record<string, { source: string }>; links: Record<string, { source: string }> };
}

describe('moesim presets (src/cli/presets.ts)', () => {
  it('--json carries the systems catalog and every execution-semantics preset, each with its sources', () => {
    const doc = presetsJson() as Doc;
    expect(Object.keys(doc.systems)).toEqual([...systemKinds]);
    for (const [k, s] of Object.entries(doc.systems)) {
      expect(s.sources.length, k).toBeGreaterThan(0);
      expect(s.models.length, k).toBeGreaterThan(0);
      expect(s.simplifies.length, k).toBeGreaterThan(0);
    }
    for (const group of ['runtimes', 'links', 'weightFormats', 'cpus'] as const) {
      const entries = Object.entries(doc.executionSemantics[group]);
      expect(entries.length, group).toBeGreaterThan(0);
      for (const [k, v] of entries) expect(v.sources.filter((s) => s.length > 10).length, `${group} ${k}`).toBeGreaterThan(0);
    }
    for (const table of [doc.components.gpus, doc.components.cpus, doc.components.links]) {
      for (const [k, v] of Object.entries(table)) expect(v.source.length, k).toBeGreaterThan(10);
    }
  });

  it('shows each machine\'s sustained GEMM rate (issue 12), "peak" where none is measured, with its source', () => {
    const text = presetsText();
    const row = (k: string) => text.split('\n').find((l) => l.startsWith(`${k} `))!;
    expect(row('t4')).toContain('fp16 24 ');
    expect(row('l4')).toContain('bf16 56.9, fp16 52.47');
    expect(row('h100-sxm')).toMatch(/ peak /);
    expect(text).toContain(`sustained GEMM rate (fp16 24 TFLOP/s) ${hardwarePresets.t4.gpu.sustainedFlopsPerSec!.source}`);
    const doc = presetsJson() as { hardware: Record<string, { gpu: { sustainedFlopsPerSec?: { fp16?: number } } }> };
    expect(doc.hardware.t4.gpu.sustainedFlopsPerSec?.fp16).toBe(24e12);
    expect(doc.hardware['h100-sxm'].gpu.sustainedFlopsPerSec).toBeUndefined();
  });

  it('--json carries the named storage formats with their bits per weight and sources (src/model/formats.ts)', () => {
    const doc = presetsJson() as { storageFormats: Record<string, { dtype: string; bitsPerWeight?: number; bitsPerWeightMixtral?: { experts: number }; source: string }> };
    expect(Object.keys(doc.storageFormats)).toEqual(Object.keys(storageFormats));
    expect(doc.storageFormats['hqq-2bit-g16'].bitsPerWeight).toBeCloseTo(2 + 16.25 / 16, 12);
    expect(doc.storageFormats['gguf-q4_k'].bitsPerWeight).toBe((144 * 8) / 256);
    expect(doc.storageFormats['gguf-q4_k_m'].bitsPerWeightMixtral!.experts).toBeCloseTo(4.844, 3);
    for (const [k, f] of Object.entries(doc.storageFormats)) expect(f.source.length, k).toBeGreaterThan(20);
  });

  it('the text lists every host CPU preset (some are in no machine preset) and every system with its sources', () => {
    const text = presetsText();
    expect(Object.keys(cpuPresets)).toEqual(expect.arrayContaining(['xeon-gold-6126-2s', 'xeon-8280-2s', 'xeon-e5-2698v4-2s', 'xeon-gold-6454s-2s', 'epyc-7742-2s', 'epyc-7763-2s', 'epyc-9654-2s', 'ryzen-5950x', 'core-i9-13900k']));
    expect(Object.values(hardwarePresets).some((h) => h.cpu.name === cpuPresets['xeon-8280-2s'].name)).toBe(false);
    for (const k of Object.keys(cpuPresets)) expect(text).toMatch(new RegExp(`^${k} +${cpuPresets[k].name.replace(/[()+]/g, '.')}`, 'm'));
    expect(text).toContain(`  cpu xeon-8280-2s: ${cpuPresets['xeon-8280-2s'].source}`);
    expect(text.match(/^ {4}sources: /gm)?.length).toBe(systemKinds.length);
  });

  it('has a machine preset for every GPU issue 12 names, GH200 over NVLink-C2C', () => {
    for (const k of ['rtx-3060', 'rtx-3080', 'rtx-3080-laptop', 'rtx-4070', 'rtx-4080', 'rtx-5090', 'a10', 'a10g', 'l40s', 'v100', 'p40', 'quadro-rtx-6000', 'h200', 'b200', 'gh200']) {
      expect(hardwarePresets[k], k).toBeDefined();
    }
    expect(hardwarePresets.gh200.link.name).toBe('NVLink-C2C');
  });
});
