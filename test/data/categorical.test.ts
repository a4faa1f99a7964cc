// Categorical series columns (SPEC §4 `data.categorical`, §3 `static.<column>.weight`): each
// column's levels come from the training rows, sorted by code points after `<unk>` at 0, and are
// saved in the checkpoint; every window carries its series' level ids; prediction reads the
// column, maps an unseen level to `<unk>` and refuses a file without it; misuse is one line.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import type { BatchArrays } from '../../src/main/data/dataset.js';
import { loadDataset } from '../../src/main/data/load.js';
import type { SeriesDataset } from '../../src/main/data/series.js';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { loadModel } from '../../src/main/inference/predict.js';
import { resolveRun } from '../../src/main/training/resolve.js';
import { train } from '../../src/main/training/trainer.js';
import { expectKeyedInputError } from '../helpers/input-error.js';

const EXP = 'exp.yaml';

/** Series `s` (its level of `kind` below) of 12 rows; v = 10·series + row. */
function csv(kinds: Record<string, string>): string {
  const lines = ['s,kind,t,v'];
  Object.entries(kinds).forEach(([s, kind], i) => {
    for (let r = 0; r < 12; r++) lines.push(`${s},${kind},${r},${10 * i + r}`);
  });
  return lines.join('\n') + '\n';
}

function experiment(dir: string, text: string, data: Record<string, unknown> = {}, model: Record<string, unknown> = {}) {
  writeFileSync(join(dir, 'data.csv'), text);
  return parseExperiment({
    data: { task: 'series', path: 'data.csv', time: 't', group: 's', categorical: ['kind'], seqLen: 3, normalize: 'none', valFraction: 0.25, ...data },
    model: { cell: 'lstm', hidden: 2, ...model },
  }, EXP, dir);
}

const load = (dir: string, text: string, data: Record<string, unknown> = {}): SeriesDataset =>
  loadDataset(experiment(dir, text, data).data, 1, EXP, { outputs: 'last' }) as SeriesDataset;

t.test('levels from the training rows in code-point order after <unk>; every window carries its series\' ids', async (t) => {
  const dir = t.testdir();
  const d = load(dir, csv({ p: 'été', q: 'B', r: 'a', u: 'B' }));
  t.same(d.meta.categorical, [{ column: 'kind', levels: ['<unk>', 'B', 'a', 'été'] }], 'code points: B < a < é');
  t.same(d.categorical, [{ column: 'kind', levels: 4 }], 'rows: the levels and <unk>');
  t.same(d.meta.features, ['v'], 'default features leave the categorical column out');
  t.same(d.inputSize, 1, 'the model input size stays the features\' count (the embeddings are appended by the network)');
  const out: BatchArrays = { tokens: new Int32Array(0), inputs: new Float32Array(3 * 3), targetIds: new Int32Array(0), targetValues: new Float32Array(3), categories: new Int32Array(3) };
  const perSeries = d.size('train') / 4;
  d.fill('train', [0, perSeries, 2 * perSeries], 0, 3, 'last', out);
  t.same(Array.from(out.categories!), [3, 1, 2], 'series p (été), q (B), r (a)');
  t.same(Array.from(out.inputs.subarray(0, 3)), [0, 10, 20], 'step 0 of each window: its own series\' values');
});

t.test('a categorical column must be constant within a series: the file, line and column named', async (t) => {
  const dir = t.testdir();
  const text = csv({ p: 'x', q: 'y' }).replace('q,y,5,15', 'q,z,5,15');
  expectKeyedInputError(t, () => load(dir, text), join(dir, 'data.csv'), 'line 19, column "kind"', /"z" differs from "y" on line 14 of series "q"; a categorical column \(data.categorical\) must be constant within a series/);
  expectKeyedInputError(t, () => load(dir, csv({ p: 'x', q: 'y' }), { group: null, time: null }), join(dir, 'data.csv'), 'line 14, column "kind"', /"y" differs from "x" on line 2 of the file/);
});

t.test('the rules: the column exists, is not also read as a number, the task is series, the width needs columns', async (t) => {
  const dir = t.testdir();
  const text = csv({ p: 'x', q: 'y' });
  expectKeyedInputError(t, () => load(dir, text, { categorical: ['knd'] }), EXP, 'data.categorical[0]', /no column "knd" in .*data\.csv \(did you mean "kind"\?\)/);
  expectKeyedInputError(t, () => experiment(dir, text, { features: ['v', 'kind'] }), EXP, 'data.categorical.0', /"kind" is also in data\.features/);
  expectKeyedInputError(t, () => experiment(dir, text, { categorical: ['t'] }), EXP, 'data.categorical.0', /"t" is the time column/);
  expectKeyedInputError(t, () => parseExperiment({ data: { task: 'text', path: 'x', seqLen: 2, categorical: ['k'] }, model: { cell: 'lstm', hidden: 2 } }, EXP, dir),
    EXP, 'data.categorical', /only for task 'series'/);
  expectKeyedInputError(t, () => experiment(dir, text, { categorical: undefined }, { categoricalEmbedding: 4 }), EXP, 'model.categoricalEmbedding', /needs data\.categorical/);
  t.ok(experiment(dir, text, { categorical: ['s'] }), 'the group column may be categorical (the series\' own id)');
});

