/**
 * The browser's wasm-bytes.ts: scripts/build-web.mjs puts this module in place of
 * src/shared/backends/wasm-bytes.ts, with the modules' bytes inlined (esbuild's binary loader).
 * Only the unshared builds a single thread runs (see build-wasm.mjs): a page that is not
 * cross-origin isolated cannot have shared memory, and the optimizer is not needed to predict.
 */
import elementwise from '../../wasm/elementwise.local.wasm';
import gemm from '../../wasm/gemm.local.wasm';

const MODULES: Record<string, Uint8Array> = { 'elementwise.local': elementwise, 'gemm.local': gemm };

export function wasmBytes(name: string): Uint8Array {
  const bytes = MODULES[name];
  if (!bytes) throw new Error(`recur/web carries no ${name}.wasm (it runs single-thread inference on unshared memory)`);
  return bytes;
}
