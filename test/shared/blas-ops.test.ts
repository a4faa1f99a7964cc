// The BLAS products (kernels: blas) against the float64 TypeScript reference: abt, ab and atb
// through blasNetworkOps on a shared WebAssembly memory, shapes that are multiples of no tile,
// operands at odd offsets, beta 0 (overwrite, C never read) and 1 (accumulate), K = 0; then whole
// forward + BPTT passes of every topology against the reference and against the wasm ops (what
// auto chooses between), with the BLAS counted to show it ran. Skipped, with the install command,
// when no BLAS loads on this machine (CI installs libopenblas0).
import t from 'tap';
import { loadBlas, type Blas } from '../../src/shared/backends/blas.js';
import { blasNetworkOps } from '../../src/shared/backends/blas-ops.js';
import { sharedViews, workerModel, type WorkerModel } from '../../src/shared/memory/views.js';
import { gemmAB, gemmABt, gemmAtB } from '../../src/shared/backends/gemm.js';
import { initParams } from '../../src/shared/model/init.js';
import type { ParamLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { referenceOps } from '../../src/shared/model/network.js';
import { Rng } from '../../src/shared/model/rng.js';
import { createPlanMemory, planSharedMemory, type EngineSpec } from '../../src/shared/memory/shared-memory.js';
import { createWasmMemory } from '../../src/shared/backends/wasm-modules.js';
import { blasSkip } from '../helpers/blas.js';
import { GuardedArena } from '../helpers/guarded-arena.js';
import { worse } from '../helpers/max-error.js';

const load = loadBlas();
const skip = blasSkip;

/** The BLAS with its calls counted. */
function counted(blas: Blas): { blas: Blas; calls: () => number } {
  let calls = 0;
  return { blas: { ...blas, sgemm: (...args) => { calls++; blas.sgemm(...args); } }, calls: () => calls };
}

const PRODUCTS = { abt: gemmABt, ab: gemmAB, atb: gemmAtB } as const;
const SIZES = [1, 3, 7, 17, 33, 130];

t.test('abt, ab, atb: every M, N, K in {1,3,7,17,33,130} at odd offsets, beta 0 and 1', { skip }, async (t) => {
  if (!load.ok) return;
  const memory = createWasmMemory(512, 512);
  const { blas, calls } = counted(load.blas);
  const ops = blasNetworkOps({ ...referenceOps, invalidateWeights() {} }, blas, memory.buffer);
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
  if (!load.ok) return;
  const memory = createWasmMemory(16, 16);
  const ops = blasNetworkOps({ ...referenceOps, invalidateWeights() {} }, load.blas, memory.buffer);
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

interface Case { cell: ModelConfig['cell']; input: 'onehot' | 'dense'; recurrence: 'hidden' | 'output'; outputs: 'all' | 'last'; layers: number; hidden: number }

const T = 7, IN = 11, O = 9, B = 5;
const CASES: Case[] = [
  { cell: 'lstm', input: 'onehot', recurrence: 'hidden', outputs: 'all', layers: 2, hidden: 13 },
  { cell: 'lstm', input: 'dense', recurrence: 'hidden', outputs: 'last', layers: 1, hidden: 20 },
  { cell: 'lstm', input: 'dense', recurrence: 'output', outputs: 'all', layers: 1, hidden: 17 },
  { cell: 'rnn', input: 'onehot', recurrence: 'hidden', outputs: 'all', layers: 2, hidden: 12 },
  { cell: 'rnn', input: 'dense', recurrence: 'output', outputs: 'all', layers: 1, hidden: 13 },
  { cell: 'gru', input: 'onehot', recurrence: 'hidden', outputs: 'all', layers: 2, hidden: 15 },
  { cell: 'gru', input: 'dense', recurrence: 'output', outputs: 'all', layers: 1, hidden: 12 },
];

/** Three workers' models on one 'blas' plan: rank 0 on the TS reference, rank 1 on the blas ops, rank 2 on the wasm ops. */
function setUp(c: Case, blas: Blas) {
  const cfg: ModelConfig = { cell: c.cell, inputSize: IN, hidden: c.hidden, layers: c.layers, outputSize: O, recurrence: c.recurrence, outputs: c.outputs };
  const loss = c.input === 'onehot' ? 'ce' : 'mse';
  const spec: EngineSpec = {
    cfg, loss, input: c.input, seqLen: T, batch: 3 * B, workers: 3,
    optimizer: { name: 'sgd', lr: 0.1, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false },
    clip: null, teacherForcing: false, kernels: 'blas',
  };
  const plan = planSharedMemory(spec, 0);
  const memory = createPlanMemory(plan);
  const views = sharedViews(memory, plan);
  initParams(cfg, plan.layout, views.params, 3, { scale: 0.5, forgetBias: 1 });
  for (const shard of views.shards) {
    const r = new Rng(5);
    for (let k = 0; k < shard.tokens.length; k++) shard.tokens[k] = r.int(IN);
    for (let k = 0; k < shard.inputs.length; k++) shard.inputs[k] = r.normal();
    for (let k = 0; k < shard.targetIds.length; k++) shard.targetIds[k] = r.int(O);
    for (let k = 0; k < shard.targetValues.length; k++) shard.targetValues[k] = r.normal();
  }
  return {
    views, layout: plan.layout,
    reference: workerModel(memory, plan, views, 0, { kernels: 'ts' }),
    blas: workerModel(memory, plan, views, 1, { blas }),
    wasm: workerModel(memory, plan, views, 2, { kernels: 'wasm' }),
  };
}

function lossAndGradients(m: WorkerModel, slot: Float32Array): number {
  slot.fill(0);
  const loss = m.net.forward(m.params, m.shard, B, { teacherForcing: false, gradScale: 1 / (T * B) });
  m.net.backward(m.params, m.grads, m.shard, B, false);
  return loss;
}

/** Worst |blas − reference| of any tensor, as a fraction of that tensor's max |reference|. */
function worstRelativeError(layout: ParamLayout, reference: Float32Array, other: Float32Array): number {
  let worst = 0;
  for (const spec of layout.tensors) {
    let scale = 0, error = 0;
    for (let k = spec.offset; k < spec.offset + spec.size; k++) {
      scale = worse(scale, Math.abs(reference[k]));
      error = worse(error, Math.abs(other[k] - reference[k]));
    }
    worst = worse(worst, scale === 0 ? error : error / scale);
  }
  return worst;
}

t.test('a blas model over buffers off its memory is refused where its ops are built (no silent TS fallback)', { skip }, async (t) => {
  if (!load.ok) return;
  const cfg: ModelConfig = { cell: 'lstm', inputSize: IN, hidden: 12, layers: 1, outputSize: O, recurrence: 'hidden', outputs: 'all' };
  const plan = planSharedMemory({
    cfg, loss: 'ce', input: 'onehot', seqLen: T, batch: B, workers: 1,
    optimizer: { name: 'sgd', lr: 0.1, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false },
    clip: null, teacherForcing: false, kernels: 'blas',
  }, 0);
  const memory = createPlanMemory(plan);
  t.doesNotThrow(() => workerModel(memory, plan, sharedViews(memory, plan), 0, { blas: load.blas }), 'every view on the memory builds');
  t.throws(() => workerModel(memory, plan, sharedViews(createPlanMemory(plan), plan), 0, { blas: load.blas }),
    /params is not a view of the model's WebAssembly memory/, 'views of another memory throw');
});

for (const c of CASES) {
  const name = `${c.cell} ${c.input} ${c.recurrence}→${c.outputs} L=${c.layers} H=${c.hidden}: blas ops = reference = wasm ops (loss 1e-5, gradients 1e-4·max|g|)`;
  t.test(name, { skip }, async (t) => {
    if (!load.ok) return;
    const { blas, calls } = counted(load.blas);
    const s = setUp(c, blas);
    const referenceLoss = lossAndGradients(s.reference, s.views.grads[0]);
    const blasLoss = lossAndGradients(s.blas, s.views.grads[1]);
    t.ok(calls() > 0, `${calls()} products on the BLAS`);
    t.ok(Math.abs(blasLoss - referenceLoss) <= 1e-5 * Math.abs(referenceLoss), `loss ${blasLoss} vs ${referenceLoss}`);
    const worst = worstRelativeError(s.layout, s.views.grads[0], s.views.grads[1]);
    t.ok(worst <= 1e-4, `gradients: worst relative error ${worst.toExponential(2)}`);
    // blas and wasm (the kernels auto chooses between) agree with each other as closely.
    const wasmLoss = lossAndGradients(s.wasm, s.views.grads[2]);
    t.ok(Math.abs(blasLoss - wasmLoss) <= 1e-5 * Math.abs(wasmLoss), `blas loss ${blasLoss} vs wasm ${wasmLoss}`);
    const apart = worstRelativeError(s.layout, s.views.grads[2], s.views.grads[1]);
    t.ok(apart <= 1e-4, `blas vs wasm gradients: worst relative difference ${apart.toExponential(2)}`);
  });
}

t.test('RECUR_BLAS naming a missing file: no BLAS, and the reason names the file', async (t) => {
  const missing = loadBlas({ RECUR_BLAS: '/nonexistent/libopenblas.so.0' });
  t.equal(missing.ok, false);
  if (!missing.ok) t.match(missing.reason, '/nonexistent/libopenblas.so.0');
});
