// train.kernels (auto | blas | wasm | ts) through the CLI: what auto chooses and why, recorded in
// config.json and the checkpoint and said on the start line and in the `recur bench` header;
// `blas` without a library is bad input (exit 2, what to install, nothing written); a resumed run
// keeps its checkpoint's kernels (auto from a wasm checkpoint stays wasm, bit for bit); `recur
// eval`, `predict` and `sample` resolve a checkpoint's kernels the same way and name them, and why,
// in one stderr line. (The blas kernels' numbers: blas-products.test.ts, network-ops.test.ts,
// engine-equivalence.test.ts and golden-cases.test.ts.)
// RECUR_BLAS=/nonexistent/libopenblas.so.0 stands for a machine without a BLAS.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { loadCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { evaluateCheckpoint } from '../../src/main/inference/evaluate.js';
import { errorLines, runRecur, stackLines, tempDir, writeExperiment } from '../helpers/cli.js';
import { blasSkip } from '../helpers/kernels.js';

const NO_BLAS = { RECUR_BLAS: '/nonexistent/libopenblas.so.0' };
const TEXT = 'Whether tis nobler in the mind to suffer the slings and arrows of outrageous fortune.\n'.repeat(12);

function experiment(dir: string, steps: number, kernels?: string): Record<string, unknown> {
  return {
    seed: 3,
    data: { task: 'text', path: path.join(dir, 'text.txt'), seqLen: 16, valFraction: 0.1 },
    model: { cell: 'lstm', hidden: 24 },
    train: { batch: 8, steps, workers: 2, ...(kernels ? { kernels } : {}), optimizer: { name: 'adam', lr: 0.01 }, evalEvery: 10, checkpointEvery: 100, logEvery: 1 },
  };
}

function setUp(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'text.txt'), TEXT);
  return dir;
}

const config = (runDir: string): { train: { kernels: string }; kernels: { requested: string; chosen: string; why: string } } =>
  JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8'));

const tensorBytes = (file: string): Map<string, Buffer> =>
  new Map([...readSafetensors(file).tensors].map(([name, x]) => [name, Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength)]));

t.test('auto chooses blas when a BLAS loads: config.json records requested and chosen, the start line says why', { skip: blasSkip }, async (t) => {
  const dir = setUp(t);
  const res = await runRecur(['train', writeExperiment(dir, 'auto', experiment(dir, 2))]);
  t.equal(res.code, 0, 'exit 0', { stderr: res.stderr });
  const runDir = path.join(dir, 'run-auto');
  const c = config(runDir);
  t.equal(c.train.kernels, 'auto', 'train.kernels as asked (the default)');
  t.same([c.kernels.requested, c.kernels.chosen], ['auto', 'blas'], 'config.json: requested auto, chose blas');
  t.match(c.kernels.why, /^auto: .+ loaded/, `why: ${c.kernels.why}`);
  t.match(res.stderr, /^training with 2 workers, kernels blas \(auto: .+ loaded[^)]*\); run folder /m, 'the start line');
  t.equal(loadCheckpoint(path.join(runDir, 'checkpoint.safetensors')).train?.kernels, 'blas', 'the checkpoint records blas');
});

