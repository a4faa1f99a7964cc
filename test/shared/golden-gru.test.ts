// The GRU golden case (test/fixtures/golden/gru1, made by scripts/goldens/gru.py: PyTorch's
// nn.GRU + nn.Linear in float64, two layers, both biases random) reproduced through the CLI:
// PyTorch's checkpoint loads and evaluates to its loss; one full-batch SGD step makes PyTorch's
// update (w1 − w0 = −lr·∇, bias_hh included) with 1 and 2 workers and both kernel sets; and the
// checkpoint recur writes has exactly nn.GRU's state_dict names and shapes, so PyTorch loads it.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { KERNELS_UNDER_TEST, skipFor } from '../helpers/kernels.js';
import { recur, repo, trainOneStep } from '../helpers/golden.js';
import { worse } from '../helpers/max-error.js';

const golden = resolve(repo, 'test/fixtures/golden/gru1');
const expected = JSON.parse(readFileSync(join(golden, 'expected.json'), 'utf8')) as {
  loss_init: number; loss_step1: number; gradNorm_init: number; windows: number; seqLen: number; lr: number;
  stateDict: Record<string, number[]>;
};
const evalLoss = (checkpoint: string): { loss: number; tokens: number } =>
  JSON.parse(recur('eval', '--checkpoint', checkpoint, '--data', join(golden, 'data.txt'), '--seq-len', String(expected.seqLen))) as { loss: number; tokens: number };

t.test("PyTorch's GRU checkpoint loads and evaluates to loss_init", async (t) => {
  const out = evalLoss(join(golden, 'model.safetensors'));
  t.equal(out.tokens, expected.windows * expected.seqLen, 'every window, every step');
  t.ok(Math.abs(out.loss - expected.loss_init) < 1e-5, `loss ${out.loss} vs PyTorch ${expected.loss_init}`);
});

for (const workers of [1, 2]) {
  // blas at 2 workers only (the suite is long; blas-training.test.ts shows N workers = 1 worker on it).
  for (const kernels of KERNELS_UNDER_TEST.filter((k) => k !== 'blas' || workers === 2)) {
    t.test(`one SGD step makes PyTorch's update (${workers} workers, ${kernels} kernels)`, async (t) => {
      const run = trainOneStep(golden, expected, t.testdir(), workers, kernels);
      const w0 = readSafetensors(join(golden, 'model.safetensors')).tensors;
      const grads = readSafetensors(join(golden, 'grads.safetensors')).tensors;
      const w1 = readSafetensors(join(run, 'checkpoint.safetensors')).tensors;
      for (const [name, grad] of grads) {
        const before = w0.get(name)!, after = w1.get(name);
        if (!after) { t.fail(`missing ${name}`); continue; }
        // Our update against −lr·∇ (PyTorch's, float64 rounded once to float32): float32
        // weights hold the update to ~3e-8 absolute, the float32 pass to ~1e-5 relative.
        let worst = 0;
        for (let k = 0; k < grad.data.length; k++) {
          const ours = after.data[k] - before.data[k], theirs = -expected.lr * grad.data[k];
          worst = worse(worst, Math.abs(ours - theirs) - (1e-7 + 1e-3 * Math.abs(theirs)));
        }
        t.ok(worst <= 0, `${name}: update within 1e-7 + 1e-3·|PyTorch's|`);
      }
      const [line] = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number; gradNorm: number });
      t.ok(Math.abs(line.loss - expected.loss_init) < 1e-5, `step 1 loss ${line.loss} vs ${expected.loss_init}`);
      t.ok(Math.abs(line.gradNorm - expected.gradNorm_init) < 1e-5 * expected.gradNorm_init, `gradient norm ${line.gradNorm} vs ${expected.gradNorm_init}`);
      const after = evalLoss(join(run, 'checkpoint.safetensors')).loss;
      t.ok(Math.abs(after - expected.loss_step1) < 1e-5, `loss after the step ${after} vs PyTorch ${expected.loss_step1}`);
    });
  }
}

t.test("recur's GRU checkpoint has exactly nn.GRU's state_dict names and shapes", async (t) => {
  const dir = t.testdir();
  const exp = join(dir, 'gru.json');
  writeFileSync(exp, JSON.stringify({
    seed: 3,
    data: { task: 'text', path: join(golden, 'data.txt'), seqLen: expected.seqLen, valFraction: 0 },
    model: { cell: 'gru', hidden: 12, layers: 2 },
    train: { batch: 8, steps: 2, workers: 1 },
    output: { dir: join(dir, 'run') },
  }));
  recur('train', exp);
  const saved = readSafetensors(join(dir, 'run/checkpoint.safetensors'));
  const model = [...saved.tensors].filter(([name]) => !name.startsWith('optim.')).map(([name, x]) => [name, x.shape]);
  t.same(model, Object.entries(expected.stateDict), "the names, order and shapes of PyTorch's state_dict");
  t.same(JSON.parse(saved.metadata.config!).cell, 'gru', 'config.cell');
  // bias_hh is trained, not the zeros LSTM/RNN checkpoints carry.
  t.ok(saved.tensors.get('rnn.bias_hh_l1')!.data.some((x) => x !== 0), 'bias_hh holds trained values');
});
