/**
 * validate's disk brackets on a disk whose rate drifts, made deterministic: the experts are read
 * from a real file (a few MiB, in the OS's temporary folder), but the replay's clock is a fake one
 * that only the disk advances: each read of an expert takes the profile's ssdReadSec times a
 * slowdown of the fake time. The disk profile as calibrated (the slowdown 1) then predicts a
 * slowed pass too fast; the pass simulated on the samples taken immediately before and after it
 * does not, and a pass across which the disk changed speed is reported as not bracketed.
 * Nothing here asserts a wall-clock time (a read's fake time is rounded to the nanosecond: agreement to 1e-4).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProfile } from '../../src/calibrate/profile.js';
import { setupReplay, type ReplaySetup } from '../../src/calibrate/replay-setup.js';
import { DISK_BRACKET_BOUND, validate, type ValidateResult } from '../../src/calibrate/validate.js';
import { ssdPresets } from '../../src/hardware/storage.js';
import { ssdValidationLines } from '../../src/report/validate-ssd.js';
import { ssdReadSec } from '../../src/timing/storage.js';
import type { Clock } from '../../src/util/clock.js';
import { InputError } from '../../src/util/errors.js';
import { ROOT } from '../helpers/cli.js';
import { tinySsdScenario } from '../helpers/tiers.js';

const KiB = 1024;
const PROFILE = join(ROOT, 'test/fixtures/cpu-quick-profile.json');
/** Host DRAM holds 5 of 32 experts; the rest come from the SSD (tinySsdScenario). */
const scenarioText = tinySsdScenario('bracket-ssd', ['{ kind: lru, cache: { perLayer: 2 } }', '{ kind: lru, label: pregated, cache: { perLayer: 2 }, prefetch: { kind: pregated } }']);
const SSD = { ...ssdPresets['samsung-990-pro'], blockBytes: 32 * KiB, queueDepth: 2 };
/** 64 x 128 fp32 experts: 96 KiB, a whole number of 4 KiB pages (the slot is the expert). */
const EXPERT_BYTES = 96 * KiB;
const READ_SEC = ssdReadSec(SSD, EXPERT_BYTES, SSD.blockBytes, SSD.queueDepth);

/** A clock only the fake disk moves. */
class FakeClock implements Clock {
  t = 0n;
  now(): bigint {
    return this.t;
  }
  get sec(): number {
    return Number(this.t) / 1e9;
  }
}

/**
 * A fake clock that also reports waits for a core: per read, the replaying thread waits `mainSec`,
 * and three pool threads `poolSec` each, at once (so the read is delayed by one of them per round
 * of requests, not by their sum: ioWaitBound).
 */
class WaitingClock extends FakeClock {
  main = 0n;
  /** The pool threads' waits during the current read (each), in seconds. */
  pool = 0;
  rescans = 0;
  constructor(
    readonly mainSec: number,
    readonly poolSec: number,
  ) {
    super();
  }
  waitedSec(): number {
    return Number(this.main) / 1e9;
  }
  readonly otherThreads = {
    sumSec: 0,
    maxSec: 0,
    rescan: () => {
      this.rescans++;
    },
    begin: () => {
      this.pool = 0;
    },
    end: () => {
      this.otherThreads.sumSec = 3 * this.pool;
      this.otherThreads.maxSec = this.pool;
    },
  };
}

let dir: string;
let setup: ReplaySetup;
let clock: FakeClock = new FakeClock();
/** The disk's read time over the profile's at fake time t. */
let slowdown: (tSec: number) => number = () => 1;
const afterDiskRead = (bytes: number) => {
  expect(bytes).toBe(EXPERT_BYTES);
  clock.t += BigInt(Math.round(READ_SEC * slowdown(clock.sec) * 1e9));
  if (clock instanceof WaitingClock) {
    // 96 KiB in 32 KiB requests, 2 in flight: two rounds, each delayed by one pool thread's wait.
    const m = BigInt(Math.round(clock.mainSec * 1e9));
    clock.main += m;
    clock.pool = clock.poolSec;
    clock.t += m + BigInt(Math.round(2 * clock.poolSec * 1e9));
  }
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'moesim-disk-bracket-'));
  writeFileSync(join(dir, 'bracket-ssd.yaml'), scenarioText);
  setup = await setupReplay({ scenarioFile: join(dir, 'bracket-ssd.yaml'), backend: 'cpu', scale: { hiddenSize: 64, intermediateSize: 128 } });
}, 60_000);
afterAll(async () => {
  await setup?.backend.close();
});

const run = async (o: { bound?: number; reads?: number } = {}): Promise<ValidateResult> =>
  validate(setup, {
    profile: await readProfile(PROFILE),
    profileFile: PROFILE,
    warmupSteps: 2,
    repeats: 3,
    interleave: false,
    diskBrackets: true,
    diskProbeReads: o.reads ?? 4,
    disk: { profileFile: 'preset', ssd: SSD },
    diskFile: join(dir, 'experts.bin'),
    clock,
    afterDiskRead,
    ...(o.bound !== undefined ? { diskBracketBound: o.bound } : {}),
  });

