import t from 'tap';
import { expectInputError } from '../helpers/input-error.js';
import { join } from 'node:path';
import { InputError } from '../../src/main/errors.js';
import { expandTrials, loadSweep, type SweepSpec } from '../../src/main/experiment/sweep-file.js';

type Asserts = Pick<typeof t, 'match' | 'notMatch'>;
type WithTestdir = Pick<typeof t, 'testdir'>;

const BASE = 'data: { task: adding, seqLen: 20 }\nmodel: { cell: lstm, hidden: 8 }\n';

/** Writes `sweeps/s.yaml` next to `experiments/base.yaml` and returns the sweep file's path. */
function sweepFile(t: WithTestdir, text: string): string {
  const root = t.testdir({ experiments: { 'base.yaml': BASE }, sweeps: { 's.yaml': text } });
  return join(root, 'sweeps', 's.yaml');
}


const GRID = `base: ../experiments/base.yaml
method: grid
parameters:
  train.optimizer.lr: { values: [0.001, 0.003, 0.01] }
  model.hidden: { values: [64, 128] }
  model.cell: { values: [lstm, rnn] }
`;

t.test('a grid sweep gets its defaults and absolute paths', async (t) => {
  const file = sweepFile(t, GRID);
  const root = join(file, '..', '..');
  const spec = loadSweep(file);
  t.equal(spec.file, file);
  t.equal(spec.base, join(root, 'experiments', 'base.yaml'));
  t.equal(spec.name, 's');
  t.equal(spec.method, 'grid');
  t.equal(spec.trials, null);
  t.equal(spec.seed, 1);
  t.strictSame(spec.metric, { name: 'valLoss', goal: 'minimize' });
  t.strictSame(Object.keys(spec.parameters), ['train.optimizer.lr', 'model.hidden', 'model.cell'], 'listed order is kept');
  t.equal(spec.output.dir, join(root, 'sweeps', 'runs', 's'));
});

t.test('grid: the cartesian product, last parameter fastest', async (t) => {
  const trials = expandTrials(loadSweep(sweepFile(t, GRID)));
  t.equal(trials.length, 3 * 2 * 2);
  t.strictSame(trials[0], { 'train.optimizer.lr': 0.001, 'model.hidden': 64, 'model.cell': 'lstm' });
  t.strictSame(trials[1], { 'train.optimizer.lr': 0.001, 'model.hidden': 64, 'model.cell': 'rnn' });
  t.strictSame(trials[2], { 'train.optimizer.lr': 0.001, 'model.hidden': 128, 'model.cell': 'lstm' });
  t.strictSame(trials.at(-1), { 'train.optimizer.lr': 0.01, 'model.hidden': 128, 'model.cell': 'rnn' });
  t.equal(new Set(trials.map((trial) => JSON.stringify(trial))).size, trials.length, 'no combination twice');
});

const RANDOM = `base: ../experiments/base.yaml
method: random
trials: 50
seed: 9
metric: { name: loss, goal: maximize }
output: { dir: /tmp/somewhere }
parameters:
  train.clip: { min: 1, max: 10, distribution: log_uniform }
  train.optimizer.lr: { min: 0.0001, max: 0.1 }
  model.hidden: { min: 16, max: 20 }
  train.optimizer.name: { values: [adam, sgd] }
`;

t.test('random: reproducible draws within bounds', async (t) => {
  const spec = loadSweep(sweepFile(t, RANDOM));
  t.strictSame(spec.metric, { name: 'loss', goal: 'maximize' });
  t.equal(spec.output.dir, '/tmp/somewhere');
  t.equal(spec.parameters['train.optimizer.lr']!.distribution, 'uniform', 'real bounds mean a real draw');
  t.equal(spec.parameters['model.hidden']!.distribution, 'int_uniform', 'integer bounds mean an integer draw (as in W&B)');

  const trials = expandTrials(spec);
  t.equal(trials.length, 50);
  t.strictSame(expandTrials(spec), trials, 'the same seed gives the same trials');
  t.notSame(expandTrials({ ...spec, seed: 10 } satisfies SweepSpec), trials, 'another seed gives other trials');

  for (const trial of trials) {
    t.strictSame(Object.keys(trial), ['train.clip', 'train.optimizer.lr', 'model.hidden', 'train.optimizer.name']);
    const clip = trial['train.clip'] as number;
    const lr = trial['train.optimizer.lr'] as number;
    const hidden = trial['model.hidden'] as number;
    if (!(clip >= 1 && clip <= 10 && lr >= 0.0001 && lr <= 0.1 && Number.isInteger(hidden) && hidden >= 16 && hidden <= 20)) {
      t.fail(`out of bounds: ${JSON.stringify(trial)}`);
    }
    t.ok(['adam', 'sgd'].includes(trial['train.optimizer.name'] as string));
  }
  const hiddens = new Set(trials.map((trial) => trial['model.hidden']));
  t.strictSame([...hiddens].sort(), [16, 17, 18, 19, 20], 'int_uniform reaches both ends');
  const smallClips = trials.filter((trial) => (trial['train.clip'] as number) < Math.sqrt(10)).length;
  t.ok(smallClips > 10 && smallClips < 40, 'log_uniform puts about half the draws below the geometric mean');
});

