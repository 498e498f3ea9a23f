import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import yargs from 'yargs';
import { traceCommand } from '../../src/cli/trace.js';
import { readCanonical } from '../../src/trace/canonical.js';
import { importNpz } from '../../src/trace/npy.js';
import { lruHitRateCurve } from '../../src/trace/stats.js';
import { InputError } from '../../src/util/errors.js';
import { FLAME_DIR, MIXTRAL, tempDir } from './helpers.js';

const dir = tempDir();

/** Run `moesim <args>` with the trace command; returns what it printed on stdout. */
async function moesim(...args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await yargs(args)
      .command(traceCommand)
      .strict()
      .fail((msg, e) => {
        throw e ?? new InputError(msg);
      })
      .parseAsync();
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
  return out;
}

afterEach(() => vi.restoreAllMocks());

describe('moesim trace', () => {
  it('convert: JSONL -> canonical, auto-detected', async () => {
    const out = join(dir, 'm.moesim');
    const msg = await moesim('trace', 'convert', MIXTRAL, '-o', out);
    expect(msg).toContain('338 tokens, 2 sequences, 32 layers, 8 experts, top-2, with gate weights');
    expect((await readCanonical(out)).tokens).toBe(338);
  });

  it('convert: a folder of FLAME CSVs -> .npz with sequences of 64', async () => {
    const out = join(dir, 'f.npz');
    await moesim('trace', 'convert', FLAME_DIR, '--tokens-per-sequence', '64', '-o', out);
    const t = await importNpz(out);
    expect([t.tokens, t.numLayers, t.numExperts, t.topK, t.sequences.length]).toEqual([2048, 3, 64, 6, 32]);
  });

  it('stats: table, JSON and an offline HTML page', async () => {
    const table = await moesim('trace', 'stats', MIXTRAL);
    expect(table).toContain('338 tokens in 2 sequences');
    expect(table).toMatch(/hit rate\s+0\.0%\s+8\.8%\s+34\.3%/);
    const json = JSON.parse(await moesim('trace', 'stats', MIXTRAL, '--json'));
    expect(json.lru.hitRate).toHaveLength(9);
    const html = join(dir, 'stats.html');
    await moesim('trace', 'stats', MIXTRAL, '--html', html);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('vegaEmbed(');
    expect(page).not.toMatch(/<script[^>]+src=/);
    expect(page).not.toMatch(/https?:\/\/(cdn|unpkg)/);
    expect(page.length).toBeGreaterThan(500000);
  });

  it('synth --fit: a 10x trace with the real LRU curve', async () => {
    const out = join(dir, 'fit.moesim');
    const msg = await moesim('trace', 'synth', '--fit', MIXTRAL, '-o', out, '--seed', '3');
    expect(msg).toMatch(/3380 tokens fitted to humaneval-decode\.jsonl/);
    const a = lruHitRateCurve(await readCanonical(out)).hitRate;
    const real = [0, 0.088, 0.343, 0.482, 0.603, 0.706, 0.809, 0.905, 0.988];
    a.forEach((x, i) => expect(Math.abs(x - real[i])).toBeLessThan(0.02));
  }, 60000);

  it('synth --model-like: a catalog shape, exactly --tokens tokens', async () => {
    const out = join(dir, 'like.moesim');
    await moesim('trace', 'synth', '--model-like', 'mixtral-8x7b', '--tokens', '1000', '--zipf', '1.1', '--locality', '0.3', '-o', out);
    const t = await readCanonical(out);
    expect([t.tokens, t.numLayers, t.numExperts, t.topK, t.source.model]).toEqual([1000, 32, 8, 2, 'mixtral-8x7b']);
  });

  it('errors are one-line InputErrors', async () => {
    await expect(moesim('trace', 'synth', '--model-like', 'mixtral-8x7', '-o', join(dir, 'x.moesim'))).rejects.toThrow(/unknown model "mixtral-8x7"; did you mean "mixtral-8x7b"/);
    await expect(moesim('trace', 'synth', '-o', join(dir, 'x.moesim'))).rejects.toThrow('give --model-like MODEL or --fit TRACE');
    await expect(moesim('trace', 'convert', MIXTRAL, '-o', join(dir, 'x.parquet'))).rejects.toThrow(/x\.parquet: unknown output format "\.parquet"/);
    await expect(moesim('trace', 'stats', join(dir, 'nope.jsonl'))).rejects.toThrow('nope.jsonl: no such file');
    await expect(moesim('trace', 'stats', MIXTRAL, '--from', 'xls')).rejects.toBeInstanceOf(InputError);
    await expect(moesim('trace', 'convert', MIXTRAL, '-o', join(dir, 'y.moesim'), '--field', 'bogus=1')).rejects.toThrow(/--field bogus=1: expected KEY=NAME/);
  });
});

describe('moesim trace convert: vLLM-MoE-Logger per-layer files, nothing lost on export', () => {
  const LOGGER = join(FLAME_DIR, '../../test/fixtures/vllm-moe-logger');
  it('imports the folder with one command, warm-up passes dropped, layer ids kept', async () => {
    const out = join(dir, 'qwen.moesim');
    expect(await moesim('trace', 'convert', LOGGER, '--drop-degenerate', '-o', out)).toBe(`wrote ${out}: 65 tokens, 6 sequences, 2 layers, 60 experts, top-4, with gate weights\n`);
    const t = await readCanonical(out);
    expect(t.layerIds).toEqual([0, 8]);
    expect(t.sequences[0].id).toBe('r1#3');
  });

  it('refuses .npy when it would drop sequence boundaries or weights, suggesting .npz', async () => {
    await expect(moesim('trace', 'convert', MIXTRAL, '-o', join(dir, 'x.npy'))).rejects.toThrow(/x\.npy: a \.npy file holds the expert ids only, so the boundaries of its 2 sequences and its gate weights would be lost; write \.npz/);
  });
});

describe('moesim trace head|show', () => {
  it('prints the shape and the first tokens with layer ids', async () => {
    const out = await moesim('trace', 'head', join(FLAME_DIR, '../../test/fixtures/vllm-moe-logger'), '-n', '2', '--sequence', 'r1#3');
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('129 tokens in 8 sequences, 2 layers (ids 0, 8), 60 experts, top-4, with gate weights');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^r1#3\t0\tL0: \d+,\d+,\d+,\d+ \([\d.,]+\)  L8: /);
    expect(await moesim('trace', 'show', MIXTRAL, '-n', '1')).toMatch(/humaneval\/0\t0\tL0: 6,5 \(0\.696,0\.304\)/);
  });
});
