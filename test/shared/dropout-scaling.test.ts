// Inverted dropout, by its values rather than its gradients: every mask entry is 0 or exactly
// 1/(1 − p), about a fraction p are 0, and a layer's output reaches the head as h ⊙ mask, so the
// expected activation in training equals the activation in evaluation. A dropout that forgot its
// 1/(1 − p) would pass every gradient check under a fixed mask (the gradient of the wrong forward
// pass is still exact); these checks fail on it.
import t from 'tap';
import { fillDropoutMask } from '../../src/shared/model/dropout.js';
import { initParams } from '../../src/shared/model/init.js';
import { modelViews, paramLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { Network } from '../../src/shared/model/network.js';
import { Rng } from '../../src/shared/model/rng.js';

t.test('mask entries are 0 or 1/(1 − p), a fraction p of them 0, mean 1', async (t) => {
  for (const p of [0.1, 0.45, 0.8]) {
    const B = 50, H = 200;
    const mask = new Float64Array(B * H);
    fillDropoutMask(mask, 0, p, { seed: 3, step: 7, firstSequence: 0 }, 0, 0, B, H);
    const keep = 1 / (1 - p);
    let zeros = 0, sum = 0, other = 0;
    for (const m of mask) {
      if (m === 0) zeros++;
      else if (m !== keep) other++;
      sum += m;
    }
    t.equal(other, 0, `p=${p}: every kept unit is scaled by exactly 1/(1 − p) = ${keep}`);
    // 10,000 independent draws: the share of zeros is within 4 standard deviations of p.
    const sd = Math.sqrt(p * (1 - p) / mask.length);
    t.ok(Math.abs(zeros / mask.length - p) < 4 * sd, `p=${p}: ${(zeros / mask.length).toFixed(4)} of the units dropped`);
    t.ok(Math.abs(sum / mask.length - 1) < 4 * sd * keep, `p=${p}: the mask's mean ${(sum / mask.length).toFixed(4)} is 1 (expected activation unchanged)`);
  }
});

t.test('the head sees h ⊙ mask in training and h in evaluation', async (t) => {
  // One layer whose head is the identity (O = H, V = I, c = 0): the outputs are the layer's
  // activations as the head receives them.
  const H = 6, T = 4, B = 3, p = 0.5;
  const cfg: ModelConfig = { cell: 'lstm', inputSize: 5, hidden: H, layers: 1, outputSize: H, recurrence: 'hidden', outputs: 'all' };
  const layout = paramLayout(cfg);
  const params = new Float64Array(layout.size);
  initParams(cfg, layout, params, 4, { scale: 0.6, forgetBias: 0.5 });
  const pv = modelViews(cfg, layout, params);
  pv.headW.fill(0);
  for (let j = 0; j < H; j++) pv.headW[j * H + j] = 1;
  pv.headB.fill(0);
  const net = new Network({ cfg, loss: 'mse', input: 'dense', batch: B, seqLen: T, dropout: p }, (n) => new Float64Array(n));
  const rng = new Rng(8, 1);
  const input = {
    tokens: null, targetIds: null,
    inputs: Float64Array.from({ length: T * B * 5 }, () => rng.normal()),
    targetValues: new Float64Array(T * B * H),
  };
  net.forward(pv, input, B, { teacherForcing: false, gradScale: null, dropout: null });
  const evaluated = Float64Array.from(net.y.subarray(0, T * B * H));
  const stream = { seed: 2, step: 5, firstSequence: 0 };
  net.forward(pv, input, B, { teacherForcing: false, gradScale: null, dropout: stream });
  const trained = net.y.subarray(0, T * B * H);
  const mask = new Float64Array(T * B * H);
  for (let s = 0; s < T; s++) fillDropoutMask(mask, s * B * H, p, stream, 0, s, B, H);
  let worst = 0, kept = 0;
  for (let i = 0; i < mask.length; i++) {
    worst = Math.max(worst, Math.abs(trained[i]! - evaluated[i]! * mask[i]!));
    if (mask[i] !== 0) kept++;
  }
  t.ok(kept > 0 && kept < mask.length, 'some units kept, some dropped');
  t.ok(worst < 1e-12, `training output = evaluation output × mask (2 for kept units at p = 0.5): worst ${worst}`);
});
