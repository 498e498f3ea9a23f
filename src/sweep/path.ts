/**
 * Sweep paths: `hardware.link.bandwidthGBps`, `policies[2].cache`, `policies[*].cache.perLayer`.
 * A path is checked against the scenario schema (walking its zod shape) and the raw scenario, so a
 * typo is told apart from an optional field that is simply not set, and `[*]` fans out to the
 * elements of a list that have the field (a `none` policy has no cache to size).
 */
import type { z } from 'zod';
import { InputError } from '../util/errors.js';
import { editDistance, nearestNames } from '../util/suggest.js';

export type Segment = string | number | '*';

/** A path with every `[*]` replaced by an index: what a value is written to. */
export type ConcretePath = Array<string | number>;

/** `a.b[2].c` from segments. */
export function formatSegments(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : s === '*' ? '[*]' : out === '' ? s : `.${s}`;
  return out;
}

/** Parses `a.b[2].c[*]`; throws InputError on bad syntax. */
export function parsePath(path: string): Segment[] {
  const segments: Segment[] = [];
  const re = /([^.[\]]+)|\[(\d+|\*)\]|(\.)/gy;
  let expectKey = true;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < path.length) {
    re.lastIndex = pos;
    m = re.exec(path);
    if (!m) break;
    if (m[1] !== undefined) {
      if (!expectKey) break;
      segments.push(m[1]);
      expectKey = false;
    } else if (m[2] !== undefined) {
      if (segments.length === 0 || expectKey) break;
      segments.push(m[2] === '*' ? '*' : Number(m[2]));
    } else {
      if (expectKey) break;
      expectKey = true;
    }
    pos = re.lastIndex;
  }
  if (pos !== path.length || expectKey || segments.length === 0) {
    throw new InputError(`sweep path "${path}": expected field names joined by dots, with [index] or [*] after a list (e.g. policies[*].cache.perLayer)`);
  }
  return segments;
}

// ---- zod introspection --------------------------------------------------------------------------

type AnySchema = z.ZodType;
interface Def {
  type: string;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  innerType?: AnySchema;
  options?: AnySchema[];
  discriminator?: string;
  in?: AnySchema;
  valueType?: AnySchema;
  getter?: () => AnySchema;
}

const def = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);
const OPAQUE = new Set(['custom', 'unknown', 'any', 'transform']);

