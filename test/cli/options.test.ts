/** src/cli/options.ts: every numeric flag is parsed from what was typed, one message shape for all. */
import { describe, expect, it } from 'vitest';
import { expectedText, numberArrayOption, numberOption, parseNumberArg } from '../../src/cli/options.js';
import { inputErrorMessage } from '../helpers/errors.js';

const err = inputErrorMessage;

describe('numeric options', () => {
  const count = { integer: true, min: 1 };
  it('accepts what the spec allows, from text or a default number', () => {
    expect(parseNumberArg('--jobs', '4', count)).toBe(4);
    expect(parseNumberArg('--jobs', ' 4 ', count)).toBe(4);
    expect(parseNumberArg('--jobs', 3, count)).toBe(3);
    expect(parseNumberArg('--long', '0', { unit: 'seconds', min: 0 })).toBe(0);
    expect(parseNumberArg('--locality', '0.25', { min: 0, max: 1 })).toBe(0.25);
    expect(parseNumberArg('--scale', '1e-3', { above: 0 })).toBe(0.001);
  });
  it.each([
    ['abc', "--jobs: expected a whole number >= 1, got 'abc'"],
    ['', "--jobs: expected a whole number >= 1, got ''"],
    ['0', "--jobs: expected a whole number >= 1, got '0'"],
    ['-2', "--jobs: expected a whole number >= 1, got '-2'"],
    ['1.5', "--jobs: expected a whole number >= 1, got '1.5'"],
    ['Infinity', "--jobs: expected a whole number >= 1, got 'Infinity'"],
    ['NaN', "--jobs: expected a whole number >= 1, got 'NaN'"],
    ['0x10', "--jobs: expected a whole number >= 1, got '0x10'"],
    ['1e400', "--jobs: expected a whole number >= 1, got '1e400' (a number beyond float64)"],
  ])('refuses %j by flag, expectation and the text given', (raw, message) => {
    expect(err(() => parseNumberArg('--jobs', raw, count))).toBe(message);
  });
  it('no value, a value given twice', () => {
    expect(err(() => parseNumberArg('--jobs', true, count))).toBe('--jobs: expected a whole number >= 1, got no value');
    expect(err(() => parseNumberArg('--jobs', ['2', '3'], count))).toBe("--jobs: given 2 times ('2', '3'); give it once");
  });
  it('says what each spec expects, in the help text too', () => {
    expect(expectedText({ above: 0 })).toBe('a number > 0');
    expect(expectedText({ min: 0, max: 1 })).toBe('a number from 0 to 1');
    expect(expectedText({ unit: 'seconds', min: 0 })).toBe('seconds >= 0');
    expect(numberOption('jobs', { ...count, describe: 'threads' }).describe).toBe('threads [a whole number >= 1]');
    expect(err(() => numberOption('n', { ...count, describe: 'tokens' }).coerce('x'))).toBe("-n: expected a whole number >= 1, got 'x'");
    const layers = numberArrayOption('layer', { integer: true, min: 0, describe: 'layers' });
    expect(layers.coerce(['0', '3'])).toEqual([0, 3]);
    expect(err(() => layers.coerce(['0', '-1']))).toBe("--layer: expected a whole number >= 0, got '-1'");
  });
});
