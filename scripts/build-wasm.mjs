// Assembles every src/wasm/*.wat (gemm, elementwise, optim: loaded by
// src/shared/backends/wasm-modules.ts) into dist/wasm/*.wasm with wabt's JS/wasm build (no native
// toolchain), and removes any dist/wasm/*.wasm whose source is gone (a renamed module). SIMD128, threads (shared memory) and bulk memory (memory.copy/fill) are post-MVP
// features wabt must be told to accept.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import wabtInit from 'wabt';

const root = new URL('../', import.meta.url);
const sources = new URL('src/wasm/', root);
const targets = new URL('dist/wasm/', root);

const features = { simd: true, threads: true, bulk_memory: true };
const wabt = await wabtInit();
mkdirSync(targets, { recursive: true });
const wats = readdirSync(sources).filter((name) => name.endsWith('.wat'));
for (const stale of readdirSync(targets).filter((name) => name.endsWith('.wasm') && !wats.includes(name.replace(/\.wasm$/, '.wat')))) {
  rmSync(new URL(stale, targets));
}
for (const file of wats) {
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
