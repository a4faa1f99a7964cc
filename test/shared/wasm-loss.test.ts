// The WebAssembly losses, bias kernels and activations against their TypeScript references, op by
// op through wasmNetworkOps (so the pointer and offset plumbing is tested too): random shapes with
// sizes that are not multiples of 4 or 16, rows of extreme logits (±80), many rows (R = 4096:
// the loss must not drift), confident rows (tiny per-row losses), NaN logits, guards around every
// output, and the fallbacks by shape (fewer than 4 outputs, P overlapping Y).
import t from 'tap';
import { addColumnSums, addRowVector } from '../../src/shared/model/network.js';
import { meanSquaredError, softmaxCrossEntropy, softmaxRows } from '../../src/shared/model/loss.js';
import { Rng } from '../../src/shared/model/rng.js';
import { bareKernels, GuardedArena } from '../helpers/kernels.js';
import { maxAbsDifference, worse } from '../helpers/max-error.js';

const PAGES = 512;

/** No weights: these ops need no kernel scratch. */
const { memory, modules: kernels, wasm: ops } = bareKernels(PAGES);


type Logits = 'normal' | 'wide' | 'extreme' | 'confident';

/** Logits of one row: N(0, 1); N(0, 10); ±80 at random; or the target 14 above N(0, 1) others. */
function fillLogits(y: Float32Array, off: number, O: number, target: number, kind: Logits, rng: Rng): void {
  for (let o = 0; o < O; o++) {
    if (kind === 'extreme') y[off + o] = rng.uniform() < 0.5 ? -80 : 80;
    else if (kind === 'wide') y[off + o] = 10 * rng.normal();
    else y[off + o] = rng.normal();
  }
  if (kind === 'confident') y[off + target] = 14 + rng.normal();
}

const OUTPUTS = [4, 5, 6, 7, 8, 9, 15, 16, 17, 65];

t.test('softmax cross-entropy: loss, probabilities and gradient vs loss.ts', async (t) => {
  const rng = new Rng(11);
  let cases = 0;
  for (const kind of ['normal', 'wide', 'extreme', 'confident'] as const) {
    for (const O of OUTPUTS) {
      for (const R of [1, 3, 33]) {
        for (const withGrad of [true, false]) {
          const arena = new GuardedArena(memory);
          const skew = (O + R) % 4;
          // Offsets into the arrays as the network uses them: a row offset in Y/P/dY, another in targets.
          const row0 = 2, tOff = 3, n = (row0 + R) * O;
          const y = arena.f32(n, skew), p = arena.f32(n, (skew + 1) % 4), dY = arena.f32(n, (skew + 2) % 4);
          const targets = arena.i32(tOff + R);
          for (let r = 0; r < R; r++) {
            targets[tOff + r] = rng.int(O);
            fillLogits(y, (row0 + r) * O, O, targets[tOff + r], kind, rng);
          }
          const pRef = new Float32Array(n), dYRef = new Float32Array(n);
          const scale = 1 / (7 * R);
          const lossRef = softmaxCrossEntropy(Float32Array.from(y), row0 * O, pRef, Int32Array.from(targets), tOff, R, O, withGrad ? dYRef : null, scale);
          dY.fill(-7);
          const loss = ops.softmaxCrossEntropy(y, row0 * O, p, targets, tOff, R, O, withGrad ? dY : null, scale);
          const label = `${kind} R=${R} O=${O}${withGrad ? '' : ' (no gradient)'}`;
          const lossError = Math.abs(loss - lossRef) / Math.max(Math.abs(lossRef), 1e-30);
          // Confident rows: each row's loss is ~1e-5, so this checks the float64 row sums.
          if (!(lossError <= 1e-6)) t.fail(`${label}: loss ${loss} vs ${lossRef}`);
          const pError = maxAbsDifference(p, pRef, R * O, row0 * O, row0 * O);
          if (!(pError <= 1e-6)) t.fail(`${label}: probabilities off by ${pError}`);
          if (withGrad) {
            const dYError = maxAbsDifference(dY, dYRef, R * O, row0 * O, row0 * O);
            if (!(dYError <= 1e-6 * scale)) t.fail(`${label}: dY off by ${dYError / scale}·scale`);
            if (maxAbsDifference(dY, new Float32Array(row0 * O).fill(-7), row0 * O, 0, 0) !== 0) t.fail(`${label}: wrote dY before its rows`);
          } else if (dY.some((v) => v !== -7)) {
            t.fail(`${label}: wrote dY without a gradient`);
          }
          if (!arena.guardsIntact()) t.fail(`${label}: wrote outside its arrays`);
          cases++;
        }
      }
    }
  }
  t.equal(cases, 4 * OUTPUTS.length * 3 * 2, 'every shape and kind of logits within 1e-6 (loss relative, P and dY/scale absolute)');
});

