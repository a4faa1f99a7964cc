/**
 * Quantile forecasts (`train.loss: quantile`, SPEC §4): Q outputs per target value, output
 * (k·G + g)·Q + q. The pinball loss alone does not keep the Q outputs of a value in order, so
 * every reader sorts them first (as PyTorch Forecasting's QuantileLoss does when it turns its
 * outputs into a prediction): the reported quantiles never cross.
 */

/** Sorts each run of Q consecutive values of y[offset .. offset + groups·Q) ascending, into out[0 ..). */
export function sortedQuantiles(y: ArrayLike<number>, offset: number, groups: number, Q: number, out: Float64Array): Float64Array {
  for (let j = 0; j < groups; j++) {
    const base = j * Q;
    for (let q = 0; q < Q; q++) {
      // Insertion sort: Q is a handful of levels.
      const v = y[offset + base + q];
      let i = q;
      while (i > 0 && out[base + i - 1] > v) {
        out[base + i] = out[base + i - 1];
        i--;
      }
      out[base + i] = v;
    }
  }
  return out;
}

/** The quantile whose level is closest to the median (the lower one on a tie): the point forecast. */
export function middleQuantile(quantiles: readonly number[]): number {
  let best = 0;
  for (let q = 1; q < quantiles.length; q++) if (Math.abs(quantiles[q] - 0.5) < Math.abs(quantiles[best] - 0.5)) best = q;
  return best;
}

/** A prediction column's suffix for quantile level q: `_q0.1`. */
export function quantileSuffix(level: number): string {
  return `_q${level}`;
}
