/** Issue 13: importers refuse what they cannot read back, check sizes before allocating, name the file and line. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTrace } from '../../src/trace/load.js';
import { InputError } from '../../src/util/errors.js';
import { importJsonl } from '../../src/trace/jsonl.js';

const dir = mkdtempSync(join(tmpdir(), 'moesim-bad-'));
function file(name: string, body: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

/** An .npy header (v1.0) with the given shape, and `data` after it. */
export function npy(shape: number[], descr = '<i2', data: Buffer = Buffer.alloc(0)): Buffer {
  const d = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = (64 - ((10 + d.length + 1) % 64)) % 64;
  const h = Buffer.from(d + ' '.repeat(pad) + '\n', 'latin1');
  const len = Buffer.alloc(2);
  len.writeUInt16LE(h.length);
  return Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]), len, h, data]);
}

async function refused(path: string, pattern: RegExp, opts = {}): Promise<void> {
  const e = await readTrace(path, opts).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(InputError);
  expect((e as Error).message).toMatch(pattern);
}

describe('importers refuse what they cannot read back', () => {
  it('weights beyond float32, NaN or Infinity', async () => {
    await refused(file('big.csv', 'layer_id,token_id,expert_0,expert_1\n0,0,1e39,0.5\n'), /^big\.csv:2: .*1e39.*finite float32/, { topK: 1 });
    await refused(file('big.jsonl', '{"layer":0,"token_idx":0,"experts":[1,2],"gating_probs":[1e39,0]}\n'), /^big\.jsonl:1: .*finite float32/);
    await refused(file('inf.jsonl', '{"layer":0,"token_idx":0,"experts":[1,2],"gating_probs":[1e400,0]}\n'), /^inf\.jsonl:1: .*Infinity/);
    await refused(file('big.moesim', '# moesim-trace v1\n# {"numLayers":1,"numExperts":8,"topK":2}\nseq\ttoken\texperts\tweights\na\t0\t1,2\t1e39,0\n'), /^big\.moesim:4: .*finite float32/);
    const w = Buffer.alloc(8);
    w.writeFloatLE(Infinity, 0);
    const ex = Buffer.alloc(4);
    ex.writeInt16LE(1, 0);
    const wp = file('w.npy', npy([1, 1, 2], '<f4', w));
    await refused(file('e.npy', npy([1, 1, 2], '<i2', ex)), /^w\.npy: weights: .*Infinity/, { weightsPath: wp });
  });

  it('empty traces', async () => {
    await refused(file('empty.moesim', '# moesim-trace v1\n# {"numLayers":1,"numExperts":8,"topK":2}\nseq\ttoken\texperts\n'), /^empty\.moesim: empty trace/);
    await refused(file('empty.npy', npy([0, 4, 2])), /^empty\.npy: .*empty trace/);
  });

  it('a trace whose every route is absent (-1) routes nothing: refused (s28-badin: ran with 0 accesses)', async () => {
    const ex = Buffer.alloc(3 * 2 * 2 * 2, 0xff); // int16 -1 everywhere
    await refused(file('absent.npy', npy([3, 2, 2], '<i2', ex)), /^absent\.npy: every \(token, layer\) route of its 3 tokens is absent \(-1\): no expert is routed; expected a trace with at least one routed expert$/);
    const one = Buffer.from(ex);
    one.writeInt16LE(1, 0);
    one.writeInt16LE(0, 2);
    expect((await readTrace(file('one.npy', npy([3, 2, 2], '<i2', one)))).tokens).toBe(3);
  });

  it('k = 0 and absurd dimensions, refused before allocating', async () => {
    await refused(file('k0.npy', npy([4, 2, 0])), /^k0\.npy: .*top-k must be a positive integer, got 0/);
    await refused(file('huge.npy', npy([1e9, 32, 8])), /^huge\.npy: .*more than the limit/);
    await refused(file('wide.npy', npy([1000, 100000000, 1000])), /^wide\.npy: .*more than the limit/);
    await refused(file('huge.moesim', '# moesim-trace v1\n# {"numLayers":65535,"numExperts":65535,"topK":65535}\nseq\ttoken\texperts\n'), /^huge\.moesim: .*more than the limit/);
  });

  it('JSONL: a BOM is accepted; weights that appear after the first row are not lost silently', async () => {
    const t = await readTrace(file('bom.jsonl', '\uFEFF{"layer":0,"token_idx":0,"experts":[1,2]}\n'));
    expect(t.tokens).toBe(1);
    await refused(
      file('late.jsonl', '{"layer":0,"token_idx":0,"experts":[1,2]}\n{"layer":0,"token_idx":1,"experts":[1,2],"gating_probs":[0.5,0.5]}\n'),
      /^late\.jsonl:2: has gate weights "gating_probs" but the first row \(line 1\) has none/,
    );
  });

  it('JSONL: the duplicate-expert check is linear in k (30 rows of top-60000 in well under a second)', async () => {
    const k = 60000;
    const ids = Array.from({ length: k }, (_, i) => i).join(',');
    const rows = Array.from({ length: 30 }, (_, t) => `{"layer":0,"token_idx":${t},"experts":[${ids}]}`).join('\n') + '\n';
    const p = file('wide.jsonl', rows);
    const t0 = performance.now();
    const t = await importJsonl(p);
    expect(t.topK).toBe(k);
    expect(performance.now() - t0).toBeLessThan(5000);
    await refused(file('dup.jsonl', `{"layer":0,"token_idx":0,"experts":[${ids},17]}\n`), /^dup\.jsonl:1: .*expert 17 appears twice/);
  });

  it('a pipe is refused, not read (no hang, no ESPIPE)', async () => {
    const { execSync } = await import('node:child_process');
    const p = join(dir, 'fifo.jsonl');
    try {
      execSync(`mkfifo ${JSON.stringify(p)}`);
    } catch {
      return; // no mkfifo here
    }
    await refused(p, /^fifo\.jsonl: not a regular file \(a pipe\)/);
  });
});
