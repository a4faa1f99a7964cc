// Prediction from a checkpoint alone (SPEC §3, §5): `recur predict` and `loadModel`.
// Series: a model trained through the CLI on a grouped, differenced, z-scored CSV; its forecasts
// in the data's units equal a hand computation — the statistics applied by hand, the float64
// reference network run by hand on each window, the changes unscaled and summed onto the last
// level. Sequences: a hand-made classifier checkpoint; labels and probabilities equal the float64
// network's softmax, sequences of different lengths as if each ran alone; a bidirectional model
// trained through the CLI predicts (CLI and in-process alike) and evaluates. The CLI writes what the
// API returns, and so does examples/predict-server.mjs; bad input exits 2 with one line and writes nothing.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint, saveCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import type { SequencesMeta } from '../../src/main/data/metadata.js';
import { loadModel, type Forecast } from '../../src/main/inference/predict.js';
import { forecastsCsv, predictionsJsonl } from '../../src/main/inference/predict-file.js';
import { initParams } from '../../src/shared/model/init.js';
import { modelViews, paramLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { Network } from '../../src/shared/model/network.js';
import { REPO_ROOT, errorLines, runRecur, tempDir, writeExperiment } from '../helpers/cli.js';

const T = 4, H = 2; // seqLen, horizon

/** Two stations' daily readings, interleaved; `temp` trends upward so differencing matters. */
function stationsCsv(): string {
  const lines = ['station,day,temp,wind'];
  for (let d = 0; d < 40; d++) {
    for (const [s, base] of [['north', 5], ['south', 15]] as const) {
      lines.push(`${s},${d},${(base + 0.3 * d + 2 * Math.sin(d / 3 + base)).toFixed(2)},${(4 + Math.cos(d / 2 + base)).toFixed(2)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Runs the float64 reference network on one window of model inputs [steps · F]; returns y. */
function reference(cfg: ModelConfig, params: Float32Array, inputs: number[], loss: 'mse' | 'ce'): Float64Array {
  const steps = inputs.length / cfg.inputSize;
  const net = new Network({ cfg, loss, input: 'dense', batch: 1, seqLen: steps }, (n): Float64Array => new Float64Array(n));
  net.forward(modelViews(cfg, paramLayout(cfg), Float64Array.from(params)), {
    tokens: null, inputs: Float64Array.from(inputs), targetIds: new Int32Array(steps), targetValues: new Float64Array(steps * cfg.outputSize),
  }, 1, { teacherForcing: false, gradScale: null });
  const row = cfg.outputs === 'last' ? 0 : steps - 1;
  return net.y.slice(row * cfg.outputSize, (row + 1) * cfg.outputSize);
}

t.test('series: recur train, then recur predict and loadModel, against a hand computation', async (t) => {
  const dir = tempDir(t);
  const csv = stationsCsv();
  writeFileSync(join(dir, 'stations.csv'), csv);
  const file = writeExperiment(dir, 'stations', {
    seed: 3,
    data: { task: 'series', path: 'stations.csv', time: 'day', group: 'station', features: ['temp', 'wind'], targets: ['temp'], seqLen: T, horizon: H, valFraction: 0.25, difference: true },
    model: { cell: 'lstm', hidden: 6 },
    train: { batch: 8, steps: 20, workers: 2, kernels: 'ts', logEvery: 10, evalEvery: 20, optimizer: { name: 'adam', lr: 0.02 } },
  });
  const trained = await runRecur(['train', file]);
  t.equal(trained.code, 0, trained.stderr);
  const checkpoint = join(dir, 'run-stations', 'checkpoint.safetensors');
  const ck = loadCheckpoint(checkpoint);
  t.equal(ck.data?.task, 'series', 'the checkpoint carries the data metadata');
  if (ck.data?.task !== 'series') return;
  const stats = ck.data.normalization.columns;

  // The raw CSV by hand: each station's rows, in time order.
  const rows = csv.trim().split('\n').slice(1).map((l) => l.split(','));
  const byStation = new Map<string, { day: string; temp: number; wind: number; line: number }[]>();
  rows.forEach(([s, day, temp, wind], i) => {
    if (!byStation.has(s)) byStation.set(s, []);
    byStation.get(s)!.push({ day, temp: Number(temp), wind: Number(wind), line: i + 1 });
  });

  // Statistics of the training changes, by hand: the first 40 − ⌈0.25·40⌉ − 1 = 29 changes of each station.
  const trainingChanges = [...byStation.values()].flatMap((r) => r.slice(0, 30).map((x, i) => (i === 0 ? NaN : x.temp - r[i - 1].temp)).slice(1));
  const mean = trainingChanges.reduce((a, b) => a + b) / trainingChanges.length;
  const std = Math.sqrt(trainingChanges.reduce((a, b) => a + (b - mean) ** 2, 0) / trainingChanges.length);
  t.ok(Math.abs(stats.temp.shift - mean) < 1e-9 && Math.abs(stats.temp.scale - std) < 1e-9, `temp change statistics from training rows only: ${mean}, ${std}`);

  const model = await loadModel(checkpoint);
  t.same(model.forecastColumns, ['temp_t+1', 'temp_t+2']);
  const forecasts = model.forecastCsv(readFileSync(join(dir, 'stations.csv')), 'stations.csv');
  // One forecast per full window of each station: 40 rows − 1 (difference) − T + 1.
  t.equal(forecasts.length, 2 * (40 - 1 - T + 1));

  let checked = 0, worst = 0;
  for (const f of forecasts) {
    const r = byStation.get(f.group!)!;
    const at = r.findIndex((x) => x.day === f.time);
    t.equal(r[at].line, f.row, 'row: the data row of the last observed reading');
    // Model inputs by hand: the last T changes up to row `at`, each (change − shift) / scale.
    const inputs: number[] = [];
    for (let i = at - T + 1; i <= at; i++) {
      inputs.push((r[i].temp - r[i - 1].temp - stats.temp.shift) / stats.temp.scale, (r[i].wind - r[i - 1].wind - stats.wind.shift) / stats.wind.scale);
    }
    const y = reference(ck.cfg, ck.params, inputs, 'mse');
    const step1 = r[at].temp + (y[0] * stats.temp.scale + stats.temp.shift);
    const step2 = step1 + (y[1] * stats.temp.scale + stats.temp.shift);
    worst = Math.max(worst, Math.abs(f.values['temp_t+1'] - step1), Math.abs(f.values['temp_t+2'] - step2));
    checked++;
  }
  t.equal(checked, forecasts.length, 'every forecast checked');
  t.ok(worst < 1e-4, `forecasts equal the hand computation (float32 network vs float64): max error ${worst}`);

  // recur predict writes what the API returns, to stdout or atomically to --out.
  const printed = await runRecur(['predict', '--checkpoint', checkpoint, '--data', join(dir, 'stations.csv')]);
  t.equal(printed.code, 0, printed.stderr);
  const lines = printed.stdout.trim().split('\n');
  t.equal(lines[0], 'station,day,temp_t+1,temp_t+2', 'columns: group, time, one per target and step');
  t.equal(lines.length, forecasts.length + 1);
  t.equal(printed.stdout, forecastsCsv(model, forecasts), 'loadModel gives what recur predict prints');
  const [station, day, a, b] = lines[1].split(',');
  const first = forecasts[0];
  t.same([station, day], [first.group, first.time]);
  t.ok(Math.abs(Number(a) - first.values['temp_t+1']) < 1e-4 && Math.abs(Number(b) - first.values['temp_t+2']) < 1e-4);
  const out = join(dir, 'forecasts.csv');
  const written = await runRecur(['predict', '--checkpoint', checkpoint, '--data', join(dir, 'stations.csv'), '--out', out]);
  t.equal(written.code, 0, written.stderr);
  t.equal(written.stdout, '', 'nothing on stdout with --out');
  t.equal(readFileSync(out, 'utf8'), printed.stdout);

  // forecast(rows): the latest readings of an app, as objects → one forecast per station, after its last row.
  const recent = rows.slice(-12).map(([s, day, temp, wind]) => ({ station: s, day, temp: Number(temp), wind }));
  const latest = model.forecast(recent);
  const last = (s: string): Forecast => forecasts.filter((f) => f.group === s).at(-1)!;
  t.same(latest.map((f) => [f.group, f.time]), [['north', '39'], ['south', '39']]);
  for (const f of latest) t.same(f.values, last(f.group!).values, `${f.group}: the same forecast as from the whole file`);

  // examples/predict-server.mjs answers a POST with what model.forecast returns.
  const server = spawn(process.execPath, [join(REPO_ROOT, 'examples', 'predict-server.mjs'), checkpoint, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => server.kill());
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    server.stdout!.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      const m = /(http:\/\/\S+)/.exec(text);
      if (m) resolve(m[1]);
    });
    server.on('exit', () => reject(new Error(`the example server exited: ${text}`)));
  });
  const reply = await fetch(url, { method: 'POST', body: JSON.stringify({ rows: recent }) });
  t.equal(reply.status, 200);
  t.same(await reply.json(), { forecasts: JSON.parse(JSON.stringify(latest)) as unknown }, 'the example server answers model.forecast');
  const refused = await fetch(url, { method: 'POST', body: JSON.stringify({ rows: [{ day: 1, temp: 2 }] }) });
  t.equal(refused.status, 400, 'bad rows: 400 with the error line');
  t.match(((await refused.json()) as { error: string }).error, /no column "station"/);

  // The model runs on the kernels it was trained with (train.kernels: ts); asked for wasm, it agrees.
  t.equal(model.kernels, 'ts', 'the checkpoint\'s kernels');
  const wasm = await loadModel(checkpoint, { kernels: 'wasm' });
  t.equal(wasm.kernels, 'wasm', 'the kernels asked for');
  const wasmForecasts = wasm.forecastCsv(readFileSync(join(dir, 'stations.csv')), 'stations.csv');
  t.ok(wasmForecasts.every((f, i) => Math.abs(f.values['temp_t+1'] - forecasts[i].values['temp_t+1']) < 1e-4), 'the TypeScript kernels agree with WebAssembly');

  // Bad input: a column the model reads is missing → exit 2, one line with a did-you-mean, nothing written.
  writeFileSync(join(dir, 'renamed.csv'), csv.replace('temp', 'Temp'));
  const bad = await runRecur(['predict', '--checkpoint', checkpoint, '--data', join(dir, 'renamed.csv'), '--out', join(dir, 'bad.csv')]);
  t.equal(bad.code, 2);
  t.same(errorLines(bad.stderr), [`error: ${join(dir, 'renamed.csv')}: line 1: no column "temp" (did you mean "Temp"?); the model ${checkpoint} reads day, station, temp, wind; the file has station, day, Temp, wind`]);
  t.equal(bad.stderr.trim().split('\n').length, 1, 'one line');
  t.notOk(existsSync(join(dir, 'bad.csv')), 'nothing written');
  t.throws(() => model.forecast(recent.slice(-4)), /series "north" \(station = "north"\) has 2 rows; a window needs seqLen \+ 1 \(difference\) = 5/, 'too few recent rows: bad input');
});

t.test('sequences: labels and probabilities equal the float64 softmax; lengths may differ', async (t) => {
  const dir = tempDir(t);
  const cfg: ModelConfig = { cell: 'gru', inputSize: 2, hidden: 5, layers: 1, outputSize: 3, recurrence: 'hidden', outputs: 'last' };
  const params = new Float32Array(paramLayout(cfg).size);
  initParams(cfg, paramLayout(cfg), params, 7, { scale: 0.8, forgetBias: 1 });
  const meta: SequencesMeta = {
    task: 'sequences', features: ['x0', 'x1'], targets: ['y'], target: 'class', labels: ['down', 'flat', 'up'], scalarTarget: false,
    normalization: { kind: 'zscore', columns: { x0: { shift: 1, scale: 2 }, x1: { shift: -1, scale: 0.5 } } },
  };
  const checkpoint = join(dir, 'classifier.safetensors');
  saveCheckpoint(checkpoint, { cfg, params, optim: new Map(), data: meta });

  const sequences = [
    [[1, 2], [3, -1], [0, 0]],
    [[2, 2]],
    [[0.5, -1], [1, 1], [2, -2], [-3, 0.5], [1, 1]],
    [[4, 0], [1, 2]],
  ];
  const model = await loadModel(checkpoint);
  const predictions = model.predict(sequences);
  sequences.forEach((x, i) => {
    const inputs = x.flatMap(([a, b]) => [(a - 1) / 2, (b + 1) / 0.5]);
    const y = reference(cfg, params, inputs, 'ce');
    const max = Math.max(...y), e = Array.from(y, (v) => Math.exp(v - max)), sum = e.reduce((p, q) => p + q);
    const p = predictions[i];
    if (!('probs' in p)) return t.fail('a class prediction');
    const best = e.indexOf(Math.max(...e));
    t.equal(p.label, meta.labels![best], `sequence ${i} (${x.length} steps): the most probable label`);
    const worst = Math.max(...meta.labels!.map((l, k) => Math.abs(p.probs[String(l)] - e[k] / sum)));
    t.ok(worst < 1e-5, `sequence ${i}: probabilities as if run alone, max error ${worst}`);
  });

  const jsonl = sequences.map((x, i) => JSON.stringify({ x, y: 'up', id: i })).join('\n') + '\n';
  writeFileSync(join(dir, 'new.jsonl'), jsonl);
  const printed = await runRecur(['predict', '--checkpoint', checkpoint, '--data', join(dir, 'new.jsonl')]);
  t.equal(printed.code, 0, printed.stderr);
  t.equal(printed.stdout, predictionsJsonl(predictions), 'recur predict prints what loadModel returns, one JSON line per sequence');
  t.same(Object.keys(JSON.parse(printed.stdout.split('\n')[0]) as object), ['label', 'probs']);
  t.throws(() => model.forecast([{ x0: 1 }]), /forecast needs a series model; this one is a sequences model/);
});

t.test('bidirectional sequences: trained 20 steps, recur predict equals loadModel and the float64 network run on each alone', async (t) => {
  const dir = tempDir(t);
  const lines = Array.from({ length: 48 }, (_, i) => ({
    x: Array.from({ length: 2 + ((i * 5) % 7) }, (_, k) => [Math.sin(i + k), Math.cos(i * k) * (i % 3)]),
    y: ['low', 'mid', 'high'][(i * 7) % 3],
  }));
  writeFileSync(join(dir, 'train.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const exp = writeExperiment(dir, 'bi', {
    seed: 4,
    data: { task: 'sequences', path: join(dir, 'train.jsonl'), valFraction: 0.25 },
    model: { cell: 'lstm', hidden: 6, layers: 2, bidirectional: true },
    train: { batch: 8, steps: 20, workers: 2, optimizer: { name: 'adam', lr: 0.02 }, evalEvery: 10 },
    output: { dir: join(dir, 'run') },
  });
  const trained = await runRecur(['train', exp]);
  t.equal(trained.code, 0, trained.stderr);
  const checkpoint = join(dir, 'run/checkpoint.safetensors');
  const ck = loadCheckpoint(checkpoint);
  t.equal(ck.cfg.bidirectional, true, 'the checkpoint is bidirectional');
  const meta = ck.data as SequencesMeta;

  const fresh = [[[0.5, -1], [1, 1], [2, -2], [-3, 0.5], [1, 1]], [[1, 2], [3, -1], [0, 0]], [[2, 2]], [[4, 0], [1, 2]]];
  const model = await loadModel(checkpoint);
  const predictions = model.predict(fresh);
  fresh.forEach((x, i) => {
    const inputs = x.flatMap((step) => step.map((v, f) => {
      const c = meta.normalization.columns[meta.features[f]!]!;
      return (v - c.shift) / c.scale;
    }));
    const y = reference(ck.cfg, ck.params, inputs, 'ce');
    const max = Math.max(...y), e = Array.from(y, (v) => Math.exp(v - max)), sum = e.reduce((p, q) => p + q);
    const p = predictions[i];
    if (!('probs' in p)) return t.fail('a class prediction');
    const worst = Math.max(...meta.labels!.map((l, k) => Math.abs(p.probs[String(l)] - e[k] / sum)));
    t.ok(worst < 1e-5, `sequence ${i} (${x.length} steps): probabilities as if run alone, max error ${worst}`);
  });
  writeFileSync(join(dir, 'new.jsonl'), fresh.map((x, i) => JSON.stringify({ x, y: 'low', id: i })).join('\n') + '\n');
  const printed = await runRecur(['predict', '--checkpoint', checkpoint, '--data', join(dir, 'new.jsonl')]);
  t.equal(printed.code, 0, printed.stderr);
  t.equal(printed.stdout, predictionsJsonl(predictions), 'recur predict prints what loadModel returns');
  const evaluated = await runRecur(['eval', '--checkpoint', checkpoint, '--data', join(dir, 'train.jsonl')]);
  t.equal(evaluated.code, 0, evaluated.stderr);
  t.ok(Number.isFinite((JSON.parse(evaluated.stdout) as { loss: number }).loss), 'recur eval gives a loss');
});

t.test('a checkpoint without data metadata cannot predict: exit 2, one line', async (t) => {
  const dir = tempDir(t);
  const cfg: ModelConfig = { cell: 'lstm', inputSize: 3, hidden: 4, layers: 1, outputSize: 3, recurrence: 'hidden', outputs: 'all' };
  const checkpoint = join(dir, 'text.safetensors');
  saveCheckpoint(checkpoint, { cfg, vocab: 'abc', params: new Float32Array(paramLayout(cfg).size), optim: new Map() });
  writeFileSync(join(dir, 'x.csv'), 'a\n1\n');
  const r = await runRecur(['predict', '--checkpoint', checkpoint, '--data', join(dir, 'x.csv'), '--out', join(dir, 'out.csv')]);
  t.equal(r.code, 2);
  t.same(errorLines(r.stderr), [`error: ${checkpoint}: __metadata__.data: the checkpoint has no data metadata: only a model trained on data.task series or sequences can predict (text models: recur sample)`]);
  t.notOk(existsSync(join(dir, 'out.csv')));
  const model = await loadModel(checkpoint);
  t.throws(() => model.predict([[1, 2, 3]]), /no data metadata/, 'loadModel opens a text model (it samples), but it cannot predict');
  t.throws(() => model.forecast([{ a: 1 }]), /no data metadata/, 'nor forecast');
});