t.test('softmax cross-entropy: 4096 rows of 65 sum without drift', async (t) => {
  const rng = new Rng(3);
  const R = 4096, O = 65;
  for (const kind of ['normal', 'wide', 'confident'] as const) {
    const arena = new GuardedArena(memory);
    const y = arena.f32(R * O), p = arena.f32(R * O), dY = arena.f32(R * O), targets = arena.i32(R);
    for (let r = 0; r < R; r++) {
      targets[r] = rng.int(O);
      fillLogits(y, r * O, O, targets[r], kind, rng);
    }
    const lossRef = softmaxCrossEntropy(Float32Array.from(y), 0, new Float32Array(R * O), Int32Array.from(targets), 0, R, O, new Float32Array(R * O), 1 / R);
    const loss = ops.softmaxCrossEntropy(y, 0, p, targets, 0, R, O, dY, 1 / R);
    const error = Math.abs(loss - lossRef) / Math.abs(lossRef);
    t.ok(error <= 1e-7, `${kind}: loss ${loss} vs ${lossRef} (relative ${error.toExponential(1)})`);
  }
});

t.test('softmax cross-entropy: a NaN logit gives a NaN loss; a target outside [0, O) traps', async (t) => {
  const arena = new GuardedArena(memory);
  const R = 3, O = 9;
  const y = arena.f32(R * O), p = arena.f32(R * O), dY = arena.f32(R * O), targets = arena.i32(R);
  for (const nanAt of [0, 4, 8]) {
    y.fill(0.5);
    targets.fill(2);
    y[O + nanAt] = NaN;
    t.ok(Number.isNaN(ops.softmaxCrossEntropy(y, 0, p, targets, 0, R, O, dY, 1)), `NaN at column ${nanAt}`);
  }
  y.fill(0.5);
  targets[1] = O;
  t.throws(() => ops.softmaxCrossEntropy(y, 0, p, targets, 0, R, O, dY, 1), 'target = O');
  targets[1] = -1;
  t.throws(() => ops.softmaxCrossEntropy(y, 0, p, targets, 0, R, O, null, 1), 'target = -1');
});

t.test('softmax rows vs loss.ts', async (t) => {
  const rng = new Rng(5);
  let cases = 0;
  for (const kind of ['normal', 'extreme'] as const) {
    for (const O of OUTPUTS) {
      for (const R of [1, 2, 5, 32]) {
        const arena = new GuardedArena(memory);
        const yOff = O + 1, pOff = 2 * O;
        const y = arena.f32(yOff + R * O, R % 4), p = arena.f32(pOff + R * O, O % 4);
        for (let r = 0; r < R; r++) fillLogits(y, yOff + r * O, O, 0, kind, rng);
        const pRef = new Float32Array(pOff + R * O);
        softmaxRows(Float32Array.from(y), yOff, pRef, pOff, R, O);
        ops.softmaxRows(y, yOff, p, pOff, R, O);
        const error = maxAbsDifference(p, pRef, R * O, pOff, pOff);
        if (!(error <= 1e-6)) t.fail(`${kind} R=${R} O=${O}: off by ${error}`);
        if (!arena.guardsIntact()) t.fail(`${kind} R=${R} O=${O}: wrote outside its arrays`);
        cases++;
      }
    }
  }
  t.equal(cases, 2 * OUTPUTS.length * 4, 'every shape within 1e-6');
});

