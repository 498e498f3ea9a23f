import type { z } from 'zod';
import { InputError } from '../util/errors.js';

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
  const s = JSON.stringify(v);
  return s === undefined ? 'nothing' : s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/** One line for the first issue: `file: field.path: what was expected, got X`. */
export function zodToInputError(err: z.ZodError, raw: unknown, file?: string): InputError {
  // Prefer the deepest issue of a union (it names the real field).
  let issue = err.issues[0];
  const unionErrors = (issue as { errors?: z.core.$ZodIssue[][] }).errors;
  if (issue.code === 'invalid_union' && unionErrors && unionErrors.length) {
    const flat = unionErrors.flat();
    const deepest = flat.sort((a, b) => b.path.length - a.path.length)[0];
    if (deepest) issue = { ...deepest, path: [...issue.path, ...deepest.path] } as typeof issue;
  }
  const path = formatPath(issue.path);
  let msg: string;
  if (issue.code === 'unrecognized_keys') {
    msg = `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  } else if (issue.code === 'invalid_union' && (issue as { note?: string }).note === 'No matching discriminator') {
    msg = `expected ${issue.message}, got ${show(valueAt(raw, issue.path))}`;
  } else {
    const got = valueAt(raw, issue.path);
    const message = issue.message.replace(/^Invalid input: /, '');
    // Messages from nested schemas (model, hardware) already say what they got.
    msg = /, got /.test(message) ? message : `${message}, got ${show(got)}`;
  }
  return new InputError(`${file ? file + ': ' : ''}${path}: ${msg}`);
}
