// Finite-difference gradient checks in float64: every cell × topology (hidden/all, hidden/last,
// output/all with and without teacher forcing, output/last) × loss, and stacked layers; and
// bidirectional layers over variable-length sequences.
// Proves the hand-written BPTT is the exact gradient of the loss the forward pass computes.
import t from 'tap';
import { Network, type ShardInput } from '../../src/shared/model/network.js';
import { isEmbeddingTensor, modelViews, paramLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig, LossKind } from '../../src/shared/model/model-config.js';
import { Rng } from '../../src/shared/model/rng.js';
import { initParams } from '../../src/shared/model/init.js';
import { worse } from '../helpers/max-error.js';

interface Case {
  cell: ModelConfig['cell'];
  recurrence: 'hidden' | 'output';
  outputs: 'all' | 'last';
  loss: LossKind;
  input: 'onehot' | 'dense';
  layers: number;
  teacherForcing: boolean;
  /** Dropout probability; its masks are fixed by the stream below, the same in every pass. */
  dropout?: number;
  /** Embedding keys of the model (token embedding, tied head, categorical columns), over the defaults below. */
  model?: Partial<ModelConfig>;
  /** Variable lengths, longest first. */
  lengths?: number[];
  /** Variational dropout (one mask per sequence and layer, every step), fixed by the same stream. */
  lockedDropout?: number;
  /** DropConnect on weight_hh (one mask per step), fixed by the same stream. */
  weightDrop?: number;
}

const DROPOUT_STREAM = { seed: 5, step: 3, firstSequence: 2 };

const T = 5, B = 3, H = 4, IN = 5, OUT = 3;
/** The quantile loss's levels: O = 3 outputs are the three quantiles of one target value. */
const QUANTILES = [0.1, 0.5, 0.9];

function makeInput(c: Case, rng: Rng): ShardInput {
  const rows = c.outputs === 'all' ? T * B : B;
  const O = c.model?.outputSize ?? OUT;
  const statics = c.model?.categorical ?? [];
  return {
    categories: statics.length ? Int32Array.from({ length: B * statics.length }, (_, k) => rng.int(statics[k % statics.length].levels)) : null,
    lengths: c.lengths ? Int32Array.from(c.lengths) : null,
    tokens: c.input === 'onehot' ? Int32Array.from({ length: T * B }, () => rng.int(IN)) : null,
    inputs: c.input === 'dense' ? Float64Array.from({ length: T * B * IN }, () => rng.normal()) : null,
    targetIds: c.loss === 'ce' ? Int32Array.from({ length: rows }, () => rng.int(O)) : null,
    targetValues: c.loss === 'ce' ? null : Float64Array.from({ length: c.loss === 'quantile' ? (rows * O) / QUANTILES.length : rows * O }, () => rng.normal()),
  };
}

/**
 * Max relative error between analytic and central-difference gradients over every parameter, and
 * the tensors whose gradient is zero everywhere (a parameter left out of both passes would
 * otherwise agree with its finite difference: 0 = 0).
 */
