// Assembles every src/wasm/*.wat (gemm, elementwise, optim: loaded by
// src/shared/backends/wasm-modules.ts) into dist/wasm/*.wasm with wabt's JS/wasm build (no native
// toolchain), and removes any dist/wasm/*.wasm whose source is gone (a renamed module). SIMD128, threads (shared memory) and bulk memory (memory.copy/fill) are post-MVP
// features wabt must be told to accept.
//
// Each module is built twice from the same source: <name>.wasm imports a shared memory (the
// engine's, shared with its worker threads) and <name>.local.wasm the same memory unshared, for a
// single thread (inference, and the browser, which shares memory only with cross-origin isolated
// pages). Only the memory import differs, so the kernels and their numbers are the same.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import wabtInit from 'wabt';

const root = new URL('../', import.meta.url);
const sources = new URL('src/wasm/', root);
const targets = new URL('dist/wasm/', root);

/** The memory import every module declares; its `shared` is the one thing the local build drops. */
const SHARED_MEMORY_IMPORT = /\(import "env" "memory" \(memory (\d+) (\d+) shared\)\)/;

const features = { simd: true, threads: true, bulk_memory: true };
const wabt = await wabtInit();
mkdirSync(targets, { recursive: true });
const wats = readdirSync(sources).filter((name) => name.endsWith('.wat'));
const outputs = wats.flatMap((file) => [file.replace(/\.wat$/, '.wasm'), file.replace(/\.wat$/, '.local.wasm')]);
for (const stale of readdirSync(targets).filter((name) => name.endsWith('.wasm') && !outputs.includes(name))) {
  rmSync(new URL(stale, targets));
}

function assemble(name, text, out) {
  const module = wabt.parseWat(name, text, features);
  try {
    module.resolveNames();
    module.validate(features);
    const { buffer } = module.toBinary({});
    writeFileSync(new URL(out, targets), buffer);
  } finally {
    module.destroy();
  }
}

for (const file of wats) {
  const text = readFileSync(new URL(file, sources), 'utf8');
  if (!SHARED_MEMORY_IMPORT.test(text)) throw new Error(`src/wasm/${file}: no shared memory import (import "env" "memory" (memory N M shared)) to build a local variant from`);
  assemble(file, text, file.replace(/\.wat$/, '.wasm'));
  assemble(file, text.replace(SHARED_MEMORY_IMPORT, '(import "env" "memory" (memory $1 $2))'), file.replace(/\.wat$/, '.local.wasm'));
}
