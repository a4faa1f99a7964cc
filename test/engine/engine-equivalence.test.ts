// N workers must train the same model as one worker (to float rounding), in the manner of
// PyTorch DDP's tests, and the same seed and worker count must give bit-identical checkpoints —
// on every kernel set (ts, wasm, blas; blas skipped, saying what to install, where no BLAS loads).
// And the kernel sets auto chooses between agree: a run on blas follows the loss curve of one on
// wasm within float noise. Bidirectional layers over sequences of their own lengths too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { checkRerunsIdentical, checkWorkersAgree, type EquivalenceCell, type EquivalenceTask } from '../helpers/equivalence.js';
import { KERNELS_UNDER_TEST, skipFor, type Kernels } from '../helpers/kernels.js';
import { readMetrics, runRecur, tempDir, writeExperiment } from '../helpers/cli.js';
import { sampleText } from '../helpers/text.js';

/** The worker counts compared with 1 worker: fewer on blas, to keep the suite short. */
const setups: { cell: EquivalenceCell; task: EquivalenceTask; counts: Record<Kernels, number[]>; regularised?: boolean; bidirectional?: boolean }[] = [
  { cell: 'lstm', task: 'text', counts: { ts: [2, 3, 4], wasm: [2, 3, 4], blas: [2, 3] } },
  { cell: 'rnn', task: 'adding', counts: { ts: [2, 3, 4], wasm: [2, 3, 4], blas: [2] } },
  // Categorical series columns: each sequence's embedding rows, and their gradients, per shard.
  { cell: 'lstm', task: 'series', counts: { ts: [2, 3], wasm: [2, 3], blas: [2] } },
  // weightDrop + lockedDropout + randomOffset: masks and offsets never depend on the worker count.
  { cell: 'lstm', task: 'text', counts: { ts: [2, 3], wasm: [2, 3], blas: [2] }, regularised: true },
  // Bidirectional layers: each sequence reversed over its own length, per shard.
  { cell: 'gru', task: 'sequences', counts: { ts: [2, 3], wasm: [2, 3], blas: [2] }, bidirectional: true },
];

const listed = (counts: number[]): string => [1, ...counts].join(', ').replace(/, (\d+)$/, ' and $1');

for (const kernels of KERNELS_UNDER_TEST) {
  for (const { cell, task, counts, regularised, bidirectional } of setups) {
    const extra = regularised ? ' with weightDrop, lockedDropout and randomOffset' : '';
    t.test(`${bidirectional ? 'bidirectional ' : ''}${cell} on ${task}${extra} (${kernels} kernels): ${listed(counts[kernels])} workers give the same parameters after 5 Adam steps`, skipFor(kernels),
      (t) => checkWorkersAgree(t, cell, task, kernels, counts[kernels], regularised, bidirectional ? { bidirectional } : {}));
  }
  // Token models: each worker scatters its shard's embedding gradient; tied, the head's adds in.
  t.test(`a GRU with an embedding on text (${kernels} kernels): 1, 2 and 3 workers give the same parameters`, skipFor(kernels),
    (t) => checkWorkersAgree(t, 'gru', 'text', kernels, [2, 3], false, { embedding: 6 }));
  t.test(`an LSTM with a tied embedding on text (${kernels} kernels): 1, 2 and 3 workers give the same parameters`, skipFor(kernels),
    (t) => checkWorkersAgree(t, 'lstm', 'text', kernels, [2, 3], false, { embedding: 9, tieWeights: true }));
  t.test(`the same seed and worker count twice gives bit-identical checkpoints (${kernels} kernels)`, skipFor(kernels), (t) => checkRerunsIdentical(t, kernels));
}

/** A character LSTM (H = 24) on 2 workers, Adam at lr 0.01: the loss falls well within 40 steps. */
function curveExperiment(dir: string, steps: number, kernels: 'wasm' | 'blas'): Record<string, unknown> {
  return {
    seed: 3,
    data: { task: 'text', path: path.join(dir, 'text.txt'), seqLen: 16, valFraction: 0.1 },
    model: { cell: 'lstm', hidden: 24 },
    train: { batch: 8, steps, workers: 2, kernels, optimizer: { name: 'adam', lr: 0.01 }, evalEvery: 10, checkpointEvery: 100, logEvery: 1 },
  };
}

t.test('a run on blas follows the loss curve of one on wasm within float noise', skipFor('blas'), async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'text.txt'), sampleText(3000));
  const steps = 40;
  const [w, b] = await Promise.all([
    runRecur(['train', writeExperiment(dir, 'wasm', curveExperiment(dir, steps, 'wasm'))]),
    runRecur(['train', writeExperiment(dir, 'blas', curveExperiment(dir, steps, 'blas'))]),
  ]);
  t.equal(w.code, 0, 'the wasm run exits 0', { stderr: w.stderr });
  t.equal(b.code, 0, 'the blas run exits 0', { stderr: b.stderr });
  const mw = readMetrics(path.join(dir, 'run-wasm')), mb = readMetrics(path.join(dir, 'run-blas'));
  t.equal(mb.length, steps, `${steps} steps logged`);
  t.ok(mw[steps - 1]!.loss < 0.8 * mw[0]!.loss, `the loss falls (${mw[0]!.loss.toFixed(3)} → ${mw[steps - 1]!.loss.toFixed(3)}), so the curves say something`);
  let worst = 0, differing = 0;
  for (let i = 0; i < steps; i++) {
    const rel = Math.abs(mb[i]!.loss - mw[i]!.loss) / mw[i]!.loss;
    worst = Math.max(worst, Number.isNaN(rel) ? Infinity : rel);
    if (mb[i]!.loss !== mw[i]!.loss) differing++;
  }
  t.ok(worst <= 1e-5, `every step's loss within 1e-5 relative (worst ${worst.toExponential(2)})`);
  t.ok(differing > 0, `the runs did differ (${differing} of ${steps} losses), so blas really ran`);
  const valW = mw.filter((l) => l.valLoss !== undefined).map((l) => l.valLoss!), valB = mb.filter((l) => l.valLoss !== undefined).map((l) => l.valLoss!);
  t.equal(valB.length, valW.length, 'the same evaluations');
  valW.forEach((v, i) => t.ok(Math.abs(valB[i]! - v) <= 1e-5 * v, `validation loss ${i + 1}: ${valB[i]} vs ${v}`));
});
