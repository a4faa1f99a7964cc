// Early stopping and best.safetensors (SPEC §6): the run stops at the evaluation the rule picks
// from its own metrics.jsonl, best.safetensors holds exactly the weights of the best evaluated
// step (equal, bit for bit, to a run stopped there), recur eval and recur sample take it, and a
// resumed run keeps the early-stopping and best state.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { loadCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { train } from '../../src/main/training/trainer.js';
import { FRESH_WATCH, stopsEarly, watchMetric } from '../../src/main/training/patience.js';
import { merge, readMetrics, runRecur, tempDir, writeExperiment } from '../helpers/cli.js';
import { differingTensors } from '../helpers/tensors.js';
import { sampleText } from '../helpers/text.js';

const STEPS = 60;
const EARLY = { patience: 3, minDelta: 0.01 };

/** A tiny text model trained with a rate high enough that its validation loss turns up early. */
function experiment(dir: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return merge({
    seed: 3,
    data: { task: 'text', path: path.join(dir, 'text.txt'), seqLen: 16, valFraction: 0.1 },
    model: { cell: 'lstm', hidden: 16 },
    train: {
      batch: 8, steps: STEPS, workers: 2, kernels: 'ts', shuffle: true, logEvery: 1,
      optimizer: { name: 'adam', lr: 0.2 }, clip: 1, evalEvery: 3, checkpointEvery: 3, earlyStopping: EARLY,
    },
  }, over);
}

/** Where the rule stops and which evaluated step is best, worked out from the logged validation losses. */
function expected(lines: Array<Record<string, number>>): { stop: number | null; best: { step: number; valLoss: number } } {
  let watch = FRESH_WATCH;
  let best = { step: 0, valLoss: Infinity };
  for (const line of lines) {
    if (line.valLoss === undefined) continue;
    if (line.valLoss < best.valLoss) best = { step: line.step!, valLoss: line.valLoss };
    watch = watchMetric(watch, line.valLoss, EARLY.minDelta);
    if (stopsEarly(EARLY, watch)) return { stop: line.step!, best };
  }
  return { stop: null, best };
}

t.test('early stopping stops at the evaluation its rule picks; best.safetensors is that best step, bit for bit; eval and sample take it', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'text.txt'), sampleText(1500));
  const exp = writeExperiment(dir, 'es', experiment(dir));
  const runDir = path.join(dir, 'run-es');
  const res = await runRecur(['train', exp]);
  t.equal(res.code, 0, `an early-stopped run exits 0; stderr:\n${res.stderr.slice(-1500)}`);

  const lines = readMetrics(runDir);
  const { stop, best } = expected(lines);
  t.ok(stop !== null && stop < STEPS, `the rule stops the run before step ${STEPS} (at ${stop})`);
  t.equal(lines.at(-1)!.step, stop, 'the last line is the stopping evaluation');
  t.ok(best.step < stop!, `the best step (${best.step}) came before the stop (${stop})`);
  t.equal(loadCheckpoint(path.join(runDir, 'checkpoint.safetensors')).train?.step, stop, 'checkpoint.safetensors is the last step');
  const bestFile = path.join(runDir, 'best.safetensors');
  const bestCk = loadCheckpoint(bestFile);
  t.equal(bestCk.train?.step, best.step, 'best.safetensors records the best step');
  t.equal(bestCk.train?.valLoss, best.valLoss, 'and its validation loss');
  t.match(res.stdout, new RegExp(`^early-stopped at step ${stop} \\(no improvement for 3 evaluations\\).*; best step ${best.step}, val loss ${best.valLoss.toFixed(4)} \\(${bestFile}\\)`, 'm'),
    'the summary line says where it stopped and names the best step and its metric');

  // The same experiment stopped at the best step by train.steps (no early stopping needed).
  const short = writeExperiment(dir, 'short', experiment(dir, { train: { steps: best.step, earlyStopping: null } }));
  const [shortRun, evaluated, sampled] = await Promise.all([
    runRecur(['train', short]),
    runRecur(['eval', '--checkpoint', bestFile]),
    runRecur(['sample', '--checkpoint', bestFile, '--length', '40', '--seed', '2']),
  ]);
  t.equal(shortRun.code, 0, `the run to step ${best.step} exits 0`);
  t.same(differingTensors(bestFile, path.join(dir, 'run-short', 'checkpoint.safetensors')), [],
    'best.safetensors = the checkpoint of a run stopped at the best step, every tensor (weights and optimizer state) bit for bit');
  t.equal(evaluated.code, 0, `recur eval takes best.safetensors; stderr: ${evaluated.stderr}`);
  const loss = (JSON.parse(evaluated.stdout) as { loss: number }).loss;
  t.ok(Math.abs(loss - best.valLoss) < 1e-6 * best.valLoss, `recur eval of best.safetensors (WebAssembly kernels) gives the logged best validation loss (TypeScript kernels) to 1e-6 (${loss} vs ${best.valLoss})`);
  t.equal(sampled.code, 0, `recur sample takes best.safetensors; stderr: ${sampled.stderr}`);
  t.ok(sampled.stdout.length >= 40, 'and prints a sample');
});

