/** Shared helpers of the trace tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { TraceBuilder } from '../../src/trace/builder.js';
import { NO_EXPERT, type Trace } from '../../src/trace/types.js';

export const REPO = resolve(fileURLToPath(import.meta.url), '../../..');
export const MIXTRAL = join(REPO, 'traces/mixtral-8x7b-instruct/humaneval-decode.jsonl');
export const FLAME_DIR = join(REPO, 'traces/flame-moe-290m');
export const FLAME = [2, 3, 4].map((l) => join(FLAME_DIR, `encoder-layer${l}.csv`));

/** A temporary folder removed after the test file. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'moesim-trace-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A small trace from nested arrays: sequences -> tokens -> layers -> experts (null = absent).
 */
export function traceOf(numExperts: number, seqs: (number[] | null)[][][], weights?: (number[] | null)[][][]): Trace {
  const L = seqs[0][0].length;
  const first = seqs.flat(2).find((x) => x !== null);
  if (first === undefined || first === null) throw new Error('traceOf: no route at all');
  const K = first.length;
  const b = new TraceBuilder({ numLayers: L, topK: K, weights: weights !== undefined });
  seqs.forEach((tokens, s) => {
    b.beginSequence(`s${s}`);
    tokens.forEach((layers, t) => {
      b.addToken();
      layers.forEach((ex, l) => {
        if (ex !== null) b.setRoute(b.tokens - 1, l, ex, 0, weights?.[s][t][l] ?? undefined);
      });
    });
  });
  return b.build({ numExperts, source: { format: 'test' } });
}

/** Experts of (token, layer) as an array, [] when absent. */
export function routeOf(t: Trace, token: number, layer: number): number[] {
  const at = (token * t.numLayers + layer) * t.topK;
  const r = Array.from(t.experts.subarray(at, at + t.topK));
  return r[0] === NO_EXPERT ? [] : r;
}

/** FLAME-MoE-Traces' published actives schema (dataset card): scores list<float16>, indices list<int16>, as pyarrow writes them. */
const FLAME_PARQUET_SCHEMA = [
  { name: 'schema', num_children: 2 },
  { name: 'scores', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', repetition_type: 'OPTIONAL', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 2, logical_type: { type: 'FLOAT16' } },
  { name: 'indices', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', repetition_type: 'OPTIONAL', type: 'INT32', converted_type: 'INT_16', logical_type: { type: 'INTEGER', bitWidth: 16, isSigned: true } },
] as const;

/** One FLAME-MoE-Traces layer file's bytes (a row per token: its scores and expert indices), written with hyparquet-writer. */
export function flameParquet(scores: number[][], indices: number[][], rowGroupSize: number): Buffer {
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'scores', data: scores },
      { name: 'indices', data: indices },
    ],
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    schema: FLAME_PARQUET_SCHEMA as any,
    rowGroupSize,
  });
  return Buffer.from(buf);
}
