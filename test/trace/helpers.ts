/** Shared helpers of the trace tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
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
