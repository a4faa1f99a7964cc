// The network's ops on each kernel set (wasm; blas: the products on the BLAS, the rest wasm)
// against the TypeScript reference: the same Network, params and inputs on one engine memory (one
// rank per kernel set of a plan), every topology, shapes that are not multiples of 16 (nor, for
// some, of 4: the cells' TS fallback), dropout; weights that follow the params after
// invalidateWeights() (the wasm packs stale until then); for blas, the BLAS counted to show it ran
// and its numbers as close to the wasm ops' (what auto chooses between); bidirectional layers over
// sequences of their own lengths; a model over buffers off
// the memory refused where its ops are built, on every kernel set; the activations' accuracy at
// extreme inputs. The blas tests are skipped, saying what to install, where no BLAS loads.
import t, { type Test } from 'tap';
import { sharedViews, workerModel } from '../../src/shared/memory/views.js';
import type { LossKind, ModelConfig } from '../../src/shared/model/model-config.js';
import { Rng } from '../../src/shared/model/rng.js';
import { createPlanMemory, planSharedMemory } from '../../src/shared/memory/shared-memory.js';
import {
  BLAS, bareKernels, countedBlas, kernelSpec, lossAndGradients, modelsOnKernels, skipFor, worstTensorError,
  KERNELS_UNDER_TEST, type KernelCase, type KernelModels,
} from '../helpers/kernels.js';
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
  /** Model keys (token embedding, tied head, categorical columns; bidirectional). */
  model?: Partial<ModelConfig>;
  lockedDropout?: number;
  weightDrop?: number;
  /** Steps of each of the B sequences (non-increasing); absent: all T. */
  lengths?: number[];
}

/** Every rank draws the same masks: the same seed, step and first sequence. */
const DROPOUT_STREAM = { seed: 1, step: 2, firstSequence: 0 };

const T = 7, IN = 11, O = 9;
/** Sequences per shard (per rank). */
const B = 5;

const describe = (c: Case): string =>
  `${c.cell} ${c.input}/${c.loss} ${c.recurrence}→${c.outputs} L=${c.layers} H=${c.hidden}${c.teacherForcing ? ' teacher-forced' : ''}${c.dropout ? ` dropout ${c.dropout}` : ''}${c.lockedDropout ? ` lockedDropout ${c.lockedDropout}` : ''}${c.weightDrop ? ` weightDrop ${c.weightDrop}` : ''}${c.model ? ` ${JSON.stringify(c.model)}` : ''}${c.lengths ? ` lengths ${c.lengths.join(',')}` : ''}`;

function kernelCase(c: Case): KernelCase {
  return {
    cfg: { cell: c.cell, inputSize: IN, hidden: c.hidden, layers: c.layers, outputSize: O, recurrence: c.recurrence, outputs: c.outputs, ...c.model },
    loss: c.loss, input: c.input, seqLen: T, shardSize: B, teacherForcing: c.teacherForcing, variableLengths: c.lengths !== undefined,
    dropout: regularised(c) ? { p: c.dropout ?? 0, seed: DROPOUT_STREAM.seed, lockedDropout: c.lockedDropout, weightDrop: c.weightDrop } : undefined,
  };
}

const regularised = (c: Case): boolean => Boolean(c.dropout || c.lockedDropout || c.weightDrop);

const pass = (k: KernelModels, rank: number, c: Case, stream = DROPOUT_STREAM): number => lossAndGradients(k, rank, kernelCase(c), { dropout: regularised(c) ? stream : null });

