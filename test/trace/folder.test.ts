import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTrace } from '../../src/trace/load.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/vllm-moe-logger');

describe('a folder trace', () => {
  it('leaves out files of another format (a metadata JSON, a README) and hidden files, with a warning naming them', async () => {
    const clean = await readTrace(FIXTURE);
    const dir = mkdtempSync(join(tmpdir(), 'moesim-folder-'));
    cpSync(FIXTURE, dir, { recursive: true });
    writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ model: 'Qwen1.5-MoE-A2.7B', recorder: 'vLLM-MoE-Logger' }));
    writeFileSync(join(dir, '.partial.jsonl'), '{"broken": ');
    const t = await readTrace(dir);
    expect(t.tokens).toBe(clean.tokens);
    expect(t.numLayers).toBe(clean.numLayers);
    expect(Array.from(t.experts)).toEqual(Array.from(clean.experts));
    expect(t.warnings.join('\n')).toMatch(/1 file of another format left out of the trace \(.*metadata\.json\)/);
    expect(t.warnings.join('\n')).not.toMatch(/partial/);
  });

  it('refuses a folder where no file is a trace, naming the folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'moesim-folder-'));
    writeFileSync(join(dir, 'a.json'), '{"x": 1}');
    writeFileSync(join(dir, 'b.json'), '{"y": 2}');
    await expect(readTrace(dir)).rejects.toThrow(/no file in this folder is a trace moesim can read/);
  });
});
