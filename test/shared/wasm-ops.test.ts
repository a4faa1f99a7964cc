// The WebAssembly NetworkOps against the TypeScript reference: the same Network, params and
// inputs on one engine memory (two workers' regions of a 'wasm' plan), every topology, shapes that
// are not multiples of 16 (nor, for some, of 4: the cells' TS fallback); packed weights that
// follow the params after invalidateWeights(); a model over buffers off the memory refused where
// its ops are built; the activations' accuracy at extreme inputs.
import t, { type Test } from 'tap';
import { sharedViews, workerModel, type SharedViews, type WorkerModel } from '../../src/shared/memory/views.js';
import { initParams } from '../../src/shared/model/init.js';
import type { ParamLayout } from '../../src/shared/model/layout.js';
import type { LossKind, ModelConfig } from '../../src/shared/model/model-config.js';
import { Rng } from '../../src/shared/model/rng.js';
import { createPlanMemory, planSharedMemory, type EngineSpec } from '../../src/shared/memory/shared-memory.js';
import { createWasmMemory, instantiateNetworkModules } from '../../src/shared/backends/wasm-modules.js';
import { worse } from '../helpers/max-error.js';

interface Case {
  cell: ModelConfig['cell'];
  input: 'onehot' | 'dense';
  loss: LossKind;
  recurrence: 'hidden' | 'output';
  outputs: 'all' | 'last';
  layers: number;
  teacherForcing: boolean;
  hidden: number;
  dropout?: number;
}

/** Both workers draw the same masks: the same seed, step and first sequence. */
const DROPOUT_STREAM = { seed: 1, step: 2, firstSequence: 0 };

const T = 7, IN = 11, O = 9;
/** Sequences per shard; the batch of 2·B fills both workers' shards. */
const B = 5;

const describe = (c: Case): string =>
  `${c.cell} ${c.input}/${c.loss} ${c.recurrence}→${c.outputs} L=${c.layers} H=${c.hidden}${c.teacherForcing ? ' teacher-forced' : ''}${c.dropout ? ` dropout ${c.dropout}` : ''}`;

/** Two workers, one shard of B sequences each. */
function engineSpec(c: Case, kernels: EngineSpec['kernels']): EngineSpec {
  const cfg: ModelConfig = {
    cell: c.cell, inputSize: IN, hidden: c.hidden, layers: c.layers, outputSize: O, recurrence: c.recurrence, outputs: c.outputs,
  };
  return {
    cfg, loss: c.loss, input: c.input, seqLen: T, batch: 2 * B, workers: 2,
    optimizer: { name: 'sgd', lr: 0.1, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false },
    clip: null, teacherForcing: c.teacherForcing, kernels,
    dropout: c.dropout ? { p: c.dropout, seed: DROPOUT_STREAM.seed } : undefined,
  };
}

/** Two workers' models on one 'wasm' plan: rank 0 with the TS reference, rank 1 with the wasm ops. */
function setUp(c: Case): { views: SharedViews; layout: ParamLayout; reference: WorkerModel; wasm: WorkerModel } {
  const spec = engineSpec(c, 'wasm');
  const cfg = spec.cfg;
  const plan = planSharedMemory(spec, 0);
  const memory = createPlanMemory(plan);
  const views = sharedViews(memory, plan);
  initParams(cfg, plan.layout, views.params, 3, { scale: 0.5, forgetBias: 1 });
  const rng = new Rng(5);
  const rows = T * B, targetRows = c.outputs === 'all' ? rows : B;
  const [first, second] = views.shards;
  for (let r = 0; r < rows; r++) first.tokens[r] = rng.int(IN);
  for (let k = 0; k < first.inputs.length; k++) first.inputs[k] = rng.normal();
  for (let r = 0; r < targetRows; r++) first.targetIds[r] = rng.int(O);
  for (let k = 0; k < first.targetValues.length; k++) first.targetValues[k] = rng.normal();
  second.tokens.set(first.tokens);
  second.inputs.set(first.inputs);
  second.targetIds.set(first.targetIds);
  second.targetValues.set(first.targetValues);
  return {
    views, layout: plan.layout,
    reference: workerModel(memory, plan, views, 0, { kernels: 'ts' }),
    wasm: workerModel(memory, plan, views, 1, { kernels: 'wasm' }),
  };
}

/** Loss and gradient of one model (its gradient slot zeroed first). */
function lossAndGradients(m: WorkerModel, slot: Float32Array, c: Case): number {
  slot.fill(0);
  const dropout = c.dropout ? DROPOUT_STREAM : null;
  const loss = m.net.forward(m.params, m.shard, B, { teacherForcing: c.teacherForcing, gradScale: 1 / (T * B), dropout });
  m.net.backward(m.params, m.grads, m.shard, B, c.teacherForcing);
  return loss;
}

