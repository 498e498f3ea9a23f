/**
 * What the simulator reads of a calibration profile (written by `moesim calibrate`): its kind,
 * version and Hardware. calibrate/profile.ts extends this header with the samples and fits, and
 * shares these readers, so that both name a bad file the same way.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { fsReason } from '../util/fs.js';
import { hardwareSchema } from './schema.js';
import type { Hardware } from './types.js';

/** The fields every calibration profile has and the simulator reads. */
export const profileHeaderSchema = z.looseObject({
  kind: z.literal('moesim-calibration'),
  version: z.literal(1),
  hardware: hardwareSchema,
});
export type ProfileHeader = z.infer<typeof profileHeaderSchema>;

function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out === '' ? String(k) : `.${String(k)}`;
  return out === '' ? '(top level)' : out;
}

/** The one-line error of a profile that fails its schema: the first issue's field and what was expected. */
export function profileInvalid(error: z.ZodError, where: string): InputError {
  const issue = error.issues[0];
  const detail = issue.code === 'unrecognized_keys' ? `unknown key "${issue.keys[0] ?? ''}"` : issue.message.replace(/\s+/g, ' ');
  return new InputError(`${where}: not a valid moesim calibration profile: ${formatPath(issue.path)}: ${detail}`);
}

export function readError(file: string, e: unknown): InputError {
  return new InputError(`${file}: cannot read calibration profile: ${fsReason(e)}`);
}

export function parseProfileJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(`${file}: not JSON: ${(e as Error).message}`);
  }
}

/** The Hardware of the profile `file` (its other fields are calibrate/'s). */
export function readProfileHardwareSync(file: string): Hardware {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw readError(file, e);
  }
  const r = profileHeaderSchema.safeParse(parseProfileJson(text, file));
  if (!r.success) throw profileInvalid(r.error, file);
  return r.data.hardware;
}
