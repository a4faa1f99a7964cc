// Checkpoints (SPEC §3): PyTorch's state_dict names and shapes for every cell and recurrence,
// round trips of params, optimizer state, vocabulary and experiment; PyTorch's own state_dicts
// (no metadata, F64, incomplete config) load; bad checkpoints are InputErrors naming the file and
// the tensor or key; the golden PyTorch LSTM loads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { checkVocab, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint, type CheckpointData } from '../../src/main/checkpoint/checkpoint.js';
import { InputError } from '../../src/main/errors.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors, type TensorToEncode } from '../../src/main/checkpoint/safetensors.js';
import { paramLayout, tensorViews } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { expectKeyedInputError, thrownBy } from '../helpers/input-error.js';
import { GOLDEN_ROOT } from '../helpers/golden.js';

// Tests run from dist/test/, two levels below the repository root.
const GOLDEN_MODEL = path.join(GOLDEN_ROOT, 'lstm1/model.safetensors');

const FILE = 'run/checkpoint.safetensors';
const expectKeyed = (tt: Parameters<typeof expectKeyedInputError>[0], fn: () => unknown, key: string, problem: RegExp): void =>
  expectKeyedInputError(tt, fn, FILE, key, problem);

const LSTM2: ModelConfig = { cell: 'lstm', inputSize: 5, hidden: 3, layers: 2, outputSize: 5, recurrence: 'hidden', outputs: 'all' };
const RNN1: ModelConfig = { cell: 'rnn', inputSize: 4, hidden: 6, layers: 1, outputSize: 2, recurrence: 'hidden', outputs: 'last' };
const OUTPUT_RECURRENT: ModelConfig = { cell: 'lstm', inputSize: 4, hidden: 3, layers: 1, outputSize: 4, recurrence: 'output', outputs: 'all' };

/** A parameter block with a distinct value in every element of every tensor, zero padding. */
function filledBlock(cfg: ModelConfig, seed: number): Float32Array {
  const layout = paramLayout(cfg);
  const block = new Float32Array(layout.size);
  for (const spec of layout.tensors) {
    for (let i = 0; i < spec.size; i++) block[spec.offset + i] = seed + (spec.offset + i) * 0.01;
  }
  return block;
}

const checkpointOf = (cfg: ModelConfig, extra: Partial<CheckpointData> = {}): CheckpointData => ({
  cfg,
  params: filledBlock(cfg, 1),
  optim: new Map(),
  ...extra,
});

/** Tensor names and shapes in file order, read from the raw header. */
function headerShapes(bytes: Uint8Array): [string, number[]][] {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8'));
  return Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, entry]) => [name, (entry as { shape: number[] }).shape]);
}

/** Decodes an F32 file, lets `edit` change its tensors and metadata, and encodes it again. */
function rewrite(bytes: Uint8Array, edit: (tensors: TensorToEncode[], metadata: Record<string, string>) => TensorToEncode[] | void): Uint8Array {
  const decoded = decodeSafetensors(bytes, FILE);
  let tensors = [...decoded.tensors].map(([name, { shape, data }]) => ({ name, shape, data: data as Float32Array }));
  const metadata = { ...decoded.metadata };
  tensors = edit(tensors, metadata) ?? tensors;
  return encodeSafetensors(tensors, metadata);
}

/** A safetensors file of F64 tensors, as `safetensors.torch.save_file` writes a float64 state_dict. */
function encodeFloat64(tensors: { name: string; shape: number[]; values: number[] }[]): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const { name, shape, values } of tensors) {
    header[name] = { dtype: 'F64', shape, data_offsets: [offset, offset + 8 * values.length] };
    offset += 8 * values.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  const dataStart = 8 + json.length;
  tensors
    .flatMap((x) => x.values)
    .forEach((v, i) => view.setFloat64(dataStart + 8 * i, v, true));
  return bytes;
}



const elements = (block: Float32Array): number[] => Array.from(block);

