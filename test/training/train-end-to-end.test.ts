// A run through the trainer: the checkpoint has exactly the SPEC tensor names and shapes,
// reloads to the same loss, and an LSTM learns the adding problem (T = 50).
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { train } from '../../src/main/training/trainer.js';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { evaluateCheckpoint } from '../../src/main/inference/evaluate.js';

t.test('checkpoint names and shapes follow PyTorch; save → load gives the same loss', async (t) => {
  const dir = t.testdir();
  const text = join(dir, 'text.txt');
  writeFileSync(text, 'the quick brown fox jumps over the lazy dog. '.repeat(40));
  const exp = parseExperiment({
    data: { task: 'text', path: text, seqLen: 16, valFraction: 0.2 },
    model: { cell: 'lstm', hidden: 12, layers: 2 },
    train: { batch: 8, steps: 6, workers: 2, evalEvery: 6, optimizer: { name: 'adam', lr: 0.01 } },
    output: { dir: join(dir, 'run') },
  }, join(dir, 'exp.yaml'), dir);
  const result = await train(exp, { file: 'exp.yaml' });
  const V = 28; // 26 letters, space and '.'
  const { tensors, metadata } = readSafetensors(result.checkpoint);
  const shapes = Object.fromEntries([...tensors].filter(([n]) => !n.startsWith('optim.')).map(([n, x]) => [n, x.shape]));
  t.same(shapes, {
    'rnn.weight_ih_l0': [48, V], 'rnn.weight_hh_l0': [48, 12], 'rnn.bias_ih_l0': [48], 'rnn.bias_hh_l0': [48],
    'rnn.weight_ih_l1': [48, 12], 'rnn.weight_hh_l1': [48, 12], 'rnn.bias_ih_l1': [48], 'rnn.bias_hh_l1': [48],
    'head.weight': [V, 12], 'head.bias': [V],
  }, 'exactly the state_dict names and shapes of nn.LSTM(V, 12, 2) + nn.Linear(12, V)');
  t.ok([...tensors.values()].every((x) => x.dtype === 'F32'), 'every tensor is F32');
  t.ok(tensors.has('optim.m.rnn.weight_ih_l0') && tensors.has('optim.v.head.bias'), 'Adam state is saved');
  t.ok([...tensors.get('rnn.bias_hh_l0')!.data].every((x) => x === 0), 'bias_hh written as zeros');
  const config = JSON.parse(metadata.config!) as Record<string, unknown>;
  t.match(config, { cell: 'lstm', inputSize: V, hidden: 12, layers: 2, outputSize: V, recurrence: 'hidden', outputs: 'all' });
  t.equal(config.vocab, ' .abcdefghijklmnopqrstuvwxyz', 'vocab in code-point order');
  t.equal((JSON.parse(metadata.train!) as { step: number }).step, 6);

  const reloaded = await evaluateCheckpoint(result.checkpoint, {});
  t.ok(Math.abs(reloaded.loss - result.valLoss!) < 1e-6, `validation loss after reload ${reloaded.loss} equals the run's ${result.valLoss}`);
});

t.test('an LSTM learns the adding problem (T = 50) far below the 0.167 baseline', async (t) => {
  const dir = t.testdir();
  const exp = parseExperiment({
    seed: 3,
    data: { task: 'adding', seqLen: 50, trainSize: 4096, valSize: 512 },
    model: { cell: 'lstm', hidden: 32 },
    train: { batch: 32, steps: 600, workers: 2, evalEvery: 600, optimizer: { name: 'adam', lr: 0.01 }, clip: 1 },
    output: { dir: join(dir, 'run') },
  }, join(dir, 'adding.yaml'), dir);
  const result = await train(exp, { file: 'adding.yaml' });
  t.comment(`validation MSE after ${result.step} steps: ${result.valLoss}`);
  t.ok(result.valLoss! < 0.05, `validation MSE ${result.valLoss?.toFixed(4)} < 0.05 (baseline 0.167)`);
});

t.test('recur eval works for every task: the checkpoint\'s validation loss equals the run\'s', async (t) => {
  const dir = t.testdir();
  const tasks = {
    adding: { task: 'adding', seqLen: 8, trainSize: 64, valSize: 16 },
    copy: { task: 'copy', seqLen: 4, trainSize: 64, valSize: 16, copyLength: 3, symbols: 4 },
    sine: { task: 'sine', seqLen: 8, trainSize: 64, valSize: 16 },
  };
  for (const [name, data] of Object.entries(tasks)) {
    const exp = parseExperiment({
      name, data, model: { cell: 'rnn', hidden: 6 },
      train: { batch: 8, steps: 4, workers: 2, evalEvery: 4 },
      output: { dir: join(dir, name) },
    }, join(dir, `${name}.yaml`), dir);
    const result = await train(exp, { file: `${name}.yaml` });
    const evaluated = await evaluateCheckpoint(result.checkpoint, {});
    t.ok(Math.abs(evaluated.loss - result.valLoss!) <= 1e-6 * Math.abs(result.valLoss!), `${name}: ${evaluated.loss} = ${result.valLoss}`);
    t.equal(evaluated.bitsPerChar === null, name !== 'copy', `${name}: bits per symbol only for classification`);
  }
});