function check(c: Case): { maxRel: number; params: number; zeroTensors: string[] } {
  const cfg: ModelConfig = { cell: c.cell, inputSize: IN, hidden: H, layers: c.layers, outputSize: OUT, recurrence: c.recurrence, outputs: c.outputs, ...c.model };
  const layout = paramLayout(cfg);
  const params = new Float64Array(layout.size);
  initParams(cfg, layout, params, 7, { scale: 0.6, forgetBias: 0.5 });
  // Embedding rows start N(0, 1) (nn.Embedding); scaled down so the cells are not saturated.
  for (const tensor of layout.tensors) if (isEmbeddingTensor(tensor.name)) for (let k = 0; k < tensor.size; k++) params[tensor.offset + k] *= 0.5;
  const grads = new Float64Array(layout.size);
  const pv = modelViews(cfg, layout, params), gv = modelViews(cfg, layout, grads);
  const quantiles = c.loss === 'quantile' ? QUANTILES : null;
  const net = new Network(
    { cfg, loss: c.loss, input: c.input, batch: B, seqLen: T, dropout: c.dropout, lockedDropout: c.lockedDropout, weightDrop: c.weightDrop, quantiles },
    (n) => new Float64Array(n),
  );
  const dropout = c.dropout || c.lockedDropout || c.weightDrop ? DROPOUT_STREAM : null;
  const input = makeInput(c, new Rng(11, 3));
  const rows = c.outputs === 'all' ? T * B : B;
  const scale = 1 / rows;
  const loss = () => net.forward(pv, input, B, { teacherForcing: c.teacherForcing, gradScale: null, dropout }) * scale;

  // A pass over another batch first, as in training, so a buffer the real pass fails to
  // overwrite holds stale numbers rather than the zeros of a fresh allocation.
  net.forward(pv, makeInput(c, new Rng(12, 3)), B, { teacherForcing: c.teacherForcing, gradScale: scale, dropout });
  net.backward(pv, gv, makeInput(c, new Rng(12, 3)), B, c.teacherForcing);
  grads.fill(0);
  net.forward(pv, input, B, { teacherForcing: c.teacherForcing, gradScale: scale, dropout });
  net.backward(pv, gv, input, B, c.teacherForcing);

  // Five-point central difference: truncation error O(h⁴) lets h be large enough that
  // float64 round-off in the loss (~1e-16/h) stays far below the 1e-6 tolerance.
  const h = 1e-3;
  const lossAt = (k: number, saved: number, delta: number): number => {
    params[k] = saved + delta;
    return loss();
  };
  let maxRel = 0, checked = 0;
  const zeroTensors: string[] = [];
  for (const tensor of layout.tensors) {
    let largest = 0;
    for (let k = tensor.offset; k < tensor.offset + tensor.size; k++) {
      const saved = params[k];
      const numeric = (8 * (lossAt(k, saved, h) - lossAt(k, saved, -h)) - (lossAt(k, saved, 2 * h) - lossAt(k, saved, -2 * h))) / (12 * h);
      params[k] = saved;
      const analytic = grads[k];
      const rel = Math.abs(numeric - analytic) / Math.max(Math.abs(numeric), Math.abs(analytic), 1e-6);
      maxRel = worse(maxRel, rel);
      largest = worse(largest, Math.abs(analytic));
      checked++;
    }
    if (!(largest > 0)) zeroTensors.push(tensor.name);
  }
  return { maxRel, params: checked, zeroTensors };
}

const cases: Case[] = [];
for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  for (const loss of ['ce', 'mse'] as const) {
    const input = loss === 'ce' ? 'onehot' : 'dense';
    cases.push({ cell, loss, input, recurrence: 'hidden', outputs: 'all', layers: 1, teacherForcing: false });
    cases.push({ cell, loss, input, recurrence: 'hidden', outputs: 'last', layers: 1, teacherForcing: false });
    cases.push({ cell, loss, input, recurrence: 'output', outputs: 'all', layers: 1, teacherForcing: false });
    cases.push({ cell, loss, input, recurrence: 'output', outputs: 'all', layers: 1, teacherForcing: true });
    cases.push({ cell, loss, input, recurrence: 'output', outputs: 'last', layers: 1, teacherForcing: false });
    cases.push({ cell, loss, input, recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false });
  }
  // The other input kind, so both input paths meet both losses.
  cases.push({ cell, loss: 'ce', input: 'dense', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false });
  cases.push({ cell, loss: 'mse', input: 'onehot', recurrence: 'hidden', outputs: 'last', layers: 2, teacherForcing: false });
}

// Dropout with a fixed mask: on every layer's output and before the head, every topology.
for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  cases.push({ cell, loss: 'ce', input: 'onehot', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false, dropout: 0.4 });
  cases.push({ cell, loss: 'mse', input: 'dense', recurrence: 'hidden', outputs: 'last', layers: 2, teacherForcing: false, dropout: 0.4 });
  cases.push({ cell, loss: 'ce', input: 'onehot', recurrence: 'output', outputs: 'all', layers: 1, teacherForcing: false, dropout: 0.4 });
  cases.push({ cell, loss: 'mse', input: 'dense', recurrence: 'output', outputs: 'all', layers: 1, teacherForcing: true, dropout: 0.4 });
}

