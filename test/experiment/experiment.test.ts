import t from 'tap';
import { expectInputError } from '../helpers/input-error.js';
import { join } from 'node:path';
import { InputError } from '../../src/main/errors.js';
import { applyOverride } from '../../src/main/experiment/overrides.js';
import { EXPERIMENT_KEYS } from '../../src/main/experiment/keys.js';
import { firstDifference, loadExperiment, parseExperiment, RESUME_MUTABLE_KEYS, type Experiment } from '../../src/main/experiment/experiment.js';

type Asserts = Pick<typeof t, 'match' | 'notMatch'>;
type WithTestdir = Pick<typeof t, 'testdir'>;

const MINIMAL = 'data: { task: text, path: corpus.txt, seqLen: 16 }\nmodel: { cell: lstm, hidden: 8 }\n';


/** Writes `text` as exp.yaml in a fresh folder and returns the file's path. */
function experimentFile(t: WithTestdir, text: string, fileName = 'exp.yaml'): string {
  return join(t.testdir({ [fileName]: text }), fileName);
}

t.test('a minimal experiment gets every default', async (t) => {
  const file = experimentFile(t, MINIMAL, 'charlm.yaml');
  const folder = join(file, '..');
  const expected: Experiment = {
    name: 'charlm',
    seed: 1,
    data: {
      task: 'text', path: join(folder, 'corpus.txt'), seqLen: 16, valFraction: 0.05,
      trainSize: 10000, valSize: 1000, symbols: 8, copyLength: 10, stateful: false, randomOffset: false,
    },
    model: { cell: 'lstm', hidden: 8, layers: 1, recurrence: 'hidden', outputs: 'all', forgetBias: 1, initScale: null, dropout: 0, lockedDropout: 0, weightDrop: 0 },
    train: {
      batch: 32, steps: 1000, workers: null,
      optimizer: { name: 'adam', lr: 0.002, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false },
      clip: 5, shuffle: true, evalEvery: 200, checkpointEvery: 500, logEvery: 10, evalBatches: null,
      teacherForcing: false, loss: 'auto', quantiles: null, kernels: 'auto', init: null, schedule: { name: 'constant', warmup: 0 }, earlyStopping: null,
    },
    output: { dir: join(folder, 'runs', 'charlm') },
  };
  t.strictSame(loadExperiment(file), expected);
});

t.test('defaults that depend on other keys', async (t) => {
  const adding = loadExperiment(experimentFile(t, 'data: { task: adding, seqLen: 50 }\nmodel: { cell: rnn, hidden: 8 }\n'));
  t.equal(adding.model?.outputs, 'last', "task 'adding' predicts after the last step only");
  t.equal(adding.data.path, undefined);

  const adamw = loadExperiment(experimentFile(t, `${MINIMAL}train: { optimizer: { name: adamw } }\n`));
  t.equal(adamw.train.optimizer.weightDecay, 0.01);
  const explicit = loadExperiment(experimentFile(t, `${MINIMAL}train: { optimizer: { name: adamw, weightDecay: 0.1 } }\n`));
  t.equal(explicit.train.optimizer.weightDecay, 0.1);

  const named = loadExperiment(experimentFile(t, `name: big\n${MINIMAL}`));
  t.equal(named.name, 'big');
  t.equal(named.output.dir, join(named.data.path!, '..', 'runs', 'big'), 'the output folder follows the name');
});

t.test('relative paths resolve against the experiment file, not the working directory', async (t) => {
  const root = t.testdir({
    experiments: {
      'exp.yaml': 'data: { task: text, path: ../data/a.txt, seqLen: 4 }\ntrain: { init: ckpt/start.safetensors }\noutput: { dir: out }\n',
    },
  });
  const experiment = loadExperiment(join(root, 'experiments', 'exp.yaml'));
  t.equal(experiment.data.path, join(root, 'data', 'a.txt'));
  t.equal(experiment.train.init, join(root, 'experiments', 'ckpt', 'start.safetensors'));
  t.equal(experiment.output.dir, join(root, 'experiments', 'out'));
  t.equal(experiment.model, undefined, 'the model comes from the checkpoint');

  const absolute = parseExperiment({ data: { task: 'text', path: '/abs/a.txt', seqLen: 4 }, model: { cell: 'rnn', hidden: 2 } }, 'x.json', '/elsewhere');
  t.equal(absolute.data.path, '/abs/a.txt', 'absolute paths stay');
  t.equal(absolute.name, 'x');
});

t.test('JSON experiments', async (t) => {
  const file = experimentFile(t, JSON.stringify({ data: { task: 'sine', seqLen: 20 }, model: { cell: 'rnn', hidden: 3 } }), 'wave.json');
  const experiment = loadExperiment(file);
  t.equal(experiment.name, 'wave');
  t.equal(experiment.data.task, 'sine');
});

