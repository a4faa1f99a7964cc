// Each rule across keys is stated once and says one thing wherever it is met: in an experiment
// file, in a checkpoint's config, or for a model that comes from train.init's checkpoint. And a
// checkpoint whose `data` or `config` metadata is malformed stops `recur` with one `error:` line
// naming the key, exit 2.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { decodeCheckpoint, encodeCheckpoint, saveCheckpoint, type CheckpointData } from '../../src/main/checkpoint/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { InputError } from '../../src/main/errors.js';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { resolveRun } from '../../src/main/training/resolve.js';
import { paramLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { errorLines, runRecur, tempDir } from '../helpers/cli.js';
import { thrownBy } from '../helpers/input-error.js';

const SINE = { task: 'sine', seqLen: 4, trainSize: 8, valSize: 4 };

function checkpointOf(cfg: ModelConfig, extra: Partial<CheckpointData> = {}): CheckpointData {
  return { cfg, params: new Float32Array(paramLayout(cfg).size).fill(0.25), optim: new Map(), ...extra };
}

/** The checkpoint's bytes with metadata entry `key` replaced by `text`. */
function withMetadata(bytes: Uint8Array, key: string, text: string): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes, 'x');
  return encodeSafetensors([...tensors].map(([name, { shape, data }]) => ({ name, shape, data: data as Float32Array })), { ...metadata, [key]: text });
}

function messageOf(fn: () => unknown): string {
  const thrown = thrownBy(fn);
  return thrown instanceof InputError ? thrown.message : `no InputError (got ${String(thrown)})`;
}

t.test('teacher forcing without output recurrence: one message, from the file and from a train.init checkpoint', async (t) => {
  const dir = tempDir(t);
  const hidden: ModelConfig = { cell: 'lstm', inputSize: 1, hidden: 3, layers: 1, outputSize: 1, recurrence: 'hidden', outputs: 'all' };
  const ckpt = join(dir, 'hidden.safetensors');
  saveCheckpoint(ckpt, checkpointOf(hidden));
  const problem = "e.yaml: train.teacherForcing: needs model.recurrence 'output'";

  const inFile = () => parseExperiment({ data: SINE, model: { cell: 'lstm', hidden: 3 }, train: { teacherForcing: true } }, 'e.yaml', dir);
  t.equal(messageOf(inFile), problem, 'the experiment file names it');
  const fromInit = parseExperiment({ data: SINE, train: { init: ckpt, teacherForcing: true } }, 'e.yaml', dir);
  t.equal(messageOf(() => resolveRun(fromInit, 'e.yaml')), problem, "the checkpoint's model meets the same rule, in the same words");

  const lastOnly = () => parseExperiment({ data: SINE, model: { cell: 'rnn', hidden: 3, recurrence: 'output', outputs: 'last' }, train: { teacherForcing: true } }, 'e.yaml', dir);
  t.equal(messageOf(lastOnly), "e.yaml: train.teacherForcing: needs model.outputs 'all'", 'a target at every step, checked with the experiment file');
  const teacherForced = parseExperiment({ data: SINE, model: { cell: 'rnn', hidden: 3, recurrence: 'output' }, train: { teacherForcing: true } }, 'e.yaml', dir);
  t.equal(teacherForced.train.teacherForcing, true, 'output recurrence with outputs all is teacher-forced');
});

t.test("output recurrence with 2 layers: one message, from the file and from a checkpoint's config", async (t) => {
  const problem = "recurrence 'output' needs exactly 1 layer, got 2";
  const inFile = () => parseExperiment({ data: SINE, model: { cell: 'rnn', hidden: 3, layers: 2, recurrence: 'output' } }, 'e.yaml', '/d');
  t.equal(messageOf(inFile), `e.yaml: model.layers: ${problem}`);

  const twoLayers: ModelConfig = { cell: 'rnn', inputSize: 1, hidden: 3, layers: 2, outputSize: 1, recurrence: 'hidden', outputs: 'all' };
  const config = JSON.stringify({ ...twoLayers, recurrence: 'output' });
  const bytes = withMetadata(encodeCheckpoint(checkpointOf(twoLayers)), 'config', config);
  t.equal(messageOf(() => decodeCheckpoint(bytes, 'm.safetensors')), `m.safetensors: __metadata__.config.layers: ${problem}`);
});

