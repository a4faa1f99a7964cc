import t from 'tap';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { barChartSvg, lossChartSvg } from '../../src/main/report/charts.js';
import { RunFolder } from '../../src/main/training/run-folder.js';
import { InputError, RunError } from '../../src/main/errors.js';
import { runSweep, type SweepSummary } from '../../src/main/sweep/sweep.js';
import type { TrialRecord } from '../../src/main/sweep/records.js';
import type { MetricsLine } from '../../src/main/report/metrics.js';

// Tiny runs: a handful of steps of an 8-step adding problem with 4 hidden units, ~0.1 s a trial.
const BASE = `data: { task: adding, seqLen: 8, trainSize: 64, valSize: 16 }
model: { cell: lstm, hidden: 4 }
train: { batch: 4, steps: 4, evalEvery: 2, logEvery: 1 }
`;

const GRID = `base: base.yaml
method: grid
parameters:
  model.cell: { values: [lstm, rnn] }
  seed: { values: [1, 2, 3] }
  train.workers: { values: [1] }
`;

const RANDOM = `base: base.yaml
method: random
trials: 3
seed: 7
parameters:
  train.optimizer.lr: { min: 0.0001, max: 0.1, distribution: log_uniform }
  model.hidden: { min: 2, max: 6 }
  train.workers: { values: [1] }
`;

type WithTestdir = Pick<typeof t, 'testdir'>;

/** A folder with base.yaml and sweep.yaml; returns the sweep file's path. */
function sweepFile(t: WithTestdir, sweep: string, base = BASE): string {
  return join(t.testdir({ 'base.yaml': base, 'sweep.yaml': sweep }), 'sweep.yaml');
}