t.test('--set reads values as YAML and creates missing sections', async (t) => {
  const file = experimentFile(t, 'data: { task: text, path: c.txt, seqLen: 8 }\nmodel: { cell: lstm, hidden: 4 }\n');
  const experiment = loadExperiment(file, [
    'train.optimizer.lr=0.01',
    'train.shuffle=false',
    'train.clip=null',
    'model.cell=rnn',
    'name=2024',
    'train.workers=3',
  ]);
  t.equal(experiment.train.optimizer.lr, 0.01);
  t.equal(experiment.train.shuffle, false);
  t.equal(experiment.train.clip, null);
  t.equal(experiment.model?.cell, 'rnn');
  t.equal(experiment.name, '2024', 'a string key keeps number-like text as a string');
  t.equal(experiment.train.workers, 3);
});

t.test('--set creates intermediate mappings', async (t) => {
  const raw: Record<string, unknown> = { model: null, train: { batch: 4 } };
  applyOverride(raw, 'train.optimizer.lr=1e-3', 'e.yaml');
  applyOverride(raw, 'model.hidden=7', 'e.yaml');
  applyOverride(raw, 'data.path=data/x y.txt', 'e.yaml');
  t.strictSame(raw, { model: { hidden: 7 }, train: { batch: 4, optimizer: { lr: 0.001 } }, data: { path: 'data/x y.txt' } });
});

t.test('--set errors', async (t) => {
  const file = experimentFile(t, MINIMAL);
  expectInputError(t, () => loadExperiment(file, ['train.optimizer.lrr=0.1']),
    /^--set: train\.optimizer\.lrr: not an experiment key \(did you mean 'train\.optimizer\.lr'\?\)$/);
  expectInputError(t, () => loadExperiment(file, ['lr=0.1']), /^--set: lr: .*did you mean 'train\.optimizer\.lr'/);
  expectInputError(t, () => loadExperiment(file, ['train.optimizer=0.1']), /^--set: train\.optimizer: .*section.*'train\.optimizer\.name'/);
  expectInputError(t, () => loadExperiment(file, ['train.batch']), /^--set: train\.batch: expected key\.path=value$/);
  expectInputError(t, () => loadExperiment(file, ['train.batch=[1,']), /^--set: train\.batch: cannot read the value/);
  // A bad value is reported against the experiment file, like any other bad value.
  expectInputError(t, () => loadExperiment(file, ['train.batch=[1,2]']), /exp\.yaml: train\.batch: expected a positive integer, got a list$/);
  expectInputError(t, () => applyOverride({ train: 5 }, 'train.batch=2', 'e.yaml'), /^e\.yaml: train: expected a mapping, got 5$/);
});

t.test('every bad experiment is one line naming the file and the key', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['unknown key', `${MINIMAL}train: { bach: 3 }\n`, /exp\.yaml: train\.bach: unknown key \(did you mean 'batch'\?\)$/],
    ['unknown key, case', 'data: { task: text, path: c.txt, seqLen: 16 }\nmodel: { cell: lstm, Hidden: 8 }\n',
      /exp\.yaml: model\.Hidden: unknown key \(did you mean 'hidden'\?\)$/],
    ['unknown key, nothing close', `${MINIMAL}colour: red\n`, /exp\.yaml: colour: unknown key$/],
    ['wrong type', `${MINIMAL}train: { batch: lots }\n`, /exp\.yaml: train\.batch: expected a positive integer, got "lots"$/],
    ['negative lr', `${MINIMAL}train: { optimizer: { lr: -0.1 } }\n`, /exp\.yaml: train\.optimizer\.lr: expected a positive number, got -0\.1$/],
    ['zero workers', `${MINIMAL}train: { workers: 0 }\n`, /exp\.yaml: train\.workers: expected a positive integer, got 0$/],
    ['fractional steps', `${MINIMAL}train: { steps: 2.5 }\n`, /exp\.yaml: train\.steps: expected a positive integer, got 2\.5$/],
    ['beta of 1', `${MINIMAL}train: { optimizer: { beta2: 1 } }\n`, /exp\.yaml: train\.optimizer\.beta2: expected a number in \[0, 1\), got 1$/],
    ['zero clip', `${MINIMAL}train: { clip: 0 }\n`, /exp\.yaml: train\.clip: expected a positive number, got 0$/],
    ['valFraction of 1', 'data: { task: text, path: c.txt, seqLen: 16, valFraction: 1 }\nmodel: { cell: lstm, hidden: 8 }\n',
      /exp\.yaml: data\.valFraction: expected a number in \[0, 1\), got 1$/],
    ['unknown cell', 'data: { task: text, path: c.txt, seqLen: 16 }\nmodel: { cell: gur, hidden: 8 }\n',
      /exp\.yaml: model\.cell: expected 'lstm', 'gru' or 'rnn', got "gur" \(did you mean 'gru'\?\)$/],
    ['unknown task', 'data: { task: Adding, seqLen: 16 }\nmodel: { cell: lstm, hidden: 8 }\n',
      /exp\.yaml: data\.task: expected 'text', 'adding', 'copy', 'sine', 'series' or 'sequences', got "Adding" \(did you mean 'adding'\?\)$/],
    ['missing key', 'data: { task: text, path: c.txt }\nmodel: { cell: lstm, hidden: 8 }\n',
      /exp\.yaml: data\.seqLen: missing \(expected a positive integer\)$/],
    ['section not a mapping', `${MINIMAL}train: 5\n`, /exp\.yaml: train: expected a mapping, got 5$/],
    ['text without a path', 'data: { task: text, seqLen: 16 }\nmodel: { cell: lstm, hidden: 8 }\n',
      /exp\.yaml: data\.path: required for task 'text'$/],
    ['recurrence output with 2 layers', 'data: { task: text, path: c.txt, seqLen: 16 }\nmodel: { cell: rnn, hidden: 8, layers: 2, recurrence: output }\n',
      /exp\.yaml: model\.layers: recurrence 'output' needs exactly 1 layer, got 2$/],
    ['teacher forcing without output recurrence', `${MINIMAL}train: { teacherForcing: true }\n`,
      /exp\.yaml: train\.teacherForcing: needs model\.recurrence 'output'$/],
    ['missing model without init', 'data: { task: text, path: c.txt, seqLen: 16 }\n', /exp\.yaml: model: required unless train\.init is set$/],
    ['broken YAML', 'data: { task: text, path: c.txt, seqLen: 16 }\nmodel:\n  cell: lstm\n   hidden: 8\n', /exp\.yaml: line 3, column 9: Nested mappings are not allowed in compact mappings$/],
    ['duplicate YAML key', `${MINIMAL}seed: 1\nseed: 2\n`, /exp\.yaml: line 4, column 1: Map keys must be unique$/],
    ['top level not a mapping', '- a\n- b\n', /exp\.yaml: expected a mapping of keys at the top level, got a list$/],
    ['empty file', '', /exp\.yaml: expected a mapping of keys at the top level, got nothing$/],
  ];
  for (const [what, text, pattern] of cases) {
    await t.test(what, async (t) => expectInputError(t, () => loadExperiment(experimentFile(t, text)), pattern));
  }
});

