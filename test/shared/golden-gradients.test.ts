// The gradients of every PyTorch golden case (test/fixtures/golden/*/grads.safetensors: the
// gradient of the mean loss over all sequences at the initial weights) reproduced by recur's
// network in float64, tensor by tensor, to 1e-7 of each tensor's largest gradient — tight enough
// that any wrong term of BPTT shows, and independent of the optimizer and of float32 rounding
// (F64 references to 1e-12 of each tensor's largest gradient). Then, for every case, the float64
// network trains its steps with recur's own norm, clipping and optimizer
// (src/shared/model/optim.ts): every step's loss and gradient norm and the final weights equal
// PyTorch's to float64 rounding (F32 final weights to their storage) — whichever kernels the CLI
// runs of golden-cases.test.ts use, the TypeScript optimizer itself is checked against torch.optim
// here. Sequences cases (bidirectional, variable lengths) run longest first, as recur batches them.
import t, { type Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Network, type ShardInput } from '../../src/shared/model/network.js';
import type { LossKind } from '../../src/shared/model/model-config.js';
import { modelViews, paramLayout, tensorViews, type ModelViews, type ParamLayout } from '../../src/shared/model/layout.js';
import { clipScale, optimizerSlots, optimizerStep, sumOfSquares, type OptimizerSpec } from '../../src/shared/model/optim.js';
import { loadCheckpoint } from '../../src/main/checkpoint/checkpoint.js';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { GOLDEN_ROOT as goldenRoot, goldenCases } from '../helpers/golden.js';
import { relativeError, worse } from '../helpers/max-error.js';

const cases = goldenCases().map((c) => c.name);

/** Every sequence of the case, time-major, as one shard, and the loss it is scored with. */
function caseInput(dir: string, seqLen: number, vocab: string | undefined): { input: ShardInput; B: number; loss: LossKind; quantiles: number[] | null } {
  if (existsSync(join(dir, 'data.txt'))) {
    const chars = Array.from(readFileSync(join(dir, 'data.txt'), 'utf8'));
    const ids = chars.map((c) => Array.from(vocab!).indexOf(c));
    const T = seqLen, B = Math.floor((ids.length - 1) / T);
    const tokens = new Int32Array(T * B), targetIds = new Int32Array(T * B);
    for (let j = 0; j < B; j++) {
      for (let s = 0; s < T; s++) {
        tokens[s * B + j] = ids[j * T + s]!;
        targetIds[s * B + j] = ids[j * T + s + 1]!;
      }
    }
    return { input: { tokens, inputs: null, targetIds, targetValues: null }, B, loss: 'ce', quantiles: null };
  }
  if (existsSync(join(dir, 'data.jsonl'))) return sequencesInput(join(dir, 'data.jsonl'), seqLen);
  // Values after the last step: the adding task's sums, or a series' next rows (quantile loss).
  // A series with categorical columns adds each sequence's level ids [C].
  const data = JSON.parse(readFileSync(join(dir, 'data.json'), 'utf8')) as { inputs: number[][][]; targets: (number | number[])[]; quantiles?: number[]; categories?: number[][] };
  const B = data.targets.length, T = seqLen, In = data.inputs[0]![0]!.length;
  const inputs = new Float64Array(T * B * In);
  for (let j = 0; j < B; j++) for (let s = 0; s < T; s++) for (let c = 0; c < In; c++) inputs[(s * B + j) * In + c] = data.inputs[j]![s]![c]!;
  const targetValues = Float64Array.from(data.targets.flat());
  const categories = data.categories ? Int32Array.from(data.categories.flat()) : null;
  return { input: { tokens: null, inputs, targetIds: null, targetValues, categories }, B, loss: data.quantiles ? 'quantile' : 'mse', quantiles: data.quantiles ?? null };
}

/**
 * A sequences case (normalize none): every line, longest first (the network's masking wants
 * non-increasing lengths; the mean loss and its gradient do not depend on the order), padded with
 * zeros; class labels (sorted, as recur indexes them) or one value each.
 */
function sequencesInput(path: string, seqLen: number): { input: ShardInput; B: number; loss: LossKind; quantiles: null } {
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { x: number[][]; y: string | number });
  lines.sort((a, b) => b.x.length - a.x.length);
  const B = lines.length, T = seqLen, In = lines[0]!.x[0]!.length;
  const inputs = new Float64Array(T * B * In);
  lines.forEach((l, j) => l.x.forEach((row, s) => row.forEach((v, c) => { inputs[(s * B + j) * In + c] = v; })));
  const lengths = Int32Array.from(lines, (l) => l.x.length);
  if (typeof lines[0]!.y === 'string') {
    const labels = [...new Set(lines.map((l) => l.y as string))].sort();
    const targetIds = Int32Array.from(lines, (l) => labels.indexOf(l.y as string));
    return { input: { tokens: null, inputs, targetIds, targetValues: null, lengths }, B, loss: 'ce', quantiles: null };
  }
  return { input: { tokens: null, inputs, targetIds: null, targetValues: Float64Array.from(lines, (l) => l.y as number), lengths }, B, loss: 'mse', quantiles: null };
}

t.ok(cases.length >= 11, `${cases.length} golden cases with gradients: ${cases.join(', ')}`);

