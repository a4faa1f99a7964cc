// Many steps ahead, recursively (SPEC §4 `recur predict --steps N`, `model.forecast(rows, { steps })`):
// the forecast rows' times continue each series' own period (numbers by its last step; daily,
// weekly, monthly, yearly dates; irregular refused), and every step equals a one-step forecast
// of the rows with the previous forecasts appended — grouped, differenced and with quantiles.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { continueTimes } from '../../src/main/data/period.js';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { loadModel, type Model } from '../../src/main/inference/predict.js';
import { train } from '../../src/main/training/trainer.js';
import { runRecur } from '../helpers/cli.js';

t.test('forecast rows continue the series\' own period', async (t) => {
  const times = (cells: string[], n = 2) => continueTimes(cells, n);
  t.same(times(['1', '2', '3']), { times: ['4', '5'] }, 'numbers: the last step added');
  t.same(times(['0.1', '0.2', '0.3'], 3), { times: ['0.4', '0.5', '0.6'] }, 'without float noise');
  t.same(times(['2020-02-27', '2020-02-28', '2020-02-29']), { times: ['2020-03-01', '2020-03-02'] }, 'daily, across a leap day');
  t.same(times(['2020-12-17', '2020-12-24', '2020-12-31']), { times: ['2021-01-07', '2021-01-14'] }, 'weekly');
  t.same(times(['2019-11-01', '2019-12-01', '2020-01-01']), { times: ['2020-02-01', '2020-03-01'] }, 'monthly');
  t.same(times(['2020-11-30', '2020-12-30', '2021-01-30']), { times: ['2021-02-28', '2021-03-30'] }, 'monthly on the 30th: February\'s last day');
  t.same(times(['2018-07-01', '2019-07-01', '2020-07-01']), { times: ['2021-07-01', '2022-07-01'] }, 'yearly');
  t.same(times(['Jan 1 2000', 'Feb 1 2000', 'Mar 1 2000']), { times: ['2000-04-01', '2000-05-01'] }, 'other date texts: dates past the end in ISO form');
  const monthsWithAGap = ['2019-01-01', '2019-02-01', '2019-04-01', ...Array.from({ length: 20 }, (_, i) => `${2019 + Math.floor((4 + i) / 12)}-${String(((4 + i) % 12) + 1).padStart(2, '0')}-01`)];
  t.same(times(monthsWithAGap, 1), { times: ['2021-01-01'] }, 'a missing month is a gap, not another period');
  t.match(times(['2020-01-01', '2020-01-03', '2020-01-04', '2020-01-09']), { problem: /no daily, weekly, monthly or yearly period/ }, 'irregular dates: refused');
  t.match(times(['2020-01-01', '2020-01-02', '2020-01-09']), { problem: /no daily/ }, 'the last step must keep the period');
  t.match(times(['2020-01-01']), { problem: /at least two rows/ });
});

/** Two stations' daily readings (numeric days), `temp` trending upward. */
function stations(days: number): Record<string, string | number>[] {
  const rows: Record<string, string | number>[] = [];
  for (let d = 0; d < days; d++) {
    for (const [station, base] of [['north', 5], ['south', 15]] as const) rows.push({ station, day: d, temp: Number((base + 0.3 * d + 2 * Math.sin(d / 3 + base)).toFixed(2)) });
  }
  return rows;
}

async function trainedModel(dir: string, name: string, trainKeys: Record<string, unknown> = {}, dataKeys: Record<string, unknown> = {}): Promise<Model> {
  const rows = stations(40);
  const csv = join(dir, `${name}.csv`);
  writeFileSync(csv, 'station,day,temp\n' + rows.map((r) => `${r.station},${r.day},${r.temp}`).join('\n') + '\n');
  const exp = parseExperiment({
    seed: 3, data: { task: 'series', path: csv, time: 'day', group: 'station', features: ['temp'], seqLen: 5, valFraction: 0.2, difference: true, ...dataKeys },
    model: { cell: 'gru', hidden: 6 },
    train: { batch: 8, steps: 30, workers: 1, kernels: 'ts', optimizer: { name: 'adam', lr: 0.01 }, ...trainKeys },
    output: { dir: join(dir, name) },
  }, join(dir, 'exp.yaml'), dir);
  const result = await train(exp, { file: 'exp.yaml' });
  return loadModel(result.checkpoint, { kernels: 'ts' });
}

