import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { importJsonl } from '../../src/trace/jsonl.js';
import { halfToFloat, importNpy, importNpz, parseNpyHeader, writeNpy, writeNpz } from '../../src/trace/npy.js';
import { MIXTRAL, routeOf, tempDir } from './helpers.js';

const dir = tempDir();

/** .npy bytes written by hand: magic, version 1.0, header dict padded to 64 bytes, data. */
function npyBytes(descr: string, shape: number[], data: Buffer, fortran = false, version = 1): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = version === 1 ? 10 : 12;
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const head = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

/** Little-endian bytes of integer values for a dtype. */
function intData(kind: 'i' | 'u', size: number, values: number[]): Buffer {
  const b = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    if (size === 1) kind === 'i' ? b.writeInt8(v, i) : b.writeUInt8(v, i);
    else if (size === 2) kind === 'i' ? b.writeInt16LE(v, 2 * i) : b.writeUInt16LE(v, 2 * i);
    else if (size === 4) kind === 'i' ? b.writeInt32LE(v, 4 * i) : b.writeUInt32LE(v, 4 * i);
    else kind === 'i' ? b.writeBigInt64LE(BigInt(v), 8 * i) : b.writeBigUInt64LE(BigInt(v), 8 * i);
  });
  return b;
}

/** A zip written by hand (local headers, central directory, end record). */
function zipBytes(entries: { name: string; data: Buffer }[], deflate: boolean, corruptCrc = false): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const body = deflate ? deflateRawSync(e.data) : e.data;
    const crc = (crc32(e.data) ^ (corruptCrc ? 1 : 0)) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(deflate ? 8 : 0, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(e.data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(cd, name);
    offset += 30 + name.length + body.length;
  }
  const cdBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBuf, end]);
}

