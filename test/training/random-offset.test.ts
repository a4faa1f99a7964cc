// data.randomOffset (SPEC §4) as the trainer runs it: each epoch's training windows start at
// windowOffset(seed, epoch, T). The text repeats a T-character pattern, the batch holds every
// training window and the learning rate is far too small to move a float32 weight, so a step's
// loss depends only on its epoch's offset: two epochs' losses are equal exactly when their offsets are.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { train } from '../../src/main/training/trainer.js';
import { windowOffset } from '../../src/main/data/batching.js';
import { readMetrics } from '../helpers/cli.js';

const T = 8, SEED = 3, EPOCHS = 12;
const PATTERN = 'abcdefgh';

t.test('each epoch reads the windows at its own seeded offset', async (t) => {
  const dir = t.testdir();
  // 20 windows: 2 for validation, 18 − 1 = 17 for training with randomOffset.
  writeFileSync(join(dir, 'text.txt'), PATTERN.repeat(20) + 'a');
  const exp = parseExperiment({
    seed: SEED,
    data: { task: 'text', path: join(dir, 'text.txt'), seqLen: T, valFraction: 0.1, randomOffset: true },
    model: { cell: 'gru', hidden: 8 },
    train: { batch: 17, steps: EPOCHS, workers: 1, kernels: 'ts', logEvery: 1, evalEvery: 1000, optimizer: { name: 'adam', lr: 1e-30 } },
    output: { dir: join(dir, 'run') },
  }, join(dir, 'exp.yaml'), dir);
  await train(exp, { file: 'exp.yaml', outDir: join(dir, 'run') });
  const losses = readMetrics(join(dir, 'run')).map((line) => line.loss!);
  t.equal(losses.length, EPOCHS, 'one step (the whole training split) per epoch');
  const offsets = Array.from({ length: EPOCHS }, (_, epoch) => windowOffset(SEED, epoch, T));
  t.ok(offsets.every((o) => Number.isInteger(o) && o >= 0 && o < T), `offsets ${offsets.join(', ')} in [0, ${T})`);
  t.ok(new Set(offsets).size >= 3, 'the offsets vary between epochs');
  for (let a = 0; a < EPOCHS; a++) {
    for (let b = a + 1; b < EPOCHS; b++) {
      if (offsets[a] === offsets[b]) t.equal(losses[b], losses[a], `epochs ${a} and ${b} (offset ${offsets[a]}): the same windows, the same loss`);
      else t.not(losses[b], losses[a], `epochs ${a} and ${b} (offsets ${offsets[a]}, ${offsets[b]}): other windows, another loss`);
    }
  }
});
