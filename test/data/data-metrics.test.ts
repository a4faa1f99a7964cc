// Metrics users read (SPEC §5 recur eval, §6 eval lines): accuracy with the majority-class baseline
// for classification, MSE/MAE in the data's own units (levels when differenced) with the
// persistence baseline for series, all checked against hand-computed values on tiny data with a
// model whose output is a known constant; the trainer writes the `data` metadata and the eval
// lines; a sweep ranks by valAccuracy.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadCheckpoint, saveCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import { buildSeries, readSeriesTable } from '../../src/main/data/series.js';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import type { MetricsLine } from '../../src/main/report/metrics.js';
import { evaluateCheckpoint } from '../../src/main/inference/evaluate.js';
import { train } from '../../src/main/training/trainer.js';
import { runSweep } from '../../src/main/sweep/sweep.js';
import { paramLayout, tensorViews } from '../../src/shared/model/layout.js';
import { runRecur } from '../helpers/cli.js';

const SQUARES = 'v\n' + Array.from({ length: 10 }, (_, i) => i * i).join('\n') + '\n';
const lines = (...objects: unknown[]): string => objects.map((o) => JSON.stringify(o)).join('\n') + '\n';

/** Trains `data` for 2 steps in `dir`; returns the checkpoint path and the metrics lines. */
async function trained(dir: string, name: string, data: Record<string, unknown>, workers = 1): Promise<{ checkpoint: string; metrics: MetricsLine[] }> {
  const exp = parseExperiment({
    seed: 1, data, model: { cell: 'lstm', hidden: 4 },
    train: { batch: 2, steps: 2, workers, evalEvery: 1, optimizer: { name: 'adam', lr: 0.01 } },
    output: { dir: join(dir, name) },
  }, join(dir, 'exp.yaml'), dir);
  const result = await train(exp, { file: 'exp.yaml' });
  const metrics = readFileSync(join(result.outDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsLine);
  return { checkpoint: result.checkpoint, metrics };
}

/** Rewrites a checkpoint's model to output the constant `bias` (every weight zero: h stays 0). */
function constantModel(path: string, bias: number[]): void {
  const ck = loadCheckpoint(path);
  ck.params.fill(0);
  tensorViews(paramLayout(ck.cfg), ck.params).get('head.bias')!.set(bias);
  saveCheckpoint(path, ck);
}

const near = (a: number | undefined, b: number): boolean => a !== undefined && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

t.test('series: MSE, MAE and persistence in the data\'s units, by hand', async (t) => {
  const dir = t.testdir({ 'squares.csv': SQUARES });
  const data = { task: 'series', path: join(dir, 'squares.csv'), seqLen: 2, horizon: 1, valFraction: 0.3, normalize: 'none' };
  const run = await trained(dir, 'levels', data);
  // The trainer saved the data metadata, equal to what the CSV gives.
  const opt = { time: null, group: null, features: null, targets: null, seqLen: 2, horizon: 1, stride: 1, valFraction: 0.3, normalize: 'none', missing: 'error', difference: false, outputs: 'last' } as const;
  t.same(loadCheckpoint(run.checkpoint).data, buildSeries(readSeriesTable(SQUARES, 'x', ',', opt), opt, ',', { csv: 'x', experiment: 'y' }).meta, 'the checkpoint carries the data metadata');
  const evals = run.metrics.filter((l) => l.valLoss !== undefined);
  t.equal(evals.length, 2, 'an eval line per step');
  t.ok(evals.every((l) => Number.isFinite(l.valMse) && Number.isFinite(l.valMae) && l.valAccuracy === undefined), 'eval lines carry valMse and valMae');
  const final = await evaluateCheckpoint(run.checkpoint, { workers: 1, kernels: 'wasm' });
  t.ok(near(final.mse, evals[1].valMse!), 'recur eval\'s mse is the last eval line\'s valMse');

  // Rows 0..9 hold 0, 1, 4, …, 81; the last 3 rows are validation: windows forecast rows 7, 8, 9
  // (49, 64, 81) from rows 6, 7, 8 (36, 49, 64). A model that always says 50:
  constantModel(run.checkpoint, [50]);
  const scores = await evaluateCheckpoint(run.checkpoint, { workers: 2 });
  t.ok(near(scores.mse, (1 + 14 ** 2 + 31 ** 2) / 3), `mse ${scores.mse} = (1² + 14² + 31²) / 3`);
  t.ok(near(scores.mae, (1 + 14 + 31) / 3), `mae ${scores.mae}`);
  t.ok(near(scores.baselineMse, (13 ** 2 + 15 ** 2 + 17 ** 2) / 3), `baselineMse ${scores.baselineMse}: the last observed value`);
  t.equal(scores.accuracy, undefined);
  t.equal(scores.bitsPerChar, null);

  // Differenced and z-scored: training changes 1, 3, …, 11 (mean 6); output 0 → +6 on the last level.
  const diff = await trained(dir, 'changes', { ...data, difference: true, normalize: 'zscore' });
  constantModel(diff.checkpoint, [0]);
  const levels = await evaluateCheckpoint(diff.checkpoint, {});
  t.ok(near(levels.mse, (7 ** 2 + 9 ** 2 + 11 ** 2) / 3), `difference: mse ${levels.mse} of levels 42, 55, 70 against 49, 64, 81`);
  t.ok(near(levels.mae, 9));
  t.ok(near(levels.baselineMse, (13 ** 2 + 15 ** 2 + 17 ** 2) / 3));

  // --data: every window of another file, with the checkpoint's statistics: rows 2..9 forecast.
  writeFileSync(join(dir, 'other.csv'), 'v\n' + [0, 0, 10, 20, 30].join('\n') + '\n');
  const other = await evaluateCheckpoint(diff.checkpoint, { data: join(dir, 'other.csv') });
  // Changes 0, 10, 10, 10; windows of 2 changes forecast the 3rd, 4th: levels 10+6, 20+6 vs 20, 30.
  t.ok(near(other.mse, 16) && near(other.baselineMse, 100), `--data: mse ${other.mse}, baseline ${other.baselineMse}`);
});

t.test('classification: accuracy and the majority-class baseline, by hand; recur eval prints them', async (t) => {
  const dir = t.testdir({
    'train.jsonl': lines({ x: [1, 2], y: 'a' }, { x: [3], y: 'a' }, { x: [2, 2, 2], y: 'a' }, { x: [5], y: 'b' }, { x: [0, 1], y: 'c' }),
    'val.jsonl': lines({ x: [1], y: 'b' }, { x: [4, 4], y: 'b' }, { x: [0], y: 'a' }, { x: [9, 9, 9, 9], y: 'c' }),
  });
  const run = await trained(dir, 'cls', { task: 'sequences', path: join(dir, 'train.jsonl'), valPath: join(dir, 'val.jsonl') }, 2);
  t.ok(run.metrics.filter((l) => l.valLoss !== undefined).every((l) => l.valAccuracy !== undefined && l.valMse === undefined), 'eval lines carry valAccuracy');
  t.same(loadCheckpoint(run.checkpoint).data?.task === 'sequences' && loadCheckpoint(run.checkpoint).data, {
    task: 'sequences', features: ['x0'], targets: ['y'], target: 'class', labels: ['a', 'b', 'c'], scalarTarget: false,
    normalization: { kind: 'zscore', columns: { x0: { shift: 2, scale: Math.sqrt(16 / 9) } } },
  }, 'labels in index order and the training statistics (steps 1,2,3,2,2,2,5,0,1: mean 2)');
  constantModel(run.checkpoint, [0, 1, 0]); // always 'b'
  const result = await runRecur(['eval', '--checkpoint', run.checkpoint, '--workers', '2']);
  t.equal(result.code, 0, result.stderr);
  const printed = JSON.parse(result.stdout) as Record<string, number>;
  t.equal(printed.accuracy, 0.5, 'two of the four validation labels are b');
  t.equal(printed.baselineAccuracy, 0.25, 'the training majority, a, is one of four');
  t.equal(printed.tokens, 4);
});

t.test('values: MSE and MAE in the targets\' units, by hand', async (t) => {
  const dir = t.testdir({
    'train.jsonl': lines({ x: [1], y: 1 }, { x: [2, 1], y: 2 }, { x: [0], y: 3 }, { x: [1, 1, 1], y: 6 }),
    'val.jsonl': lines({ x: [5], y: 4 }, { x: [1, 2], y: 0 }),
  });
  const run = await trained(dir, 'values', { task: 'sequences', path: join(dir, 'train.jsonl'), valPath: join(dir, 'val.jsonl') });
  constantModel(run.checkpoint, [0]); // the training mean, 3
  const scores = await evaluateCheckpoint(run.checkpoint, {});
  t.ok(near(scores.mse, (1 + 9) / 2) && near(scores.mae, 2), `mse ${scores.mse}, mae ${scores.mae}`);
  t.equal(scores.baselineMse, undefined);
});

t.test('a sweep ranks by valAccuracy (goal: maximize)', async (t) => {
  const rows = Array.from({ length: 24 }, (_, i) => ({ x: [i % 3, (i * 7) % 5], y: i % 3 === 0 ? 'zero' : 'other' }));
  const dir = t.testdir({ 'seq.jsonl': lines(...rows) });
  writeFileSync(join(dir, 'base.yaml'), `data: { task: sequences, path: seq.jsonl, valFraction: 0.25 }
model: { cell: rnn, hidden: 4 }
train: { batch: 6, steps: 6, workers: 1, evalEvery: 3, optimizer: { name: adam, lr: 0.01 } }
output: { dir: runs }
`);
  writeFileSync(join(dir, 'sweep.yaml'), `base: base.yaml
method: grid
metric: { name: valAccuracy, goal: maximize }
parameters:
  train.optimizer.lr: { values: [0.0001, 0.1] }
`);
  const summary = await runSweep(join(dir, 'sweep.yaml'), { outDir: join(dir, 'out') });
  t.equal(summary.trials.length, 2);
  for (const trial of summary.trials) {
    const metrics = readFileSync(join(dir, 'out', trial.id, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsLine);
    t.equal(trial.metric, metrics.findLast((l) => l.valAccuracy !== undefined)!.valAccuracy, `${trial.id}: the metric is the last valAccuracy`);
  }
  const best = Math.max(...summary.trials.map((r) => r.metric!));
  t.equal(summary.best!.metric, best, 'the best trial has the highest accuracy');
  const table = readFileSync(join(dir, 'out', 'summary.md'), 'utf8');
  t.match(table, /valAccuracy/, 'summary.md names the metric');
});