t.test('softmax: fewer than 4 outputs, or P overlapping Y, take the TS reference (bit for bit)', async (t) => {
  const rng = new Rng(8);
  for (const O of [1, 2, 3]) {
    const arena = new GuardedArena(memory);
    const R = 6;
    const y = arena.f32(R * O), p = arena.f32(R * O), dY = arena.f32(R * O), targets = arena.i32(R);
    for (let r = 0; r < R; r++) {
      targets[r] = rng.int(O);
      fillLogits(y, r * O, O, targets[r], 'wide', rng);
    }
    const pRef = new Float32Array(R * O), dYRef = new Float32Array(R * O);
    const lossRef = softmaxCrossEntropy(Float32Array.from(y), 0, pRef, Int32Array.from(targets), 0, R, O, dYRef, 0.25);
    t.equal(ops.softmaxCrossEntropy(y, 0, p, targets, 0, R, O, dY, 0.25), lossRef, `O=${O}: loss`);
    t.same([...p], [...pRef], `O=${O}: probabilities`);
    t.same([...dY], [...dYRef], `O=${O}: gradient`);
  }
  // softmaxRows in place (P = Y): the overlapping last quad would reread exps.
  const arena = new GuardedArena(memory);
  const R = 4, O = 7;
  const y = arena.f32(R * O);
  for (let r = 0; r < R; r++) fillLogits(y, r * O, O, 0, 'wide', rng);
  const ref = Float32Array.from(y);
  softmaxRows(ref, 0, ref, 0, R, O);
  ops.softmaxRows(y, 0, y, 0, R, O);
  t.same([...y], [...ref], 'softmaxRows in place');
});

t.test('mean squared error vs loss.ts', async (t) => {
  const rng = new Rng(13);
  let cases = 0;
  for (const O of [1, 2, 3, 4, 5, 9, 16, 17]) {
    for (const R of [1, 3, 7, 64, 4096]) {
      for (const withGrad of [true, false]) {
        const arena = new GuardedArena(memory);
        const yOff = 5, tOff = 2;
        const y = arena.f32(yOff + R * O, 1), targets = arena.f32(tOff + R * O, 3), dY = arena.f32(yOff + R * O);
        for (let k = 0; k < y.length; k++) y[k] = 3 * rng.normal();
        for (let k = 0; k < targets.length; k++) targets[k] = rng.normal();
        const dYRef = new Float32Array(yOff + R * O);
        const scale = 1 / (3 * R);
        const lossRef = meanSquaredError(Float32Array.from(y), yOff, Float32Array.from(targets), tOff, R, O, withGrad ? dYRef : null, scale);
        dY.fill(-7);
        const loss = ops.meanSquaredError(y, yOff, targets, tOff, R, O, withGrad ? dY : null, scale);
        const label = `R=${R} O=${O}${withGrad ? '' : ' (no gradient)'}`;
        if (!(Math.abs(loss - lossRef) <= 1e-6 * lossRef)) t.fail(`${label}: loss ${loss} vs ${lossRef}`);
        if (withGrad) {
          // dY = 2·scale·(y − t)/O, rounded to float32 a few times: relative accuracy.
          let worst = 0;
          for (let k = yOff; k < yOff + R * O; k++) worst = worse(worst, Math.abs(dY[k] - dYRef[k]) / Math.max(Math.abs(dYRef[k]), 1e-3 * scale));
          if (!(worst <= 4 * 2 ** -23)) t.fail(`${label}: dY off by ${worst.toExponential(1)} relative`);
          if (dY.subarray(0, yOff).some((v) => v !== -7)) t.fail(`${label}: wrote dY before its rows`);
        } else if (dY.some((v) => v !== -7)) {
          t.fail(`${label}: wrote dY without a gradient`);
        }
        if (!arena.guardsIntact()) t.fail(`${label}: wrote outside its arrays`);
        cases++;
      }
    }
  }
  t.equal(cases, 8 * 5 * 2, 'every shape: loss within 1e-6 relative, dY within 4 ulp');
});

