import { describe, expect, it } from 'vitest';
import { createProgress, progressDelayMs, stageProgress } from '../../src/sweep/progress.js';

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

describe('one progress helper for every command', () => {
  const sink = () => {
    const out: string[] = [];
    return { out, stream: { write: (s: string) => out.push(s), isTTY: false } };
  };

  it('counts in the unit it is given, with large counts readable', () => {
    let t = 0;
    const { out, stream } = sink();
    const p = createProgress(stream, { label: 'run', unit: 'tokens', intervalMs: 1000, now: () => t });
    p.start(2_000_000, 0);
    t = 2000;
    p.update(1_000_000);
    t = 4000;
    p.update(2_000_000);
    p.stop();
    expect(out).toEqual([
      'run: 2.00 M of 2.00 M tokens to run\n',
      'run: 1.00 M/2.00 M tokens (50%), 500.0 k tokens/s, elapsed 2s, ETA 2s\n',
      'run: 2.00 M/2.00 M tokens (100%), 500.0 k tokens/s, elapsed 4s, ETA 0s\n',
    ]);
  });

  it('shows nothing before the delay, and nothing at all for work that ends sooner', () => {
    let t = 0;
    const { out, stream } = sink();
    const fast = createProgress(stream, { label: 'run', unit: 'tokens', delayMs: 1500, now: () => t });
    fast.start(100, 0);
    t = 1000;
    fast.update(100);
    fast.stop();
    expect(out).toEqual([]);

    t = 0;
    const slow = createProgress(stream, { label: 'run', unit: 'tokens', delayMs: 1500, intervalMs: 5000, now: () => t });
    slow.start(100, 0);
    t = 1000;
    slow.update(10);
    expect(out).toEqual([]);
    t = 2000;
    slow.update(20);
    t = 4000;
    slow.update(40);
    t = 8000;
    slow.update(100);
    slow.stop();
    expect(out).toEqual([
      'run: 100 of 100 tokens to run\n',
      'run: 20/100 tokens (20%), 10.00 tokens/s, elapsed 2s, ETA 8s\n',
      'run: 100/100 tokens (100%), 12.50 tokens/s, elapsed 8s, ETA 0s\n',
    ]);
  });

  it('MOESIM_PROGRESS_DELAY_MS overrides the delay ("off": never)', () => {
    expect(progressDelayMs(1500, {})).toBe(1500);
    expect(progressDelayMs(1500, { MOESIM_PROGRESS_DELAY_MS: '0' })).toBe(0);
    expect(progressDelayMs(1500, { MOESIM_PROGRESS_DELAY_MS: 'off' })).toBe(Infinity);
    expect(progressDelayMs(1500, { MOESIM_PROGRESS_DELAY_MS: 'x' })).toBe(1500);
  });

  it('stages: each named once it runs past the delay, then the total time', async () => {
    let t = 0;
    const { out, stream } = sink();
    const s = stageProgress('trace stats', 2, { stream, delayMs: 1500, now: () => t });
    await s.stage('reading a.jsonl', () => {
      t = 3000;
    });
    await s.stage('computing statistics', () => {
      t = 5000;
    });
    s.stop();
    expect(out).toEqual(['trace stats: computing statistics (stage 2 of 2, elapsed 3s)\n', 'trace stats: done in 5s\n']);
    const quiet = sink();
    t = 0;
    const q = stageProgress('trace stats', 1, { stream: quiet.stream, delayMs: 1500, now: () => t });
    await q.stage('reading', () => {
      t = 100;
    });
    q.stop();
    expect(quiet.out).toEqual([]);
  });
});
