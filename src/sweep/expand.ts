/**
 * A scenario with a sweep -> the list of point scenarios. Pure: works on the raw parsed YAML, checks
 * every path against the schema and validates every point before anything runs.
 *
 * Identity: the sweep id hashes the base scenario and the sweep definition; a point id hashes the
 * base scenario and the point's assignments; a point's seed hashes the scenario seed and the
 * assignments. None depends on which other points exist, run, or in what order.
 */
import { parseScenario } from '../scenario/load.js';
import { scenarioSchema, sweepSchema, type Scenario } from '../scenario/schema.js';
import { zodToInputError } from '../scenario/errors.js';
import { InputError } from '../util/errors.js';
import { canonicalJson, hashOf } from './hash.js';
import { resolvePath, setIn, type ConcretePath } from './path.js';

export type SweepMode = 'cartesian' | 'zip';

/** One swept path and the values it takes, in the order given. */
export interface GridAxis {
  path: string;
  values: unknown[];
}

export interface SweepDefinition {
  mode: SweepMode;
  grid: GridAxis[];
  /** Which points record the scenario's timeline: the first, all, or the first matching these values. */
  timeline: 'first' | 'all' | Assignments;
}

/** A point's values by path, in grid order. */
export type Assignments = Record<string, unknown>;

export interface SweepPoint {
  /** Position in grid order (0-based); shards and reports order by it. */
  index: number;
  id: string;
  assignments: Assignments;
  seed: number;
  /** The point's scenario as raw YAML data (no `sweep:`), seed set. */
  raw: Record<string, unknown>;
  scenario: Scenario;
}

export interface ExpandedSweep {
  id: string;
  name: string;
  definition: SweepDefinition;
  /** The scenario without its `sweep:` block. */
  base: Record<string, unknown>;
  points: SweepPoint[];
}

/** "a=1, b=[2,3]" */
export function describeAssignments(a: Assignments): string {
  const parts = Object.entries(a).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length ? parts.join(', ') : '(base scenario)';
}

/** The seed of a point: from the scenario seed and the point's assignments only. */
export function pointSeed(scenarioSeed: unknown, assignments: Assignments): number {
  return parseInt(hashOf({ seed: scenarioSeed ?? 0, assignments }, 8), 16);
}

export function pointId(base: unknown, assignments: Assignments): string {
  return hashOf({ base, assignments });
}

export function sweepId(base: unknown, definition: SweepDefinition): string {
  return hashOf({ base, mode: definition.mode, grid: definition.grid, timeline: definition.timeline });
}

/** Most points one sweep may have; checked (by multiplying the axes' lengths) before anything is expanded. */
export const MAX_SWEEP_POINTS = 100_000;

/** The number of points of a grid, without expanding it. */
export function gridSize(definition: SweepDefinition): number {
  const { grid, mode } = definition;
  if (grid.length === 0) return 0;
  if (mode === 'zip') return grid[0].values.length;
  return grid.reduce((n, a) => n * a.values.length, 1);
}

/** Refuses a grid of more than MAX_SWEEP_POINTS points, with the number, the axes and the limit. */
export function checkGridSize(definition: SweepDefinition, where = ''): void {
  const n = gridSize(definition);
  if (n <= MAX_SWEEP_POINTS) return;
  const axes = definition.grid.map((a) => `${a.path}: ${a.values.length}`).join(' x ');
  const shown = Number.isSafeInteger(n) ? n.toLocaleString('en-US') : n.toExponential(2);
  throw new InputError(`${where}sweep: the grid has ${shown} points (${axes}), more than the limit of ${MAX_SWEEP_POINTS.toLocaleString('en-US')}; split it into several sweeps or use fewer values`);
}

