// The WebAssembly parameter update (src/wasm/optim.wat) against its TypeScript references: the
// reduce of N gradient slots into slot 0 (the train worker's loop), the sum of squares and
// optimizerStep (optim.ts) for SGD, momentum (with and without nesterov), Adam and AdamW, with
// and without weight decay, gradScale ≠ 1, over chunks [lo, hi) that start and end anywhere,
// after one step and after 50. The kernels are meant to give the reference's bits (the same
// float64 operations in the same order, float32 where the reference stores), so beyond the
// 1e-6 relative tolerance every value is also checked for equality; the sum of squares sums in
// another order and is checked to 1e-12 relative. Guards around every array catch stray writes,
// and whole arrays are compared, so nothing outside [lo, hi) may change either.
import t from 'tap';
import { optimizerSlots, optimizerStep, sumOfSquares, type OptimizerSpec } from '../../src/shared/model/optim.js';
import { Rng } from '../../src/shared/model/rng.js';
import { createWasmMemory, instantiateOptimModule } from '../../src/shared/backends/wasm-modules.js';
import { GuardedArena } from '../helpers/kernels.js';
import { worse } from '../helpers/max-error.js';

const PAGES = 256;

const memory = createWasmMemory(PAGES, PAGES);
const kernels = instantiateOptimModule(memory);


/** Gradient-like values: N(0, 1) times 10^u, u uniform in [−spread, spread] (spread 0: plain normal). */
function fillRandom(a: Float32Array, rng: Rng, spread = 0): void {
  for (let k = 0; k < a.length; k++) a[k] = rng.normal() * (spread ? 10 ** ((2 * rng.uniform() - 1) * spread) : 1);
}

/** A random chunk [lo, hi) of [0, P), ends anywhere (any residue mod 4), including empty and one-float chunks. */
function randomChunk(P: number, rng: Rng, kind: 'any' | 'empty' | 'one' | 'all'): [number, number] {
  if (kind === 'all') return [0, P];
  const lo = rng.int(P);
  if (kind === 'empty') return [lo, lo];
  if (kind === 'one') return [lo, lo + 1];
  return [lo, lo + 1 + rng.int(P - lo)];
}

interface Comparison {
  /** Values whose bits differ (NaN compared as equal to NaN). */
  mismatches: number;
  /** Worst |a − b| / |b| (0/0 counts 0). */
  worstRelative: number;
}

function compare(got: Float32Array, want: Float32Array): Comparison {
  let mismatches = 0, worstRelative = 0;
  for (let k = 0; k < want.length; k++) {
    const a = got[k], b = want[k];
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
    mismatches++;
    const rel = Math.abs(a - b) / Math.abs(b);
    worstRelative = worse(worstRelative, rel);
  }
  return { mismatches, worstRelative };
}