t.test('LSTM, 2 layers: PyTorch names and shapes, round trip', async (t) => {
  const data = checkpointOf(LSTM2, { vocab: 'abcde', experiment: { name: 'x', seed: 1 }, train: { step: 7, rng: [1, 2] } });
  const bytes = encodeCheckpoint(data);
  t.same(headerShapes(bytes), [
    ['rnn.weight_ih_l0', [12, 5]],
    ['rnn.weight_hh_l0', [12, 3]],
    ['rnn.bias_ih_l0', [12]],
    ['rnn.bias_hh_l0', [12]],
    ['rnn.weight_ih_l1', [12, 3]],
    ['rnn.weight_hh_l1', [12, 3]],
    ['rnn.bias_ih_l1', [12]],
    ['rnn.bias_hh_l1', [12]],
    ['head.weight', [5, 3]],
    ['head.bias', [5]],
  ]);

  const { tensors, metadata } = decodeSafetensors(bytes, FILE);
  t.same(elements(tensors.get('rnn.bias_hh_l1')!.data as Float32Array), new Array(12).fill(0), 'bias_hh written as zeros');
  const views = tensorViews(paramLayout(LSTM2), data.params);
  t.same(elements(tensors.get('rnn.weight_hh_l1')!.data as Float32Array), elements(views.get('rnn.weight_hh_l1')!), 'tensor data is the block slice');
  t.same(Object.keys(metadata), ['config', 'experiment', 'train']);
  t.same(JSON.parse(metadata.config!), {
    cell: 'lstm',
    inputSize: 5,
    hidden: 3,
    layers: 2,
    outputSize: 5,
    recurrence: 'hidden',
    outputs: 'all',
    vocab: 'abcde',
  });

  const loaded = decodeCheckpoint(bytes, FILE);
  t.same(loaded.cfg, LSTM2);
  t.equal(loaded.vocab, 'abcde');
  t.same(elements(loaded.params), elements(data.params), 'parameters identical, padding zero');
  t.same(loaded.experiment, data.experiment);
  t.same(loaded.train, data.train);
  t.equal(loaded.optim.size, 0);
});

t.test('RNN, 1 layer: names and shapes, no vocab or experiment', async (t) => {
  const bytes = encodeCheckpoint(checkpointOf(RNN1));
  t.same(headerShapes(bytes), [
    ['rnn.weight_ih_l0', [6, 4]],
    ['rnn.weight_hh_l0', [6, 6]],
    ['rnn.bias_ih_l0', [6]],
    ['rnn.bias_hh_l0', [6]],
    ['head.weight', [2, 6]],
    ['head.bias', [2]],
  ]);
  t.same(Object.keys(decodeSafetensors(bytes, FILE).metadata), ['config']);
  const loaded = decodeCheckpoint(bytes, FILE);
  t.same(loaded.cfg, RNN1);
  t.notOk('vocab' in loaded || 'experiment' in loaded || 'train' in loaded, 'absent fields stay absent');
});

t.test('output recurrence: weight_yh_l0 replaces weight_hh_l0', async (t) => {
  const bytes = encodeCheckpoint(checkpointOf(OUTPUT_RECURRENT));
  t.same(headerShapes(bytes), [
    ['rnn.weight_ih_l0', [12, 4]],
    ['rnn.weight_yh_l0', [12, 4]],
    ['rnn.bias_ih_l0', [12]],
    ['rnn.bias_hh_l0', [12]],
    ['head.weight', [4, 3]],
    ['head.bias', [4]],
  ]);
  t.same(decodeCheckpoint(bytes, FILE).cfg, OUTPUT_RECURRENT);

  const withoutConfig = rewrite(bytes, (_, metadata) => void delete metadata.config);
  t.same(decodeCheckpoint(withoutConfig, FILE).cfg, OUTPUT_RECURRENT, 'recurrence inferred from weight_yh_l0');
});

