/**
 * `--resume` (SPEC §5): a run stopped at step k and resumed ends bit-for-bit where the
 * uninterrupted run ends, optimizer state included, on every kernel set; it continues rather than
 * reruns (only the remaining steps run, the logged past stays, an edited checkpoint changes the result); and any
 * change other than the steps and the logging/eval/checkpoint intervals is refused with exit 2
 * naming the key.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { loadCheckpoint, saveCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import { checkResumeBitExact, ckpt, experiment, ok } from '../helpers/resume.js';
import { KERNELS_UNDER_TEST, skipFor } from '../helpers/kernels.js';
import { paramLayout } from '../../src/shared/model/layout.js';
import { sampleText } from '../helpers/text.js';
import { differingTensors } from '../helpers/tensors.js';
import { errorLines, merge, readMetrics, runRecur, stackLines, tempDir, writeExperiment } from '../helpers/cli.js';

// On every kernel set; blas skipped, saying what to install, where no BLAS loads.
for (const kernels of KERNELS_UNDER_TEST) {
  t.test(`resume is bit-exact with ${kernels} kernels: 5 steps + --resume to 12 == 12 steps straight (params, optimizer state, losses)`, skipFor(kernels), (t) => checkResumeBitExact(t, kernels));
  t.test(`resume is bit-exact with weightDrop, lockedDropout and randomOffset (${kernels} kernels), resuming inside an epoch`, skipFor(kernels), (t) => checkResumeBitExact(t, kernels, 'regularised'));
}
t.test('resume is bit-exact for a series with categorical columns (their embeddings and Adam state): 5 steps + --resume to 12 == 12 steps straight', (t) => checkResumeBitExact(t, 'wasm', 'categorical'));

// Token models: the embedding and its optimizer slots resume too; tied, the head is the embedding.
for (const model of [{ cell: 'gru', hidden: 8, embedding: 5 }, { cell: 'lstm', hidden: 8, embedding: 8, tieWeights: true }]) {
  t.test(`resume is bit-exact for an embedding model ${JSON.stringify(model)} (wasm kernels)`, (t) => checkResumeBitExact(t, 'wasm', 'text', model));
}

t.test('--resume continues rather than reruns: only the remaining steps run, the logged past is kept, and the checkpoint is what it continues from', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'text.txt'), sampleText(3000));
  const exp = writeExperiment(dir, 'c', experiment(dir, 5));
  const runDir = path.join(dir, 'run-c');
  ok(t, await runRecur(['train', exp]), 'the 5-step run');
  const firstLines = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8');
  t.equal(firstLines.trim().split('\n').length, 5, 'five metrics lines');

  // The same stopped run, its checkpoint edited: one weight of the head moved by 0.5.
  const editedDir = path.join(dir, 'run-edited');
  fs.cpSync(runDir, editedDir, { recursive: true });
  const ck = loadCheckpoint(ckpt(editedDir));
  const headBias = paramLayout(ck.cfg).tensors.find((x) => x.name === 'head.bias')!;
  ck.params[headBias.offset] += 0.5;
  saveCheckpoint(ckpt(editedDir), ck);

  const [resumed, edited] = await Promise.all([
    runRecur(['train', exp, '--resume', '--set', 'train.steps=9']),
    runRecur(['train', exp, '--resume', '--out', editedDir, '--set', 'train.steps=9']),
  ]);
  ok(t, resumed, 'the resumed run');
  ok(t, edited, 'the resumed edited run');
  const stepsRun = (stderr: string): number[] => [...stderr.matchAll(/^step (\d+)\/9 /gm)].map((m) => Number(m[1]));
  t.same(stepsRun(resumed.stderr), [6, 7, 8, 9], 'the second process runs steps 6 to 9 only');
  const after = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8');
  t.ok(after.startsWith(firstLines), 'the first five lines of metrics.jsonl are untouched, byte for byte (timings included)');
  t.same(readMetrics(runDir).map((l) => l.step), [1, 2, 3, 4, 5, 6, 7, 8, 9], 'and the new steps follow them');

  const plain = readMetrics(runDir), moved = readMetrics(editedDir);
  t.equal(moved[4]!.loss, plain[4]!.loss, 'both share the logged past up to step 5');
  t.not(moved[5]!.loss, plain[5]!.loss, `step 6 starts from the edited weights (loss ${moved[5]!.loss} vs ${plain[5]!.loss})`);
  t.not(differingTensors(ckpt(runDir), ckpt(editedDir)).length, 0, 'and the final checkpoints differ');
});

t.test('resume refuses a changed experiment (exit 2 naming the key) and a missing checkpoint', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'text.txt'), sampleText(1500));
  const exp = writeExperiment(dir, 'r', experiment(dir, 3));
  const runDir = path.join(dir, 'run-r');
  ok(t, await runRecur(['train', exp]), 'the first run');
  const before = fs.readFileSync(ckpt(runDir));
  const metricsBefore = fs.readFileSync(path.join(runDir, 'metrics.jsonl'));

  const cases: Array<{ args: string[]; key: string; name: string }> = [
    { name: 'a changed learning rate', args: ['--set', 'train.optimizer.lr=0.1', '--set', 'train.steps=6'], key: 'train.optimizer.lr' },
    { name: 'a changed hidden size', args: ['--set', 'model.hidden=16'], key: 'model.hidden' },
    { name: 'a changed seed', args: ['--set', 'seed=8'], key: 'seed' },
    { name: 'a different worker count', args: ['--workers', '1', '--set', 'train.steps=6'], key: 'train.workers' },
  ];
  const results = await Promise.all(cases.map((c) => runRecur(['train', exp, '--resume', ...c.args])));
  cases.forEach((c, i) => {
    const res = results[i]!;
    t.equal(res.code, 2, `${c.name}: exit 2; stderr:\n${res.stderr}`);
    const lines = res.stderr.trim().split('\n');
    t.equal(lines.length, 1, `${c.name}: one line on stderr`);
    t.match(lines[0], /^error: /, `${c.name}: an error: line`);
    t.ok(lines[0]!.includes(`: ${c.key}:`), `${c.name}: names ${c.key}: ${lines[0]}`);
    t.ok(lines[0]!.includes(exp), `${c.name}: names the experiment file`);
  });
  t.ok(fs.readFileSync(ckpt(runDir)).equals(before), 'the refused resumes left the checkpoint untouched');
  t.ok(fs.readFileSync(path.join(runDir, 'metrics.jsonl')).equals(metricsBefore), 'and metrics.jsonl too');

  const empty = path.join(dir, 'empty-run');
  const none = await runRecur(['train', exp, '--resume', '--out', empty]);
  t.equal(none.code, 2, `--resume with no checkpoint: exit 2; stderr:\n${none.stderr}`);
  t.equal(errorLines(none.stderr).length, 1, 'one error: line');
  t.equal(none.stderr.trim().split('\n').length, 1, 'and nothing else');
  t.match(none.stderr, /--resume/, 'names --resume');
  t.ok(none.stderr.includes(empty), 'names the run folder');
  t.same(stackLines(none.stderr), [], 'no stack trace');
  t.notOk(fs.existsSync(ckpt(empty)), 'no checkpoint was written there');
});

t.test('resume continues the learning-rate schedule exactly: cosine after a failure, plateau (its state in the checkpoint) with raised steps', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'text.txt'), sampleText(3000));
  const withSchedule = (steps: number, schedule: Record<string, unknown>): Record<string, unknown> =>
    merge(experiment(dir, steps), { train: { evalEvery: 2, optimizer: { name: 'adam', lr: 0.05 }, schedule } });
  const cosine = { name: 'cosine', warmup: 2, minLr: 0.001 };
  // minDelta 0.2: the validation loss falls by ~0.1 per evaluation here, which counts as no
  // improvement, so the rate halves at every evaluation after the first.
  const plateau = { name: 'plateau', factor: 2, patience: 1, minDelta: 0.2 };
  const cosA = writeExperiment(dir, 'cos-a', withSchedule(12, cosine));
  const cosB = writeExperiment(dir, 'cos-b', withSchedule(12, cosine));
  const platA = writeExperiment(dir, 'plat-a', withSchedule(12, plateau));
  const platB = writeExperiment(dir, 'plat-b', withSchedule(5, plateau));

  // cos-b: a worker fails in step 8; the checkpoint of step 5 (checkpointEvery 5) survives.
  const [a1, b1, a2, b2] = await Promise.all([
    runRecur(['train', cosA]), runRecur(['train', cosB], { env: { RECUR_TEST_FAULT: 'throw:0:8' } }),
    runRecur(['train', platA]), runRecur(['train', platB]),
  ]);
  ok(t, a1, 'the cosine run');
  t.equal(b1.code, 1, 'the failing cosine run exits 1');
  ok(t, a2, 'the plateau run');
  ok(t, b2, 'the 5-step plateau run');
  t.equal(loadCheckpoint(ckpt(path.join(dir, 'run-cos-b'))).train?.step, 5, 'the failed run kept the checkpoint of step 5');
  const stored = loadCheckpoint(ckpt(path.join(dir, 'run-plat-b'))).train?.plateau as { lr: number };
  t.ok(stored.lr < 0.05, `the plateau state is in the checkpoint, already reduced (lr ${stored.lr})`);

  const [b1r, b2r] = await Promise.all([
    runRecur(['train', cosB, '--resume']),
    runRecur(['train', platB, '--resume', '--set', 'train.steps=12']),
  ]);
  ok(t, b1r, 'the resumed cosine run');
  ok(t, b2r, 'the resumed plateau run');
  for (const [name, a, b] of [['cosine', 'run-cos-a', 'run-cos-b'], ['plateau', 'run-plat-a', 'run-plat-b']] as const) {
    const runA = path.join(dir, a), runB = path.join(dir, b);
    t.same(differingTensors(ckpt(runA), ckpt(runB)), [], `${name}: every tensor is byte-identical to the uninterrupted run's`);
    const mA = readMetrics(runA), mB = readMetrics(runB);
    t.same(mB.map((l) => [l.step, l.lr, l.loss]), mA.map((l) => [l.step, l.lr, l.loss]), `${name}: every step used and logged the same rate, with the same loss`);
    t.ok(new Set(mA.map((l) => l.lr)).size > 3, `${name}: the rate did change along the run`);
  }

  // Cosine is defined over train.steps: raising them on --resume would bend the curve mid-run.
  const raised = await runRecur(['train', cosB, '--resume', '--set', 'train.steps=20']);
  t.equal(raised.code, 2, `raising train.steps under a cosine schedule: exit 2; stderr:\n${raised.stderr}`);
  t.match(raised.stderr.trim(), /^error: \S+cos-b\.json: train\.steps: a cosine schedule is defined over train\.steps \(12 in the run being resumed/, 'names the file and train.steps');
});
