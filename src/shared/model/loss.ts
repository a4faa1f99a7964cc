/**
 * Per-step losses over R rows of O outputs. Each returns the SUM of the per-step losses; the
 * gradient written to dY is already multiplied by `scale` (1 / predicted steps of the global
 * batch, so summing workers' gradients gives the gradient of the global mean).
 */
import type { FloatArray } from './layout.js';

/** Softmax cross-entropy. Writes softmax probabilities to P; dY = scale·(P − onehot) when dY is given. */
export function softmaxCrossEntropy(
  Y: FloatArray, yOff: number, P: FloatArray, targets: Int32Array, tOff: number,
  R: number, O: number, dY: FloatArray | null, scale: number,
): number {
  let total = 0;
  for (let r = 0; r < R; r++) {
    const row = yOff + r * O;
    let max = -Infinity;
    for (let o = 0; o < O; o++) if (Y[row + o] > max) max = Y[row + o];
    let sum = 0;
    for (let o = 0; o < O; o++) {
      const e = Math.exp(Y[row + o] - max);
      P[row + o] = e;
      sum += e;
    }
    const target = targets[tOff + r];
    total += Math.log(sum) - (Y[row + target] - max);
    const inv = 1 / sum;
    for (let o = 0; o < O; o++) P[row + o] *= inv;
    if (dY) {
      for (let o = 0; o < O; o++) dY[row + o] = scale * P[row + o];
      dY[row + target] -= scale;
    }
  }
  return total;
}

/** Softmax of R rows (no loss), for output recurrence and sampling. */
export function softmaxRows(Y: FloatArray, yOff: number, P: FloatArray, pOff: number, R: number, O: number): void {
  for (let r = 0; r < R; r++) {
    const row = yOff + r * O, out = pOff + r * O;
    let max = -Infinity;
    for (let o = 0; o < O; o++) if (Y[row + o] > max) max = Y[row + o];
    let sum = 0;
    for (let o = 0; o < O; o++) {
      const e = Math.exp(Y[row + o] - max);
      P[out + o] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let o = 0; o < O; o++) P[out + o] *= inv;
  }
}

/** Mean squared error per step: mean over the O outputs of (y − t)², as PyTorch's MSELoss. */
export function meanSquaredError(
  Y: FloatArray, yOff: number, targets: FloatArray, tOff: number,
  R: number, O: number, dY: FloatArray | null, scale: number,
): number {
  let total = 0;
  const inv = 1 / O;
  for (let k = 0; k < R * O; k++) {
    const d = Y[yOff + k] - targets[tOff + k];
    total += d * d * inv;
    if (dY) dY[yOff + k] = 2 * d * inv * scale;
  }
  return total;
}

/**
 * Pinball (quantile) loss per step: the mean over the O outputs of max(q·e, (q − 1)·e) with
 * e = target − y, as PyTorch Forecasting's QuantileLoss. Output o is quantile o mod Q of target
 * ⌊o / Q⌋ (index (k·G + g)·Q + q), so a row has O / Q targets. Its gradient is −q where the target
 * lies above, 1 − q where below, and at a tie the mean of the two (torch.maximum splits it).
 * Elementwise and cheap, so every kernel set uses this one implementation.
 */
export function quantileLoss(
  Y: FloatArray, yOff: number, targets: FloatArray, tOff: number,
  R: number, O: number, quantiles: ArrayLike<number>, dY: FloatArray | null, scale: number,
): number {
  const Q = quantiles.length, perRow = O / Q, inv = 1 / O;
  let total = 0;
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < perRow; j++) {
      const t = targets[tOff + r * perRow + j], base = yOff + r * O + j * Q;
      for (let q = 0; q < Q; q++) {
        const level = quantiles[q], e = t - Y[base + q];
        total += (e >= 0 ? level * e : (level - 1) * e) * inv;
        if (dY) dY[base + q] = (e > 0 ? -level : e < 0 ? 1 - level : 0.5 - level) * inv * scale;
      }
    }
  }
  return total;
}
