/**
 * Bad input through the real CLI (SPEC §5): every case exits 2 with exactly one line,
 * `error: <file or flag>: <key>: <problem>`, no stack trace, and writes nothing at all — no run
 * folder (config.json, metrics.jsonl, checkpoint), no file anywhere.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { errorLines, merge, runRecur, stackLines, tempDir, tinyExperiment, writeExperiment, type RunResult } from '../helpers/cli.js';

interface Case {
  name: string;
  /** The recur arguments. */
  args: string[];
  /** Text the error line must contain: the file (or flag) and the key. */
  names: string[];
  /** Further patterns the error line must match (e.g. a did-you-mean). */
  match?: RegExp[];
  /** How the error line must begin: `error: <file>: <key>: ` for experiment cases. */
  prefix?: string;
  /** The case's run folder (output.dir), which must not come into being. */
  runDir?: string;
}

/** Every case below; a case that silently drops out of the table fails this count. */
const EXPECTED_CASES = 110;

/** Every file and folder under `root`, as sorted relative paths. */
function filesUnder(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[]).sort();
}

const TEXT = 'To be, or not to be, that is the question:\nWhether tis nobler in the mind to suffer\n'.repeat(6);

// Each case is a process of its own (EXPECTED_CASES of them): on a loaded machine the file needs longer
// than the suite's default per-file timeout.
t.setTimeout(900_000);

const dir = tempDir(t);
const file = (name: string): string => path.join(dir, name);
fs.writeFileSync(file('text.txt'), TEXT);
fs.writeFileSync(file('empty.txt'), '');
fs.writeFileSync(file('short.txt'), 'tiny text');
// Series (CSV) and sequences (JSON Lines) with one fault each.
const COUNTING = Array.from({ length: 30 }, (_, i) => `${i + 1},${i % 7}`).join('\n');
fs.writeFileSync(file('series.csv'), `day,temp\n${COUNTING}\n`);
fs.writeFileSync(file('series-text-cell.csv'), 'day,temp\n1,3\n2,warm\n3,5\n');
fs.writeFileSync(file('series-gap.csv'), 'day,temp\n1,3\n2,4\n3,\n4,6\n');
fs.writeFileSync(file('series-unsorted.csv'), 'day,temp\n1,3\n3,4\n2,5\n4,6\n');
fs.writeFileSync(file('series-repeated.csv'), 'day,temp\n1,3\n2,4\n2,5\n4,6\n');
fs.writeFileSync(file('series-short.csv'), 'day,temp\n1,3\n2,4\n3,5\n');
fs.writeFileSync(file('empty.csv'), '');
const jsonl = (...o: unknown[]): string => o.map((x) => JSON.stringify(x)).join('\n') + '\n';
fs.writeFileSync(file('seq.jsonl'), jsonl(...Array.from({ length: 12 }, (_, i) => ({ x: [[i, 1], [2, i]], y: i % 2 ? 'up' : 'down' }))));
fs.writeFileSync(file('empty.jsonl'), '\n');
fs.writeFileSync(file('seq-not-json.jsonl'), jsonl({ x: [1, 2], y: 'a' }) + '{"x": [1, 2], "y": "b"\n');
fs.writeFileSync(file('seq-features.jsonl'), jsonl({ x: [[1, 2], [3, 4]], y: 'a' }, { x: [[1, 2]], y: 'b' }, { x: [[1, 2], [3, 4, 5]], y: 'a' }));
fs.writeFileSync(file('seq-no-y.jsonl'), jsonl({ x: [1, 2], y: 'a' }, { x: [3] }));
fs.writeFileSync(file('seq-val-unseen.jsonl'), jsonl({ x: [[1, 1]], y: 'down' }, { x: [[2, 2]], y: 'sideways' }));
// Daily dates, and the same dates with gaps at every other row (no period to continue).
const DAYS = Array.from({ length: 30 }, (_, i) => new Date(Date.UTC(2020, 0, 1 + i)).toISOString().slice(0, 10));
fs.writeFileSync(file('series-dates.csv'), `date,temp,wind,site\n${DAYS.map((d, i) => `${d},${i % 7},${i % 3},north`).join('\n')}\n`);
// Two sites of 15 days each; site b's `kind` changes on its fifth row (line 21).
const SITES = ['a', 'b'].flatMap((site) => Array.from({ length: 15 }, (_, i) => `${site},${site === 'b' && i === 4 ? 'dry' : `wet-${site}`},${i + 1},${i % 5}`));
fs.writeFileSync(file('series-sites.csv'), `site,kind,day,temp\n${SITES.join('\n')}\n`);
const GAPPY = Array.from({ length: 30 }, (_, i) => new Date(Date.UTC(2020, 0, 1 + i + 3 * Math.floor(i / 2))).toISOString().slice(0, 10));
fs.writeFileSync(file('series-gappy-dates.csv'), `date,temp,wind\n${GAPPY.map((d, i) => `${d},${i % 7},${i % 3}`).join('\n')}\n`);
// Token steps (strings), and a file whose third line switches to numbers.
const WORDS = ['good', 'bad', 'fine', 'awful'];
fs.writeFileSync(file('seq-tokens.jsonl'), jsonl(...Array.from({ length: 12 }, (_, i) => ({ x: [WORDS[i % 4], WORDS[(i + 1) % 4]], y: i % 2 ? 'up' : 'down' }))));
fs.writeFileSync(file('seq-mixed.jsonl'), jsonl({ x: ['good', 'bad'], y: 'up' }, { x: ['fine'], y: 'down' }, { x: [1, 2], y: 'up' }));
// The same characters plus one the model has never seen.
fs.writeFileSync(file('text-plus-z.txt'), TEXT + 'Zebra\n');

