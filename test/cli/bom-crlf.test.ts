// Data files saved with a UTF-8 BOM and CRLF line ends (a Windows editor, a spreadsheet's
// "CSV UTF-8") through every command that reads one: `recur train`, `recur predict` and
// `recur eval --data` read them as the same data as the plain file — the same trained weights,
// the same predictions, the same loss.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { runRecur, tempDir, writeExperiment } from '../helpers/cli.js';

t.setTimeout(600_000);

/** The text as a Windows tool saves it: a BOM, then CRLF line ends. */
const windows = (text: string): string => '\uFEFF' + text.replace(/\n/g, '\r\n');

const jsonl = (...o: unknown[]): string => o.map((x) => JSON.stringify(x)).join('\n') + '\n';
const SEQUENCES = jsonl(...Array.from({ length: 16 }, (_, i) => ({ x: [[i % 5, 1], [2, i % 3], [i % 4, 0.5]].slice(0, 1 + (i % 3)), y: i % 2 ? 'up' : 'down' })));
const SERIES = ['day,temp,wind', ...Array.from({ length: 40 }, (_, d) => `${d},${(10 + 0.2 * d + Math.sin(d / 3)).toFixed(2)},${(4 + Math.cos(d / 2)).toFixed(2)}`)].join('\n') + '\n';

/** Trains on `data` (an experiment's `data` section) and returns the checkpoint's path. */
async function trainOn(t: Test, dir: string, name: string, data: Record<string, unknown>): Promise<string> {
  const file = writeExperiment(dir, name, {
    seed: 2, data, model: { cell: 'gru', hidden: 4 },
    train: { batch: 4, steps: 4, workers: 1, kernels: 'ts', logEvery: 2, evalEvery: 4, optimizer: { name: 'adam', lr: 0.01 } },
  });
  const run = await runRecur(['train', file]);
  t.equal(run.code, 0, `recur train ${name} exits 0; stderr:\n${run.stderr}`);
  return join(dir, `run-${name}`, 'checkpoint.safetensors');
}

/** Every tensor of the two checkpoints is the same, bit for bit. */
function sameWeights(t: Test, a: string, b: string): void {
  const x = readSafetensors(a).tensors, y = readSafetensors(b).tensors;
  t.same([...y.keys()], [...x.keys()], 'the same tensors');
  const bytes = (data: Float32Array | Float64Array): Buffer => Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const differing = [...x].filter(([name, tensor]) => !bytes(tensor.data).equals(bytes(y.get(name)!.data)));
  t.same(differing.map(([name]) => name), [], 'trained on the BOM + CRLF file: the same weights as on the plain file');
}

/** `recur predict` and `recur eval --data` on the plain file and on its BOM + CRLF twin agree. */
async function predictAndEval(t: Test, checkpoint: string, plain: string, twin: string): Promise<void> {
  for (const command of [['predict'], ['eval']]) {
    const a = await runRecur([...command, '--checkpoint', checkpoint, '--data', plain]);
    const b = await runRecur([...command, '--checkpoint', checkpoint, '--data', twin]);
    t.equal(a.code, 0, `recur ${command[0]} on the plain file; stderr:\n${a.stderr}`);
    t.equal(b.code, 0, `recur ${command[0]} reads the BOM + CRLF file; stderr:\n${b.stderr}`);
    t.not(a.stdout.trim(), '', `recur ${command[0]} prints its result`);
    t.equal(b.stdout, a.stdout, `recur ${command[0]}: the same output for both files`);
  }
}

t.test('sequences: a JSON Lines file with a BOM and CRLF trains, predicts and evaluates as the plain file', async (t) => {
  const dir = tempDir(t);
  const plain = join(dir, 'seq.jsonl'), twin = join(dir, 'seq-windows.jsonl');
  writeFileSync(plain, SEQUENCES);
  writeFileSync(twin, windows(SEQUENCES));
  t.ok(readFileSync(twin).subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])) && readFileSync(twin, 'utf8').includes('\r\n'), 'the twin has a BOM and CRLF line ends');
  const a = await trainOn(t, dir, 'seq-plain', { task: 'sequences', path: plain, valFraction: 0.25 });
  const b = await trainOn(t, dir, 'seq-windows', { task: 'sequences', path: twin, valFraction: 0.25 });
  sameWeights(t, a, b);
  await predictAndEval(t, a, plain, twin);
});

t.test('series: a CSV with a BOM and CRLF trains, predicts and evaluates as the plain file', async (t) => {
  const dir = tempDir(t);
  const plain = join(dir, 'days.csv'), twin = join(dir, 'days-windows.csv');
  writeFileSync(plain, SERIES);
  writeFileSync(twin, windows(SERIES));
  const data = (path: string): Record<string, unknown> => ({ task: 'series', path, time: 'day', features: ['temp', 'wind'], targets: ['temp'], seqLen: 5, horizon: 2, valFraction: 0.25 });
  const a = await trainOn(t, dir, 'days-plain', data(plain));
  const b = await trainOn(t, dir, 'days-windows', data(twin));
  sameWeights(t, a, b);
  await predictAndEval(t, a, plain, twin);
});