/** Rank `rank` against rank `base` (both passes run now): loss within 1e-5 relative, gradients within 1e-4·max|g| per tensor. */
function compare(t: Test, c: Case, k: KernelModels, base: number, rank: number, label: string, stream = DROPOUT_STREAM): void {
  const baseLoss = pass(k, base, c, stream);
  const loss = pass(k, rank, c, stream);
  t.ok(Math.abs(loss - baseLoss) <= 1e-5 * Math.abs(baseLoss), `${label}: loss ${loss} vs ${baseLoss}`);
  const { worst, tensor } = worstTensorError(k.layout, k.views.grads[base]!, k.views.grads[rank]!);
  t.ok(worst <= 1e-4, `${label}: gradients within 1e-4·max|g| (worst ${(worst / 1e-4).toFixed(3)} of it, ${tensor})`);
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

// weightDrop: the cells' products read a masked weight_hh in the activation block, which the wasm
// kernels pack like a parameter; lockedDropout: the dropout kernels with one mask for every step.
cases.push({ cell: 'lstm', input: 'onehot', loss: 'ce', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false, hidden: 20, weightDrop: 0.4 });
cases.push({ cell: 'gru', input: 'dense', loss: 'mse', recurrence: 'hidden', outputs: 'last', layers: 2, teacherForcing: false, hidden: 13, weightDrop: 0.3, lockedDropout: 0.3 });
cases.push({ cell: 'rnn', input: 'onehot', loss: 'ce', recurrence: 'hidden', outputs: 'all', layers: 1, teacherForcing: false, hidden: 17, lockedDropout: 0.5 });

// Bidirectional (each sequence reversed over its own length), every cell, with dropout and lockedDropout on the 2H outputs, under a token embedding.
cases.push({ cell: 'lstm', input: 'dense', loss: 'mse', recurrence: 'hidden', outputs: 'last', layers: 2, teacherForcing: false, hidden: 13, model: { bidirectional: true }, lengths: [7, 5, 5, 3, 1] });
cases.push({ cell: 'gru', input: 'dense', loss: 'ce', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false, hidden: 12, model: { bidirectional: true }, lengths: [7, 6, 4, 2, 2], dropout: 0.3 });
cases.push({ cell: 'rnn', input: 'onehot', loss: 'ce', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false, hidden: 17, model: { bidirectional: true } });
cases.push({ cell: 'gru', input: 'onehot', loss: 'ce', recurrence: 'hidden', outputs: 'last', layers: 1, teacherForcing: false, hidden: 12, model: { bidirectional: true, embedding: 6 }, lengths: [7, 4, 4, 2, 1] });
cases.push({ cell: 'lstm', input: 'dense', loss: 'mse', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false, hidden: 12, model: { bidirectional: true }, lengths: [7, 7, 5, 3, 2], lockedDropout: 0.3 });

// Shapes first chosen for the blas kernels, multiples of no tile.
for (const [cell, input, recurrence, outputs, layers, hidden] of [
  ['lstm', 'onehot', 'hidden', 'all', 2, 13], ['lstm', 'dense', 'hidden', 'last', 1, 20], ['lstm', 'dense', 'output', 'all', 1, 17],
  ['rnn', 'onehot', 'hidden', 'all', 2, 12], ['rnn', 'dense', 'output', 'all', 1, 13],
  ['gru', 'onehot', 'hidden', 'all', 2, 15], ['gru', 'dense', 'output', 'all', 1, 12],
] as const) {
  const c: Case = { cell, input, loss: input === 'onehot' ? 'ce' : 'mse', recurrence, outputs, layers, teacherForcing: false, hidden };
  if (!cases.some((x) => describe(x) === describe(c))) cases.push(c);
}

// Embeddings: token rows into layer 0 (the rows copied, their gradient scattered back), the head
// tied to the embedding (the one tensor multiplied by the head's products), categorical columns.
cases.push({ cell: 'lstm', input: 'onehot', loss: 'ce', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false, hidden: 13, model: { embedding: 6 } });
cases.push({ cell: 'gru', input: 'onehot', loss: 'ce', recurrence: 'hidden', outputs: 'all', layers: 1, teacherForcing: false, hidden: 12, model: { embedding: 12, tieWeights: true, outputSize: IN } });
cases.push({ cell: 'rnn', input: 'dense', loss: 'mse', recurrence: 'hidden', outputs: 'last', layers: 2, teacherForcing: false, hidden: 17, model: { categorical: [{ column: 'a', levels: 3, width: 2 }, { column: 'b', levels: 5, width: 3 }] } });

/** New params (the old ones moved): what the ops computed from the old ones is stale until invalidated. */
function moveParams(k: KernelModels): void {
  const rng = new Rng(9);
  for (let i = 0; i < k.views.params.length; i++) k.views.params[i] = k.views.params[i]! * 0.8 + 0.1 * rng.normal();
}

for (const c of cases) {
  t.test(`${describe(c)} (wasm kernels)`, async (t) => {
    const k = modelsOnKernels(kernelCase(c), ['ts', 'wasm'], { lengths: c.lengths });
    compare(t, c, k, 0, 1, 'initial params');

    // The packs and the one-hot table made from the old params are stale until invalidated (so
    // this also shows the wasm path, not a fallback, ran).
    moveParams(k);
    pass(k, 0, c);
    pass(k, 1, c);
    const stale = worstTensorError(k.layout, k.views.grads[0]!, k.views.grads[1]!);
    t.ok(stale.worst > 1e-2, `stale packs give other gradients (${stale.tensor} off by ${stale.worst.toExponential(1)}·max|g|)`);
    k.models[1]!.invalidateWeights();
    compare(t, c, k, 0, 1, 'after invalidateWeights');
    // A new step's masked weight_hh, with the params unchanged: the network's weightChanged repacks it.
    if (c.weightDrop) compare(t, c, k, 0, 1, 'the next step\'s weightDrop mask, no invalidateWeights', { ...DROPOUT_STREAM, step: DROPOUT_STREAM.step + 1 });
  });

  t.test(`${describe(c)} (blas kernels): blas ops = reference = wasm ops`, skipFor('blas'), async (t) => {
    const { blas, calls } = countedBlas(BLAS!);
    const k = modelsOnKernels(kernelCase(c), ['ts', 'blas', 'wasm'], { blas, lengths: c.lengths });
    compare(t, c, k, 0, 1, 'initial params');
    t.ok(calls() > 0, `${calls()} products on the BLAS`);
    // blas and wasm (the kernels auto chooses between) agree with each other as closely.
    compare(t, c, k, 2, 1, 'blas vs wasm');
    moveParams(k);
    k.models[1]!.invalidateWeights();
    k.models[2]!.invalidateWeights();
    compare(t, c, k, 0, 1, 'new params, after invalidateWeights');
  });
}

for (const kernels of KERNELS_UNDER_TEST) {
  t.test(`${kernels} kernels: a model over buffers off its memory is refused where its ops are built (no silent TS fallback)`, skipFor(kernels), async (t) => {
    const spec = kernelSpec(kernelCase(cases[0]!), 2, kernels === 'blas' ? 'blas' : 'wasm');
    const plan = planSharedMemory(spec, 0);
    const memory = createPlanMemory(plan), elsewhere = createPlanMemory(plan);
    const good = sharedViews(memory, plan);
    const choice = { kernels, blas: kernels === 'blas' ? BLAS : null };
    t.doesNotThrow(() => workerModel(memory, plan, good, 1, choice), 'every view on the memory builds');
    // The views of another memory of the same plan: the wasm ops would read this memory's bytes at their offsets.
    t.throws(() => workerModel(memory, plan, sharedViews(elsewhere, plan), 1, choice),
      /params is not a view of the model's WebAssembly memory/, 'views of another memory throw');
    // One buffer out of place is enough: an ordinary Float32Array as the gradient slot, or as the shard's tokens.
    const grads = { ...good, grads: good.grads.map((g, k) => (k === 1 ? new Float32Array(g.length) : g)) };
    t.throws(() => workerModel(memory, plan, grads, 1, choice), /grads\[1\] is not a view/, 'a gradient slot off the memory throws');
    const shards = { ...good, shards: good.shards.map((x, k) => (k === 1 ? { ...x, tokens: Int32Array.from(x.tokens) } : x)) };
    t.throws(() => workerModel(memory, plan, shards, 1, choice), /shards\[1\]\.tokens is not a view/, 'shard tokens off the memory throw');
  });
}

t.test('the blas kernels without the BLAS the main thread chose are refused', async (t) => {
  const plan = planSharedMemory(kernelSpec(kernelCase(cases[0]!), 2, 'blas'), 0);
  const memory = createPlanMemory(plan);
  t.throws(() => workerModel(memory, plan, sharedViews(memory, plan), 0), /the blas kernels need the BLAS the main thread chose/);
});

t.test('a ts plan has no kernel scratch', async (t) => {
  t.same(planSharedMemory(kernelSpec(kernelCase(cases[0]!), 2, 'ts'), 0).kernelScratch.map((r) => r.byteLength), [0, 0]);
});

t.test('activations: a few ulp of Math.tanh and the logistic from 1e-8 to 100 in magnitude', async (t) => {
  const { memory, modules: kernels } = bareKernels(64);
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
