// The BLAS products (kernels: blas) against the float64 TypeScript reference: abt, ab and atb
// through blasNetworkOps on a shared WebAssembly memory, shapes that are multiples of no tile,
// operands at odd offsets, beta 0 (overwrite, C never read) and 1 (accumulate), K = 0, with the
// BLAS counted to show it ran; and RECUR_BLAS naming a missing library. (Whole forward + BPTT
// passes on blas against the reference and the wasm ops: network-ops.test.ts.) Skipped, with the
// install command, when no BLAS loads on this machine (CI installs libopenblas0).
import t from 'tap';
import { loadBlas } from '../../src/shared/backends/blas.js';
import { gemmAB, gemmABt, gemmAtB } from '../../src/shared/model/gemm.js';
import { Rng } from '../../src/shared/model/rng.js';
import { BLAS, bareBlasOps, bareKernels, blasSkip, countedBlas, GuardedArena } from '../helpers/kernels.js';
import { worse } from '../helpers/max-error.js';

const skip = blasSkip;

const PRODUCTS = { abt: gemmABt, ab: gemmAB, atb: gemmAtB } as const;
const SIZES = [1, 3, 7, 17, 33, 130];

t.test('abt, ab, atb: every M, N, K in {1,3,7,17,33,130} at odd offsets, beta 0 and 1', { skip }, async (t) => {
  const bare = bareKernels(512), memory = bare.memory;
  const { blas, calls } = countedBlas(BLAS!);
  const ops = bareBlasOps(bare, blas);
  const rng = new Rng(11);
  const failures: string[] = [];
  let cases = 0;
  for (const [name, reference] of Object.entries(PRODUCTS) as [keyof typeof PRODUCTS, typeof gemmABt][]) {
    for (const M of SIZES) for (const N of SIZES) for (const K of SIZES) for (const beta of [0, 1] as const) {
      // A fresh arena per case; the views start 1..3 floats into their regions and are used at
      // an element offset too, so both the view's byteOffset and the offset reach the address.
      const arena = new GuardedArena(memory);
      const skew = cases++ % 4;
      const a = arena.f32(M * K + 2, skew), b = arena.f32(K * N + 2, 3 - skew), c = arena.f32(M * N + 2, (skew + 1) % 4);
      for (const x of [a, b, c]) for (let k = 0; k < x.length; k++) x[k] = rng.uniform() * 2 - 1;
      // beta 0 must not read C: NaN there would survive a 0·C.
      if (beta === 0) c.fill(NaN);
      const a64 = Float64Array.from(a), b64 = Float64Array.from(b), c64 = Float64Array.from(c);
      const magnitude = c64.map((x) => (beta ? Math.abs(x) : 0));
      reference(c64, 2, a64, 1, b64, 2, M, N, K, beta);
      reference(magnitude, 2, a64.map(Math.abs), 1, b64.map(Math.abs), 2, M, N, K, 1);
      ops[name](c, 2, a, 1, b, 2, M, N, K, beta);
      let worst = 0;
      for (let k = 2; k < 2 + M * N; k++) worst = worse(worst, Math.abs(c[k] - c64[k]) / (1e-5 * (1 + magnitude[k])));
      const outside = [0, 1, M * N + 2, M * N + 3].some((k) => !Object.is(c[k], c64[k]));
      if (!(worst <= 1) || outside || !arena.guardsIntact()) failures.push(`${name} M=${M} N=${N} K=${K} beta=${beta}: error ${worst}${outside ? ', wrote outside C' : ''}`);
    }
  }
  t.same(failures.slice(0, 10), [], `${cases} products within 1e-5 of Σ|a||b| per element, nothing written outside C`);
  t.equal(calls(), cases, 'every product ran on the BLAS');
});

t.test('K = 0: beta 1 keeps C, beta 0 zeroes it (cblas is not called with a leading dimension of 0)', { skip }, async (t) => {
  const bare = bareKernels(16), memory = bare.memory;
  const ops = bareBlasOps(bare, BLAS!);
  const arena = new GuardedArena(memory);
  const a = arena.f32(1), b = arena.f32(1), c = arena.f32(6);
  for (const product of ['abt', 'ab', 'atb'] as const) {
    c.set([1, 2, 3, 4, 5, 6]);
    ops[product](c, 0, a, 0, b, 0, 2, 3, 0, 1);
    t.same(Array.from(c), [1, 2, 3, 4, 5, 6], `${product}: beta 1 keeps C`);
    ops[product](c, 0, a, 0, b, 0, 2, 3, 0, 0);
    t.same(Array.from(c), [0, 0, 0, 0, 0, 0], `${product}: beta 0 zeroes C`);
  }
  t.ok(arena.guardsIntact(), 'nothing written outside C');
});

t.test('RECUR_BLAS naming a missing file: no BLAS, and the reason names the file', async (t) => {
  const missing = loadBlas({ RECUR_BLAS: '/nonexistent/libopenblas.so.0' });
  t.equal(missing.ok, false);
  if (!missing.ok) t.match(missing.reason, '/nonexistent/libopenblas.so.0');
});
