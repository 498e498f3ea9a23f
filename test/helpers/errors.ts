import { expect } from 'vitest';
import { InputError } from '../../src/util/errors.js';

/** The message of the InputError `f` throws (the test fails if it throws nothing or something else). */
export function inputErrorMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected a throw');
}
