/**
 * Reading data files, the one place for it: a file's bytes (with the one wording for a file that
 * cannot be read), and the parsers of parse.ts — its text, JSON Lines and CSV, BOM and CRLF
 * accepted.
 */
import { readFileSync } from 'node:fs';
import { inputError } from '../errors.js';

export * from './parse.js';

/** A data file's bytes; a file that cannot be read is bad input, `<file>: cannot read: <why>`. */
export function readDataFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw inputError(path, null, `cannot read: ${readFailure(err as NodeJS.ErrnoException)}`);
  }
}

function readFailure(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': return 'no such file';
    case 'EISDIR': return 'is a directory';
    case 'EACCES': return 'permission denied';
    default: return err.code ?? err.message;
  }
}
