/**
 * An error in what the user gave us (a file, a scenario field, a flag). The CLI prints its message
 * as one line, `moesim: <message>`, and exits with code 2; no stack trace.
 * Messages name the file and line, or the field path, and say what was expected.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** "file:line: message" or "file: message". */
export function inputErrorAt(file: string | undefined, line: number | undefined, message: string): InputError {
  const where = file === undefined ? '' : line === undefined ? `${file}: ` : `${file}:${line}: `;
  return new InputError(where + message);
}
