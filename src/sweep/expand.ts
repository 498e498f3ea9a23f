/**
 * A scenario with a sweep -> its point scenarios. Pure: works on the raw parsed YAML. `planGrid`
 * checks the grid's size from the axes' lengths, every path against the schema and every value
 * before anything runs, and builds points one at a time from their grid index (a 100,000-point grid
 * is never held in memory); small grids have every point validated up front.
 *
 * Identity: the sweep id hashes the base scenario and the sweep definition; a point id hashes the
 * base scenario and the point's assignments; a point's seed hashes the scenario seed and the
 * assignments. None depends on which other points exist, run, or in what order.
 */
import { parseScenario } from '../scenario/load.js';
import { scenarioSchema, sweepSchema, type Scenario } from '../scenario/schema.js';
import { zodToInputError } from '../scenario/errors.js';
import { InputError } from '../util/errors.js';
import { createHash } from 'node:crypto';
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
  // JSON would show a YAML 1e400 as null
  const parts = Object.entries(a).map(([k, v]) => `${k}=${typeof v === 'string' ? v : typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v)}`);
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
  checkAxes(definition);
  if (mode === 'zip') return Array.from({ length: grid[0].values.length }, (_, i) => grid.map((a) => a.values[i]));
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
      // a field path continues `sweep.`; a message about the block itself (a key typo) follows `sweep: `
      const top = e.message.startsWith('(top level): ');
      const m = top ? e.message.slice('(top level): '.length) : e.message;
      throw new InputError(`${where}sweep${top || /^unknown field/.test(m) ? ': ' : '.'}${m}`);
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

/**
 * Grids up to this many points have every point validated before anything runs (a fraction of a
 * second); larger ones have every value checked on the first point that takes it, and the other
 * combinations checked as they are built (streamed), so a big grid starts at once.
 */
export const EAGER_CHECK_POINTS = 2000;

/**
 * A sweep planned without expanding it: sizes, ids and the up-front checks done; points built one
 * at a time (`point(i)`), in any order, from the grid index alone.
 */
export interface PlannedSweep {
  id: string;
  name: string;
  definition: SweepDefinition;
  /** The scenario without its `sweep:` block. */
  base: Record<string, unknown>;
  /** Points in the grid. */
  size: number;
  /** Every point was validated (small grids); else every value was, combinations as they are built. */
  allChecked: boolean;
  /** The assignments, id and seed of point `index`, without building its scenario (cheap). */
  identity(index: number): { assignments: Assignments; id: string; seed: number };
  /** Point `index`, built and validated; throws InputError naming the point and the field. */
  point(index: number): SweepPoint;
  /** The points checked up front (all, or the first point of every value), in grid order. */
  checked: SweepPoint[];
}