t.test('reduceSlots: slot 0 += slots 1..N−1 in worker order, bit for bit; its sum of squares to 1e-12', async (t) => {
  const rng = new Rng(21);
  let cases = 0;
  for (const N of [1, 2, 3, 4, 5, 8]) {
    for (const P of [1, 3, 4, 7, 17, 64, 250, 1001, 70001]) {
      for (const kind of ['any', 'any', 'empty', 'one', 'all'] as const) {
        for (const spread of [0, 12]) {
          const arena = new GuardedArena(memory);
          // Slots spaced like the plan's regions but at a stride that need not be a multiple of 16 bytes.
          const pad = rng.int(9);
          const strideFloats = P + 8 + pad;
          const block = arena.f32(N * strideFloats, rng.int(4));
          const slot = (s: number): Float32Array => block.subarray(s * strideFloats, s * strideFloats + P);
          for (let s = 0; s < N; s++) fillRandom(slot(s), rng, spread);
          const before = Float32Array.from(block);
          const [lo, hi] = randomChunk(P, rng, kind);

          // The reference: the train worker's TypeScript reduce.
          const want = Float32Array.from(block);
          const sum = want.subarray(0, P);
          for (let s = 1; s < N; s++) {
            const g = want.subarray(s * strideFloats, s * strideFloats + P);
            for (let k = lo; k < hi; k++) sum[k] += g[k];
          }
          const squaresRef = sumOfSquares(sum, lo, hi);

          const squares = kernels.reduceSlots(block.byteOffset + lo * 4, strideFloats * 4, N, hi - lo);
          const label = `N=${N} P=${P} [${lo}, ${hi}) spread ${spread}`;
          const { mismatches } = compare(block, want);
          if (mismatches) t.fail(`${label}: ${mismatches} values differ from the reference reduce`);
          const error = Math.abs(squares - squaresRef) / Math.max(squaresRef, Number.MIN_VALUE);
          if (!(error <= 1e-12)) t.fail(`${label}: sum of squares ${squares} vs ${squaresRef}`);
          if (hi === lo && squares !== 0) t.fail(`${label}: an empty chunk's sum of squares is ${squares}`);
          if (N === 1 && compare(block, before).mismatches) t.fail(`${label}: one slot changed`);
          if (!arena.guardsIntact()) t.fail(`${label}: wrote outside the slots`);
          cases++;

          // The worker's fallback for slots not equally spaced: pairwise, then sumOfSquares.
          if (N > 1) {
            block.set(before);
            for (let s = 1; s < N; s++) kernels.reduceSlots(block.byteOffset + lo * 4, s * strideFloats * 4, 2, hi - lo);
            if (compare(block, want).mismatches) t.fail(`${label}: pairwise reduce differs from the reference`);
            const pairwise = kernels.sumOfSquares(block.byteOffset + lo * 4, hi - lo);
            if (!(Math.abs(pairwise - squaresRef) <= 1e-12 * squaresRef)) t.fail(`${label}: pairwise sum of squares ${pairwise} vs ${squaresRef}`);
          }
        }
      }
    }
  }
  t.equal(cases, 6 * 9 * 5 * 2, `${cases} reduces equal to the TypeScript loop, every sum of squares within 1e-12`);
});

t.test('sumOfSquares: float64 sums within 1e-12 of optim.ts at every length and offset', async (t) => {
  const rng = new Rng(5);
  let worst = 0, cases = 0;
  for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 255, 4099, 100003, 1000001]) {
    for (const skew of [0, 1, 2, 3]) {
      for (const spread of [0, 15]) {
        const arena = new GuardedArena(memory);
        const a = arena.f32(n + 3, skew);
        fillRandom(a, rng, spread);
        const lo = rng.int(4), hi = Math.max(lo, n + 3 - rng.int(4));
        const want = sumOfSquares(a, lo, hi);
        const got = kernels.sumOfSquares(a.byteOffset + lo * 4, hi - lo);
        const error = want === 0 ? Math.abs(got) : Math.abs(got - want) / want;
        worst = worse(worst, error);
        if (!(error <= 1e-12)) t.fail(`n=${n} skew ${skew} [${lo}, ${hi}): ${got} vs ${want}`);
        if (!arena.guardsIntact()) t.fail(`n=${n}: wrote to memory`);
        cases++;
      }
    }
  }
  t.equal(cases, 17 * 4 * 2, 'every length, offset and spread');
  t.ok(worst <= 1e-12, `worst relative difference ${worst.toExponential(2)}`);
});

