/**
 * Reference matrix products (row-major), generic over Float32Array / Float64Array so the same
 * code runs in float64 for gradient checks. Register-blocked 4×4 (16 accumulators in locals);
 * operands are addressed by (array, offset) so callers never allocate views in the hot loop.
 *
 *   gemmABt: C[M,N] = beta·C + A[M,K] · B[N,K]ᵀ     (forward products against PyTorch-layout weights)
 *   gemmAB : C[M,N] = beta·C + A[M,K] · B[K,N]      (input gradients)
 *   gemmAtB: C[M,N] = beta·C + A[K,M]ᵀ · B[K,N]     (weight gradients)
 *
 * beta is 0 (overwrite) or 1 (accumulate).
 */
import type { FloatArray } from './layout.js';

export function gemmABt(
  C: FloatArray, cOff: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
  M: number, N: number, K: number, beta: 0 | 1,
): void {
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    const a0 = aOff + m * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      const b0 = bOff + n * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k], x1 = A[a1 + k], x2 = A[a2 + k], x3 = A[a3 + k];
        const y0 = B[b0 + k], y1 = B[b1 + k], y2 = B[b2 + k], y3 = B[b3 + k];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      storeTile(C, cOff + m * N + n, N, beta, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
    }
    for (; n < N; n++) {
      const b0 = bOff + n * K;
      for (let i = 0; i < 4; i++) {
        const ai = aOff + (m + i) * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[ai + k] * B[b0 + k];
        const ci = cOff + (m + i) * N + n;
        C[ci] = beta ? C[ci] + s : s;
      }
    }
  }
  for (; m < M; m++) {
    const ai = aOff + m * K;
    for (let n = 0; n < N; n++) {
      const b0 = bOff + n * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[ai + k] * B[b0 + k];
      const ci = cOff + m * N + n;
      C[ci] = beta ? C[ci] + s : s;
    }
  }
}

export function gemmAB(
  C: FloatArray, cOff: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
  M: number, N: number, K: number, beta: 0 | 1,
): void {
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    const a0 = aOff + m * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let bk = bOff + n;
      for (let k = 0; k < K; k++, bk += N) {
        const x0 = A[a0 + k], x1 = A[a1 + k], x2 = A[a2 + k], x3 = A[a3 + k];
        const y0 = B[bk], y1 = B[bk + 1], y2 = B[bk + 2], y3 = B[bk + 3];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      storeTile(C, cOff + m * N + n, N, beta, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
    }
    for (; n < N; n++) {
      for (let i = 0; i < 4; i++) {
        const ai = aOff + (m + i) * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[ai + k] * B[bOff + k * N + n];
        const ci = cOff + (m + i) * N + n;
        C[ci] = beta ? C[ci] + s : s;
      }
    }
  }
  for (; m < M; m++) {
    const ai = aOff + m * K;
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[ai + k] * B[bOff + k * N + n];
      const ci = cOff + m * N + n;
      C[ci] = beta ? C[ci] + s : s;
    }
  }
}

export function gemmAtB(
  C: FloatArray, cOff: number, A: FloatArray, aOff: number, B: FloatArray, bOff: number,
  M: number, N: number, K: number, beta: 0 | 1,
): void {
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let ak = aOff + m, bk = bOff + n;
      for (let k = 0; k < K; k++, ak += M, bk += N) {
        const x0 = A[ak], x1 = A[ak + 1], x2 = A[ak + 2], x3 = A[ak + 3];
        const y0 = B[bk], y1 = B[bk + 1], y2 = B[bk + 2], y3 = B[bk + 3];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      storeTile(C, cOff + m * N + n, N, beta, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
    }
    for (; n < N; n++) {
      for (let i = 0; i < 4; i++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[aOff + k * M + m + i] * B[bOff + k * N + n];
        const ci = cOff + (m + i) * N + n;
        C[ci] = beta ? C[ci] + s : s;
      }
    }
  }
  for (; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[aOff + k * M + m] * B[bOff + k * N + n];
      const ci = cOff + m * N + n;
      C[ci] = beta ? C[ci] + s : s;
    }
  }
}

/** Writes (beta 0) or adds (beta 1) a 4×4 tile of accumulators at row-major offset r0, row stride N. */
function storeTile(
  C: FloatArray, r0: number, N: number, beta: 0 | 1,
  c00: number, c01: number, c02: number, c03: number, c10: number, c11: number, c12: number, c13: number,
  c20: number, c21: number, c22: number, c23: number, c30: number, c31: number, c32: number, c33: number,
): void {
  const r1 = r0 + N, r2 = r1 + N, r3 = r2 + N;
  if (beta) {
    c00 += C[r0]; c01 += C[r0 + 1]; c02 += C[r0 + 2]; c03 += C[r0 + 3];
    c10 += C[r1]; c11 += C[r1 + 1]; c12 += C[r1 + 2]; c13 += C[r1 + 3];
    c20 += C[r2]; c21 += C[r2 + 1]; c22 += C[r2 + 2]; c23 += C[r2 + 3];
    c30 += C[r3]; c31 += C[r3 + 1]; c32 += C[r3 + 2]; c33 += C[r3 + 3];
  }
  C[r0] = c00; C[r0 + 1] = c01; C[r0 + 2] = c02; C[r0 + 3] = c03;
  C[r1] = c10; C[r1 + 1] = c11; C[r1 + 2] = c12; C[r1 + 3] = c13;
  C[r2] = c20; C[r2 + 1] = c21; C[r2 + 2] = c22; C[r2 + 3] = c23;
  C[r3] = c30; C[r3 + 1] = c31; C[r3 + 2] = c32; C[r3 + 3] = c33;
}