/** Worst |wasm − reference| per tensor as a fraction of that tensor's max |reference| (≤ 1e-4 passes). */
function worstGradientError(layout: ParamLayout, reference: Float32Array, wasm: Float32Array): { worst: number; tensor: string } {
  let worst = 0, tensor = '';
  for (const spec of layout.tensors) {
    let scale = 0, error = 0;
    for (let k = spec.offset; k < spec.offset + spec.size; k++) {
      scale = worse(scale, Math.abs(reference[k]));
      error = worse(error, Math.abs(wasm[k] - reference[k]));
    }
    const relative = scale === 0 ? error : error / scale;
    // A NaN or infinite gradient on either side makes `relative` non-finite: the worst there is.
    if (!(relative <= worst)) [worst, tensor] = [worse(worst, relative), spec.name];
  }
  return { worst: worst / 1e-4, tensor };
}

function compare(t: Test, c: Case, s: ReturnType<typeof setUp>, label: string): void {
  const referenceLoss = lossAndGradients(s.reference, s.views.grads[0], c);
  const wasmLoss = lossAndGradients(s.wasm, s.views.grads[1], c);
  t.ok(Math.abs(wasmLoss - referenceLoss) <= 1e-5 * Math.abs(referenceLoss), `${label}: loss ${wasmLoss} vs ${referenceLoss}`);
  const { worst, tensor } = worstGradientError(s.layout, s.views.grads[0], s.views.grads[1]);
  t.ok(worst <= 1, `${label}: gradients within 1e-4·max|g| (worst ${worst.toFixed(3)} of it, ${tensor})`);
}

const cases: Case[] = [];
const hiddenSizes = [20, 13, 12, 17];
for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  for (const [input, loss] of [['onehot', 'ce'], ['dense', 'mse']] as const) {
    const topologies = [
      { recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false },
      { recurrence: 'hidden', outputs: 'last', layers: 1, teacherForcing: false },
      { recurrence: 'output', outputs: 'all', layers: 1, teacherForcing: false },
      { recurrence: 'output', outputs: 'all', layers: 1, teacherForcing: true },
      { recurrence: 'output', outputs: 'last', layers: 1, teacherForcing: false },
    ] as const;
    for (const topology of topologies) {
      cases.push({ cell, input, loss, ...topology, hidden: hiddenSizes[cases.length % hiddenSizes.length] });
    }
  }
}

// Dropout masks applied by the wasm kernel, B·H a multiple of 4 or not (its scalar tail).
cases.push({ cell: 'lstm', input: 'onehot', loss: 'ce', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false, hidden: 20, dropout: 0.3 });
cases.push({ cell: 'gru', input: 'dense', loss: 'mse', recurrence: 'hidden', outputs: 'last', layers: 2, teacherForcing: false, hidden: 13, dropout: 0.3 });
cases.push({ cell: 'gru', input: 'onehot', loss: 'ce', recurrence: 'output', outputs: 'all', layers: 1, teacherForcing: false, hidden: 12, dropout: 0.5 });
cases.push({ cell: 'rnn', input: 'dense', loss: 'mse', recurrence: 'output', outputs: 'all', layers: 1, teacherForcing: true, hidden: 17, dropout: 0.5 });

for (const c of cases) {
  t.test(describe(c), async (t) => {
    const s = setUp(c);
    compare(t, c, s, 'initial params');

    // New params: the packs and the one-hot table made from the old ones are stale until
    // invalidated (so this also shows the wasm path, not a fallback, ran).
    const rng = new Rng(9);
    for (let k = 0; k < s.views.params.length; k++) s.views.params[k] = s.views.params[k] * 0.8 + 0.1 * rng.normal();
    lossAndGradients(s.reference, s.views.grads[0], c);
    lossAndGradients(s.wasm, s.views.grads[1], c);
    const stale = worstGradientError(s.layout, s.views.grads[0], s.views.grads[1]);
    t.ok(stale.worst > 100, `stale packs give other gradients (${stale.tensor} off by ${(stale.worst * 1e-4).toExponential(1)}·max|g|)`);
    s.wasm.invalidateWeights();
    compare(t, c, s, 'after invalidateWeights');
  });
}

