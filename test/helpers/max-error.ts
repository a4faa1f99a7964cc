/**
 * Max-error accumulation that cannot hide a NaN: `Math.max(worst, NaN)` is NaN and `NaN > worst`
 * is false, so the usual loops let a NaN (or an error computed from one) pass a `worst <= tol`
 * check or vanish from a running maximum. Here any non-finite error makes the result Infinity.
 */

/** The larger of the worst error so far and `error`; a NaN or infinite `error` gives Infinity. */
export function worse(worst: number, error: number): number {
  if (!Number.isFinite(error)) return Infinity;
  return error > worst ? error : worst;
}

/** Largest |a[i] − b[i]| over n elements from the given offsets (Infinity if any is non-finite). */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>, n = a.length, aOff = 0, bOff = 0): number {
  let worst = 0;
  for (let i = 0; i < n; i++) worst = worse(worst, Math.abs(a[aOff + i]! - b[bOff + i]!));
  return worst;
}

/** |a − b| / |b| (|a − b| when b is 0); Infinity when either is non-finite. */
export function relativeError(a: number, b: number): number {
  const error = Math.abs(a - b) / (b === 0 ? 1 : Math.abs(b));
  return Number.isFinite(error) ? error : Infinity;
}
