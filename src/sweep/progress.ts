/**
 * Progress on stderr, the one helper every long command uses (sweep points, run tokens, trace
 * bytes, calibration measurements): a cli-progress bar with rate and ETA on a terminal; plain
 * periodic lines otherwise (CI logs, `> file`), so logs hold no control characters. Progress goes to
 * its own stream only: it never changes stdout or any result.
 *
 * `delayMs`: show nothing until the work has run that long (a command that finishes in a second
 * prints no progress at all). The clock is read on updates only, so a synchronous loop that calls
 * `update` now and then is enough; no timer is needed.
 */
import cliProgress from 'cli-progress';

export interface ProgressSink {
  /** `total` units to finish, `done` of them already finished (resumed). */
  start(total: number, done: number): void;
  /** `n` more units finished (default 1). */
  tick(n?: number): void;
  /** `done` units finished so far (absolute); `message` (optional) says what runs now. */
  update(done: number, message?: string): void;
  stop(): void;
}

export interface ProgressOptions {
  /** What runs: the first word of every line (default "sweep"). */
  label?: string;
  /** What is counted, plural (default "points"). */
  unit?: string;
  /** Plain lines: at most one per this many ms (default 5000). */
  intervalMs?: number;
  /** Show nothing before the work has run this long (default 0: from the start). */
  delayMs?: number;
  /** Clock in ms (default performance.now); injectable for tests. */
  now?: () => number;
}

/** Delay before `run`, `trace stats|convert` show progress: they often finish faster. */
export const DEFAULT_PROGRESS_DELAY_MS = 1500;

/**
 * The delay a command uses: `MOESIM_PROGRESS_DELAY_MS` when set (0: show at once; "off": never),
 * else `fallback`. Infinity means no progress.
 */
