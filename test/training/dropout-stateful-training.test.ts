// Dropout and stateful text through the trainer: N workers train the same model as one worker;
// a resumed run ends bit-for-bit where the uninterrupted one does (masks are a function of the
// step, carried states are in the checkpoint); evaluation never drops units.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseExperiment } from '../../src/main/experiment/experiment.js';
import { train } from '../../src/main/training/trainer.js';
import { evaluateCheckpoint } from '../../src/main/inference/evaluate.js';
import { loadCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { worse } from '../helpers/max-error.js';

const TEXT = 'Whether tis nobler in the mind to suffer the slings and arrows of outrageous fortune, or to take arms.\n'.repeat(5);

interface Setup {
  cell: ModelConfig['cell'];
  dropout: number;
  stateful: boolean;
  kernels: 'ts' | 'wasm';
}

function experiment(dir: string, s: Setup, workers: number, steps: number, out: string) {
  const textPath = join(dir, 'text.txt');
  writeFileSync(textPath, TEXT);
  return parseExperiment({
    seed: 9,
    data: { task: 'text', path: textPath, seqLen: 10, valFraction: 0.1, stateful: s.stateful },
    model: { cell: s.cell, hidden: 12, layers: 2, dropout: s.dropout },
    // batch 7: not divisible by 2 or 3 workers; 44 training windows → 6 windows per stream.
    train: { batch: 7, steps, workers, kernels: s.kernels, shuffle: true, clip: 1, evalEvery: 100, checkpointEvery: 100, optimizer: { name: 'adam', lr: 0.01 } },
    output: { dir: join(dir, out) },
  }, join(dir, 'exp.yaml'), dir);
}

const describe = (s: Setup): string =>
  `${s.cell}${s.dropout ? ` dropout ${s.dropout}` : ''}${s.stateful ? ' stateful' : ''} (${s.kernels})`;

const setups: Setup[] = [
  { cell: 'lstm', dropout: 0.3, stateful: false, kernels: 'wasm' },
  { cell: 'gru', dropout: 0.3, stateful: false, kernels: 'ts' },
  { cell: 'lstm', dropout: 0, stateful: true, kernels: 'ts' },
  { cell: 'gru', dropout: 0.2, stateful: true, kernels: 'wasm' },
];

const bytesOf = (x: { data: Float32Array | Float64Array }): Buffer => Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength);

for (const s of setups) {
  t.test(`${describe(s)}: 3 workers (shards of 3, 2, 2) give the parameters of 1 worker`, async (t) => {
    const dir = t.testdir();
    // 8 steps cross an epoch of the streams (6 batches), so states reset and carry on again.
    const one = readSafetensors((await train(experiment(dir, s, 1, 8, 'w1'), { file: 'exp.yaml' })).checkpoint).tensors;
    for (const workers of [3]) {
      const many = readSafetensors((await train(experiment(dir, s, workers, 8, `w${workers}`), { file: 'exp.yaml' })).checkpoint).tensors;
      let worst = 0;
      for (const [name, ref] of one) {
        const got = many.get(name)!;
        for (let k = 0; k < ref.data.length; k++) worst = worse(worst, Math.abs(got.data[k] - ref.data[k]) - (1e-6 + 1e-5 * Math.abs(ref.data[k])));
      }
      t.equal(many.size, one.size, `${workers} workers: the same ${one.size} tensors`);
      t.ok(worst <= 0, `${workers} workers: every value within atol 1e-6 + rtol 1e-5 of 1 worker`);
    }
    if (s.stateful) {
      t.ok([...one.keys()].some((name) => name.startsWith('optim.carried.h_l1')), 'the checkpoint carries the streams\' states');
    }
  });

  t.test(`${describe(s)}: 3 steps + resume to 9 is bit-identical to 9 steps straight`, async (t) => {
    const dir = t.testdir();
    const straight = await train(experiment(dir, s, 2, 9, 'straight'), { file: 'exp.yaml' });
    await train(experiment(dir, s, 2, 3, 'resumed'), { file: 'exp.yaml' });
    const resumed = await train(experiment(dir, s, 2, 9, 'resumed'), { file: 'exp.yaml', resume: true });
    const a = readSafetensors(straight.checkpoint).tensors, b = readSafetensors(resumed.checkpoint).tensors;
    const differing = [...a].filter(([name, x]) => !b.has(name) || !bytesOf(x).equals(bytesOf(b.get(name)!))).map(([name]) => name);
    t.same(differing, [], `all ${a.size} tensors equal bit for bit`);
    t.equal(b.size, a.size, 'the same tensors');
  });
}

t.test('evaluation does not drop units: the run\'s validation loss is the checkpoint\'s plain evaluation', async (t) => {
  const dir = t.testdir();
  const s: Setup = { cell: 'lstm', dropout: 0.5, stateful: false, kernels: 'wasm' };
  const result = await train(experiment(dir, s, 2, 4, 'run'), { file: 'exp.yaml' });
  // recur eval builds its engine without dropout (p = 0); the run's engine has p = 0.5.
  const plain = await evaluateCheckpoint(result.checkpoint, {});
  t.ok(result.valLoss !== null && Math.abs(result.valLoss - plain.loss) < 1e-6, `in-run ${result.valLoss} vs recur eval ${plain.loss}`);
  const ck = loadCheckpoint(result.checkpoint);
  t.equal((ck.experiment as { model: { dropout: number } }).model.dropout, 0.5, 'the checkpoint records the dropout');
});
