// Variable-length sequences (SPEC §2): a padded batch with lengths gives exactly the loss and the
// gradients of running each sequence alone (float64, like PyTorch's pack_padded_sequence), its
// gradient is the finite-difference gradient of its loss, padding values never matter, and the
// WebAssembly kernels agree with the TypeScript reference on the masked path.
import t from 'tap';
import { Network, type ShardInput } from '../../src/shared/model/network.js';
import { modelViews, paramLayout, type ParamLayout } from '../../src/shared/model/layout.js';
import type { LossKind, ModelConfig } from '../../src/shared/model/model-config.js';
import { Rng } from '../../src/shared/model/rng.js';
import { initParams } from '../../src/shared/model/init.js';
import { worse } from '../helpers/max-error.js';
import { lossAndGradients, modelsOnKernels, type KernelCase } from '../helpers/kernels.js';

interface Case {
  cell: ModelConfig['cell'];
  outputs: 'all' | 'last';
  loss: LossKind;
  input: 'onehot' | 'dense';
  layers: number;
}

const T = 6, H = 4, IN = 3, O = 3;
/** Longest first; one sequence of the full T, one of a single step, a tie. */
const LENGTHS = [6, 4, 4, 2, 1];
const B = LENGTHS.length;

const describe = (c: Case): string => `${c.cell} ${c.outputs} ${c.loss} ${c.input} layers=${c.layers}`;
const configOf = (c: Case): ModelConfig => ({ cell: c.cell, inputSize: IN, hidden: H, layers: c.layers, outputSize: O, recurrence: 'hidden', outputs: c.outputs });

/** A padded time-major batch: real steps from the rng, padding filled with `pad` (or more noise). */
function paddedBatch(c: Case, seed: number, pad: (rng: Rng) => number): ShardInput {
  const rng = new Rng(seed, 1), padRng = new Rng(seed, 2);
  const real = (t: number, b: number): boolean => t < LENGTHS[b];
  const tokens = new Int32Array(T * B), inputs = new Float64Array(T * B * IN);
  const targetRows = c.outputs === 'all' ? T * B : B;
  const targetIds = new Int32Array(targetRows), targetValues = new Float64Array(targetRows * O);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const r = t * B + b;
      tokens[r] = real(t, b) ? rng.int(IN) : Math.abs(Math.round(pad(padRng))) % IN;
      for (let i = 0; i < IN; i++) inputs[r * IN + i] = real(t, b) ? rng.normal() : pad(padRng);
      if (c.outputs === 'all') {
        targetIds[r] = real(t, b) ? rng.int(O) : Math.abs(Math.round(pad(padRng))) % O;
        for (let o = 0; o < O; o++) targetValues[r * O + o] = real(t, b) ? rng.normal() : pad(padRng);
      }
    }
  }
  if (c.outputs === 'last') {
    for (let b = 0; b < B; b++) {
      targetIds[b] = rng.int(O);
      for (let o = 0; o < O; o++) targetValues[b * O + o] = rng.normal();
    }
  }
  return {
    tokens: c.input === 'onehot' ? tokens : null,
    inputs: c.input === 'dense' ? inputs : null,
    targetIds: c.loss === 'ce' ? targetIds : null,
    targetValues: c.loss === 'mse' ? targetValues : null,
    lengths: Int32Array.from(LENGTHS),
  };
}

/** Sequence b of a padded batch as a batch of one, T = its own length, no lengths. */
function alone(c: Case, batch: ShardInput, b: number): ShardInput {
  const n = LENGTHS[b];
  const pick = <X extends Int32Array | Float64Array>(src: X | null | undefined, width: number, steps: number, make: (k: number) => X): X | null => {
    if (!src) return null;
    const out = make(steps * width);
    for (let t = 0; t < steps; t++) for (let i = 0; i < width; i++) out[t * width + i] = src[(t * B + b) * width + i];
    return out;
  };
  const last = c.outputs === 'last';
  return {
    tokens: pick(batch.tokens, 1, n, (k) => new Int32Array(k)),
    inputs: pick(batch.inputs as Float64Array | null, IN, n, (k) => new Float64Array(k)),
    targetIds: last ? (batch.targetIds ? Int32Array.of(batch.targetIds[b]) : null) : pick(batch.targetIds, 1, n, (k) => new Int32Array(k)),
    targetValues: last
      ? (batch.targetValues ? Float64Array.from(batch.targetValues.subarray(b * O, b * O + O)) : null)
      : pick(batch.targetValues as Float64Array | null, O, n, (k) => new Float64Array(k)),
  };
}

