/**
 * The trial lifecycle both a local sweep and a queued one go through (src/main/sweep/trials.ts):
 * stable ids, one attempt's outcome, one line per finished trial.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from '../../src/main/errors.js';
import { loadSweep, type SweepSpec } from '../../src/main/experiment/sweep-file.js';
import { digest, failedRecord, namePart, planTrials, runTrialOnce, SweepFolder, trialExperiment, trialRecord, type FinishedTrial } from '../../src/main/sweep/trials.js';
import type { TrialRecord } from '../../src/main/sweep/records.js';

// A few steps of an 8-step adding problem with 4 hidden units: a fraction of a second.
const BASE = `data: { task: adding, seqLen: 8, trainSize: 64, valSize: 16 }
model: { cell: lstm, hidden: 4 }
train: { batch: 4, steps: 4, evalEvery: 2, logEvery: 1, workers: 1 }
`;

/** A sweep with two trials; the parameters are listed out of order on purpose. */
const SWEEP = `base: base.yaml
method: grid
parameters:
  seed: { values: [1, 2] }
  model.cell: { values: [lstm] }
`;

type WithTestdir = Pick<typeof t, 'testdir'>;

function sweepSpec(test: WithTestdir): SweepSpec {
  return loadSweep(join(test.testdir({ 'base.yaml': BASE, 'sweep.yaml': SWEEP }), 'sweep.yaml'));
}

function lines(path: string): TrialRecord[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrialRecord);
}

t.test('trial ids: the position and a hash of the parameters, whatever order the sweep file lists them in', async (t) => {
  const trials = planTrials(sweepSpec(t), '/sweeps/out');
  // Fixed values: a rerun of a sweep made by an earlier version must find its trials again.
  t.strictSame(trials.map((trial) => trial.id), ['trial-001-584f7f', 'trial-002-fceed8']);
  t.equal(trials[0]!.dir, join('/sweeps/out', 'trial-001-584f7f'));
  t.equal(digest([['model.cell', 'lstm'], ['seed', 1]], 6), '584f7f', 'the id hash is the digest of the sorted parameters');
  t.equal(namePart('lr sweep:2/a'), 'lr_sweep_2_a', 'names for queues and jobs: no ":" or spaces');
});

t.test('record: one line per trial id once it has a final record; failed lines until then', async (t) => {
  const spec = sweepSpec(t);
  const outDir = join(dirname(spec.base), 'out');
  const folder = new SweepFolder(spec, outDir, () => undefined);
  const [first, second] = folder.trials;
  const ok: TrialRecord = { id: first!.id, parameters: first!.parameters, metric: 0.5, status: 'ok', seconds: 1 };

  t.equal(folder.record(failedRecord(first!, new Error('diverged\nat step 3'), 0.2)), true, 'a failed record is written');
  t.equal(folder.record(ok), true, 'then the trial succeeds');
  t.equal(folder.record({ ...ok, metric: 0.4 }), false, 'the same trial delivered again');
  t.equal(folder.record(failedRecord(first!, 'failed on the queue', 0)), false, 'or failing after it succeeded');
  t.strictSame(lines(folder.trialsPath).map((r) => [r.status, r.metric, r.error]), [['failed', null, 'diverged'], ['ok', 0.5, undefined]],
    'one failed line (its first line of error), one ok line; the repeats wrote nothing');
  t.equal(folder.finished.get(first!.id)?.metric, 0.5);
  t.strictSame(folder.pending().map((trial) => trial.id), [second!.id], 'the other trial is still to run');

  const reopened = new SweepFolder(spec, outDir, () => undefined);
  t.equal(reopened.skipped, 1, 'a rerun finds the finished trial');
  t.equal(reopened.record(ok), false, 'and does not record it again');
  t.equal(lines(folder.trialsPath).length, 2);
  t.match(readFileSync(join(outDir, 'summary.md'), 'utf8'), /1 ok, 0 failed, 1 not finished yet/, 'the summary follows the records');
});

t.test('runTrialOnce: a trial that cannot be built, or fails in training, is a failed outcome with its message', async (t) => {
  const spec = sweepSpec(t);
  const [trial] = planTrials(spec, join(dirname(spec.base), 'out'));
  const bad = new InputError('base.yaml: model.hidden: expected a positive integer, got -1');
  const unbuilt = await runTrialOnce({ experiment: () => { throw bad; }, file: spec.base, metric: 'valLoss' });
  t.match(unbuilt, { status: 'failed', metric: null, error: bad.message, steps: 0, plannedSteps: 0 });
  t.equal((unbuilt as FinishedTrial).cause, bad, 'the error itself, so the sweep can tell bad input from a failed run');

  // 5 workers for a batch of 4: the experiment builds, train() throws.
  const tooMany = trialExperiment(spec, trial!, null);
  const thrown = await runTrialOnce({
    experiment: () => ({ ...tooMany, train: { ...tooMany.train, workers: 5 } }), file: spec.base, metric: 'valLoss',
  });
  t.match(thrown, { status: 'failed', metric: null, error: /train\.workers: 5 workers need a batch of at least 5/, plannedSteps: 4 });

  const record = trialRecord(trial!, thrown as FinishedTrial, true);
  t.strictSame(record, failedRecord(trial!, (thrown as FinishedTrial).error, (thrown as FinishedTrial).seconds),
    'a failed trial is recorded the same way wherever it failed: no steps or evaluations, even with early termination');
});

t.test('runTrialOnce: a trial that trains is ok with its final metric and its evaluations', async (t) => {
  const spec = sweepSpec(t);
  const [trial] = planTrials(spec, join(dirname(spec.base), 'out'));
  const seen: [number, number | undefined][] = [];
  const outcome = await runTrialOnce({
    experiment: () => trialExperiment(spec, trial!, 1), file: spec.base, metric: 'valLoss',
    onEval: (step, metric) => { seen.push([step, metric]); return undefined; },
  });
  t.equal(outcome.status, 'ok');
  const ok = outcome as FinishedTrial;
  const metrics = readFileSync(join(trial!.dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; valLoss?: number });
  const evals = metrics.filter((l) => l.valLoss !== undefined).map((l) => [l.step, l.valLoss!]);
  t.strictSame(ok.evals, evals, 'every evaluation, in order');
  t.strictSame(seen, evals, 'each passed to onEval');
  t.equal(ok.metric, evals.at(-1)![1], 'the final valLoss');
  t.match(ok, { steps: 4, plannedSteps: 4 });
  t.strictSame(Object.keys(trialRecord(trial!, ok, false)), ['id', 'parameters', 'metric', 'status', 'seconds'], 'without early termination');
  t.match(trialRecord(trial!, ok, true), { steps: 4, plannedSteps: 4, evals }, 'with it: the steps and evaluations ASHA replays');

  // A stop at the first evaluation ends the trial there, recorded with that evaluation's metric.
  const [, other] = planTrials(spec, join(dirname(spec.base), 'out2'));
  const stopped = await runTrialOnce({
    experiment: () => trialExperiment(spec, other!, 1), file: spec.base, metric: 'valLoss', onEval: () => 'stop',
  });
  t.match(stopped, { status: 'stopped', steps: 2 });
  t.equal((stopped as FinishedTrial).metric, (stopped as FinishedTrial).evals[0]![1]);
});
