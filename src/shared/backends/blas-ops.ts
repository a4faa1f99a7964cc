/**
 * The network's kernels with the matrix products on the system BLAS (kernels: blas): abt, ab and
 * atb call cblas_sgemm in place on the shared memory (row-major, the operands' own strides, no
 * packing of ours: the BLAS packs internally); every other kernel is the wasm one.
 *
 * Semantics are the GEMMs' of gemm.ts: beta 0 overwrites C without reading it, beta 1 adds. A
 * product with K = 0 is done here (C = 0 or unchanged): cblas rejects a leading dimension of 0.
 * Every operand must be a view of `buffer` (the wasm ops' memory): it is not checked per call but
 * once, where a model's ops are built (workerModel).
 */
import type { Blas } from './blas.js';
import type { FloatArray } from '../model/layout.js';
import type { WasmNetworkOps } from './wasm-ops.js';

export function blasNetworkOps(wasmOps: WasmNetworkOps, blas: Blas, buffer: ArrayBufferLike): WasmNetworkOps {
  const base = blas.address(buffer);
  const address = (x: FloatArray, off: number): number => base + x.byteOffset + off * 4;
  /** Products with nothing to sum; true when handled. */
  const degenerate = (C: FloatArray, cOff: number, M: number, N: number, K: number, beta: 0 | 1): boolean => {
    if (M > 0 && N > 0 && K > 0) return false;
    if (beta === 0 && K === 0) C.fill(0, cOff, cOff + M * N);
    return true;
  };

  return {
    ...wasmOps,
    abt(C, cOff, A, aOff, B, bOff, M, N, K, beta) {
      if (degenerate(C, cOff, M, N, K, beta)) return;
      blas.sgemm(false, true, M, N, K, address(A, aOff), K, address(B, bOff), K, beta, address(C, cOff), N);
    },
    ab(C, cOff, A, aOff, B, bOff, M, N, K, beta) {
      if (degenerate(C, cOff, M, N, K, beta)) return;
      blas.sgemm(false, false, M, N, K, address(A, aOff), K, address(B, bOff), N, beta, address(C, cOff), N);
    },
    atb(C, cOff, A, aOff, B, bOff, M, N, K, beta) {
      if (degenerate(C, cOff, M, N, K, beta)) return;
      blas.sgemm(true, false, M, N, K, address(A, aOff), M, address(B, bOff), N, beta, address(C, cOff), N);
    },
  };
}