t.test('the embedding width: model.categoricalEmbedding, else min(8, ⌈levels/2⌉) of the training levels', async (t) => {
  const dir = t.testdir();
  const kinds = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`s${i}`, `k${i}`]));
  t.same(resolveRun(experiment(dir, csv({ p: 'x', q: 'y', r: 'z' })), EXP).cfg.categorical, [{ column: 'kind', levels: 4, width: 2 }], '3 levels → 2 (<unk> not counted)');
  t.same(resolveRun(experiment(dir, csv(kinds)), EXP).cfg.categorical, [{ column: 'kind', levels: 21, width: 8 }], '20 levels → 8');
  t.same(resolveRun(experiment(dir, csv(kinds), {}, { categoricalEmbedding: 5 }), EXP).cfg.categorical, [{ column: 'kind', levels: 21, width: 5 }], 'given: 5');
  t.equal(resolveRun(experiment(dir, csv(kinds), { categorical: undefined }), EXP).cfg.categorical, undefined, 'none without data.categorical');
});

t.test('a trained model: level lists in the checkpoint, the column read at prediction, unseen levels as <unk>', async (t) => {
  const dir = t.testdir();
  // Two series with the same values, told apart only by their kind: +1 or −1 per row.
  const lines = ['s,kind,t,v'];
  for (const [s, sign] of [['up', 1], ['down', -1]] as const) for (let r = 0; r < 60; r++) lines.push(`${s},${s},${r},${sign * (r % 6)}`);
  writeFileSync(join(dir, 'data.csv'), lines.join('\n') + '\n');
  const exp = parseExperiment({
    seed: 3, data: { task: 'series', path: 'data.csv', time: 't', group: 's', features: ['v'], categorical: ['kind'], seqLen: 3, valFraction: 0.2 },
    model: { cell: 'lstm', hidden: 6 }, train: { batch: 16, steps: 60, workers: 1, kernels: 'ts', optimizer: { name: 'adam', lr: 0.03 } },
    output: { dir: join(dir, 'run') },
  }, EXP, dir);
  const result = await train(exp, { file: EXP });
  const ck = loadCheckpoint(result.checkpoint);
  t.same(ck.cfg.categorical, [{ column: 'kind', levels: 3, width: 1 }], 'config: the embedding shape');
  t.same(ck.data?.task === 'series' && ck.data.categorical, [{ column: 'kind', levels: ['<unk>', 'down', 'up'] }], 'data: the level list');
  const model = await loadModel(result.checkpoint, { kernels: 'ts' });
  const rows = (kind: string) => [0, 1, 2].map((r) => ({ s: 'x', kind, t: r, v: r }));
  const forecast = (kind: string) => model.forecast(rows(kind))[0]!.values['v_t+1']!;
  t.not(forecast('up'), forecast('down'), 'the level changes the forecast');
  t.equal(forecast('sideways'), forecast('never seen'), 'two unseen levels read the same <unk> row');
  t.not(forecast('sideways'), forecast('up'), '<unk> is its own row');
  t.not(forecast('sideways'), forecast('down'), '<unk> is its own row, not the first level\'s');
  t.throws(() => model.forecast(rows('up').map(({ kind: _, ...rest }) => rest)), /^rows: line 1: no column "kind"; the model .* reads t, s, v, kind/);
});

t.test('the shipped experiment: stocks by symbol, its test split the last 12 months of each company after 13 of context', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { loadExperiment } = await import('../../src/main/experiment/experiment.js');
  const { REPO_ROOT } = await import('../helpers/cli.js');
  const exp = loadExperiment(join(REPO_ROOT, 'experiments', 'stocks-by-symbol.yaml'));
  t.same(exp.data.task === 'series' && [exp.data.group, exp.data.categorical, exp.data.path], ['symbol', ['symbol'], join(REPO_ROOT, 'data', 'stocks-train.csv')]);
  const rows = (name: string) => readFileSync(join(REPO_ROOT, 'data', name), 'utf8').trim().split('\n').slice(1);
  const all = rows('stocks.csv'), train = rows('stocks-train.csv'), test = rows('stocks-test.csv');
  const symbols = [...new Set(all.map((r) => r.split(',')[0]))];
  for (const symbol of symbols) {
    const of = (list: string[]) => list.filter((r) => r.startsWith(`${symbol},`));
    t.same(of(train), of(all).slice(0, -12), `${symbol}: training file = all but the last 12 months`);
    t.same(of(test), of(all).slice(-25), `${symbol}: test file = the last 12 months after 13 of context`);
  }
});

t.test('recursive forecasts (--steps) read each series\' level at every step', async (t) => {
  const dir = t.testdir();
  const lines = ['s,kind,t,v'];
  for (const [s, sign] of [['up', 1], ['down', -1]] as const) for (let r = 0; r < 60; r++) lines.push(`${s},${s},${r},${sign * (r % 4)}`);
  writeFileSync(join(dir, 'data.csv'), lines.join('\n') + '\n');
  const exp = parseExperiment({
    seed: 4, data: { task: 'series', path: 'data.csv', time: 't', group: 's', features: ['v'], categorical: ['kind'], seqLen: 3, valFraction: 0.2 },
    model: { cell: 'lstm', hidden: 6 }, train: { batch: 16, steps: 40, workers: 1, kernels: 'ts', optimizer: { name: 'adam', lr: 0.03 } },
    output: { dir: join(dir, 'run') },
  }, EXP, dir);
  const model = await loadModel((await train(exp, { file: EXP })).checkpoint, { kernels: 'ts' });
  const rows = (kind: string) => [0, 1, 2].map((r) => ({ s: 'x', kind, t: r, v: 1 }));
  const ahead = (kind: string) => model.forecast(rows(kind), { steps: 3 }).map((f) => f.values.v!);
  t.equal(ahead('up').length, 3);
  t.not(ahead('up')[2], ahead('down')[2], 'the third step still reads the level');
  t.same(ahead('never seen'), ahead('unknown too'), 'unseen levels: <unk> at every step');
});
