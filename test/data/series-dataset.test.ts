// `data.task: series` through the experiment file and the dataset contract (SPEC §4): the keys
// and their defaults, `delimiter`, batches laid out time-major with every window's inputs and
// targets at the rows asserted, windows that never mix two series, each series split by its
// own time, and `recur train` on a CSV writing a checkpoint.
import t, { type Test } from 'tap';

type Tap = Test;
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchArrays } from '../../src/main/data/dataset.js';
import { loadDataset } from '../../src/main/data/load.js';
import { SeriesDataset } from '../../src/main/data/series.js';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { runRecur, tempDir, writeExperiment } from '../helpers/cli.js';
import { expectKeyedInputError } from '../helpers/input-error.js';

const EXP = 'exp.yaml';

function arrays(size: number): BatchArrays {
  return { tokens: new Int32Array(size), inputs: new Float32Array(size), targetIds: new Int32Array(size), targetValues: new Float32Array(size) };
}

/** Loads `csv` (written to a temp file) as a series dataset with the given data keys. */
function load(t: Tap, csv: string, keys: Record<string, unknown>, outputs: 'all' | 'last' = 'last'): SeriesDataset {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'data.csv'), csv);
  const exp = parseExperiment({ data: { task: 'series', path: 'data.csv', seqLen: 3, ...keys }, model: { cell: 'lstm', hidden: 2 } }, EXP, dir);
  const dataset = loadDataset(exp.data, 1, EXP, { outputs });
  t.ok(dataset instanceof SeriesDataset);
  return dataset as SeriesDataset;
}

/** The first model row of every window of a split. */
const starts = (d: SeriesDataset, split: 'train' | 'val'): number[] => Array.from({ length: d.size(split) }, (_, i) => d.window(split, i).start);

t.test('the experiment file: series keys, their defaults, and only for task series', async (t) => {
  const exp = parseExperiment({ data: { task: 'series', path: 'x.csv', seqLen: 4 }, model: { cell: 'lstm', hidden: 2 } }, EXP, '/d');
  t.equal(exp.model!.outputs, 'last', "a series model predicts after the window by default");
  const text = parseExperiment({ data: { task: 'text', path: 'x.txt', seqLen: 4 }, model: { cell: 'lstm', hidden: 2 } }, EXP, '/d');
  t.notOk('horizon' in text.data || 'normalize' in text.data, 'a text config lists no series key');
  const bad = (data: Record<string, unknown>) => () => parseExperiment({ data: { task: 'series', path: 'x.csv', seqLen: 4, ...data }, model: { cell: 'lstm', hidden: 2 } }, EXP, '/d');
  expectKeyedInputError(t, bad({ horizon: 0 }), EXP, 'data.horizon', /expected a positive integer, got 0/);
  expectKeyedInputError(t, bad({ stride: -1 }), EXP, 'data.stride', /expected a positive integer, got -1/);
  expectKeyedInputError(t, bad({ delimiter: ';;' }), EXP, 'data.delimiter', /expected one character/);
  expectKeyedInputError(t, bad({ normalize: 'zscor' }), EXP, 'data.normalize', /did you mean 'zscore'/);
  expectKeyedInputError(t, bad({ path: undefined }), EXP, 'data.path', /required for task 'series'/);
  expectKeyedInputError(t, () => parseExperiment({ data: { task: 'text', path: 'x.txt', seqLen: 4, horizon: 2 }, model: { cell: 'lstm', hidden: 2 } }, EXP, '/d'),
    EXP, 'data.horizon', /only for task 'series', got 'text'/);
});

t.test('delimiter reaches the CSV reader; default features are the numeric columns; defaults zscore, horizon 1', async (t) => {
  const rows = ['day;a;b;note', ...Array.from({ length: 12 }, (_, i) => `${i};${i};${100 + 2 * i};"x; y"`)];
  const d = load(t, rows.join('\r\n') + '\r\n', { delimiter: ';', time: 'day', valFraction: 0.25 });
  t.same(d.meta.features, ['a', 'b'], 'time and the text column are not features');
  t.same(d.meta.targets, ['a', 'b']);
  t.equal(d.meta.delimiter, ';');
  t.equal(d.meta.normalization.kind, 'zscore');
  t.equal(d.meta.horizon, 1);
  t.same([d.inputSize, d.outputSize, d.seqLen, d.loss, d.input], [2, 2, 3, 'mse', 'dense']);
  // zscore from the 9 training rows (0..8) only: mean 4, population std √(60/9).
  t.same(d.meta.normalization.columns.a, { shift: 4, scale: Math.sqrt(60 / 9) });
  t.throws(() => load(t, rows.join('\n'), { valFraction: 0.25 }), /data.csv: line 2: a quote is found on field 0/, 'with the default comma the file does not read');
});

