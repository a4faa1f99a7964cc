// Training on the blas kernels, continued: resume is bit-identical (as
// resume.test.ts for ts and wasm), and a run on blas follows the loss curve of a run on wasm
// within float noise. Skipped, saying what to install, where no BLAS loads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { blasSkip } from '../helpers/blas.js';
import { readMetrics, runRecur, tempDir, writeExperiment } from '../helpers/cli.js';
import { checkResumeBitExact } from '../helpers/resume.js';
import { sampleText } from '../helpers/text.js';

const skip = blasSkip;

t.test('resume is bit-exact with blas kernels: 5 steps + --resume to 12 == 12 steps straight (params, optimizer state, losses)', { skip }, (t) => checkResumeBitExact(t, 'blas'));

/** A character LSTM (H = 24) on 2 workers, Adam at lr 0.01: the loss falls well within 40 steps. */
function curveExperiment(dir: string, steps: number, kernels: 'wasm' | 'blas'): Record<string, unknown> {
  return {
    seed: 3,
    data: { task: 'text', path: path.join(dir, 'text.txt'), seqLen: 16, valFraction: 0.1 },
    model: { cell: 'lstm', hidden: 24 },
    train: { batch: 8, steps, workers: 2, kernels, optimizer: { name: 'adam', lr: 0.01 }, evalEvery: 10, checkpointEvery: 100, logEvery: 1 },
  };
}

t.test('a run on blas follows the loss curve of one on wasm within float noise', { skip }, async (t) => {
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
