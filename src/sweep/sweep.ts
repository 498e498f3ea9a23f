/**
 * `sweep()`: expand a scenario's grid, check every point, then run the points this shard owns and
 * has not finished yet on a worker pool, appending each result as it lands. Rerunning the same
 * sweep into the same folder resumes it.
 */
import { setMaxListeners } from 'node:events';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { resolveHardware } from '../hardware/resolve.js';
import { resolveModel } from '../model/resolve.js';
import { readYamlFile } from '../scenario/load.js';
import { fsInputError, makeFolder } from '../util/fs.js';
import { InputError } from '../util/errors.js';
import { VERSION } from '../version.js';
import { canonicalJson } from './hash.js';
import { describeAssignments, planGrid, shardIndices, shardSize, type GridAxis, type PlannedSweep, type SweepMode, type SweepPoint } from './expand.js';
import { createRunner } from './pool.js';
import { defaultOutDir } from './out-dir.js';
import { silentProgress, type ProgressSink } from './progress.js';
import {
  CsvAppender,
  MANIFEST,
  RESULTS_CSV,
  RESULTS_JSONL,
  appendWhole,
  readManifest,
  recordLine,
  repairResultsFile,
  writeCsvFile,
  writeManifest,
  writeResultsFile,
  type PointRecord,
  type SweepManifest,
} from './results.js';

export interface SweepOptions {
  /** The scenario file (its folder is where relative trace paths resolve). */
  scenarioFile: string;
  /** Grid entries from the command line, replacing or adding to the file's `sweep.grid`. */
  set?: GridAxis[];
  mode?: SweepMode;
  /** Worker threads; default: the machine's cores. 0 runs points in this thread. */
  workers?: number;
  /** Run only shard `index` of `count`. */
  shard?: { index: number; count: number };
  /** Output folder; default `reports/<scenario name>/` (`.../shard-<i>-of-<n>/` for a shard). */
  outDir?: string;
  progress?: ProgressSink;
  /** Warnings and notes (stderr in the CLI). */
  log?: (message: string) => void;
  /** Aborting stops the sweep: finished points stay, points in flight are lost. */
  signal?: AbortSignal;
}

export interface SweepSummary {
  sweepId: string;
  name: string;
  outDir: string;
  /** Points in the whole sweep and in this shard. */
  totalPoints: number;
  shardPoints: number;
  /** Finished before this invocation (resumed) and in it. */
  resumed: number;
  ran: number;
  /** Points whose scenario is invalid as a whole (recorded with their error). */
  failed: Array<{ index: number; assignments: Record<string, unknown>; error: string }>;
  /** Points that hit a bug (not recorded; they run again on resume). */
  crashed: Array<{ index: number; assignments: Record<string, unknown>; error: string }>;
  interrupted: boolean;
  elapsedMs: number;
  workers: number;
}

/**
 * Plans and checks a sweep without running it (also `moesim sweep --dry-run`): the grid is not
 * expanded; small grids have every point checked, large ones every value (see planGrid).
 */
export function planSweep(opts: Pick<SweepOptions, 'scenarioFile' | 'set' | 'mode'>): { plan: PlannedSweep; baseDir: string } {
  const raw = readYamlFile(opts.scenarioFile);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError(`${opts.scenarioFile}: expected a YAML mapping (name, model, hardware, trace, policies, sweep, ...)`);
  }
  const plan = planGrid(raw, { file: opts.scenarioFile, set: opts.set, mode: opts.mode });
  const baseDir = dirname(resolve(opts.scenarioFile));
  preflight(plan.checked, plan.size, baseDir, opts.scenarioFile);
  return { plan, baseDir };
}

