/**
 * ONNX export checked by a runtime no one here wrote: for each kind of model (LSTM, GRU, RNN; one
 * and two layers; class and value targets; fixed and variable lengths; series with zscore and
 * minmax, with a future feature, with categorical columns; text; token models with an embedding, tied or not;
 * bidirectional layers, outputs last and all), ONNX Runtime's outputs on the exported graph equal recur's own forward pass
 * within 1e-5 (relative to the largest output), in the data's own units.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { saveCheckpoint, type CheckpointData } from '../../src/main/checkpoint/checkpoint.js';
import type { DataMeta, SequencesMeta, SeriesMeta } from '../../src/main/data/metadata.js';
import { scaleValue } from '../../src/main/data/normalize.js';
import { exportOnnx, GATE_ORDER } from '../../src/main/export/onnx.js';
import { Forward } from '../../src/main/inference/forward.js';
import { loadModelSync } from '../../src/main/inference/predict.js';
import { initParams } from '../../src/shared/model/init.js';
import { modelViews, paramLayout } from '../../src/shared/model/layout.js';
import { Network } from '../../src/shared/model/network.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { Rng } from '../../src/shared/model/rng.js';
import { errorLines, runRecur, tempDir } from '../helpers/cli.js';

const TOLERANCE = 1e-5;

function checkpoint(cfg: ModelConfig, seed: number, extra: Partial<CheckpointData> = {}): CheckpointData {
  const layout = paramLayout(cfg);
  const params = new Float32Array(layout.size);
  // A wide init so every gate matters: a gate-order mistake moves the outputs far beyond tolerance.
  initParams(cfg, layout, params, seed, { scale: 0.6, forgetBias: 0.5 });
  return { cfg, params, optim: new Map(), ...extra };
}

async function session(ck: CheckpointData): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(exportOnnx(ck, 'test.safetensors'), { intraOpNumThreads: 1 });
}

/** max |a − b| / max |b|: the relative error of a whole output tensor. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return a.length === b.length ? diff / Math.max(scale, 1e-30) : Infinity;
}

function randomSequences(rng: Rng, count: number, lengths: (i: number) => number, F: number): number[][][] {
  return Array.from({ length: count }, (_, i) => Array.from({ length: lengths(i) }, () => Array.from({ length: F }, () => 5 + 3 * rng.normal())));
}

function sequencesMeta(target: 'class' | 'value', F: number, outputs: number, kind: 'zscore' | 'minmax'): SequencesMeta {
  const features = Array.from({ length: F }, (_, f) => `x${f}`);
  const targets = target === 'class' ? ['y'] : Array.from({ length: outputs }, (_, k) => `y${k}`);
  const columns: Record<string, { shift: number; scale: number }> = {};
  features.forEach((name, f) => { columns[name] = { shift: kind === 'zscore' ? 5 + f : -1, scale: kind === 'zscore' ? 3 - 0.5 * f : 16 }; });
  if (target === 'value') targets.forEach((name, k) => { columns[name] = { shift: 10 * k - 3, scale: 2 + k }; });
  return {
    task: 'sequences', features, targets, target,
    labels: target === 'class' ? Array.from({ length: outputs }, (_, k) => `c${k}`) : null,
    scalarTarget: false, normalization: { kind, columns },
  };
}

const CELLS = ['lstm', 'gru', 'rnn'] as const;

t.test('GATE_ORDER takes every PyTorch gate block exactly once', async (t) => {
  for (const cell of CELLS) t.same([...GATE_ORDER[cell]].sort(), [0, 1, 2, 3].slice(0, GATE_ORDER[cell].length), cell);
  t.same(GATE_ORDER.lstm, [0, 3, 1, 2], 'ONNX i, o, f, c from PyTorch i, f, g, o');
  t.same(GATE_ORDER.gru, [1, 0, 2], 'ONNX z, r, h from PyTorch r, z, n');
});

for (const cell of CELLS) {
  for (const layers of [1, 2]) {
    for (const variable of [false, true]) {
      t.test(`sequences, class targets: ${cell}, ${layers} layer(s), ${variable ? 'variable' : 'fixed'} lengths`, async (t) => {
        const F = 3, O = 4;
        const cfg: ModelConfig = { cell, inputSize: F, hidden: 12, layers, outputSize: O, recurrence: 'hidden', outputs: 'last' };
        const meta = sequencesMeta('class', F, O, 'zscore');
        const ck = checkpoint(cfg, 11 + layers, { data: meta });
        const rng = new Rng(5, 1);
        const seqs = randomSequences(rng, 7, (i) => (variable ? 3 + ((i * 5) % 9) : 8), F);
        const T = Math.max(...seqs.map((s) => s.length));
        const x = new Float32Array(seqs.length * T * F);
        seqs.forEach((s, b) => s.forEach((step, k) => x.set(step, (b * T + k) * F)));
        const s = await session(ck);
        t.same(s.inputNames, ['x', 'lengths']);
        t.same(s.outputNames, ['y', 'probs']);
        const out = await s.run({
          x: new ort.Tensor('float32', x, [seqs.length, T, F]),
          lengths: new ort.Tensor('int32', Int32Array.from(seqs, (q) => q.length), [seqs.length]),
        });
        // recur's forward in the model's units, each sequence at its own last step.
        const fwd = new Forward(cfg, ck.params, 'ce', 'wasm');
        const scaled = seqs.map((q) => q.flatMap((step) => step.map((v, f) => scaleValue(meta.normalization.columns[`x${f}`]!, v))));
        const logits = fwd.run(scaled).flatMap((y) => [...y]);
        t.ok(relativeError(out.y!.data as Float32Array, logits) <= TOLERANCE, `logits within ${TOLERANCE}: ${relativeError(out.y!.data as Float32Array, logits).toExponential(2)}`);
        // And the API's probabilities in the data's units.
        const dir = tempDir(t);
        const file = path.join(dir, 'model.safetensors');
        saveCheckpoint(file, ck);
        const probs = loadModelSync(file).predict(seqs).flatMap((p) => ('probs' in p ? Object.values(p.probs) : []));
        t.ok(relativeError(out.probs!.data as Float32Array, probs) <= TOLERANCE, 'probs as loadModel().predict gives them');
      });
    }
  }
}

for (const cell of ['lstm', 'gru'] as const) {
  t.test(`bidirectional, sequences, class targets: ${cell}, 2 layers, variable lengths`, async (t) => {
    const F = 3, O = 4;
    const cfg: ModelConfig = { cell, inputSize: F, hidden: 12, layers: 2, outputSize: O, recurrence: 'hidden', outputs: 'last', bidirectional: true };
    const meta = sequencesMeta('class', F, O, 'zscore');
    const ck = checkpoint(cfg, 21, { data: meta });
    const seqs = randomSequences(new Rng(6, 1), 7, (i) => 2 + ((i * 5) % 9), F);
    const T = Math.max(...seqs.map((s) => s.length));
    const x = new Float32Array(seqs.length * T * F);
    seqs.forEach((s, b) => s.forEach((step, k) => x.set(step, (b * T + k) * F)));
    const s = await session(ck);
    const out = await s.run({
      x: new ort.Tensor('float32', x, [seqs.length, T, F]),
      lengths: new ort.Tensor('int32', Int32Array.from(seqs, (q) => q.length), [seqs.length]),
    });
    t.same(out.y!.dims, [seqs.length, O]);
    // recur: the head on [h_fwd at each sequence's own last step ; h_rev after its step 0].
    const fwd = new Forward(cfg, ck.params, 'ce', 'wasm');
    const scaled = seqs.map((q) => q.flatMap((step) => step.map((v, f) => scaleValue(meta.normalization.columns[`x${f}`]!, v))));
    const logits = fwd.run(scaled).flatMap((y) => [...y]);
    t.ok(relativeError(out.y!.data as Float32Array, logits) <= TOLERANCE, `logits within ${TOLERANCE}: ${relativeError(out.y!.data as Float32Array, logits).toExponential(2)}`);
  });
}

t.test('bidirectional, every step out: gru, 2 layers, [T, 2, B, H] laid out as [B, T, 2H]', async (t) => {
  const F = 3, O = 5, T = 6, B = 4;
  const cfg: ModelConfig = { cell: 'gru', inputSize: F, hidden: 8, layers: 2, outputSize: O, recurrence: 'hidden', outputs: 'all', bidirectional: true };
  const ck = checkpoint(cfg, 5);
  const rng = new Rng(3, 4);
  const x = Float32Array.from({ length: B * T * F }, () => rng.normal());
  const s = await session(ck);
  t.same(s.inputNames, ['x'], 'fixed lengths: no lengths input');
  const out = await s.run({ x: new ort.Tensor('float32', x, [B, T, F]) });
  t.same(out.y!.dims, [B, T, O]);
  // recur's network over the same batch, time-major.
  const net = new Network({ cfg, loss: 'mse', input: 'dense', batch: B, seqLen: T }, (n): Float32Array => new Float32Array(n));
  const inputs = new Float32Array(T * B * F);
  for (let b = 0; b < B; b++) for (let k = 0; k < T; k++) for (let f = 0; f < F; f++) inputs[(k * B + b) * F + f] = x[(b * T + k) * F + f]!;
  net.forward(modelViews(cfg, paramLayout(cfg), ck.params), { tokens: null, inputs, targetIds: null, targetValues: new Float32Array(T * B * O) }, B, { teacherForcing: false, gradScale: null });
  const expected: number[] = [];
  for (let b = 0; b < B; b++) for (let k = 0; k < T; k++) for (let o = 0; o < O; o++) expected.push(net.y[(k * B + b) * O + o]!);
  t.ok(relativeError(out.y!.data as Float32Array, expected) <= TOLERANCE, `outputs at every step: ${relativeError(out.y!.data as Float32Array, expected).toExponential(2)}`);
});

for (const cell of CELLS) {
  t.test(`sequences, value targets with minmax: ${cell}, 2 layers`, async (t) => {
    const F = 2, O = 2;
    const cfg: ModelConfig = { cell, inputSize: F, hidden: 10, layers: 2, outputSize: O, recurrence: 'hidden', outputs: 'last' };
    const meta = sequencesMeta('value', F, O, 'minmax');
    const ck = checkpoint(cfg, 3, { data: meta });
    const seqs = randomSequences(new Rng(9, 2), 6, (i) => 4 + i, F);
    const T = Math.max(...seqs.map((s) => s.length));
    const x = new Float32Array(seqs.length * T * F);
    seqs.forEach((s, b) => s.forEach((step, k) => x.set(step, (b * T + k) * F)));
    const s = await session(ck);
    t.same(s.outputNames, ['y'], 'no probs for values');
    const out = await s.run({
      x: new ort.Tensor('float32', x, [seqs.length, T, F]),
      lengths: new ort.Tensor('int32', Int32Array.from(seqs, (q) => q.length), [seqs.length]),
    });
    const dir = tempDir(t);
    const file = path.join(dir, 'model.safetensors');
    saveCheckpoint(file, ck);
    const values = loadModelSync(file).predict(seqs).flatMap((p) => ('value' in p ? [p.value].flat() : []));
    t.ok(relativeError(out.y!.data as Float32Array, values) <= TOLERANCE, `values in the data's units: ${relativeError(out.y!.data as Float32Array, values).toExponential(2)}`);
  });
}

for (const [cell, kind] of [['lstm', 'zscore'], ['gru', 'minmax'], ['rnn', 'zscore']] as const) {
  t.test(`series with ${kind}: ${cell}, horizon 2, two targets`, async (t) => {
    const features = ['a', 'b'], targets = ['a', 'b'], T = 6, horizon = 2;
    const rows = 20, rng = new Rng(4, 3);
    const table = Array.from({ length: rows }, (_, r) => [100 + 10 * Math.sin(r / 3) + rng.normal(), 0.5 * r + rng.normal()]);
    const columns: Record<string, { shift: number; scale: number }> = kind === 'zscore'
      ? { a: { shift: 100, scale: 7 }, b: { shift: 5, scale: 3 } }
      : { a: { shift: 88, scale: 25 }, b: { shift: -1, scale: 12 } };
    const meta: SeriesMeta = {
      task: 'series', time: null, group: null, features, targets, seqLen: T, horizon, stride: 1,
      missing: 'error', difference: false, delimiter: ',', normalization: { kind, columns }, quantiles: null, futureFeatures: [], categorical: [],
    };
    const cfg: ModelConfig = { cell, inputSize: 2, hidden: 9, layers: 1, outputSize: targets.length * horizon, recurrence: 'hidden', outputs: 'last' };
    const ck = checkpoint(cfg, 21, { data: meta as DataMeta });
    const dir = tempDir(t);
    const file = path.join(dir, 'model.safetensors');
    saveCheckpoint(file, ck);
    const csv = `a,b\n${table.map((r) => r.join(',')).join('\n')}\n`;
    const forecasts = loadModelSync(file).forecastCsv(csv, 'series.csv');
    const windows = rows - T + 1;
    t.equal(forecasts.length, windows, 'a forecast after every full window');
    const x = new Float32Array(windows * T * 2);
    for (let w = 0; w < windows; w++) for (let k = 0; k < T; k++) x.set(table[w + k]!, (w * T + k) * 2);
    const out = await (await session(ck)).run({ x: new ort.Tensor('float32', x, [windows, T, 2]) });
    // ONNX output o = k·G + g (step-major), as the checkpoint's outputs.
    const expected = forecasts.flatMap((f) => Array.from({ length: horizon * targets.length }, (_, o) => f.values[`${targets[o % 2]}_t+${Math.floor(o / 2) + 1}`]!));
    t.ok(relativeError(out.y!.data as Float32Array, expected) <= TOLERANCE, `forecasts in the data's units: ${relativeError(out.y!.data as Float32Array, expected).toExponential(2)}`);
  });
}

t.test('series with a future feature: each step\'s x row is its features, then the next row\'s future features', async (t) => {
  const T = 5, rows = 18, rng = new Rng(6, 2);
  // a: the target (and feature); c: a calendar-like covariate known ahead.
  const table = Array.from({ length: rows }, (_, r) => [20 + 4 * Math.sin(r / 2) + rng.normal(), Math.cos(r / 3)]);
  const meta: SeriesMeta = {
    task: 'series', time: null, group: null, features: ['a'], targets: ['a'], seqLen: T, horizon: 1, stride: 1,
    missing: 'error', difference: false, delimiter: ',', normalization: { kind: 'zscore', columns: { a: { shift: 20, scale: 3 }, c: { shift: 0.1, scale: 0.7 } } },
    quantiles: null, futureFeatures: ['c'], categorical: [],
  };
  const cfg: ModelConfig = { cell: 'lstm', inputSize: 2, hidden: 7, layers: 1, outputSize: 1, recurrence: 'hidden', outputs: 'last' };
  const ck = checkpoint(cfg, 23, { data: meta as DataMeta });
  const dir = tempDir(t);
  const file = path.join(dir, 'model.safetensors');
  saveCheckpoint(file, ck);
  const forecasts = loadModelSync(file).forecastCsv(`a,c\n${table.map((r) => r.join(',')).join('\n')}\n`, 'series.csv');
  // A window of rows w..w+T−1 reads c of rows w+1..w+T, so the last row's c is read by no window.
  const windows = rows - T;
  t.equal(forecasts.length, windows, `a forecast after every window whose next row is in the file (${windows})`);
  const x = new Float32Array(windows * T * 2);
  for (let w = 0; w < windows; w++) for (let k = 0; k < T; k++) x.set([table[w + k]![0]!, table[w + k + 1]![1]!], (w * T + k) * 2);
  const out = await (await session(ck)).run({ x: new ort.Tensor('float32', x, [windows, T, 2]) });
  const expected = forecasts.map((f) => f.values['a_t+1']!);
  t.ok(relativeError(out.y!.data as Float32Array, expected) <= TOLERANCE, `forecasts in the data's units: ${relativeError(out.y!.data as Float32Array, expected).toExponential(2)}`);
});

t.test('series with two categorical columns: a categories [B, C] int64 input, embedding rows after the features, unseen levels as <unk>', async (t) => {
  const T = 4, rows = 9, rng = new Rng(8, 3);
  const stores = [['north', 'x'], ['south', 'x'], ['east', 'y']] as const; // east and y: never seen in training
  const meta: SeriesMeta = {
    task: 'series', time: null, group: 'store', features: ['a'], targets: ['a'], futureFeatures: [], seqLen: T, horizon: 1, stride: 1,
    missing: 'error', difference: false, delimiter: ',', normalization: { kind: 'zscore', columns: { a: { shift: 20, scale: 3 } } }, quantiles: null,
    categorical: [{ column: 'store', levels: ['<unk>', 'north', 'south'] }, { column: 'kind', levels: ['<unk>', 'x'] }],
  };
  const cfg: ModelConfig = { cell: 'lstm', inputSize: 1, hidden: 7, layers: 2, outputSize: 1, recurrence: 'hidden', outputs: 'last', categorical: [{ column: 'store', levels: 3, width: 2 }, { column: 'kind', levels: 2, width: 3 }] };
  const ck = checkpoint(cfg, 41, { data: meta as DataMeta });
  const dir = tempDir(t);
  const file = path.join(dir, 'model.safetensors');
  saveCheckpoint(file, ck);
  const values = stores.map(() => Array.from({ length: rows }, (_, r) => 20 + 3 * Math.sin(r) + rng.normal()));
  const csv = 'store,kind,a\n' + stores.flatMap(([store, kind], i) => values[i]!.map((v) => `${store},${kind},${v}`)).join('\n') + '\n';
  const forecasts = loadModelSync(file).forecastCsv(csv, 'series.csv');
  const windows = rows - T + 1, B = stores.length * windows;
  t.equal(forecasts.length, B, 'a forecast after every full window of every store');
  const x = new Float32Array(B * T), categories = new BigInt64Array(B * 2);
  const ids = [[1n, 1n], [2n, 1n], [0n, 0n]];
  stores.forEach((_, i) => {
    for (let w = 0; w < windows; w++) {
      for (let k = 0; k < T; k++) x[(i * windows + w) * T + k] = values[i]![w + k]!;
      categories.set(ids[i]!, (i * windows + w) * 2);
    }
  });
  const s = await session(ck);
  t.same(s.inputNames, ['x', 'categories']);
  const out = await s.run({ x: new ort.Tensor('float32', x, [B, T, 1]), categories: new ort.Tensor('int64', categories, [B, 2]) });
  const expected = forecasts.map((f) => f.values['a_t+1']!);
  t.ok(relativeError(out.y!.data as Float32Array, expected) <= TOLERANCE, `forecasts in the data's units: ${relativeError(out.y!.data as Float32Array, expected).toExponential(2)}`);
  categories.fill(1n);
  const same = await s.run({ x: new ort.Tensor('float32', x, [B, T, 1]), categories: new ort.Tensor('int64', categories, [B, 2]) });
  t.ok(relativeError(same.y!.data as Float32Array, expected) > 1e-3, 'the categories change the forecasts');
});

t.test('series with quantiles: sorted like recur\'s predictions, in the data\'s units', async (t) => {
  const T = 5, horizon = 2, quantiles = [0.1, 0.5, 0.9], Q = quantiles.length;
  const rows = 14, rng = new Rng(6, 3);
  const table = Array.from({ length: rows }, (_, r) => [50 + 5 * Math.cos(r / 2) + rng.normal()]);
  const meta = {
    task: 'series', time: null, group: null, features: ['a'], targets: ['a'], futureFeatures: [], seqLen: T, horizon, stride: 1,
    missing: 'error', difference: false, delimiter: ',', normalization: { kind: 'zscore', columns: { a: { shift: 50, scale: 4 } } }, quantiles,
  } as unknown as SeriesMeta;
  const cfg: ModelConfig = { cell: 'lstm', inputSize: 1, hidden: 8, layers: 1, outputSize: horizon * Q, recurrence: 'hidden', outputs: 'last' };
  // A wide init crosses the raw quantile outputs somewhere: the graph must sort them as recur does.
  const ck = checkpoint(cfg, 31, { data: meta as DataMeta });
  const dir = tempDir(t);
  const file = path.join(dir, 'model.safetensors');
  saveCheckpoint(file, ck);
  const forecasts = loadModelSync(file).forecastCsv(`a\n${table.map((r) => r[0]).join('\n')}\n`, 'series.csv');
  const windows = rows - T + 1;
  const x = new Float32Array(windows * T);
  for (let w = 0; w < windows; w++) for (let k = 0; k < T; k++) x[w * T + k] = table[w + k]![0]!;
  const out = await (await session(ck)).run({ x: new ort.Tensor('float32', x, [windows, T, 1]) });
  t.same(out.y!.dims, [windows, horizon * Q]);
  const expected = forecasts.flatMap((f) => Array.from({ length: horizon * Q }, (_, o) => f.values[`a_t+${Math.floor(o / Q) + 1}_q${quantiles[o % Q]}`]!));
  t.ok(expected.every((v) => Number.isFinite(v)), 'every quantile column read back');
  t.ok(relativeError(out.y!.data as Float32Array, expected) <= TOLERANCE, `quantiles as recur predicts them: ${relativeError(out.y!.data as Float32Array, expected).toExponential(2)}`);
});

for (const cell of CELLS) {
  t.test(`text: ${cell}, 2 layers, tokens in, every step out`, async (t) => {
    const vocab = '\n !,.abcdefgh';
    const V = vocab.length, T = 7, B = 3;
    const cfg: ModelConfig = { cell, inputSize: V, hidden: 16, layers: 2, outputSize: V, recurrence: 'hidden', outputs: 'all' };
    const ck = checkpoint(cfg, 8, { vocab });
    const rng = new Rng(2, 2);
    const tokens = Array.from({ length: B * T }, () => Math.floor(rng.uniform() * V));
    const s = await session(ck);
    t.same(s.inputNames, ['tokens']);
    const out = await s.run({ tokens: new ort.Tensor('int64', BigInt64Array.from(tokens.map(BigInt)), [B, T]) });
    t.same(out.y!.dims, [B, T, V]);
    // recur: the output at step k is the last output of the first k+1 tokens (one-hot rows).
    const fwd = new Forward(cfg, ck.params, 'ce', 'wasm');
    const expected: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < T; k++) {
        const x = new Float32Array((k + 1) * V);
        for (let j = 0; j <= k; j++) x[j * V + tokens[b * T + j]!] = 1;
        expected.push(...fwd.run([x])[0]!);
      }
    }
    t.ok(relativeError(out.y!.data as Float32Array, expected) <= TOLERANCE, `logits at every step: ${relativeError(out.y!.data as Float32Array, expected).toExponential(2)}`);
    const probs = out.probs!.data as Float32Array;
    let sum = 0;
    for (let v = 0; v < V; v++) sum += probs[v]!;
    t.ok(Math.abs(sum - 1) < 1e-5, 'probs sum to 1');
  });
}

// Token models: tokens → Gather(embedding.weight) → the recurrent nodes; a tied head multiplies
// by that same initializer (outputs all: MatMul of its transpose; last: Gemm with transB).
const TOKEN_TEXT: { name: string; cfg: ModelConfig }[] = [
  { name: 'LSTM with an embedding, 2 layers', cfg: { cell: 'lstm', inputSize: 13, hidden: 16, layers: 2, outputSize: 13, recurrence: 'hidden', outputs: 'all', embedding: 5 } },
  { name: 'tied GRU, every step out', cfg: { cell: 'gru', inputSize: 13, hidden: 8, layers: 1, outputSize: 13, recurrence: 'hidden', outputs: 'all', embedding: 8, tieWeights: true } },
  { name: 'tied LSTM, last step out', cfg: { cell: 'lstm', inputSize: 13, hidden: 8, layers: 2, outputSize: 13, recurrence: 'hidden', outputs: 'last', embedding: 8, tieWeights: true } },
];
for (const { name, cfg } of TOKEN_TEXT) {
  t.test(`text: ${name}: tokens gather embedding rows, as recur's forward pass`, async (t) => {
    const vocab = '\n !,.abcdefgh', V = vocab.length, T = 6, B = 3;
    const ck = checkpoint(cfg, 21, { vocab });
    const rng = new Rng(4, 2);
    const tokens = Array.from({ length: B * T }, () => Math.floor(rng.uniform() * V));
    const bytes = exportOnnx(ck, 'x');
    const { onnx } = (await import('onnx-proto')).default;
    const graph = onnx.ModelProto.decode(bytes).graph!, nodes = graph.node ?? [];
    t.ok(nodes.some((n) => n.opType === 'Gather' && n.input?.[0] === 'embedding.weight'), 'a Gather of embedding.weight');
    t.notOk(nodes.some((n) => n.opType === 'OneHot'), 'no one-hot');
    const initializers = (graph.initializer ?? []).map((i) => i.name ?? '');
    t.equal(initializers.filter((i) => i.startsWith('head.weight')).length, cfg.tieWeights ? 0 : 1, cfg.tieWeights ? 'the head has no weight of its own' : 'the head has its weight');
    const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    t.same(s.inputNames, ['tokens']);
    const out = await s.run({ tokens: new ort.Tensor('int64', BigInt64Array.from(tokens.map(BigInt)), [B, T]) });
    const fwd = new Forward(cfg, ck.params, 'ce', 'wasm');
    const expected: number[] = [];
    for (let b = 0; b < B; b++) {
      // outputs all: the output at step k is the last output of the first k+1 tokens.
      for (let k = cfg.outputs === 'all' ? 0 : T - 1; k < T; k++) expected.push(...fwd.run([Int32Array.from(tokens.slice(b * T, b * T + k + 1))])[0]!);
    }
    t.same(out.y!.dims, cfg.outputs === 'all' ? [B, T, V] : [B, V]);
    const error = relativeError(out.y!.data as Float32Array, expected);
    t.ok(error <= TOLERANCE, `logits within ${TOLERANCE}: ${error.toExponential(2)}`);
  });
}

t.test('token sequences: a GRU with an embedding, variable lengths, tokens and lengths in, as loadModel().predict', async (t) => {
  const vocabulary = ['<unk>', 'good', 'bad', 'fine', 'awful', 'ok'], V = vocabulary.length, O = 3;
  const cfg: ModelConfig = { cell: 'gru', inputSize: V, hidden: 10, layers: 2, outputSize: O, recurrence: 'hidden', outputs: 'last', embedding: 4 };
  const meta: SequencesMeta = {
    task: 'sequences', features: ['x0'], targets: ['y'], target: 'class', labels: ['a', 'b', 'c'], scalarTarget: false,
    normalization: { kind: 'zscore', columns: {} }, vocabulary,
  };
  const ck = checkpoint(cfg, 17, { data: meta });
  const rng = new Rng(6, 3);
  const seqs = Array.from({ length: 5 }, (_, i) => Array.from({ length: 2 + ((i * 3) % 7) }, () => Math.floor(rng.uniform() * V)));
  const T = Math.max(...seqs.map((q) => q.length));
  const tokens = new BigInt64Array(seqs.length * T);
  seqs.forEach((q, b) => q.forEach((id, k) => { tokens[b * T + k] = BigInt(id); }));
  const s = await session(ck);
  t.same(s.inputNames, ['tokens', 'lengths']);
  const out = await s.run({
    tokens: new ort.Tensor('int64', tokens, [seqs.length, T]),
    lengths: new ort.Tensor('int32', Int32Array.from(seqs, (q) => q.length), [seqs.length]),
  });
  const logits = new Forward(cfg, ck.params, 'ce', 'wasm').run(seqs.map((q) => Int32Array.from(q))).flatMap((y) => [...y]);
  t.ok(relativeError(out.y!.data as Float32Array, logits) <= TOLERANCE, `logits within ${TOLERANCE}: ${relativeError(out.y!.data as Float32Array, logits).toExponential(2)}`);
  const dir = tempDir(t);
  const file = path.join(dir, 'model.safetensors');
  saveCheckpoint(file, ck);
  const probs = loadModelSync(file).predict(seqs.map((q) => q.map((id) => vocabulary[id]!))).flatMap((p) => ('probs' in p ? Object.values(p.probs) : []));
  t.ok(relativeError(out.probs!.data as Float32Array, probs) <= TOLERANCE, 'probs as loadModel().predict gives them for the same tokens');
});

t.test('the graph carries recur.config and recur.data', async (t) => {
  const cfg: ModelConfig = { cell: 'gru', inputSize: 3, hidden: 4, layers: 1, outputSize: 2, recurrence: 'hidden', outputs: 'last' };
  const meta = sequencesMeta('class', 3, 2, 'zscore');
  const s = await session(checkpoint(cfg, 1, { data: meta }));
  // onnxruntime-node does not expose metadata_props; read them back from the bytes instead.
  const { onnx } = (await import('onnx-proto')).default;
  const model = onnx.ModelProto.decode(exportOnnx(checkpoint(cfg, 1, { data: meta }), 'x'));
  const props = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
  t.same(JSON.parse(props['recur.config']!).cell, 'gru');
  t.same(JSON.parse(props['recur.data']!).labels, ['c0', 'c1']);
  t.equal(Number(model.opsetImport[0]!.version), 17);
  t.ok(s, 'and ONNX Runtime loads it');
});

t.test('recur export: writes a file ONNX Runtime runs; output recurrence is exit 2', async (t) => {
  const dir = tempDir(t);
  const cfg: ModelConfig = { cell: 'lstm', inputSize: 2, hidden: 5, layers: 1, outputSize: 1, recurrence: 'hidden', outputs: 'all' };
  const file = path.join(dir, 'model.safetensors');
  saveCheckpoint(file, checkpoint(cfg, 2));
  const ok = await runRecur(['export', '--checkpoint', file]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stderr, /wrote .*model\.onnx/);
  const s = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
  const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(2 * 3 * 2).fill(0.5), [2, 3, 2]) });
  t.same(out.y!.dims, [2, 3, 1]);

  const topology2 = path.join(dir, 'output-recurrence.safetensors');
  saveCheckpoint(topology2, checkpoint({ ...cfg, recurrence: 'output' }, 2));
  const bad = await runRecur(['export', '--checkpoint', topology2, '--out', path.join(dir, 'bad.onnx')]);
  t.equal(bad.code, 2);
  t.match(errorLines(bad.stderr), [/^error: .*output-recurrence\.safetensors: config\.recurrence: .*no ONNX form/]);
  t.notOk(fs.existsSync(path.join(dir, 'bad.onnx')), 'nothing written');
});
