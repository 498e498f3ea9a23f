import { describe, expect, it } from 'vitest';
import { createProgress } from '../../src/sweep/progress.js';

describe('progress when stderr is not a terminal', () => {
  it('prints a plain line at most every interval, and at the end, with rate and ETA', () => {
    let t = 0;
    const out: string[] = [];
    const p = createProgress({ write: (s: string) => out.push(s), isTTY: false }, { intervalMs: 5000, now: () => t });
    p.start(10, 2);
    for (let i = 0; i < 8; i++) {
      t += 1000;
      p.tick();
    }
    p.stop();
    expect(out).toEqual([
      'sweep: 8 of 10 points to run (2 already done)\n',
      'sweep: 7/10 points (70%), 1.00 points/s, elapsed 5s, ETA 3s\n',
      'sweep: 10/10 points (100%), 1.00 points/s, elapsed 8s, ETA 0s\n',
    ]);
    expect(out.join('')).not.toMatch(/\u001b/);
  });
});