t.test('a resumed run keeps the early-stopping and best state: after a failure it stops where the uninterrupted run does', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'text.txt'), sampleText(1500));
  const exp = (name: string) => parseExperiment(experiment(dir, { output: { dir: path.join(dir, name) } }), path.join(dir, `${name}.json`), dir);
  const straight = await train(exp('straight'), { file: 'straight.json' });
  t.equal(straight.status, 'early-stopped', 'the API result says early-stopped');
  const { stop, best } = expected(readMetrics(path.join(dir, 'straight')));
  t.equal(straight.step, stop, 'at the step the rule picks');
  t.same(straight.best, { ...best, checkpoint: path.join(dir, 'straight', 'best.safetensors') }, 'the API result names the best step, its metric and file');

  // A worker fails at the stopping step: the checkpoint three steps earlier survives, with the
  // early-stopping count and the best step in its metadata.
  const failing = writeExperiment(dir, 'failing', experiment(dir, { output: { dir: path.join(dir, 'failing') } }));
  const failed = await runRecur(['train', failing], { env: { RECUR_TEST_FAULT: `throw:0:${stop}` } });
  t.equal(failed.code, 1, 'the failing run exits 1');
  const kept = loadCheckpoint(path.join(dir, 'failing', 'checkpoint.safetensors')).train!;
  t.equal(kept.step, stop! - 3, 'its checkpoint is from the evaluation before');
  t.ok((kept.earlyStopping as { bad: number }).bad > 0, `the early-stopping count is in the checkpoint (${JSON.stringify(kept.earlyStopping)})`);

  const resumed = await train(exp('failing'), { file: 'failing.json', resume: true });
  t.equal(resumed.status, 'early-stopped', 'the resumed run stops early too');
  t.equal(resumed.step, stop, 'at the same step');
  t.same(resumed.best, { ...best, checkpoint: path.join(dir, 'failing', 'best.safetensors') }, 'with the same best step');
  t.same(differingTensors(path.join(dir, 'straight', 'best.safetensors'), path.join(dir, 'failing', 'best.safetensors')), [], 'best.safetensors equal bit for bit');
  t.same(differingTensors(path.join(dir, 'straight', 'checkpoint.safetensors'), path.join(dir, 'failing', 'checkpoint.safetensors')), [], 'and the final checkpoints too');

  const again = await train({ ...exp('failing'), train: { ...exp('failing').train, steps: STEPS + 30 } }, { file: 'failing.json', resume: true });
  t.equal(again.status, 'early-stopped', 'resuming an early-stopped run with more steps does not train on');
  t.equal(again.step, stop, 'it stays at the stopping step');
});
