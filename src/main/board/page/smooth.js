// TensorBoard's scalar smoothing: an exponential moving average, debiased so the first points are
// not pulled toward 0 (the correction of Adam's moment estimates). A constant series and
// non-finite values pass through unchanged. Pure, so the tests run it in Node as well.

/**
 * @param {(number|null)[]} values
 * @param {number} weight 0 (no smoothing) to just below 1
 * @returns {(number|null)[]}
 */
export function smooth(values, weight) {
  const first = values[0];
  const constant = values.every((v) => v === first);
  let last = 0;
  let count = 0;
  return values.map((v) => {
    if (constant || v === null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    count++;
    const debias = weight === 1 ? 1 : 1 - weight ** count;
    return last / debias;
  });
}