/** The schema under optional/default/... wrappers; `undefined` when it can't be looked into. */
function unwrap(s: AnySchema): AnySchema | undefined {
  for (let i = 0; i < 32; i++) {
    const d = def(s);
    if (WRAPPERS.has(d.type)) s = d.innerType!;
    else if (d.type === 'lazy') s = d.getter!();
    else if (d.type === 'pipe') {
      if (OPAQUE.has(def(d.in!).type)) return undefined;
      s = d.in!;
    } else if (OPAQUE.has(d.type)) return undefined;
    else return s;
  }
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Union options that fit `raw`: by the discriminator when there is one and raw names it. */
function optionsFor(s: AnySchema, raw: unknown): AnySchema[] {
  const d = def(s);
  const options = d.options ?? [];
  if (d.discriminator && isObject(raw) && raw[d.discriminator] !== undefined) {
    const picked = options.filter((o) => {
      const u = unwrap(o);
      const tag = u && def(u).shape?.[d.discriminator!];
      const values = tag && (tag as unknown as { _zod: { values?: Set<unknown> } })._zod.values;
      return values ? values.has(raw[d.discriminator!]) : true;
    });
    if (picked.length > 0) return picked;
  }
  return options;
}

function describeKind(s: AnySchema): string {
  const t = def(s).type;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'enum' || t === 'literal' ? `a ${t === 'enum' || t === 'literal' ? 'fixed value' : t}` : `a ${t}`;
}

class NoField extends Error {
  /** How far the walk got (segments matched), to report the most telling of several failures. */
  constructor(message: string, readonly depth = 0) {
    super(message);
  }
}

function didYouMean(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  const near = nearestNames(key, known, 3).filter(
    (k) => k.toLowerCase().includes(lower) || lower.includes(k.toLowerCase()) || editDistance(k.toLowerCase(), lower) <= 3,
  );
  return near.length > 0 ? `; did you mean ${near.map((n) => `"${n}"`).join(', ')}?` : known.length > 0 ? `; fields there: ${known.join(', ')}` : '';
}

function getIn(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

/** Writes `value` at `path` in `root` (mutating), creating objects on the way; a preset name on the way becomes `{ preset }`. */
export function setIn(root: Record<string, unknown>, path: ConcretePath, value: unknown): void {
  let v: Record<string | number, unknown> = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    let next = v[key];
    if (typeof next === 'string' && typeof path[i + 1] === 'string') next = { preset: next };
    if (next === undefined || next === null) next = {};
    if (typeof next !== 'object') throw new InputError(`${formatSegments(path.slice(0, i + 1))}: is ${JSON.stringify(next)}, which has no field ${String(path[i + 1])}`);
    v[key] = next;
    v = next as Record<string | number, unknown>;
  }
  v[path[path.length - 1]] = value;
}

interface IssueLike {
  code?: string;
  message?: string;
  path?: PropertyKey[];
  keys?: string[];
  errors?: IssueLike[][];
}

function* allIssues(issues: readonly IssueLike[], prefix: PropertyKey[] = []): Generator<IssueLike> {
  for (const i of issues) {
    const path = [...prefix, ...(i.path ?? [])];
    yield { ...i, path };
    if (i.errors) for (const branch of i.errors) yield* allIssues(branch, path);
  }
}

/**
 * A schema that can't be looked into (a preset-or-object field, the trace spec): try writing a
 * value there and see whether the schema calls any key on the way unknown.
 */
function probeOpaque(schema: AnySchema, raw: unknown, rest: ConcretePath, probeValue: unknown, where: ConcretePath): void {
  if (rest.length === 0) return;
  let base: unknown = raw === undefined ? {} : structuredClone(raw);
  if (typeof base === 'string' && typeof rest[0] === 'string') base = { preset: base };
  if (!isObject(base) && !Array.isArray(base)) {
    throw new NoField(`${formatSegments(where)} is ${JSON.stringify(raw)}, which has no field ${String(rest[0])}`);
  }
  const holder = { v: base };
  setIn(holder, ['v', ...rest], probeValue);
  const r = schema.safeParse(holder.v);
  if (r.success) return;
  for (const issue of allIssues(r.error.issues as unknown as IssueLike[])) {
    const at = (issue.path ?? []).map((p) => (typeof p === 'symbol' ? String(p) : p));
    for (let j = 0; j < rest.length; j++) {
      const sameParent = at.length === j && at.every((p, k) => p === rest[k]);
      if (!sameParent) continue;
      const key = String(rest[j]);
      const unknownKey =
        (issue.code === 'unrecognized_keys' && issue.keys?.includes(key)) ||
        new RegExp(`^(unknown|unrecognized) key:? "${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`, 'i').test(issue.message ?? '');
      if (unknownKey) {
        const msg = (issue.message ?? '').replace(/^Unrecognized key: /, 'unknown key ');
        throw new NoField(`${formatSegments([...where, ...rest.slice(0, j)])}: ${msg}`);
      }
    }
  }
}

/**
 * The concrete paths `segments` names in `raw` (one per matching list element for `[*]`), checked
 * against `schema`. Throws InputError when the path names no field of the schema.
 * `probeValue` is used only where the schema can't be looked into (it is written there and parsed).
 */
export function resolvePath(schema: AnySchema, raw: unknown, path: string, probeValue: unknown): ConcretePath[] {
  const segments = parsePath(path);
  const out: ConcretePath[] = [];

  const walk = (candidates: AnySchema[], rawHere: unknown, i: number, at: ConcretePath): void => {
    if (i === segments.length) {
      out.push(at);
      return;
    }
    const seg = segments[i];
    // Look through wrappers and unions; an opaque candidate ends the walk with a probe.
    const next: AnySchema[] = [];
    const known: string[] = [];
    const kinds: string[] = [];
    const queue = [...candidates];
    while (queue.length) {
      const c = queue.shift()!;
      const u = unwrap(c);
      if (u === undefined) {
        const rest: ConcretePath = [];
        for (let j = i; j < segments.length; j++) {
          const s = segments[j];
          if (s === '*') throw new NoField(`${formatSegments(at)}: [*] inside this field is not supported; name indices`, i);
          rest.push(s);
        }
        try {
          probeOpaque(c, rawHere, rest, probeValue, at);
        } catch (e) {
          if (e instanceof NoField) throw new NoField(e.message, i + 1);
          throw e;
        }
        out.push([...at, ...rest]);
        return;
      }
      const d = def(u);
      if (d.type === 'union') {
        queue.push(...optionsFor(u, rawHere));
        continue;
      }
      if (typeof seg === 'string' && seg !== '*') {
        if (d.type === 'object') {
          const child = d.shape![seg];
          if (child) next.push(child);
          else known.push(...Object.keys(d.shape!));
        } else if (d.type === 'record') next.push(d.valueType!);
        else kinds.push(describeKind(u));
      } else if (d.type === 'array') next.push(d.element!);
      else kinds.push(describeKind(u));
    }
    const here = formatSegments(at) || '(top level)';
    if (next.length === 0) {
      if (typeof seg === 'string' && seg !== '*') {
        if (known.length > 0) {
          const kind = isObject(rawHere) && typeof rawHere.kind === 'string' ? ` (kind ${rawHere.kind})` : '';
          throw new NoField(`${here}${kind}: unknown field "${seg}"${didYouMean(seg, [...new Set(known)])}`, i);
        }
        throw new NoField(`${here} is ${kinds[0] ?? 'a value'}, it has no field "${seg}"`, i);
      }
      throw new NoField(`${here} is ${kinds[0] ?? 'not a list'}, not a list; [${seg}] needs a list`, i);
    }
    if (typeof seg === 'string' && seg !== '*') {
      walk(next, isObject(rawHere) ? rawHere[seg] : undefined, i + 1, [...at, seg]);
      return;
    }
    const list = Array.isArray(rawHere) ? rawHere : [];
    if (seg === '*') {
      if (list.length === 0) throw new NoField(`${here} is empty or not set; [*] needs elements to fan out to`, i);
      const before = out.length;
      let deepest: NoField | undefined;
      for (let k = 0; k < list.length; k++) {
        try {
          walk(next, list[k], i + 1, [...at, k]);
        } catch (e) {
          if (!(e instanceof NoField)) throw e;
          const better = !deepest || e.depth > deepest.depth || (e.depth === deepest.depth && /did you mean/.test(e.message) && !/did you mean/.test(deepest.message));
          if (better) deepest = e;
        }
      }
      // Elements without the field are left alone (a `none` policy has no cache); none having it is an error.
      if (out.length === before) throw deepest!;
      return;
    }
    if (seg >= list.length) throw new NoField(`${here} has ${list.length} element${list.length === 1 ? '' : 's'}; [${seg}] is out of range`, i);
    walk(next, list[seg], i + 1, [...at, seg]);
  };

  try {
    walk([schema], raw, 0, []);
  } catch (e) {
    if (e instanceof NoField) throw new InputError(`sweep path ${path} names no field: ${e.message}`);
    throw e;
  }
  return out;
}

export { getIn };
