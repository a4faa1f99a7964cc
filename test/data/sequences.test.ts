// Labelled sequences from JSON Lines (SPEC §4 `sequences`, §2 variable lengths): parsing and line
// numbers, the seeded split (indices asserted), labels and statistics from the training split
// only, a padded batch through the engine equal to each sequence run alone, and N workers = 1
// worker with variable lengths (dropout on).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { buildSequences, parseSequences, SequencesDataset, splitIndices, type SequencesOptions } from '../../src/main/data/sequences.js';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { Engine } from '../../src/main/engine/engine.js';
import { train } from '../../src/main/training/trainer.js';
import { evaluateSplit } from '../../src/main/inference/validation.js';
import { initParams } from '../../src/shared/model/init.js';
import { modelViews, paramLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { Network } from '../../src/shared/model/network.js';
import { Rng } from '../../src/shared/model/rng.js';
import { loadModelSync } from '../../src/main/inference/predict.js';
import { worse } from '../helpers/max-error.js';

const OPT: SequencesOptions = { target: 'auto', normalize: 'zscore', valFraction: 0, seed: 1 };
const lines = (...objects: unknown[]): string => objects.map((o) => JSON.stringify(o)).join('\n') + '\n';

t.test('parsing: steps of features or plain numbers, blank lines, each sequence knows its line', async (t) => {
  const f = parseSequences('\uFEFF' + lines({ x: [[1, 2], [3, 4], [5, 6]], y: 'a' }) + '\n' + lines({ x: [[7, 8]], y: 'b' }), 's.jsonl');
  t.equal(f.features, 2);
  t.same(f.sequences.map((s) => [s.line, s.length, Array.from(s.x), s.y]), [[1, 3, [1, 2, 3, 4, 5, 6], 'a'], [3, 1, [7, 8], 'b']]);
  const plain = parseSequences(lines({ x: [0.5, 1, 1.5], y: 2 }, { x: [4], y: [1] }), 'p.jsonl');
  t.equal(plain.features, 1, 'a list of numbers is one feature per step');
  t.same(Array.from(plain.sequences[0].x), [0.5, 1, 1.5]);
});

t.test('the seeded split: ⌈valFraction·n⌉ lines, disjoint, in file order, fixed by the seed', async (t) => {
  const a = splitIndices(10, 0.25, 3);
  t.same(a, { train: [0, 1, 4, 5, 6, 7, 8], val: [2, 3, 9] }, 'seed 3: sequences 2, 3 and 9 (0-based) are validation');
  t.same(splitIndices(10, 0.25, 3), a, 'the same seed gives the same split');
  t.not(JSON.stringify(splitIndices(10, 0.25, 4)), JSON.stringify(a), 'another seed another split');
  t.same(splitIndices(5, 0, 3), { train: [0, 1, 2, 3, 4], val: [] });
  const text = lines(...Array.from({ length: 10 }, (_, i) => ({ x: [i], y: i % 2 ? 'odd' : 'even' })));
  const d = buildSequences(parseSequences(text, 's.jsonl'), null, { ...OPT, valFraction: 0.25, seed: 3 }, 'exp.yaml');
  t.same(d.valLines, [3, 4, 10], 'the sequences of file lines 3, 4, 10 are validation');
  t.same(d.trainLines, [1, 2, 5, 6, 7, 8, 9]);
});

t.test('labels sorted (numbers, then strings by code point) and statistics from the training split only', async (t) => {
  const trainText = lines(
    { x: [[1, 10], [3, 10]], y: 'swipe' }, { x: [[5, 30]], y: 'circle' }, { x: [[7, 10], [9, 30], [11, 10]], y: 'Tap' }, { x: [[13, 30]], y: 'swipe' },
  );
  const valText = lines({ x: [[1000, -50]], y: 'circle' }, { x: [[-1000, 0], [0, 0]], y: 'Tap' });
  const d = buildSequences(parseSequences(trainText, 'train.jsonl'), parseSequences(valText, 'val.jsonl', 2), OPT, 'exp.yaml');
  t.same(d.meta.labels, ['Tap', 'circle', 'swipe'], 'code point order: capitals first');
  t.same(d.train.map((s) => s.label), [2, 1, 0, 2]);
  t.same(d.val.map((s) => s.label), [1, 0]);
  // Training steps of feature 0: 1, 3, 5, 7, 9, 11, 13 (mean 7, population std 4); feature 1:
  // four 10s and three 30s (mean 130/7). Validation values (±1000) change nothing.
  t.same(d.meta.normalization.columns.x0, { shift: 7, scale: 4 });
  const mean1 = 130 / 7, std1 = Math.sqrt((4 * (10 - mean1) ** 2 + 3 * (30 - mean1) ** 2) / 7);
  t.ok(Math.abs(d.meta.normalization.columns.x1.shift - mean1) < 1e-12 && Math.abs(d.meta.normalization.columns.x1.scale - std1) < 1e-12, 'feature 1: training mean and std');
  t.equal(d.val[0].x[0], Math.fround((1000 - 7) / 4), 'validation scaled with the training statistics');
  t.same(Object.keys(d.meta.normalization.columns), ['x0', 'x1'], 'no target statistics for classes');

  const numeric = buildSequences(parseSequences(lines({ x: [1], y: 10 }, { x: [2], y: 2 }, { x: [3], y: 'x' }), 'm.jsonl'), null, { ...OPT, target: 'class' }, 'exp.yaml');
  t.same(numeric.meta.labels, [2, 10, 'x'], 'numbers ascending, before strings');

  const values = buildSequences(parseSequences(lines({ x: [1, 2], y: [1, 10] }, { x: [3], y: [3, 30] }), 'v.jsonl'), null, { ...OPT, normalize: 'minmax' }, 'exp.yaml');
  t.equal(values.meta.target, 'value', 'auto: numbers are values');
  t.same(values.meta.normalization.columns, { x0: { shift: 1, scale: 2 }, y0: { shift: 1, scale: 2 }, y1: { shift: 10, scale: 20 } });
  t.same(Array.from(values.train[1].y), [1, 1]);
  t.same(Array.from(values.train[1].raw), [3, 30], 'targets kept in the data\'s units for the metrics');
  t.equal(values.meta.scalarTarget, false);
});

/** A JSON Lines text of n sequences of 1..7 steps of 2 features, labels a/b/c (or one value). */
function randomSequences(n: number, seed: number, kind: 'class' | 'value'): string {
  const rng = new Rng(seed, 0);
  return lines(...Array.from({ length: n }, () => {
    const x = Array.from({ length: 1 + rng.int(7) }, () => [rng.normal(), rng.normal() * 3 + 1]);
    return { x, y: kind === 'class' ? 'abc'[rng.int(3)] : x.length + rng.normal() };
  }));
}

t.test('a padded batch through the engine equals each sequence alone (2 workers, float32 engine vs float64 alone)', async (t) => {
  for (const kind of ['class', 'value'] as const) {
    const data = buildSequences(parseSequences(randomSequences(30, 5, kind), 's.jsonl'), null, { ...OPT, valFraction: 0.5, seed: 2 }, 'exp.yaml');
    const dataset = new SequencesDataset(data);
    const cfg: ModelConfig = { cell: 'lstm', inputSize: 2, hidden: 5, layers: 2, outputSize: dataset.outputSize, recurrence: 'hidden', outputs: 'last' };
    const engine = Engine.create({
      cfg, loss: dataset.loss, input: 'dense', seqLen: dataset.seqLen, batch: 4, workers: 2, variableLengths: true,
      optimizer: { name: 'sgd', lr: 0, momentum: 0, beta1: 0, beta2: 0, eps: 0, weightDecay: 0, nesterov: false },
      clip: null, teacherForcing: false, kernels: 'ts',
    });
    try {
      initParams(cfg, engine.plan.layout, engine.views.params, 3, { scale: 0.8, forgetBias: 1 });
      const together = await evaluateSplit(engine, dataset, cfg, 'val', null);
      // Each validation sequence alone, float64, T = its own length.
      const layout = paramLayout(cfg), params = Float64Array.from(engine.views.params);
      let lossSum = 0, hits = 0, squares = 0;
      for (const s of data.val) {
        const net = new Network({ cfg, loss: dataset.loss, input: 'dense', batch: 1, seqLen: s.length }, (n) => new Float64Array(n));
        lossSum += net.forward(modelViews(cfg, layout, params), {
          tokens: null, inputs: Float64Array.from(s.x), targetIds: kind === 'class' ? Int32Array.of(s.label) : null,
          targetValues: kind === 'value' ? Float64Array.from(s.y) : null,
        }, 1, { teacherForcing: false, gradScale: null });
        const y = Array.from(net.y.subarray(0, cfg.outputSize));
        if (kind === 'class') hits += y.indexOf(Math.max(...y)) === s.label ? 1 : 0;
        else {
          const c = data.meta.normalization.columns.y0;
          squares += (y[0] * c.scale + c.shift - s.raw[0]) ** 2;
        }
      }
      const alone = lossSum / data.val.length;
      t.equal(together.tokens, data.val.length, `${kind}: one prediction per sequence`);
      t.ok(Math.abs(together.loss - alone) <= 1e-5 * Math.abs(alone), `${kind}: loss ${together.loss} vs ${alone} alone`);
      if (kind === 'class') t.equal(together.scores!.accuracy, hits / data.val.length, 'accuracy from the workers\' outputs = from each alone');
      else t.ok(Math.abs(together.scores!.mse! - squares / data.val.length) <= 1e-5 * squares, 'MSE in the data\'s units = from each alone');
      t.ok(new Set(data.val.map((s) => s.length)).size > 2, 'the batch really mixes lengths');
    } finally {
      await engine.close();
    }
  }
});

t.test('N workers = 1 worker with variable lengths, dropout on (5 Adam steps, 1..3 workers)', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'seq.jsonl');
  writeFileSync(path, randomSequences(40, 9, 'class'));
  const run = async (workers: number) => {
    const exp = parseExperiment({
      seed: 4, data: { task: 'sequences', path, valFraction: 0.2 },
      model: { cell: 'gru', hidden: 6, layers: 2, dropout: 0.25 },
      train: { batch: 7, steps: 5, workers, kernels: 'wasm', evalEvery: 5, optimizer: { name: 'adam', lr: 0.01 } },
      output: { dir: join(dir, `w${workers}`) },
    }, join(dir, 'exp.yaml'), dir);
    return readSafetensors((await train(exp, { file: 'exp.yaml' })).checkpoint).tensors;
  };
  const one = await run(1);
  for (const workers of [2, 3]) {
    const many = await run(workers);
    let worst = 0;
    for (const [name, ref] of one) {
      const got = many.get(name)!;
      for (let k = 0; k < ref.data.length; k++) worst = worse(worst, Math.abs(got.data[k] - ref.data[k]) - (1e-6 + 1e-5 * Math.abs(ref.data[k])));
    }
    t.ok(worst <= 0, `${workers} workers: every value within atol 1e-6 + rtol 1e-5 of 1 worker`);
  }
});

