import t from 'tap';
import { join } from 'node:path';
import { BatchSchedule, epochOrder, windowOffset } from '../../src/main/data/batching.js';
import type { BatchArrays, Dataset, Split } from '../../src/main/data/dataset.js';
import type { DataSpec } from '../../src/main/data/spec.js';
import { loadDataset } from '../../src/main/data/load.js';
import { shardRange } from '../../src/main/engine/shards.js';

const EXPERIMENT = 'exp.yaml';

/** Any test, for its temporary-directory fixture. */
type WithTestdir = Pick<typeof t, 'testdir'>;

function batchArrays(size: number): BatchArrays {
  return {
    tokens: new Int32Array(size),
    inputs: new Float32Array(size),
    targetIds: new Int32Array(size),
    targetValues: new Float32Array(size),
  };
}

/** Sequences `indices` of a split, filled as one batch; arrays sized generously. */
function fillBatch(dataset: Dataset, split: Split, indices: number[], outputs: 'all' | 'last'): BatchArrays {
  const out = batchArrays(dataset.seqLen * indices.length * Math.max(dataset.inputSize, dataset.outputSize));
  dataset.fill(split, indices, 0, indices.length, outputs, out);
  return out;
}

function textDataset(t: WithTestdir, text: string, spec: Partial<Extract<DataSpec, { task: 'text' }>> = {}, vocab?: string): Dataset {
  const dir = t.testdir({ 'corpus.txt': text });
  return loadDataset({ task: 'text', path: join(dir, 'corpus.txt'), seqLen: 3, valFraction: 0, ...spec }, 1, EXPERIMENT, { vocab });
}

/** The characters a row of symbol ids stands for. */
function decode(dataset: Dataset, ids: ArrayLike<number>): string {
  const characters = Array.from(dataset.vocab!);
  return Array.from(ids, (id) => characters[id]).join('');
}

/** Column j (sequence j) of a time-major [T * n] array. */
function column(values: ArrayLike<number>, T: number, n: number, j: number, channels = 1, channel = 0): number[] {
  return Array.from({ length: T }, (_, step) => values[(step * n + j) * channels + channel]!);
}

t.test('text windows overlap by one character and are laid out time-major', async (t) => {
  // 10 characters, T = 3 → ⌊9/3⌋ = 3 windows: abc→bcd, def→efg, ghi→hij.
  const dataset = textDataset(t, 'abcdefghij');
  t.equal(dataset.size('train'), 3);
  t.equal(dataset.size('val'), 0);
  t.equal(dataset.seqLen, 3);
  t.same([dataset.task, dataset.loss, dataset.input], ['text', 'ce', 'onehot']);

  const all = fillBatch(dataset, 'train', [0, 1, 2], 'all');
  const inputs = [0, 1, 2].map((j) => decode(dataset, column(all.tokens, 3, 3, j)));
  const targets = [0, 1, 2].map((j) => decode(dataset, column(all.targetIds, 3, 3, j)));
  t.same(inputs, ['abc', 'def', 'ghi']);
  t.same(targets, ['bcd', 'efg', 'hij']);
  t.equal(targets[0]!.at(-1), inputs[1]![0], 'the last target of a window is the first input of the next');
  t.same(decode(dataset, all.tokens.subarray(0, 3)), 'adg', 'step 0 of every sequence comes first');

  const last = fillBatch(dataset, 'train', [2, 0], 'last');
  t.same(decode(dataset, last.targetIds.subarray(0, 2)), 'jd', "outputs 'last' gives one target per sequence");

  // A shard in the middle of an index list: sequences indices[1..3) only.
  const out = batchArrays(6);
  dataset.fill('train', [0, 2, 1], 1, 2, 'all', out);
  t.same(decode(dataset, column(out.tokens, 3, 2, 0)), 'ghi');
  t.same(decode(dataset, column(out.tokens, 3, 2, 1)), 'def');
});