const textExperiment = (over: Record<string, unknown> = {}): Record<string, unknown> => tinyExperiment({
  data: { task: 'text', path: file('text.txt'), seqLen: 8, valFraction: 0.1, trainSize: undefined, valSize: undefined },
  train: { steps: 2 },
  ...over,
});

/** A run folder for a case: given to the experiment as output.dir, checked for a checkpoint afterwards. */
const runFolder = (name: string): string => file(`run-${name}`);

/** An experiment file for a case, writing to its own run folder. */
function exp(name: string, content: Record<string, unknown>): { path: string; runDir: string } {
  const runDir = runFolder(name);
  const p = writeExperiment(dir, name, { ...content, output: { dir: runDir } });
  return { path: p, runDir };
}

/** Checkpoint corruptions of the base model (or of `from`), each a new file. */
function corrupt(name: string, edit: (bytes: Buffer) => Buffer, from = file('run-base/checkpoint.safetensors')): string {
  const bytes = fs.readFileSync(from);
  const out = file(name);
  fs.writeFileSync(out, edit(Buffer.from(bytes)));
  return out;
}

/** Series checkpoints `recur predict --steps` is misused with (trained before the cases run). */
const SERIES_MODELS = {
  horizon2: { features: ['temp'], horizon: 2 },
  otherFeature: { features: ['temp', 'wind'], targets: ['temp'], horizon: 1 },
  recursive: { features: ['temp'], horizon: 1 },
  calendar: { features: ['temp'], futureFeatures: ['wind'], horizon: 1 },
  categorical: { features: ['temp'], categorical: ['site'], horizon: 1 },
} as const;
const seriesModel = (name: keyof typeof SERIES_MODELS): string => file(`run-steps-${name}/checkpoint.safetensors`);

