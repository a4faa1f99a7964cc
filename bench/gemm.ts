/**
 * Single-thread GFLOP/s of the TypeScript reference GEMMs vs the WebAssembly SIMD kernels on the
 * LSTM shapes: forward products A[M,K]·W[N,K]ᵀ with N = 4K (M = batch rows of one step), a few
 * other products of a training step (input gradients dGates·W, the output head, the tiny H = 32
 * model), and weight gradients A[K,M]ᵀ·B[K,N] over K = 4096 rows (T·B), M = 4H, N = H; and, when
 * one loads, the system BLAS's single-threaded cblas_sgemm on the same operands in place. Medians of
 * short samples after warm-up; the machine is shared, so read the ratios within one run.
 *
 *   node dist/bench/gemm.js
 */
import { loadBlas } from '../src/shared/backends/blas.js';
import { gemmAB, gemmABt, gemmAtB } from '../src/shared/model/gemm.js';
import { Rng } from '../src/shared/model/rng.js';
import { createWasmMemory, instantiateNetworkModules } from '../src/shared/backends/wasm-modules.js';
import { secondsPerCall } from './timing.js';

const gflops = (run: () => void, flops: number): number => flops / secondsPerCall(run) / 1e9;

const memory = createWasmMemory(1024, 1024); // 64 MiB: the largest case needs ~45
const kernels = instantiateNetworkModules(memory);
const heap = new Float32Array(memory.buffer);
const blasLoad = loadBlas();
const blas = blasLoad.ok ? blasLoad.blas : null;
const base = blas ? blas.address(memory.buffer) : 0;
/** The BLAS's GFLOP/s on C[M,N] = op(A)·op(B) at byte offsets a, b, c (row-major, dense strides), or null. */
function blasGflops(transA: boolean, transB: boolean, M: number, N: number, K: number, a: number, b: number, c: number): number | null {
  if (!blas) return null;
  const lda = transA ? M : K, ldb = transB ? K : N;
  return gflops(() => blas.sgemm(transA, transB, M, N, K, base + a, lda, base + b, ldb, 0, base + c, N), 2 * M * N * K);
}
const rng = new Rng(1);
let next = 0;
/** A region of `floats` random floats in the shared memory, 64-byte aligned; its byte offset. */
function region(floats: number): number {
  const at = next;
  next += Math.ceil(floats / 16) * 64;
  for (let i = 0; i < floats; i++) heap[at / 4 + i] = rng.uniform() * 2 - 1;
  return at;
}
const copyOut = (at: number, floats: number): Float32Array => heap.slice(at / 4, at / 4 + floats);

interface Row { kernel: string; M: number; N: number; K: number; ts: number; wasm: number; blas: number | null; note: string }
const rows: Row[] = [];

/** C[M,N] = A[M,K]·B with B a PyTorch-layout weight [N,K] (packBT), or [K,N] (packB). */
function packedProduct(label: string, M: number, N: number, K: number, weightLayout: 'NK' | 'KN'): void {
  next = 0;
  const a = region(M * K), w = region(N * K), c = region(M * N), packed = region(kernels.packedSize(N, K));
  const [aTs, wTs, cTs] = [copyOut(a, M * K), copyOut(w, N * K), copyOut(c, M * N)];
  const flops = 2 * M * N * K;
  const pack = weightLayout === 'NK'
    ? () => kernels.packBT(packed, w, N, K) : () => kernels.packB(packed, w, K, N);
  const packMs = secondsPerCall(pack) * 1e3;
  const reference = weightLayout === 'NK' ? gemmABt : gemmAB;
  rows.push({
    kernel: label, M, N, K,
    ts: gflops(() => reference(cTs, 0, aTs, 0, wTs, 0, M, N, K, 0), flops),
    wasm: gflops(() => kernels.gemmPacked(c, a, packed, M, N, K, 0), flops),
    blas: blasGflops(false, weightLayout === 'NK', M, N, K, a, w, c),
    note: `${weightLayout === 'NK' ? 'packBT' : 'packB'} ${packMs.toFixed(3)} ms`,
  });
}

for (const M of [16, 32, 64]) {
  for (const K of [128, 256, 512]) packedProduct('A·Wᵀ (gemmPacked)', M, 4 * K, K, 'NK');
}
packedProduct('A·Wᵀ H=32 (gemmPacked)', 16, 128, 32, 'NK');
packedProduct('dG·W (gemmPacked)', 64, 256, 1024, 'KN');
packedProduct('head (gemmPacked)', 4096, 65, 256, 'NK');

for (const H of [128, 256, 512]) {
  const [M, N, K] = [4 * H, H, 4096];
  next = 0;
  const a = region(K * M), b = region(K * N), c = region(M * N), scratch = region(kernels.scratchFloats(M, N, K));
  const [aTs, bTs, cTs] = [copyOut(a, K * M), copyOut(b, K * N), copyOut(c, M * N)];
  const flops = 2 * M * N * K;
  rows.push({
    kernel: 'Aᵀ·B (gemmAtB)', M, N, K,
    ts: gflops(() => gemmAtB(cTs, 0, aTs, 0, bTs, 0, M, N, K, 0), flops),
    wasm: gflops(() => kernels.gemmAtB(c, a, b, M, N, K, 0, scratch), flops),
    blas: blasGflops(true, false, M, N, K, a, b, c),
    note: `scratch ${(kernels.scratchFloats(M, N, K) * 4 / 1024).toFixed(0)} KiB`,
  });
}

const header = ['kernel', 'M', 'N', 'K', 'TS GFLOP/s', 'wasm GFLOP/s', 'speed-up', 'BLAS GFLOP/s', 'BLAS/wasm', ''];
const table = rows.map((r) => [
  r.kernel, String(r.M), String(r.N), String(r.K),
  r.ts.toFixed(2), r.wasm.toFixed(1), `${(r.wasm / r.ts).toFixed(1)}×`,
  r.blas === null ? '-' : r.blas.toFixed(1), r.blas === null ? '-' : `${(r.blas / r.wasm).toFixed(2)}×`, r.note,
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((cells) => cells[i]!.length)));
for (const cells of [header, ...table]) {
  console.log(cells.map((cell, i) => (i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd());
}
console.log(blas ? `BLAS: ${blas.library}, single-threaded` : `BLAS: none (${blasLoad.ok ? '' : blasLoad.reason})`);
