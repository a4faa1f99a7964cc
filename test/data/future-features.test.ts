// Known future covariates (SPEC §4 `data.futureFeatures`): step t of a window reads its features
// at row t and the futureFeatures at row t+1 (so the forecast of row s+T sees row s+T's), in
// training batches and in prediction, where the rows to forecast are in the file with only those
// cells; recursive forecasts read them row by row; misuse is a one-line error naming the key.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { BatchArrays } from '../../src/main/data/dataset.js';
import { loadDataset } from '../../src/main/data/load.js';
import type { SeriesDataset } from '../../src/main/data/series.js';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { loadModel } from '../../src/main/inference/predict.js';
import { train } from '../../src/main/training/trainer.js';
import { expectKeyedInputError } from '../helpers/input-error.js';

const EXP = 'exp.yaml';

function load(dir: string, csv: string, keys: Record<string, unknown>): SeriesDataset {
  writeFileSync(join(dir, 'data.csv'), csv);
  const exp = parseExperiment({ data: { task: 'series', path: 'data.csv', seqLen: 3, normalize: 'none', ...keys }, model: { cell: 'lstm', hidden: 2 } }, EXP, dir);
  return loadDataset(exp.data, 1, EXP, { outputs: 'last' }) as SeriesDataset;
}

/** v = row, k = 100 + row: every value names its row. */
const ROWS = 'v,k\n' + Array.from({ length: 20 }, (_, i) => `${i},${100 + i}`).join('\n') + '\n';

t.test('training windows: features at row t, futureFeatures at row t+1', async (t) => {
  const dir = t.testdir();
  const d = load(dir, ROWS, { features: ['v'], futureFeatures: ['k'], valFraction: 0.25 });
  t.same([d.inputSize, d.outputSize], [2, 1], 'inputs: the features, then the futureFeatures');
  t.same(d.meta.futureFeatures, ['k']);
  t.same(d.meta.targets, ['v'], 'targets default to the features, never the futureFeatures');
  const out: BatchArrays = { tokens: new Int32Array(0), inputs: new Float32Array(12), targetIds: new Int32Array(0), targetValues: new Float32Array(2) };
  d.fill('train', [0, 5], 0, 2, 'last', out);
  // Window 0: steps read (v0, k1), (v1, k2), (v2, k3) and forecast v3; window 5 likewise from row 5.
  t.same(Array.from(out.inputs), [0, 101, 5, 106, 1, 102, 6, 107, 2, 103, 7, 108]);
  t.same(Array.from(out.targetValues), [3, 8]);
  const defaults = load(dir, ROWS, { futureFeatures: ['k'] });
  t.same(defaults.meta.features, ['v'], 'default features leave the futureFeatures out');
});

t.test('the rules: a future feature is not also a feature or a target, and exists', async (t) => {
  const dir = t.testdir();
  expectKeyedInputError(t, () => load(dir, ROWS, { features: ['v', 'k'], futureFeatures: ['k'] }), EXP, 'data.futureFeatures[0]', /"k" is also in data\.features/);
  expectKeyedInputError(t, () => load(dir, ROWS, { features: ['v'], targets: ['k'], futureFeatures: ['k'] }), EXP, 'data.futureFeatures[0]', /"k" is also in data\.targets/);
  expectKeyedInputError(t, () => load(dir, ROWS, { futureFeatures: ['kk'] }), EXP, 'data.futureFeatures[0]', /no column "kk"/);
  expectKeyedInputError(t, () => parseExperiment({ data: { task: 'text', path: 'x', seqLen: 2, futureFeatures: ['k'] }, model: { cell: 'lstm', hidden: 2 } }, EXP, dir),
    EXP, 'data.futureFeatures', /only for task 'series'/);
});

t.test('prediction: the rows to forecast carry only the futureFeatures; recursive steps read them', async (t) => {
  const dir = t.testdir();
  // A weekly pattern the model can only know from the calendar column `weekend`.
  const days = 120, rows = Array.from({ length: days }, (_, i) => ({ day: i, weekend: i % 7 >= 5 ? 1 : 0, sales: i % 7 >= 5 ? 30 : 10 }));
  writeFileSync(join(dir, 'sales.csv'), 'day,weekend,sales\n' + rows.map((r) => `${r.day},${r.weekend},${r.sales}`).join('\n') + '\n');
  const exp = parseExperiment({
    seed: 2, data: { task: 'series', path: 'sales.csv', time: 'day', features: ['sales'], futureFeatures: ['weekend'], seqLen: 3, valFraction: 0.2 },
    model: { cell: 'lstm', hidden: 8 }, train: { batch: 16, steps: 150, workers: 1, kernels: 'ts', optimizer: { name: 'adam', lr: 0.02 } },
    output: { dir: join(dir, 'run') },
  }, EXP, dir);
  const result = await train(exp, { file: EXP });
  const model = await loadModel(result.checkpoint, { kernels: 'ts' });
  const history = rows.slice(0, 100);
  // Days 100..106 ahead: 100 is a Tuesday-like 2 (100 % 7 = 2): weekend at 103, 104.
  const ahead = Array.from({ length: 7 }, (_, k) => ({ day: 100 + k, weekend: (100 + k) % 7 >= 5 ? 1 : 0, sales: null }));
  const next = model.forecast([...history, ahead[0]!]);
  t.equal(next.length, 1);
  t.equal(next[0]!.time, '99', 'the forecast made after the last observed row');
  t.ok(Math.abs(next[0]!.values['sales_t+1']! - 10) < 3, `weekday forecast ${next[0]!.values['sales_t+1']}`);
  const flipped = model.forecast([...history, { ...ahead[0]!, weekend: 1 }]);
  t.ok(flipped[0]!.values['sales_t+1']! > next[0]!.values['sales_t+1']! + 5, `the next row's covariate is read: weekend ${flipped[0]!.values['sales_t+1']}`);
  t.same(model.forecast(history).map((f) => f.time), ['98'], 'without a row ahead the last forecast is the one its last window can make');

  const week = model.forecast([...history, ...ahead], { steps: 7 });
  t.same(week.map((f) => f.time), ['100', '101', '102', '103', '104', '105', '106'], 'each forecast row dated by the file');
  const weekend = week.map((f) => f.values.sales! > 20);
  t.same(weekend, ahead.map((a) => a.weekend === 1), `weekend peaks from the calendar: ${week.map((f) => f.values.sales!.toFixed(1)).join(' ')}`);
  t.throws(() => model.forecast([...history, ...ahead.slice(0, 2)], { steps: 3 }), /^rows: steps: the series has 2 rows after its last observed one; forecasting 3 needs the futureFeatures \(weekend\)/);
});

t.test('the shipped forecasting experiments load as documented', async (t) => {
  const { loadExperiment } = await import('../../src/main/experiment/experiment.js');
  const { REPO_ROOT } = await import('../helpers/cli.js');
  const load = (name: string) => loadExperiment(join(REPO_ROOT, 'experiments', `${name}.yaml`));
  const calendar = load('seattle-calendar');
  t.same(calendar.data.task === 'series' && calendar.data.futureFeatures, ['day_sin', 'day_cos']);
  t.same(load('seattle-interval').train.quantiles, [0.05, 0.5, 0.95]);
  const recursive = load('co2-recursive'), direct = load('co2-direct');
  t.same([recursive.data.task === 'series' && recursive.data.horizon, direct.data.task === 'series' && direct.data.horizon], [1, 12]);
  t.same({ ...recursive.data, horizon: 12 }, direct.data, 'the direct model differs only in its horizon');
});
