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

/** A message as one printable line: newlines become "; ", other control bytes are escaped, at most 600 characters. */
export function oneLine(message: string): string {
  const s = message
    .replace(/\s*\n\s*/g, '; ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufffd]/g, (c) => (c === '\ufffd' ? '\\ufffd' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return s.length > 600 ? `${s.slice(0, 597)}...` : s;
}
