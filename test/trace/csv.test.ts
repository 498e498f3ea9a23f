import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importGateCsv, layerFromFileName } from '../../src/trace/csv.js';
import { FLAME, routeOf, tempDir } from './helpers.js';

const dir = tempDir();
const write = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const HEADER4 = 'layer_id,token_id,expert_0,expert_1,expert_2,expert_3\n';

describe('dense gate-probability CSV importer', () => {
  it('joins the 3 FLAME files: 2,048 tokens, 3 layers, 64 experts, top-6, 32 sequences of 64', async () => {
    const t = await importGateCsv(FLAME, { tokensPerSequence: 64 });
    expect([t.tokens, t.numLayers, t.numExperts, t.topK]).toEqual([2048, 3, 64, 6]);
    expect(t.layerIds).toEqual([2, 3, 4]);
    expect(t.sequences).toHaveLength(32);
    expect(t.sequences.every((s, i) => s.id === String(i) && s.length === 64 && s.start === 64 * i)).toBe(true);
    expect(t.warnings).toEqual([]);
    // independent check: every row's six largest gate values, in descending order
    FLAME.forEach((file, l) => {
      const lines = readFileSync(file, 'utf8').trim().split('\n').slice(1);
      expect(lines).toHaveLength(2048);
      for (const line of lines) {
        const cells = line.split(',').map(Number);
        const token = cells[1];
        const gates = cells.slice(2);
        const top = gates
          .map((v, e) => [v, e])
          .filter(([v]) => v > 0)
          .sort((a, b) => b[0] - a[0] || a[1] - b[1])
          .map(([, e]) => e);
        expect(top).toHaveLength(6);
        expect(routeOf(t, token, l)).toEqual(top);
        const at = (token * 3 + l) * 6;
        expect(t.weights?.[at]).toBeCloseTo(gates[top[0]], 6);
      }
    });
  });

  it('reads the layer from the file name, or from an option', () => {
    expect(layerFromFileName('encoder-layer3.csv')).toBe(3);
    expect(layerFromFileName('/x/Layer_12/flame_trace.csv')).toBe(12);
    expect(layerFromFileName('gates.csv')).toBeUndefined();
  });

  it('puts all tokens in one sequence by default and honours the layers option', async () => {
    const t = await importGateCsv([FLAME[0]], { layers: [7] });
    expect(t.sequences).toEqual([{ id: '0', start: 0, length: 2048 }]);
    expect(t.layerIds).toEqual([7]);
  });

  it('joins by token_id across files in any row order, leaving a token missing from a file absent', async () => {
    const a = write('a-layer0.csv', `${HEADER4}0,1,0.1,0.6,0.3,0\n0,0,0.5,0,0.2,0.3\n0,2,0.05,0,0.9,0.05\n`);
    const b = write('b-layer1.csv', `${HEADER4}0,2,0.2,0.2,0,0.6\n0,0,0.4,0.1,0,0.5\n`);
    const t = await importGateCsv([a, b]);
    expect([t.tokens, t.numLayers, t.topK]).toEqual([3, 2, 3]);
    expect([routeOf(t, 0, 0), routeOf(t, 0, 1), routeOf(t, 1, 0), routeOf(t, 1, 1), routeOf(t, 2, 1)]).toEqual([[0, 3, 2], [3, 0, 1], [1, 2, 0], [], [3, 0, 1]]);
    expect(t.warnings).toEqual(['a-layer0.csv, b-layer1.csv: 1 (token, layer) routes missing (a token_id absent from some layer\'s file); left absent']);
  });

  it('takes the k largest when topK is given, whatever the non-zero count', async () => {
    const p = write('k-layer0.csv', `${HEADER4}0,0,0.1,0.6,0.3,0\n0,1,0.5,0,0.2,0\n`);
    const t = await importGateCsv(p, { topK: 2 });
    expect([routeOf(t, 0, 0), routeOf(t, 1, 0)]).toEqual([[1, 2], [0, 2]]);
  });

  it('uses the layer_id column when neither the option nor the file name gives the layer', async () => {
    const p = write('gates.csv', `${HEADER4}5,0,0.1,0.6,0,0\n9,0,0.5,0.2,0,0\n5,1,0,0,0.3,0.4\n`);
    const t = await importGateCsv(p);
    expect(t.layerIds).toEqual([5, 9]);
    expect([routeOf(t, 0, 0), routeOf(t, 0, 1), routeOf(t, 1, 0), routeOf(t, 1, 1)]).toEqual([[1, 0], [0, 1], [3, 2], []]);
  });

  const bad: [string, string, RegExp][] = [
    ['a ragged row', `${HEADER4}0,0,0.1,0.6,0,0\n0,1,0.1,0.6\n`, /^bad-layer0\.csv:3: 4 columns, expected 6 as in the header/],
    ['a row with too many cells', `${HEADER4}0,0,0.1,0.6,0,0,0.2\n`, /^bad-layer0\.csv:2: more than 6 columns/],
    ['a non-numeric cell', `${HEADER4}0,0,0.1,0.6,0,0\n0,1,0.1,abc,0,0\n`, /^bad-layer0\.csv:3: column 4 \(expert_1\): expected a number, got "abc"/],
    ['rows disagreeing on k', `${HEADER4}0,0,0.1,0.6,0,0\n0,1,0.1,0.6,0.2,0\n`, /^bad-layer0\.csv:3: 3 non-zero gate values, but bad-layer0\.csv:2 has 2; give topK/],
    ['a repeated token', `${HEADER4}0,0,0.1,0.6,0,0\n0,0,0.1,0.6,0,0\n`, /^bad-layer0\.csv:3: token_id 0 layer 0 appears twice \(also bad-layer0\.csv:2\)/],
    ['a header without experts', 'layer_id,token_id,a,b\n', /^bad-layer0\.csv:1: no expert_N columns/],
    ['a bad token id', `${HEADER4}0,x,0.1,0.6,0,0\n`, /^bad-layer0\.csv:2: token_id: expected a non-negative integer, got "x"/],
  ];
  for (const [what, text, msg] of bad) {
    it(`rejects ${what} naming file:line`, async () => {
      await expect(importGateCsv(write('bad-layer0.csv', text))).rejects.toThrow(msg);
    });
  }

  it('asks for the layer when nothing gives it', async () => {
    const p = write('nolayer.csv', 'token_id,expert_0,expert_1\n0,0.5,0.5\n');
    await expect(importGateCsv(p)).rejects.toThrow(/^nolayer\.csv:1: no layer: give the layer/);
  });
});
