/**
 * FLAME-MoE-Traces Parquet (CMU-FLAME/FLAME-MoE-Traces dataset card, "Schema": actives/iter_NNNN/layer_NN.parquet,
 * `scores` list<float16>[6] descending, `indices` list<int16>[6]). The fixtures are written here with
 * hyparquet-writer in exactly that schema (3-level LIST, FLOAT16 and INT_16 logical types, as pyarrow writes them).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importParquet } from '../../src/trace/parquet.js';
import { readTrace } from '../../src/trace/load.js';
import { flameParquet, tempDir } from './helpers.js';

const dir = tempDir();

/** Scores exactly representable in float16, descending. */
const SCORES = [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625];

/** Token t of layer l routes to experts (t*7 + l*3 + k*5) mod 64, k = 0..5 (distinct: 5k mod 64 differ). */
const idsOf = (t: number, l: number): number[] => [0, 1, 2, 3, 4, 5].map((k) => (t * 7 + l * 3 + k * 5) % 64);

function writeLayer(name: string, layer: number, tokens: number, rowGroupSize = 4, mutate?: (ids: number[][], scores: number[][]) => void): string {
  const indices: number[][] = [];
  const scores: number[][] = [];
  for (let t = 0; t < tokens; t++) {
    indices.push(idsOf(t, layer));
    scores.push([...SCORES]);
  }
  mutate?.(indices, scores);
  const p = join(dir, name);
  writeFileSync(p, flameParquet(scores, indices, rowGroupSize));
  return p;
}

describe('FLAME-MoE-Traces Parquet', () => {
  const l2 = writeLayer('layer_02.parquet', 2, 10);
  const l3 = writeLayer('layer_03.parquet', 3, 10);

  it('joins the layer files by row, layers from the file names, across row groups', async () => {
    const t = await importParquet([l3, l2], { tokensPerSequence: 5 });
    expect([t.numLayers, t.topK, t.tokens]).toEqual([2, 6, 10]);
    expect(t.layerIds).toEqual([2, 3]);
    expect(t.sequences.map((s) => [s.id, s.start, s.length])).toEqual([['0', 0, 5], ['1', 5, 5]]);
    for (let tok = 0; tok < 10; tok++) {
      for (const [li, layer] of [[0, 2], [1, 3]]) {
        const at = (tok * 2 + li) * 6;
        expect(Array.from(t.experts.subarray(at, at + 6))).toEqual(idsOf(tok, layer));
        expect(Array.from(t.weights!.subarray(at, at + 6))).toEqual(SCORES);
      }
    }
  });

  it('is detected by its magic through readTrace (a folder of layer files), format parquet', async () => {
    const t = await readTrace([l2, l3], { tokensPerSequence: 10 });
    expect(t.source.format).toBe('parquet');
    expect(t.layerIds).toEqual([2, 3]);
  });

  it('refuses bad input naming the file, the row and the field', async () => {
    const dup = writeLayer('layer_05.parquet', 5, 6, 4, (ids) => (ids[4][2] = ids[4][0]));
    await expect(importParquet([dup])).rejects.toThrow(/layer_05\.parquet: row 4: "indices": expert \d+ appears twice/);
    const short = writeLayer('layer_06.parquet', 6, 6, 4, (ids, s) => {
      ids[3].pop();
      s[3].pop();
    });
    await expect(importParquet([short])).rejects.toThrow(/layer_06\.parquet: row 3: "indices": expected a list of 6 expert ids \(as in row 0\)/);
    const fewer = writeLayer('layer_07.parquet', 7, 6);
    await expect(importParquet([l2, fewer])).rejects.toThrow(/layer_07\.parquet: 6 rows but layer_02\.parquet has 10/);
    await expect(importParquet([l2], { columns: { experts: 'topk_ids' } })).rejects.toThrow(/no column "topk_ids" .*the file has "scores", "indices"/);
    await expect(importParquet([l2], { modelExperts: 32 })).rejects.toThrow(/row \d+: "indices"\[\d\]: expert id \d+ is beyond the scenario's model, which has experts 0\.\.31/);
    const notPq = join(dir, 'layer_09.parquet');
    writeFileSync(notPq, 'PAR1 not really');
    await expect(importParquet([notPq])).rejects.toThrow(/layer_09\.parquet: not a readable Parquet file/);
  });
});