interface Model {
  cfg: ModelConfig;
  layout: ParamLayout;
  params: Float64Array<ArrayBuffer>;
}

function model(c: Case): Model {
  const cfg = configOf(c);
  const layout = paramLayout(cfg);
  const params = new Float64Array(layout.size);
  initParams(cfg, layout, params, 5, { scale: 0.7, forgetBias: 0.5 });
  return { cfg, layout, params };
}

/** Loss sum and gradient of the padded batch (one pass with lengths). */
function batchPass(c: Case, m: Model, input: ShardInput, scale: number): { loss: number; grads: Float64Array<ArrayBuffer> } {
  const grads = new Float64Array(m.layout.size);
  const net = new Network({ cfg: m.cfg, loss: c.loss, input: c.input, batch: B, seqLen: T }, (n) => new Float64Array(n));
  const loss = net.forward(modelViews(m.cfg, m.layout, m.params), input, B, { teacherForcing: false, gradScale: scale });
  net.backward(modelViews(m.cfg, m.layout, m.params), modelViews(m.cfg, m.layout, grads), input, B, false);
  return { loss, grads };
}

const predictedSteps = (c: Case): number => (c.outputs === 'all' ? LENGTHS.reduce((a, n) => a + n, 0) : B);

const cases: Case[] = [];
for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  for (const outputs of ['all', 'last'] as const) {
    cases.push({ cell, outputs, loss: 'ce', input: 'onehot', layers: 1 });
    cases.push({ cell, outputs, loss: 'mse', input: 'dense', layers: 2 });
  }
}

for (const c of cases) {
  t.test(`${describe(c)}: the padded batch equals each sequence alone`, async (t) => {
    const m = model(c);
    const scale = 1 / predictedSteps(c);
    const batch = paddedBatch(c, 3, (rng) => 5 * rng.normal());
    const together = batchPass(c, m, batch, scale);

    let lossAlone = 0;
    const gradsAlone = new Float64Array(m.layout.size);
    for (let b = 0; b < B; b++) {
      const net = new Network({ cfg: m.cfg, loss: c.loss, input: c.input, batch: 1, seqLen: LENGTHS[b] }, (n) => new Float64Array(n));
      const one = alone(c, batch, b);
      lossAlone += net.forward(modelViews(m.cfg, m.layout, m.params), one, 1, { teacherForcing: false, gradScale: scale });
      net.backward(modelViews(m.cfg, m.layout, m.params), modelViews(m.cfg, m.layout, gradsAlone), one, 1, false);
    }
    t.ok(Math.abs(together.loss - lossAlone) <= 1e-12 * Math.abs(lossAlone), `loss ${together.loss} vs ${lossAlone} alone`);
    let worst = 0;
    for (let k = 0; k < gradsAlone.length; k++) {
      worst = worse(worst, Math.abs(together.grads[k] - gradsAlone[k]) / Math.max(Math.abs(gradsAlone[k]), 1e-9));
    }
    t.ok(worst < 1e-10, `every gradient equal to the sum of the sequences' own (worst relative ${worst.toExponential(2)})`);

    // Other padding (other values in the padded steps) changes nothing at all.
    const repadded = batchPass(c, m, paddedBatch(c, 3, () => 0), scale);
    t.equal(repadded.loss, together.loss, 'padding values do not change the loss');
    t.same(Array.from(repadded.grads), Array.from(together.grads), 'nor any gradient');
  });
}

