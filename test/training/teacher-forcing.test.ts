// train.teacherForcing through the trainer and `recur eval` (SPEC §2): training steps feed the
// true previous target into the output recurrence (loss and gradient are the teacher-forced
// ones); evaluation — the validation loss of a run and `recur eval` — always runs free, feeding
// the model's own previous output, as sampling and prediction do. Checked against recur's
// network in float64 on the very batches the run used.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Network, type ShardInput } from '../../src/shared/model/network.js';
import { modelViews, paramLayout } from '../../src/shared/model/layout.js';
import { initParams } from '../../src/shared/model/init.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import { loadDataset } from '../../src/main/data/load.js';
import type { Split } from '../../src/main/data/dataset.js';
import { readMetrics, runRecur, tempDir } from '../helpers/cli.js';
import { updateError } from '../helpers/golden.js';
import { relativeError } from '../helpers/max-error.js';

const SEED = 3, T = 6, TRAIN = 8, VAL = 4, LR = 0.1;
const cfg: ModelConfig = { cell: 'lstm', inputSize: 1, hidden: 5, layers: 1, outputSize: 1, recurrence: 'output', outputs: 'all' };

/** A whole split of the run's sine data as one float64 shard. */
function split(which: Split): { input: ShardInput; n: number } {
  const dataset = loadDataset({ task: 'sine', seqLen: T, trainSize: TRAIN, valSize: VAL }, SEED, 'sine');
  const n = dataset.size(which);
  const out = { tokens: new Int32Array(0), targetIds: new Int32Array(0), inputs: new Float32Array(T * n), targetValues: new Float32Array(T * n) };
  dataset.fill(which, Int32Array.from({ length: n }, (_, i) => i), 0, n, 'all', out);
  return { input: { tokens: null, inputs: Float64Array.from(out.inputs), targetIds: null, targetValues: Float64Array.from(out.targetValues) }, n };
}

/** Mean loss of `params` on a split, teacher-forced or free-running; with `grads`, its gradient too. */
function meanLoss(params: Float64Array, which: Split, teacherForcing: boolean, grads?: Float64Array): number {
  const layout = paramLayout(cfg);
  const { input, n } = split(which);
  const net = new Network({ cfg, loss: 'mse', input: 'dense', batch: n, seqLen: T }, (k): Float64Array => new Float64Array(k));
  const sum = net.forward(modelViews(cfg, layout, params), input, n, { teacherForcing, gradScale: grads ? 1 / (T * n) : null });
  if (grads) net.backward(modelViews(cfg, layout, params), modelViews(cfg, layout, grads), input, n, teacherForcing);
  return sum / (T * n);
}

t.test('teacher forcing trains on the true previous targets; validation and recur eval run free', async (t) => {
  const dir = tempDir(t);
  const layout = paramLayout(cfg);
  const initial = new Float32Array(layout.size);
  initParams(cfg, layout, initial, 5, { scale: 0.5, forgetBias: 1 });
  saveCheckpoint(join(dir, 'init.safetensors'), { cfg, params: initial, optim: new Map() });
  writeFileSync(join(dir, 'tf.json'), JSON.stringify({
    seed: SEED,
    data: { task: 'sine', seqLen: T, trainSize: TRAIN, valSize: VAL },
    train: {
      batch: TRAIN, steps: 1, workers: 2, shuffle: false, clip: null, teacherForcing: true, evalEvery: 1, logEvery: 1,
      optimizer: { name: 'sgd', lr: LR }, init: join(dir, 'init.safetensors'),
    },
    output: { dir: join(dir, 'run') },
  }));
  const res = await runRecur(['train', join(dir, 'tf.json')]);
  t.equal(res.code, 0, 'recur train exits 0', { stderr: res.stderr });
  const [line] = readMetrics(join(dir, 'run'));

  // The step: teacher-forced loss and gradient.
  const w0 = Float64Array.from(initial), grads = new Float64Array(layout.size);
  const forced = meanLoss(w0, 'train', true, grads), free = meanLoss(w0, 'train', false);
  t.ok(relativeError(free, forced) > 1e-3, `the two losses differ (teacher-forced ${forced}, free ${free})`);
  t.ok(relativeError(line!.loss, forced) < 1e-5, `step 1 logs the teacher-forced loss ${forced} (got ${line!.loss})`);
  const stepped = loadCheckpoint(join(dir, 'run/checkpoint.safetensors')).params;
  const expected = w0.map((w, k) => w - LR * grads[k]!);
  const { worst } = updateError(initial, stepped, expected);
  t.ok(worst <= 1, `the update is −lr × the teacher-forced gradient (worst ${worst.toFixed(3)} of the allowance)`);

  // Evaluation: free-running, after the step.
  const w1 = Float64Array.from(stepped);
  const valFree = meanLoss(w1, 'val', false), valForced = meanLoss(w1, 'val', true);
  t.ok(relativeError(valFree, valForced) > 1e-3, `on validation too (free ${valFree}, teacher-forced ${valForced})`);
  t.ok(relativeError(line!.valLoss!, valFree) < 1e-5, `valLoss is the free-running loss ${valFree} (got ${line!.valLoss})`);
  const evaluated = await runRecur(['eval', '--checkpoint', join(dir, 'run/checkpoint.safetensors')]);
  t.equal(evaluated.code, 0, 'recur eval exits 0', { stderr: evaluated.stderr });
  const { loss } = JSON.parse(evaluated.stdout) as { loss: number };
  t.ok(relativeError(loss, valFree) < 1e-5, `recur eval gives the free-running loss ${valFree} (got ${loss})`);
  t.ok(relativeError(loss, line!.valLoss!) < 1e-6, 'the same as the run\'s validation loss');
  t.match(readFileSync(join(dir, 'run/config.json'), 'utf8'), /"teacherForcing": true/, 'the run was teacher-forced');
});
