// Honest validation figures: with train.evalBatches, every evaluation but the
// last reads the same seeded sample of windows spread over the whole validation split (not its
// first batches); the run's last line reads the whole split and equals `recur eval` of the final
// checkpoint; best.safetensors is settled on the whole split.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { loadCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import { parseExperiment, type Experiment } from '../../src/main/experiment/experiment.js';
import { Engine } from '../../src/main/engine/engine.js';
import { resolveKernels } from '../../src/main/engine/kernel-choice.js';
import { resolveRun } from '../../src/main/training/resolve.js';
import { train } from '../../src/main/training/trainer.js';
import { evaluateSplit, spreadSample } from '../../src/main/inference/validation.js';
import { readMetrics, runRecur, tempDir } from '../helpers/cli.js';
import { sampleText } from '../helpers/text.js';

t.test('the sample: one seeded window from each of `count` equal strata of the split, the same on every call', async (t) => {
  const a = spreadSample(100, 10, 7);
  t.same([...a].map((w, i) => Math.floor(w / 10) === i), Array(10).fill(true), `window i lies in [10i, 10i + 10): ${[...a]}`);
  t.same([...spreadSample(100, 10, 7)], [...a], 'the same seed gives the same windows');
  t.not([...spreadSample(100, 10, 8)].join(), [...a].join(), 'another seed, other windows');
  t.ok(a.at(-1)! >= 90, 'the last stratum is the end of the split');
  const uneven = [...spreadSample(7, 3, 1)];
  t.ok(uneven[0]! < 2 && uneven[1]! >= 2 && uneven[1]! < 4 && uneven[2]! >= 4 && uneven[2]! < 7, `7 windows in 3 strata [0,2) [2,4) [4,7): ${uneven}`);
  t.same([...spreadSample(5, 8, 1)], [0, 1, 2, 3, 4], 'a sample as large as the split is the split');
});

/** The mean loss of a checkpoint on windows of the validation split (null: all), in this process, with the run's batch and workers (so the sums add up in the same order). */
async function lossOn(exp: Experiment, checkpoint: string, windows: Int32Array | null): Promise<number> {
  const { cfg, dataset } = resolveRun(exp, 'exp.json');
  const engine = Engine.create({
    cfg, loss: dataset.loss, input: dataset.input, seqLen: dataset.seqLen, batch: exp.train.batch, workers: exp.train.workers!,
    optimizer: exp.train.optimizer, clip: null, teacherForcing: false, kernels: resolveKernels(exp.train.kernels, 'exp.json').kernels,
  });
  try {
    engine.views.params.set(loadCheckpoint(checkpoint).params);
    return (await evaluateSplit(engine, dataset, cfg, 'val', windows)).loss;
  } finally {
    await engine.close();
  }
}

/** A tiny text run in a fresh folder, evaluating 2 batches of 8 every 2 steps; `train` adds to its train section. */
function textRun(t: Parameters<typeof tempDir>[0], train: Record<string, unknown>): { exp: Experiment; runDir: string } {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'text.txt'), sampleText(8000));
  const runDir = path.join(dir, 'run');
  const exp = parseExperiment({
    seed: 5,
    data: { task: 'text', path: path.join(dir, 'text.txt'), seqLen: 16, valFraction: 0.2 },
    model: { cell: 'lstm', hidden: 8 },
    train: { batch: 8, workers: 2, kernels: 'ts', logEvery: 1, evalEvery: 2, evalBatches: 2, ...train },
    output: { dir: runDir },
  }, path.join(dir, 'exp.json'), dir);
  return { exp, runDir };
}