t.test('token steps: vocabulary from the training lines only (count, then code points; minCount), unknown tokens <unk>, ids in the batch', async (t) => {
  const trainText = lines(
    { x: ['the', 'cat', 'sat'], y: 'a' }, { x: ['the', 'dog'], y: 'b' }, { x: ['a', 'cat', 'the'], y: 'a' }, { x: ['dog'], y: 'b' },
  );
  const valText = lines({ x: ['the', 'zebra', 'cat'], y: 'a' });
  const file = parseSequences(trainText, 'train.jsonl');
  t.equal(file.tokens, true, 'strings are tokens');
  const d = buildSequences(file, parseSequences(valText, 'val.jsonl', file.features, file.tokens), OPT, 'exp.yaml');
  // Counts: the 3, cat 2, dog 2, a 1, sat 1; ties by code point. zebra is only in validation.
  t.same(d.meta.vocabulary, ['<unk>', 'the', 'cat', 'dog', 'a', 'sat']);
  t.same(d.meta.features, ['x0'], 'one token per step');
  t.same(Object.keys(d.meta.normalization.columns), [], 'token ids are not scaled');
  t.same(Array.from(d.train[0].ids), [1, 2, 5]);
  t.same(Array.from(d.val[0].ids), [1, 0, 2], 'a token unseen in training is <unk>');
  const rare = buildSequences(file, null, { ...OPT, minCount: 2 }, 'exp.yaml');
  t.same(rare.meta.vocabulary, ['<unk>', 'the', 'cat', 'dog'], 'minCount 2 drops a and sat');
  t.same(Array.from(rare.train[2].ids), [0, 2, 1], 'a rare token reads as <unk>');

  const ds = new SequencesDataset(d);
  t.equal(ds.input, 'onehot', 'token ids in the tokens array');
  t.equal(ds.inputSize, 6, 'inputSize = the vocabulary');
  const out = { tokens: new Int32Array(3 * 2), inputs: new Float32Array(0), targetIds: new Int32Array(2), targetValues: new Float32Array(0), lengths: new Int32Array(2) };
  ds.fill('train', [0, 1], 0, 2, 'last', out);
  t.same(Array.from(out.tokens), [1, 1, 2, 3, 5, 0], 'time-major ids, padding 0');
  t.same(Array.from(out.lengths), [3, 2]);
});

