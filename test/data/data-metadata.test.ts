// The checkpoint's `data` metadata (SPEC §3): a series or sequences model's columns, statistics,
// labels and differencing survive a saved checkpoint exactly, and a damaged entry is one error
// line naming `__metadata__.data.<key>`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint, type CheckpointData } from '../../src/main/checkpoint/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/main/checkpoint/safetensors.js';
import type { DataMeta, SequencesMeta } from '../../src/main/data/metadata.js';
import { buildSeries, readSeriesTable, type SeriesOptions } from '../../src/main/data/series.js';
import { paramLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { expectKeyedInputError } from '../helpers/input-error.js';

const FILE = 'model.safetensors';

function checkpointFor(meta: DataMeta, outputSize: number): CheckpointData {
  const cfg: ModelConfig = { cell: 'lstm', inputSize: meta.features.length, hidden: 3, layers: 1, outputSize, recurrence: 'hidden', outputs: 'last' };
  return { cfg, params: new Float32Array(paramLayout(cfg).size).fill(0.5), optim: new Map(), data: meta };
}

function seriesMeta(): DataMeta {
  const opt: SeriesOptions = {
    time: 'day', group: 'sym', features: ['price', 'volume'], targets: ['price'], seqLen: 2, horizon: 2, stride: 1,
    valFraction: 0.25, normalize: 'zscore', missing: 'ffill', difference: true, outputs: 'last',
  };
  const rows = ['day,sym,price,volume'];
  for (let d = 1; d <= 8; d++) rows.push(`${d},A,${10 + d * d},${d % 3}`, `${d},"B, Inc",${100 - d},${d === 4 ? 'NA' : 2 * d}`);
  const text = rows.join('\n') + '\n';
  return buildSeries(readSeriesTable(text, 'prices.csv', ',', opt), opt, ',', { csv: 'prices.csv', experiment: 'exp.yaml' }).meta;
}

const SEQUENCES: SequencesMeta = {
  task: 'sequences', features: ['x0', 'x1', 'x2'], targets: ['y'], target: 'class', labels: ['circle', 'swipe', 7],
  scalarTarget: false,
  normalization: { kind: 'minmax', columns: { x0: { shift: -1, scale: 2 }, x1: { shift: 0, scale: 1 }, x2: { shift: 3.25, scale: 0.125 } } },
};

t.test('round trip through a saved checkpoint: series and sequences metadata come back equal', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recur-meta-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const series = seriesMeta();
  t.equal(series.task, 'series');
  t.same(series.task === 'series' && Object.keys(series.normalization.columns), ['price', 'volume'], 'statistics of every feature and target');
  const values: SequencesMeta = {
    task: 'sequences', features: ['x0'], targets: ['y0', 'y1'], target: 'value', labels: null, scalarTarget: false,
    normalization: { kind: 'zscore', columns: { x0: { shift: 0.1, scale: 3 }, y0: { shift: -2, scale: 0.5 }, y1: { shift: 1e-9, scale: 1e9 } } },
  };
  for (const [meta, outputs] of [[series, 2], [SEQUENCES, 3], [values, 2]] as const) {
    const path = join(dir, `${meta.task}.safetensors`);
    saveCheckpoint(path, checkpointFor(meta, outputs));
    const loaded = loadCheckpoint(path);
    t.same(loaded.data, meta, `${meta.task} ${meta.task === 'sequences' ? meta.target : ''}: equal after save and load`);
    t.equal(JSON.stringify(loaded.data), JSON.stringify(meta), 'down to key order and every digit');
  }
  const plain = checkpointFor(SEQUENCES, 3);
  delete plain.data;
  t.equal(decodeCheckpoint(encodeCheckpoint(plain), FILE).data, undefined, 'a model without data metadata has none');
});

/** SEQUENCES' checkpoint with its `data` metadata replaced by `text`. */
function withData(text: string): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(encodeCheckpoint(checkpointFor(SEQUENCES, 3)), FILE);
  return encodeSafetensors([...tensors].map(([name, { shape, data }]) => ({ name, shape, data: data as Float32Array })), { ...metadata, data: text });
}

t.test('damaged data metadata: one line naming the key', async (t) => {
  const edit = (change: (m: Record<string, any>) => void): string => {
    const m = JSON.parse(JSON.stringify(SEQUENCES));
    change(m);
    return JSON.stringify(m);
  };
  const cases: [string, string, RegExp][] = [
    ['{', '__metadata__.data', /not valid JSON/],
    ['[1]', '__metadata__.data', /must be a JSON object/],
    [edit((m) => { m.task = 'text'; }), '__metadata__.data.task', /one of series, sequences, got "text"/],
    [edit((m) => { m.features = []; }), '__metadata__.data.features', /non-empty list of names/],
    [edit((m) => { m.labels = ['a', 'a', 'b']; }), '__metadata__.data.labels', /repeated label/],
    [edit((m) => { delete m.normalization.columns.x1; }), '__metadata__.data.normalization.columns.x1', /must be a JSON object/],
    [edit((m) => { m.normalization.columns.x2.scale = 0; }), '__metadata__.data.normalization.columns.x2.scale', /positive number, got 0/],
    [edit((m) => { m.normalization.kind = 'robust'; }), '__metadata__.data.normalization.kind', /zscore, minmax, none/],
    [edit((m) => { m.extra = 1; }), '__metadata__.data.extra', /unknown key/],
    [edit((m) => { m.labels = ['a', 'b']; }), '__metadata__.data', /describes 3 inputs and 2 outputs, the model has 3 and 3/],
  ];
  for (const [text, key, problem] of cases) expectKeyedInputError(t, () => decodeCheckpoint(withData(text), FILE), FILE, key, problem);
});
