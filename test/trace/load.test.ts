import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRng } from '../../src/rng/rng.js';
import { writeCanonical } from '../../src/trace/canonical.js';
import { importJsonl } from '../../src/trace/jsonl.js';
import { detectFormat, loadTrace, readTrace, traceSpecSchema } from '../../src/trace/load.js';
import { writeNpz } from '../../src/trace/npy.js';
import { FLAME, FLAME_DIR, MIXTRAL, REPO, tempDir } from './helpers.js';

const dir = tempDir();

describe('trace spec schema', () => {
  const outer = z.strictObject({ trace: traceSpecSchema });
  const issues = (v: unknown): string[] => {
    const r = outer.safeParse({ trace: v });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('accepts file and synthetic specs', () => {
    expect(issues({ path: 'a.jsonl' })).toEqual([]);
    expect(issues({ path: ['a.csv', 'b.csv'], format: 'csv', layers: [2, 3], tokensPerSequence: 64 })).toEqual([]);
    expect(issues({ path: 'a.jsonl', fields: { sequence: ['dataset', 'problem_id'], weights: false } })).toEqual([]);
    expect(issues({ synthetic: { layers: 2, experts: 8, topK: 2, sequences: 1, tokensPerSequence: 4, popularity: { kind: 'uniform' } } })).toEqual([]);
  });

  it('rejects unknown keys and bad values naming the field path', () => {
    expect(issues({ path: 'a', bogus: 1 })).toEqual(['trace: Unrecognized key: "bogus"']);
    expect(issues({ path: 'a', format: 'xls' })[0]).toMatch(/^trace\.format: Invalid option/);
    expect(issues({ path: 'a', fields: { layr: 'x' } })[0]).toMatch(/^trace\.fields: Unrecognized key: "layr"/);
    expect(issues({ synthetic: { layers: 2, experts: 8, topK: 9, sequences: 1, tokensPerSequence: 4, popularity: { kind: 'uniform' } } })).toEqual(['trace.synthetic.topK: topK must not exceed experts']);
    expect(issues({ synthetic: { layers: 2, experts: 8, topK: 2, sequences: 1, tokensPerSequence: 4, popularity: { kind: 'zipf' } } })[0]).toMatch(/^trace\.synthetic\.popularity\.exponent:/);
    expect(issues({})).toEqual(['trace.path: expected a file or folder path, or a list of CSV paths']);
    expect(issues(3)).toEqual(['trace: expected {path: ...} or {synthetic: {...}}']);
  });
});

describe('loadTrace', () => {
  it('resolves a relative path against the scenario folder', async () => {
    const t = await loadTrace(traceSpecSchema.parse({ path: 'traces/mixtral-8x7b-instruct/humaneval-decode.jsonl' }), REPO, createRng(0));
    expect(t.tokens).toBe(338);
  });

  it('loads a folder of CSV files as one trace, layers from the file names', async () => {
    const t = await loadTrace(traceSpecSchema.parse({ path: FLAME_DIR, tokensPerSequence: 64 }), '/', createRng(0));
    expect([t.tokens, t.numLayers, t.topK]).toEqual([2048, 3, 6]);
    expect(t.layerIds).toEqual([2, 3, 4]);
    expect(t.sequences).toHaveLength(32);
  });

  it('generates a synthetic trace from the rng it is given', async () => {
    const spec = traceSpecSchema.parse({ synthetic: { layers: 2, experts: 8, topK: 2, sequences: 2, tokensPerSequence: 10, popularity: { kind: 'zipf', exponent: 1 }, locality: 0.5 } });
    const a = await loadTrace(spec, '/', createRng(1).fork('trace'));
    const b = await loadTrace(spec, '/', createRng(1).fork('trace'));
    expect(a.tokens).toBe(20);
    expect(b.experts).toEqual(a.experts);
  });

  it('reads every format by extension: jsonl, moesim, npz, csv', async () => {
    const ref = await importJsonl(MIXTRAL);
    const canon = join(dir, 'm.moesim');
    await writeCanonical(ref, canon);
    const npz = join(dir, 'm.npz');
    await writeNpz(ref, npz);
    for (const p of [MIXTRAL, canon, npz]) expect((await readTrace(p)).experts).toEqual(ref.experts);
    expect((await readTrace(FLAME[0])).numExperts).toBe(64);
  });

  it('sniffs the content when the extension says nothing', async () => {
    const p = join(dir, 'routes.log');
    copyFileSync(MIXTRAL, p);
    expect(await detectFormat(p)).toBe('jsonl');
    const canon = join(dir, 'trace.tsv');
    await writeCanonical(await importJsonl(MIXTRAL), canon);
    expect(await detectFormat(canon)).toBe('moesim');
  });

  it('says which format to set when the extension and the content disagree or nothing is recognisable', async () => {
    const p = join(dir, 'wrong.csv');
    copyFileSync(MIXTRAL, p);
    await expect(readTrace(p)).rejects.toThrow('wrong.csv: the extension says csv but the content looks like jsonl; set format: jsonl (or csv) to say which');
    const q = join(dir, 'mystery.dat');
    writeFileSync(q, 'hello\n');
    await expect(readTrace(q)).rejects.toThrow('mystery.dat: cannot tell the trace format (extension ".dat", unrecognised content); set format: jsonl, moesim, csv, npy, parquet, expert-json, sglang, moe-beyond, safetensors, pt');
    // an explicit format wins
    await expect(readTrace(p, { format: 'jsonl' })).resolves.toMatchObject({ tokens: 338 });
  });

  it('rejects the same JSONL rows twice (restarts not split), and missing paths', async () => {
    await expect(readTrace([MIXTRAL, MIXTRAL], { splitRestarts: false })).rejects.toThrow(/duplicate row for sequence "humaneval\/0" token 0 layer 0/);
    await expect(readTrace(join(dir, 'missing.jsonl'))).rejects.toThrow('missing.jsonl: no such file');
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await expect(readTrace(empty)).rejects.toThrow(/^empty: no trace files in this folder/);
  });

  it('checks numExperts against the ids', async () => {
    await expect(readTrace(FLAME[0], { numExperts: 32 })).rejects.toThrow(/expert ids up to 6\d, but numExperts is 32/);
    expect((await readTrace(MIXTRAL, { numExperts: 16 })).numExperts).toBe(16);
  });
});
