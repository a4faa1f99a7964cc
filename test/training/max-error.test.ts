// The max-error helpers every numeric check leans on: a NaN or infinite error anywhere must make
// the result Infinity (fail any `≤ tol` check), never vanish from a running maximum — as
// `Math.max(worst, NaN)` (NaN, which then passes `!(x > tol)` style checks) or `error > worst`
// (false for NaN, so the NaN is skipped) would let it.
import t from 'tap';
import { maxAbsDifference, relativeError, worse } from '../helpers/max-error.js';

t.test('worse(): the larger error, and Infinity for a non-finite one wherever it comes', async (t) => {
  t.equal(worse(0, 3), 3);
  t.equal(worse(5, 3), 5);
  t.equal(worse(0, NaN), Infinity, 'NaN → Infinity');
  t.equal(worse(0, Infinity), Infinity);
  t.equal(worse(0, -Infinity), Infinity);
  for (const errors of [[1, NaN, 2], [NaN, 1, 2], [1, 2, NaN]]) {
    const worst = errors.reduce((w, e) => worse(w, e), 0);
    t.equal(worst, Infinity, `a running maximum over ${errors.join(', ')} is Infinity`);
    t.notOk(worst <= 1e300, 'and fails any tolerance');
  }
});

t.test('maxAbsDifference() and relativeError() fail on a NaN on either side', async (t) => {
  t.equal(maxAbsDifference([1, 2, 3], [1, 2.5, 3]), 0.5);
  t.equal(maxAbsDifference([1, NaN, 3], [1, 2, 3]), Infinity, 'NaN in the first');
  t.equal(maxAbsDifference([1, 2, 3], [1, 2, NaN]), Infinity, 'NaN in the second, last element');
  t.equal(maxAbsDifference([9, 1, 2], [0, 1, 2], 2, 1, 1), 0, 'n and offsets: only the elements asked for');
  t.equal(relativeError(1.5, 1), 0.5);
  t.equal(relativeError(0.25, 0), 0.25, 'absolute against 0');
  t.equal(relativeError(NaN, 1), Infinity);
  t.equal(relativeError(1, NaN), Infinity);
});