t.test('gradcheck of the masked path (five-point central differences, float64)', async (t) => {
  for (const c of [cases[0], cases[3], cases[5]]) {
    const m = model(c);
    const scale = 1 / predictedSteps(c);
    const batch = paddedBatch(c, 7, (rng) => rng.normal());
    const { grads } = batchPass(c, m, batch, scale);
    const net = new Network({ cfg: m.cfg, loss: c.loss, input: c.input, batch: B, seqLen: T }, (n) => new Float64Array(n));
    const views = modelViews(m.cfg, m.layout, m.params);
    const lossAt = (k: number, value: number): number => {
      m.params[k] = value;
      return net.forward(views, batch, B, { teacherForcing: false, gradScale: null }) * scale;
    };
    const h = 1e-3;
    let worst = 0;
    for (let k = 0; k < m.layout.size; k++) {
      const saved = m.params[k];
      const numeric = (8 * (lossAt(k, saved + h) - lossAt(k, saved - h)) - (lossAt(k, saved + 2 * h) - lossAt(k, saved - 2 * h))) / (12 * h);
      m.params[k] = saved;
      worst = worse(worst, Math.abs(numeric - grads[k]) / Math.max(Math.abs(numeric), Math.abs(grads[k]), 1e-6));
    }
    t.ok(worst < 1e-6, `${describe(c)}: all ${m.layout.size} parameters, worst relative error ${worst.toExponential(2)}`);
  }
});

t.test('the masked path is really taken: without lengths the padded batch gives another loss', async (t) => {
  const c = cases[0];
  const m = model(c);
  const batch = paddedBatch(c, 3, (rng) => rng.normal());
  const masked = batchPass(c, m, batch, 1).loss;
  const unmasked = batchPass(c, m, { ...batch, lengths: null }, 1).loss;
  t.not(masked, unmasked);
});

t.test('lengths out of order or range are refused', async (t) => {
  const c = cases[0];
  const m = model(c);
  const batch = paddedBatch(c, 3, () => 0);
  t.throws(() => batchPass(c, m, { ...batch, lengths: Int32Array.of(4, 6, 4, 2, 1) }, 1), /non-increasing/);
  t.throws(() => batchPass(c, m, { ...batch, lengths: Int32Array.of(7, 6, 4, 2, 1) }, 1), /1\.\.6/);
  t.throws(() => batchPass(c, m, { ...batch, lengths: Int32Array.of(6, 4, 4, 2, 0) }, 1), /1\.\.6/);
});

t.test('WebAssembly kernels on the masked path agree with the reference', async (t) => {
  for (const c of [
    { cell: 'lstm', outputs: 'all', loss: 'ce', input: 'onehot', layers: 2, hidden: 8 },
    { cell: 'lstm', outputs: 'last', loss: 'mse', input: 'dense', layers: 1, hidden: 12 },
    { cell: 'rnn', outputs: 'last', loss: 'ce', input: 'dense', layers: 2, hidden: 16 },
    { cell: 'gru', outputs: 'all', loss: 'mse', input: 'dense', layers: 2, hidden: 8 },
  ] as const) {
    const kc: KernelCase = {
      cfg: { cell: c.cell, inputSize: IN, hidden: c.hidden, layers: c.layers, outputSize: 5, recurrence: 'hidden', outputs: c.outputs },
      loss: c.loss, input: c.input, seqLen: T, shardSize: B, variableLengths: true,
    };
    const k = modelsOnKernels(kc, ['ts', 'wasm'], { seed: 8, lengths: LENGTHS });
    const { plan, views } = k;
    const scale = 1 / (c.outputs === 'all' ? 19 : B);
    const run = (rank: number): number => lossAndGradients(k, rank, kc, { gradScale: scale });
    const lossRef = run(0), lossWasm = run(1);
    t.ok(Math.abs(lossRef - lossWasm) <= 1e-5 * Math.abs(lossRef), `${c.cell} ${c.outputs}: loss ${lossWasm} vs ${lossRef}`);
    let scaleG = 0, err = 0;
    for (let i = 0; i < plan.layout.size; i++) {
      scaleG = worse(scaleG, Math.abs(views.grads[0][i]));
      err = worse(err, Math.abs(views.grads[0][i] - views.grads[1][i]));
    }
    t.ok(err <= 1e-4 * scaleG, `${c.cell} ${c.outputs}: gradients within 1e-4·max|g| (${(err / scaleG).toExponential(2)})`);
  }
});