export function progressDelayMs(fallback = DEFAULT_PROGRESS_DELAY_MS, env: NodeJS.ProcessEnv = process.env): number {
  const v = env.MOESIM_PROGRESS_DELAY_MS;
  if (v === undefined || v === '') return fallback;
  if (v === 'off') return Infinity;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

function fmtDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Large counts (tokens, bytes) readable: 1234567 -> "1.23 M". */
function fmtCount(n: number): string {
  if (n < 1e4) return String(n);
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(2)} M`;
  return `${(n / 1e9).toFixed(2)} G`;
}

function fmtRate(r: number): string {
  return r >= 1e4 ? fmtCount(Math.round(r)) : r.toFixed(2);
}

type Stream = NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };

/** A progress bar (stream is a TTY) or periodic lines. */
export function createProgress(stream: Stream, opts: ProgressOptions = {}): ProgressSink {
  const label = opts.label ?? 'sweep';
  const unit = opts.unit ?? 'points';
  const now = opts.now ?? (() => performance.now());
  const delay = opts.delayMs ?? 0;
  const tty = (stream as NodeJS.WriteStream).isTTY === true;
  const interval = opts.intervalMs ?? 5000;
  let total = 0;
  let done = 0;
  let startDone = 0;
  let t0 = 0;
  let last = 0;
  let started = false;
  let shown = false;
  let stopped = false;
  let message = '';
  const rate = () => {
    const sec = (now() - t0) / 1e3;
    return sec > 0 ? (done - startDone) / sec : 0;
  };
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          stream: stream as NodeJS.WriteStream,
          format: `${label} |{bar}| {shown}/{all} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} | {duration_formatted}{message}`,
          etaBuffer: 20,
          hideCursor: true,
          clearOnComplete: false,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const payload = () => ({ rate: fmtRate(rate()), shown: fmtCount(done), all: fmtCount(total), message: message ? ` | ${message}` : '' });
  const line = () => {
    const r = rate();
    const eta = r > 0 ? (total - done) / r : NaN;
    const pct = total ? Math.floor((100 * done) / total) : 100;
    stream.write(
      `${label}: ${fmtCount(done)}/${fmtCount(total)} ${unit} (${pct}%), ${fmtRate(r)} ${unit}/s, elapsed ${fmtDuration((now() - t0) / 1e3)}, ETA ${done >= total ? '0s' : fmtDuration(eta)}${message ? `; ${message}` : ''}\n`,
    );
    last = now();
  };
  /** Shows the start (bar or first line) once the delay has passed. */
  const show = (): boolean => {
    if (shown) return true;
    if (!started || stopped || !(now() - t0 >= delay)) return false;
    shown = true;
    if (bar) bar.start(total, done, payload());
    else {
      const todo = total - startDone;
      stream.write(`${label}: ${fmtCount(todo)} of ${fmtCount(total)} ${unit} to run${startDone ? ` (${fmtCount(startDone)} already done)` : ''}\n`);
      last = now();
      if (done > startDone) line();
    }
    return true;
  };
  const moved = () => {
    if (!show()) return;
    if (bar) bar.update(done, payload());
    else if (now() - last >= interval || done === total) line();
  };
  return {
    start(n, d) {
      total = n;
      done = startDone = d;
      t0 = last = now();
      started = true;
      show();
    },
    tick(n = 1) {
      done += n;
      moved();
    },
    update(d, m) {
      if (m !== undefined) message = m;
      if (d === done && m === undefined) return;
      done = d;
      moved();
    },
    stop() {
      if (stopped) return;
      if (shown) {
        if (bar) bar.stop();
        else if (done !== total) line();
      }
      stopped = true;
    },
  };
}

/** A sink that shows nothing (API use, tests). */
export const silentProgress: ProgressSink = { start() {}, tick() {}, update() {}, stop() {} };

/** A `(done, total)` callback (RunContext.progress) driving `sink`, started on its first call. */
export function progressCallback(sink: ProgressSink): (done: number, total: number) => void {
  let began = false;
  return (done, total) => {
    if (!began) {
      began = true;
      sink.start(total, 0);
    }
    sink.update(done);
  };
}

/** Progress on stderr for a command that may finish fast: nothing before `progressDelayMs()`. */
export function stderrProgress(label: string, unit: string): ProgressSink {
  const delayMs = progressDelayMs();
  return delayMs === Infinity ? silentProgress : createProgress(process.stderr, { label, unit, delayMs });
}

/**
 * Progress of a command made of a few stages (read a trace, compute, write), for commands whose
 * stages cannot count their own work: `stage(what, fn)` runs one; once the command has run for the
 * delay, a line (or the bar) says which stage runs. A timer re-checks during asynchronous stages
 * (a streamed read), so a long read shows while it runs.
 */
export interface Stages {
  stage<T>(what: string, fn: () => T | Promise<T>): Promise<T>;
  stop(): void;
}

export function stageProgress(
  label: string,
  stages: number,
  opts: { stream?: Stream; delayMs?: number; now?: () => number } = {},
): Stages {
  const stream = opts.stream ?? process.stderr;
  const delay = opts.delayMs ?? progressDelayMs();
  const now = opts.now ?? (() => performance.now());
  if (delay === Infinity) return { stage: async (_w, fn) => fn(), stop() {} };
  if ((stream as NodeJS.WriteStream).isTTY === true) {
    // On a terminal: the bar, its message the stage that runs.
    const sink = createProgress(stream, { label, unit: 'stages', delayMs: delay, now });
    let done = 0;
    sink.start(stages, 0);
    return {
      async stage(what, fn) {
        sink.update(done, what);
        const timer = setInterval(() => sink.update(done, what), 250);
        timer.unref();
        try {
          return await fn();
        } finally {
          clearInterval(timer);
          sink.update(++done);
        }
      },
      stop: () => sink.stop(),
    };
  }
  // Plain lines: each stage named once, when it runs past the delay, then how long it all took.
  const t0 = now();
  let spoke = false;
  let stopped = false;
  let n = 0;
  return {
    async stage(what, fn) {
      const i = ++n;
      let said = false;
      const say = () => {
        if (said || stopped || !(now() - t0 >= delay)) return;
        said = spoke = true;
        stream.write(`${label}: ${what} (stage ${i} of ${stages}, elapsed ${fmtDuration((now() - t0) / 1e3)})\n`);
      };
      say();
      const timer = setInterval(say, 250);
      timer.unref();
      try {
        return await fn();
      } finally {
        clearInterval(timer);
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (spoke) stream.write(`${label}: done in ${fmtDuration((now() - t0) / 1e3)}\n`);
    },
  };
}