// The pinball loss (hidden recurrence only): every output, the last only, and stacked with dropout.
for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  cases.push({ cell, loss: 'quantile', input: 'dense', recurrence: 'hidden', outputs: 'all', layers: 1, teacherForcing: false });
  cases.push({ cell, loss: 'quantile', input: 'dense', recurrence: 'hidden', outputs: 'last', layers: 2, teacherForcing: false, dropout: 0.4 });
}

// Embeddings: token rows (sparse: only the batch's rows get a gradient, so V > tokens drawn is
// fine, every row is drawn here), the head tied to them, and categorical columns beside dense features.
const STATICS = [{ column: 'store', levels: 3, width: 2 }, { column: 'kind', levels: 4, width: 3 }];
for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  cases.push({ cell, loss: 'ce', input: 'onehot', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false, model: { embedding: 3 } });
  cases.push({ cell, loss: 'ce', input: 'onehot', recurrence: 'hidden', outputs: 'all', layers: 1, teacherForcing: false, model: { embedding: H, tieWeights: true, outputSize: IN } });
  cases.push({ cell, loss: 'mse', input: 'dense', recurrence: 'hidden', outputs: 'last', layers: 2, teacherForcing: false, model: { categorical: STATICS }, lengths: [5, 3, 2] });
  cases.push({ cell, loss: 'ce', input: 'onehot', recurrence: 'hidden', outputs: 'last', layers: 1, teacherForcing: false, model: { embedding: 2 }, lengths: [5, 4, 1], dropout: 0.4 });
}

// The recurrent regularisers with fixed masks: weightDrop (the cell's recurrence and its weight
// gradient through the mask), lockedDropout (one mask for every step), and both together.
for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  cases.push({ cell, loss: 'ce', input: 'onehot', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false, weightDrop: 0.4 });
  cases.push({ cell, loss: 'ce', input: 'onehot', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false, lockedDropout: 0.4 });
  cases.push({ cell, loss: 'mse', input: 'dense', recurrence: 'hidden', outputs: 'last', layers: 2, teacherForcing: false, lockedDropout: 0.3, weightDrop: 0.5 });
  cases.push({ cell, loss: 'mse', input: 'dense', recurrence: 'output', outputs: 'all', layers: 1, teacherForcing: false, lockedDropout: 0.4 });
}

// Bidirectional, 2 layers, sequences of their own lengths (the reverse direction starts at each
// one's own last step): every output, the last only; with dropout (and lockedDropout) on the
// 2H-wide outputs; under token embeddings (both directions' input gradients reach the same rows).
const bidirectional = { bidirectional: true };
for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  const layers = 2, recurrence = 'hidden', teacherForcing = false;
  cases.push({ cell, loss: 'mse', input: 'dense', recurrence, outputs: 'all', layers, teacherForcing, model: bidirectional, lengths: [5, 3, 2] });
  cases.push({ cell, loss: 'ce', input: 'onehot', recurrence, outputs: 'last', layers, teacherForcing, model: bidirectional, lengths: [5, 4, 1] });
}
cases.push({ cell: 'lstm', loss: 'ce', input: 'onehot', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false, dropout: 0.4, model: bidirectional, lengths: [4, 4, 2] });
cases.push({ cell: 'gru', loss: 'mse', input: 'dense', recurrence: 'hidden', outputs: 'last', layers: 2, teacherForcing: false, model: bidirectional });
cases.push({ cell: 'lstm', loss: 'ce', input: 'onehot', recurrence: 'hidden', outputs: 'last', layers: 2, teacherForcing: false, model: { ...bidirectional, embedding: 3 }, lengths: [5, 2, 2] });
cases.push({ cell: 'gru', loss: 'mse', input: 'dense', recurrence: 'hidden', outputs: 'last', layers: 1, teacherForcing: false, model: { ...bidirectional, categorical: STATICS }, lengths: [5, 3, 2] });
cases.push({ cell: 'rnn', loss: 'mse', input: 'dense', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false, lockedDropout: 0.4, model: bidirectional, lengths: [5, 5, 3] });