t.test('column sums (bias gradients) and row-vector adds (biases) vs network.ts', async (t) => {
  const rng = new Rng(17);
  const ROWS = [1, 2, 3, 4, 5, 7, 8, 33, 2048];
  const COLS = [1, 2, 3, 4, 5, 15, 16, 17, 65, 512];
  let cases = 0;
  for (const rows of ROWS) {
    for (const cols of COLS) {
      const arena = new GuardedArena(memory);
      const off = cols + 3;
      const m = arena.f32(off + rows * cols, rows % 4), out = arena.f32(cols, cols % 4);
      for (let k = 0; k < m.length; k++) m[k] = rng.normal();
      for (let k = 0; k < cols; k++) out[k] = rng.normal();
      // Column sums: against the exact (float64) sum; error allowed 1e-6 of the magnitudes summed.
      const exact = Float64Array.from(out), magnitude = Float64Array.from(out, Math.abs);
      addColumnSums(exact, Float64Array.from(m), off, rows, cols);
      addColumnSums(magnitude, Float64Array.from(m, Math.abs), off, rows, cols);
      ops.addColumnSums(out, m, off, rows, cols);
      let worst = 0;
      for (let j = 0; j < cols; j++) worst = worse(worst, Math.abs(out[j] - exact[j]) / magnitude[j]);
      if (!(worst <= 1e-6)) t.fail(`addColumnSums ${rows}×${cols}: ${worst.toExponential(1)} of the magnitudes`);
      // Row-vector add: one float32 addition per element, as the TS.
      const v = out;
      const ref = Float32Array.from(m);
      addRowVector(ref, off, v, rows, cols);
      ops.addRowVector(m, off, v, rows, cols);
      const error = maxAbsDifference(m, ref, m.length, 0, 0);
      if (!(error <= 1e-6 * 8)) t.fail(`addRowVector ${rows}×${cols}: off by ${error}`);
      if (!arena.guardsIntact()) t.fail(`${rows}×${cols}: wrote outside its arrays`);
      cases++;
    }
  }
  t.equal(cases, ROWS.length * COLS.length, 'every shape within 1e-6 of the magnitudes summed (sums) and of float32 rounding (adds)');
});

t.test('tanh (Elman step) over a dense sweep of [-10, 10]: within 4 ulp; saturation, NaN, tiny x', async (t) => {
  const arena = new GuardedArena(memory);
  const n = 1 << 18;
  const x = arena.f32(n), h = arena.f32(n);
  // Half over [-10, 10], half over [5, 7] where the worst case (3.44 ulp near 5.83) lies.
  for (let k = 0; k < n / 2; k++) x[k] = -10 + (40 * k) / n;
  for (let k = n / 2; k < n; k++) x[k] = 5 + (4 * (k - n / 2)) / n;
  kernels.rnnForward(x.byteOffset, h.byteOffset, n);
  let worstTanh = 0;
  for (let k = 0; k < n; k++) {
    if (x[k] === 0) continue;
    const ref = Math.tanh(x[k]);
    worstTanh = worse(worstTanh, Math.abs(h[k] - ref) / Math.abs(ref));
  }
  const ULP = 2 ** -23;
  t.ok(worstTanh <= 4 * ULP, `tanh: worst relative error ${(worstTanh / ULP).toFixed(2)} ulp`);
  t.equal(h[n / 4], 0, 'tanh(0) = 0');
  // Saturation and NaN.
  x.set([100, -100, Infinity, -Infinity, NaN, 1e-30, -1e-30, 0]);
  kernels.rnnForward(x.byteOffset, h.byteOffset, 8);
  t.same([...h.subarray(0, 4)].map((v) => Math.round(v * 1e6) / 1e6), [1, -1, 1, -1], 'tanh(±100), tanh(±∞) → ±1');
  t.ok(Number.isNaN(h[4]), 'tanh(NaN) = NaN');
  t.same([...h.subarray(5, 8)], [x[5], x[6], 0], 'tanh(x) = x for tiny x');
  t.ok(arena.guardsIntact(), 'wrote only h');
});
