// The public golden case (test/fixtures/golden/lstm1), computed by PyTorch in float64,
// reproduced through the CLI: eval loss, and one full-batch SGD step with 1, 2 and 3 workers —
// its logged loss and gradient norm, and its update compared with PyTorch's. (More cases, several
// steps and every optimizer: golden-cases.test.ts; the gradients themselves: golden-gradients.test.ts.)
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { readMetrics } from '../helpers/cli.js';
import { KERNELS_UNDER_TEST, skipFor } from '../helpers/kernels.js';
import { checkUpdate, recur, repo, trainOneStep } from '../helpers/golden.js';
import { relativeError } from '../helpers/max-error.js';

const golden = resolve(repo, 'test/fixtures/golden/lstm1');
const expected = JSON.parse(readFileSync(join(golden, 'expected.json'), 'utf8')) as { loss_init: number; gradNorm_init: number; windows: number; seqLen: number; lr: number };

t.test('recur eval reproduces loss_init', async (t) => {
  const out = JSON.parse(recur('eval', '--checkpoint', join(golden, 'model.safetensors'), '--data', join(golden, 'data.txt'), '--seq-len', String(expected.seqLen))) as { loss: number; tokens: number };
  t.equal(out.tokens, expected.windows * expected.seqLen, 'every window, every step');
  t.ok(Math.abs(out.loss - expected.loss_init) < 1e-5, `loss ${out.loss} vs PyTorch ${expected.loss_init}`);
});

for (const workers of [1, 2, 3]) {
  // blas at 3 workers only (the suite is long; blas-training.test.ts shows N workers = 1 worker on it).
  for (const kernels of KERNELS_UNDER_TEST.filter((k) => k !== 'blas' || workers === 3)) {
    t.test(`one SGD step's update matches PyTorch's (${workers} workers, ${kernels} kernels)`, async (t) => {
      const run = trainOneStep(golden, expected, t.testdir(), workers, kernels);
      // The logged loss and gradient norm of step 1 are PyTorch's loss_init and total norm.
      const [line] = readMetrics(run);
      t.ok(relativeError(line!.loss, expected.loss_init) < 2e-6, `step 1 loss ${line!.loss} vs PyTorch ${expected.loss_init}`);
      t.ok(relativeError(line!.gradNorm, expected.gradNorm_init) < 1e-5, `step 1 gradNorm ${line!.gradNorm} vs PyTorch ${expected.gradNorm_init}`);
      // The update w₁ − w₀ against PyTorch's, element by element (comparing the weights themselves
      // would hide most of it: an update is ~1% of its weight).
      checkUpdate(t, readSafetensors(join(golden, 'model.safetensors')).tensors,
        readSafetensors(join(run, 'checkpoint.safetensors')).tensors, readSafetensors(join(golden, 'step1.safetensors')).tensors);
    });
  }
}