t.test('bidirectional where the targets are later inputs: one message, from the file and from a train.init checkpoint; and its agreement', async (t) => {
  const dir = tempDir(t);
  const bidirectional: ModelConfig = { cell: 'gru', inputSize: 1, hidden: 3, layers: 1, outputSize: 1, recurrence: 'hidden', outputs: 'all', bidirectional: true };
  const ckpt = join(dir, 'bidirectional.safetensors');
  saveCheckpoint(ckpt, checkpointOf(bidirectional));
  const problem = "e.yaml: model.bidirectional: not with outputs 'all' for task 'sine': each step's target is a later input, which the reverse direction reads (use outputs 'last')";

  const inFile = () => parseExperiment({ data: SINE, model: { cell: 'gru', hidden: 3, outputs: 'all', bidirectional: true } }, 'e.yaml', dir);
  t.equal(messageOf(inFile), problem, 'the experiment file names it');
  const fromInit = parseExperiment({ data: SINE, train: { init: ckpt } }, 'e.yaml', dir);
  t.equal(messageOf(() => resolveRun(fromInit, 'e.yaml')), problem, "the checkpoint's model meets the same rule, in the same words");

  const lastOnly = parseExperiment({ data: SINE, model: { cell: 'gru', hidden: 3, outputs: 'last', bidirectional: true } }, 'e.yaml', dir);
  t.equal(lastOnly.model!.bidirectional, true, 'one prediction after the last step is allowed');
  const unidirectional = parseExperiment({ data: SINE, model: { cell: 'gru', hidden: 3 }, train: { init: ckpt } }, 'e.yaml', dir);
  t.equal(messageOf(() => resolveRun(unidirectional, 'e.yaml')), `e.yaml: model.bidirectional: the checkpoint ${ckpt} has true, the experiment says false`, 'a model key given must agree with the checkpoint');
  t.notOk('bidirectional' in parseExperiment({ data: SINE, model: { cell: 'gru', hidden: 3 } }, 'e.yaml', dir).model!, 'absent when false: experiments read as before');

  const config = JSON.stringify({ ...bidirectional, recurrence: 'output' });
  const bytes = withMetadata(encodeCheckpoint(checkpointOf(bidirectional)), 'config', config);
  t.equal(messageOf(() => decodeCheckpoint(bytes, 'm.safetensors')), "m.safetensors: __metadata__.config.bidirectional: needs model.recurrence 'hidden' (the output fed back runs forward only)",
    "a checkpoint's config meets the same rule");
});

t.test('malformed checkpoint metadata: recur exits 2 with one error line naming the key', async (t) => {
  const dir = tempDir(t);
  const cfg: ModelConfig = { cell: 'lstm', inputSize: 2, hidden: 3, layers: 1, outputSize: 2, recurrence: 'hidden', outputs: 'last' };
  const meta = {
    task: 'sequences', features: ['x0', 'x1'], targets: ['y'], target: 'class', labels: ['a', 'b'], scalarTarget: false,
    normalization: { kind: 'zscore', columns: { x0: { shift: 0, scale: 1 }, x1: { shift: 0, scale: 1 } } },
  } as const;
  const good = encodeCheckpoint(checkpointOf(cfg, { data: { ...meta, labels: [...meta.labels], features: [...meta.features], targets: [...meta.targets] } }));
  const cases: [string, string, string, string][] = [
    ['data', JSON.stringify({ ...meta, task: 'text' }), '__metadata__.data.task', 'must be one of series, sequences, got "text"'],
    ['data', JSON.stringify({ ...meta, scalarTarget: 'no' }), '__metadata__.data.scalarTarget', 'must be true or false, got "no"'],
    ['data', JSON.stringify({ ...meta, labels: ['a', 'b', 'a'] }), '__metadata__.data.labels', 'has a repeated label'],
    ['data', '[]', '__metadata__.data', 'must be a JSON object'],
    ['config', JSON.stringify({ ...cfg, layers: 'two' }), '__metadata__.config.layers', 'must be a positive integer, got "two"'],
    ['config', JSON.stringify({ ...cfg, cel: 'lstm' }), '__metadata__.config.cel', 'unknown key (expected cell, inputSize, hidden, layers, outputSize, recurrence, outputs, embedding, tieWeights, bidirectional, vocab, tokens, lowercase, categorical)'],
  ];
  for (const [i, [entry, text, key, problem]] of cases.entries()) {
    const file = join(dir, `damaged-${i}.safetensors`);
    writeFileSync(file, withMetadata(good, entry, text));
    const result = await runRecur(['eval', '--checkpoint', file]);
    t.equal(result.code, 2, `${key}: exit 2; stderr:\n${result.stderr}`);
    t.same(errorLines(result.stderr), [`error: ${file}: ${key}: ${problem}`], `${key}: one error line`);
    t.equal(result.stderr.trim().split('\n').length, 1, `${key}: nothing else on stderr`);
  }
});