t.test('a model over buffers off its memory is refused where its ops are built (no silent TS fallback)', async (t) => {
  const spec = engineSpec(cases[0], 'wasm');
  const plan = planSharedMemory(spec, 0);
  const memory = createPlanMemory(plan), elsewhere = createPlanMemory(plan);
  const good = sharedViews(memory, plan);
  for (const kernels of ['wasm', 'ts'] as const) {
    t.doesNotThrow(() => workerModel(memory, plan, good, 1, { kernels }), `${kernels}: every view on the memory builds`);
    // The views of another memory of the same plan: the wasm ops would read this memory's bytes at their offsets.
    t.throws(() => workerModel(memory, plan, sharedViews(elsewhere, plan), 1, { kernels }),
      /params is not a view of the model's WebAssembly memory/, `${kernels}: views of another memory throw`);
    // One buffer out of place is enough: an ordinary Float32Array as the gradient slot, or as the shard's tokens.
    const grads = { ...good, grads: good.grads.map((g, k) => (k === 1 ? new Float32Array(g.length) : g)) };
    t.throws(() => workerModel(memory, plan, grads, 1, { kernels }), /grads\[1\] is not a view/, `${kernels}: a gradient slot off the memory throws`);
    const shards = { ...good, shards: good.shards.map((x, k) => (k === 1 ? { ...x, tokens: Int32Array.from(x.tokens) } : x)) };
    t.throws(() => workerModel(memory, plan, shards, 1, { kernels }), /shards\[1\]\.tokens is not a view/, `${kernels}: shard tokens off the memory throw`);
  }
  // The blas kernels without the BLAS the main thread chose are refused too.
  const blasPlan = planSharedMemory({ ...spec, kernels: 'blas' }, 0);
  const blasMemory = createPlanMemory(blasPlan);
  t.throws(() => workerModel(blasMemory, blasPlan, sharedViews(blasMemory, blasPlan), 0), /the blas kernels need the BLAS the main thread chose/);
});

t.test('a ts plan has no kernel scratch', async (t) => {
  t.same(planSharedMemory(engineSpec(cases[0], 'ts'), 0).kernelScratch.map((r) => r.byteLength), [0, 0]);
});

t.test('activations: a few ulp of Math.tanh and the logistic from 1e-8 to 100 in magnitude', async (t) => {
  const memory = createWasmMemory(64, 64);
  const kernels = instantiateNetworkModules(memory);
  const heap = new Float32Array(memory.buffer);
  const H = 8, samples = 2048, n = samples * H;
  // x = ±10^e, e from -8 to 2: tiny values (tanh's polynomial branch), the 0.625 switch, saturation.
  const xs = Float32Array.from({ length: n }, (_, k) => (k % 2 ? -1 : 1) * 10 ** (-8 + (10 * k) / n));
  const gates = 4096, cPrev = gates + 4 * n, c = cPrev + n, tanhC = c + n, h = tanhC + n;
  // Every gate gets x; c_{t-1} = 0, so c = σ(x)·tanh(x) and the outputs exercise both activations.
  for (let s = 0; s < samples; s++) {
    for (let g = 0; g < 4; g++) heap.set(xs.subarray(s * H, (s + 1) * H), gates + s * 4 * H + g * H);
  }
  heap.fill(0, cPrev, cPrev + n);
  kernels.lstmForward(gates * 4, cPrev * 4, c * 4, tanhC * 4, h * 4, samples, H);
  let worstSigmoid = 0, worstTanh = 0;
  for (let s = 0; s < samples; s++) {
    for (let j = 0; j < H; j++) {
      const x = xs[s * H + j], row = gates + s * 4 * H;
      const sigmoid = 1 / (1 + Math.exp(-x));
      // Below e^-87 the kernel's clamp leaves up to 1e-38 where σ is smaller still: no matter.
      worstSigmoid = worse(worstSigmoid, Math.max(0, Math.abs(heap[row + j] - sigmoid) - 1e-37) / sigmoid);
      worstTanh = worse(worstTanh, Math.abs(heap[row + 2 * H + j] - Math.tanh(x)) / Math.abs(Math.tanh(x)));
      const cell = heap[c + s * H + j];
      worstTanh = worse(worstTanh, Math.abs(heap[tanhC + s * H + j] - Math.tanh(cell)) / Math.abs(Math.tanh(cell)));
    }
  }
  const ULP = 2 ** -23;
  t.ok(worstSigmoid <= 3 * ULP, `σ: worst relative error ${(worstSigmoid / ULP).toFixed(2)} ulp`);
  // The rational tanh's worst case is 3.44 ulp, near |x| ≈ 5.83 (tanh ≈ 1 − 2e-5; see wasm-loss.test.ts).
  t.ok(worstTanh <= 4 * ULP, `tanh: worst relative error ${(worstTanh / ULP).toFixed(2)} ulp`);
});
