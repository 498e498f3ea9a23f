/**
 * Linux: the run-queue waits of this process's other threads (issue 16, the storage tier's time on
 * a core). A read from the experts' file (disk-replay.ts ExpertFile.read) runs its requests on
 * libuv's thread pool; when a request's I/O completes, the pool thread that issued it must get a
 * core to finish it and post the completion, and on a loaded machine it waits for one. Those waits
 * are in the read's wall time but are not the disk's, and the replaying thread's own schedstat
 * (clock.ts threadWaitedSec) does not see them.
 *
 * What is summed: field 2 of /proc/self/task/<tid>/schedstat ("time spent waiting on a runqueue",
 * nanoseconds; the kernel's Documentation/scheduler/sched-stats.rst) over every thread of the
 * process except the one that called `rescan` (the replaying thread), and over a window (one read)
 * only the threads that made a read system call in it: /proc/self/task/<tid>/io's syscr grew (the
 * kernel's Documentation/filesystems/proc.rst, "syscr: read I/O operations"), i.e. the libuv pool
 * threads that ran the read's requests. Node 20 names none of its threads (every comm reads
 * "node"), and V8's platform workers (GC, compilation) wait for a core too, more while the replay
 * computes: counted, they made the bound far too loose on this VM (session 26, the README). Where
 * a thread's io file does not open, every thread is counted (`ioFiltered` false).
 *
 * Cheap: each thread's file is opened once, at `rescan` (before a pass or a disk sample, untimed),
 * and `waitedSec` reads every file into one reused buffer (readSync at position 0) and parses the
 * digits in place: no allocation per call. A thread that starts after the last rescan is not seen
 * until the next; one that exits keeps its last value (the sum never goes down).
 */
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';

const TASKS = '/proc/self/task';

/** The calling thread's id (/proc/thread-self links to <pid>/task/<tid>); undefined where not Linux. */
export function selfTid(): string | undefined {
  try {
    const l = readlinkSync('/proc/thread-self');
    return l.slice(l.lastIndexOf('/') + 1);
  } catch {
    return undefined;
  }
}

/** Where the last decimalAt stopped (a module variable: no object per parse on the per-read path). */
let decimalEnd = 0;

/** The unsigned decimal at buf[i, n), up to its first non-digit (decimalEnd); NaN if there is no digit. */
function decimalAt(buf: Uint8Array, i: number, n: number): number {
  let v = 0;
  const start = i;
  for (; i < n; i++) {
    const c = buf[i];
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
  }
  decimalEnd = i;
  return i > start ? v : Number.NaN;
}

/** syscr (line 3: "syscr: N") of a /proc/<pid>/task/<tid>/io text held in buf[0, n); NaN if malformed. */
export function procIoSyscr(buf: Uint8Array, n: number): number {
  let i = 0;
  for (let lines = 0; i < n && lines < 2; i++) if (buf[i] === 10) lines++;
  // "syscr: "
  if (!(i + 7 <= n && buf[i] === 115 && buf[i + 1] === 121 && buf[i + 2] === 115 && buf[i + 3] === 99 && buf[i + 4] === 114 && buf[i + 5] === 58)) return Number.NaN;
  i += 6;
  while (i < n && buf[i] === 32) i++;
  return decimalAt(buf, i, n);
}

/** Field 2 (run-queue wait, ns) of a schedstat line held in buf[0, n); NaN if malformed. */
export function schedstatWaitNs(buf: Uint8Array, n: number): number {
  let i = 0;
  while (i < n && buf[i] !== 32) i++;
  i++;
  if (i >= n) return Number.NaN;
  const v = decimalAt(buf, i, n);
  const end = decimalEnd;
  return end === n || buf[end] === 32 || buf[end] === 10 ? v : Number.NaN;
}

/**
 * What the other threads' waits over one read's window could have added to it: at most the sum of
 * their increases, and at most `rounds` times the largest single thread's. A read issues its
 * requests `rounds` times in turn (ceil(requests / requests in flight)); each round's last request
 * is finished by one pool thread, so the read's critical path runs through one pool thread per
 * round, and no thread's wait on it exceeds that thread's increase over the window. The bound holds
 * when waits overlap in time (pool threads waiting at once for the same cores delay the read once,
 * and the sum counts them once per thread) and when a thread that waits does not serve the read
 * (V8's workers: Node names no thread); no lower bound is known but 0 (a thread may wait off the
 * critical path, after its request's completion was posted).
 */
export function ioWaitBound(sumSec: number, maxSec: number, rounds: number): number {
  return Math.min(sumSec, rounds * maxSec);
}

