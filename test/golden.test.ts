// The public golden case (test/fixtures/golden/lstm1), computed by PyTorch in float64,
// reproduced through the CLI: eval loss, and one full-batch SGD step with 1, 2 and 3 workers.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readSafetensors } from '../src/main/checkpoint/safetensors.js';
import { recur, repo, trainOneStep } from './helpers/golden.js';

const golden = resolve(repo, 'test/fixtures/golden/lstm1');
const expected = JSON.parse(readFileSync(join(golden, 'expected.json'), 'utf8')) as { loss_init: number; windows: number; seqLen: number; lr: number };

t.test('recur eval reproduces loss_init', async (t) => {
  const out = JSON.parse(recur('eval', '--checkpoint', join(golden, 'model.safetensors'), '--data', join(golden, 'data.txt'), '--seq-len', String(expected.seqLen))) as { loss: number; tokens: number };
  t.equal(out.tokens, expected.windows * expected.seqLen, 'every window, every step');
  t.ok(Math.abs(out.loss - expected.loss_init) < 1e-5, `loss ${out.loss} vs PyTorch ${expected.loss_init}`);
});

for (const workers of [1, 2, 3]) {
  for (const kernels of ['ts', 'wasm']) {
    t.test(`one SGD step matches step1.safetensors (${workers} workers, ${kernels} kernels)`, async (t) => {
      const run = trainOneStep(golden, expected, t.testdir(), workers, kernels);
      const ours = readSafetensors(join(run, 'checkpoint.safetensors')).tensors;
      const theirs = readSafetensors(join(golden, 'step1.safetensors')).tensors;
      for (const [name, ref] of theirs) {
        if (name.startsWith('optim.')) continue;
        const got = ours.get(name);
        if (!got) { t.fail(`missing ${name}`); continue; }
        t.same(got.shape, ref.shape, `${name} shape`);
        let worst = 0;
        for (let k = 0; k < ref.data.length; k++) {
          const excess = Math.abs(got.data[k] - ref.data[k]) - (1e-6 + 1e-3 * Math.abs(ref.data[k]));
          worst = Math.max(worst, excess);
        }
        t.ok(worst <= 0, `${name} within atol 1e-6 + rtol 1e-3`);
      }
    });
  }
}