const write = (name: string, bytes: Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

// 3 tokens, 2 layers, top-2
const SHAPE = [3, 2, 2];
const IDS = [0, 1, 2, 3, 4, 5, 6, 7, 7, 0, 3, 5];

describe('NumPy importer', () => {
  for (const [kind, size] of [['i', 1], ['u', 1], ['i', 2], ['u', 2], ['i', 4], ['u', 4], ['i', 8], ['u', 8]] as const) {
    it(`reads ${kind === 'i' ? 'int' : 'uint'}${size * 8} [tokens, layers, k] arrays`, async () => {
      const p = write(`ids-${kind}${size}.npy`, npyBytes(`${size === 1 ? '|' : '<'}${kind}${size}`, SHAPE, intData(kind, size, IDS)));
      const t = await importNpy(p);
      expect([t.tokens, t.numLayers, t.topK, t.numExperts]).toEqual([3, 2, 2, 8]);
      expect(Array.from(t.experts)).toEqual(IDS);
      expect(t.sequences).toEqual([{ id: '0', start: 0, length: 3 }]);
    });
  }

  it('reads float16/32/64 weights from a second .npy, and version 2 headers', async () => {
    const ids = write('ids.npy', npyBytes('<i8', SHAPE, intData('i', 8, IDS), false, 2));
    const w = [0.5, 0.25, 0.75, 0.125, 1, 0, 0.5, 0.5, 0.875, 0.0625, 0.3125, 0.6875];
    const f16 = Buffer.alloc(24);
    // exact halves: encode via the inverse of halfToFloat on this small set
    const half = (x: number): number => {
      for (let h = 0; h < 0x7c00; h++) if (halfToFloat(h) === x) return h;
      throw new Error(`no half for ${x}`);
    };
    w.forEach((x, i) => f16.writeUInt16LE(half(x), 2 * i));
    const f32 = Buffer.from(new Float32Array(w).buffer);
    const f64 = Buffer.from(new Float64Array(w).buffer);
    for (const [descr, data] of [['<f2', f16], ['<f4', f32], ['<f8', f64]] as const) {
      const wp = write(`w${descr.slice(1)}.npy`, npyBytes(descr, SHAPE, data));
      const t = await importNpy(ids, { weightsPath: wp, tokensPerSequence: 2 });
      expect(Array.from(t.weights ?? [])).toEqual(w);
      expect(t.sequences).toEqual([
        { id: '0', start: 0, length: 2 },
        { id: '1', start: 2, length: 1 },
      ]);
    }
  });

  it('treats a (token, layer) of all -1 as absent', async () => {
    const ids = [...IDS];
    ids[2] = -1;
    ids[3] = -1;
    const t = await importNpy(write('absent.npy', npyBytes('<i4', SHAPE, intData('i', 4, ids))));
    expect(routeOf(t, 0, 1)).toEqual([]);
    expect(t.warnings).toEqual(['absent.npy: 1 (token, layer) routes marked -1 (absent)']);
  });

  for (const deflate of [false, true]) {
    it(`reads a ${deflate ? 'deflated' : 'stored'} .npz with experts, weights and lengths`, async () => {
      const w = new Float32Array(IDS.length).map((_, i) => i / 16);
      const zip = zipBytes(
        [
          { name: 'ids.npy', data: npyBytes('<u2', SHAPE, intData('u', 2, IDS)) },
          { name: 'weights.npy', data: npyBytes('<f4', SHAPE, Buffer.from(w.buffer)) },
          { name: 'lengths.npy', data: npyBytes('<i8', [2], intData('i', 8, [1, 2])) },
        ],
        deflate,
      );
      const t = await importNpz(write(`t-${deflate}.npz`, zip));
      expect(Array.from(t.experts)).toEqual(IDS);
      expect(t.weights).toEqual(w);
      expect(t.sequences).toEqual([
        { id: '0', start: 0, length: 1 },
        { id: '1', start: 1, length: 2 },
      ]);
    });
  }

  it('round-trips the Mixtral trace through writeNpz / importNpz and writeNpy / importNpy', async () => {
    const t = await importJsonl(MIXTRAL);
    const pz = join(dir, 'mixtral.npz');
    await writeNpz(t, pz);
    const z = await importNpz(pz);
    expect(z.experts).toEqual(t.experts);
    expect(new Uint32Array((z.weights as Float32Array).buffer)).toEqual(new Uint32Array((t.weights as Float32Array).buffer));
    expect(z.sequences.map((s) => s.length)).toEqual([83, 255]);
    // sequence ids kept (a numpy '<U' array `sequence_ids`, as np.load reads it)
    expect(z.sequences.map((s) => s.id)).toEqual(['humaneval/0', 'humaneval/1']);
    const py = join(dir, 'mixtral.npy');
    await writeNpy(t, py);
    const y = await importNpy(py);
    expect(y.experts).toEqual(t.experts);
    expect(parseNpyHeader(new Uint8Array(await import('node:fs').then((fs) => fs.readFileSync(py))), 'x').shape).toEqual([338, 32, 2]);
  });

  const bad: [string, () => Buffer, RegExp][] = [
    ['a float experts array', () => npyBytes('<f4', SHAPE, Buffer.alloc(48)), /^bad\.npy: experts: dtype "<f4" is floating point; expected an integer array/],
    ['a 1-D array', () => npyBytes('<i4', [12], intData('i', 4, IDS)), /^bad\.npy: experts: expected shape \[tokens, layers, k\] \(or \[tokens, k\]\), got \(12\)/],
    ['a 4-D array', () => npyBytes('<i4', [3, 1, 2, 2], intData('i', 4, IDS)), /^bad\.npy: experts: expected shape/],
    ['big-endian data', () => npyBytes('>i4', SHAPE, intData('i', 4, IDS)), /^bad\.npy: big-endian dtype ">i4" is not supported/],
    ['Fortran order', () => npyBytes('<i4', SHAPE, intData('i', 4, IDS), true), /^bad\.npy: experts: Fortran-ordered arrays are not supported/],
    ['a complex dtype', () => npyBytes('<c8', SHAPE, Buffer.alloc(96)), /^bad\.npy: unsupported dtype "<c8"/],
    ['truncated data', () => npyBytes('<i4', SHAPE, intData('i', 4, IDS)).subarray(0, -8), /^bad\.npy: truncated: shape \(3, 2, 2\) needs 48 data bytes, the file has 40/],
    ['a truncated header', () => npyBytes('<i4', SHAPE, intData('i', 4, IDS)).subarray(0, 40), /^bad\.npy: truncated \.npy header/],
    ['not a .npy', () => Buffer.from('hello world, not numpy'), /^bad\.npy: not a \.npy array/],
    ['a partly absent route', () => npyBytes('<i4', SHAPE, intData('i', 4, [0, -1, ...IDS.slice(2)])), /^bad\.npy: experts: a \(token, layer\) at flat index 0 mixes -1 with expert ids/],
    ['a negative id', () => npyBytes('<i4', SHAPE, intData('i', 4, [0, -3, ...IDS.slice(2)])), /^bad\.npy: experts: value -3 at flat index 1 \(token 0\) is not an expert id/],
  ];
  for (const [what, bytes, msg] of bad) {
    it(`rejects ${what}, naming the file`, async () => {
      await expect(importNpy(write('bad.npy', bytes()))).rejects.toThrow(msg);
    });
  }

  it('rejects ids at or above numExperts', async () => {
    await expect(importNpy(write('ne.npy', npyBytes('<i4', SHAPE, intData('i', 4, IDS))), { numExperts: 7 })).rejects.toThrow(/^ne\.npy: experts: value 7 at flat index 7 \(token 1\)/);
  });

  it('rejects weights of another shape or an integer dtype', async () => {
    const ids = write('ids2.npy', npyBytes('<i4', SHAPE, intData('i', 4, IDS)));
    const w1 = write('wshape.npy', npyBytes('<f4', [3, 2, 1], Buffer.alloc(24)));
    await expect(importNpy(ids, { weightsPath: w1 })).rejects.toThrow(/^wshape\.npy: weights: shape \(3, 2, 1\) differs from the experts' \(3, 2, 2\)/);
    const w2 = write('wint.npy', npyBytes('<i4', SHAPE, Buffer.alloc(48)));
    await expect(importNpy(ids, { weightsPath: w2 })).rejects.toThrow(/^wint\.npy: weights: dtype "<i4" is not floating point/);
  });

  it('rejects an .npz without an experts entry, with a bad CRC, or with a bad lengths entry', async () => {
    const w = npyBytes('<f4', SHAPE, Buffer.alloc(48));
    await expect(importNpz(write('noexp.npz', zipBytes([{ name: 'weights.npy', data: w }], false)))).rejects.toThrow(/^noexp\.npz: no experts array: expected an entry named "experts" or "ids".*found "weights\.npy"/);
    const ids = npyBytes('<i4', SHAPE, intData('i', 4, IDS));
    await expect(importNpz(write('crc.npz', zipBytes([{ name: 'experts.npy', data: ids }], true, true)))).rejects.toThrow(/^crc\.npz: entry "experts\.npy": CRC mismatch/);
    const lens = npyBytes('<i8', [2], intData('i', 8, [1, 1]));
    await expect(importNpz(write('lens.npz', zipBytes([{ name: 'experts.npy', data: ids }, { name: 'lengths.npy', data: lens }], false)))).rejects.toThrow(/^lens\.npz: lengths: expected non-negative integers summing to 3 tokens, they sum to 2/);
    await expect(importNpz(write('notzip.npz', Buffer.from('not a zip at all, definitely not')))).rejects.toThrow(/^notzip\.npz: not a zip\/\.npz file/);
  });
});

describe('zip directory bounds', () => {
  it('a zip64 locator pointing outside the file is one line, not a RangeError', async () => {
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(1000000n, 8);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(0xffff, 10);
    eocd.writeUInt32LE(0xffffffff, 16);
    const p = join(dir, 'z64.npz');
    writeFileSync(p, Buffer.concat([Buffer.from('PK\x03\x04'), loc, eocd]));
    await expect(importNpz(p)).rejects.toThrow(/^z64\.npz: corrupt zip: a directory record points outside the file$/);
  });
});
