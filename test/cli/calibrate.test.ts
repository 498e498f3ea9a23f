import { describe, expect, it } from 'vitest';
import { calibrateProgress } from '../../src/cli/calibrate.js';
import { quickPlan } from '../../src/calibrate/microbench.js';

describe('calibrate progress', () => {
  it('not a terminal: each measurement as a plain line, as before, no control characters', () => {
    const out: string[] = [];
    const p = calibrateProgress(quickPlan, 'cpu', { write: (s: string) => out.push(s), isTTY: false });
    p.message('backend cpu: x');
    p.message('upload 64 KiB: 10 us');
    p.stop();
    expect(out).toEqual(['  backend cpu: x\n', '  upload 64 KiB: 10 us\n']);
  });
});

describe('calibrate --backend disk flags', () => {
  it('--long and --long-idle below 0 (or not numbers): one line naming the flag, exit 2, nothing measured', async () => {
    const { moesim } = await import('../helpers/cli.js');
    for (const [flag, v] of [['--long', '-1'], ['--long-idle', 'abc']]) {
      const r = moesim(['calibrate', '--backend', 'disk', flag, v, '-o', '/nonexistent-moesim/x.json']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim()).toMatch(new RegExp(`^moesim: ${flag}: expected seconds >= 0, got '(-1|abc)'$`));
    }
  });
  it('--scenario that cannot be read: refused before measuring, no profile written (s28-badin: wrote the profile first)', async () => {
    const { moesim } = await import('../helpers/cli.js');
    const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'moesim-disk-scen-'));
    const r = moesim(['calibrate', '--backend', 'disk', '--quick', '--scenario', join(dir, 'nothere.yaml'), '-o', join(dir, 'disk.json')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim()).toMatch(/^moesim: \S*nothere\.yaml: cannot read: no such file or folder$/);
    expect(readdirSync(dir)).toEqual([]);
    rmSync(dir, { recursive: true });
  });
});