t.test('the last ⌈valFraction · windows⌉ windows are the validation split', async (t) => {
  const text = 'abcdefghij'.repeat(10) + 'k'; // 101 characters, T = 10 → 10 windows
  const counts = (valFraction: number) => {
    const dataset = textDataset(t, text, { seqLen: 10, valFraction });
    return [dataset.size('train'), dataset.size('val')];
  };
  t.same(counts(0.05), [9, 1], 'ceil(0.5) = 1');
  t.same(counts(0.25), [7, 3], 'ceil(2.5) = 3');
  t.same(counts(0), [10, 0]);
  t.same(textDataset(t, text, { seqLen: 10, valFraction: undefined }).size('val'), 1, 'default valFraction 0.05');

  const dataset = textDataset(t, text, { seqLen: 10, valFraction: 0.25 });
  const val = fillBatch(dataset, 'val', [2], 'all');
  t.same(decode(dataset, val.targetIds.subarray(0, 10)), 'bcdefghijk', 'val window 2 is the last window of the text');
});

t.test('randomOffset: each epoch shifts the training windows by its seeded offset; validation windows stay', async (t) => {
  // 121 distinct characters, T = 10 → 12 windows: 3 for validation (from character 90), 9 − 1 = 8 for training.
  const text = Array.from({ length: 121 }, (_, i) => String.fromCodePoint(0x100 + i)).join('');
  const shifted = textDataset(t, text, { seqLen: 10, valFraction: 0.25, randomOffset: true });
  t.same([shifted.size('train'), shifted.size('val')], [8, 3], 'one training window fewer, so no shifted window reaches the validation text');
  const all = [0, 1, 2, 3, 4, 5, 6, 7];
  const val = () => Array.from(fillBatch(shifted, 'val', [0, 1, 2], 'all').tokens.subarray(0, 30));
  const valBefore = val();
  const seen = new Set<string>();
  for (let epoch = 0; epoch < 10; epoch++) {
    const offset = windowOffset(1, epoch, 10);
    t.equal(windowOffset(1, epoch, 10), offset, `epoch ${epoch}: the offset is a function of (seed, epoch)`);
    shifted.shiftTrainWindows!(offset);
    const batch = fillBatch(shifted, 'train', all, 'all');
    const inputs = all.map((j) => decode(shifted, column(batch.tokens, 10, 8, j)));
    const targets = all.map((j) => decode(shifted, column(batch.targetIds, 10, 8, j)));
    t.same(inputs, all.map((i) => text.slice(offset + 10 * i, offset + 10 * i + 10)), `epoch ${epoch}: window i reads text[${offset} + 10i ..]`);
    t.same(targets, all.map((i) => text.slice(offset + 10 * i + 1, offset + 10 * i + 11)), `epoch ${epoch}: its targets are the next characters`);
    t.ok(offset + 10 * 7 + 10 < 90, `epoch ${epoch}: the last training target lies before the validation text`);
    t.same(val(), valBefore, `epoch ${epoch}: the validation windows do not move`);
    seen.add(inputs[0]!);
  }
  t.ok(seen.size >= 3, `the training windows differ between epochs (${seen.size} cuttings in 10 epochs)`);
  t.throws(() => textDataset(t, text, { seqLen: 10 }).shiftTrainWindows!(3), /randomOffset/, 'without randomOffset the windows never shift');
  t.throws(() => shifted.shiftTrainWindows!(10), RangeError, 'an offset of T or more is refused');
});

t.test('vocabulary is the sorted unique code points', async (t) => {
  const dataset = textDataset(t, 'zé a€😀bé', { seqLen: 2 });
  t.equal(dataset.vocab, ' abz\u00e9\u20ac\u{1F600}');
  t.equal(dataset.inputSize, 7, 'an astral character is one symbol');
  t.equal(dataset.outputSize, 7);
  // 8 code points (not 9 UTF-16 units) → ⌊7/2⌋ = 3 windows.
  t.equal(dataset.size('train'), 3);
  const batch = fillBatch(dataset, 'train', [2], 'all');
  t.equal(decode(dataset, batch.tokens.subarray(0, 2)), '€😀');
});

