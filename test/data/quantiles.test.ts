// The quantile loss (SPEC §4 `train.loss: quantile`): the keys and their defaults, the pinball
// loss by hand at output (k·G + g)·Q + q, quantiles sorted so they never cross, and a series
// model whose outputs are known constants through recur eval (mean pinball loss, the middle
// quantile's errors, coverage), the eval lines, recur predict's columns and the checkpoint.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadCheckpoint, saveCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import { middleQuantile, sortedQuantiles } from '../../src/main/data/quantiles.js';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { evaluateCheckpoint } from '../../src/main/inference/evaluate.js';
import { loadModel } from '../../src/main/inference/predict.js';
import { predictFile } from '../../src/main/inference/predict-file.js';
import type { MetricsLine } from '../../src/main/report/metrics.js';
import { train } from '../../src/main/training/trainer.js';
import { paramLayout, tensorViews } from '../../src/shared/model/layout.js';
import { quantileLoss } from '../../src/shared/model/loss.js';
import { expectKeyedInputError } from '../helpers/input-error.js';

const EXP = 'exp.yaml';
const SQUARES = 'v\n' + Array.from({ length: 10 }, (_, i) => i * i).join('\n') + '\n';
const near = (a: number | undefined, b: number): boolean => a !== undefined && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

t.test('train.loss and train.quantiles: defaults and rules', async (t) => {
  const parse = (trainKeys: Record<string, unknown>, data: Record<string, unknown> = { task: 'series', path: 'x.csv', seqLen: 4 }) =>
    parseExperiment({ data, model: { cell: 'lstm', hidden: 2 }, train: trainKeys }, EXP, '/d');
  const plain = parse({});
  t.equal(plain.train.loss, 'auto');
  t.equal(plain.train.quantiles, null);
  t.same(parse({ loss: 'quantile' }).train.quantiles, [0.1, 0.5, 0.9], 'quantile alone: an 80% interval and the median');
  t.same(parse({ loss: 'quantile', quantiles: [0.05, 0.95] }).train.quantiles, [0.05, 0.95]);
  expectKeyedInputError(t, () => parse({ loss: 'quantile', quantiles: [0.5, 1] }), EXP, 'train.quantiles.1', /quantile level in \(0, 1\), got 1$/);
  expectKeyedInputError(t, () => parse({ loss: 'quantile', quantiles: [0.5, 0.5] }), EXP, 'train.quantiles', /strictly ascending/);
  expectKeyedInputError(t, () => parse({ loss: 'quantile', quantiles: [] }), EXP, 'train.quantiles', /non-empty list/);
  expectKeyedInputError(t, () => parse({ quantiles: [0.1, 0.9] }), EXP, 'train.quantiles', /needs train.loss 'quantile'$/);
  expectKeyedInputError(t, () => parse({ loss: 'quantiles' }), EXP, 'train.loss', /did you mean 'quantile'/);
  expectKeyedInputError(t, () => parse({ loss: 'quantile' }, { task: 'sine', seqLen: 4 }), EXP, 'train.loss', /needs task 'series' or 'sequences', got 'sine'$/);
  const sequences = (target: string) => ({ task: 'sequences', path: 'x.jsonl', target });
  t.same(parse({ loss: 'quantile' }, sequences('value')).train.quantiles, [0.1, 0.5, 0.9], 'value sequences take the quantile loss');
  t.same(parse({ loss: 'quantile' }, sequences('auto')).train.quantiles, [0.1, 0.5, 0.9], 'auto: decided when the data is read');
  expectKeyedInputError(t, () => parse({ loss: 'quantile' }, sequences('class')), EXP, 'train.loss', /needs value targets, got data.target 'class'$/);
});

t.test('the pinball loss by hand: output (k·G + g)·Q + q, its gradient, a tie', async (t) => {
  // One row, two target values (G·h = 2), Q = 2 quantiles [0.2, 0.7]: O = 4.
  const quantiles = [0.2, 0.7];
  const y = Float64Array.from([1, 3, 5, 5]), targets = Float64Array.from([2, 5]), dY = new Float64Array(4);
  const total = quantileLoss(y, 0, targets, 0, 1, 4, quantiles, dY, 0.5);
  // e = 2−1 = 1 (q 0.2): 0.2; e = 2−3 = −1 (q 0.7): 0.3; e = 0 twice: 0.
  t.ok(near(total, (0.2 + 0.3) / 4), `loss ${total} = (0.2 + 0.3) / 4`);
  // Gradient · scale 0.5 / O: −q above, 1 − q below, (1 − 2q) / 2 at a tie.
  t.same(Array.from(dY, (v) => Number(v.toFixed(12))), [-0.2 / 8, 0.3 / 8, 0.3 / 8, -0.2 / 8]);
});

t.test('sorted quantiles never cross; the middle quantile is the one nearest the median', async (t) => {
  const out = sortedQuantiles([9, 3, 1, 2, 6, 4], 0, 2, 3, new Float64Array(6));
  t.same(Array.from(out), [1, 3, 9, 2, 4, 6]);
  t.equal(middleQuantile([0.1, 0.5, 0.9]), 1);
  t.equal(middleQuantile([0.05, 0.4, 0.95]), 1);
  t.equal(middleQuantile([0.25, 0.75]), 0, 'a tie: the lower');
});