t.test("which data keys a task takes follows from its shape: another task's key names the tasks that take it", async (t) => {
  const withData = (data: Record<string, unknown>) => () => parseExperiment({ data, model: { cell: 'lstm', hidden: 2 } }, 'e.yaml', '/d');
  t.equal(messageOf(withData({ ...SINE, normalize: 'none' })), "e.yaml: data.normalize: only for task 'series' or 'sequences', got 'sine'");
  t.equal(messageOf(withData({ task: 'series', path: 'x.csv', seqLen: 4, valPath: 'v.jsonl' })), "e.yaml: data.valPath: only for task 'sequences', got 'series'");
  t.equal(messageOf(withData({ ...SINE, horizn: 2 })), "e.yaml: data.horizn: unknown key (did you mean 'horizon'?)", 'a misspelling still gets its suggestion');
  const sequences = parseExperiment({ data: { task: 'sequences', path: 's.jsonl' }, model: { cell: 'lstm', hidden: 2 } }, 'e.yaml', '/d');
  t.same(sequences.data, {
    task: 'sequences', path: '/d/s.jsonl', valFraction: 0.05, trainSize: 10000, valSize: 1000, symbols: 8, copyLength: 10, stateful: false,
    target: 'auto', normalize: 'zscore', minCount: 1,
  }, 'every default of the shape, in schema order');
});

t.test('token models: one message for an embedding off a token task and a tied head of the wrong size, from the file and from train.init; given keys agree with the checkpoint', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'text.txt'), 'abcabcabd abcab\n'.repeat(8));
  const embedded: ModelConfig = { cell: 'gru', inputSize: 1, hidden: 3, layers: 1, outputSize: 1, recurrence: 'hidden', outputs: 'all', embedding: 2 };
  const ckpt = join(dir, 'embedded.safetensors');
  saveCheckpoint(ckpt, checkpointOf(embedded));
  const problem = "e.yaml: model.embedding: needs token steps (task 'text' or 'sequences'), got task 'sine'";
  t.equal(messageOf(() => parseExperiment({ data: SINE, model: { cell: 'gru', hidden: 3, embedding: 2 } }, 'e.yaml', dir)), problem, 'the experiment file names it');
  const fromInit = parseExperiment({ data: SINE, train: { init: ckpt } }, 'e.yaml', dir);
  t.equal(messageOf(() => resolveRun(fromInit, 'e.yaml')), problem, "the checkpoint's model meets the same rule, in the same words");

  const text = { task: 'text', path: join(dir, 'text.txt'), seqLen: 4 };
  t.equal(messageOf(() => parseExperiment({ data: text, model: { cell: 'lstm', hidden: 3, tieWeights: true } }, 'e.yaml', dir)), 'e.yaml: model.tieWeights: needs model.embedding');
  const made = parseExperiment({ data: text, model: { cell: 'lstm', hidden: 3, embedding: 3, tieWeights: true } }, 'e.yaml', dir);
  t.same([made.model!.embedding, made.model!.tieWeights], [3, true], 'a tied text model is accepted');
  const untied = parseExperiment({ data: text, model: { cell: 'lstm', hidden: 3 } }, 'e.yaml', dir);
  t.notOk('embedding' in untied.model! || 'tieWeights' in untied.model!, 'absent keys stay absent (config.json reads as before)');

  // From a tied text checkpoint: the experiment's model keys must agree.
  const run = resolveRun(made, 'e.yaml');
  const tiedCkpt = join(dir, 'tied.safetensors');
  saveCheckpoint(tiedCkpt, checkpointOf(run.cfg, { vocab: run.dataset.vocab }));
  const agree = parseExperiment({ data: text, model: { cell: 'lstm', hidden: 3, embedding: 3 }, train: { init: tiedCkpt } }, 'e.yaml', dir);
  t.equal(resolveRun(agree, 'e.yaml').cfg.tieWeights, true, 'a model without tieWeights takes the checkpoint\'s');
  const disagree = parseExperiment({ data: text, model: { cell: 'lstm', hidden: 3, embedding: 3, tieWeights: false } }, 'e.yaml', dir);
  t.match(messageOf(() => resolveRun({ ...disagree, train: { ...disagree.train, init: tiedCkpt } }, 'e.yaml')), /^e\.yaml: model\.tieWeights: the checkpoint \S+ has true, the experiment says false$/);
});
