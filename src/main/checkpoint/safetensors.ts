/** Safetensors files: the codec (safetensors-codec.ts) and reading a file from disk. */
import * as fs from 'node:fs';
import { inputError } from '../errors.js';
import { decodeSafetensors, type DecodedSafetensors } from './safetensors-codec.js';

export * from './safetensors-codec.js';

/** Reads and decodes a safetensors file; a missing or unreadable file is bad input. */
export function readSafetensors(filePath: string): DecodedSafetensors {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(filePath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw inputError(filePath, null, code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? (err as Error).message})`);
  }
  return decodeSafetensors(bytes, filePath);
}