/**
 * Trains a quantile model on `data` for 2 steps, checks what its checkpoint and metrics record,
 * then makes it always say 60, 40, 50 for the quantiles 0.1, 0.5, 0.9 (crossed on purpose) and
 * scores it: the validation targets are 49, 64, 81 in both callers.
 */
async function constantQuantileModel(t: Test, dir: string, data: Record<string, unknown>) {
  const exp = parseExperiment({
    seed: 1, data: { ...data, normalize: 'none' },
    model: { cell: 'lstm', hidden: 4 },
    train: { batch: 2, steps: 2, workers: 1, evalEvery: 1, loss: 'quantile', quantiles: [0.1, 0.5, 0.9], optimizer: { name: 'adam', lr: 0.01 } },
    output: { dir: join(dir, 'run') },
  }, join(dir, EXP), dir);
  const result = await train(exp, { file: EXP });
  const ck = loadCheckpoint(result.checkpoint);
  t.same(ck.data?.task === data.task && (ck.data as { quantiles?: number[] }).quantiles, [0.1, 0.5, 0.9], 'the checkpoint records the quantiles');
  t.equal(ck.cfg.outputSize, 3, 'one output per quantile of the one value');
  const metrics = readFileSync(join(result.outDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsLine);
  t.ok(metrics.filter((l) => l.valLoss !== undefined).every((l) => l.valCoverage !== undefined && l.valMse !== undefined), 'eval lines carry valCoverage');
  ck.params.fill(0);
  tensorViews(paramLayout(ck.cfg), ck.params).get('head.bias')!.set([60, 40, 50]);
  saveCheckpoint(result.checkpoint, ck);
  const scores = await evaluateCheckpoint(result.checkpoint, { workers: 1, kernels: 'ts' });
  // Pinball on the raw outputs: 49 → 9.9 + 4.5 + 0.1; 64 → 0.4 + 12 + 12.6; 81 → 2.1 + 20.5 + 27.9; mean of 9.
  t.ok(Math.abs(scores.loss - 10) < 1e-5, `loss ${scores.loss}: the mean pinball loss, 90 / 9`);
  return { result, scores };
}

t.test('a quantile series model: eval, eval lines, predict columns, checkpoint metadata', async (t) => {
  const dir = t.testdir({ 'squares.csv': SQUARES });
  // Validation windows forecast rows 7, 8, 9: 49, 64, 81.
  const { result, scores } = await constantQuantileModel(t, dir, { task: 'series', path: join(dir, 'squares.csv'), seqLen: 2, valFraction: 0.3 });
  // Sorted, the median is 50 and the interval [40, 60]: only 49 lies inside.
  t.ok(near(scores.mse, (1 + 14 ** 2 + 31 ** 2) / 3), `mse ${scores.mse} of the middle quantile`);
  t.ok(near(scores.mae, (1 + 14 + 31) / 3), `mae ${scores.mae}`);
  t.ok(near(scores.coverage, 1 / 3), `coverage ${scores.coverage}`);
  t.ok(near(scores.baselineMse, (13 ** 2 + 15 ** 2 + 17 ** 2) / 3), 'persistence as before');

  const csv = predictFile(result.checkpoint, join(dir, 'squares.csv'), { kernels: 'ts' }).trim().split('\n');
  t.equal(csv[0], 'row,v_t+1_q0.1,v_t+1_q0.5,v_t+1_q0.9', 'one column per quantile');
  t.equal(csv[1], '2,40,50,60', 'sorted: the quantiles never cross');
  const model = await loadModel(result.checkpoint, { kernels: 'ts' });
  t.same(model.forecast([{ v: 1 }, { v: 2 }])[0]!.values, { 'v_t+1_q0.1': 40, 'v_t+1_q0.5': 50, 'v_t+1_q0.9': 60 }, 'Model.forecast: the same keys');
});

t.test('a quantile value-sequences model: eval, predictions one key per quantile, checkpoint metadata', async (t) => {
  const jsonl = (ys: number[]) => ys.map((y, i) => JSON.stringify({ x: [[i, 1], [2, i]], y })).join('\n') + '\n';
  const dir = t.testdir({ 'train.jsonl': jsonl([1, 4, 9, 16, 25, 36]), 'val.jsonl': jsonl([49, 64, 81]) });
  const { result, scores } = await constantQuantileModel(t, dir, { task: 'sequences', path: join(dir, 'train.jsonl'), valPath: join(dir, 'val.jsonl') });
  t.ok(near(scores.mse, (1 + 14 ** 2 + 31 ** 2) / 3), `mse ${scores.mse} of the middle quantile (50 once sorted)`);
  t.ok(near(scores.mae, (1 + 14 + 31) / 3), `mae ${scores.mae}`);
  t.ok(near(scores.coverage, 1 / 3), `coverage ${scores.coverage}: only 49 lies in [40, 60]`);

  const lines = predictFile(result.checkpoint, join(dir, 'val.jsonl'), { kernels: 'ts' }).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(lines[0], { value: 50, 'value_q0.1': 40, 'value_q0.5': 50, 'value_q0.9': 60 }, 'sorted quantiles, one key each; value is the middle one');
  t.equal(lines.length, 3);
});