t.equal(cases.length, 95, '3 cells × 2 losses × 6 topologies, 2 cross cases, 4 dropout cases, 2 quantile cases, 4 embedding cases, 4 regulariser cases and 2 bidirectional cases per cell; 5 more bidirectional');

for (const c of cases) {
  const extras = [c.model ? JSON.stringify(c.model) : '', c.lengths ? `lengths=${c.lengths}` : ''].filter(Boolean).join(' ');
  const name = `${c.cell} ${c.recurrence}/${c.outputs} ${c.loss} ${c.input} layers=${c.layers}${c.teacherForcing ? ' teacher-forcing' : ''}${c.dropout ? ` dropout=${c.dropout}` : ''}${c.lockedDropout ? ` lockedDropout=${c.lockedDropout}` : ''}${c.weightDrop ? ` weightDrop=${c.weightDrop}` : ''}${extras ? ` ${extras}` : ''}`;
  t.test(name, async (t) => {
    const { maxRel, params, zeroTensors } = check(c);
    t.ok(params > 50, `checked all ${params} parameters`);
    t.same(zeroTensors, [], 'every tensor has a nonzero gradient somewhere');
    t.ok(maxRel < 1e-6, `max relative error ${maxRel.toExponential(2)} < 1e-6`);
  });
}

t.test('the check detects a wrong gradient', async (t) => {
  // Guard against a check that cannot fail: break one backward product and expect a large error.
  const c: Case = { cell: 'lstm', loss: 'ce', input: 'onehot', recurrence: 'hidden', outputs: 'all', layers: 1, teacherForcing: false };
  const original = Network.prototype.backward;
  Network.prototype.backward = function (this: Network<Float64Array>, p, g, input, b, tf) {
    original.call(this, p, g, input, b, tf);
    g.layers[0].wRec[0] *= 1.01;
  };
  try {
    t.ok(check(c).maxRel > 1e-3, 'a 1% error in one weight gradient is caught');
  } finally {
    Network.prototype.backward = original;
  }
});

t.test('dropout changes the loss, and the same stream gives the same masks', async (t) => {
  const cfg: ModelConfig = { cell: 'lstm', inputSize: IN, hidden: H, layers: 2, outputSize: OUT, recurrence: 'hidden', outputs: 'all' };
  const layout = paramLayout(cfg);
  const params = new Float64Array(layout.size);
  initParams(cfg, layout, params, 7, { scale: 0.6, forgetBias: 0.5 });
  const pv = modelViews(cfg, layout, params);
  const input = makeInput({ cell: 'lstm', loss: 'ce', input: 'onehot', recurrence: 'hidden', outputs: 'all', layers: 2, teacherForcing: false }, new Rng(11, 3));
  const net = new Network({ cfg, loss: 'ce', input: 'onehot', batch: B, seqLen: T, dropout: 0.4 }, (n) => new Float64Array(n));
  const plain = new Network({ cfg, loss: 'ce', input: 'onehot', batch: B, seqLen: T }, (n) => new Float64Array(n));
  const pass = (n: Network<Float64Array>, dropout: typeof DROPOUT_STREAM | null) => n.forward(pv, input, B, { teacherForcing: false, gradScale: null, dropout });
  const withoutDropout = pass(plain, null);
  t.equal(pass(net, null), withoutDropout, 'no stream (evaluation): exactly the model without dropout');
  const dropped = pass(net, DROPOUT_STREAM);
  t.not(dropped, withoutDropout, 'a training pass drops units');
  t.equal(pass(net, { ...DROPOUT_STREAM }), dropped, 'the same stream: the same loss, bit for bit');
  t.not(pass(net, { ...DROPOUT_STREAM, step: 4 }), dropped, 'another step: other masks');
  const kept = net.layers[0].mask!.filter((m) => m !== 0).length, total = T * B * H;
  t.ok(kept > 0.4 * total && kept < 0.8 * total, `${kept} of ${total} units kept at p = 0.4`);
});