t.test('categorical embeddings: static.<column>.weight after the encoders\' place, config and level lists round trip', async (t) => {
  const cfg: ModelConfig = { ...RNN1, inputSize: 2, outputs: 'last', categorical: [{ column: 'store', levels: 3, width: 2 }, { column: 'kind', levels: 2, width: 4 }] };
  const data = {
    task: 'series' as const, time: null, group: 'store', features: ['a', 'b'], targets: ['a', 'b'], futureFeatures: [], seqLen: 4, horizon: 1, stride: 1,
    missing: 'error' as const, difference: false, delimiter: ',', quantiles: null,
    normalization: { kind: 'none' as const, columns: { a: { shift: 0, scale: 1 }, b: { shift: 0, scale: 1 } } },
    categorical: [{ column: 'store', levels: ['<unk>', 'north', 'south'] }, { column: 'kind', levels: ['<unk>', 'x'] }],
  };
  const ck = checkpointOf(cfg, { data });
  const bytes = encodeCheckpoint(ck);
  t.same(headerShapes(bytes).slice(0, 3), [['static.store.weight', [3, 2]], ['static.kind.weight', [2, 4]], ['rnn.weight_ih_l0', [6, 8]]], 'the tables first; layer 0 reads 2 features + 2 + 4');
  const back = decodeCheckpoint(bytes, FILE);
  t.same(back.cfg, cfg, 'config with its embeddings');
  t.same(back.data, data, 'level lists');
  t.same(elements(back.params), elements(ck.params), 'every parameter');
  const fewer = { ...data, categorical: [data.categorical[0]!, { column: 'kind', levels: ['<unk>', 'x', 'y'] }] };
  expectKeyed(t, () => decodeCheckpoint(encodeCheckpoint({ ...ck, data: fewer }), FILE), '__metadata__.data.categorical', /lists store \(3 levels\), kind \(3 levels\); the model embeds store \(3 levels\), kind \(2 levels\)/);
  const noUnk = { ...data, categorical: [{ column: 'store', levels: ['north', 'south', 'west'] }, data.categorical[1]!] };
  expectKeyed(t, () => decodeCheckpoint(encodeCheckpoint({ ...ck, data: noUnk }), FILE), '__metadata__.data.categorical.0.levels', /must be a list of distinct levels, '<unk>' first/);
});

t.test('optimizer state round trip', async (t) => {
  const m = filledBlock(LSTM2, 100);
  const v = filledBlock(LSTM2, 200);
  const bytes = encodeCheckpoint(checkpointOf(LSTM2, { optim: new Map([['m', m], ['v', v]]) }));
  const names = headerShapes(bytes).map(([name]) => name);
  t.equal(names.length, 10 + 2 * 8, 'parameters + bias_hh, then 8 tensors per slot');
  t.same(names.slice(10, 13), ['optim.m.rnn.weight_ih_l0', 'optim.m.rnn.weight_hh_l0', 'optim.m.rnn.bias_ih_l0']);
  t.notOk(names.some((name) => name.startsWith('optim.') && name.includes('bias_hh')), 'no optimizer state for bias_hh');

  const loaded = decodeCheckpoint(bytes, FILE, { requiredSlots: ['m', 'v'] });
  t.same([...loaded.optim.keys()], ['m', 'v']);
  t.same(elements(loaded.optim.get('m')!), elements(m));
  t.same(elements(loaded.optim.get('v')!), elements(v));

  expectKeyed(t, () => decodeCheckpoint(bytes, FILE, { requiredSlots: ['m', 'velocity'] }), 'optim.velocity', /missing/);
  const partial = rewrite(bytes, (tensors) => tensors.filter((x) => x.name !== 'optim.v.head.bias'));
  expectKeyed(t, () => decodeCheckpoint(partial, FILE), 'optim.v.head.bias', /missing: optimizer slot "v"/);
  const misshapen = rewrite(bytes, (tensors) =>
    tensors.map((x) => (x.name === 'optim.m.head.bias' ? { ...x, shape: [1, 5] } : x)),
  );
  expectKeyed(t, () => decodeCheckpoint(misshapen, FILE), 'optim.m.head.bias', /shape \[1, 5\] does not match the expected \[5\]/);
  t.throws(() => encodeCheckpoint(checkpointOf(LSTM2, { optim: new Map([['a.b', m]]) })), /dot-free/);
});

t.test('a PyTorch state_dict without metadata loads: shape inferred, bias_hh added to bias_ih', async (t) => {
  for (const cfg of [LSTM2, RNN1]) {
    const plain = rewrite(encodeCheckpoint(checkpointOf(cfg)), (tensors, metadata) => {
      delete metadata.config;
      return tensors.map((x) => (x.name.startsWith('rnn.bias_hh_') ? { ...x, data: x.data.map((_, i) => 0.5 + i) } : x));
    });
    t.same(Object.keys(decodeSafetensors(plain, FILE).metadata), []);
    const loaded = decodeCheckpoint(plain, FILE);
    t.same(loaded.cfg, { ...cfg, outputs: 'all' }, `${cfg.cell}: config inferred (outputs defaults to all)`);

    const original = tensorViews(paramLayout(cfg), filledBlock(cfg, 1));
    const views = tensorViews(paramLayout(cfg), loaded.params);
    for (let layer = 0; layer < cfg.layers; layer++) {
      const name = `rnn.bias_ih_l${layer}`;
      const expected = Array.from(original.get(name)!, (b, i) => Math.fround(b + 0.5 + i));
      t.same(elements(views.get(name)!), expected, `${cfg.cell}: ${name} = bias_ih + bias_hh`);
    }
    t.same(elements(views.get('head.weight')!), elements(original.get('head.weight')!));
  }
});

