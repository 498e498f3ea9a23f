import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelPresets } from '../../src/model/presets.js';
import { findDegenerateSequences } from '../../src/trace/degenerate.js';
import { importJsonl, layerFromFileName } from '../../src/trace/jsonl.js';
import { fitLayerSubset } from '../../src/trace/layer-subset.js';
import { readTrace } from '../../src/trace/load.js';
import { NO_EXPERT } from '../../src/trace/types.js';
import { REPO, routeOf, tempDir } from './helpers.js';

const DIR = join(REPO, 'test/fixtures/vllm-moe-logger');
const FILES = [0, 8].map((l) => join(DIR, `moe_layer${l}.jsonl`));
const QWEN = modelPresets['qwen1.5-moe-a2.7b'];
const dir = tempDir();
const write = (name: string, lines: string[]): string => {
  const p = join(dir, name);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
};

describe('vLLM-MoE-Logger per-layer files (Qwen1.5-MoE-A2.7B layout)', () => {
  it('reads the folder as one trace: layers 0 and 8 kept by id, passes split where token_idx restarts', async () => {
    const t = await readTrace(DIR);
    expect([t.numLayers, t.numExperts, t.topK]).toEqual([2, 60, 4]);
    expect(t.layerIds).toEqual([0, 8]);
    expect(t.sequences.map((s) => [s.id, s.length])).toEqual([
      ['r1', 32], ['r1#2', 32], ['r1#3', 9], ['r1#4', 14], ['r1#5', 6], ['r1#6', 11], ['r1#7', 17], ['r1#8', 8],
    ]);
    expect(t.warnings[0]).toMatch(/token index restarts 14 times .*1 recorded sequence id split into 8 sequences \("r1#2", \.\.\.\)/);
    expect(t.weights).toBeDefined();
    let absent = 0;
    for (const e of t.experts) if (e === NO_EXPERT) absent++;
    expect(absent).toBe(0);
  });

  it('flags the two warm-up passes with their share of accesses, and drops them on request', async () => {
    const t = await readTrace(DIR);
    const d = findDegenerateSequences(t);
    expect(d.uniform).toEqual([0, 1]);
    expect(d.accesses / d.totalAccesses).toBeCloseTo(64 / 129, 6);
    expect(t.warnings[1]).toMatch(/^moe_layer0\.jsonl \(\+1 files\): 2 sequences \("r1", "r1#2"; 64 tokens\) route every token identically .*49\.6% of the recorded accesses; kept; set dropDegenerate: true/);
    const dropped = await readTrace(DIR, { dropDegenerate: true });
    expect(dropped.tokens).toBe(65);
    expect(dropped.sequences[0]).toEqual({ id: 'r1#3', start: 0, length: 9 });
    expect(routeOf(dropped, 0, 1)).toEqual(routeOf(t, 64, 1));
  });

  it('refuses the 2-layer trace against the 24-layer model naming missingLayers, and fills it when asked', async () => {
    const t = await readTrace(DIR);
    expect(() => fitLayerSubset(t, QWEN.moeLayers, QWEN.name, 'trace', undefined)).toThrow(/covers 2 of model qwen1\.5-moe-a2\.7b's 24 MoE layers \(layers 0, 8\).*trace\.missingLayers: fill/);
    const full = fitLayerSubset(t, QWEN.moeLayers, QWEN.name, 'trace', 'fill');
    expect([full.numLayers, full.tokens, full.layerIds?.length]).toEqual([24, t.tokens, 24]);
    for (let tok = 0; tok < t.tokens; tok += 7) {
      expect(routeOf(full, tok, 0)).toEqual(routeOf(t, tok, 0));
      expect(routeOf(full, tok, 8)).toEqual(routeOf(t, tok, 1));
      const filled = routeOf(full, tok, 5);
      expect(new Set(filled).size).toBe(4);
      expect(filled.every((e) => e !== null && e < 60)).toBe(true);
    }
    expect(full.warnings.at(-1)).toMatch(/the other 22 are filled/);
    // seeded: the same every time
    expect(fitLayerSubset(t, QWEN.moeLayers, QWEN.name, 'trace', 'fill').experts).toEqual(full.experts);
  });
});

describe('several JSONL files, restarts and renumbering', () => {
  it('takes the layer from the file name or an option when rows have none', async () => {
    expect(layerFromFileName('/x/moe_layer12.jsonl')).toBe(12);
    const a = write('blk3.jsonl', ['{"seq":"a","pos":0,"ids":[1,2]}', '{"seq":"a","pos":1,"ids":[2,3]}']);
    const b = write('blk7.jsonl', ['{"seq":"a","pos":0,"ids":[0,1]}', '{"seq":"a","pos":1,"ids":[3,0]}']);
    const fields = { sequence: 'seq', token: 'pos', experts: 'ids' };
    const t = await importJsonl([a, b], { fields });
    expect(t.layerIds).toEqual([3, 7]);
    expect(routeOf(t, 1, 1)).toEqual([3, 0]);
    const u = await readTrace([a, b], { fields, layers: [10, 20] });
    expect(u.layerIds).toEqual([10, 20]);
  });

  it('refuses restarts as duplicates when splitRestarts is false', async () => {
    await expect(importJsonl(FILES, { splitRestarts: false })).rejects.toThrow(/duplicate row for sequence "r1" token 0 layer 0/);
  });

  it('renumbers constant positions by order, and refuses layers with different token counts', async () => {
    const ok = write('const.jsonl', [0, 1, 2].flatMap((t) => [0, 1].map((l) => JSON.stringify({ req_id: 'd', token_pos: 0, layer: l, topk_ids: [t, t + 1] }))));
    const t = await importJsonl(ok, { positions: 'order' });
    expect(t.sequences).toEqual([{ id: 'd', start: 0, length: 3 }]);
    expect(routeOf(t, 2, 1)).toEqual([2, 3]);
    const bad = write('uneven.jsonl', [
      ...[0, 1, 2].map((t) => JSON.stringify({ req_id: 'd', token_pos: 0, layer: 0, topk_ids: [t, t + 1] })),
      ...[0, 1].map((t) => JSON.stringify({ req_id: 'd', token_pos: 0, layer: 1, topk_ids: [t, t + 1] })),
    ]);
    await expect(importJsonl(bad, { positions: 'order' })).rejects.toThrow(/sequence "d" has a different number of rows per layer \(layer 0: 3, layer 1: 2\)/);
  });

  it('flags a sequence that repeats another exactly', async () => {
    const rows = ['a', 'b'].flatMap((s) => [0, 1].map((t) => JSON.stringify({ req_id: s, token_idx: t, layer: 0, topk_ids: [t, 2] })));
    const t = await readTrace(write('rep.jsonl', rows));
    expect(t.warnings.at(-1)).toMatch(/1 sequence repeat another exactly \("b" = "a"\); 50\.0% of the recorded accesses/);
  });
});

describe('trace stats on the logger files', () => {
  it('reports the warm-up passes, duplicate layers and absent layers', async () => {
    const { computeTraceStats } = await import('../../src/trace/stats.js');
    const { formatStatsTable } = await import('../../src/report/trace-stats.js');
    const s = computeTraceStats(await readTrace(DIR));
    expect(s.degenerate.uniform).toEqual(['r1', 'r1#2']);
    expect(s.degenerate.accessShare).toBeCloseTo(0.496, 3);
    expect(s.duplicateLayers).toEqual([]);
    expect(s.absentLayers).toEqual([]);
    expect(formatStatsTable(s)).toMatch(/degenerate 2 sequences route every token identically, 0 repeat another exactly; 49\.6% of the recorded accesses/);
    // the same file given as two layers
    const dup = computeTraceStats(await readTrace([FILES[0], FILES[0]], { layers: [0, 5] }));
    expect(dup.duplicateLayers).toEqual([{ layer: 5, of: 0 }]);
  });
});
