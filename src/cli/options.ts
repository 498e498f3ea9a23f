/**
 * Numeric command-line options, checked in one place. yargs' `type: 'number'` turns "abc" into NaN
 * and loses what was typed; these options are parsed from the text the user gave (the CLI runs
 * yargs with `parse-numbers: false`), so a bad value is refused while the arguments are parsed,
 * before any file is read: `--jobs: expected a whole number >= 1, got 'abc'` (exit 2).
 */
import { InputError } from '../util/errors.js';

export interface NumberSpec {
  /** a whole number is needed (a count, a size) */
  integer?: boolean;
  /** the smallest value allowed */
  min?: number;
  /** values must be above this (a budget, a factor: > 0) */
  above?: number;
  /** the largest value allowed */
  max?: number;
  /** what the number is, for the message: "seconds" */
  unit?: string;
}

/** What a spec expects, as the message says it: "a whole number >= 1", "seconds >= 0", "a number from 0 to 1". */
export function expectedText(spec: NumberSpec): string {
  const what = spec.unit ?? (spec.integer ? 'a whole number' : 'a number');
  if (spec.min !== undefined && spec.max !== undefined) return `${what} from ${spec.min} to ${spec.max}`;
  const bounds = [spec.min !== undefined ? `>= ${spec.min}` : '', spec.above !== undefined ? `> ${spec.above}` : '', spec.max !== undefined ? `<= ${spec.max}` : ''].filter(Boolean);
  return bounds.length ? `${what} ${bounds.join(' ')}` : what;
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

/** The value of `--flag` checked against `spec`; an InputError names the flag, what was expected and what was given. */
export function parseNumberArg(flag: string, raw: unknown, spec: NumberSpec): number {
  const bad = (why = ''): InputError => {
    const got = raw === true || raw === undefined ? 'no value' : `'${String(raw)}'`;
    return new InputError(`${flag}: expected ${expectedText(spec)}, got ${got}${why}`);
  };
  if (Array.isArray(raw)) throw new InputError(`${flag}: given ${raw.length} times (${raw.map((v) => `'${String(v)}'`).join(', ')}); give it once`);
  let x: number;
  if (typeof raw === 'number') x = raw; // a default
  else if (typeof raw === 'string' && NUMBER.test(raw.trim())) x = Number(raw.trim());
  else throw bad();
  if (!Number.isFinite(x)) throw bad(' (a number beyond float64)');
  if (spec.integer && !Number.isInteger(x)) throw bad();
  if (spec.min !== undefined && x < spec.min) throw bad();
  if (spec.above !== undefined && !(x > spec.above)) throw bad();
  if (spec.max !== undefined && x > spec.max) throw bad();
  return x;
}

interface NumberOptionConfig extends NumberSpec {
  describe: string;
  default?: number;
}

/**
 * A yargs option (`.option(name, numberOption(name, {...}))`) whose value is a number checked
 * against the spec while the arguments are parsed; the help text says what it expects.
 */
export function numberOption(name: string, config: NumberOptionConfig) {
  const { describe, default: def, ...spec } = config;
  return {
    describe: `${describe} [${expectedText(spec)}]`,
    ...(def !== undefined ? { default: def } : {}),
    coerce: (v: unknown): number => parseNumberArg(flagName(name), v, spec),
  };
}

/** As numberOption, for an option given once or more (`--layer 0 --layer 3`, or `--layer 0 3`). */
export function numberArrayOption(name: string, config: NumberOptionConfig) {
  const { describe, ...spec } = config;
  return {
    describe: `${describe} [${expectedText(spec)}, repeatable]`,
    array: true as const,
    coerce: (v: unknown): number[] => (Array.isArray(v) ? v : [v]).map((x) => parseNumberArg(flagName(name), x, spec)),
  };
}

/** `-n`, `--jobs`: the flag as it is typed. */
function flagName(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}