for (const name of cases) {
  t.test(`${name}: float64 gradients equal PyTorch's`, async (t) => {
    const dir = join(goldenRoot, name);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { seqLen: number; loss_init: number };
    const ck = loadCheckpoint(join(dir, 'model.safetensors'));
    const { cfg } = ck;
    const layout = paramLayout(cfg);
    const params = Float64Array.from(ck.params), grads = new Float64Array(layout.size);
    const { input, B, loss, quantiles } = caseInput(dir, expected.seqLen, ck.vocab as string | undefined);
    const net = new Network({ cfg, loss, input: input.tokens ? 'onehot' : 'dense', batch: B, seqLen: expected.seqLen, quantiles }, (n) => new Float64Array(n));
    const rows = cfg.outputs === 'all' ? expected.seqLen * B : B;
    const pv = modelViews(cfg, layout, params), gv = modelViews(cfg, layout, grads);
    const sum = net.forward(pv, input, B, { teacherForcing: false, gradScale: 1 / rows });
    net.backward(pv, gv, input, B, false);
    t.ok(Math.abs(sum / rows - expected.loss_init) < 1e-12 * expected.loss_init, `loss ${sum / rows} vs PyTorch ${expected.loss_init}`);

    const ours = tensorViews(layout, grads);
    const reference = readSafetensors(join(dir, 'grads.safetensors')).tensors;
    let compared = 0;
    for (const [tensor, ref] of reference) {
      const got = ours.get(tensor);
      if (!got) {
        // LSTM/RNN bias_hh: recur folds it into bias_ih; PyTorch's gradient of the frozen zero tensor is zero.
        t.ok(/^rnn\.bias_hh_l\d+(_reverse)?$/.test(tensor) && ref.data.every((x) => x === 0), `${tensor}: not a recur parameter, zero in PyTorch`);
        continue;
      }
      let largest = 0, error = 0;
      for (let k = 0; k < ref.data.length; k++) largest = worse(largest, Math.abs(ref.data[k]!));
      for (let k = 0; k < ref.data.length; k++) error = worse(error, Math.abs(got[k]! - ref.data[k]!));
      t.ok(largest > 0, `${tensor}: PyTorch's gradient is nonzero somewhere`);
      // F64 references (scripts/goldens/generate.py) agree to rounding; F32 ones (the anchors') to their storage.
      const tolerance = ref.dtype === 'F64' ? 1e-12 : 1e-7;
      t.ok(error <= tolerance * largest, `${tensor}: max |g − g_torch| ${error.toExponential(2)} ≤ ${tolerance} · ${largest.toExponential(2)}`);
      compared++;
    }
    t.equal(compared, layout.tensors.length, 'every recur tensor compared');

    replay(t, dir, JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Replay, { net, pv, gv, params, grads, input, B, rows, layout });
  });
}

interface Replay {
  steps: number;
  losses: number[];
  gradNorms: number[];
  experiment: { train: { clip: number | null; optimizer: OptimizerSpec } };
}

/**
 * The case's `steps` full-batch steps in float64 from its initial weights: loss and gradient as
 * above, norm and clipping as the workers compute them, then optimizerStep — against PyTorch's
 * logged losses and norms, and its final weights to 1e-9 of each tensor's largest update (F32
 * final weights, the anchors', also to their storage: half an ulp of each).
 */
function replay(t: Test, dir: string, golden: Replay, s: {
  net: Network<Float64Array>; pv: ModelViews<Float64Array>; gv: ModelViews<Float64Array>;
  params: Float64Array; grads: Float64Array; input: ShardInput; B: number; rows: number; layout: ParamLayout;
}): void {
  const { clip, optimizer } = golden.experiment.train;
  const initial = Float64Array.from(s.params);
  const slots = optimizerSlots(optimizer.name).map(() => new Float64Array(s.layout.size));
  for (let step = 1; step <= golden.steps; step++) {
    s.grads.fill(0);
    const loss = s.net.forward(s.pv, s.input, s.B, { teacherForcing: false, gradScale: 1 / s.rows }) / s.rows;
    s.net.backward(s.pv, s.gv, s.input, s.B, false);
    const norm = Math.sqrt(sumOfSquares(s.grads, 0, s.layout.size));
    t.ok(relativeError(loss, golden.losses[step - 1]!) < 1e-10, `step ${step}: loss ${loss} vs PyTorch ${golden.losses[step - 1]}`);
    t.ok(relativeError(norm, golden.gradNorms[step - 1]!) < 1e-10, `step ${step}: gradient norm ${norm} vs PyTorch ${golden.gradNorms[step - 1]}`);
    optimizerStep(optimizer, step, s.params, s.grads, slots, 0, s.layout.size, clipScale(norm, clip));
  }
  const final = readSafetensors(join(dir, 'final.safetensors')).tensors;
  const ours = tensorViews(s.layout, s.params), before = tensorViews(s.layout, initial);
  let compared = 0;
  for (const spec of s.layout.tensors) {
    const stored = final.get(spec.name)!, ref = stored.data, got = ours.get(spec.name)!, w0 = before.get(spec.name)!;
    const storage = stored.dtype === 'F64' ? 0 : 2 ** -24;
    let largest = 0, error = 0;
    for (let k = 0; k < spec.size; k++) largest = worse(largest, Math.abs(ref[k]! - w0[k]!));
    for (let k = 0; k < spec.size; k++) error = worse(error, Math.max(0, Math.abs(got[k]! - ref[k]!) - storage * Math.abs(ref[k]!)));
    t.ok(largest > 0 && error <= 1e-9 * largest,
      `${spec.name} after ${golden.steps} ${optimizer.name}${optimizer.nesterov ? ' (nesterov)' : ''} steps: max |w − w_torch|${storage ? ' beyond its float32 storage' : ''} ${error.toExponential(2)} ≤ 1e-9 · largest update ${largest.toExponential(2)}`);
    compared++;
  }
  t.equal(compared, s.layout.tensors.length, 'every tensor trained as torch.optim trains it');
}
