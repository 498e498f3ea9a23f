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