t.test('F64 tensors are converted to float32', async (t) => {
  const cfg: ModelConfig = { cell: 'rnn', inputSize: 2, hidden: 1, layers: 1, outputSize: 1, recurrence: 'hidden', outputs: 'all' };
  const bytes = encodeFloat64([
    { name: 'rnn.weight_ih_l0', shape: [1, 2], values: [0.1, 1 / 3] },
    { name: 'rnn.weight_hh_l0', shape: [1, 1], values: [-0.7] },
    // 1 + 2⁻²⁴ rounds to 1 in float32, but the exact sum 1 + 2⁻²³ is a float32.
    { name: 'rnn.bias_ih_l0', shape: [1], values: [1 + 2 ** -24] },
    { name: 'rnn.bias_hh_l0', shape: [1], values: [2 ** -24] },
    { name: 'head.weight', shape: [1, 1], values: [2] },
    { name: 'head.bias', shape: [1], values: [-1] },
  ]);
  const loaded = decodeCheckpoint(bytes, FILE);
  t.same(loaded.cfg, cfg);
  const views = tensorViews(paramLayout(cfg), loaded.params);
  t.same(elements(views.get('rnn.weight_ih_l0')!), [Math.fround(0.1), Math.fround(1 / 3)]);
  t.same(elements(views.get('rnn.bias_ih_l0')!), [1 + 2 ** -23], 'biases summed before rounding');
  t.same(elements(views.get('head.bias')!), [-1]);
});

t.test('incomplete config metadata is completed from the tensor shapes', async (t) => {
  const bytes = rewrite(encodeCheckpoint(checkpointOf(LSTM2)), (_, metadata) => {
    metadata.config = JSON.stringify({ vocab: 'abcde', outputs: 'last' });
  });
  const loaded = decodeCheckpoint(bytes, FILE);
  t.same(loaded.cfg, { ...LSTM2, outputs: 'last' });
  t.equal(loaded.vocab, 'abcde');
});

