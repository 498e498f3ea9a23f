import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/rng/rng.js';
import { readCanonical, writeCanonical, writeCanonicalStream } from '../../src/trace/canonical.js';
import { importGateCsv } from '../../src/trace/csv.js';
import { importJsonl } from '../../src/trace/jsonl.js';
import { loadTrace } from '../../src/trace/load.js';
import { collectTrace } from '../../src/trace/stream.js';
import { SyntheticSource } from '../../src/trace/synthetic.js';
import type { Trace } from '../../src/trace/types.js';
import { FLAME, MIXTRAL, tempDir, traceOf } from './helpers.js';

const dir = tempDir();

/** Byte-exact comparison of two traces (weights compared bitwise, so NaN == NaN). */
function expectSameTrace(a: Trace, b: Trace): void {
  expect([b.numLayers, b.numExperts, b.topK, b.tokens]).toEqual([a.numLayers, a.numExperts, a.topK, a.tokens]);
  expect(b.sequences).toEqual(a.sequences);
  expect(b.experts).toEqual(a.experts);
  expect(b.weights === undefined).toBe(a.weights === undefined);
  if (a.weights !== undefined && b.weights !== undefined) expect(new Uint32Array(b.weights.buffer)).toEqual(new Uint32Array(a.weights.buffer));
  expect(b.layerIds).toEqual(a.layerIds);
}