/** The grid's combinations, in order: cartesian (first path slowest) or zipped. */
export function combinations(definition: SweepDefinition): unknown[][] {
  const { grid, mode } = definition;
  if (grid.length === 0) throw new InputError('sweep: the grid is empty; give at least one path with values (sweep.grid or --set path=v1,v2)');
  for (const axis of grid) {
    if (axis.values.length === 0) throw new InputError(`sweep.grid.${axis.path}: expected a non-empty list of values`);
  }
  checkGridSize(definition);
  if (mode === 'zip') {
    const n = grid[0].values.length;
    const bad = grid.find((a) => a.values.length !== n);
    if (bad) {
      throw new InputError(`sweep: zip mode needs lists of one length; ${grid[0].path} has ${n} values, ${bad.path} has ${bad.values.length}`);
    }
    return Array.from({ length: n }, (_, i) => grid.map((a) => a.values[i]));
  }
  let out: unknown[][] = [[]];
  for (const axis of grid) out = out.flatMap((prefix) => axis.values.map((v) => [...prefix, v]));
  return out;
}

export interface ExpandOptions {
  /** The scenario file, for messages. */
  file?: string;
  /** Grid entries from the command line (`--set path=v1,v2`): replace the file's entry for that path or add one. */
  set?: GridAxis[];
  /** Overrides `sweep.mode`. */
  mode?: SweepMode;
}

/** The sweep definition of a raw scenario plus command-line entries; throws InputError when there is none. */
export function sweepDefinitionOf(raw: Record<string, unknown>, opts: ExpandOptions = {}): SweepDefinition {
  const where = opts.file ? `${opts.file}: ` : '';
  let fromFile: SweepDefinition = { mode: 'cartesian', grid: [], timeline: 'first' };
  if (raw.sweep !== undefined) {
    const r = sweepSchema.safeParse(raw.sweep);
    if (!r.success) {
      const e = zodToInputError(r.error, raw.sweep);
      throw new InputError(`${where}sweep.${e.message}`.replace('sweep.(top level): ', 'sweep: '));
    }
    fromFile = { mode: r.data.mode, grid: Object.entries(r.data.grid).map(([path, values]) => ({ path, values })), timeline: r.data.timeline };
  }
  const grid = [...fromFile.grid];
  const given = new Set<string>();
  for (const axis of opts.set ?? []) {
    if (axis.values.length === 0) throw new InputError(`--set ${axis.path}: expected one or more values (path=v1,v2,...)`);
    if (given.has(axis.path)) throw new InputError(`--set ${axis.path}: given twice; give all its values in one --set ${axis.path}=v1,v2,...`);
    given.add(axis.path);
    const i = grid.findIndex((a) => a.path === axis.path);
    if (i >= 0) grid[i] = axis;
    else grid.push(axis);
  }
  if (grid.length === 0) {
    throw new InputError(`${where}no sweep: expected a sweep: block (sweep: {grid: {path: [values]}}) or --set path=v1,v2`);
  }
  const definition: SweepDefinition = { mode: opts.mode ?? fromFile.mode, grid, timeline: fromFile.timeline };
  checkGridSize(definition, where);
  return definition;
}

