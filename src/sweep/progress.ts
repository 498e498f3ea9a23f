/**
 * Sweep progress on stderr: a cli-progress bar with rate and ETA on a terminal; plain periodic
 * lines otherwise (CI logs, `> file`), so logs hold no control characters.
 */
import cliProgress from 'cli-progress';

export interface ProgressSink {
  /** `total` points to finish, `done` of them already finished (resumed). */
  start(total: number, done: number): void;
  /** One more point finished. */
  tick(): void;
  stop(): void;
}

function fmtDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A progress bar (stream is a TTY) or periodic lines. `now` in ms, injectable for tests. */
export function createProgress(
  stream: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean },
  opts: { label?: string; intervalMs?: number; now?: () => number } = {},
): ProgressSink {
  const label = opts.label ?? 'sweep';
  const now = opts.now ?? (() => performance.now());
  let total = 0;
  let done = 0;
  let startDone = 0;
  let t0 = 0;
  const rate = () => {
    const sec = (now() - t0) / 1e3;
    return sec > 0 ? (done - startDone) / sec : 0;
  };

  if ((stream as NodeJS.WriteStream).isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: stream as NodeJS.WriteStream,
        format: `${label} |{bar}| {value}/{total} points | {rate} points/s | ETA {eta_formatted} | {duration_formatted}`,
        etaBuffer: 20,
        hideCursor: true,
        clearOnComplete: false,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    return {
      start(n, d) {
        total = n;
        done = startDone = d;
        t0 = now();
        bar.start(n, d, { rate: '-' });
      },
      tick() {
        done++;
        bar.update(done, { rate: rate().toFixed(2) });
      },
      stop() {
        bar.stop();
      },
    };
  }

  const interval = opts.intervalMs ?? 5000;
  let last = 0;
  const line = () => {
    const r = rate();
    const eta = r > 0 ? (total - done) / r : NaN;
    const pct = total ? Math.floor((100 * done) / total) : 100;
    stream.write(`${label}: ${done}/${total} points (${pct}%), ${r.toFixed(2)} points/s, elapsed ${fmtDuration((now() - t0) / 1e3)}, ETA ${done >= total ? '0s' : fmtDuration(eta)}\n`);
    last = now();
  };
  return {
    start(n, d) {
      total = n;
      done = startDone = d;
      t0 = last = now();
      stream.write(`${label}: ${n - d} of ${n} points to run${d ? ` (${d} already done)` : ''}\n`);
    },
    tick() {
      done++;
      if (now() - last >= interval || done === total) line();
    },
    stop() {
      if (done !== total) line();
    },
  };
}

/** A sink that shows nothing (API use, tests). */
export const silentProgress: ProgressSink = { start() {}, tick() {}, stop() {} };