t.test('every bad sweep is one line naming the file and the key', async (t) => {
  const header = 'base: ../experiments/base.yaml\nmethod: grid\n';
  const cases: [string, string, RegExp][] = [
    ['bad parameter path', `${header}parameters:\n  train.optimizer.lrr: { values: [1] }\n`,
      /sweeps\/s\.yaml: parameters\.train\.optimizer\.lrr: not an experiment key \(did you mean 'train\.optimizer\.lr'\?\)$/],
    ['a section as parameter', `${header}parameters:\n  model: { values: [1] }\n`, /s\.yaml: parameters\.model: not an experiment key: 'model' is a section/],
    ['grid with a range', `${header}parameters:\n  train.clip: { min: 1, max: 2 }\n`, /s\.yaml: parameters\.train\.clip: method 'grid' needs a list of values/],
    ['grid with trials', `${header}trials: 3\nparameters:\n  train.clip: { values: [1] }\n`, /s\.yaml: trials: only for method 'random'/],
    ['random without trials', 'base: ../experiments/base.yaml\nmethod: random\nparameters:\n  train.clip: { values: [1] }\n',
      /s\.yaml: trials: required for method 'random'$/],
    ['random with zero trials', 'base: ../experiments/base.yaml\nmethod: random\ntrials: 0\nparameters:\n  train.clip: { values: [1] }\n',
      /s\.yaml: trials: expected a positive integer, got 0$/],
    ['log_uniform from 0', 'base: ../experiments/base.yaml\nmethod: random\ntrials: 2\nparameters:\n  train.clip: { min: 0, max: 2, distribution: log_uniform }\n',
      /s\.yaml: parameters\.train\.clip\.min: log_uniform needs min > 0, got 0$/],
    ['min not below max', 'base: ../experiments/base.yaml\nmethod: random\ntrials: 2\nparameters:\n  train.clip: { min: 3, max: 2 }\n',
      /s\.yaml: parameters\.train\.clip: min must be less than max/],
    ['values and a range', 'base: ../experiments/base.yaml\nmethod: random\ntrials: 2\nparameters:\n  train.clip: { values: [1], max: 2 }\n',
      /s\.yaml: parameters\.train\.clip: give either values or min and max, not both$/],
    ['empty values', `${header}parameters:\n  train.clip: { values: [] }\n`, /s\.yaml: parameters\.train\.clip\.values: expected a non-empty list, got a list$/],
    ['unknown parameter field', `${header}parameters:\n  train.clip: { value: [1] }\n`, /s\.yaml: parameters\.train\.clip\.value: unknown key \(did you mean 'values'\?\)$/],
    ['no parameters', `${header}parameters: {}\n`, /s\.yaml: parameters: expected at least one parameter$/],
    ['unknown top-level key', `${header}metrc: {}\nparameters:\n  train.clip: { values: [1] }\n`, /s\.yaml: metrc: unknown key \(did you mean 'metric'\?\)$/],
    ['unknown method', 'base: ../experiments/base.yaml\nmethod: bayes\nparameters:\n  train.clip: { values: [1] }\n',
      /s\.yaml: method: expected 'grid' or 'random', got "bayes"$/],
    ['unknown metric', `${header}metric: { name: valloss }\nparameters:\n  train.clip: { values: [1] }\n`,
      /s\.yaml: metric\.name: expected .*, got "valloss" \(did you mean 'valLoss'\?\)$/],
    ['missing base', 'method: grid\nparameters:\n  train.clip: { values: [1] }\n', /s\.yaml: base: missing \(expected a non-empty string\)$/],
    ['base not found', 'base: nowhere.yaml\nmethod: grid\nparameters:\n  train.clip: { values: [1] }\n', /s\.yaml: base: experiment file not found: .*nowhere\.yaml$/],
  ];
  for (const [what, text, pattern] of cases) {
    await t.test(what, async (t) => expectInputError(t, () => loadSweep(sweepFile(t, text)), pattern));
  }
  expectInputError(t, () => loadSweep(join(t.testdir({}), 'gone.yaml')), /gone\.yaml: file not found$/);
});