/** What can be checked without running: presets resolve, trace files exist. Errors name the point. */
function preflight(points: readonly SweepPoint[], size: number, baseDir: string, file: string): void {
  const checked = new Set<string>();
  for (const p of points) {
    const label = `${file}: sweep point ${p.index + 1} of ${size} (${describeAssignments(p.assignments)})`;
    const checks: Array<[string, () => void]> = [
      [canonicalJson(['model', p.scenario.model]), () => resolveModel(p.scenario.model, 'model')],
      [canonicalJson(['hardware', p.scenario.hardware]), () => resolveHardware(p.scenario.hardware, 'hardware')],
      [
        canonicalJson(['trace', p.scenario.trace]),
        () => {
          const spec = p.scenario.trace as { path?: string | string[] };
          for (const path of spec.path === undefined ? [] : Array.isArray(spec.path) ? spec.path : [spec.path]) {
            const abs = isAbsolute(path) ? path : resolve(baseDir, path);
            if (!existsSync(abs)) throw new InputError(`trace.path: no such file: ${path} (resolved against ${baseDir})`);
          }
        },
      ],
    ];
    for (const [key, check] of checks) {
      if (checked.has(key)) continue;
      try {
        check();
      } catch (e) {
        if (e instanceof InputError) throw new InputError(`${label}: ${e.message}`);
        throw e;
      }
      checked.add(key);
    }
  }
}

// ---- a lock, so two sweeps never append to one folder at once -----------------------------------