/** Plans a sweep: every up-front check, no expansion (memory and time independent of the grid's size). */
export function planGrid(raw: unknown, opts: ExpandOptions = {}): PlannedSweep {
  const where = opts.file ? `${opts.file}: ` : '';
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${where}expected a YAML mapping`);
  const rawObj = raw as Record<string, unknown>;
  const definition = sweepDefinitionOf(rawObj, opts);
  const base = structuredClone(rawObj);
  delete base.sweep;
  checkAxes(definition);
  const { grid, mode } = definition;
  const size = gridSize(definition);
  // Where each path writes: checked against the schema once, on the base scenario.
  const targets: ConcretePath[][] = grid.map((axis) => {
    try {
      return resolvePath(scenarioSchema, base, axis.path, axis.values[0]);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${where}${e.message}`);
      throw e;
    }
  });
  // Mixed radix, first path slowest: stride[k] = product of the lengths after k.
  const stride = grid.map(() => 1);
  for (let k = grid.length - 2; k >= 0; k--) stride[k] = stride[k + 1] * grid[k + 1].values.length;
  const digit = (index: number, k: number) => (mode === 'zip' ? index : Math.floor(index / stride[k]) % grid[k].values.length);
  const valueTexts = grid.map((a) => a.values.map((v) => canonicalJson(v)));
  const timelineAt = timelineIndexOf(definition, valueTexts, stride, where);
  let lastSeedAxis = -1;
  targets.forEach((ts, k) => {
    if (ts.some((t) => t.length === 1 && t[0] === 'seed')) lastSeedAxis = k;
  });
  // pointId(base, a) = hashOf({ base, assignments: a }); the base's canonical text computed once.
  const baseJson = canonicalJson(base);
  const identity = (index: number) => {
    const assignments: Assignments = {};
    grid.forEach((axis, k) => (assignments[axis.path] = axis.values[digit(index, k)]));
    const id = createHash('sha256').update(`{"assignments":${canonicalJson(assignments)},"base":${baseJson}}`).digest('hex').slice(0, 12);
    // the scenario seed as the point sets it (a grid may sweep `seed` itself)
    const seedAxis = lastSeedAxis;
    const scenarioSeed = seedAxis >= 0 ? grid[seedAxis].values[digit(index, seedAxis)] : base.seed;
    return { assignments, id, seed: pointSeed(scenarioSeed, assignments) };
  };
  const point = (index: number): SweepPoint => {
    const { assignments, id, seed } = identity(index);
    const label = `sweep point ${index + 1} of ${size} (${describeAssignments(assignments)})`;
    const p = structuredClone(base);
    grid.forEach((_axis, k) => {
      for (const target of targets[k]) setIn(p, target, structuredClone(grid[k].values[digit(index, k)]));
    });
    p.seed = seed;
    if (timelineAt !== 'all' && index !== timelineAt) delete p.timeline;
    let scenario: Scenario;
    try {
      scenario = parseScenario(p);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${where}${label}: ${e.message}`);
      throw e;
    }
    // issue 17: the several-GPU simulator (src/parallel/) runs from `moesim run` only.
    if (scenario.parallel) throw new InputError(`${where}parallel: several GPUs are not swept yet; run each point with moesim run --set`);
    return { index, id, assignments, seed, raw: p, scenario };
  };
  // A repeated value (cartesian) or row (zip) makes two points one: refused, naming the first pair.
  const dup = firstDuplicate(definition, valueTexts, stride);
  const checkedIdx: number[] = [];
  const allChecked = size <= EAGER_CHECK_POINTS;
  if (allChecked) for (let i = 0; i < size; i++) checkedIdx.push(i);
  else {
    const firsts = new Set<number>([0]);
    grid.forEach((axis, k) => axis.values.forEach((_v, j) => firsts.add(mode === 'zip' ? j : j * stride[k])));
    checkedIdx.push(...[...firsts].sort((a, b) => a - b));
  }
  const checked: SweepPoint[] = [];
  for (const i of checkedIdx) {
    if (dup && i >= dup.index) break;
    checked.push(point(i));
  }
  if (dup) {
    const { assignments } = identity(dup.index);
    throw new InputError(`${where}sweep point ${dup.index + 1} of ${size} (${describeAssignments(assignments)}) repeats point ${dup.of + 1}; a value is listed twice`);
  }
  return { id: sweepId(base, definition), name: String(base.name ?? 'sweep'), definition, base, size, allChecked, identity, point, checked };
}

/** Expands and validates every point; throws InputError naming the path or the point. Small grids (API, tests). */
export function expandSweep(raw: unknown, opts: ExpandOptions = {}): ExpandedSweep {
  const plan = planGrid(raw, opts);
  const points = plan.allChecked ? plan.checked : Array.from({ length: plan.size }, (_, i) => plan.point(i));
  return { id: plan.id, name: plan.name, definition: plan.definition, base: plan.base, points };
}

/** Non-empty axes; zip lists of one length; the size limit. */
function checkAxes(definition: SweepDefinition): void {
  const { grid, mode } = definition;
  if (grid.length === 0) throw new InputError('sweep: the grid is empty; give at least one path with values (sweep.grid or --set path=v1,v2)');
  for (const axis of grid) {
    if (axis.values.length === 0) throw new InputError(`sweep.grid.${axis.path}: expected a non-empty list of values`);
  }
  checkGridSize(definition);
  if (mode === 'zip') {
    const n = grid[0].values.length;
    const bad = grid.find((a) => a.values.length !== n);
    if (bad) throw new InputError(`sweep: zip mode needs lists of one length; ${grid[0].path} has ${n} values, ${bad.path} has ${bad.values.length}`);
  }
}

/** The first point (in grid order) equal to an earlier one, and that one; from the axes alone. */
function firstDuplicate(definition: SweepDefinition, texts: string[][], stride: number[]): { index: number; of: number } | undefined {
  if (definition.mode === 'zip') {
    const seen = new Map<string, number>();
    for (let i = 0; i < texts[0].length; i++) {
      const row = JSON.stringify(texts.map((t) => t[i]));
      const j = seen.get(row);
      if (j !== undefined) return { index: i, of: j };
      seen.set(row, i);
    }
    return undefined;
  }
  // Cartesian: value b of axis k repeating value a gives points b*stride[k] (+ later digits) equal to
  // a*stride[k] (+ the same); the earliest such point is b*stride[k] with every other digit 0.
  let best: { index: number; of: number } | undefined;
  texts.forEach((t, k) => {
    const seen = new Map<string, number>();
    for (let b = 0; b < t.length; b++) {
      const a = seen.get(t[b]);
      if (a !== undefined) {
        if (!best || b * stride[k] < best.index) best = { index: b * stride[k], of: a * stride[k] };
        break;
      }
      seen.set(t[b], b);
    }
  });
  return best;
}

/** The point that records the timeline ('all': every point), from the axes alone. */
function timelineIndexOf(definition: SweepDefinition, texts: string[][], stride: number[], where: string): number | 'all' {
  const t = definition.timeline;
  if (t === 'all') return 'all';
  if (t === 'first') return 0;
  const paths = definition.grid.map((a) => a.path);
  for (const path of Object.keys(t)) {
    if (!paths.includes(path)) throw new InputError(`${where}sweep.timeline: ${path} is not a swept path; expected one of ${paths.join(', ')}`);
  }
  const wanted = Object.entries(t).map(([path, v]) => ({ k: paths.indexOf(path), text: canonicalJson(v) }));
  if (definition.mode === 'zip') {
    for (let i = 0; i < texts[0].length; i++) if (wanted.every((w) => texts[w.k][i] === w.text)) return i;
  } else {
    // The first match in grid order: each constrained digit at its first matching value, the others 0.
    let index = 0;
    let found = true;
    for (const w of wanted) {
      const j = texts[w.k].indexOf(w.text);
      if (j < 0) found = false;
      else index += j * stride[w.k];
    }
    // one path constrained twice to different values cannot happen (keys of one mapping)
    if (found) return index;
  }
  throw new InputError(`${where}sweep.timeline: no point has ${describeAssignments(t)}`);
}

/** Grid indices of shard `index` of `count` (every count-th from `index`), lazily. */
export function* shardIndices(size: number, shard: { index: number; count: number } | undefined): Generator<number> {
  const step = shard?.count ?? 1;
  for (let i = shard?.index ?? 0; i < size; i += step) yield i;
}

/** How many points shard `index` of `count` has. */
export function shardSize(size: number, shard: { index: number; count: number } | undefined): number {
  return shard ? Math.max(0, Math.ceil((size - shard.index) / shard.count)) : size;
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
 * Splits `v1,v2,...` at the commas outside YAML flow collections and quotes, so that one value may be
 * a flow mapping or list (`{preset: rtx-4090, gpu: {memoryGiB: 20}}`, `[1, 2]`). One pass, no regex.
 */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let from = 0;
  // the last character outside quotes that is not a space: a quote opens a quoted scalar only at a
  // value's start (after nothing, or after [ { , :), as in YAML; "Belady's" is a plain scalar
  let last = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== '') {
      if (quote === '"' && c === '\\') i++;
      else if (quote === "'" && c === "'" && text[i + 1] === "'") i++;
      else if (c === quote) {
        quote = '';
        last = c;
      }
      continue;
    }
    if ((c === '"' || c === "'") && (last === '' || '[{,:'.includes(last))) quote = c;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(from, i));
      from = i + 1;
      last = '';
      continue;
    }
    if (c !== ' ' && c !== '\t') last = c;
  }
  out.push(text.slice(from));
  return out;
}

/**
 * `--set path=v1,v2,...`: values are YAML scalars (16 -> number, true -> boolean, rtx-4090 -> string);
 * `path=[...]` is one YAML list, for values that hold commas (`policies[0].cache=[{perLayer: 2}, {gib: 4}]`);
 * a comma inside a flow mapping or quotes does not separate values (`hardware={preset: rtx-4090, gpu: {memoryGiB: 20}}` is one).
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
    values = rhs === '' ? [] : splitTopLevel(rhs).map((v) => {
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