describe('canonical format', () => {
  it('round-trips the Mixtral trace (absent routes, weights) exactly', async () => {
    const t = await importJsonl(MIXTRAL, { model: 'mixtral-8x7b', provenance: 'Mario928/speculative-moe@216e26e' });
    const p = join(dir, 'mixtral.moesim');
    await writeCanonical(t, p);
    const text = readFileSync(p, 'utf8').split('\n');
    expect(text[0]).toBe('# moesim-trace v1');
    expect(JSON.parse(text[1].slice(2))).toEqual({ numLayers: 32, numExperts: 8, topK: 2, model: 'mixtral-8x7b', provenance: 'Mario928/speculative-moe@216e26e' });
    expect(text[2]).toBe('seq\ttoken\texperts\tweights');
    expect(text[3].startsWith('humaneval/0\t0\t6,5|6,2|')).toBe(true);
    const back = await readCanonical(p);
    expectSameTrace(t, back);
    expect(back.source).toMatchObject({ format: 'moesim', model: 'mixtral-8x7b', provenance: 'Mario928/speculative-moe@216e26e' });
    // the absent routes are still reported when the canonical file is read (and so in `run`)
    expect(back.warnings).toEqual(['mixtral.moesim: 37 (token, layer) routes missing in 2 sequences; left absent']);
  });

  it('round-trips the FLAME CSV trace with its layer ids', async () => {
    const t = await importGateCsv(FLAME, { tokensPerSequence: 64 });
    const p = join(dir, 'flame.moesim');
    await writeCanonical(t, p);
    const back = await readCanonical(p);
    expectSameTrace(t, back);
    expect(back.layerIds).toEqual([2, 3, 4]);
  });

  it('round-trips random traces (property)', async () => {
    const routeArb = (E: number, K: number) => fc.option(fc.shuffledSubarray([...Array(E).keys()], { minLength: K, maxLength: K }), { freq: 5 });
    const arb = fc
      .record({ E: fc.integer({ min: 2, max: 12 }), L: fc.integer({ min: 1, max: 4 }), withWeights: fc.boolean() })
      .chain(({ E, L, withWeights }) =>
        fc.integer({ min: 1, max: Math.min(3, E) }).chain((K) =>
          fc.record({
            E: fc.constant(E),
            withWeights: fc.constant(withWeights),
            seqs: fc.array(fc.array(fc.array(routeArb(E, K), { minLength: L, maxLength: L }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }),
            w: fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: 200, maxLength: 200 }),
          }),
        ),
      )
      .filter(({ seqs }) => seqs.some((s) => s.some((tok) => tok.some((r) => r !== null))));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(arb, async ({ E, withWeights, seqs, w }) => {
        const t = traceOf(E, seqs);
        if (withWeights) {
          const ww = new Float32Array(t.experts.length).fill(Number.NaN);
          for (let i = 0; i < ww.length; i++) if (t.experts[i] !== 0xffff) ww[i] = w[i % w.length];
          t.weights = ww;
        }
        const p = join(dir, `prop-${n++}.moesim`);
        await writeCanonical(t, p);
        expectSameTrace(t, await readCanonical(p));
      }),
      { numRuns: 60 },
    );
  });

  it('writes a chunked stream with flat memory and reads back the same trace', async () => {
    const spec = { layers: 4, experts: 16, topK: 2, sequences: 7, tokensPerSequence: 33, popularity: { kind: 'zipf' as const, exponent: 1 }, locality: 0.4 };
    const p = join(dir, 'stream.moesim');
    // 10-token chunks: sequences continue across chunks
    const src = new SyntheticSource(spec, createRng(3));
    const orig = src.nextChunk.bind(src);
    src.nextChunk = (max: number) => orig(Math.min(max, 10));
    expect(await writeCanonicalStream(src, p)).toBe(231);
    const back = await readCanonical(p);
    expectSameTrace(collectTrace(new SyntheticSource(spec, createRng(3))), back);
    expect(readFileSync(p, 'utf8').split('\n')[2]).toBe('seq\ttoken\texperts');
  });

  const header = '# moesim-trace v1\n# {"numLayers":2,"numExperts":4,"topK":2}\nseq\ttoken\texperts\tweights\n';
  const bad: [string, string, RegExp][] = [
    ['a wrong first line', 'hello\n', /^bad\.moesim:1: expected "# moesim-trace v1"/],
    ['another version', '# moesim-trace v2\n', /^bad\.moesim:1: unsupported format version "moesim-trace v2"/],
    ['a bad JSON header', '# moesim-trace v1\n# {numLayers: 2}\n', /^bad\.moesim:2: header: invalid JSON/],
    ['a header without numExperts', '# moesim-trace v1\n# {"numLayers":2,"topK":2}\n', /^bad\.moesim:2: header: "numExperts" must be an integer/],
    ['a bad column header', '# moesim-trace v1\n# {"numLayers":2,"numExperts":4,"topK":2}\nseq,token,experts\n', /^bad\.moesim:3: expected the header row/],
    ['a resumed sequence', `${header}a\t0\t0,1|2,3\t-\nb\t0\t0,1|2,3\t-\na\t1\t0,1|2,3\t-\n`, /^bad\.moesim:6: sequence "a" resumes after other sequences \(first row at line 4\)/],
    ['descending positions', `${header}a\t0\t0,1|2,3\t-\na\t2\t0,1|2,3\t-\na\t1\t0,1|2,3\t-\n`, /^bad\.moesim:6: token position 1 is not above the previous row's 2/],
    ['too few layers', `${header}a\t0\t0,1\t-\n`, /^bad\.moesim:4: experts: 1 layers, expected numLayers=2/],
    ['too many experts in a layer', `${header}a\t0\t0,1,2|2,3\t-\n`, /^bad\.moesim:4: experts: layer 0: more than topK=2 experts/],
    ['an expert id too large', `${header}a\t0\t0,1|2,4\t-\n`, /^bad\.moesim:4: experts: layer 1: expert 4 is not below numExperts=4/],
    ['a repeated expert', `${header}a\t0\t1,1|2,3\t-\n`, /^bad\.moesim:4: experts: layer 0: expert 1 appears twice/],
    ['a non-numeric weight', `${header}a\t0\t0,1|2,3\t0.5,x|-\n`, /^bad\.moesim:4: weights: layer 0: expected a number, got "x"/],
    ['weights for an absent layer', `${header}a\t0\t0,1|-\t0.5,0.5|0.5,0.5\n`, /^bad\.moesim:4: weights: layer 1: weights given for a layer whose experts are "-"/],
    ['a missing token column', `${header}a\t0,1|2,3\n`, /^bad\.moesim:4: expected "seq<TAB>token<TAB>experts/],
    ['a bad position', `${header}a\tx\t0,1|2,3\n`, /^bad\.moesim:4: token position: expected a non-negative integer, got "x"/],
  ];
  for (const [what, text, msg] of bad) {
    it(`rejects ${what} naming file:line`, async () => {
      const p = join(dir, 'bad.moesim');
      writeFileSync(p, text);
      await expect(readCanonical(p)).rejects.toThrow(msg);
    });
  }

  it("names the file's line when an expert id is beyond the scenario's model (loadTrace's check)", async () => {
    const p = join(dir, 'wide.moesim');
    writeFileSync(p, `${header}a\t0\t0,1|2,3\t-\na\t1\t0,1|1,3\t-\n`);
    await expect(readCanonical(p, { modelExperts: 3 })).rejects.toThrow(/^wide\.moesim:4: experts: layer 1: expert id 3 is beyond the scenario's model, which has experts 0\.\.2$/);
    await expect(loadTrace({ path: p }, dir, createRng(0), { modelExperts: 3 })).rejects.toThrow(/^wide\.moesim:4: experts: layer 1: expert id 3 is beyond/);
    expect((await readCanonical(p, { modelExperts: 4 })).tokens).toBe(2);
  });

  it('accepts CRLF line ends, comments, gaps in positions and "-" weights', async () => {
    const p = join(dir, 'crlf.moesim');
    writeFileSync(p, '# moesim-trace v1\r\n# {"numLayers":2,"numExperts":4,"topK":2}\r\nseq\ttoken\texperts\tweights\r\n# a comment\r\na\t5\t0,1|-\t0.75,0.25|-\r\n\r\na\t9\t2,3|1,0\t-\r\n');
    const t = await readCanonical(p);
    expect(t.tokens).toBe(2);
    expect(Array.from(t.experts)).toEqual([0, 1, 0xffff, 0xffff, 2, 3, 1, 0]);
    expect(Array.from(t.weights ?? []).slice(0, 2)).toEqual([0.75, 0.25]);
    expect(Number.isNaN(t.weights?.[4])).toBe(true);
  });
});
