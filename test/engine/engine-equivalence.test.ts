// N workers must train the same model as one worker (to float rounding), in the manner of
// PyTorch DDP's tests; the same seed and worker count must give bit-identical checkpoints.
// (With the blas kernels: blas-training.test.ts.)
import t from 'tap';
import { checkRerunsIdentical, checkWorkersAgree } from '../helpers/equivalence.js';

const setups = [
  { cell: 'lstm', task: 'text' },
  { cell: 'rnn', task: 'adding' },
] as const;

for (const kernels of ['ts', 'wasm'] as const) {
  for (const { cell, task } of setups) {
    t.test(`${cell} on ${task} (${kernels} kernels): 1, 2, 3 and 4 workers give the same parameters after 5 Adam steps`, (t) => checkWorkersAgree(t, cell, task, kernels));
  }
}

t.test('the same seed and worker count twice gives bit-identical checkpoints', (t) => checkRerunsIdentical(t, 'wasm'));