t.test('a run with evalBatches: the sample at every evaluation, the whole split on the last line, equal to recur eval', async (t) => {
  // lr 1e-30: the weights stay put (to float32), so every evaluation of the same windows gives the same loss.
  const { exp, runDir } = textRun(t, { steps: 7, optimizer: { name: 'adam', lr: 1e-30 } });
  const result = await train(exp, { file: 'exp.json' });
  const evals = readMetrics(runDir).filter((l) => l.valLoss !== undefined);
  t.same(evals.map((l) => l.step), [2, 4, 6, 7], 'evaluations every 2 steps and at the end');
  const sampled = evals.slice(0, -1).map((l) => l.valLoss!);
  t.same(new Set(sampled).size, 1, `every intermediate evaluation reads the same windows: ${sampled.join(', ')}`);

  const checkpoint = path.join(runDir, 'checkpoint.safetensors');
  const valCount = resolveRun(exp, 'exp.json').dataset.size('val');
  const windows = spreadSample(valCount, 16, 5);
  t.ok(windows.at(-1)! >= valCount - valCount / 16 - 1, `the sample reaches the end of the ${valCount}-window split (last window ${windows.at(-1)})`);
  const [onSample, onFirst] = await Promise.all([
    lossOn(exp, checkpoint, windows),
    lossOn(exp, checkpoint, Int32Array.from({ length: 16 }, (_, i) => i)),
  ]);
  t.equal(sampled[0], onSample, 'the intermediate valLoss is the loss on spreadSample(split, evalBatches·batch, seed)');
  t.not(sampled[0], onFirst, 'not the loss on the first two batches');

  const last = evals.at(-1)!;
  const evaluated = await runRecur(['eval', '--checkpoint', checkpoint]);
  t.equal(evaluated.code, 0, `recur eval exits 0; stderr: ${evaluated.stderr}`);
  const whole = JSON.parse(evaluated.stdout) as { loss: number; tokens: number };
  t.equal(whole.tokens, valCount * 16, 'recur eval reads the whole split');
  t.ok(Math.abs(last.valLoss! - whole.loss) < 1e-6 * whole.loss, `the last line (${last.valLoss}) is recur eval of the final checkpoint on the whole split (${whole.loss}; TypeScript vs WebAssembly kernels, to 1e-6)`);
  t.not(last.valLoss, sampled[0], 'and differs from the sample');
  t.equal(result.valLoss, last.valLoss, 'the API result reports the whole split');
  t.equal(last.valLossSample, undefined, 'step 7 is no regular evaluation, so there is no sample on it');

  // best.safetensors: on the sample step 2 was best (all equal, the first kept); on the whole split
  // it ties with the final model, and the kept one stays, now with its whole-split loss.
  const best = loadCheckpoint(path.join(runDir, 'best.safetensors')).train!;
  t.equal(best.valSplit, 'whole', 'best.safetensors was settled on the whole split');
  t.ok(Math.abs((best.valLoss as number) - whole.loss) < 1e-6 * whole.loss, `and records its whole-split loss (${best.valLoss})`);
  t.same(result.best && { step: result.best.step, valLoss: result.best.valLoss }, { step: best.step, valLoss: best.valLoss }, 'the API result names it');
});

t.test('early stopping with evalBatches: the stopping line reads the whole split and keeps the sample it stopped on', async (t) => {
  // minDelta 10: no evaluation counts as an improvement, so patience 1 stops at the second evaluation.
  const { exp, runDir } = textRun(t, { steps: 50, optimizer: { name: 'adam', lr: 0.05 }, earlyStopping: { patience: 1, minDelta: 10 } });
  const result = await train(exp, { file: 'exp.json' });
  t.equal(result.status, 'early-stopped', 'the run stops early');
  t.equal(result.step, 4, 'at the second evaluation');
  const last = readMetrics(runDir).at(-1)!;
  t.equal(last.step, 4, 'the last line is step 4');
  t.type(last.valLossSample, 'number', 'it carries the sample\'s loss, which the decision used');
  const checkpoint = path.join(runDir, 'checkpoint.safetensors');
  const valCount = resolveRun(exp, 'exp.json').dataset.size('val');
  const [whole, sample] = await Promise.all([lossOn(exp, checkpoint, null), lossOn(exp, checkpoint, spreadSample(valCount, 16, 5))]);
  t.equal(last.valLoss, whole, 'valLoss is the whole split');
  t.equal(last.valLossSample, sample, 'valLossSample is the sample');
  const best = loadCheckpoint(path.join(runDir, 'best.safetensors')).train!;
  t.equal(best.valSplit, 'whole', 'best.safetensors is settled on the whole split');
  t.equal(result.best?.step, best.step, 'the API result names the same best step');
});