function trialLines(outDir: string): TrialRecord[] {
  return readFileSync(join(outDir, 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrialRecord);
}

function metricsById(summary: SweepSummary): Record<string, number | null> {
  return Object.fromEntries(summary.trials.map((r) => [r.id, r.metric]));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Loose well-formedness: every tag closes in order, entities are escaped, no NaN in coordinates. */
function checkSvg(assert: Pick<typeof t, 'ok' | 'notMatch' | 'strictSame'>, svg: string): void {
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), 'starts with <svg');
  assert.ok(svg.trimEnd().endsWith('</svg>'), 'ends with </svg>');
  assert.notMatch(svg, /NaN|Infinity|undefined/, 'no NaN, Infinity or undefined anywhere');
  assert.notMatch(svg.replace(/&(amp|lt|gt|quot|apos);/g, ''), /&/, 'every & is an entity');
  const open: string[] = [];
  const mismatches: string[] = [];
  for (const [, closing, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (!closing) {
      if (!selfClosing) open.push(name!);
    } else if (open.pop() !== name) mismatches.push(name!);
  }
  assert.strictSame({ mismatches, unclosed: open }, { mismatches: [], unclosed: [] }, 'tags nest and close');
}

function polylinePoints(svg: string, className: string): string[] | null {
  const match = new RegExp(`<polyline class="${className}"[^>]*points="([^"]*)"`).exec(svg);
  return match ? match[1]!.split(' ') : null;
}

t.test('grid: one trial folder per combination, trials.jsonl, summary and chart', async (t) => {
  const file = sweepFile(t, GRID);
  const outDir = join(file, '..', 'out');
  const summary = await runSweep(file, { outDir });

  t.equal(summary.total, 2 * 3, 'the product of the value counts');
  t.equal(summary.trials.length, 6);
  t.equal(summary.ran, 6);
  t.equal(summary.skipped, 0);
  t.equal(summary.status, 'completed');
  t.equal(summary.outDir, outDir);
  t.ok(summary.trials.every((r) => r.status === 'ok' && Number.isFinite(r.metric)), 'every trial ok with a finite metric');
  t.match(summary.trials.map((r) => r.id), [/^trial-001-[0-9a-f]{6}$/, /^trial-002-/, /^trial-003-/, /^trial-004-/, /^trial-005-/, /^trial-006-/]);
  t.strictSame(summary.trials[4]!.parameters, { 'model.cell': 'rnn', seed: 2, 'train.workers': 1 });

  for (const trial of summary.trials) {
    const dir = join(outDir, trial.id);
    const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsLine);
    t.equal(metrics.length, 4, `${trial.id}: one metrics line per step`);
    t.equal(trial.metric, metrics.findLast((l) => l.valLoss !== undefined)!.valLoss, `${trial.id}: the metric is the final valLoss`);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    t.equal(config.model.cell, trial.parameters['model.cell'], `${trial.id}: the parameters reach the experiment`);
    t.equal(config.seed, trial.parameters['seed']);
    t.equal(config.output.dir, dir, `${trial.id}: the run goes to the trial folder`);
    t.ok(existsSync(join(dir, 'checkpoint.safetensors')) && existsSync(join(dir, 'loss.svg')), `${trial.id}: checkpoint and loss chart`);
  }

  const lines = trialLines(outDir);
  t.equal(lines.length, 6, 'one trials.jsonl line per trial');
  t.strictSame(new Set(lines.map((l) => l.id)), new Set(summary.trials.map((r) => r.id)));
  for (const line of lines) t.ok(line.status === 'ok' && typeof line.seconds === 'number' && line.parameters, `${line.id} line is complete`);

  // Ranked best first: the table's metric column is sorted and row 1 is the best trial.
  const best = summary.trials.reduce((a, b) => (b.metric! < a.metric! ? b : a));
  t.equal(summary.best?.id, best.id, 'best is the lowest valLoss');
  const md = readFileSync(join(outDir, 'summary.md'), 'utf8');
  const rows = md.split('\n').filter((l) => /^\| \d+ \|/.test(l)).map((l) => l.split('|').map((c) => c.trim()));
  t.equal(rows.length, 6, 'a table row per trial');
  t.strictSame(rows.map((r) => Number(r[1])), [1, 2, 3, 4, 5, 6], 'ranks in order');
  t.match(rows[0]![2], best.id, 'rank 1 is the best trial');
  const tableMetrics = rows.map((r) => Number(r[6]));
  t.strictSame(tableMetrics, [...tableMetrics].sort((a, b) => a - b), 'the metric column ascends (minimize)');
  t.match(md, /## Best/);
  t.match(md, `--set model.cell=${best.parameters['model.cell']}`, 'the best parameters as a command line');
  t.match(md, '![valLoss per trial](summary.svg)');
  const chart = readFileSync(join(outDir, 'summary.svg'), 'utf8');
  checkSvg(t, chart);
  t.equal(chart.match(/<rect class="bar"/g)?.length, 6, 'a bar per trial');

  t.test('a rerun skips the trials that succeeded', async (t) => {
    const mtimes = summary.trials.map((r) => statSync(join(outDir, r.id, 'checkpoint.safetensors')).mtimeMs);
    const again = await runSweep(file, { outDir });
    t.equal(again.ran, 0, 'nothing trained');
    t.equal(again.skipped, 6);
    t.equal(trialLines(outDir).length, 6, 'no new trials.jsonl lines');
    t.strictSame(summary.trials.map((r) => statSync(join(outDir, r.id, 'checkpoint.safetensors')).mtimeMs), mtimes, 'checkpoints untouched');
    t.strictSame(metricsById(again), metricsById(summary));
    t.equal(again.best?.id, summary.best?.id);
  });
});

t.test('--parallel 2 trains the same trials to the same metrics as --parallel 1', async (t) => {
  const file = sweepFile(t, GRID);
  const one = await runSweep(file, { outDir: join(file, '..', 'p1'), parallel: 1 });
  const two = await runSweep(file, { outDir: join(file, '..', 'p2'), parallel: 2 });
  t.strictSame(metricsById(two), metricsById(one));
});

t.test('random: the same sweep file draws the same trials every time', async (t) => {
  const file = sweepFile(t, RANDOM);
  const first = await runSweep(file, { outDir: join(file, '..', 'a') });
  const second = await runSweep(file, { outDir: join(file, '..', 'b') });
  t.equal(first.trials.length, 3);
  t.strictSame(second.trials.map((r) => [r.id, r.parameters]), first.trials.map((r) => [r.id, r.parameters]));
  t.strictSame(metricsById(second), metricsById(first), 'and trains them to the same metrics');
  for (const trial of first.trials) {
    const lr = trial.parameters['train.optimizer.lr'] as number;
    t.ok(lr >= 0.0001 && lr <= 0.1, `lr ${lr} within its range`);
    t.ok(Number.isInteger(trial.parameters['model.hidden']), 'integer bounds draw integers');
  }
  t.equal(new Set(first.trials.map((r) => r.parameters['train.optimizer.lr'])).size, 3, 'distinct draws');
});

t.test('failed trials are recorded, the sweep goes on, and a rerun retries only them', async (t) => {
  // hidden -1 fails validation; 5 workers for a batch of 4 fails inside train().
  const file = sweepFile(t, `base: base.yaml
method: grid
parameters:
  model.hidden: { values: [4, -1] }
  train.workers: { values: [1, 5] }
`);
  const outDir = join(file, '..', 'out');
  const notices: string[] = [];
  const summary = await runSweep(file, { outDir, onNotice: (text) => notices.push(text) });
  t.strictSame(summary.trials.map((r) => r.status), ['ok', 'failed', 'failed', 'failed']);
  const [ok, workers, hidden] = summary.trials;
  t.equal(summary.best?.id, ok!.id);
  t.match(workers!.error, /base\.yaml: train\.workers: 5 workers need a batch of at least 5/, 'the error names the base file and key');
  t.match(hidden!.error, /base\.yaml: model\.hidden: expected a positive integer, got -1/);
  t.equal(workers!.metric, null);
  t.ok(notices.some((n) => n.includes(`${hidden!.id} failed: `)), 'the failure is reported as a notice');

  const md = readFileSync(join(outDir, 'summary.md'), 'utf8');
  const rows = md.split('\n').filter((l) => l.startsWith('| 1 |') || l.startsWith('| – |'));
  t.match(rows[0], ok!.id, 'the ok trial ranks first');
  t.equal(rows.filter((r) => r.endsWith('| failed |')).length, 3, 'failed trials are listed as failed');
  t.match(md, /## Failures/);
  const chart = readFileSync(join(outDir, 'summary.svg'), 'utf8');
  checkSvg(t, chart);
  t.equal(chart.match(/class="failed"/g)?.length, 3, 'failed trials are marked on the chart');

  const again = await runSweep(file, { outDir });
  t.equal(again.ran, 3, 'the failed trials run again');
  t.equal(again.skipped, 1);
  t.equal(trialLines(outDir).length, 4 + 3);
});

t.test('the cores are split between parallel trials unless the trial sets train.workers', async (t) => {
  const file = sweepFile(t, `base: base.yaml
method: grid
parameters:
  model.cell: { values: [lstm, rnn] }
`);
  const workersOf = (summary: SweepSummary) =>
    summary.trials.map((r) => JSON.parse(readFileSync(join(summary.outDir, r.id, 'config.json'), 'utf8')).train.workers);
  const cores = availableParallelism();
  const one = await runSweep(file, { outDir: join(file, '..', 'p1'), parallel: 1 });
  t.strictSame(workersOf(one), [Math.min(cores, 4), Math.min(cores, 4)], 'one at a time: every core (at most one per sequence)');
  const two = await runSweep(file, { outDir: join(file, '..', 'p2'), parallel: 2 });
  t.strictSame(workersOf(two), [Math.max(1, Math.floor(cores / 2)), Math.max(1, Math.floor(cores / 2))], 'two at a time: half each');
});

t.test('when every trial fails the sweep fails', async (t) => {
  const differently = sweepFile(t, 'base: base.yaml\nmethod: grid\nparameters:\n  model.hidden: { values: [-1, -2] }\n');
  const err = await rejection(runSweep(differently, { outDir: join(differently, '..', 'out') }));
  t.type(err, RunError);
  t.match((err as Error).message, /^all 2 trials failed; see .*trials\.jsonl$/);
  t.equal(trialLines(join(differently, '..', 'out')).length, 2, 'still recorded');

  // The same bad input in every trial is the base experiment's fault: exit 2, naming it.
  const base = BASE.replace('data: { task: adding, seqLen: 8,', 'data: { task: text, path: missing.txt, seqLen: 8,');
  const alike = sweepFile(t, 'base: base.yaml\nmethod: grid\nparameters:\n  model.cell: { values: [lstm, rnn] }\n', base);
  const same = await rejection(runSweep(alike, { outDir: join(alike, '..', 'out') }));
  t.type(same, InputError);
  t.match((same as Error).message, /missing\.txt: cannot read: no such file \(every trial failed this way\)$/);
});

t.test('bad input is an InputError before anything runs', async (t) => {
  const missingBase = sweepFile(t, GRID.replace('base: base.yaml', 'base: nope.yaml'));
  const err = await rejection(runSweep(missingBase));
  t.type(err, InputError);
  t.match((err as Error).message, /sweep\.yaml: base: experiment file not found/);
  t.notOk(existsSync(join(missingBase, '..', 'runs')), 'no sweep folder');
  t.type(await rejection(runSweep(sweepFile(t, GRID), { parallel: 0 })), InputError);
});

t.test('a stopped sweep ends between trials, and a rerun finishes the rest', async (t) => {
  const file = sweepFile(t, GRID);
  const outDir = join(file, '..', 'out');
  const stop = new AbortController();
  const onNotice = (text: string) => {
    if (/trial-001-\w+ valLoss/.test(text)) stop.abort(); // as Ctrl-C would, once the first trial is done
  };
  const stopped = await runSweep(file, { outDir, stopSignal: stop.signal, onNotice });
  t.equal(stopped.status, 'interrupted');
  t.equal(stopped.total, 6);
  t.equal(stopped.trials.length, 1, 'only the finished trial is recorded');
  t.equal(trialLines(outDir).length, 1);
  t.match(readFileSync(join(outDir, 'summary.md'), 'utf8'), '5 not finished yet');

  const rest = await runSweep(file, { outDir });
  t.equal(rest.status, 'completed');
  t.equal(rest.skipped, 1);
  t.equal(rest.ran, 5);
  t.equal(trialLines(outDir).length, 6);
});

t.test('loss chart: a polyline each for train and validation loss', async (t) => {
  const lines: MetricsLine[] = Array.from({ length: 12 }, (_, i) => ({
    step: (i + 1) * 10, loss: 4 / (i + 1), lr: 0.01, gradNorm: 1, tokensPerSec: 1000, elapsedSec: i,
    ...((i + 1) % 4 === 0 ? { valLoss: 4.5 / (i + 1) } : {}),
  }));
  lines.push({ step: 130, loss: NaN, lr: 0.01, gradNorm: NaN, tokensPerSec: 0, elapsedSec: 13 });
  const svg = lossChartSvg(lines, 'run <a & b>');
  checkSvg(t, svg);
  t.equal(polylinePoints(svg, 'train')?.length, 12, 'a train point per finite loss');
  t.equal(polylinePoints(svg, 'val')?.length, 3, 'a validation point per eval line');
  for (const point of [...polylinePoints(svg, 'train')!, ...polylinePoints(svg, 'val')!]) {
    t.match(point, /^-?\d+(\.\d+)?,-?\d+(\.\d+)?$/, `point ${point} is two numbers`);
  }
  t.match(svg, '<title>run &lt;a &amp; b&gt;</title>', 'the title is escaped');
  t.match(svg, 'train loss');
  t.match(svg, 'validation loss');

  const trainOnly = lossChartSvg(lines.slice(0, 3));
  checkSvg(t, trainOnly);
  t.equal(polylinePoints(trainOnly, 'val'), null, 'no validation line without eval lines');
  checkSvg(t, lossChartSvg([]));
  checkSvg(t, lossChartSvg([lines[0]!]));
});

t.test('bar chart: a bar per value, failures marked, from zero', async (t) => {
  const svg = barChartSvg(
    [{ label: 'a', value: 0.5 }, { label: 'b', value: null }, { label: 'c', value: 0.1, highlight: true }, { label: 'd', value: 0 }],
    { title: 'loss per trial', yLabel: 'loss' },
  );
  checkSvg(t, svg);
  t.equal(svg.match(/<rect class="bar"/g)?.length, 3);
  t.equal(svg.match(/class="failed"/g)?.length, 1);
  checkSvg(t, barChartSvg([], { title: 'none', yLabel: 'x' }));
  checkSvg(t, barChartSvg([{ label: 'only', value: 3 }], { title: 'one', yLabel: 'x' }));
  checkSvg(t, barChartSvg([{ label: 'neg', value: -2 }, { label: 'pos', value: 1 }], { title: 'signs', yLabel: 'x' }));
});

t.test('RunFolder.writeChart writes loss.svg from metrics.jsonl, skipping a torn last line', async (t) => {
  const dir = t.testdir({
    'metrics.jsonl': [
      '{"step":1,"loss":2,"lr":0.1,"gradNorm":1,"tokensPerSec":1,"elapsedSec":1}',
      '{"step":2,"loss":1,"lr":0.1,"gradNorm":1,"tokensPerSec":1,"elapsedSec":2,"valLoss":1.5}',
      '{"step":3,"lo',
    ].join('\n'),
    'config.json': '{"name":"tiny"}',
  });
  const path = new RunFolder(dir).writeChart();
  t.equal(path, join(dir, 'loss.svg'));
  const svg = readFileSync(path, 'utf8');
  checkSvg(t, svg);
  t.equal(polylinePoints(svg, 'train')?.length, 2);
  t.match(svg, '<title>tiny — loss</title>', 'titled with the run name');
});
