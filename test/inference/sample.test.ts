// Sampling runs the network one step at a time, carrying the state between calls: that must
// compute exactly what one forward pass over the whole sequence computes. And it follows the
// model: at temperature t it draws from softmax(y / t) (a low t gives the argmax), the prime
// sets the state, and `recur sample` prints the prime and its continuation.
import t from 'tap';
import { join } from 'node:path';
import { Network } from '../../src/shared/model/network.js';
import { modelViews, paramLayout, type ModelViews } from '../../src/shared/model/layout.js';
import { initParams } from '../../src/shared/model/init.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { sampleText } from '../../src/main/inference/sample.js';
import { saveCheckpoint, type CheckpointData } from '../../src/main/checkpoint/checkpoint.js';
import { runRecur, tempDir } from '../helpers/cli.js';
import { worse } from '../helpers/max-error.js';

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
      for (let o = 0; o < V; o++) worst = worse(worst, Math.abs(step.y[o] - whole.y[i * V + o]));
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

/** A text model whose next-character distributions are far from uniform (weights of scale 1.5). */
function peakedModel(tokens: Pick<ModelConfig, 'embedding' | 'tieWeights'> = {}): { ck: CheckpointData; views: ModelViews<Float32Array> } {
  const cfg: ModelConfig = { cell: 'lstm', inputSize: 5, hidden: 6, layers: 1, outputSize: 5, recurrence: 'hidden', outputs: 'all', ...tokens };
  const layout = paramLayout(cfg);
  const params = new Float32Array(layout.size);
  initParams(cfg, layout, params, 21, { scale: 1.5, forgetBias: 1 });
  return { ck: { cfg, vocab: 'abcde', params, optim: new Map() }, views: modelViews(cfg, layout, params) };
}

/** The model's outputs y after reading `text` from the zero state, step by step (float32, as the sampler runs). */
function outputsAfter(views: ModelViews<Float32Array>, cfg: ModelConfig, vocab: string, text: string): Float64Array {
  const net = new Network({ cfg, loss: 'ce', input: 'onehot', batch: 1, seqLen: 1 }, (n): Float32Array => new Float32Array(n));
  Array.from(text).forEach((ch, i) => {
    net.forward(views, { tokens: Int32Array.of(vocab.indexOf(ch)), inputs: null, targetIds: new Int32Array(1), targetValues: null }, 1,
      { teacherForcing: false, gradScale: null, carryState: i > 0 });
  });
  return Float64Array.from(net.y.subarray(0, cfg.outputSize));
}

const softmax = (y: ArrayLike<number>, temperature: number): number[] => {
  const z = Array.from(y, (v) => v / temperature), max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max)), s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

/** Greedy continuation of `prime` computed here, independently of the sampler: argmax at every step. */
function greedy(views: ModelViews<Float32Array>, cfg: ModelConfig, vocab: string, prime: string, length: number): string {
  let text = prime;
  for (let i = 0; i < length; i++) {
    const y = outputsAfter(views, cfg, vocab, text);
    text += vocab[y.indexOf(Math.max(...y))];
  }
  return text.slice(prime.length);
}

t.test('temperature reshapes the model\'s next-character distribution into softmax(y / t)', async (t) => {
  const { ck, views } = peakedModel();
  const prime = 'cab';
  const y = outputsAfter(views, ck.cfg, ck.vocab as string, prime);
  const N = 4000;
  let checked = 0;
  for (const temperature of [0.5, 1, 2.5]) {
    const counts = new Array<number>(5).fill(0);
    for (let seed = 1; seed <= N; seed++) counts[ck.vocab!.indexOf(sampleText(ck, 'ck', { length: 1, temperature, prime, seed }))]!++;
    const p = softmax(y, temperature);
    for (let o = 0; o < 5; o++) {
      // Five standard errors of a binomial frequency: a sampler off the model or the temperature misses by far more.
      const tolerance = 5 * Math.sqrt(p[o]! * (1 - p[o]!) / N) + 1e-3;
      t.ok(Math.abs(counts[o]! / N - p[o]!) <= tolerance, `t = ${temperature}: '${ck.vocab![o]}' drawn ${(counts[o]! / N).toFixed(3)}, softmax(y/t) gives ${p[o]!.toFixed(3)}`);
      checked++;
    }
  }
  t.equal(checked, 15, 'three temperatures × five characters');
  // The test can tell temperatures apart: their distributions differ by far more than the tolerance.
  const gap = Math.max(...softmax(y, 0.5).map((v, o) => Math.abs(v - softmax(y, 2.5)[o]!)));
  t.ok(gap > 0.1, `t = 0.5 and t = 2.5 differ by ${gap.toFixed(3)} somewhere`);
});

t.test('a low temperature gives the argmax at every step; the prime sets the state', async (t) => {
  const { ck, views } = peakedModel();
  let primes = 0;
  for (const prime of ['a', 'eea', 'dcba', 'bbbbbbbbba']) {
    const expected = greedy(views, ck.cfg, ck.vocab as string, prime, 25);
    const got = [1, 2, 3].map((seed) => sampleText(ck, 'ck', { length: 25, temperature: 1e-4, prime, seed }));
    t.equal(got[0], expected, `prime ${JSON.stringify(prime)}: the greedy continuation ${JSON.stringify(expected)}`);
    t.ok(got.every((g) => g === got[0]), 'whatever the seed: the prime, not the seed, decides it');
    primes++;
  }
  t.equal(primes, 4);
  // Primes ending in the same character lead to different greedy continuations: the whole prime is read.
  const endings = new Set(['a', 'eea', 'dcba', 'bbbbbbbbba'].map((p) => greedy(views, ck.cfg, ck.vocab as string, p, 25)));
  t.ok(endings.size >= 2, `${endings.size} distinct continuations of primes ending in 'a'`);
});

t.test('recur sample through the CLI prints the prime and its continuation', async (t) => {
  const dir = tempDir(t);
  const { ck, views } = peakedModel();
  const path = join(dir, 'model.safetensors');
  saveCheckpoint(path, ck);
  const res = await runRecur(['sample', '--checkpoint', path, '--length', '30', '--prime', 'dcba', '--temperature', '0.0001', '--seed', '5']);
  t.equal(res.code, 0, 'exit 0', { stderr: res.stderr });
  t.equal(res.stdout, 'dcba' + greedy(views, ck.cfg, ck.vocab as string, 'dcba', 30) + '\n', 'the prime, then the greedy continuation');
  t.match(res.stderr, /^sampling with kernels (blas|wasm) \(auto: [^\n]*\)\n$/, 'on stderr only the kernels line');
  const warm = await runRecur(['sample', '--checkpoint', path, '--length', '200', '--seed', '5']);
  t.equal(warm.code, 0, 'exit 0 with the defaults (temperature 1)');
  t.match(warm.stdout, /^[abcde]{200}\n$/, '200 sampled characters (the default prime is not printed)');
});

t.test('token models sample what their network predicts: an embedding, and a tied head (greedy at a low temperature)', async (t) => {
  for (const tokens of [{ embedding: 3 }, { embedding: 6, tieWeights: true }]) {
    const { ck, views } = peakedModel(tokens);
    for (const prime of ['a', 'dcba']) {
      const expected = greedy(views, ck.cfg, ck.vocab as string, prime, 25);
      t.equal(sampleText(ck, 'ck', { length: 25, temperature: 1e-4, prime, seed: 2 }), expected, `${JSON.stringify(tokens)}, prime ${JSON.stringify(prime)}: ${JSON.stringify(expected)}`);
    }
  }
});