t.test('fill: inputs and targets of each window at the rows asserted, time-major, both outputs', async (t) => {
  // One column v = row index, normalize none, so every value names its row.
  const csv = 'v\n' + Array.from({ length: 20 }, (_, i) => i).join('\n') + '\n';
  const last = load(t, csv, { normalize: 'none', horizon: 2, valFraction: 0.25 });
  t.same(Array.from(starts(last, 'train')), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.same(Array.from(starts(last, 'val')), [12, 13, 14, 15]);
  const out = arrays(64);
  last.fill('val', [0, 3], 0, 2, 'last', out);
  t.same(Array.from(out.inputs.subarray(0, 6)), [12, 15, 13, 16, 14, 17], 'step-major: [t * n + j]');
  t.same(Array.from(out.targetValues.subarray(0, 4)), [15, 16, 18, 19], 'window 12 → rows 15, 16; window 15 → rows 18, 19');
  last.fill('train', [10], 0, 1, 'last', out);
  t.same(Array.from(out.targetValues.subarray(0, 2)), [13, 14], 'the last training window ends its targets at row 14, the last training row');

  const all = load(t, csv, { normalize: 'none', horizon: 2, valFraction: 0.25 }, 'all');
  all.fill('train', [0, 1], 0, 2, 'all', out);
  // Step t of window s: targets rows s+t+1, s+t+2; layout [(t * n + j) * O + k].
  t.same(Array.from(out.targetValues.subarray(0, 12)), [1, 2, 2, 3, 2, 3, 3, 4, 3, 4, 4, 5]);
  for (const split of ['train', 'val'] as const) {
    for (const s of starts(all, split)) {
      const lastTarget = s + 3 - 1 + 2;
      if (split === 'train') t.ok(lastTarget <= 14, `train window ${s}: every target row ≤ 14`);
      else t.ok(s + 1 >= 15 && lastTarget <= 19, `val window ${s}: every target row in 15..19`);
    }
  }
});

t.test('groups: a batch row never mixes two series; each series split by its own time', async (t) => {
  // Series A has 12 rows (values 0..11), B 20 rows (100..119), interleaved and B's rows in reverse file order of time.
  const lines = ['g,t,v'];
  for (let i = 0; i < 20; i++) {
    if (i < 12) lines.push(`A,${i},${i}`);
    lines.push(`B,${i},${100 + i}`);
  }
  const d = load(t, lines.join('\n'), { group: 'g', time: 't', normalize: 'none', valFraction: 0.25 });
  t.same(d.series.map((s) => [s.key, s.length, s.trainRows]), [['A', 12, 9], ['B', 20, 15]], 'the last ⌈0.25·n⌉ rows of each series are its validation rows');
  const out = arrays(4096);
  for (const split of ['train', 'val'] as const) {
    const n = d.size(split), indices = Array.from({ length: n }, (_, i) => i);
    d.fill(split, indices, 0, n, 'last', out);
    for (let j = 0; j < n; j++) {
      const xs = [0, 1, 2].map((step) => out.inputs[step * n + j]!), y = out.targetValues[j]!;
      const base = xs[0]! >= 100 ? 100 : 0, trainRows = base ? 15 : 9;
      t.same([...xs, y], [xs[0]!, xs[0]! + 1, xs[0]! + 2, xs[0]! + 3], `${split} window ${j}: consecutive rows of one series`);
      if (split === 'train') t.ok(y - base < trainRows, `train target row ${y - base} is a training row`);
      else t.ok(y - base >= trainRows, `val target row ${y - base} is a validation row`);
    }
  }
});

t.test('recur train on a CSV: loss falls, the checkpoint records the series experiment', async (t) => {
  const dir = tempDir(t);
  const csv = ['date,temp,wind'];
  for (let i = 0; i < 200; i++) csv.push(`${new Date(Date.UTC(2020, 0, 1 + i)).toISOString().slice(0, 10)},${(10 + 5 * Math.sin(i / 5)).toFixed(3)},${(3 + Math.cos(i / 3)).toFixed(3)}`);
  writeFileSync(join(dir, 'weather.csv'), csv.join('\n') + '\n');
  const file = writeExperiment(dir, 'weather', {
    seed: 1,
    data: { task: 'series', path: 'weather.csv', time: 'date', targets: ['temp'], seqLen: 8, horizon: 2, valFraction: 0.2 },
    model: { cell: 'lstm', hidden: 8 },
    train: { batch: 16, steps: 60, workers: 2, kernels: 'ts', logEvery: 10, evalEvery: 30, optimizer: { name: 'adam', lr: 0.02 } },
  });
  const r = await runRecur(['train', file]);
  t.equal(r.code, 0, r.stderr);
  const metrics = readFileSync(join(dir, 'run-weather', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number; valLoss?: number });
  t.ok(metrics.at(-1)!.loss < metrics[0]!.loss / 2, `loss falls: ${metrics[0]!.loss} → ${metrics.at(-1)!.loss}`);
  t.ok(metrics.some((m) => m.valLoss !== undefined), 'validation lines');
  const ck = readSafetensors(join(dir, 'run-weather', 'checkpoint.safetensors'));
  const config = JSON.parse(ck.metadata.config!) as { inputSize: number; outputSize: number; outputs: string };
  t.same([config.inputSize, config.outputSize, config.outputs], [2, 2, 'last'], 'two features in, one target × horizon 2 out');
});
