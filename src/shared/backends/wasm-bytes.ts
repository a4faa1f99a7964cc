/**
 * The bytes of a built WebAssembly module, dist/wasm/<name>.wasm, read from the package. The
 * browser bundle (scripts/build-web.mjs) replaces this one module with src/web/wasm-bytes.ts,
 * whose bytes are inlined, so nothing else on the way to the kernels needs a file system.
 */
import { readFileSync } from 'node:fs';

export function wasmBytes(name: string): Uint8Array {
  return readFileSync(new URL(`../../../wasm/${name}.wasm`, import.meta.url));
}