/** A window over the other threads' waits: `begin` and `end` around a read (outside its timed span); then the increases' sum and largest. */
export interface ThreadWaitWindow {
  rescan(): void;
  begin(): void;
  end(): void;
  /** After end: the threads' increases over the window, summed and the largest (seconds). */
  readonly sumSec: number;
  readonly maxSec: number;
}

/** The run-queue waits of a process's threads other than one (see the file's comment). */
export class ThreadWaits implements ThreadWaitWindow {
  private tids: string[] = [];
  private fds: number[] = [];
  /** Per thread: its io file (-1: not opened), and its syscr at begin and at end. */
  private ioFds: number[] = [];
  private ioStart = new Float64Array(0);
  /** Per thread: its wait at the last read (ns); kept when its file no longer reads (the thread exited). */
  private last: number[] = [];
  /** Per thread: its wait at begin (ns); reallocated only by rescan. */
  private start = new Float64Array(0);
  private readonly buf = Buffer.alloc(256);
  sumSec = 0;
  maxSec = 0;

  /** `dir`: the task directory (tests: a fake one); `self`: the thread to leave out (default: the caller of rescan). */
  constructor(
    private readonly dir = TASKS,
    private readonly self: () => string | undefined = selfTid,
  ) {}

  /** Opens the files of threads started since the last rescan (untimed: outside any read's window). */
  rescan(): void {
    const me = this.self();
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const t of names) {
      if (t === me || this.tids.includes(t)) continue;
      let fd: number;
      try {
        fd = openSync(`${this.dir}/${t}/schedstat`, 'r');
      } catch {
        continue;
      }
      let io = -1;
      try {
        io = openSync(`${this.dir}/${t}/io`, 'r');
      } catch {
        // counted in every window (ioFiltered false)
      }
      this.tids.push(t);
      this.fds.push(fd);
      this.ioFds.push(io);
      this.last.push(this.readNs(fd) ?? 0);
    }
    // The excluded thread, if it was taken in by an earlier rescan from another thread: dropped.
    const i = me === undefined ? -1 : this.tids.indexOf(me);
    if (i >= 0) {
      closeSync(this.fds[i]);
      if (this.ioFds[i] >= 0) closeSync(this.ioFds[i]);
      this.tids.splice(i, 1);
      this.fds.splice(i, 1);
      this.ioFds.splice(i, 1);
      this.last.splice(i, 1);
    }
    if (this.start.length !== this.fds.length) {
      this.start = new Float64Array(this.fds.length);
      this.ioStart = new Float64Array(this.fds.length);
    }
  }

  private readNs(fd: number): number | undefined {
    try {
      const n = readSync(fd, this.buf, 0, this.buf.length, 0);
      const ns = schedstatWaitNs(this.buf, n);
      return Number.isFinite(ns) ? ns : undefined;
    } catch {
      return undefined;
    }
  }

  /** A thread's syscr now; NaN where its io file is not open or does not read (the thread exited). */
  private readSyscr(i: number): number {
    const fd = this.ioFds[i];
    if (fd < 0) return Number.NaN;
    try {
      return procIoSyscr(this.buf, readSync(fd, this.buf, 0, this.buf.length, 0));
    } catch {
      return Number.NaN;
    }
  }

  /** Whether every thread's io file is open: the windows count only the threads that read in them. */
  get ioFiltered(): boolean {
    return this.ioFds.every((fd) => fd >= 0);
  }

  /** Reads every thread's wait into `last` (a thread gone, or a lower reading: its last value). */
  private readAll(): void {
    for (let i = 0; i < this.fds.length; i++) {
      const ns = this.readNs(this.fds[i]);
      if (ns !== undefined && ns > this.last[i]) this.last[i] = ns;
    }
  }

  /** Threads read (those opened by the rescans). */
  get threads(): number {
    return this.tids.length;
  }

  begin(): void {
    this.readAll();
    for (let i = 0; i < this.fds.length; i++) {
      this.start[i] = this.last[i];
      this.ioStart[i] = this.readSyscr(i);
    }
  }

  end(): void {
    this.readAll();
    let sum = 0;
    let max = 0;
    for (let i = 0; i < this.fds.length; i++) {
      // Only a thread that made a read system call in the window (where its io file reads: else counted).
      const io = this.readSyscr(i);
      if (this.ioFds[i] >= 0 && !(io > this.ioStart[i])) continue;
      const d = this.last[i] - this.start[i];
      sum += d;
      if (d > max) max = d;
    }
    this.sumSec = sum / 1e9;
    this.maxSec = max / 1e9;
  }
}