const base: OptimizerSpec = { name: 'adam', lr: 1e-2, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false };
const OPTIMIZERS: { label: string; spec: OptimizerSpec }[] = [
  { label: 'sgd', spec: { ...base, name: 'sgd', lr: 0.1 } },
  { label: 'sgd + weight decay', spec: { ...base, name: 'sgd', lr: 0.1, weightDecay: 0.01 } },
  { label: 'momentum', spec: { ...base, name: 'momentum', lr: 0.05 } },
  { label: 'momentum + weight decay', spec: { ...base, name: 'momentum', lr: 0.05, weightDecay: 1e-3 } },
  { label: 'nesterov', spec: { ...base, name: 'momentum', lr: 0.05, nesterov: true } },
  { label: 'nesterov + weight decay', spec: { ...base, name: 'momentum', lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 1e-2 } },
  { label: 'adam', spec: { ...base, name: 'adam' } },
  { label: 'adam + weight decay', spec: { ...base, name: 'adam', weightDecay: 0.05 } },
  { label: 'adam, other betas and eps', spec: { ...base, name: 'adam', lr: 3e-3, beta1: 0.8, beta2: 0.95, eps: 1e-6 } },
  { label: 'adamw', spec: { ...base, name: 'adamw', weightDecay: 0.01 } },
  { label: 'adamw, strong decay', spec: { ...base, name: 'adamw', lr: 0.02, weightDecay: 0.3 } },
  { label: 'adamw without decay', spec: { ...base, name: 'adamw' } },
];

for (const { label, spec } of OPTIMIZERS) {
  t.test(`optimizer ${label}: one step and 50 steps equal optimizerStep (and within 1e-6 relative)`, async (t) => {
    const rng = new Rng(label.length * 7919 + 1);
    const slotCount = optimizerSlots(spec.name).length;
    let compared = 0;
    for (const P of [1, 5, 63, 1003, 40001]) {
      for (const kind of P > 2000 ? ['any', 'all'] as const : ['any', 'any', 'empty', 'one', 'all'] as const) {
        for (const gradScale of [1, 0.37]) {
          const arena = new GuardedArena(memory);
          const params = arena.f32(P, rng.int(4)), grads = arena.f32(P, rng.int(4));
          const slots = Array.from({ length: slotCount }, () => arena.f32(P, rng.int(4)));
          fillRandom(params, rng);
          // Optimizer state as after some training: m ~ N(0, 0.1²), v ≥ 0.
          slots.forEach((s, i) => {
            for (let k = 0; k < P; k++) s[k] = i === 0 ? 0.1 * rng.normal() : 0.01 * rng.normal() ** 2;
          });
          const wantParams = Float32Array.from(params);
          const wantSlots = slots.map((s) => Float32Array.from(s));
          const [lo, hi] = randomChunk(P, rng, kind);
          const where = `P=${P} [${lo}, ${hi}) gradScale ${gradScale}`;
          for (let step = 1; step <= 50; step++) {
            // Fresh gradients in the chunk every step, some large and some tiny; a varying scale as clipping gives.
            fillRandom(grads.subarray(lo, hi), rng, 3);
            const scale = step === 1 ? gradScale : gradScale * (0.5 + rng.uniform());
            const gradsBefore = Float32Array.from(grads);
            optimizerStep(spec, step, wantParams, gradsBefore, wantSlots, lo, hi, scale);
            kernels.optimizerStep(spec, step, params.byteOffset + lo * 4, grads.byteOffset + lo * 4,
              slots.map((s) => s.byteOffset + lo * 4), hi - lo, scale);
            if (step !== 1 && step !== 50) continue;
            const results = [compare(params, wantParams), ...slots.map((s, i) => compare(s, wantSlots[i]))];
            const names = ['params', ...optimizerSlots(spec.name)];
            results.forEach(({ mismatches, worstRelative }, i) => {
              if (!(worstRelative <= 1e-6)) t.fail(`${where}, step ${step}: ${names[i]} off by ${worstRelative.toExponential(2)} relative`);
              if (mismatches) t.fail(`${where}, step ${step}: ${mismatches} ${names[i]} values differ in their bits`);
            });
            if (compare(grads, gradsBefore).mismatches) t.fail(`${where}: the step wrote to the gradients`);
            if (!arena.guardsIntact()) t.fail(`${where}: wrote outside its arrays`);
            compared++;
          }
        }
      }
    }
    // Four sizes × five chunk kinds and the largest × two, each with two gradient scales, compared after steps 1 and 50.
    t.equal(compared, (4 * 5 + 2) * 2 * 2, 'params and optimizer state equal the TypeScript step bit for bit after 1 and 50 steps, every chunk');
  });
}
