// A fresh run's initial weights (model.initScale, model.forgetBias and their defaults), read from
// a checkpoint of a run whose one step cannot move them (SGD with lr 1e-30): every tensor uniform
// in ±initScale (default PyTorch's 1/√hidden), and the LSTM forget-gate bias — rows H..2H of each
// layer's bias in PyTorch's gate order i, f, g, o — at forgetBias (default 1, as char-rnn).
// Embedding tables start N(0, 1) as nn.Embedding, or uniform in ±model.embeddingInitScale.
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import { paramLayout, tensorViews } from '../../src/shared/model/layout.js';
import { runRecur, tempDir, tinyExperiment, writeExperiment } from '../helpers/cli.js';
import { sampleText } from '../helpers/text.js';

const H = 16;

async function initialWeights(t: Test, name: string, model: Record<string, unknown>, data: Record<string, unknown> = { task: 'copy', seqLen: 4, trainSize: 16, valSize: 4 }): Promise<{ tensors: Map<string, Float32Array>; config: { model: Record<string, unknown> } }> {
  const dir = tempDir(t);
  if (data.task === 'text') writeFileSync(join(dir, 'words.txt'), sampleText(4000));
  const exp = writeExperiment(dir, name, tinyExperiment({
    data: data.task === 'text' ? { ...data, path: join(dir, 'words.txt') } : data,
    model,
    train: { batch: 8, steps: 1, workers: 1, optimizer: { name: 'sgd', lr: 1e-30 }, clip: null },
  }));
  const res = await runRecur(['train', exp]);
  t.equal(res.code, 0, `${name}: recur train exits 0`, { stderr: res.stderr });
  const ck = loadCheckpoint(join(dir, `run-${name}`, 'checkpoint.safetensors'));
  return { tensors: tensorViews(paramLayout(ck.cfg), ck.params), config: JSON.parse(readFileSync(join(dir, `run-${name}`, 'config.json'), 'utf8')) };
}

/** Checks the values are uniform in ±scale: inside it, reaching near both ends, centred. */
function checkUniform(t: Test, name: string, values: ArrayLike<number>, scale: number): void {
  const v = Array.from(values);
  const max = Math.max(...v), min = Math.min(...v), mean = v.reduce((a, b) => a + b, 0) / v.length;
  t.ok(max <= scale && min >= -scale, `${name}: inside ±${scale.toFixed(4)} (${min.toFixed(4)} .. ${max.toFixed(4)})`);
  if (v.length >= 100) {
    t.ok(max > 0.9 * scale && min < -0.9 * scale, `${name}: spread over the whole range`);
    t.ok(Math.abs(mean) < 0.1 * scale, `${name}: centred (mean ${mean.toFixed(4)})`);
  }
}

t.test('defaults: LSTM weights in ±1/√hidden, forget-gate bias 1 in every layer', async (t) => {
  const { tensors, config } = await initialWeights(t, 'lstm', { cell: 'lstm', hidden: H, layers: 2 });
  t.equal(config.model.forgetBias, 1, 'config.json records forgetBias 1');
  t.equal(config.model.initScale, null, 'and initScale null (1/√hidden)');
  const scale = 1 / Math.sqrt(H);
  let checked = 0;
  for (const [name, values] of tensors) {
    if (/^rnn\.bias_ih_l\d$/.test(name)) {
      t.ok(values.subarray(H, 2 * H).every((b) => b === 1), `${name}: the forget gate's ${H} rows are 1`);
      checkUniform(t, `${name} (i, g, o rows)`, [...values.subarray(0, H), ...values.subarray(2 * H)], scale);
    } else {
      checkUniform(t, name, values, scale);
    }
    checked++;
  }
  t.equal(checked, 8, 'both layers and the head');
});

t.test('explicit initScale and forgetBias; a tanh RNN has no forget gate', async (t) => {
  const lstm = await initialWeights(t, 'lstm-set', { cell: 'lstm', hidden: H, initScale: 0.05, forgetBias: -2 });
  for (const [name, values] of lstm.tensors) {
    if (name === 'rnn.bias_ih_l0') {
      t.ok(values.subarray(H, 2 * H).every((b) => b === -2), 'forget-gate bias -2');
      checkUniform(t, 'the other gates\' bias', [...values.subarray(0, H), ...values.subarray(2 * H)], 0.05);
    } else {
      checkUniform(t, name, values, 0.05);
    }
  }
  const rnn = await initialWeights(t, 'rnn', { cell: 'rnn', hidden: H });
  for (const [name, values] of rnn.tensors) checkUniform(t, `rnn ${name}`, values, 1 / Math.sqrt(H));
});

t.test('embedding tables: N(0, 1) as nn.Embedding by default, uniform in ±embeddingInitScale when given', async (t) => {
  const words = { task: 'text', tokens: 'word', seqLen: 8, valFraction: 0.2 };
  const normal = await initialWeights(t, 'emb-normal', { cell: 'gru', hidden: H, embedding: H, tieWeights: true }, words);
  const table = Array.from(normal.tensors.get('embedding.weight')!);
  t.ok(table.length >= 100, `embedding.weight has ${table.length} values`);
  const mean = table.reduce((a, b) => a + b, 0) / table.length;
  const sd = Math.sqrt(table.reduce((a, b) => a + (b - mean) ** 2, 0) / table.length);
  t.ok(Math.abs(mean) < 0.2 && sd > 0.85 && sd < 1.15, `default: mean ${mean.toFixed(3)}, sd ${sd.toFixed(3)} (N(0, 1))`);
  t.ok(Math.max(...table.map(Math.abs)) > 1, 'and not bounded by 1 as a uniform start would be');
  t.notOk('embeddingInitScale' in normal.config.model, 'config.json leaves embeddingInitScale out when not given');
  const uniform = await initialWeights(t, 'emb-uniform', { cell: 'gru', hidden: H, embedding: H, tieWeights: true, embeddingInitScale: 0.1 }, words);
  checkUniform(t, 'embedding.weight with embeddingInitScale 0.1', uniform.tensors.get('embedding.weight')!, 0.1);
  t.equal(uniform.config.model.embeddingInitScale, 0.1, 'config.json records embeddingInitScale');
  for (const [name, values] of uniform.tensors) if (name !== 'embedding.weight' && name !== 'head.weight') checkUniform(t, `${name} keeps ±1/√hidden`, values, 1 / Math.sqrt(H));
});
