import type { z } from 'zod';
import { InputError } from '../util/errors.js';
import { editDistance, nearestNames } from '../util/suggest.js';

/** `a.b[2].c` from a zod path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(top level)';
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function show(v: unknown): string {
  // JSON would print Infinity as null: a YAML 1e400 is beyond every float64
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : `${v < 0 ? '-' : ''}Infinity (a number beyond float64, e.g. 1e400)`;
  const s = JSON.stringify(v);
  return s === undefined ? 'nothing' : s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/** One line for the first issue: `file: field.path: what was expected, got X`. */
export function zodToInputError(err: z.ZodError, raw: unknown, file?: string): InputError {
  // Prefer the deepest issue of a union (it names the real field).
  let issue = err.issues[0];
  const unionErrors = (issue as { errors?: z.core.$ZodIssue[][] }).errors;
  if (issue.code === 'invalid_union' && unionErrors && unionErrors.length) {
    // The object forms of a union (`cache:`, a precision tier) against the value's keys: each key
    // belongs to some form, but none takes them all (`cache: {perLayer: 2, gib: 3}`): alternatives
    // mixed; no form takes any (`cache: {size: 2}`): unknown fields, with the forms' own keys.
    const given = valueAt(raw, issue.path);
    const objectForms = unionErrors.filter((b) => !b.some((i) => i.path.length === 0 && i.code !== 'unrecognized_keys'));
    if (given !== null && typeof given === 'object' && !Array.isArray(given) && objectForms.length >= 2) {
      const keys = Object.keys(given);
      const accepted = objectForms.map((b) => {
        const r = b.find((i) => i.code === 'unrecognized_keys' && i.path.length === 0) as (z.core.$ZodIssue & { keys: string[] }) | undefined;
        return keys.filter((k) => !r?.keys.includes(k));
      });
      const where = `${file ? file + ': ' : ''}${formatPath(issue.path)}`;
      if (keys.length > 0 && !accepted.some((a) => a.length === keys.length)) {
        const groups = [...new Set(accepted.filter((a) => a.length > 0).map((a) => a.join(', ')))];
        if (groups.length >= 2) return new InputError(`${where}: {${groups.join('} and {')}} are alternatives; expected one of them, got ${show(given)}`);
        if (groups.length === 0) {
          const forms = objectForms.map((b) => b.filter((i) => (i.code === 'invalid_type' || i.code === 'invalid_value') && i.path.length === 1 && valueAt(given, i.path) === undefined).map((i) => String(i.path[0])));
          const known = [...new Set(forms.flat())];
          const near = keys.length === 1 ? known.find((k) => editDistance(k.toLowerCase(), keys[0].toLowerCase()) <= 2) : undefined;
          if (near !== undefined) return new InputError(`${where}: unknown field "${keys[0]}"; did you mean "${near}"?`);
          return new InputError(`${where}: unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}${known.length ? `; expected one of ${known.join(', ')}` : ''}`);
        }
      }
    }
    // An object branch that rejects the value's own keys is not the one it meant, when another
    // branch takes them (`{dtype: int5}` is a bad dtype, not a `{format}` missing its format).
    const keysFit = unionErrors.filter((b) => !b.some((i) => i.code === 'unrecognized_keys' && i.path.length === 0));
    const flat = (keysFit.some((b) => b.some((i) => i.path.length > 0)) ? keysFit : unionErrors).flat();
    const deepest = flat.sort((a, b) => b.path.length - a.path.length)[0];
    if (deepest) issue = { ...deepest, path: [...issue.path, ...deepest.path] } as typeof issue;
  }
  const path = formatPath(issue.path);
  let msg: string;
  // a key typo (perLayr) shows up as a missing field and an unknown one: name the typo
  const all: z.core.$ZodIssue[] = [];
  const collect = (list: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): void => {
    for (const i of list) {
      const full = { ...i, path: [...prefix, ...i.path] } as z.core.$ZodIssue;
      all.push(full);
      const nested = (i as { errors?: z.core.$ZodIssue[][] }).errors;
      if (nested) for (const n of nested) collect(n, full.path);
    }
  };
  collect(err.issues, []);
  const unknown = all.find((i) => i.code === 'unrecognized_keys') as (z.core.$ZodIssue & { keys: string[] }) | undefined;
  if (unknown && issue.code !== 'unrecognized_keys' && valueAt(raw, issue.path) === undefined && issue.path.length > 0) {
    const missing = String(issue.path[issue.path.length - 1]);
    const sameParent = formatPath(unknown.path) === formatPath(issue.path.slice(0, -1));
    const near = sameParent ? unknown.keys.find((k) => editDistance(k.toLowerCase(), missing.toLowerCase()) <= 2) : undefined;
    if (near !== undefined) return new InputError(`${file ? file + ': ' : ''}${formatPath(unknown.path) === '(top level)' ? '' : formatPath(unknown.path) + ': '}unknown field "${near}"; did you mean "${missing}"?`);
  }
  if (issue.code === 'unrecognized_keys') {
    msg = `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  } else if ((issue.code === 'invalid_union' && (issue as { note?: string }).note === 'No matching discriminator') || /discriminator/i.test(issue.message)) {
    const got = valueAt(raw, issue.path);
    const options = [...issue.message.matchAll(/'([^']+)'/g)].map((m) => m[1]);
    const key = String(issue.path[issue.path.length - 1] ?? 'kind');
    const what = /policies\[\d+\]\.kind$/.test(path) ? 'policy' : /prefetch/.test(path) ? 'prefetch policy' : /predictor/.test(path) ? 'predictor' : /onMiss/.test(path) ? 'miss handler' : /scheduler/.test(path) ? 'scheduler' : key;
    if (typeof got === 'string' && options.length > 0) {
      const near = nearestNames(got, options, 1)[0];
      msg = `unknown ${what} "${got}"; ${near !== undefined && editDistance(near, got) <= Math.max(2, got.length / 3) ? `did you mean "${near}"? ` : ''}expected one of ${options.join(', ')}`;
    } else {
      msg = `expected ${options.length ? `one of ${options.join(', ')}` : issue.message}, got ${show(got)}`;
    }
  } else {
    const got = valueAt(raw, issue.path);
    const message = issue.message.replace(/^Invalid input: /, '').replace(/, received [^,]*$/, '');
    // Messages from nested schemas (and refinements that quote the bad string) already say what they got.
    msg = /, got /.test(message) || (typeof got === 'string' && message.includes(JSON.stringify(got))) ? message : `${message}, got ${show(got)}`;
  }
  return new InputError(`${file ? file + ': ' : ''}${path}: ${msg}`);
}
