/**
 * The other threads' run-queue waits (src/util/thread-waits.ts) on a fake /proc/self/task: a
 * directory of <tid>/schedstat files rewritten in place (the same inode, as the kernel's are read
 * again through the file opened once).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { schedstatWaitNs, selfTid, ThreadWaits } from '../../src/util/thread-waits.js';

let dir: string;
const set = (tid: string, waitNs: number | string) => {
  mkdirSync(join(dir, tid), { recursive: true });
  writeFileSync(join(dir, tid, 'schedstat'), typeof waitNs === 'string' ? waitNs : `5000000 ${waitNs} 7\n`);
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'moesim-tasks-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('schedstatWaitNs', () => {
  it('reads field 2 of a schedstat line, NaN where it is not one', () => {
    const b = (s: string) => Buffer.from(s);
    expect(schedstatWaitNs(b('60498394 179678024 39\n'), 22)).toBe(179678024);
    expect(schedstatWaitNs(b('1 0 1\n'), 6)).toBe(0);
    expect(schedstatWaitNs(b('1 x 1\n'), 6)).toBeNaN();
    expect(schedstatWaitNs(b('12345'), 5)).toBeNaN();
    expect(schedstatWaitNs(b(''), 0)).toBeNaN();
  });
});

describe('ThreadWaits on a fake task directory', () => {
  it("sums every thread's wait but the replaying one's, takes new threads in at a rescan, and never goes down", () => {
    set('100', 1_000_000_000); // the replaying thread
    set('101', 2_000_000);
    set('102', 3_000_000);
    const w = new ThreadWaits(dir, () => '100');
    expect(w.waitedSec()).toBe(0); // nothing opened before the first rescan
    w.rescan();
    expect(w.threads).toBe(2);
    expect(w.waitedSec()).toBeCloseTo(0.005, 12);
    // A pool thread waits 1.5 ms during a read: the increase is that; the replaying thread's own wait is not in it.
    const before = w.waitedSec();
    set('101', 3_500_000);
    set('100', 9_000_000_000);
    expect(w.waitedSec() - before).toBeCloseTo(0.0015, 12);
    // A thread started since: not seen until the next rescan.
    set('103', 4_000_000);
    expect(w.waitedSec()).toBeCloseTo(0.0065, 12);
    w.rescan();
    expect(w.threads).toBe(3);
    expect(w.waitedSec()).toBeCloseTo(0.0105, 12);
    // A thread that exited (its file unreadable or empty) keeps its last value; a lower reading is not taken.
    set('102', '');
    set('103', 1_000_000);
    expect(w.waitedSec()).toBeCloseTo(0.0105, 12);
  });

  it('a missing task directory sums nothing', () => {
    const w = new ThreadWaits(join(dir, 'none'), () => '1');
    w.rescan();
    expect(w.threads).toBe(0);
    expect(w.waitedSec()).toBe(0);
  });

  it.runIf(process.platform === 'linux')('on this process: the caller is left out, and the other threads are read', async () => {
    const { readFile } = await import('node:fs/promises');
    await readFile(__filename); // starts libuv's thread pool
    const me = selfTid()!;
    const w = new ThreadWaits();
    w.rescan();
    expect(w.threads).toBeGreaterThan(0);
    expect(w.waitedSec()).toBeGreaterThanOrEqual(0);
    expect(me).toMatch(/^\d+$/);
  });
});
