// Stateful text at the network level (float64): a window that starts from the state the previous
// window of its stream ended in continues that stream exactly (two windows of T = one of 2T), and
// its gradient is truncated BPTT's: the carried state is a constant, no gradient crosses into it.
import t from 'tap';
import { Network, type CarriedState, type ShardInput } from '../../src/shared/model/network.js';
import { modelViews, paramLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { Rng } from '../../src/shared/model/rng.js';
import { initParams } from '../../src/shared/model/init.js';
import { worse } from '../helpers/max-error.js';

const T = 4, B = 3, H = 5, V = 6, LAYERS = 2;

function setUp(cell: ModelConfig['cell']) {
  const cfg: ModelConfig = { cell, inputSize: V, hidden: H, layers: LAYERS, outputSize: V, recurrence: 'hidden', outputs: 'all' };
  const layout = paramLayout(cfg);
  const params = new Float64Array(layout.size);
  initParams(cfg, layout, params, 3, { scale: 0.7, forgetBias: 0.5 });
  const rng = new Rng(4);
  // B streams of 2T+1 symbols, time-major.
  const stream = Array.from({ length: B }, () => Array.from({ length: 2 * T + 1 }, () => rng.int(V)));
  const window = (from: number, len: number): ShardInput => {
    const tokens = new Int32Array(len * B), targetIds = new Int32Array(len * B);
    for (let s = 0; s < len; s++) {
      for (let b = 0; b < B; b++) {
        tokens[s * B + b] = stream[b][from + s];
        targetIds[s * B + b] = stream[b][from + s + 1];
      }
    }
    return { tokens, inputs: null, targetIds, targetValues: null };
  };
  const net = (len: number) => new Network({ cfg, loss: 'ce', input: 'onehot', batch: B, seqLen: len }, (n) => new Float64Array(n));
  const state = (): CarriedState<Float64Array> => ({
    h: Array.from({ length: LAYERS }, () => new Float64Array(B * H)),
    c: Array.from({ length: LAYERS }, () => (cell === 'lstm' ? new Float64Array(B * H) : null)),
  });
  return { cfg, layout, params, pv: modelViews(cfg, layout, params), window, net, state };
}

for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  t.test(`${cell}: two stateful windows of T give the losses of one window of 2T`, async (t) => {
    const s = setUp(cell);
    const whole = s.net(2 * T).forward(s.pv, s.window(0, 2 * T), B, { teacherForcing: false, gradScale: null });
    const state = s.state();
    const halves = s.net(T);
    const first = halves.forward(s.pv, s.window(0, T), B, { teacherForcing: false, gradScale: null, state });
    const second = halves.forward(s.pv, s.window(T, T), B, { teacherForcing: false, gradScale: null, state });
    t.ok(Math.abs(first + second - whole) < 1e-12 * whole, `${first} + ${second} = ${first + second} vs ${whole}`);
    const fresh = s.net(T).forward(s.pv, s.window(T, T), B, { teacherForcing: false, gradScale: null });
    t.ok(Math.abs(fresh - second) > 1e-3, `the carried state matters: ${second} vs ${fresh} from zero`);
    const zeroStart = s.net(T).forward(s.pv, s.window(0, T), B, { teacherForcing: false, gradScale: null });
    t.equal(first, zeroStart, 'a zeroed state starts like no state at all');
  });

  t.test(`${cell}: the second window's gradient is truncated BPTT's`, async (t) => {
    const s = setUp(cell);
    const halves = s.net(T);
    const state = s.state();
    halves.forward(s.pv, s.window(0, T), B, { teacherForcing: false, gradScale: null, state });
    // The state window 2 starts from, frozen: finite differences must not see it move.
    const frozen = s.state();
    frozen.h.forEach((h, k) => h.set(state.h[k]));
    frozen.c.forEach((c, k) => c?.set(state.c[k]!));
    const carried = () => {
      const copy = s.state();
      copy.h.forEach((h, k) => h.set(frozen.h[k]));
      copy.c.forEach((c, k) => c?.set(frozen.c[k]!));
      return copy;
    };
    const input = s.window(T, T), scale = 1 / (T * B);
    const grads = new Float64Array(s.layout.size);
    halves.forward(s.pv, input, B, { teacherForcing: false, gradScale: scale, state: carried() });
    halves.backward(s.pv, modelViews(s.cfg, s.layout, grads), input, B, false);
    const loss = () => halves.forward(s.pv, input, B, { teacherForcing: false, gradScale: null, state: carried() }) * scale;
    const h = 1e-3;
    let worst = 0;
    for (let k = 0; k < s.layout.size; k++) {
      const saved = s.params[k];
      const at = (d: number) => { s.params[k] = saved + d; return loss(); };
      const numeric = (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h);
      s.params[k] = saved;
      worst = worse(worst, Math.abs(numeric - grads[k]) / Math.max(Math.abs(numeric), Math.abs(grads[k]), 1e-6));
    }
    t.ok(worst < 1e-6, `max relative error ${worst.toExponential(2)} against the gradient with the carried state held constant`);

    // Full BPTT through both windows differs: the truncation is real.
    const whole = s.net(2 * T), wholeGrads = new Float64Array(s.layout.size), wholeInput = s.window(0, 2 * T);
    whole.forward(s.pv, wholeInput, B, { teacherForcing: false, gradScale: scale });
    whole.backward(s.pv, modelViews(s.cfg, s.layout, wholeGrads), wholeInput, B, false);
    const firstGrads = new Float64Array(s.layout.size), fresh = s.state();
    halves.forward(s.pv, s.window(0, T), B, { teacherForcing: false, gradScale: scale, state: fresh });
    halves.backward(s.pv, modelViews(s.cfg, s.layout, firstGrads), s.window(0, T), B, false);
    let gap = 0;
    for (let k = 0; k < s.layout.size; k++) gap = Math.max(gap, Math.abs(firstGrads[k] + grads[k] - wholeGrads[k]));
    t.ok(gap > 1e-6, `the two windows' gradients differ from full BPTT over 2T (by up to ${gap.toExponential(2)})`);
  });
}

t.test('output recurrence cannot carry a state', async (t) => {
  const cfg: ModelConfig = { cell: 'lstm', inputSize: V, hidden: H, layers: 1, outputSize: V, recurrence: 'output', outputs: 'all' };
  const layout = paramLayout(cfg);
  const net = new Network({ cfg, loss: 'ce', input: 'onehot', batch: B, seqLen: T }, (n) => new Float64Array(n));
  const input = { tokens: new Int32Array(T * B), inputs: null, targetIds: new Int32Array(T * B), targetValues: null };
  const state = { h: [new Float64Array(B * H)], c: [new Float64Array(B * H)] };
  t.throws(() => net.forward(modelViews(cfg, layout, new Float64Array(layout.size)), input, B, { teacherForcing: false, gradScale: null, state }), /hidden recurrence/);
});