t.test('a forced vocabulary keeps its order and rejects unknown characters', async (t) => {
  const dataset = textDataset(t, 'abab', { seqLen: 1 }, 'cba');
  t.equal(dataset.vocab, 'cba');
  t.equal(dataset.inputSize, 3);
  t.same(Array.from(fillBatch(dataset, 'train', [0], 'all').tokens.subarray(0, 1)), [2], "'a' is index 2 in 'cba'");

  t.throws(() => textDataset(t, 'abc\u00e9d', {}, 'abc'), {
    name: 'InputError',
    message: /^exp\.yaml: data\.path: .*character "é" .*vocabulary/,
  });
  t.throws(() => textDataset(t, 'ab\n', {}, 'ab'), { message: /character "\\n"/ }, 'the character is JSON-escaped');
});

t.test('bad text data is an input error naming the key', async (t) => {
  const dir = t.testdir({ 'empty.txt': '', 'short.txt': 'hello' });
  const load = (spec: Partial<DataSpec>) => () =>
    loadDataset({ task: 'text', seqLen: 3, ...spec } as DataSpec, 1, EXPERIMENT);

  // A file that cannot be read: the one file-read wording, naming the data file.
  const missing = join(dir, 'missing.txt').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  t.throws(load({ path: join(dir, 'missing.txt') }), { name: 'InputError', message: new RegExp(`^${missing}: cannot read: no such file$`) });
  t.throws(load({ path: join(dir, 'empty.txt') }), { name: 'InputError', message: /^exp\.yaml: data\.path: .*empty/ });
  t.throws(load({}), { name: 'InputError', message: /^exp\.yaml: data\.path: / });
  t.throws(load({ path: join(dir, 'short.txt'), seqLen: 5, valFraction: 0 }),
    { name: 'InputError', message: /^exp\.yaml: data\.seqLen: .*too long.* 5 characters/ });
  // 5 characters, T = 4 → one window, which valFraction sends to validation.
  t.throws(load({ path: join(dir, 'short.txt'), seqLen: 4, valFraction: 0.5 }), { message: /data\.seqLen: .*no training window/ });
  t.ok(load({ path: join(dir, 'short.txt'), seqLen: 4, valFraction: 0 })(), 'T = len - 1 fits exactly once');
  t.throws(load({ path: join(dir, 'short.txt'), seqLen: 0 }), { message: /data\.seqLen: must be a positive integer/ });
  t.throws(load({ path: join(dir, 'short.txt'), valFraction: 1 }), { message: /data\.valFraction: / });
});

t.test('batch schedule without shuffle walks the windows in order', async (t) => {
  const schedule = new BatchSchedule(10, 4, 7, false); // 2 batches per epoch; windows 8, 9 are dropped
  t.same(Array.from(schedule.at(0).indices), [0, 1, 2, 3], 'batch 0 = windows 0..B-1');
  t.same(Array.from(schedule.at(1).indices), [4, 5, 6, 7]);
  t.same(schedule.at(2), { epoch: 1, indices: Int32Array.from([0, 1, 2, 3]) }, 'the incomplete batch is dropped');
  t.equal(schedule.at(5).epoch, 2);
  t.throws(() => new BatchSchedule(3, 4, 7, false), 'fewer sequences than one batch');
  t.same(Array.from(epochOrder(4, 7, 3, false)), [0, 1, 2, 3]);
});

t.test('batch schedule with shuffle uses a seeded permutation per epoch', async (t) => {
  const n = 10;
  const B = 3; // 3 batches per epoch, the 10th sequence is dropped each epoch
  const schedule = new BatchSchedule(n, B, 42, true);
  const epochBatches = (epoch: number) => [0, 1, 2].map((b) => Array.from(schedule.at(epoch * 3 + b).indices));

  const epoch0 = epochBatches(0).flat();
  const order0 = Array.from(epochOrder(n, 42, 0, true));
  t.same([...order0].sort((a, b) => a - b), [...Array(n).keys()], 'epochOrder is a permutation');
  t.same(epoch0, order0.slice(0, 9), 'batches are consecutive slices of the epoch order, the remainder dropped');
  t.same(Array.from(epochOrder(n, 42, 0, true)), order0, 'reproducible');
  t.same(Array.from(new BatchSchedule(n, B, 42, true).at(4).indices), epochBatches(1)[1], 'a fresh schedule agrees (resume)');
  t.notSame(Array.from(epochOrder(n, 42, 1, true)), order0, 'epochs differ');
  t.notSame(Array.from(epochOrder(n, 43, 0, true)), order0, 'seeds differ');
  t.equal(schedule.at(3).epoch, 1);

  const first = schedule.at(6).indices;
  t.equal(schedule.at(7).indices.buffer, first.buffer, 'the epoch order is cached, not recomputed per batch');
});