const LOCK = '.sweep.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function takeLock(dir: string): () => void {
  const file = join(dir, LOCK);
  const me = JSON.stringify({ pid: process.pid, host: hostname() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, me, { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fsInputError(e, 'write', file);
      let owner: { pid?: number; host?: string } = {};
      try {
        owner = JSON.parse(readFileSync(file, 'utf8')) as typeof owner;
      } catch {
        /* unreadable: treat as stale */
      }
      const stale = owner.host === hostname() && typeof owner.pid === 'number' && !alive(owner.pid);
      if (!stale && owner.host !== undefined) {
        throw new InputError(`${dir}: another sweep (pid ${owner.pid} on ${owner.host}) is writing here; wait for it, or delete ${file} if it is gone`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new InputError(`${dir}: cannot take ${file}`);
}

// ---- the sweep ------------------------------------------------------------------------------------

export async function sweep(opts: SweepOptions): Promise<SweepSummary> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const progress = opts.progress ?? silentProgress;
  const { plan, baseDir } = planSweep(opts);
  const expanded = plan;
  const outDir = opts.outDir ?? defaultOutDir(expanded.name, opts.shard);
  // This shard's points, by grid index; built one at a time below (never the whole grid at once).
  const mineCount = shardSize(plan.size, opts.shard);
  const inShard = (index: number) => Number.isInteger(index) && index >= 0 && index < plan.size && (!opts.shard || index % opts.shard.count === opts.shard.index);
  makeFolder(outDir);
  const release = takeLock(outDir);
  try {
    const jsonl = join(outDir, RESULTS_JSONL);
    const csv = join(outDir, RESULTS_CSV);
    const previous = readManifest(outDir);
    if (previous && previous.sweep !== expanded.id) {
      const hasResults = existsSync(jsonl) && readFileSync(jsonl).length > 0;
      if (hasResults) {
        throw new InputError(
          `${outDir} holds results of another sweep (${previous.name}, sweep ${previous.sweep}; this one is ${expanded.id}: the scenario or its grid changed); choose another --out or remove ${jsonl}`,
        );
      }
    }
    const manifest: SweepManifest = {
      format: 'moesim-sweep/1',
      sweep: expanded.id,
      name: expanded.name,
      moesimVersion: VERSION,
      scenarioFile: opts.scenarioFile,
      definition: expanded.definition,
      base: expanded.base,
      totalPoints: plan.size,
      ...(opts.shard ? { shard: opts.shard } : {}),
    };
    writeManifest(outDir, manifest);

    // Resume: what this folder already holds.
    const read = repairResultsFile(jsonl);
    read.warnings.forEach(log);
    const records = new Map<string, PointRecord>();
    for (const r of read.records) {
      if (r.sweep !== expanded.id) {
        throw new InputError(`${jsonl}: line for point ${r.point} belongs to sweep ${r.sweep}, not ${expanded.id}; choose another --out or remove the file`);
      }
      records.set(r.point, r);
    }
    const columns = records.size ? writeCsvFile(csv, [...records.values()]) : undefined;
    if (!records.size && existsSync(csv)) rmSync(csv);
    const csvOut = new CsvAppender(csv, columns);

    const mineDone = new Set<string>();
    for (const r of records.values()) if (inShard(r.index) && plan.identity(r.index).id === r.point) mineDone.add(r.point);
    const resumed = mineDone.size;
    const todoCount = mineCount - resumed;
    const workers = Math.max(0, Math.min(opts.workers ?? availableParallelism(), todoCount));
    const summary: SweepSummary = {
      sweepId: expanded.id,
      name: expanded.name,
      outDir,
      totalPoints: plan.size,
      shardPoints: mineCount,
      resumed,
      ran: 0,
      failed: [],
      crashed: [],
      interrupted: false,
      elapsedMs: 0,
      workers,
    };
    for (const r of records.values()) {
      if (r.error !== undefined && mineDone.has(r.point)) summary.failed.push({ index: r.index, assignments: r.assignments, error: r.error });
    }

    progress.start(mineCount, resumed);
    const runner = todoCount > 0 ? createRunner(opts.workers === 0 ? 0 : workers) : undefined;
    const inner = new AbortController();
    // Points in flight at once: enough to keep every worker busy; the rest wait unbuilt.
    const window = Math.max(1, workers) * 2;
    setMaxListeners(window + 16, inner.signal);
    const onAbort = () => inner.abort();
    let writeFailure: unknown;
    opts.signal?.addEventListener('abort', onAbort);
    try {
      const runPoint = async (p: SweepPoint) => {
          if (inner.signal.aborted) return;
          let outcome;
          try {
            outcome = await runner!.run({ raw: p.raw, baseDir, file: opts.scenarioFile }, inner.signal);
          } catch (e) {
            if (inner.signal.aborted) return;
            outcome = { ok: false as const, input: false, message: (e as Error).message };
          }
          if (inner.signal.aborted) return;
          const base = { sweep: expanded.id, point: p.id, index: p.index, assignments: p.assignments, seed: p.seed };
          if (!outcome.ok && !outcome.input) {
            summary.crashed.push({ index: p.index, assignments: p.assignments, error: outcome.message });
            log(`sweep point ${p.index + 1} (${describeAssignments(p.assignments)}): internal error: ${outcome.message}`);
            progress.tick();
            return;
          }
          const record: PointRecord = outcome.ok ? { ...base, result: outcome.result } : { ...base, error: outcome.message };
          // One whole line per point, written as it lands: a kill loses only points in flight.
          try {
            appendWhole(jsonl, recordLine(record));
            csvOut.append(record);
          } catch (e) {
            // a full disk: stop handing out points (those in flight are not internal errors), report it once
            writeFailure ??= e;
            inner.abort();
            return;
          }
          records.set(p.id, record);
          summary.ran++;
          if (record.error !== undefined) summary.failed.push({ index: p.index, assignments: p.assignments, error: record.error });
          progress.tick();
      };
      const inflight = new Set<Promise<void>>();
      for (const index of shardIndices(plan.size, opts.shard)) {
        if (inner.signal.aborted || writeFailure !== undefined) break;
        if (records.has(plan.identity(index).id)) continue;
        let p: SweepPoint;
        try {
          p = plan.point(index);
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          // A combination no value alone rules out (checked as built on large grids): recorded as a failed point.
          const { id, assignments, seed } = plan.identity(index);
          const record: PointRecord = { sweep: expanded.id, point: id, index, assignments, seed, error: e.message };
          try {
            appendWhole(jsonl, recordLine(record));
            csvOut.append(record);
          } catch (w) {
            writeFailure ??= w;
            break;
          }
          records.set(id, record);
          summary.ran++;
          summary.failed.push({ index, assignments, error: e.message });
          progress.tick();
          continue;
        }
        const task = runPoint(p).finally(() => inflight.delete(task));
        inflight.add(task);
        if (inflight.size >= window) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      progress.stop();
      await runner?.close();
    }
    if (writeFailure !== undefined) throw writeFailure;
    summary.interrupted = inner.signal.aborted;
    if (!summary.interrupted) {
      // Settle the files in grid order (atomic rewrites): the same sweep gives the same bytes.
      const all = [...records.values()];
      writeResultsFile(jsonl, all);
      writeCsvFile(csv, all);
    }
    summary.failed.sort((a, b) => a.index - b.index);
    summary.elapsedMs = performance.now() - t0;
    return summary;
  } finally {
    release();
  }
}

export { MANIFEST, defaultOutDir };
export { safeName } from './out-dir.js';
