/**
 * The other threads' run-queue waits (src/util/thread-waits.ts) on a fake /proc/self/task: a
 * directory of <tid>/schedstat files rewritten in place (the same inode, as the kernel's are read
 * again through the file opened once).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ioWaitBound, procIoSyscr, schedstatWaitNs, selfTid, ThreadWaits } from '../../src/util/thread-waits.js';

let dir: string;
const io = (tid: string, syscr: number) => writeFileSync(join(dir, tid, 'io'), `rchar: 6976\nwchar: 0\nsyscr: ${syscr}\nsyscw: 0\nread_bytes: 0\n`);
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

describe('procIoSyscr', () => {
  it('reads syscr from a task io file, NaN where it is not one', () => {
    const t = 'rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 0\nread_bytes: 0\n';
    expect(procIoSyscr(Buffer.from(t), t.length)).toBe(10);
    expect(procIoSyscr(Buffer.from('rchar: 1\nwchar: 0\nsyscw: 3\n'), 27)).toBeNaN();
    expect(procIoSyscr(Buffer.from(''), 0)).toBeNaN();
  });
});

describe('ioWaitBound', () => {
  it('is the least of the summed increases and rounds times the largest', () => {
    // Three pool threads waiting 1 ms each at once, one round: the read was delayed by 1 ms at most, not 3.
    expect(ioWaitBound(0.003, 0.001, 1)).toBe(0.001);
    expect(ioWaitBound(0.003, 0.001, 2)).toBe(0.002);
    // One thread did all the waiting: the sum.
    expect(ioWaitBound(0.001, 0.001, 3)).toBe(0.001);
    expect(ioWaitBound(0, 0, 2)).toBe(0);
  });
});

describe('ThreadWaits on a fake task directory', () => {
  it("over a window: every thread's increase but the replaying one's, summed and the largest; new threads at a rescan; never down", () => {
    set('100', 1_000_000_000); // the replaying thread
    set('101', 2_000_000);
    set('102', 3_000_000);
    const w = new ThreadWaits(dir, () => '100');
    w.begin();
    w.end();
    expect([w.sumSec, w.maxSec]).toEqual([0, 0]); // nothing opened before the first rescan
    w.rescan();
    expect(w.threads).toBe(2);
    // Two pool threads wait 1.5 and 0.5 ms during a read; the replaying thread's own wait is not in it.
    w.begin();
    set('101', 3_500_000);
    set('102', 3_500_000);
    set('100', 9_000_000_000);
    w.end();
    expect(w.sumSec).toBeCloseTo(0.002, 12);
    expect(w.maxSec).toBeCloseTo(0.0015, 12);
    // A thread started since: not seen until the next rescan.
    set('103', 4_000_000);
    w.begin();
    set('103', 9_000_000);
    w.end();
    expect(w.sumSec).toBe(0);
    w.rescan();
    expect(w.threads).toBe(3);
    w.begin();
    set('103', 10_000_000);
    w.end();
    expect(w.sumSec).toBeCloseTo(0.001, 12);
    // A thread that exited (its file unreadable or empty) keeps its last value; a lower reading is not taken.
    w.begin();
    set('102', '');
    set('103', 1_000_000);
    set('101', 3_600_000);
    w.end();
    expect(w.sumSec).toBeCloseTo(0.0001, 12);
    expect(w.maxSec).toBeCloseTo(0.0001, 12);
  });

  it('with io files: only the threads that made a read system call in the window are counted', () => {
    set('100', 0);
    for (const t of ['101', '102', '103']) {
      set(t, 1_000_000);
      io(t, 5);
    }
    io('100', 5);
    const w = new ThreadWaits(dir, () => '100');
    w.rescan();
    expect(w.ioFiltered).toBe(true);
    w.begin();
    // 101 ran a request (2 reads) and waited 2 ms; 102 (a V8 worker, say) waited 7 ms without reading; 103 read, no wait.
    set('101', 3_000_000);
    io('101', 7);
    set('102', 8_000_000);
    io('103', 6);
    w.end();
    expect(w.sumSec).toBeCloseTo(0.002, 12);
    expect(w.maxSec).toBeCloseTo(0.002, 12);
    // A thread whose io file is gone (exited) is left out too.
    w.begin();
    set('101', 4_000_000);
    writeFileSync(join(dir, '101', 'io'), '');
    w.end();
    expect(w.sumSec).toBe(0);
  });

  it('a missing task directory gives nothing', () => {
    const w = new ThreadWaits(join(dir, 'none'), () => '1');
    w.rescan();
    expect(w.threads).toBe(0);
    w.begin();
    w.end();
    expect(w.sumSec).toBe(0);
  });

  it.runIf(process.platform === 'linux')('on this process: the caller is left out, and the other threads are read', async () => {
    const { readFile } = await import('node:fs/promises');
    await readFile(__filename); // starts libuv's thread pool
    const me = selfTid()!;
    const w = new ThreadWaits();
    w.rescan();
    expect(w.threads).toBeGreaterThan(0);
    expect(w.ioFiltered).toBe(true);
    w.begin();
    await readFile(__filename);
    w.end();
    expect(w.maxSec).toBeGreaterThanOrEqual(0);
    expect(w.sumSec).toBeGreaterThanOrEqual(w.maxSec);
    expect(me).toMatch(/^\d+$/);
  });
});