t.test('shardRange splits a batch into contiguous shards differing by at most one', async (t) => {
  for (const [B, N] of [[32, 2], [10, 3], [7, 4], [2, 4], [64, 7]] as const) {
    const shards = Array.from({ length: N }, (_, k) => shardRange(B, N, k));
    const counts = shards.map((s) => s.count);
    t.ok(Math.max(...counts) - Math.min(...counts) <= 1, `B=${B} N=${N}: sizes ${counts}`);
    t.equal(shards[0]!.start, 0);
    for (let k = 1; k < N; k++) t.equal(shards[k]!.start, shards[k - 1]!.start + shards[k - 1]!.count, 'contiguous');
    t.equal(shards[N - 1]!.start + shards[N - 1]!.count, B, 'covers the batch');
  }
  t.same(Array.from({ length: 3 }, (_, k) => shardRange(10, 3, k).count), [4, 3, 3], 'the first B % N shards get the extra one');
});

t.test('adding: two markers, one per half, and the mean-prediction baseline ≈ 0.167', async (t) => {
  const T = 20;
  const dataset = loadDataset({ task: 'adding', seqLen: T, trainSize: 50 }, 3, EXPERIMENT);
  t.same([dataset.loss, dataset.input, dataset.inputSize, dataset.outputSize], ['mse', 'dense', 2, 1]);
  t.same(dataset.outputsAllowed, ['last']);
  t.same([dataset.size('train'), dataset.size('val')], [50, 1000]);

  const n = dataset.size('val');
  const batch = fillBatch(dataset, 'val', [...Array(n).keys()], 'last');
  let markersOk = true;
  let targetsOk = true;
  for (let j = 0; j < n; j++) {
    const marker = column(batch.inputs, T, n, j, 2, 1);
    const values = column(batch.inputs, T, n, j, 2, 0);
    const marked = marker.flatMap((m, step) => (m === 1 ? [step] : []));
    markersOk &&= marker.every((m) => m === 0 || m === 1) && marked.length === 2 && marked[0]! < T / 2 && marked[1]! >= Math.floor(T / 2);
    targetsOk &&= Math.abs(batch.targetValues[j]! - (values[marked[0]!]! + values[marked[1]!]!)) < 1e-6;
  }
  t.ok(markersOk, 'exactly two markers, first in [0, T/2), second in [T/2, T)');
  t.ok(targetsOk, 'target = sum of the two marked values');

  const targets = batch.targetValues.subarray(0, n);
  const mean = targets.reduce((a, b) => a + b, 0) / n;
  const baseline = targets.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  t.ok(Math.abs(baseline - 1 / 6) < 0.02, `baseline MSE ${baseline.toFixed(4)} ≈ 0.167`);

  t.throws(() => dataset.fill('val', [0], 0, 1, 'all', batchArrays(1000)), "outputs 'all' is not an adding task");
  t.throws(() => loadDataset({ task: 'adding', seqLen: 1 }, 3, EXPERIMENT), { message: /data\.seqLen/ });
});

t.test('copy: the first L inputs reappear as the targets of the last L steps', async (t) => {
  const delay = 5;
  const S = 4;
  const L = 3;
  const dataset = loadDataset({ task: 'copy', seqLen: delay, symbols: S, copyLength: L, trainSize: 20, valSize: 10 }, 9, EXPERIMENT);
  const T = delay + 2 * L;
  t.same([dataset.seqLen, dataset.inputSize, dataset.outputSize, dataset.loss, dataset.input], [T, S + 2, S + 1, 'ce', 'onehot']);

  const n = 20;
  const batch = fillBatch(dataset, 'train', [...Array(n).keys()], 'all');
  for (const j of [0, 7, 19]) {
    const inputs = column(batch.tokens, T, n, j);
    const targets = column(batch.targetIds, T, n, j);
    const payload = inputs.slice(0, L);
    t.ok(payload.every((s) => s >= 1 && s <= S), `sequence ${j}: payload symbols in 1..S`);
    t.same(inputs.slice(L), [...Array(delay - 1).fill(0), S + 1, ...Array(L).fill(0)], 'blanks, the delimiter at T-L-1, blanks');
    t.same(targets, [...Array(T - L).fill(0), ...payload], 'blank targets, then the payload');
  }
  const last = fillBatch(dataset, 'train', [7], 'last');
  t.equal(last.targetIds[0], batch.tokens[(L - 1) * n + 7], "outputs 'last' targets the last payload symbol");

  t.same(loadDataset({ task: 'copy', seqLen: 10 }, 1, EXPERIMENT).seqLen, 30, 'defaults: 8 symbols, copy length 10');
  t.throws(() => loadDataset({ task: 'copy', seqLen: 5, symbols: 0 }, 1, EXPERIMENT), { message: /data\.symbols/ });
});

