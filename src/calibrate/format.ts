/** Human formatting of measured quantities (terminal output only; files keep SI numbers). */

export function fmtSec(sec: number): string {
  if (!Number.isFinite(sec)) return String(sec);
  if (sec < 1e-3) return `${(sec * 1e6).toFixed(1)} µs`;
  if (sec < 1) return `${(sec * 1e3).toFixed(3)} ms`;
  return `${sec.toFixed(3)} s`;
}

export function fmtBytes(bytes: number): string {
  const KiB = 1024;
  const MiB = KiB * KiB;
  if (bytes >= MiB) return `${+(bytes / MiB).toFixed(2)} MiB`;
  if (bytes >= KiB) return `${+(bytes / KiB).toFixed(2)} KiB`;
  return `${bytes} B`;
}
