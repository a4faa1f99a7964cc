/**
 * engine-equivalence.test.ts's checks, on any kernel set: N workers train the same model as one
 * worker (to float rounding), and the same seed and worker count twice give bit-identical
 * checkpoints.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { train } from '../../src/main/training/trainer.js';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import type { Kernels } from './kernels.js';
import { worse } from './max-error.js';

/** task 'sequences': labelled sequences of 2 to 9 steps, 2 features, three classes (deterministic). */
const SEQUENCES = Array.from({ length: 40 }, (_, i) => JSON.stringify({
  x: Array.from({ length: 2 + ((i * 7) % 8) }, (_, t) => [Math.sin(i + t), Math.cos(i * t) / 2]),
  y: ['up', 'down', 'flat'][(i * 5) % 3],
})).join('\n');

export type EquivalenceTask = 'text' | 'adding' | 'series' | 'sequences';
export type EquivalenceCell = 'lstm' | 'gru' | 'rnn';

const TEXT = 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n'.repeat(4);

/**
 * Three series (`g`) in two regions, both columns categorical, so every sequence of a batch
 * reads two embedding rows and the shards' categories differ.
 */
function seriesCsv(): string {
  const lines = ['g,region,t,v'];
  for (const [k, g] of ['a', 'b', 'c'].entries()) {
    for (let r = 0; r < 40; r++) lines.push(`${g},${k === 1 ? 'south' : 'north'},${r},${(Math.sin(r / (3 + k)) * (k + 1) + 0.1 * r).toFixed(4)}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The AWD-LSTM regularisers, all at once: weightDrop and lockedDropout masks, and (text) windows
 * shifted each epoch — 5 steps of batch 7 over 34 training windows cross an epoch.
 */
export const REGULARISED = { model: { weightDrop: 0.3, lockedDropout: 0.3 }, data: { randomOffset: true } };

/** Model keys beyond cell, hidden and layers (an embedding, a tied head, bidirectional layers). */
export type ExtraModelKeys = Record<string, unknown>;

function experiment(dir: string, cell: EquivalenceCell, task: EquivalenceTask, workers: number, kernels: Kernels, regularised: boolean, extra: ExtraModelKeys) {
  const textPath = join(dir, 'text.txt'), sequencesPath = join(dir, 'sequences.jsonl'), seriesPath = join(dir, 'series.csv');
  writeFileSync(textPath, TEXT);
  writeFileSync(sequencesPath, SEQUENCES);
  writeFileSync(seriesPath, seriesCsv());
  const data = task === 'text'
    ? { task, path: textPath, seqLen: 12, valFraction: 0.1, ...(regularised ? REGULARISED.data : {}) }
    : task === 'series'
      ? { task, path: seriesPath, time: 't', group: 'g', features: ['v'], categorical: ['g', 'region'], seqLen: 6, valFraction: 0.2 }
      : task === 'sequences' ? { task, path: sequencesPath, valFraction: 0.1 } : { task, seqLen: 10, trainSize: 70, valSize: 8 };
  return parseExperiment({
    name: `${cell}-${workers}`,
    seed: 5,
    data,
    model: { cell, hidden: 9, layers: 2, ...(regularised ? REGULARISED.model : {}), ...extra },
    // batch 7: not divisible by 2, 3 or 4 workers, so shards differ in size.
    train: { batch: 7, steps: 5, workers, kernels, shuffle: true, clip: 1, evalEvery: 5, optimizer: { name: 'adam', lr: 0.01 } },
    output: { dir: join(dir, `run-${cell}-${workers}`) },
  }, join(dir, 'exp.yaml'), dir);
}

async function trainedTensors(dir: string, cell: EquivalenceCell, task: EquivalenceTask, workers: number, kernels: Kernels, outName: string, regularised = false, extra: ExtraModelKeys = {}) {
  const exp = experiment(dir, cell, task, workers, kernels, regularised, extra);
  const result = await train(exp, { file: 'exp.yaml', outDir: join(dir, outName) });
  return readSafetensors(result.checkpoint).tensors;
}

/**
 * 1 worker vs `counts` after 5 Adam steps (batch 7, so shards differ in size): every value within
 * atol 1e-6 + rtol 1e-5. `regularised`: with REGULARISED's keys on; `extra`: more model keys.
 */
export async function checkWorkersAgree(t: Test, cell: EquivalenceCell, task: EquivalenceTask, kernels: Kernels, counts = [2, 3, 4], regularised = false, extra: ExtraModelKeys = {}): Promise<void> {
  const dir = t.testdir();
  const one = await trainedTensors(dir, cell, task, 1, kernels, 'w1', regularised, extra);
  for (const workers of counts) {
    const many = await trainedTensors(dir, cell, task, workers, kernels, `w${workers}`, regularised, extra);
    let worst = 0, names = 0;
    for (const [name, ref] of one) {
      const got = many.get(name)!;
      names++;
      for (let k = 0; k < ref.data.length; k++) {
        worst = worse(worst, Math.abs(got.data[k] - ref.data[k]) - (1e-6 + 1e-5 * Math.abs(ref.data[k])));
      }
    }
    t.equal(names, one.size, `${workers} workers: all ${names} tensors (with optimizer state) compared`);
    t.ok(worst <= 0, `${workers} workers: every value within atol 1e-6 + rtol 1e-5 of 1 worker`);
  }
}

/** The same seed and worker count (3) twice: bit-identical checkpoints. */
export async function checkRerunsIdentical(t: Test, kernels: Kernels): Promise<void> {
  const dir = t.testdir();
  const a = await trainedTensors(dir, 'lstm', 'text', 3, kernels, 'a');
  const b = await trainedTensors(dir, 'lstm', 'text', 3, kernels, 'b');
  let differing = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    const xb = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
    const yb = new Uint8Array(y.data.buffer, y.data.byteOffset, y.data.byteLength);
    if (Buffer.compare(xb, yb) !== 0) differing++;
  }
  t.equal(differing, 0, 'no tensor differs in any bit');
}