t.test('sine: the target at step t is the input at step t+1', async (t) => {
  const T = 16;
  const dataset = loadDataset({ task: 'sine', seqLen: T, trainSize: 8, valSize: 4 }, 5, EXPERIMENT);
  t.same([dataset.loss, dataset.input, dataset.inputSize, dataset.outputSize], ['mse', 'dense', 1, 1]);
  const n = 8;
  const batch = fillBatch(dataset, 'train', [...Array(n).keys()], 'all');
  const last = fillBatch(dataset, 'train', [...Array(n).keys()], 'last');
  for (let j = 0; j < n; j++) {
    const inputs = column(batch.inputs, T, n, j);
    const targets = column(batch.targetValues, T, n, j);
    t.same(targets.slice(0, T - 1), inputs.slice(1), `sequence ${j}: shifted by one`);
    t.ok(inputs.every((x) => Math.abs(x) <= 1));
    t.equal(last.targetValues[j], targets[T - 1], "outputs 'last' = the final target");
    // A sine with ω ∈ [0.1, 0.5]: consecutive values differ by at most ω.
    t.ok(targets.every((x, step) => Math.abs(x - inputs[step]!) <= 0.5 + 1e-6));
  }
});

t.test('synthetic val sets depend on the seed only, not on trainSize', async (t) => {
  const specs: DataSpec[] = [
    { task: 'adding', seqLen: 10 },
    { task: 'copy', seqLen: 4, copyLength: 2 },
    { task: 'sine', seqLen: 10 },
  ];
  for (const spec of specs) {
    const small = loadDataset({ ...spec, trainSize: 5, valSize: 30 }, 11, EXPERIMENT);
    const large = loadDataset({ ...spec, trainSize: 500, valSize: 30 }, 11, EXPERIMENT);
    const otherSeed = loadDataset({ ...spec, trainSize: 5, valSize: 30 }, 12, EXPERIMENT);
    const val = (dataset: Dataset) => fillBatch(dataset, 'val', [...Array(30).keys()], 'last');
    t.same(val(small), val(large), `${spec.task}: same val set for trainSize 5 and 500`);
    t.notSame(val(small), val(otherSeed), `${spec.task}: another seed, another val set`);
    t.notSame(fillBatch(small, 'train', [0, 1, 2], 'last'), fillBatch(small, 'val', [0, 1, 2], 'last'),
      `${spec.task}: train and val come from different streams`);
  }
});

t.test('bad synthetic sizes are input errors naming the key', async (t) => {
  t.throws(() => loadDataset({ task: 'sine', seqLen: 10, trainSize: 0 }, 1, EXPERIMENT),
    { name: 'InputError', message: /^exp\.yaml: data\.trainSize: must be a positive integer, got 0/ });
  t.throws(() => loadDataset({ task: 'adding', seqLen: 10, valSize: -3 }, 1, EXPERIMENT), { message: /data\.valSize/ });
  t.throws(() => loadDataset({ task: 'copy', seqLen: 10, copyLength: 2.5 }, 1, EXPERIMENT), { message: /data\.copyLength/ });
  t.throws(() => loadDataset({ task: 'sine', seqLen: 10, trainSize: '100' as unknown as number }, 1, EXPERIMENT), { message: /data\.trainSize/ });
  t.throws(() => loadDataset({ task: 'music', seqLen: 10 } as unknown as DataSpec, 1, EXPERIMENT), { message: /data\.task/ });
});
