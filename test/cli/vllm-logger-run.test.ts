import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { moesim, ROOT } from '../helpers/cli.js';

describe('moesim run on vLLM-MoE-Logger per-layer files (scenarios/vllm-moe-logger.yaml)', () => {
  it('runs the 2-layer trace against the full 24-layer Qwen1.5-MoE-A2.7B, warm-up passes flagged and dropped', () => {
    const r = moesim(['run', 'scenarios/vllm-moe-logger.yaml', '--no-report']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/65 tokens in 6 sequences/);
    const all = r.stdout + r.stderr;
    expect(all).toMatch(/2 sequences \("r1", "r1#2"; 64 tokens\) route every token identically .*dropped/);
    expect(all).toMatch(/records 2 of 24 MoE layers \(layers 0, 8\); the other 22 are filled/);
  });

  it('without missingLayers, the error names the option', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moesim-'));
    const f = join(dir, 's.yaml');
    writeFileSync(f, `name: t\nmodel: qwen1.5-moe-a2.7b\nhardware: rtx-4090\nprecision: { experts: int4 }\ntrace: { path: ${JSON.stringify(join(ROOT, 'test/fixtures/vllm-moe-logger'))} }\npolicies: [{ kind: lru, cache: { perLayer: 8 } }]\n`);
    const r = moesim(['run', f, '--no-report']);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/covers 2 of model qwen1\.5-moe-a2\.7b's 24 MoE layers \(layers 0, 8\); say how to use it: trace\.missingLayers: recorded .* or trace\.missingLayers: fill/);
  });
});