t.test('auto without a BLAS chooses wasm and says why', async (t) => {
  const dir = setUp(t);
  const res = await runRecur(['train', writeExperiment(dir, 'auto', experiment(dir, 2))], { env: NO_BLAS });
  t.equal(res.code, 0, 'exit 0', { stderr: res.stderr });
  const c = config(path.join(dir, 'run-auto'));
  t.same([c.kernels.requested, c.kernels.chosen], ['auto', 'wasm'], 'config.json: requested auto, chose wasm');
  t.match(c.kernels.why, /^auto: no BLAS library loaded \(\/nonexistent\/libopenblas\.so\.0: /, `why: ${c.kernels.why}`);
  t.match(res.stderr, /^training with 2 workers, kernels wasm \(auto: no BLAS library loaded/m, 'the start line');
});

t.test('kernels: blas without a BLAS: exit 2, one line saying what to install, nothing written', async (t) => {
  const dir = setUp(t);
  const file = writeExperiment(dir, 'blas', experiment(dir, 2, 'blas'));
  const res = await runRecur(['train', file], { env: NO_BLAS });
  t.equal(res.code, 2, 'exit 2');
  const lines = errorLines(res.stderr);
  t.equal(lines.length, 1, 'one error line', { stderr: res.stderr });
  t.match(lines[0], `error: ${file}: train.kernels: blas needs a BLAS library, but no BLAS library loaded (/nonexistent/libopenblas.so.0`);
  t.match(lines[0], 'apt-get install libopenblas0', 'says what to install');
  t.same(stackLines(res.stderr), [], 'no stack trace');
  t.notOk(fs.existsSync(path.join(dir, 'run-blas')), 'no run folder');

  const bench = await runRecur(['bench', '--workloads', 'W0', '--workers', '1', '--kernels', 'blas', '--steps', '1', '--seconds', '0', '--json', path.join(dir, 'b.json')], { env: NO_BLAS });
  t.equal(bench.code, 2, 'recur bench --kernels blas: exit 2 too');
  t.match(errorLines(bench.stderr)[0] ?? '', /^error: --kernels: blas needs a BLAS library, .*apt-get install libopenblas0/);
  t.notOk(fs.existsSync(path.join(dir, 'b.json')), 'no report written');
});

t.test('recur bench names the kernels in its header and on every row', async (t) => {
  const dir = setUp(t);
  const json = path.join(dir, 'b.json');
  const res = await runRecur(['bench', '--workloads', 'W0', '--workers', '1', '--steps', '1', '--seconds', '0', '--json', json], { env: NO_BLAS });
  t.equal(res.code, 0, 'exit 0', { stderr: res.stderr });
  t.match(res.stdout, /^wasm kernels \(auto: no BLAS library loaded .*\) · /m, 'the header: chosen kernels and why');
  t.match(res.stdout, /^W0 +32\/32\/16 +lstm +wasm +1 /m, 'the row');
  const report = JSON.parse(fs.readFileSync(json, 'utf8')) as { kernels: { requested: string; chosen: string }; results: { kernels: string }[] };
  t.same([report.kernels.requested, report.kernels.chosen], ['auto', 'wasm'], 'the JSON: requested and chosen');
  t.same(report.results.map((r) => r.kernels), ['wasm'], 'the JSON rows');
});

t.test('resume keeps the checkpoint\'s kernels: auto from a wasm checkpoint stays wasm (bit for bit); a lost BLAS is said', { skip: blasSkip }, async (t) => {
  const dir = setUp(t);
  const straight = writeExperiment(dir, 'straight', experiment(dir, 6, 'wasm'));
  const auto = writeExperiment(dir, 'auto', experiment(dir, 3));
  const blasRun = writeExperiment(dir, 'blas-run', experiment(dir, 3));
  const [a, b, c] = await Promise.all([runRecur(['train', straight]), runRecur(['train', auto], { env: NO_BLAS }), runRecur(['train', blasRun])]);
  for (const [res, what] of [[a, 'the straight wasm run'], [b, 'the auto run without a BLAS'], [c, 'the auto run with one']] as const) {
    t.equal(res.code, 0, `${what} exits 0`, { stderr: res.stderr });
  }

  // Resumed where a BLAS loads: auto stays on the checkpoint's wasm.
  const resumed = await runRecur(['train', auto, '--resume', '--set', 'train.steps=6']);
  t.equal(resumed.code, 0, 'the resumed run exits 0', { stderr: resumed.stderr });
  t.match(resumed.stderr, /^resuming at step 3 with 2 workers, kernels wasm \(auto: as the checkpoint was trained\)/m, 'the start line');
  t.equal(config(path.join(dir, 'run-auto')).kernels.chosen, 'wasm', 'config.json: chose wasm');
  const x = tensorBytes(path.join(dir, 'run-straight/checkpoint.safetensors'));
  const y = tensorBytes(path.join(dir, 'run-auto/checkpoint.safetensors'));
  t.same([...x].filter(([name, bytes]) => !y.get(name)?.equals(bytes)).map(([name]) => name), [], 'every tensor equals the straight wasm run\'s, bit for bit');

  // Resumed where no BLAS loads: auto falls back to wasm and says the continuation differs.
  const lost = await runRecur(['train', blasRun, '--resume', '--set', 'train.steps=6'], { env: NO_BLAS });
  t.equal(lost.code, 0, 'the blas run resumed without a BLAS exits 0', { stderr: lost.stderr });
  t.match(lost.stderr, /kernels wasm \(auto: no BLAS library loaded .*; the checkpoint was trained with blas, so this continuation is not bit-identical to an uninterrupted run\)/, 'the start line says so');
  t.equal(loadCheckpoint(path.join(dir, 'run-blas-run/checkpoint.safetensors')).train?.kernels, 'wasm', 'the checkpoint now records wasm');
});

/** A checkpoint of `experiment(dir, 2, kernels)` trained under `env`; its path. */
async function trainedCheckpoint(t: Test, dir: string, name: string, kernels?: string, env: Record<string, string> = {}): Promise<string> {
  const res = await runRecur(['train', writeExperiment(dir, name, experiment(dir, 2, kernels))], { env });
  t.equal(res.code, 0, `training ${name} exits 0`, { stderr: res.stderr });
  return path.join(dir, `run-${name}`, 'checkpoint.safetensors');
}

/** stderr as its lines, none empty. */
const stderrLines = (stderr: string): string[] => stderr.split('\n').filter((line) => line !== '');

t.test('recur eval runs an auto checkpoint on blas where a BLAS loads, sample and predict on wasm (the calling thread), each saying so in one stderr line', { skip: blasSkip }, async (t) => {
  const dir = setUp(t);
  const checkpoint = await trainedCheckpoint(t, dir, 'auto');
  const evaluated = await runRecur(['eval', '--checkpoint', checkpoint, '--workers', '2']);
  t.equal(evaluated.code, 0, 'eval exits 0', { stderr: evaluated.stderr });
  t.match(evaluated.stdout, /^\{"loss":/, 'the JSON line on stdout');
  t.match(stderrLines(evaluated.stderr), [/^evaluating with 2 workers, kernels blas \(auto: .+ loaded[^)]*, as the checkpoint was trained\)$/], 'eval: one line, blas and why');
  t.equal(stderrLines(evaluated.stderr).length, 1, 'eval: nothing else on stderr');
  // The line is what ran: the loss is the blas kernels' to the bit, and the wasm kernels round otherwise.
  const loss = (JSON.parse(evaluated.stdout) as { loss: number }).loss;
  const [onBlas, onWasm] = await Promise.all(['blas', 'wasm'].map((kernels) => evaluateCheckpoint(checkpoint, { workers: 2, kernels: kernels as 'blas' | 'wasm' })));
  t.equal(loss, onBlas.loss, `the loss of the blas kernels (${loss})`);
  t.not(loss, onWasm.loss, `not the wasm kernels' (${onWasm.loss})`);

  const sampled = await runRecur(['sample', '--checkpoint', checkpoint, '--length', '5']);
  t.equal(sampled.code, 0, 'sample exits 0', { stderr: sampled.stderr });
  t.match(stderrLines(sampled.stderr), [/^sampling with kernels wasm \(auto: wasm on the calling thread\)$/], 'sample: one line, wasm and why');
  t.equal(stderrLines(sampled.stderr).length, 1, 'sample: nothing else on stderr');

  // predict needs a series (or sequences) model: a sawtooth level.
  fs.writeFileSync(path.join(dir, 'level.csv'), 'level\n' + Array.from({ length: 40 }, (_, k) => `${k % 10}`).join('\n') + '\n');
  const series = writeExperiment(dir, 'series', {
    seed: 3,
    data: { task: 'series', path: path.join(dir, 'level.csv'), features: ['level'], targets: ['level'], seqLen: 4, valFraction: 0.25 },
    model: { cell: 'lstm', hidden: 8 },
    train: { batch: 4, steps: 2, workers: 1, evalEvery: 2, logEvery: 1 },
  });
  const trained = await runRecur(['train', series]);
  t.equal(trained.code, 0, 'the series run exits 0', { stderr: trained.stderr });
  const predicted = await runRecur(['predict', '--checkpoint', path.join(dir, 'run-series', 'checkpoint.safetensors'), '--data', path.join(dir, 'level.csv')]);
  t.equal(predicted.code, 0, 'predict exits 0', { stderr: predicted.stderr });
  t.match(predicted.stdout, /^row,level_t\+1\n/, 'the forecasts on stdout');
  t.match(stderrLines(predicted.stderr), [/^predicted with kernels wasm \(auto: wasm on the calling thread\)$/], 'predict: one line, wasm and why');
  t.equal(stderrLines(predicted.stderr).length, 1, 'predict: nothing else on stderr');

  // The same blas checkpoint where no BLAS loads: still evaluated, on wasm, saying why.
  const without = await runRecur(['eval', '--checkpoint', checkpoint, '--workers', '1'], { env: NO_BLAS });
  t.equal(without.code, 0, 'eval without a BLAS exits 0', { stderr: without.stderr });
  t.match(stderrLines(without.stderr), [/^evaluating with 1 worker, kernels wasm \(auto: no BLAS library loaded \(\/nonexistent\/libopenblas\.so\.0: [^\n]*\)$/], 'wasm, and why');
});

t.test('recur eval honours the checkpoint\'s train.kernels: wasm stays wasm where a BLAS loads, auto from a wasm run stays wasm', async (t) => {
  const dir = setUp(t);
  const [wasm, autoWithout] = await Promise.all([
    trainedCheckpoint(t, dir, 'wasm', 'wasm'),
    trainedCheckpoint(t, dir, 'auto-without', undefined, NO_BLAS),
  ]);
  const asked = await runRecur(['eval', '--checkpoint', wasm, '--workers', '1']);
  t.equal(asked.code, 0, 'exit 0', { stderr: asked.stderr });
  t.same(stderrLines(asked.stderr), ['evaluating with 1 worker, kernels wasm (as the checkpoint\'s train.kernels asks)'], 'kernels: wasm in the experiment');
  const kept = await runRecur(['eval', '--checkpoint', autoWithout, '--workers', '1']);
  t.equal(kept.code, 0, 'exit 0', { stderr: kept.stderr });
  t.same(stderrLines(kept.stderr), ['evaluating with 1 worker, kernels wasm (auto: as the checkpoint was trained)'], 'auto trained on wasm stays wasm');
  const sampled = await runRecur(['sample', '--checkpoint', wasm, '--length', '5']);
  t.same(stderrLines(sampled.stderr), ['sampling with kernels wasm (as the checkpoint\'s train.kernels asks)'], 'sample likewise');
});
