// The masks of the AWD-LSTM regularisers (SPEC §2): lockedDropout keeps one mask per sequence and
// layer for every step; weightDrop draws one mask of weight_hh per step and layer, the same in
// every worker whatever its shard, and never writes the shared weights. (Their gradients: gradcheck.)
import t from 'tap';
import { Network, type ShardInput } from '../../src/shared/model/network.js';
import { blockView, modelViews, paramLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { Rng } from '../../src/shared/model/rng.js';
import { initParams } from '../../src/shared/model/init.js';

const T = 6, B = 4, H = 8, V = 5;
const cfg: ModelConfig = { cell: 'lstm', inputSize: V, hidden: H, layers: 2, outputSize: V, recurrence: 'hidden', outputs: 'all' };
const STREAM = { seed: 9, step: 7, firstSequence: 0 };

function setup() {
  const layout = paramLayout(cfg);
  const params = new Float64Array(layout.size);
  initParams(cfg, layout, params, 3, { scale: 0.5, forgetBias: 1 });
  const rng = new Rng(4, 1);
  const input: ShardInput = {
    tokens: Int32Array.from({ length: T * B }, () => rng.int(V)),
    inputs: null,
    targetIds: Int32Array.from({ length: T * B }, () => rng.int(V)),
    targetValues: null,
  };
  return { layout, params, pv: modelViews(cfg, layout, params), input };
}

/** A network and the one block it allocated, to read its masks by name. */
function network(batch: number, reg: { lockedDropout?: number; weightDrop?: number; dropout?: number }) {
  let block = new Float64Array(0);
  const net = new Network({ cfg, loss: 'ce', input: 'onehot', batch, seqLen: T, ...reg }, (n) => (block = new Float64Array(n)));
  return { net, tensor: (name: string) => blockView(net.layout, block, name) };
}

/** Row (t, b) of a [T, n, H] mask. */
const row = (mask: Float64Array, t: number, b: number, n: number) => Array.from(mask.subarray((t * n + b) * H, (t * n + b + 1) * H));

t.test('lockedDropout: one mask per sequence and layer, the same at every step', async (t) => {
  const { pv, input } = setup();
  const { net } = network(B, { lockedDropout: 0.5 });
  net.forward(pv, input, B, { teacherForcing: false, gradScale: null, dropout: STREAM });
  for (let k = 0; k < cfg.layers; k++) {
    const mask = net.layers[k].mask as Float64Array;
    for (let b = 0; b < B; b++) {
      for (let t1 = 1; t1 < T; t1++) t.same(row(mask, t1, b, B), row(mask, 0, b, B), `layer ${k}, sequence ${b}: step ${t1} has step 0's mask`);
    }
    const distinct = new Set(Array.from({ length: B }, (_, b) => row(mask, 0, b, B).join())).size;
    t.equal(distinct, B, `layer ${k}: every sequence has its own mask`);
  }
  t.notSame(row(net.layers[0].mask as Float64Array, 0, 0, B), row(net.layers[1].mask as Float64Array, 0, 0, B), 'the layers have their own masks');
  const values = new Set(net.layers[0].mask!);
  t.same([...values].sort(), [0, 2], 'units are dropped (0) or kept with inverted scaling 1/(1 − p)');

  // A worker holding sequences 1..2 of the batch draws exactly their rows: no dependence on the shard.
  const { net: shard } = network(2, { lockedDropout: 0.5 });
  shard.forward(pv, input, 2, { teacherForcing: false, gradScale: null, dropout: { ...STREAM, firstSequence: 1 } });
  for (let b = 0; b < 2; b++) t.same(row(shard.layers[0].mask as Float64Array, 3, b, 2), row(net.layers[0].mask as Float64Array, 3, b + 1, B), `shard row ${b} = batch row ${b + 1}`);

  // Plain dropout with the same p and stream draws a new mask at each step.
  const { net: plain } = network(B, { dropout: 0.5 });
  plain.forward(pv, input, B, { teacherForcing: false, gradScale: null, dropout: STREAM });
  t.notSame(row(plain.layers[0].mask as Float64Array, 1, 0, B), row(plain.layers[0].mask as Float64Array, 0, 0, B), 'dropout (unlocked): another mask at the next step');
});

t.test('weightDrop: one mask of weight_hh per step and layer, the same in every worker', async (t) => {
  const { pv, input, params } = setup();
  const whole = network(B, { weightDrop: 0.4 });
  const before = Float64Array.from(params);
  const plainLoss = whole.net.forward(pv, input, B, { teacherForcing: false, gradScale: null });
  const droppedLoss = whole.net.forward(pv, input, B, { teacherForcing: false, gradScale: null, dropout: STREAM });
  t.not(droppedLoss, plainLoss, 'a training pass drops recurrent weights');
  t.same(params, before, 'the shared weights are never written');
  const mask0 = Array.from(whole.tensor('layers.0.weightDropMask'));
  const mask1 = Array.from(whole.tensor('layers.1.weightDropMask'));
  const GH = 4 * H;
  t.equal(mask0.length, GH * H, 'a mask entry per weight_hh entry');
  const kept = mask0.filter((m) => m !== 0).length;
  t.ok(kept > 0.45 * GH * H && kept < 0.75 * GH * H, `${kept} of ${GH * H} weights kept at p = 0.4`);
  t.ok(mask0.every((m) => m === 0 || Math.abs(m - 1 / 0.6) < 1e-15), 'kept weights scaled by 1/(1 − p)');
  t.notSame(mask1, mask0, 'each layer has its own mask');
  const masked = whole.tensor('layers.0.droppedWeightHh');
  const u = pv.layers[0].wRec;
  t.ok(Array.from(masked).every((w, i) => w === u[i] * mask0[i]), 'the cell reads weight_hh ⊙ mask');

  // Another worker: a shard of 1 sequence starting at sequence 3 draws the same masks.
  const other = network(1, { weightDrop: 0.4 });
  other.net.forward(pv, input, 1, { teacherForcing: false, gradScale: null, dropout: { ...STREAM, firstSequence: 3 } });
  t.same(Array.from(other.tensor('layers.0.weightDropMask')), mask0, 'layer 0: the same mask in a worker with another shard');
  t.same(Array.from(other.tensor('layers.1.weightDropMask')), mask1, 'layer 1: the same mask in a worker with another shard');

  whole.net.forward(pv, input, B, { teacherForcing: false, gradScale: null, dropout: { ...STREAM, step: STREAM.step + 1 } });
  t.notSame(Array.from(whole.tensor('layers.0.weightDropMask')), mask0, 'the next step: another mask');
  t.equal(whole.net.forward(pv, input, B, { teacherForcing: false, gradScale: null }), plainLoss, 'evaluation (no stream): the model without weightDrop, bit for bit');
});

t.test('lockedDropout with dropout, or weightDrop with output recurrence, is refused', async (t) => {
  t.throws(() => network(B, { dropout: 0.2, lockedDropout: 0.3 }), /give one of them/);
  t.throws(() => new Network({ cfg: { ...cfg, layers: 1, recurrence: 'output' }, loss: 'ce', input: 'onehot', batch: B, seqLen: T, weightDrop: 0.3 }, (n) => new Float64Array(n)), /hidden recurrence/);
});
