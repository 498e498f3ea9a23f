/** Reads what a report is made from: a sweep folder (results.jsonl + sweep.json) or one RunResult. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { RunResult } from '../metrics/types.js';
import { InputError } from '../util/errors.js';
import { MANIFEST, RESULTS_JSONL, readManifest, readResultsFile, type PointRecord, type SweepManifest } from '../sweep/results.js';
import type { ReportSource } from './data.js';
import { firstIssue, runResultSchema } from '../sweep/schemas.js';

export const RUN_RESULT_JSON = 'result.json';

export function sourceFromRun(result: RunResult, scenario?: unknown): ReportSource {
  const resolved = result.scenario.resolved as { description?: string } | undefined;
  return {
    name: result.scenario.name,
    description: resolved?.description,
    kind: 'run',
    scenario: scenario ?? result.scenario.resolved,
    scenarioFile: result.scenario.file,
    points: [{ point: 'run', index: 0, assignments: {}, seed: result.scenario.seed, result }],
  };
}

export function sourceFromSweep(manifest: SweepManifest | undefined, records: readonly PointRecord[]): ReportSource {
  const first = records.find((r) => r.result)?.result;
  const base = (manifest?.base ?? (first?.scenario.resolved as Record<string, unknown> | undefined) ?? {}) as { name?: string; description?: string };
  const sweepId = manifest?.sweep ?? records[0]?.sweep ?? 'unknown';
  return {
    name: manifest?.name ?? base.name ?? 'sweep',
    description: base.description,
    kind: 'sweep',
    scenario: manifest?.base ?? first?.scenario.resolved,
    scenarioFile: manifest?.scenarioFile,
    sweep: {
      id: sweepId,
      mode: manifest?.definition.mode ?? 'cartesian',
      grid: manifest?.definition.grid ?? [],
      totalPoints: manifest?.totalPoints ?? records.length,
      ...(manifest?.shard ? { shard: manifest.shard } : {}),
    },
    points: records.map((r) => ({ point: r.point, index: r.index, assignments: r.assignments, seed: r.seed, result: r.result, error: r.error })),
  };
}


/**
 * A report source from a path: a folder (its results.jsonl, else its result.json), a results.jsonl,
 * or a RunResult JSON file (`moesim run --out`). Returns where the report goes by default too.
 */
export function loadReportSource(path: string, warn: (m: string) => void = () => {}): { source: ReportSource; dir: string } {
  if (!existsSync(path)) throw new InputError(`${path}: no such file or folder; expected a sweep folder, a results.jsonl or a RunResult JSON`);
  const isDir = statSync(path).isDirectory();
  const dir = isDir ? path : dirname(path);
  let file = path;
  if (isDir) {
    if (existsSync(join(path, RESULTS_JSONL))) file = join(path, RESULTS_JSONL);
    else if (existsSync(join(path, RUN_RESULT_JSON))) file = join(path, RUN_RESULT_JSON);
    else {
      // A scenario's folder (reports/<name>/): its run/ or sweep/ report, when it holds just one.
      const inside = ['run', 'sweep'].filter((k) => existsSync(join(path, k, k === 'run' ? RUN_RESULT_JSON : RESULTS_JSONL)));
      if (inside.length === 1) return loadReportSource(join(path, inside[0]), warn);
      if (inside.length > 1) throw new InputError(`${path}: holds a run and a sweep; name one: ${inside.map((k) => join(path, k)).join(' or ')}`);
      throw new InputError(`${path}: holds no ${RESULTS_JSONL} (moesim sweep), ${RUN_RESULT_JSON} (moesim run), nor a run/ or sweep/ folder with one`);
    }
  }
  if (file.endsWith('.jsonl')) {
    const read = readResultsFile(file);
    read.warnings.forEach(warn);
    if (read.records.length === 0) throw new InputError(`${file}: no valid result records${read.warnings.length ? ` (${read.warnings.length} line${read.warnings.length === 1 ? '' : 's'} left out, see the warnings above)` : ''}`);
    if (read.warnings.length > 0) warn(`${file}: the report is made from the ${read.records.length} valid record${read.records.length === 1 ? '' : 's'}; what the warnings above name is left out`);
    const manifest = existsSync(join(dirname(file), MANIFEST)) ? readManifest(dirname(file)) : undefined;
    const ids = new Set(read.records.map((r) => r.sweep));
    if (ids.size > 1) throw new InputError(`${file}: holds lines of ${ids.size} different sweeps (${[...ids].join(', ')}); expected one`);
    if (manifest && read.records.length && !ids.has(manifest.sweep)) {
      throw new InputError(`${file}: its lines belong to sweep ${[...ids][0]}, but ${join(dirname(file), MANIFEST)} describes sweep ${manifest.sweep}`);
    }
    const source = sourceFromSweep(manifest, read.records);
    if (read.warnings.length > 0) source.leftOut = [...read.warnings];
    return { source, dir };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file}: not JSON (${(e as Error).message}); expected a RunResult (moesim run --out) or a results.jsonl`);
  }
  if (basename(file) === MANIFEST) return loadReportSource(dirname(file), warn);
  const r = runResultSchema.safeParse(parsed);
  if (!r.success) throw new InputError(`${file}: not a moesim RunResult: ${firstIssue(r.error)}`);
  return { source: sourceFromRun(parsed as RunResult), dir };
}
