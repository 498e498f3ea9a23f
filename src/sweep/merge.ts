/**
 * `merge()`: shard outputs -> one result set. Refuses shards of different sweeps before writing
 * anything; a point found in several inputs is kept once.
 */
import { existsSync, statSync } from 'node:fs';
import { makeFolder } from '../util/fs.js';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../util/errors.js';
import { canonicalJson } from './hash.js';
import {
  RESULTS_CSV,
  RESULTS_JSONL,
  readManifest,
  readResultsFile,
  sortRecords,
  writeCsvFile,
  writeManifest,
  writeResultsFile,
  type PointRecord,
  type SweepManifest,
} from './results.js';
import { defaultOutDir } from './out-dir.js';

export interface MergeOptions {
  /** Shard folders (or their results.jsonl files). */
  inputs: string[];
  /** Default: reports/<scenario name>/. */
  outDir?: string;
  log?: (message: string) => void;
}

export interface MergeSummary {
  outDir: string;
  sweepId: string;
  name: string;
  points: number;
  totalPoints: number | undefined;
  /** Grid indices no input holds. */
  missing: number[];
}

interface Input {
  name: string;
  dir: string;
  manifest?: SweepManifest;
  records: PointRecord[];
}

function readInput(path: string, log: (m: string) => void): Input {
  if (!existsSync(path)) throw new InputError(`merge: ${path}: no such file or folder`);
  const isDir = statSync(path).isDirectory();
  const dir = isDir ? path : dirname(path);
  const file = isDir ? join(path, RESULTS_JSONL) : path;
  if (!isDir && basename(file) !== RESULTS_JSONL && !file.endsWith('.jsonl')) throw new InputError(`merge: ${path}: expected a sweep folder or its ${RESULTS_JSONL}`);
  const manifest = readManifest(dir);
  if (!existsSync(file) && !manifest) throw new InputError(`merge: ${path}: holds no ${RESULTS_JSONL} or sweep.json; expected the output folder of moesim sweep --shard`);
  const read = readResultsFile(file);
  read.warnings.forEach(log);
  return { name: path, dir, manifest, records: read.records };
}

export function merge(opts: MergeOptions): MergeSummary {
  const log = opts.log ?? (() => {});
  if (opts.inputs.length === 0) throw new InputError('merge: expected one or more shard folders');
  const inputs = opts.inputs.map((p) => readInput(p, log));

  // One sweep only: every manifest and every line must carry the same sweep id.
  const idsOf = (i: Input) => new Set([...(i.manifest ? [i.manifest.sweep] : []), ...i.records.map((r) => r.sweep)]);
  const all = new Map<string, string[]>();
  for (const i of inputs) {
    for (const id of idsOf(i)) all.set(id, [...(all.get(id) ?? []), i.name]);
  }
  if (all.size > 1) {
    const describe = [...all.entries()].map(([id, names]) => {
      const m = inputs.find((i) => i.manifest?.sweep === id)?.manifest;
      return `sweep ${id}${m ? ` (${m.name}, grid ${m.definition.grid.map((a) => a.path).join(' x ')})` : ''}: ${names.join(', ')}`;
    });
    throw new InputError(`merge: the inputs come from different sweeps (${describe.join('; ')}); expected shards of one sweep`);
  }
  if (all.size === 0) throw new InputError(`merge: the inputs hold no results`);
  const sweepId = [...all.keys()][0];
  const manifest = inputs.find((i) => i.manifest)?.manifest;
  const shardCounts = new Set(inputs.flatMap((i) => (i.manifest?.shard ? [i.manifest.shard.count] : [])));
  if (shardCounts.size > 1) log(`merge: the inputs split the sweep in different shard counts (${[...shardCounts].join(', ')}); merging by point`);

  const outDir = opts.outDir ?? defaultOutDir(manifest?.name ?? 'sweep');
  // Results already in the output folder of this sweep count as an input; of another sweep, refuse.
  const existing = readManifest(outDir);
  const records = new Map<string, { record: PointRecord; from: string }>();
  if (existsSync(join(outDir, RESULTS_JSONL))) {
    const mine = readResultsFile(join(outDir, RESULTS_JSONL));
    const other = mine.records.find((r) => r.sweep !== sweepId) ?? (existing && existing.sweep !== sweepId ? { sweep: existing.sweep } : undefined);
    if (other && !inputs.some((i) => i.dir === outDir)) {
      throw new InputError(`merge: ${outDir} holds results of sweep ${other.sweep}, not ${sweepId}; choose another --out`);
    }
    for (const r of mine.records) if (r.sweep === sweepId) records.set(r.point, { record: r, from: outDir });
  }
  for (const i of inputs) {
    for (const r of i.records) {
      const prev = records.get(r.point);
      if (prev && prev.from !== outDir && canonicalJson(prev.record) !== canonicalJson(r)) {
        log(`merge: point ${r.index + 1} (${r.point}) differs between ${prev.from} and ${i.name}; kept ${prev.from}'s`);
        continue;
      }
      if (!prev || prev.from === outDir) records.set(r.point, { record: r, from: i.name });
    }
  }
  const merged = sortRecords([...records.values()].map((e) => e.record));
  const total = manifest?.totalPoints;
  const have = new Set(merged.map((r) => r.index));
  const missing = total === undefined ? [] : Array.from({ length: total }, (_, k) => k).filter((k) => !have.has(k));

  makeFolder(outDir);
  if (manifest) {
    const { shard: _shard, ...whole } = manifest;
    writeManifest(outDir, whole);
  }
  writeResultsFile(join(outDir, RESULTS_JSONL), merged);
  writeCsvFile(join(outDir, RESULTS_CSV), merged);
  return { outDir, sweepId, name: manifest?.name ?? 'sweep', points: merged.length, totalPoints: total, missing };
}