const all = (v: ValidateResult, which: 'error' | 'profileError') => v.policies.flatMap((p) => p.ssd![which]);
const worst = (xs: number[]) => Math.max(...xs.map(Math.abs));

describe('validate with disk brackets on a disk whose rate drifts (fake clock, real file)', () => {
  let steady: ValidateResult;
  beforeAll(async () => {
    slowdown = () => 1;
    steady = await run();
  }, 60_000);

  it('on a steady disk the brackets read x1, agree, and both simulations match every pass', () => {
    const dd = steady.drift.disk!;
    expect(dd.bound).toBe(DISK_BRACKET_BOUND);
    expect(dd.brackets.map((b) => b.pass)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const b of dd.brackets) {
      expect(b.factor).toBeCloseTo(1, 4);
      expect(b.drift).toBeCloseTo(0, 4);
      // Every read of a steady fake disk takes the same time: no noise in the samples.
      expect(b.driftNoise).toBeLessThan(1e-4);
      expect(b.within).toBe(true);
    }
    expect(dd.outside).toEqual([]);
    expect(worst(all(steady, 'error'))).toBeLessThan(1e-4);
    expect(worst(all(steady, 'profileError'))).toBeLessThan(1e-4);
    for (const p of steady.policies) expect(p.ssd!.bracketed).toEqual([true, true, true]);
  });

  it('when the disk slows down over the run, the profile measured up front is too fast and the brackets are not', async () => {
    // The read time grows linearly to x2.5 over a steady run's length.
    const t0 = clock.sec;
    const D = Math.max(...steady.replay.ssdProbes!.map((p) => p.startSec));
    slowdown = (t) => 1 + (1.5 * Math.max(0, t - t0)) / D;
    const v = await run();
    slowdown = () => 1;
    const dd = v.drift.disk!;
    // The drift is seen, and the disk gets slower across every pass.
    expect(dd.factorSpread.max).toBeGreaterThan(2);
    for (const b of dd.brackets) expect(b.drift).toBeGreaterThan(0);
    for (let i = 1; i < dd.brackets.length; i++) expect(dd.brackets[i].factor).toBeGreaterThan(dd.brackets[i - 1].factor);
    // Up front: every pass but the first predicted too fast, later ones by more than half.
    expect(Math.min(...all(v, 'profileError'))).toBeLessThan(-0.5);
    for (const p of v.policies) expect(p.ssd!.profileError[2]).toBeLessThan(p.ssd!.profileError[0]);
    // Bracketed: every pass within 2% (the geometric mean of the two ends of a linear ramp).
    expect(worst(all(v, 'error'))).toBeLessThan(0.02);
    for (const p of v.policies) {
      const bracketed = p.ssd!.bracketed!.filter(Boolean).length;
      if (bracketed > 0) expect(worst([p.ssd!.bracketedErrorSpread!.min, p.ssd!.bracketedErrorSpread!.max])).toBeLessThan(0.02);
    }
    // Counts are the simulator's, whatever the disk's speed.
    for (const p of v.policies) for (const r of p.rows.filter((x) => x.exact)) expect(r.simulated).toBe(r.measured);
  });

  it('a pass across which the disk changed speed is reported as not bracketed, and left out of the bracketed spread', async () => {
    // The steady run's layout: pass g between the end of its "before" sample and the start of its "after" one.
    const probes = steady.replay.ssdProbes!;
    const g = 3;
    const before = probes.find((p) => p.pass === g && p.side === 'before')!;
    const after = probes.find((p) => p.pass === g && p.side === 'after')!;
    const mid = (before.startSec + before.readSec.reduce((a, b) => a + b, 0) + after.startSec) / 2;
    const t0 = clock.sec;
    // x1 until the middle of pass 3 (the pregated policy's second pass), then x3.
    slowdown = (t) => (t - t0 < mid ? 1 : 3);
    const v = await run();
    slowdown = () => 1;
    const dd = v.drift.disk!;
    expect(dd.outside).toEqual([g]);
    const b = dd.brackets.find((x) => x.pass === g)!;
    expect(b.drift).toBeCloseTo(2, 4);
    expect(b.within).toBe(false);
    const pregated = v.policies.find((p) => p.label === 'pregated')!.ssd!;
    expect(pregated.bracketed).toEqual([true, false, true]);
    // Its error is the brackets' guess at a pass that ran at x1 then x3: the geometric mean x1.73 for a mean near x2.
    expect(Math.abs(pregated.error[1])).toBeGreaterThan(0.05);
    // The other passes are exact; the bracketed spread leaves the pass out.
    expect(worst([pregated.error[0], pregated.error[2]])).toBeLessThan(1e-4);
    expect(pregated.bracketedErrorSpread!.n).toBe(2);
    expect(worst([pregated.bracketedErrorSpread!.min, pregated.bracketedErrorSpread!.max])).toBeLessThan(1e-4);
    expect(pregated.errorSpread.n).toBe(3);
    const lines = ssdValidationLines(v).join('\n');
    expect(lines).toMatch(/bound 20%, outside it: pass 4 \(not bracketed/);
    expect(lines).toMatch(/pregated: .*\n {4}bracketed passes: 2 of 3, error .*, not bracketed\)/);
    // A looser bound takes it in.
    const loose = await run({ bound: 2.5 });
    expect(loose.drift.disk!.outside).toEqual([]);
  }, 60_000);

  it('a negative bound is bad input, refused before anything runs', async () => {
    await expect(run({ bound: -0.1 })).rejects.toThrow(InputError);
    await expect(run({ bound: Number.NaN })).rejects.toThrow(/--disk-bracket-bound/);
    await expect(run({ reads: 1 })).rejects.toThrow(/--disk-probe-reads/);
  });
});

