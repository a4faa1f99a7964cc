// Assembles every src/wasm/*.wat into dist/wasm/*.wasm with wabt's JS/wasm build (no native
// toolchain). SIMD128, threads (shared memory) and bulk memory (memory.copy/fill) are post-MVP
// features wabt must be told to accept.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import wabtInit from 'wabt';

const root = new URL('../', import.meta.url);
const sources = new URL('src/wasm/', root);
const targets = new URL('dist/wasm/', root);

const features = { simd: true, threads: true, bulk_memory: true };
const wabt = await wabtInit();
mkdirSync(targets, { recursive: true });
for (const file of readdirSync(sources).filter((name) => name.endsWith('.wat'))) {
  const module = wabt.parseWat(file, readFileSync(new URL(file, sources), 'utf8'), features);
  try {
    module.resolveNames();
    module.validate(features);
    const { buffer } = module.toBinary({});
    writeFileSync(new URL(file.replace(/\.wat$/, '.wasm'), targets), buffer);
  } finally {
    module.destroy();
  }
}