t.test('token steps: one kind per file, with the line number', async (t) => {
  const mixed = (): unknown => parseSequences(lines({ x: ['a', 'b'], y: 1 }, { x: [1, 2], y: 2 }), 'm.jsonl');
  t.throws(mixed, { message: /m\.jsonl: line 2, x: has numbers, line 1 has tokens \(strings\)/ });
  t.throws(() => parseSequences(lines({ x: ['a', 2], y: 1 }), 'w.jsonl'), { message: /w\.jsonl: line 1, x\[1\]: expected a token/ });
  t.throws(() => parseSequences(lines({ x: [1], y: 1 }), 'v.jsonl', 1, true), { message: /v\.jsonl: line 1, x: has numbers, the training file has tokens/ });
});

t.test('token sequences trained end to end: N workers = 1 worker, and prediction maps unseen tokens to <unk>', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'words.jsonl');
  const rng = new Rng(12, 0), words = ['good', 'bad', 'fine', 'awful', 'great', 'poor', 'ok'];
  writeFileSync(path, lines(...Array.from({ length: 40 }, () => {
    const x = Array.from({ length: 1 + rng.int(6) }, () => words[rng.int(words.length)]);
    return { x, y: x.filter((w) => ['good', 'fine', 'great'].includes(w)).length * 2 >= x.length ? 'pos' : 'neg' };
  })));
  const run = async (workers: number) => {
    const exp = parseExperiment({
      seed: 4, data: { task: 'sequences', path, valFraction: 0.2, minCount: 2 },
      model: { cell: 'lstm', hidden: 6, embedding: 4 },
      train: { batch: 7, steps: 5, workers, kernels: 'wasm', evalEvery: 5, optimizer: { name: 'adam', lr: 0.01 } },
      output: { dir: join(dir, `w${workers}`) },
    }, join(dir, 'exp.yaml'), dir);
    return (await train(exp, { file: 'exp.yaml' })).checkpoint;
  };
  const oneFile = await run(1);
  const one = readSafetensors(oneFile).tensors;
  t.ok(one.has('embedding.weight') && one.has('optim.m.embedding.weight'), 'embedding.weight and its Adam state are saved');
  for (const workers of [2, 3]) {
    const many = readSafetensors(await run(workers)).tensors;
    let worst = 0;
    for (const [name, ref] of one) {
      const got = many.get(name)!;
      for (let k = 0; k < ref.data.length; k++) worst = worse(worst, Math.abs(got.data[k] - ref.data[k]) - (1e-6 + 1e-5 * Math.abs(ref.data[k])));
    }
    t.ok(worst <= 0, `${workers} workers: every value within atol 1e-6 + rtol 1e-5 of 1 worker`);
  }
  const model = loadModelSync(oneFile);
  t.equal(model.meta?.task === 'sequences' ? model.meta.vocabulary?.[0] : null, '<unk>', 'the vocabulary is in the checkpoint');
  const [unseen, unknown, known] = model.predict([['zebra', 'good'], ['<unk>', 'good'], ['bad', 'good']]);
  t.same(unseen, unknown, 'an unseen token predicts as <unk>');
  t.not(JSON.stringify(known), JSON.stringify(unseen), 'a known token is read as itself');
});
