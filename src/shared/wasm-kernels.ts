/**
 * WebAssembly SIMD128 GEMM kernels (src/wasm/kernels.wat, built to dist/wasm/kernels.wasm) that
 * work in place on a shared WebAssembly.Memory: every pointer is a BYTE offset into that memory,
 * every matrix plain row-major float32 (C row stride N, A row stride K), nothing is copied.
 *
 * The module is compiled once per thread; each thread instantiates it with the shared memory.
 * The kernels keep no state, so threads may run them concurrently on one memory as long as the
 * regions they write (C, packed B, scratch) don't overlap.
 *
 * Packed B: 16-column panels, [ceil(N/16)][K][16] floats, zero-padded past N. Pack weights once
 * per optimizer step (packBT for a PyTorch [out,in] weight used as Bᵀ, packB for a [K,N] operand).
 * Alignment: any 4-byte aligned offset is correct; 16- or 64-byte aligned is faster.
 */
import { readFileSync } from 'node:fs';

/**
 * A WebAssembly.Memory. The project's TypeScript libs (ES2023 + node) don't declare the
 * WebAssembly namespace, so the little of it used here is typed locally rather than globally.
 */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(deltaPages: number): number;
}

interface WasmModule { readonly __wasmModule: unique symbol }

interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
}

const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** A shared memory for the kernels (and worker threads), sizes in 64 KiB pages. */
export function createSharedMemory(initialPages: number, maximumPages: number): WasmMemory {
  return new wasm.Memory({ initial: initialPages, maximum: maximumPages, shared: true });
}

export interface WasmKernels {
  memory: WasmMemory;
  /** Floats needed to hold B packed for the kernels (N rounded up to the panel width). */
  packedSize(N: number, K: number): number;
  /** Pack B given as [N,K] row-major (a PyTorch weight, used as Bᵀ) into panels at dst. */
  packBT(dst: number, src: number, N: number, K: number): void;
  /** Pack B given as [K,N] row-major into panels at dst. */
  packB(dst: number, src: number, K: number, N: number): void;
  /** C[M,N] = beta·C + A[M,K] · B, with B already packed at bp. All pointers are BYTE offsets in memory. */
  gemmPacked(c: number, a: number, bp: number, M: number, N: number, K: number, beta: 0 | 1): void;
  /** C[M,N] = beta·C + A[K,M]ᵀ · B[K,N]; packs what it needs into `scratch` (byte offset; scratchFloats(M,N,K) floats). */
  gemmAtB(c: number, a: number, b: number, M: number, N: number, K: number, beta: 0 | 1, scratch: number): void;
  scratchFloats(M: number, N: number, K: number): number;
}

/** Columns per packed panel of B (the micro-kernel's tile width). */
export const PANEL_WIDTH = 16;

interface KernelExports {
  kChunk: { value: number };
  packB(dst: number, src: number, K: number, N: number): void;
  packBT(dst: number, src: number, N: number, K: number): void;
  gemmPacked(c: number, a: number, bp: number, M: number, N: number, K: number, beta: number): void;
  gemmAtB(c: number, a: number, b: number, M: number, N: number, K: number, beta: number, scratch: number): void;
}

let compiled: WasmModule | undefined;

/** The compiled module of this thread (compiled on first use). */
function kernelModule(): WasmModule {
  compiled ??= new wasm.Module(readFileSync(new URL('../../wasm/kernels.wasm', import.meta.url)));
  return compiled;
}

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

export function instantiateKernels(memory: WasmMemory): WasmKernels {
  const instance = new wasm.Instance(kernelModule(), { env: { memory } });
  const exports = instance.exports as KernelExports;
  // gemmAtB packs A and B one chunk of this many rows of K at a time.
  const kChunk = exports.kChunk.value;
  return {
    memory,
    packedSize: (N, K) => roundUp(N, PANEL_WIDTH) * K,
    packBT: exports.packBT,
    packB: exports.packB,
    gemmPacked: exports.gemmPacked,
    gemmAtB: exports.gemmAtB,
    scratchFloats: (M, N, K) => (roundUp(M, 2) + roundUp(N, PANEL_WIDTH)) * Math.min(K, kChunk),
  };
}
