// Training on the blas kernels gives the same numbers (SPEC §5): N workers = 1
// worker and reruns bit-identical (as engine-equivalence.test.ts for ts and wasm; fewer worker
// counts, to keep the suite short). Resume and the loss curve against wasm: blas-resume.test.ts;
// the products themselves: blas-ops.test.ts; PyTorch's numbers with blas: golden*.test.ts.
// Skipped, saying what to install, where no BLAS loads.
import t from 'tap';
import { blasSkip } from '../helpers/blas.js';
import { checkRerunsIdentical, checkWorkersAgree } from '../helpers/equivalence.js';

const skip = blasSkip;

t.test('lstm on text (blas kernels): 1, 2 and 3 workers give the same parameters after 5 Adam steps', { skip }, (t) => checkWorkersAgree(t, 'lstm', 'text', 'blas', [2, 3]));
t.test('rnn on adding (blas kernels): 1 and 2 workers give the same parameters after 5 Adam steps', { skip }, (t) => checkWorkersAgree(t, 'rnn', 'adding', 'blas', [2]));

t.test('the same seed and worker count twice gives bit-identical checkpoints (blas kernels)', { skip }, (t) => checkRerunsIdentical(t, 'blas'));
