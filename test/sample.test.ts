// Sampling runs the network one step at a time, carrying the state between calls: that must
// compute exactly what one forward pass over the whole sequence computes.
import t from 'tap';
import { Network } from '../src/shared/network.js';
import { modelViews, paramLayout } from '../src/shared/layout.js';
import { initParams } from '../src/shared/init.js';
import type { ModelConfig } from '../src/shared/model-config.js';
import { sampleText } from '../src/main/run/sample.js';

const V = 6, T = 7;
for (const [cell, recurrence, layers] of [['lstm', 'hidden', 2], ['rnn', 'hidden', 1], ['lstm', 'output', 1]] as const) {
  t.test(`${cell} ${recurrence} recurrence, ${layers} layer(s): step-by-step with carried state = whole sequence`, async (t) => {
    const cfg: ModelConfig = { cell, inputSize: V, hidden: 5, layers, outputSize: V, recurrence, outputs: 'all' };
    const layout = paramLayout(cfg);
    const params = new Float64Array(layout.size);
    initParams(cfg, layout, params, 3, { scale: 0.8, forgetBias: 1 });
    const views = modelViews(cfg, layout, params);
    const tokens = Int32Array.from([1, 4, 0, 5, 2, 2, 3]);
    const whole = new Network({ cfg, loss: 'ce', input: 'onehot', batch: 1, seqLen: T }, (n) => new Float64Array(n));
    whole.forward(views, { tokens, inputs: null, targetIds: new Int32Array(T), targetValues: null }, 1, { teacherForcing: false, gradScale: null });
    const step = new Network({ cfg, loss: 'ce', input: 'onehot', batch: 1, seqLen: 1 }, (n) => new Float64Array(n));
    let worst = 0;
    for (let i = 0; i < T; i++) {
      step.forward(views, { tokens: tokens.subarray(i, i + 1), inputs: null, targetIds: new Int32Array(1), targetValues: null }, 1,
        { teacherForcing: false, gradScale: null, carryState: i > 0 });
      for (let o = 0; o < V; o++) worst = Math.max(worst, Math.abs(step.y[o] - whole.y[i * V + o]));
    }
    t.ok(worst < 1e-12, `outputs agree at every step (max diff ${worst.toExponential(1)})`);
  });
}

t.test('sampling is reproducible from the seed and stays in the vocabulary', async (t) => {
  const cfg: ModelConfig = { cell: 'lstm', inputSize: 4, hidden: 8, layers: 1, outputSize: 4, recurrence: 'hidden', outputs: 'all' };
  const layout = paramLayout(cfg);
  const params = new Float32Array(layout.size);
  initParams(cfg, layout, params, 1, { scale: null, forgetBias: 1 });
  const ck = { cfg, vocab: '\nabc', params, optim: new Map() };
  const a = sampleText(ck, 'ck', { length: 50, temperature: 1, seed: 7 });
  t.equal(a, sampleText(ck, 'ck', { length: 50, temperature: 1, seed: 7 }), 'same seed, same text');
  t.not(a, sampleText(ck, 'ck', { length: 50, temperature: 1, seed: 8 }), 'another seed, another text');
  t.equal(a.length, 50);
  t.match(a, /^[\nabc]+$/, 'only vocabulary characters');
});