t.test('bad checkpoints: InputError naming the file and the tensor or key', async (t) => {
  const good = encodeCheckpoint(checkpointOf(LSTM2, { vocab: 'abcde', train: { step: 1 } }));
  const withConfig = (config: Record<string, unknown>): Uint8Array =>
    rewrite(good, (_, metadata) => {
      metadata.config = JSON.stringify(config);
    });

  expectKeyed(
    t,
    () => decodeCheckpoint(withConfig({ ...LSTM2, hidden: 4 }), FILE),
    'rnn.weight_ih_l0',
    /shape \[12, 5\] does not match the expected \[16, 5\]/,
  );
  const wrongBias = rewrite(good, (tensors) => tensors.map((x) => (x.name === 'head.bias' ? { ...x, shape: [4], data: x.data.subarray(0, 4) } : x)));
  expectKeyed(t, () => decodeCheckpoint(wrongBias, FILE), 'head.bias', /shape \[4\] does not match the expected \[5\]/);
  const wrongBiasHh = rewrite(good, (tensors) => tensors.map((x) => (x.name === 'rnn.bias_hh_l1' ? { ...x, shape: [1, 12] } : x)));
  expectKeyed(t, () => decodeCheckpoint(wrongBiasHh, FILE), 'rnn.bias_hh_l1', /shape \[1, 12\] does not match the expected \[12\]/);
  const missing = rewrite(good, (tensors) => tensors.filter((x) => x.name !== 'rnn.weight_hh_l1'));
  expectKeyed(t, () => decodeCheckpoint(missing, FILE), 'rnn.weight_hh_l1', /missing; the lstm \(2 layers.*needs it with shape \[12, 3\]/);
  const extra = rewrite(good, (tensors) => [...tensors, { name: 'rnn.weight_ih_l2', shape: [1], data: new Float32Array(1) }]);
  expectKeyed(t, () => decodeCheckpoint(extra, FILE), 'rnn.weight_ih_l2', /unexpected tensor/);
  const strayOptim = rewrite(good, (tensors) => [...tensors, { name: 'optim.m.head.scale', shape: [1], data: new Float32Array(1) }]);
  expectKeyed(t, () => decodeCheckpoint(strayOptim, FILE), 'optim.m.head.scale', /unexpected tensor/);

  expectKeyed(t, () => decodeCheckpoint(rewrite(good, (_, m) => void (m.config = '{"cell": lstm}')), FILE), '__metadata__.config', /not valid JSON/);
  expectKeyed(t, () => decodeCheckpoint(withConfig({ ...LSTM2, cell: 'gur' }), FILE), '__metadata__.config.cell', /one of lstm, gru, rnn, got "gur"/);
  expectKeyed(t, () => decodeCheckpoint(withConfig({ ...LSTM2, layers: 0 }), FILE), '__metadata__.config.layers', /positive integer/);
  expectKeyed(t, () => decodeCheckpoint(withConfig({ ...LSTM2, dropout: 0.1 }), FILE), '__metadata__.config.dropout', /unknown key/);
  expectKeyed(t, () => decodeCheckpoint(withConfig({ ...LSTM2, vocab: 'abcd' }), FILE), '__metadata__.config.vocab', /4 characters but the model's inputSize is 5/);
  expectKeyed(t, () => decodeCheckpoint(withConfig({ ...LSTM2, vocab: 'abcda' }), FILE), '__metadata__.config.vocab', /repeated/);
  expectKeyed(
    t,
    () => decodeCheckpoint(withConfig({ ...LSTM2, recurrence: 'output' }), FILE),
    '__metadata__.config.layers',
    /recurrence 'output' needs exactly 1 layer, got 2$/,
  );
  expectKeyed(t, () => decodeCheckpoint(rewrite(good, (_, m) => void (m.train = '[1]')), FILE), '__metadata__.train', /JSON object/);
  expectKeyed(t, () => decodeCheckpoint(rewrite(good, (_, m) => void (m.experiment = '{')), FILE), '__metadata__.experiment', /not valid JSON/);

  const noConfig = (edit: (tensors: TensorToEncode[]) => TensorToEncode[]): Uint8Array =>
    rewrite(good, (tensors, metadata) => {
      delete metadata.config;
      return edit(tensors);
    });
  expectKeyed(
    t,
    () => decodeCheckpoint(noConfig((tensors) => tensors.filter((x) => x.name !== 'head.weight')), FILE),
    'head.weight',
    /missing; the config metadata is absent or incomplete/,
  );
  expectKeyed(
    t,
    () => decodeCheckpoint(noConfig((tensors) => tensors.map((x) => (x.name === 'rnn.weight_ih_l0' ? { ...x, shape: [6, 10] } : x))), FILE),
    'rnn.weight_ih_l0',
    /6 rows is none of 4·H \(LSTM\), 3·H \(GRU\), H \(RNN\) for hidden size H = 3/,
  );
});

t.test('saveCheckpoint / loadCheckpoint on disk', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'checkpoint.safetensors');
  const first = checkpointOf(LSTM2, { train: { step: 1 } });
  saveCheckpoint(file, first);
  saveCheckpoint(file, { ...first, params: filledBlock(LSTM2, 2), train: { step: 2 } });
  t.same(fs.readdirSync(dir), ['checkpoint.safetensors'], 'no temp files left');
  const loaded = loadCheckpoint(file);
  t.same(loaded.train, { step: 2 }, 'the second save replaced the first');
  t.same(elements(loaded.params), elements(filledBlock(LSTM2, 2)));

  const missing = path.join(dir, 'nope.safetensors');
  const err = thrownBy(() => loadCheckpoint(missing));
  t.type(err, InputError);
  t.equal((err as Error).message, `${missing}: file not found`);
});

t.test('checkVocab', async (t) => {
  t.doesNotThrow(() => checkVocab('data.txt', ' abc', 'cab a'));
  const err = thrownBy(() => checkVocab('data.txt', ' abc', 'ab\nc'));
  t.type(err, InputError);
  t.equal((err as Error).message, `data.txt: character "\\n" (U+000A) is not in the checkpoint's vocabulary`);
  t.match((thrownBy(() => checkVocab('data.txt', 'ab', 'a😀')) as Error).message, /character "😀" \(U\+1F600\)/);
  t.match((thrownBy(() => checkVocab('data.txt', undefined, 'a')) as Error).message, /has no vocabulary/);
});