/** Step k of a recursive forecast is the one-step forecast after the rows with steps 1..k−1 appended. */
function checkAgainstOneStep(t: Test, model: Model, rows: Record<string, string | number>[], steps: number, column: string, middle: string): void {
  const recursive = model.forecast(rows, { steps });
  t.equal(recursive.length, 2 * steps, 'one row per series and step');
  for (const station of ['north', 'south']) {
    const mine = recursive.filter((f) => f.group === station);
    t.same(mine.map((f) => [f.step, f.time]), Array.from({ length: steps }, (_, k) => [k + 1, String(40 + k)]), `${station}: steps 1..${steps}, days 40..`);
    const history = rows.filter((r) => r.station === station);
    for (let k = 0; k < steps; k++) {
      const one = model.forecast(history)[0]!;
      for (const [key, value] of Object.entries(mine[k]!.values)) {
        const oneKey = key.replace(column, `${column}_t+1`);
        t.ok(Math.abs(value - one.values[oneKey]!) < 1e-3, `${station} step ${k + 1} ${key}: ${value} vs one step ahead ${one.values[oneKey]}`);
      }
      history.push({ station, day: 40 + k, temp: mine[k]!.values[middle]! });
    }
  }
}

t.test('each step is the one-step forecast of the rows with the earlier forecasts appended', async (t) => {
  const dir = t.testdir();
  const model = await trainedModel(dir, 'point');
  t.same(model.recursiveColumns, ['temp']);
  checkAgainstOneStep(t, model, stations(40), 4, 'temp', 'temp');

  // recur predict --steps writes what the API returns.
  const run = await runRecur(['predict', '--checkpoint', join(dir, 'point/checkpoint.safetensors'), '--data', join(dir, 'point.csv'), '--steps', '3']);
  t.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  t.equal(lines[0], 'station,day,step,temp');
  t.equal(lines.length, 1 + 2 * 3);
  const api = model.forecast(stations(40), { steps: 3 });
  t.equal(lines[1], `north,40,1,${Number(api[0]!.values.temp!.toPrecision(7))}`);
  t.equal(lines[4], `south,40,1,${Number(api[3]!.values.temp!.toPrecision(7))}`);
});

t.test('a quantile model: every quantile per row, the middle one fed back, never crossing', async (t) => {
  const dir = t.testdir();
  const model = await trainedModel(dir, 'quantiles', { loss: 'quantile', quantiles: [0.1, 0.5, 0.9] });
  t.same(model.recursiveColumns, ['temp_q0.1', 'temp_q0.5', 'temp_q0.9']);
  checkAgainstOneStep(t, model, stations(40), 3, 'temp', 'temp_q0.5');
  for (const f of model.forecast(stations(40), { steps: 5 })) {
    t.ok(f.values['temp_q0.1']! <= f.values['temp_q0.5']! && f.values['temp_q0.5']! <= f.values['temp_q0.9']!, `${f.group} step ${f.step}: ordered`);
  }
});

t.test('misuse through the API: steps not a positive integer, a horizon-2 model', async (t) => {
  const dir = t.testdir();
  const model = await trainedModel(dir, 'h1');
  t.throws(() => model.forecast(stations(10), { steps: 1.5 }), /^steps: expected a positive integer, got 1.5$/);
  const h2 = await trainedModel(dir, 'h2', {}, { horizon: 2 });
  t.throws(() => h2.forecast(stations(10), { steps: 2 }), /^steps: needs a model trained with horizon 1/);
});