t.test('file-level errors', async (t) => {
  const folder = t.testdir({ 'bad.json': '{\n  "data": {"task": "sine",}\n}', 'multiline.json': '{\n"a": x}', 'exp.txt': 'x' });
  expectInputError(t, () => loadExperiment(join(folder, 'missing.yaml')), /missing\.yaml: file not found$/);
  expectInputError(t, () => loadExperiment(join(folder, 'bad.json')), /bad\.json: line 2, column \d+: Expected double-quoted property name$/);
  expectInputError(t, () => loadExperiment(join(folder, 'multiline.json')), /multiline\.json: \(json\): Unexpected token 'x'$/);
  expectInputError(t, () => loadExperiment(join(folder, 'exp.txt')), /exp\.txt: expected a \.yaml, \.yml or \.json file$/);
  expectInputError(t, () => parseExperiment([1], 'p.json', folder), /^p\.json: expected a mapping of keys at the top level, got a list$/);
});

t.test('model may be omitted when train.init is set', async (t) => {
  const experiment = parseExperiment({ data: { task: 'adding', seqLen: 10 }, train: { init: 'c.safetensors', teacherForcing: true } }, 'e.yaml', '/x');
  t.equal(experiment.model, undefined);
  t.equal(experiment.train.init, '/x/c.safetensors');
});

t.test('firstDifference', async (t) => {
  const base = parseExperiment({ data: { task: 'copy', seqLen: 10 }, model: { cell: 'lstm', hidden: 4 } }, 'e.yaml', '/x');
  const roundTripped: unknown = JSON.parse(JSON.stringify(base));
  t.equal(firstDifference(base, roundTripped, []), null, 'a JSON round trip changes nothing');

  const longer = structuredClone(base);
  longer.train.steps = 5000;
  longer.train.logEvery = 1;
  t.equal(firstDifference(base, longer, []), 'train.steps');
  t.equal(firstDifference(base, longer, RESUME_MUTABLE_KEYS), null);

  const faster = structuredClone(longer);
  faster.train.optimizer.lr = 0.1;
  t.equal(firstDifference(base, faster, RESUME_MUTABLE_KEYS), 'train.optimizer.lr');
  t.equal(firstDifference(base, faster, [...RESUME_MUTABLE_KEYS, 'train.optimizer']), null, 'ignoring a section ignores what is under it');

  const modelless = structuredClone(base);
  delete modelless.model;
  t.equal(firstDifference(base, modelless, []), 'model');
  t.equal(firstDifference({ a: [1, 2] }, { a: [1, 3] }, []), 'a.1');
});

t.test('the key lists', async (t) => {
  t.ok(EXPERIMENT_KEYS.includes('train.optimizer.lr'));
  t.ok(EXPERIMENT_KEYS.includes('data.copyLength'));
  t.notOk(EXPERIMENT_KEYS.includes('train.optimizer'), 'sections are not keys');
  t.equal(EXPERIMENT_KEYS.length, new Set(EXPERIMENT_KEYS).size);
  for (const key of RESUME_MUTABLE_KEYS) t.ok(EXPERIMENT_KEYS.includes(key), key);
});
