/** Issue 16: validate's storage-tier lines (the SSD read time per step, per pass, simulated vs measured from a file on this disk). */
import type { ValidateResult } from '../calibrate/validate.js';

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;

export function ssdValidationLines(v: ValidateResult): string[] {
  const with_ = v.policies.filter((p) => p.ssd);
  if (with_.length === 0) return [];
  const first = v.replay.policies.find((p) => p.ssd)!.ssd!.file;
  const ssd = v.disk?.ssd;
  const lines = [
    '',
    `SSD tier: experts read from ${first.file} (${first.mode === 'direct' ? 'O_DIRECT: the page cache bypassed' : 'buffered: the file system refused O_DIRECT'}), ${first.blockBytes / 1024} KiB requests, ${first.queueDepth} in flight` +
      (ssd ? `; simulated on ${v.disk!.profileFile}: ${(ssd.readLatencySec * 1e6).toFixed(1)} µs + bytes / ${(ssd.seqReadBytesPerSec / 1e9).toFixed(3)} GB/s` : '') +
      (ssd?.burst ? `, behind a token bucket of ${(ssd.burst.bucketBytes / 2 ** 20).toFixed(0)} MiB (burst ${(ssd.burst.burstBytesPerSec / 1e9).toFixed(3)} GB/s, sustained ${(ssd.burst.sustainedBytesPerSec / 1e9).toFixed(3)} GB/s; the profile as calibrated keeps it, the disk samples stand for it)` : ''),
  ];
  const dd = v.drift.disk;
  if (dd) {
    const out = dd.outside.length === 0 ? 'every pass within it' : `outside it: pass${dd.outside.length === 1 ? '' : 'es'} ${dd.outside.map((g) => g + 1).join(', ')} (not bracketed: the disk changed speed across ${dd.outside.length === 1 ? 'it' : 'them'})`;
    lines.push(
      `  disk brackets: ${dd.reads} expert reads immediately before and after each pass; the disk at x${dd.factorSpread.min.toFixed(2)} to x${dd.factorSpread.max.toFixed(2)} the profile's read time; ` +
        `drift across a pass ${pct(dd.driftSpread.median)} (${pct(dd.driftSpread.min)} to ${pct(dd.driftSpread.max)}; the samples' own noise in it ${(100 * Math.min(...dd.brackets.map((b) => b.driftNoise))).toFixed(0)}-${(100 * Math.max(...dd.brackets.map((b) => b.driftNoise))).toFixed(0)}%); bound ${(100 * dd.bound).toFixed(0)}%, ${out}`,
    );
  }
  for (const p of with_) {
    const s = p.ssd!;
    const m = [...s.measuredMsPerStep].sort((a, b) => a - b);
    const cache = s.pageCacheShare ? `; page cache served ${(100 * Math.max(...s.pageCacheShare)).toFixed(1)}% of the bytes at most` : '';
    const disk = s.diskFactor ? `, disk at x${Math.min(...s.diskFactor).toFixed(2)} to x${Math.max(...s.diskFactor).toFixed(2)} the profile's` : '';
    const onCore = s.onCoreMsPerStep !== undefined;
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)} to ${Math.max(...xs).toFixed(2)}`;
    const sp = (x: { median: number; min: number; max: number }) => `${pct(x.median)} (${pct(x.min)} to ${pct(x.max)})`;
    lines.push(
      `  ${p.label}: ${s.reads} reads${v.replay.policies.find((q) => q.index === p.index)?.ssd?.pool ? ' into the unified pool (computed in place)' : ''}; SSD ms/step measured ${range(m)}${onCore ? `, on a core ${range(s.onCoreMsPerStep!)}` : ''}${s.otherWaitMsPerStep ? ` (less the I/O threads' waits for a core, ${range(s.otherWaitMsPerStep)})` : ''} over ${m.length} passes; ` +
        `error per pass ${onCore ? 'on a core' : 'wall clock'} ${sp(s.errorSpread)}${s.diskFactor ? ` with the disk samples${disk}` : ''}; wall clock ${sp(s.wallErrorSpread)}; ` +
        `${s.replayingThreadErrorSpread ? `less the replaying thread's waits only ${sp(s.replayingThreadErrorSpread)}; ` : ''}wall clock with the disk profile as calibrated ${sp(s.profileErrorSpread)}${cache}`,
    );
    if (s.bracketed) {
      const n = s.bracketed.filter(Boolean).length;
      lines.push(
        `    bracketed passes: ${n} of ${s.bracketed.length}${s.bracketedErrorSpread ? `, error ${sp(s.bracketedErrorSpread)}` : ''}; per pass ` +
          s.error.map((e, k) => `${pct(e)} (drift ${pct(s.bracketDrift![k])}${s.bracketed![k] ? '' : ', not bracketed'})`).join(', '),
      );
    }
  }
  return lines;
}