function cases(base: string): Case[] {
  const list: Case[] = [];
  const add = (c: Case): void => { list.push(c); };
  const train = (name: string, content: Record<string, unknown>, names: string[], match: RegExp[] = [], extra: string[] = []): void => {
    const e = exp(name, content);
    add({ name, args: ['train', e.path, ...extra], names: [e.path, ...names], match, prefix: `error: ${[e.path, ...names].join(': ')}: `, runDir: e.runDir });
  };

  train('unknown-key', tinyExperiment({ train: { optimiser: { lr: 0.1 } } }), ['train.optimiser'], [/unknown key/, /did you mean 'optimizer'/]);
  train('unknown-top-level-key', tinyExperiment({ modle: { cell: 'lstm', hidden: 4 } }), ['modle'], [/did you mean 'model'/]);
  train('wrong-type', tinyExperiment({ train: { batch: 'eight' } }), ['train.batch'], [/positive integer/]);
  train('negative-lr', tinyExperiment({ train: { optimizer: { name: 'adam', lr: -0.01 } } }), ['train.optimizer.lr'], [/positive/]);
  train('zero-workers-key', tinyExperiment({ train: { workers: 0 } }), ['train.workers']);
  {
    const e = exp('zero-workers-flag', tinyExperiment());
    add({ name: '--workers 0', args: ['train', e.path, '--workers', '0'], names: ['--workers'], match: [/positive integer/], runDir: e.runDir });
  }
  // The recurrent regularisers (SPEC §2, §4): each misuse names its key.
  train('locked-dropout-with-dropout', textExperiment({ model: { dropout: 0.2, lockedDropout: 0.3 } }), ['model.lockedDropout'], [/give only one of them/]);
  train('weight-drop-output-recurrence', textExperiment({ model: { recurrence: 'output', weightDrop: 0.3 } }), ['model.weightDrop'], [/needs model.recurrence 'hidden'/]);
  train('weight-drop-one', textExperiment({ model: { weightDrop: 1 } }), ['model.weightDrop'], [/\[0, 1\)/]);
  train('random-offset-stateful', merge(textExperiment(), { data: { stateful: true, randomOffset: true } }), ['data.randomOffset'], [/data.stateful/]);
  train('random-offset-not-text', tinyExperiment({ data: { randomOffset: true } }), ['data.randomOffset'], [/only for task 'text'/]);
  train('random-offset-one-window', merge(textExperiment(), { data: { path: file('short.txt'), seqLen: 4, randomOffset: true } }), ['data.randomOffset'], [/needs 2 training windows/]);
  train('unknown-cell', tinyExperiment({ model: { cell: 'cnn', hidden: 4 } }), ['model.cell'], [/'lstm', 'gru' or 'rnn'/]);
  train('misspelt-cell', tinyExperiment({ model: { cell: 'lstn', hidden: 4 } }), ['model.cell'], [/did you mean 'lstm'/]);
  {
    const p = writeExperiment(dir, 'broken.yaml', `data: {task: adding, seqLen: 8\nmodel: [cell: lstm\ntrain: {batch: 8}\noutput: {dir: ${runFolder('broken')}}\n`);
    add({ name: 'broken YAML', args: ['train', p], names: [p], match: [/line \d+/], runDir: runFolder('broken') });
  }
  {
    const p = file('no-such-experiment.yaml');
    add({ name: 'missing experiment file', args: ['train', p], names: [p], match: [/not found/] });
  }
  {
    // A data file that cannot be read: the one file-read wording, naming the data file.
    const e = exp('missing-data-file', textExperiment({ data: { task: 'text', path: file('no-such.txt'), seqLen: 8 } }));
    add({ name: 'missing-data-file', args: ['train', e.path], names: [file('no-such.txt')], match: [/: cannot read: no such file$/], prefix: `error: ${file('no-such.txt')}: cannot read: `, runDir: e.runDir });
  }
  train('empty-data-file', textExperiment({ data: { task: 'text', path: file('empty.txt'), seqLen: 8 } }), ['data.path'], [/empty/]);
  train('seqlen-too-long', textExperiment({ data: { task: 'text', path: file('short.txt'), seqLen: 64 } }), ['data.seqLen'], [/too long/]);

  const init = (name: string, ckpt: string, over: Record<string, unknown> = {}): Record<string, unknown> =>
    textExperiment({ train: { steps: 2, workers: 2, batch: 8, kernels: 'ts', init: ckpt }, model: undefined, ...over });

  const truncated = corrupt('truncated.safetensors', (b) => b.subarray(0, Math.floor(b.length * 0.6)));
  train('truncated-init', init('truncated-init', truncated), ['train.init', truncated], [/out of bounds|truncated/]);
  const garbled = corrupt('garbled.safetensors', (b) => { b.write('#!garbage{{', 8, 'latin1'); return b; });
  train('garbled-header', init('garbled-header', garbled), ['train.init', garbled, 'header'], [/JSON/]);
  const tooLong = corrupt('header-too-long.safetensors', (b) => { b.writeBigUInt64LE(BigInt(b.length) * 4n, 0); return b; });
  train('header-length-past-end', init('header-length-past-end', tooLong), ['train.init', tooLong, 'header'], [/exceeds/]);
  const tiny = corrupt('tiny.safetensors', (b) => b.subarray(0, 5));
  train('five-byte-init', init('five-byte-init', tiny), ['train.init', tiny, 'header'], [/too short/]);
  train('missing-init', init('missing-init', file('no-such.safetensors')), ['train.init', file('no-such.safetensors')], [/not found/]);
  // Word-level text: minCount and lowercase shape a word vocabulary; a character checkpoint has none.
  train('min-count-on-characters', textExperiment({ data: { task: 'text', path: file('text.txt'), seqLen: 8, minCount: 2 } }), ['data.minCount'], [/needs data.tokens 'word'/]);
  train('lowercase-on-characters', textExperiment({ data: { task: 'text', path: file('text.txt'), seqLen: 8, tokens: 'char', lowercase: true } }), ['data.lowercase'], [/needs data.tokens 'word'/]);
  train('unknown-tokens', textExperiment({ data: { task: 'text', path: file('text.txt'), seqLen: 8, tokens: 'words' } }), ['data.tokens'], [/did you mean 'word'/]);
  train('word-init-from-characters', init('word-init-from-characters', base, { data: { task: 'text', path: file('text.txt'), seqLen: 8, valFraction: 0.1, tokens: 'word' } }),
    ['data.tokens'], [/character model/]);
  train('vocab-mismatch', init('vocab-mismatch', base, { data: { task: 'text', path: file('text-plus-z.txt'), seqLen: 8, valFraction: 0.1 } }),
    ['data.path'], [/"Z"|Z/, /vocabulary/]);
  train('shape-mismatch', init('shape-mismatch', base, { model: { cell: 'lstm', hidden: 8 } }), ['model.hidden'], [/: model\.hidden: the checkpoint \S+ has 4, the experiment says 8$/]);
  train('init-on-other-task', init('init-on-other-task', base, { data: { task: 'adding', seqLen: 8, trainSize: 64, valSize: 16 } }), ['train.init']);

  // Token models (SPEC §2): an embedding needs token steps, token steps an embedding; a tied head is the embedding.
  train('embedding-on-adding', tinyExperiment({ model: { cell: 'lstm', hidden: 4, embedding: 4 } }), ['model.embedding'], [/needs token steps \(task 'text' or 'sequences'\), got task 'adding'$/]);
  train('tie-weights-sizes', textExperiment({ model: { cell: 'lstm', hidden: 4, embedding: 3, tieWeights: true } }), ['model.tieWeights'], [/needs model\.embedding = model\.hidden .*got 3 and 4$/]);
  train('tie-weights-on-sequences', tinyExperiment({ data: { task: 'sequences', path: file('seq-tokens.jsonl'), seqLen: undefined, valFraction: 0.25, trainSize: undefined, valSize: undefined }, model: { cell: 'lstm', hidden: 4, embedding: 4, tieWeights: true }, train: { batch: 4 } }),
    ['model.tieWeights'], [/needs task 'text'/]);
  train('embedding-init-scale-without-table', textExperiment({ model: { cell: 'lstm', hidden: 4, embeddingInitScale: 0.1 } }), ['model.embeddingInitScale'], [/needs an embedding table \(model\.embedding or data\.categorical\)$/]);
  train('token-sequences-without-embedding', tinyExperiment({ data: { task: 'sequences', path: file('seq-tokens.jsonl'), seqLen: undefined, valFraction: 0.25, trainSize: undefined, valSize: undefined }, train: { batch: 4 } }),
    ['model.embedding'], [/required: the steps of .* are tokens/]);
  train('embedding-on-numeric-sequences', tinyExperiment({ data: { task: 'sequences', path: file('seq.jsonl'), seqLen: undefined, valFraction: 0.25, trainSize: undefined, valSize: undefined }, model: { cell: 'gru', hidden: 4, embedding: 3 }, train: { batch: 4 } }),
    ['model.embedding'], [/the steps of .* are numbers$/]);
  {
    const e = exp('sequences-mixed-steps', tinyExperiment({ data: { task: 'sequences', path: file('seq-mixed.jsonl'), seqLen: undefined, valFraction: 0, trainSize: undefined, valSize: undefined }, model: { cell: 'gru', hidden: 4, embedding: 3 }, train: { batch: 2 } }));
    const names = [file('seq-mixed.jsonl'), 'line 3, x'];
    add({ name: 'sequences-mixed-steps', args: ['train', e.path], names, match: [/has numbers, line 1 has tokens \(strings\)/], prefix: `error: ${names.join(': ')}: `, runDir: e.runDir });
  }
  {
    // A tied checkpoint whose head.weight is not its embedding.weight.
    const tied = file('run-tied/checkpoint.safetensors');
    const untied = corrupt('tied-head-differs.safetensors', (b) => {
      const headerLength = Number(b.readBigUInt64LE(0));
      const header = JSON.parse(b.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
      const at = 8 + headerLength + header['head.weight']!.data_offsets[0];
      b.writeFloatLE(b.readFloatLE(at) + 0.5, at);
      return b;
    }, tied);
    add({ name: 'a tied checkpoint whose head.weight differs', args: ['sample', '--checkpoint', untied, '--length', '5'], names: [untied, 'head.weight'], match: [/differs from embedding\.weight at element 0/] });
  }

  add({ name: 'eval with a missing checkpoint', args: ['eval', '--checkpoint', file('no-such.safetensors')], names: [file('no-such.safetensors')], match: [/not found/] });
  add({ name: 'eval with a missing data file', args: ['eval', '--checkpoint', base, '--data', file('no-such.txt'), '--seq-len', '8'], names: [file('no-such.txt')], match: [/: cannot read: no such file$/], prefix: `error: ${file('no-such.txt')}: cannot read: ` });
  add({ name: 'eval with --seq-len 0', args: ['eval', '--checkpoint', base, '--data', file('text.txt'), '--seq-len', '0'], names: ['--seq-len'] });
  add({ name: 'eval of a text the vocabulary lacks', args: ['eval', '--checkpoint', base, '--data', file('text-plus-z.txt'), '--seq-len', '8'], names: ['--data'], match: [/vocabulary/] });
  add({ name: 'sample --temperature 0', args: ['sample', '--checkpoint', base, '--temperature', '0'], names: ['--temperature'] });
  add({ name: 'sample --prime with an unknown character', args: ['sample', '--checkpoint', base, '--prime', 'Zq'], names: ['--prime'], match: [/"Z"/] });
  add({ name: 'sample --length -3', args: ['sample', '--checkpoint', base, '--length', '-3'], names: ['--length'] });
  add({ name: 'sample with a garbled checkpoint', args: ['sample', '--checkpoint', garbled], names: [garbled, 'header'] });
  {
    const e = exp('unknown-flag', tinyExperiment());
    add({ name: 'unknown flag', args: ['train', e.path, '--wrokers', '2'], names: ['wrokers'], runDir: e.runDir });
    const s = exp('set-unknown-key', tinyExperiment());
    add({ name: '--set with an unknown key', args: ['train', s.path, '--set', 'train.optimizer.lrr=0.1'], names: ['--set', 'train.optimizer.lrr'], match: [/did you mean 'train.optimizer.lr'/], runDir: s.runDir });
    const v = exp('set-bad-value', tinyExperiment());
    add({ name: '--set with a bad value', args: ['train', v.path, '--set', 'train.steps=-5'], names: [v.path, 'train.steps'], runDir: v.runDir });
    const n = exp('set-no-equals', tinyExperiment());
    add({ name: '--set without =', args: ['train', n.path, '--set', 'train.steps'], names: ['--set', 'train.steps'], runDir: n.runDir });
  }
  add({ name: 'unknown command', args: ['trian'], names: ['trian'] });
  train('outputs-all-on-adding', tinyExperiment({ model: { cell: 'lstm', hidden: 4, outputs: 'all' } }), ['model.outputs'], [/adding/]);
  train('output-recurrence-2-layers', tinyExperiment({ data: { task: 'sine', seqLen: 8, trainSize: 64, valSize: 16 }, model: { cell: 'rnn', hidden: 4, layers: 2, recurrence: 'output' } }), ['model.layers'], [/recurrence 'output'/]);
  train('teacher-forcing-hidden', textExperiment({ train: { steps: 2, teacherForcing: true } }), ['train.teacherForcing'], [/output/]);
  // A bidirectional layer reads each sequence from its end: never where the targets are the next inputs.
  const bidirectional = { cell: 'lstm', hidden: 4, bidirectional: true };
  train('bidirectional-text', textExperiment({ model: bidirectional }), ['model.bidirectional'], [/: not for task 'text': the model predicts the next character/]);
  train('bidirectional-stateful', textExperiment({ data: { task: 'text', path: file('text.txt'), seqLen: 8, stateful: true }, model: bidirectional }), ['model.bidirectional'], [/: not with data\.stateful/]);
  train('bidirectional-sine-outputs-all', tinyExperiment({ data: { task: 'sine', seqLen: 8, trainSize: 64, valSize: 16 }, model: { ...bidirectional, outputs: 'all' } }),
    ['model.bidirectional'], [/: not with outputs 'all' for task 'sine'/]);
  train('bidirectional-weight-drop', tinyExperiment({ model: { ...bidirectional, weightDrop: 0.3 } }), ['model.bidirectional'], [/: not with model\.weightDrop/]);
  train('bidirectional-output-recurrence', tinyExperiment({ model: { ...bidirectional, cell: 'rnn', recurrence: 'output' } }), ['model.bidirectional'], [/: needs model\.recurrence 'hidden'/]);
  train('batch-over-train-set', tinyExperiment({ data: { task: 'adding', seqLen: 8, trainSize: 6, valSize: 4 } }), ['train.batch'], [/: train\.batch: 8 sequences per batch, but the training split has only 6$/]);
  train('workers-over-batch', tinyExperiment({ train: { batch: 2, workers: 3 } }), ['train.workers'], [/: 3 workers need a batch of at least 3 sequences \(train\.batch is 2\)$/]);
  train('text-without-path', textExperiment({ data: { task: 'text', seqLen: 8 } }), ['data.path']);
  train('unknown-task', tinyExperiment({ data: { task: 'addding', seqLen: 8 } }), ['data.task'], [/did you mean 'adding'/]);
  train('unknown-optimizer', tinyExperiment({ train: { optimizer: { name: 'rmsprop' } } }), ['train.optimizer.name']);
  const schedule = (name: string, given: Record<string, unknown>, names: string[], match: RegExp[] = []): void =>
    train(name, textExperiment({ train: { steps: 2, schedule: given } }), names, match);
  schedule('unknown-schedule', { name: 'cosin' }, ['train.schedule.name'], [/did you mean 'cosine'/]);
  schedule('negative-warmup', { name: 'cosine', warmup: -5 }, ['train.schedule.warmup'], [/non-negative integer/]);
  schedule('negative-min-lr', { name: 'cosine', minLr: -0.001 }, ['train.schedule.minLr'], [/≥ 0/]);
  schedule('schedule-foreign-key', { name: 'cosine', every: 100 }, ['train.schedule.every'], [/not a key of schedule 'cosine' \(it takes warmup, minLr\)$/]);
  schedule('step-without-every', { name: 'step', gamma: 0.5 }, ['train.schedule.every'], [/required by schedule 'step'$/]);
  schedule('plateau-factor-below-one', { name: 'plateau', factor: 0.5 }, ['train.schedule.factor'], [/> 1 \(the learning rate is divided by it\)/]);
  train('plateau-without-validation', textExperiment({ data: { task: 'text', path: file('text.txt'), seqLen: 8, valFraction: 0 }, train: { steps: 2, schedule: { name: 'plateau' } } }),
    ['train.schedule.name'], [/no validation split$/]);
  train('early-stopping-without-validation', textExperiment({ data: { task: 'text', path: file('text.txt'), seqLen: 8, valFraction: 0 }, train: { steps: 2, earlyStopping: { patience: 2 } } }),
    ['train.earlyStopping'], [/no validation split$/]);
  train('early-stopping-zero-patience', textExperiment({ train: { steps: 2, earlyStopping: { patience: 0 } } }), ['train.earlyStopping.patience'], [/positive integer/]);

  // Data files: the error names the data file and the line (and column), or the experiment key.
  const series = (over: Record<string, unknown> = {}): Record<string, unknown> =>
    tinyExperiment({ data: { task: 'series', path: file('series.csv'), time: 'day', features: ['temp'], seqLen: 4, valFraction: 0.2, trainSize: undefined, valSize: undefined, ...over } });
  const sequences = (over: Record<string, unknown> = {}): Record<string, unknown> =>
    tinyExperiment({ data: { task: 'sequences', path: file('seq.jsonl'), seqLen: undefined, valFraction: 0.25, trainSize: undefined, valSize: undefined, ...over }, train: { batch: 4 } });
  const dataFault = (name: string, content: Record<string, unknown>, names: string[], match: RegExp[] = []): void => {
    const e = exp(name, content);
    add({ name, args: ['train', e.path], names, match, prefix: `error: ${names.join(': ')}: `, runDir: e.runDir });
  };
  train('series-misspelt-column', series({ features: ['tmp'] }), ['data.features[0]'], [/no column "tmp"/, /did you mean "temp"\?/]);
  dataFault('series-non-numeric-cell', series({ path: file('series-text-cell.csv'), seqLen: 1 }), [file('series-text-cell.csv'), 'line 3, column "temp"'], [/"warm" is not a number/]);
  dataFault('series-missing-value', series({ path: file('series-gap.csv'), seqLen: 1 }), [file('series-gap.csv'), 'line 4, column "temp"'], [/missing value/, /ffill/]);
  dataFault('series-unsorted-time', series({ path: file('series-unsorted.csv'), seqLen: 1 }), [file('series-unsorted.csv'), 'line 4, column "day"'], [/comes before/]);
  dataFault('series-duplicate-time', series({ path: file('series-repeated.csv'), seqLen: 1 }), [file('series-repeated.csv'), 'line 4, column "day"'], [/repeats/]);
  dataFault('series-shorter-than-window', series({ path: file('series-short.csv'), seqLen: 3, horizon: 2 }), [file('series-short.csv'), 'line 2'], [/3 rows; a window needs seqLen \+ horizon = 5/]);
  train('series-horizon-zero', series({ horizon: 0 }), ['data.horizon'], [/positive integer, got 0/]);
  train('series-stride-negative', series({ stride: -2 }), ['data.stride'], [/positive integer, got -2/]);
  dataFault('series-empty-file', series({ path: file('empty.csv') }), [file('empty.csv'), 'line 1'], [/empty/]);
  const quantile = (over: Record<string, unknown>): Record<string, unknown> => ({ ...series(), train: { batch: 4, steps: 2, workers: 1, kernels: 'ts', loss: 'quantile', ...over } });
  train('quantile-level-out-of-range', quantile({ quantiles: [0, 0.5] }), ['train.quantiles.0'], [/quantile level in \(0, 1\), got 0$/]);
  train('quantiles-not-ascending', quantile({ quantiles: [0.9, 0.1] }), ['train.quantiles'], [/strictly ascending quantiles, got \[0\.9,0\.1\]$/]);
  train('quantiles-without-quantile-loss', quantile({ loss: 'auto', quantiles: [0.1, 0.9] }), ['train.quantiles'], [/needs train\.loss 'quantile'$/]);
  train('quantile-loss-on-adding', tinyExperiment({ train: { loss: 'quantile' } }), ['train.loss'], [/needs task 'series' or 'sequences', got 'adding'$/]);
  const classSequences = (target: 'class' | 'auto'): Record<string, unknown> =>
    ({ ...sequences({ target }), train: { batch: 4, steps: 2, workers: 1, kernels: 'ts', loss: 'quantile' } });
  train('quantile-loss-on-class-sequences', classSequences('class'), ['train.loss'], [/needs value targets, got data\.target 'class'$/]);
  train('quantile-loss-on-labels', classSequences('auto'), ['train.loss'], [/needs value targets, but \S+seq\.jsonl has class labels/]);
  train('quantile-loss-output-recurrence', { ...quantile({}), model: { cell: 'rnn', hidden: 4, recurrence: 'output' } }, ['train.loss'], [/needs model\.recurrence 'hidden'/]);
  const steps = (name: string, model: string, data: string, n: string, names: string[], match: RegExp[]): void =>
    add({ name, args: ['predict', '--checkpoint', model, '--data', file(data), '--steps', n, '--out', file('steps-out.csv')], names, match });
  steps('--steps on a horizon-2 model', seriesModel('horizon2'), 'series-dates.csv', '3', ['--steps'], [/^error: --steps: needs a model trained with horizon 1/]);
  steps('--steps with a feature that is not a target', seriesModel('otherFeature'), 'series-dates.csv', '3', ['--steps'], [/feature "wind" is neither a target nor a future feature/]);
  steps('--steps 0', seriesModel('recursive'), 'series-dates.csv', '0', ['--steps'], [/^error: --steps: expected a positive integer, got 0$/]);
  steps('--steps on irregular dates', seriesModel('recursive'), 'series-gappy-dates.csv', '3', [file('series-gappy-dates.csv'), 'column "date"'], [/no daily, weekly, monthly or yearly period/]);
  steps('--steps without the future rows', seriesModel('calendar'), 'series-dates.csv', '2', [file('series-dates.csv'), '--steps'], [/the series has 0 rows after its last observed one; forecasting 2 needs the futureFeatures \(wind\)/]);
  train('future-feature-also-a-feature', series({ path: file('series-dates.csv'), time: 'date', features: ['temp', 'wind'], futureFeatures: ['wind'] }), ['data.futureFeatures[0]'], [/"wind" is also in data\.features/]);
  steps('--steps not a number', seriesModel('recursive'), 'series-dates.csv', 'many', ['--steps'], [/^error: --steps: expected a positive integer, got NaN$/]);
  // Categorical series columns (data.categorical, model.categoricalEmbedding).
  const sites = (over: Record<string, unknown> = {}): Record<string, unknown> =>
    series({ path: file('series-sites.csv'), group: 'site', categorical: ['kind'], seqLen: 3, ...over });
  dataFault('categorical-varies-within-series', sites(), [file('series-sites.csv'), 'line 21, column "kind"'], [/"dry" differs from "wet-b" on line 17 of series "b"; a categorical column \(data\.categorical\) must be constant within a series$/]);
  train('categorical-missing-column', sites({ categorical: ['knd'] }), ['data.categorical[0]'], [/no column "knd"/, /did you mean "kind"\?/]);
  train('categorical-also-a-feature', sites({ features: ['temp', 'kind'] }), ['data.categorical.0'], [/"kind" is also in data\.features/]);
  train('categorical-on-text', textExperiment({ data: { task: 'text', path: file('text.txt'), seqLen: 8, categorical: ['kind'] } }), ['data.categorical'], [/only for task 'series', got 'text'$/]);
  train('categorical-embedding-without-columns', { ...series(), model: { cell: 'lstm', hidden: 4, categoricalEmbedding: 3 } }, ['model.categoricalEmbedding'], [/needs data\.categorical/]);
  add({ name: 'predict without the categorical column', args: ['predict', '--checkpoint', seriesModel('categorical'), '--data', file('series-gappy-dates.csv'), '--out', file('predict-out.csv')],
    names: [file('series-gappy-dates.csv'), 'line 1'], match: [/no column "site"/] });
  train('series-key-on-text', textExperiment({ data: { task: 'text', path: file('text.txt'), seqLen: 8, horizon: 2 } }), ['data.horizon'], [/only for task 'series'/]);
  dataFault('sequences-empty-file', sequences({ path: file('empty.jsonl') }), [file('empty.jsonl'), 'line 1'], [/empty/]);
  dataFault('sequences-line-not-json', sequences({ path: file('seq-not-json.jsonl') }), [file('seq-not-json.jsonl'), 'line 2'], [/not JSON/]);
  dataFault('sequences-feature-count', sequences({ path: file('seq-features.jsonl') }), [file('seq-features.jsonl'), 'line 3, x[1]'], [/has 3 features, line 1 has 2/]);
  dataFault('sequences-missing-y', sequences({ path: file('seq-no-y.jsonl') }), [file('seq-no-y.jsonl'), 'line 2'], [/missing "y"/]);
  dataFault('sequences-unseen-label', sequences({ valPath: file('seq-val-unseen.jsonl') }), [file('seq-val-unseen.jsonl'), 'line 2, y'], [/label "sideways" is not among the 2 labels of the training split \("down", "up"\)/]);
  {
    const p = writeExperiment(dir, 'list.yaml', '- data\n- model\n');
    add({ name: 'a list at the top level', args: ['train', p], names: [p], match: [/mapping/] });
  }
  return list;
}

t.test('bad inputs exit 2 with one error line naming the file and the key', async (t) => {
  // A tiny text model to point train.init, eval and sample at, and to corrupt.
  const baseExp = writeExperiment(dir, 'base', { ...textExperiment(), output: { dir: runFolder('base') } });
  const made = await runRecur(['train', baseExp]);
  t.equal(made.code, 0, `the base model trains; stderr:\n${made.stderr}`);
  const base = file('run-base/checkpoint.safetensors');
  for (const [name, keys] of Object.entries(SERIES_MODELS)) {
    const made = await runRecur(['train', writeExperiment(dir, `steps-${name}`, {
      ...tinyExperiment({ data: { task: 'series', path: file('series-dates.csv'), time: 'date', seqLen: 4, valFraction: 0.2, trainSize: undefined, valSize: undefined, ...keys }, train: { steps: 2, workers: 1 } }),
      output: { dir: file(`run-steps-${name}`) },
    })]);
    t.equal(made.code, 0, `the series model ${name} trains; stderr:\n${made.stderr}`);
  }
  const tiedMade = await runRecur(['train', writeExperiment(dir, 'tied', {
    ...textExperiment({ model: { cell: 'gru', hidden: 4, embedding: 4, tieWeights: true } }), output: { dir: runFolder('tied') },
  })]);
  t.equal(tiedMade.code, 0, `the tied model trains; stderr:\n${tiedMade.stderr}`);
  const table = cases(base);
  t.equal(table.length, EXPECTED_CASES, `${table.length} distinct bad inputs`);
  const filesBefore = filesUnder(dir);
  t.equal(new Set(table.map((c) => c.name)).size, table.length, 'case names are distinct');

  // Each case is its own process; run a few at once (they are tiny and mostly fail at once).
  const results: RunResult[] = new Array(table.length);
  let next = 0;
  await Promise.all(Array.from({ length: 3 }, async () => {
    while (next < table.length) {
      const i = next++;
      results[i] = await runRecur(table[i]!.args, { timeoutMs: 60_000 });
    }
  }));

  t.same(filesUnder(dir), filesBefore, 'no case wrote a file or folder anywhere');

  table.forEach((c, i) => {
    const res = results[i]!;
    t.test(c.name, async (t) => {
      const lines = res.stderr.split('\n').filter((l) => l.trim() !== '');
      t.equal(res.code, 2, `exit code 2 (recur ${c.args.join(' ')}); stderr:\n${res.stderr}`);
      t.equal(lines.length, 1, 'exactly one line on stderr');
      t.equal(errorLines(res.stderr).length, 1, 'it starts with "error: "');
      const line = lines[0] ?? '';
      for (const n of c.names) t.ok(line.includes(n), `names ${JSON.stringify(n)}: ${line}`);
      for (const m of c.match ?? []) t.match(line, m, `says ${m}`);
      t.same(stackLines(res.stderr), [], 'no stack trace');
      t.equal(res.stdout, '', 'nothing on stdout');
      if (c.prefix) t.ok(line.startsWith(c.prefix), `begins ${JSON.stringify(c.prefix)}`);
      if (c.runDir) t.notOk(fs.existsSync(c.runDir), 'no run folder: no config.json, metrics.jsonl or checkpoint');
    });
  });
});
