/**
 * Issue 13's contract, fuzzed (seeded, bounded): for every trace importer and the scenario loader,
 * random bytes, random mutations of valid files and boundary numbers give either a trace that
 * reads back identically from the canonical format, or one InputError line naming the file; never
 * another error, and nothing left behind (no temp file, no half-written output).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTrace, type TraceFormat } from '../../src/trace/load.js';
import { readCanonical, writeCanonical } from '../../src/trace/canonical.js';
import { encodeZip, writeNpy, writeNpz } from '../../src/trace/npy.js';
import { encodeSafetensors } from '../../src/trace/safetensors.js';
import { gzipSync } from 'node:zlib';
import { loadScenarioFile } from '../../src/scenario/load.js';
import type { Trace } from '../../src/trace/types.js';
import { InputError } from '../../src/util/errors.js';
import { MIXTRAL, tempDir } from '../trace/helpers.js';

const SEED = Number(process.env.MOESIM_FUZZ_SEED ?? 13);
const RUNS = Number(process.env.MOESIM_FUZZ_RUNS ?? 40);
const dir = tempDir();

const jsonlSeed = readFileSync(MIXTRAL, 'utf8').split('\n').slice(0, 24).join('\n') + '\n';
const csvSeed =
  'layer_id,token_id,expert_0,expert_1,expert_2,expert_3\n' +
  Array.from({ length: 12 }, (_, t) => `0,${t},${(0.1 * ((t % 3) + 1)).toFixed(2)},0.0,${(0.05 * ((t % 5) + 1)).toFixed(3)},0.7`).join('\n') +
  '\n';

/** Boundary tokens a mutation may splice in. */
const BOUNDARY = ['1e39', '1e400', '-1e400', 'NaN', 'Infinity', '-1', '0', '65535', '65536', '4294967296', '9007199254740993', '-0', '1e-46', '""', 'null', '[]', '{}', '\t', '\r', '\u0000', '\uFEFF', '\n', ',', '|', '-', '#', '"a\tb"'];

type Mutation = { kind: 'flip'; at: number; byte: number } | { kind: 'cut'; at: number } | { kind: 'splice'; at: number; len: number; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), len: fc.integer({ min: 0, max: 8 }), text: fc.constantFrom(...BOUNDARY) }),
);

function mutate(seed: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'flip') b[at] = m.byte;
    else if (m.kind === 'cut') b = b.subarray(0, at);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from(m.text, 'utf8'), b.subarray(Math.min(b.length, at + m.len))]);
  }
  return b;
}

const norm = (w: Float32Array | undefined): string[] | undefined => (w === undefined ? undefined : Array.from(w, (x) => (Number.isNaN(x) ? 'NaN' : String(x))));

function sameTrace(a: Trace, b: Trace): void {
  expect([b.numLayers, b.numExperts, b.topK, b.tokens]).toEqual([a.numLayers, a.numExperts, a.topK, a.tokens]);
  expect(b.sequences).toEqual(a.sequences);
  expect(Buffer.from(b.experts.buffer, b.experts.byteOffset, b.experts.byteLength).equals(Buffer.from(a.experts.buffer, a.experts.byteOffset, a.experts.byteLength))).toBe(true);
  expect(norm(b.weights)).toEqual(norm(a.weights));
}

let n = 0;
/** The contract for one input file: read it; success means a canonical copy reads back identically. */
async function contract(bytes: Buffer, ext: string, format?: TraceFormat): Promise<void> {
  const sub = join(dir, `case-${n++}`);
  const input = join(sub, `in${ext}`);
  const out = join(sub, 'out.moesim');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(sub);
  writeFileSync(input, bytes);
  writeFileSync(out, 'previous\n');
  try {
    let trace: Trace | undefined;
    try {
      trace = await readTrace(input, format ? { format } : {});
    } catch (e) {
      if (!(e instanceof InputError)) throw new Error(`not an InputError: ${(e as Error).stack}`);
      expect(e.message).toContain(`in${ext}`);
    }
    if (trace !== undefined) {
      let written = true;
      try {
        await writeCanonical(trace, out);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        expect(e.message).toContain(`in${ext}`); // e.g. a sequence id the canonical format cannot hold
        expect(readFileSync(out, 'utf8')).toBe('previous\n'); // the previous output intact
        written = false;
      }
      if (written) sameTrace(trace, await readCanonical(out));
    }
    // nothing left behind: no temp files
    expect(readdirSync(sub).sort()).toEqual([`in${ext}`, 'out.moesim']);
  } finally {
    rmSync(sub, { recursive: true, force: true });
  }
}

const params = (numRuns = RUNS) => ({ seed: SEED, numRuns, interruptAfterTimeLimit: 8000 });