/** Expands and validates every point; throws InputError naming the path or the point. */
export function expandSweep(raw: unknown, opts: ExpandOptions = {}): ExpandedSweep {
  const where = opts.file ? `${opts.file}: ` : '';
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${where}expected a YAML mapping`);
  const rawObj = raw as Record<string, unknown>;
  const definition = sweepDefinitionOf(rawObj, opts);
  const base = structuredClone(rawObj);
  delete base.sweep;

  const rows = combinations(definition);
  // Where each path writes: checked against the schema once, on the base scenario.
  const targets: ConcretePath[][] = definition.grid.map((axis) => {
    try {
      return resolvePath(scenarioSchema, base, axis.path, axis.values[0]);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${where}${e.message}`);
      throw e;
    }
  });

  const timelineAt = timelineIndex(definition, rows, where);
  const points: SweepPoint[] = [];
  const seen = new Map<string, number>();
  rows.forEach((values, index) => {
    const assignments: Assignments = {};
    definition.grid.forEach((axis, k) => (assignments[axis.path] = values[k]));
    const id = pointId(base, assignments);
    const label = `sweep point ${index + 1} of ${rows.length} (${describeAssignments(assignments)})`;
    const dup = seen.get(id);
    if (dup !== undefined) throw new InputError(`${where}${label} repeats point ${dup + 1}; a value is listed twice`);
    seen.set(id, index);

    const point = structuredClone(base);
    definition.grid.forEach((_axis, k) => {
      for (const target of targets[k]) setIn(point, target, structuredClone(values[k]));
    });
    const seed = pointSeed(point.seed, assignments);
    point.seed = seed;
    if (timelineAt !== 'all' && index !== timelineAt) delete point.timeline;
    let scenario: Scenario;
    try {
      scenario = parseScenario(point);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${where}${label}: ${e.message}`);
      throw e;
    }
    // issue 17: the several-GPU simulator (src/parallel/) runs from `moesim run` only.
    if (scenario.parallel) throw new InputError(`${where}parallel: several GPUs are not swept yet; run each point with moesim run --set`);
    points.push({ index, id, assignments, seed, raw: point, scenario });
  });
  return { id: sweepId(base, definition), name: String(base.name ?? 'sweep'), definition, base, points };
}

/** The point that records the timeline ('all': every point). */
function timelineIndex(definition: SweepDefinition, rows: unknown[][], where: string): number | 'all' {
  const t = definition.timeline;
  if (t === 'all') return 'all';
  if (t === 'first') return 0;
  const paths = definition.grid.map((a) => a.path);
  for (const path of Object.keys(t)) {
    if (!paths.includes(path)) throw new InputError(`${where}sweep.timeline: ${path} is not a swept path; expected one of ${paths.join(', ')}`);
  }
  const i = rows.findIndex((values) => Object.entries(t).every(([path, v]) => canonicalJson(values[paths.indexOf(path)]) === canonicalJson(v)));
  if (i < 0) throw new InputError(`${where}sweep.timeline: no point has ${describeAssignments(t)}`);
  return i;
}

/** Points of shard `index` of `count`: every count-th point from `index`, in grid order. */
export function shardOf<T extends { index: number }>(points: readonly T[], shard: { index: number; count: number } | undefined): T[] {
  if (!shard) return [...points];
  return points.filter((p) => p.index % shard.count === shard.index);
}

/** Parses `i/n` (0 <= i < n). */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new InputError(`--shard: expected i/n with 0 <= i < n (e.g. 0/8 for the first of 8 shards), got "${text}"`);
  }
  return { index, count };
}

export { canonicalJson };

/**
 * `--set path=v1,v2,...`: values are YAML scalars (16 -> number, true -> boolean, rtx-4090 -> string);
 * `path=[...]` is one YAML list, for values that hold commas (`policies[0].cache=[{perLayer: 2}, {gib: 4}]`).
 */
export function parseSetOption(text: string, parseYaml: (s: string) => unknown): GridAxis {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InputError(`--set: expected path=v1,v2,... (e.g. hardware.link.bandwidthGBps=16,32,64), got "${text}"`);
  const path = text.slice(0, eq).trim();
  const rhs = text.slice(eq + 1).trim();
  let values: unknown[];
  if (rhs.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = parseYaml(rhs);
    } catch (e) {
      throw new InputError(`--set ${path}: invalid YAML list: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!Array.isArray(parsed)) throw new InputError(`--set ${path}: expected a YAML list, got ${rhs}`);
    values = parsed;
  } else {
    values = rhs === '' ? [] : rhs.split(',').map((v) => {
      try {
        return parseYaml(v.trim());
      } catch {
        return v.trim();
      }
    });
  }
  if (values.length === 0) throw new InputError(`--set ${path}: expected one or more values (path=v1,v2,...)`);
  return { path, values };
}
