// train.evalBatches limits a run's intermediate validation to part of the split: the logged
// valLoss then differs from the whole split's (the run's last line reads the whole split), a
// limit past the split's end changes nothing, and training itself is the same bit for bit. (Which batches are taken is the trainer's business; that the
// key is honoured at all is what this checks.)
import t from 'tap';
import { join } from 'node:path';
import { readMetrics, runRecur, tempDir, tinyExperiment, writeExperiment } from '../helpers/cli.js';

t.test('train.evalBatches: a part of the validation split, never the training', async (t) => {
  const dir = tempDir(t);
  // 40 validation sequences = 5 batches of 8; evaluated after steps 2 and 3.
  const experiment = (evalBatches: number | null): Record<string, unknown> => tinyExperiment({
    data: { task: 'sine', seqLen: 6, trainSize: 16, valSize: 40 },
    train: { batch: 8, steps: 3, workers: 1, evalEvery: 2, evalBatches },
  });
  const runs = { whole: null, one: 1, past: 1000 } as const;
  const results = await Promise.all(Object.entries(runs).map(([name, n]) => runRecur(['train', writeExperiment(dir, name, experiment(n))])));
  results.forEach((r, i) => t.equal(r.code, 0, `${Object.keys(runs)[i]}: exit 0`, { stderr: r.stderr }));
  const [whole, one, past] = Object.keys(runs).map((name) => readMetrics(join(dir, `run-${name}`)));
  t.same(one!.map((l) => l.loss), whole!.map((l) => l.loss), 'the same training losses with and without a limit');
  const evaluated = (lines: Array<Record<string, number>>): number[] => lines.filter((l) => l.valLoss !== undefined).map((l) => l.valLoss!);
  t.equal(evaluated(whole!).length, 2, 'two evaluations (steps 2 and 3)');
  t.same(evaluated(past!), evaluated(whole!), 'evalBatches past the end of the split: the whole split, bit for bit');
  const [sampled, last] = evaluated(one!);
  t.ok(Number.isFinite(sampled), 'evalBatches 1, the evaluation at step 2: a finite validation loss');
  t.not(sampled, evaluated(whole!)[0], `evalBatches 1, the evaluation at step 2: ${sampled}, not the whole split's ${evaluated(whole!)[0]}`);
  t.equal(last, evaluated(whole!)[1], "the run's last evaluation (step 3) reads the whole split, bit for bit (test/training/honest-validation.test.ts has the rest)");
  t.equal(evaluated(one!).length, 2, 'and as many evaluations');
});