t.test('the golden PyTorch LSTM loads', async (t) => {
  const { metadata, tensors } = readSafetensors(GOLDEN_MODEL);
  t.comment(`golden metadata keys: ${JSON.stringify(Object.keys(metadata))}`);
  t.comment(`golden tensors: ${[...tensors].map(([name, x]) => `${name} ${x.dtype}[${x.shape.join(',')}]`).join(', ')}`);
  const loaded = loadCheckpoint(GOLDEN_MODEL);
  t.same(loaded.cfg, { cell: 'lstm', inputSize: 32, hidden: 16, layers: 1, outputSize: 32, recurrence: 'hidden', outputs: 'all' });
  t.equal([...loaded.vocab!].length, 32);
  const views = tensorViews(paramLayout(loaded.cfg), loaded.params);
  t.same(elements(views.get('rnn.weight_ih_l0')!), elements(tensors.get('rnn.weight_ih_l0')!.data as Float32Array));
});

const EMBEDDED: ModelConfig = { cell: 'gru', inputSize: 7, hidden: 4, layers: 1, outputSize: 7, recurrence: 'hidden', outputs: 'all', embedding: 3 };
const TIED: ModelConfig = { cell: 'lstm', inputSize: 7, hidden: 4, layers: 2, outputSize: 7, recurrence: 'hidden', outputs: 'all', embedding: 4, tieWeights: true };

t.test('token models: embedding.weight first; tied, head.weight is written as the embedding and read back as one matrix', async (t) => {
  const plain = encodeCheckpoint(checkpointOf(EMBEDDED));
  t.same(headerShapes(plain).slice(0, 2), [['embedding.weight', [7, 3]], ['rnn.weight_ih_l0', [12, 3]]], 'embedding.weight [V, E] first; weight_ih_l0 reads E');
  t.same(JSON.parse(decodeSafetensors(plain, FILE).metadata.config!).embedding, 3, 'config.embedding');
  t.same(decodeCheckpoint(plain, FILE).cfg, EMBEDDED, 'round trip of the config');

  const slots = new Map([['m', filledBlock(TIED, 2)]]);
  const bytes = encodeCheckpoint(checkpointOf(TIED, { optim: slots }));
  const shapes = headerShapes(bytes);
  const names = shapes.map(([name]) => name);
  t.same(names.filter((n) => !n.startsWith('optim.') && !n.startsWith('rnn.')), ['embedding.weight', 'head.weight', 'head.bias'], "PyTorch's state_dict: head.weight beside the embedding");
  t.notOk(names.includes('optim.m.head.weight'), 'the tied head has no optimizer state of its own');
  t.ok(names.includes('optim.m.embedding.weight'), 'the embedding has');
  const tensors = decodeSafetensors(bytes, FILE).tensors;
  t.same(Array.from(tensors.get('head.weight')!.data), Array.from(tensors.get('embedding.weight')!.data), 'the same data');
  const loaded = decodeCheckpoint(bytes, FILE);
  t.same(loaded.cfg, TIED);
  t.same(Array.from(loaded.params), Array.from(checkpointOf(TIED).params), 'params round trip');
  t.same(Array.from(loaded.optim.get('m')!), Array.from(slots.get('m')!), 'optimizer state round trip');

  const differing = rewrite(bytes, (list) => list.map((x) => (x.name === 'head.weight' ? { ...x, data: x.data.map((v, i) => (i === 5 ? v + 1e-6 : v)) } : x)));
  expectKeyed(t, () => decodeCheckpoint(differing, FILE), 'head.weight', /differs from embedding\.weight at element 5/);
  const bad = rewrite(bytes, (_, metadata) => { metadata.config = JSON.stringify({ ...JSON.parse(metadata.config!), embedding: 3 }); });
  expectKeyed(t, () => decodeCheckpoint(bad, FILE), '__metadata__.config.tieWeights', /needs embedding = hidden, got 3 and 4/);
});

t.test('a PyTorch state_dict with an nn.Embedding and no metadata loads: the vocabulary and width from embedding.weight', async (t) => {
  const plain = rewrite(encodeCheckpoint(checkpointOf(EMBEDDED)), (_, metadata) => { delete metadata.config; });
  const loaded = decodeCheckpoint(plain, FILE);
  t.same(loaded.cfg, EMBEDDED, 'inputSize = V rows, embedding = E columns');
  t.same(Array.from(loaded.params), Array.from(checkpointOf(EMBEDDED).params));
});