describe('fuzz: trace importers (seeded, bounded)', () => {
  it('JSONL: mutations of a valid file', async () => {
    await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => contract(mutate(Buffer.from(jsonlSeed), ms), '.jsonl')), params());
  });

  it('CSV: mutations of a valid file', async () => {
    await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => contract(mutate(Buffer.from(csvSeed), ms), '.csv')), params());
  });

  it('canonical: mutations of a valid file', async () => {
    const t = await readTrace(MIXTRAL);
    const p = join(dir, 'seed.moesim');
    await writeCanonical({ ...t, tokens: 12, experts: t.experts.slice(0, 12 * t.numLayers * t.topK), weights: t.weights?.slice(0, 12 * t.numLayers * t.topK), sequences: [{ id: t.sequences[0].id, start: 0, length: 12 }] }, p);
    const seed = readFileSync(p);
    await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => contract(mutate(seed, ms), '.moesim')), params());
  });

  it('NumPy .npy and .npz: mutations of valid files (headers, shapes, data)', async () => {
    const t = await readTrace(MIXTRAL);
    const small = { ...t, tokens: 6, experts: t.experts.slice(0, 6 * t.numLayers * t.topK), weights: t.weights?.slice(0, 6 * t.numLayers * t.topK), sequences: [{ id: '0', start: 0, length: 6 }] };
    const npyP = join(dir, 'seed.npy');
    const npzP = join(dir, 'seed.npz');
    await writeNpy(small, npyP);
    await writeNpz(small, npzP, false);
    const npySeed = readFileSync(npyP);
    const npzSeed = readFileSync(npzP);
    // mutations near the header matter most: bias positions to the first 128 bytes half of the time
    const headerMutation = fc.oneof(mutation, mutation.map((m) => ({ ...m, at: m.at % 128 })));
    await fc.assert(fc.asyncProperty(fc.array(headerMutation, { minLength: 1, maxLength: 3 }), (ms) => contract(mutate(npySeed, ms), '.npy')), params());
    await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => contract(mutate(npzSeed, ms), '.npz')), params(25));
  });

  it('safetensors, torch.save .pt and gzip: mutations of valid files', async () => {
    const t = await readTrace(MIXTRAL);
    const T = 6;
    const stride = t.numLayers * t.topK;
    const ids = new Int32Array(Array.from(t.experts.subarray(0, T * stride)));
    const st = encodeSafetensors([
      { name: 'experts', dtype: 'I32', shape: [T, t.numLayers, t.topK], data: new Uint8Array(ids.buffer) },
      { name: 'weights', dtype: 'F32', shape: [T, t.numLayers, t.topK], data: new Uint8Array((t.weights as Float32Array).slice(0, T * stride).buffer) },
    ]);
    const headerMutation = fc.oneof(mutation, mutation.map((m) => ({ ...m, at: m.at % 200 })));
    await fc.assert(fc.asyncProperty(fc.array(headerMutation, { minLength: 1, maxLength: 3 }), (ms) => contract(mutate(st, ms), '.safetensors')), params(30));
    // a torch.save archive of {"experts": tensor}: the pickle CPython writes, stored zip
    // BININT1, or BININT2 for 256..65535 (as CPython picks)
    const K = (v: number): string => (v < 256 ? `K${String.fromCharCode(v)}` : `M${String.fromCharCode(v & 0xff, v >> 8)}`);
    const pkl = Buffer.from(`\x80\x02}q\x00X\x07\x00\x00\x00expertsq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nIntStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06${K(T * stride)}tq\x07Q${K(0)}${K(T)}${K(t.numLayers)}${K(t.topK)}\x87q\x08${K(stride)}${K(t.topK)}${K(1)}\x87q\x09\x89ccollections\nOrderedDict\nq\x0a)Rq\x0btq\x0cRq\x0ds.`, 'latin1');
    const pt = encodeZip([{ name: 'archive/data.pkl', bytes: pkl }, { name: 'archive/byteorder', bytes: Buffer.from('little') }, { name: 'archive/data/0', bytes: Buffer.from(ids.buffer) }], false);
    writeFileSync(join(dir, 'seed.pt'), pt);
    expect((await readTrace(join(dir, 'seed.pt'))).tokens).toBe(T);
    await fc.assert(fc.asyncProperty(fc.array(headerMutation, { minLength: 1, maxLength: 3 }), (ms) => contract(mutate(pt, ms), '.pt')), params(30));
    const gz = gzipSync(Buffer.from(jsonlSeed));
    await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => contract(mutate(gz, ms), '.jsonl.gz')), params(30));
  });

  it('random bytes in every format', async () => {
    for (const [ext, format] of [['.jsonl', 'jsonl'], ['.csv', 'csv'], ['.moesim', 'moesim'], ['.npy', 'npy'], ['.safetensors', 'safetensors'], ['.pt', 'pt'], ['.bin', undefined]] as const) {
      await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), (b) => contract(Buffer.from(b), ext, format)), params(20));
    }
  });
});

// ---- the scenario loader -------------------------------------------------------------------------

const scenarioSeed = `name: fuzz
seed: 1
model: mixtral-8x7b
hardware: { preset: rtx-4090, link: { bandwidthGBps: 25 } }
precision: { experts: int4, dense: bf16 }
trace: { synthetic: { layers: 32, experts: 8, topK: 2, sequences: 2, tokensPerSequence: 16, popularity: { kind: zipf, exponent: 1.0 } } }
workload: { batchSize: 1, promptTokens: 0 }
policies:
  - kind: lru
    cache: { perLayer: 4 }
  - { kind: static, cache: { experts: 64 }, warmupTokens: 4 }
  - { kind: lru, cache: { perLayer: 2 }, prefetch: { kind: pregated } }
`;

describe('fuzz: the scenario loader', () => {
  it('mutations of a valid scenario: a scenario, or one InputError naming the file', () => {
    const file = join(dir, 'scenario.yaml');
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        writeFileSync(file, mutate(Buffer.from(scenarioSeed), ms));
        try {
          loadScenarioFile(file);
        } catch (e) {
          if (!(e instanceof InputError)) throw new Error(`not an InputError: ${(e as Error).stack}`);
          expect(e.message.startsWith(`${file}`)).toBe(true);
        }
      }),
      { seed: SEED, numRuns: 150, interruptAfterTimeLimit: 5000 },
    );
  });

  it('random bytes', () => {
    const file = join(dir, 'random.yaml');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        writeFileSync(file, b);
        try {
          loadScenarioFile(file);
        } catch (e) {
          if (!(e instanceof InputError)) throw new Error(`not an InputError: ${(e as Error).stack}`);
          expect(e.message.startsWith(`${file}`)).toBe(true);
        }
      }),
      { seed: SEED, numRuns: 100, interruptAfterTimeLimit: 4000 },
    );
  });
});
