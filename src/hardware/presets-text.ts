/** Issue 16: `moesim presets`' tables of SSDs and of machines with a storage tier, with sources. */
import { ssdPresets } from './storage.js';
import { storageMachinePresets } from './unified.js';

const GiB = 2 ** 30;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function storagePresetsText(): string {
  const ssds = table(
    ['storage', 'SSD', 'seq read GB/s', '4K IOPS (K)', 'QD1 latency us', 'source'],
    Object.entries(ssdPresets).map(([k, s]) => [k, s.name, (s.seqReadBytesPerSec / 1e9).toFixed(2), (s.randReadIops / 1e3).toFixed(0), (s.readLatencySec * 1e6).toFixed(1), s.source]),
  );
  const machines = table(
    ['hardware (with SSD)', 'memory', 'GiB', 'GB/s', 'bf16 TFLOP/s', 'SSD'],
    Object.entries(storageMachinePresets).map(([k, h]) => [
      k,
      h.unified ? 'unified pool' : 'GPU HBM + host DRAM',
      h.unified ? (h.gpu.hbmBytes / GiB).toFixed(0) : `${(h.gpu.hbmBytes / GiB).toFixed(0)} + ${(h.cpu.dramBytes / GiB).toFixed(0)}`,
      (h.gpu.hbmBytesPerSec / 1e9).toFixed(0),
      (h.gpu.flopsPerSec.bf16 / 1e12).toFixed(1),
      h.storage?.name ?? '-',
    ]),
  );
  return `${ssds}\n\n${machines}`;
}
