/**
 * resume.test.ts's small text run (LSTM, 2 workers, Adam) and the check, on any kernel set, that
 * a stopped and resumed run ends bit for bit where an uninterrupted one does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Test } from 'tap';
import { loadCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import { readMetrics, runRecur, tempDir, writeExperiment, type RunResult } from './cli.js';
import { differingTensors } from './tensors.js';
import type { Kernels } from './kernels.js';
import { sampleText } from './text.js';

/**
 * What the run trains on: characters; characters with the AWD-LSTM regularisers (weightDrop and
 * lockedDropout on, and randomOffset with batch 40: 4 batches an epoch over the 167 training
 * windows, so the run crosses epochs and resumes inside one); or a series with categorical
 * columns (embedding tables and their Adam state).
 */
export type ResumeData = 'text' | 'regularised' | 'categorical';

/** Three series in two regions; `g` and `region` are categorical. */
export function categoricalCsv(): string {
  const lines = ['g,region,t,v'];
  for (const [k, g] of ['a', 'b', 'c'].entries()) {
    for (let r = 0; r < 50; r++) lines.push(`${g},${k === 2 ? 'west' : 'east'},${r},${(Math.cos(r / (2 + k)) * (k + 2) - 0.05 * r).toFixed(4)}`);
  }
  return lines.join('\n') + '\n';
}

/** The model keys of a text run (an embedding, a tied head); null: the default model of `data`. */
export type ResumeModel = Record<string, unknown> | null;

export function experiment(dir: string, steps: number, kernels: Kernels = 'ts', data: ResumeData = 'text', model: ResumeModel = null): Record<string, unknown> {
  const regularised = data === 'regularised';
  return {
    seed: 7,
    data: data === 'categorical'
      ? { task: 'series', path: path.join(dir, 'series.csv'), time: 't', group: 'g', features: ['v'], categorical: ['g', 'region'], seqLen: 8, valFraction: 0.2 }
      : { task: 'text', path: path.join(dir, 'text.txt'), seqLen: 16, valFraction: 0.1, ...(regularised ? { randomOffset: true } : {}) },
    model: model ?? (data === 'categorical' ? { cell: 'lstm', hidden: 8, categoricalEmbedding: 3 }
      : { cell: 'lstm', hidden: 8, ...(regularised ? { layers: 2, weightDrop: 0.3, lockedDropout: 0.4 } : {}) }),
    train: {
      batch: regularised ? 40 : 8, steps, workers: 2, kernels, shuffle: true,
      optimizer: { name: 'adam', lr: 0.01 }, clip: 1, evalEvery: 4, checkpointEvery: 5, logEvery: 1,
    },
  };
}

export const ckpt = (dir: string): string => path.join(dir, 'checkpoint.safetensors');

export const ok = (t: { equal(found: unknown, wanted: unknown, message: string): unknown }, res: RunResult, what: string): void => {
  t.equal(res.code, 0, `${what} exits 0; stderr:\n${res.stderr.slice(-1500)}`);
};

/** 5 steps + --resume to 12 == 12 steps straight with `kernels` (and `model`): params, optimizer state, losses, bit for bit. */
export async function checkResumeBitExact(t: Test, kernels: Kernels, data: ResumeData = 'text', model: ResumeModel = null): Promise<void> {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'text.txt'), sampleText(3000));
  fs.writeFileSync(path.join(dir, 'series.csv'), categoricalCsv());
  const expA = writeExperiment(dir, 'a', experiment(dir, 12, kernels, data, model));
  const expB = writeExperiment(dir, 'b', experiment(dir, 5, kernels, data, model));
  const runA = path.join(dir, 'run-a');
  const runB = path.join(dir, 'run-b');
  const runC = path.join(dir, 'run-c');

  const [a, b1] = await Promise.all([runRecur(['train', expA]), runRecur(['train', expB])]);
  ok(t, a, 'the uninterrupted run');
  ok(t, b1, 'the 5-step run');
  t.equal(loadCheckpoint(ckpt(runB)).train?.step, 5, 'the short run checkpointed step 5');
  // A copy of the short run's folder, resumed there with different (allowed) intervals.
  fs.cpSync(runB, runC, { recursive: true });

  const [b2, c2] = await Promise.all([
    runRecur(['train', expB, '--resume', '--set', 'train.steps=12']),
    runRecur(['train', expB, '--out', runC, '--resume', '--set', 'train.steps=12', '--set', 'train.evalEvery=3', '--set', 'train.logEvery=2', '--set', 'train.checkpointEvery=4']),
  ]);
  ok(t, b2, 'the resumed run');
  ok(t, c2, 'the resumed run with other intervals');

  const A = loadCheckpoint(ckpt(runA));
  const B = loadCheckpoint(ckpt(runB));
  t.equal(A.train?.step, 12, 'the uninterrupted run ends at step 12');
  t.equal(B.train?.step, 12, 'the resumed run ends at step 12');
  t.same([...B.optim.keys()].sort(), ['m', 'v'], 'Adam state (m, v) is in the checkpoint');
  t.same(differingTensors(ckpt(runA), ckpt(runB)), [], 'every tensor (rnn.*, head.*, optim.*) is byte-identical');
  t.same(differingTensors(ckpt(runA), ckpt(runC)), [], 'changing the log/eval/checkpoint intervals on resume changes no bit either');
  t.equal(B.vocab, A.vocab, 'same vocabulary');
  if (data === 'categorical') {
    t.same(B.cfg.categorical, A.cfg.categorical, 'same categorical embeddings');
    t.ok(A.params.length > 0 && [...A.optim.get('m')!].some((v) => v !== 0), 'Adam moments are saved');
    t.same(B.data, A.data, 'same data metadata (the level lists included)');
  }

  const mA = readMetrics(runA);
  const mB = readMetrics(runB);
  t.same(mA.map((l) => l.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'the uninterrupted run logs every step');
  t.same(mB.map((l) => l.step), mA.map((l) => l.step), 'the resumed run\'s metrics.jsonl has each step once, in order');
  for (const la of mA) {
    const lb = mB.find((l) => l.step === la.step);
    t.equal(lb?.loss, la.loss, `step ${la.step}: same loss`);
    t.equal(lb?.gradNorm, la.gradNorm, `step ${la.step}: same gradient norm`);
    if (la.valLoss !== undefined) t.equal(lb?.valLoss, la.valLoss, `step ${la.step}: same validation loss`);
  }
}
