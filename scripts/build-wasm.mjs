// Assembles src/wasm/kernels.wat into dist/wasm/kernels.wasm with wabt's JS/wasm build
// (no native toolchain). SIMD128 and threads (shared memory) are post-MVP features wabt must be
// told to accept.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import wabtInit from 'wabt';

const root = new URL('../', import.meta.url);
const source = new URL('src/wasm/kernels.wat', root);
const target = new URL('dist/wasm/kernels.wasm', root);

const features = { simd: true, threads: true };
const wabt = await wabtInit();
const module = wabt.parseWat('kernels.wat', readFileSync(source, 'utf8'), features);
try {
  module.resolveNames();
  module.validate(features);
  const { buffer } = module.toBinary({});
  mkdirSync(new URL('.', target), { recursive: true });
  writeFileSync(target, buffer);
} finally {
  module.destroy();
}
