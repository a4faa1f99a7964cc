/**
 * Per-column scaling fitted on training rows only and saved with the model (SPEC §3, §4), so
 * prediction applies the same transform to new data and undoes it on the outputs.
 */

export type NormalizeKind = 'zscore' | 'minmax' | 'none';

/** One column's transform: x' = (x − shift) / scale. */
export interface ColumnScale {
  shift: number;
  scale: number;
}

/** What the checkpoint stores: the kind and, per column name, its transform. */
export interface Normalization {
  kind: NormalizeKind;
  columns: Record<string, ColumnScale>;
}

/**
 * The transform of one column from its training values (NaN entries skipped): zscore subtracts
 * the mean and divides by the population standard deviation, minmax maps [min, max] to [0, 1],
 * none is the identity. A constant column gets scale 1 (it becomes 0), never a division by zero.
 */
export function fitColumn(kind: NormalizeKind, values: ArrayLike<number>): ColumnScale {
  if (kind === 'none') return { shift: 0, scale: 1 };
  let n = 0, sum = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    n++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (n === 0) return { shift: 0, scale: 1 };
  if (kind === 'minmax') return { shift: min, scale: max > min ? max - min : 1 };
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isNaN(v)) squares += (v - mean) * (v - mean);
  }
  const std = Math.sqrt(squares / n);
  return { shift: mean, scale: std > 0 ? std : 1 };
}

export const scaleValue = (s: ColumnScale, x: number): number => (x - s.shift) / s.scale;
export const unscaleValue = (s: ColumnScale, y: number): number => y * s.scale + s.shift;

/** A transform for data that was not normalised. */
export const IDENTITY: ColumnScale = { shift: 0, scale: 1 };