describe("a storage tier's time on a core: the I/O threads' waits for a core are subtracted on both sides of the brackets", () => {
  // Per read: the disk's READ_SEC, the replaying thread's wait READ_SEC / 4, and two rounds of three pool threads
  // waiting READ_SEC / 2 at once (READ_SEC in all on the read's path; their sum over threads 1.5 READ_SEC).
  const waiting = new WaitingClock(READ_SEC / 4, READ_SEC / 2);
  let v: ValidateResult;
  beforeAll(async () => {
    const plain = clock;
    clock = waiting;
    try {
      v = await run();
    } finally {
      clock = plain;
    }
  }, 60_000);

  it("the samples' reads on a core are the disk's time, with the other threads' waits kept per read", () => {
    const probes = v.replay.ssdProbes!;
    expect(probes.length).toBe(12);
    for (const p of probes) {
      for (const t of p.readSec) expect(t).toBeCloseTo(2.25 * READ_SEC, 8);
      for (const t of p.onCoreSec!) expect(t).toBeCloseTo(READ_SEC, 8);
      for (const t of p.otherWaitSec!) expect(t).toBeCloseTo(READ_SEC, 8);
    }
    // Without the other threads' waits subtracted the brackets would read the disk at x2; with their sum, x0.5.
    for (const b of v.drift.disk!.brackets) expect(b.factor).toBeCloseTo(1, 4);
    // With the replaying thread's waits only (session 24's figure): x2, the pool's waits taken for the disk's.
    for (const b of v.drift.disk!.brackets) expect(b.factorReplayingThread).toBeCloseTo(2, 4);
    // The thread list is refreshed outside the reads' windows: before each pass and each sample.
    expect(waiting.rescans).toBeGreaterThanOrEqual(12 + 6);
  });

  it("each pass's SSD time on a core is its reads' disk time, and the simulation on the brackets matches it", () => {
    const steps = v.replay.steps.length;
    for (const p of v.policies) {
      const r = v.replay.policies.find((q) => q.index === p.index)!.ssd!;
      const s = p.ssd!;
      const disk = (1e3 * r.reads * READ_SEC) / steps;
      // A read's fake times are rounded to the nanosecond: agreement to 1e-4.
      for (const w of r.passOtherWaitSec!) expect(w / (r.reads * READ_SEC)).toBeCloseTo(1, 4);
      for (const w of r.passOtherWaitSumSec!) expect(w / (1.5 * r.reads * READ_SEC)).toBeCloseTo(1, 4);
      for (const w of r.passWaitSec!) expect(w / ((r.reads * READ_SEC) / 4)).toBeCloseTo(1, 4);
      for (const m of s.measuredMsPerStep) expect(m / (2.25 * disk)).toBeCloseTo(1, 4);
      for (const w of s.otherWaitMsPerStep!) expect(w / disk).toBeCloseTo(1, 4);
      // Not subtracted, the pass would read 2 x the disk's time on a core (error -50%); with the sum, half of it.
      for (const m of s.onCoreMsPerStep!) expect(m / disk).toBeCloseTo(1, 4);
      expect(worst(s.error)).toBeLessThan(1e-4);
      // The replaying thread's waits only, on both sides: here the pool waits as much in the passes as in the samples, so it agrees too.
      expect(worst(s.replayingThreadError!)).toBeLessThan(1e-4);
      // Against the wall clock: all the waits in (-56%).
      for (const e of s.wallError) expect(e).toBeCloseTo(1 / 2.25 - 1, 4);
    }
    expect(ssdValidationLines(v).join('\n')).toMatch(/less the I\/O threads' waits for a core, .*less the replaying thread's waits only /);
  });
});
