// Every PyTorch float64 golden case (test/fixtures/golden/<case>/, one format: see its README)
// reproduced through the CLI by the one golden runner (helpers/golden.ts): `recur train` from the
// case's initial weights, every sequence in every batch, in order; every step's logged loss and
// gradient norm must equal PyTorch's, and the UPDATE (final − initial weights) must equal
// torch.optim's, element by element (a plain SGD step also −lr·∇, and a one-step text case's loss
// after it, by `recur eval`, PyTorch's). Cases: the anchors' one-step LSTM (lstm1) and the GRU with
// both biases random (gru1), each on every kernel set and worker count; active clipping; momentum,
// Nesterov, SGD weight decay, Adam (coupled decay, clipped), AdamW; the tanh RNN; a 2-layer LSTM;
// a GRU (Adam, clipped, both biases trained); mean squared error on the adding task (outputs:
// last); two categorical series columns, each an nn.Embedding read at every step (Adam); an
// nn.Embedding into an LSTM and a tied GRU (head.weight = embedding.weight), one Adam step each
// (their PyTorch state_dicts, tied head.weight included, load by name); bidirectional 2-layer LSTM
// (cross-entropy) and GRU (MSE, Adam, clipped) over sequences of their own lengths
// (pack_padded_sequence), outputs last from h_n of both directions. Also: PyTorch's checkpoints
// evaluate to their loss with `recur eval`, the adding case's data is still what recur generates,
// and GRU and bidirectional checkpoints of recur's have PyTorch's state_dict.
// (The gradients themselves and the TypeScript optimizer, in float64: golden-gradients.test.ts.)
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { loadDataset } from '../../src/main/data/load.js';
import { runRecur } from '../helpers/cli.js';
import { KERNELS_UNDER_TEST, skipFor, type Kernels } from '../helpers/kernels.js';
import { evalOnCase, GOLDEN_ROOT, goldenCases, runGoldenCase } from '../helpers/golden.js';

const cases = goldenCases();
t.same(cases.map((c) => c.name), ['adam', 'adamw', 'adding', 'bigru', 'bilstm', 'categorical', 'clip', 'embedding', 'gru', 'gru1', 'lstm1', 'lstm2', 'momentum', 'nesterov', 'quantile', 'rnn', 'sgd-weight-decay', 'tied'],
  'all eighteen cases are present');

/**
 * The one-step cases run on every worker count and kernel set (blas at one count only: the suite
 * is long, and engine-equivalence.test.ts shows N workers = 1 worker on it).
 */
const SWEEPS: Record<string, { workers: number[]; blasAt: number }> = {
  lstm1: { workers: [1, 2, 3], blasAt: 3 },
  gru1: { workers: [1, 2], blasAt: 2 },
};

// Every other case runs once; the kernels (ts, wasm, blas) and the worker count rotate so every
// kernel set meets 1 and 2 workers and several cases (the WebAssembly optimizer and gradients
// equal the TypeScript ones bit for bit / to rounding: wasm-optim.test.ts, network-ops.test.ts;
// the BLAS products the reference: blas-products.test.ts). The blas runs are skipped, saying what
// to install, where no BLAS loads.
const runs: { name: string; workers: number; kernels: Kernels }[] = [];
for (const [index, { name }] of cases.filter((c) => !SWEEPS[c.name]).entries()) {
  runs.push({ name, kernels: KERNELS_UNDER_TEST[index % KERNELS_UNDER_TEST.length]!, workers: 1 + (Math.floor(index / KERNELS_UNDER_TEST.length) % 2) });
}
for (const [name, { workers, blasAt }] of Object.entries(SWEEPS)) {
  for (const w of workers) for (const kernels of KERNELS_UNDER_TEST.filter((k) => k !== 'blas' || w === blasAt)) runs.push({ name, workers: w, kernels });
}

let ran = 0, skipped = 0;
for (const { name, workers, kernels } of runs) {
  const c = cases.find((x) => x.name === name)!;
  const steps = c.expected.steps;
  if (skipFor(kernels).skip) skipped++;
  t.test(`${name}: ${steps} step${steps > 1 ? 's equal' : ' equals'} PyTorch's (${workers} worker${workers > 1 ? 's' : ''}, ${kernels} kernels)`, skipFor(kernels), async (t) => {
    ran++;
    await runGoldenCase(t, c, t.testdir(), workers, kernels);
  });
}

for (const c of cases.filter((x) => SWEEPS[x.name])) {
  t.test(`${c.name}: PyTorch's checkpoint evaluates to loss_init with recur eval`, async (t) => {
    const out = await evalOnCase(t, c, join(c.dir, 'model.safetensors'));
    t.equal(out.tokens, c.expected.sequences * c.expected.seqLen, 'every window, every step');
    t.ok(Math.abs(out.loss - c.expected.loss_init) < 1e-5, `loss ${out.loss} vs PyTorch ${c.expected.loss_init}`);
  });
}

t.test('the adding case trains on the sequences its reference was computed on', async (t) => {
  // The adding data comes from recur's generator (seeded); if it ever changes, regenerate with
  // scripts/goldens/dump-adding.mjs and generate.py rather than chase a loss mismatch.
  const fixture = JSON.parse(readFileSync(join(GOLDEN_ROOT, 'adding/data.json'), 'utf8')) as {
    seed: number; seqLen: number; trainSize: number; valSize: number; inputs: number[][][]; targets: number[];
  };
  const { seed, seqLen: T, trainSize: n, valSize } = fixture;
  const dataset = loadDataset({ task: 'adding', seqLen: T, trainSize: n, valSize }, seed, 'adding');
  const out = { tokens: new Int32Array(0), targetIds: new Int32Array(0), inputs: new Float32Array(T * n * 2), targetValues: new Float32Array(n) };
  dataset.fill('train', Int32Array.from({ length: n }, (_, i) => i), 0, n, 'last', out);
  t.same(Array.from(out.targetValues), fixture.targets, 'targets');
  t.same(Array.from({ length: n }, (_, j) => Array.from({ length: T }, (_, s) => [out.inputs[(s * n + j) * 2], out.inputs[(s * n + j) * 2 + 1]])), fixture.inputs, 'inputs');
});

t.test("recur's GRU checkpoint has exactly nn.GRU's state_dict names and shapes", async (t) => {
  const gru1 = cases.find((c) => c.name === 'gru1')!;
  const dir = t.testdir();
  const exp = join(dir, 'gru.json');
  writeFileSync(exp, JSON.stringify({
    seed: 3,
    data: { task: 'text', path: join(gru1.dir, 'data.txt'), seqLen: gru1.expected.seqLen, valFraction: 0 },
    model: { cell: 'gru', hidden: 12, layers: 2 },
    train: { batch: 8, steps: 2, workers: 1 },
    output: { dir: join(dir, 'run') },
  }));
  const res = await runRecur(['train', exp]);
  t.equal(res.code, 0, 'recur train exits 0', { stderr: res.stderr });
  const saved = readSafetensors(join(dir, 'run/checkpoint.safetensors'));
  const model = [...saved.tensors].filter(([name]) => !name.startsWith('optim.')).map(([name, x]) => [name, x.shape]);
  t.same(model, Object.entries(gru1.expected.stateDict!), "the names, order and shapes of PyTorch's state_dict");
  t.same(JSON.parse(saved.metadata.config!).cell, 'gru', 'config.cell');
  // bias_hh is trained, not the zeros LSTM/RNN checkpoints carry.
  t.ok(saved.tensors.get('rnn.bias_hh_l1')!.data.some((x) => x !== 0), 'bias_hh holds trained values');
});

t.test("recur's token checkpoints have PyTorch's state_dict names and shapes (embedding first; tied: head.weight too)", async (t) => {
  for (const name of ['embedding', 'tied']) {
    const c = cases.find((x) => x.name === name)!;
    const torch = readSafetensors(join(c.dir, 'model.safetensors'));
    const config = JSON.parse(torch.metadata.config!) as { cell: string; hidden: number; embedding: number; tieWeights?: boolean };
    const dir = join(t.testdir(), name);
    const exp = join(dir, 'exp.json');
    mkdirSync(dir, { recursive: true });
    writeFileSync(exp, JSON.stringify({
      seed: 3,
      data: { task: 'text', path: join(c.dir, 'data.txt'), seqLen: c.expected.seqLen, valFraction: 0 },
      model: { cell: config.cell, hidden: config.hidden, embedding: config.embedding, ...(config.tieWeights ? { tieWeights: true } : {}) },
      train: { batch: 8, steps: 1, workers: 1 },
      output: { dir: join(dir, 'run') },
    }));
    const res = await runRecur(['train', exp]);
    t.equal(res.code, 0, `${name}: recur train exits 0`, { stderr: res.stderr });
    const ours = readSafetensors(join(dir, 'run/checkpoint.safetensors'));
    const shapes = (tensors: typeof ours.tensors) => [...tensors].filter(([n]) => !n.startsWith('optim.')).map(([n, x]) => [n, x.shape]);
    t.same(shapes(ours.tensors), shapes(torch.tensors), `${name}: the names, order and shapes of PyTorch's state_dict`);
    if (config.tieWeights) t.same(Array.from(ours.tensors.get('head.weight')!.data), Array.from(ours.tensors.get('embedding.weight')!.data), 'tied: head.weight is embedding.weight');
  }
});
for (const name of ['bilstm', 'bigru']) {
  t.test(`recur's bidirectional checkpoint (${name}) has exactly PyTorch's state_dict names and shapes`, async (t) => {
    const c = cases.find((x) => x.name === name)!;
    const dir = t.testdir();
    const saved = join(dir, 'saved.safetensors');
    // PyTorch's file through recur (load, then save as recur writes checkpoints).
    const { decodeCheckpoint, encodeCheckpoint } = await import('../../src/main/checkpoint/checkpoint-codec.js');
    const ck = decodeCheckpoint(readFileSync(join(c.dir, 'model.safetensors')), name);
    t.equal(ck.cfg.bidirectional, true, 'the config says bidirectional');
    writeFileSync(saved, encodeCheckpoint(ck));
    const model = [...readSafetensors(saved).tensors].map(([n, x]) => [n, x.shape]);
    t.same(model, Object.entries(c.expected.stateDict!), "the names, order and shapes of PyTorch's state_dict");
    t.equal(JSON.parse(readSafetensors(saved).metadata.config!).bidirectional, true, 'config.bidirectional');
    // A plain state_dict (no recur metadata): the shape, bidirectional included, comes from the tensors.
    const { decodeSafetensors, encodeSafetensors } = await import('../../src/main/checkpoint/safetensors-codec.js');
    const plain = decodeSafetensors(readFileSync(join(c.dir, 'model.safetensors')), name);
    const bare = encodeSafetensors([...plain.tensors].map(([n, x]) => ({ name: n, shape: x.shape, data: Float32Array.from(x.data) })), {});
    const inferred = decodeCheckpoint(bare, name);
    t.same({ ...inferred.cfg, outputs: ck.cfg.outputs }, ck.cfg, 'inferred from the tensors (outputs aside: no tensor says it)');
    t.same(Array.from(inferred.params), Array.from(ck.params), 'the same weights');
  });
}

t.test('every run ran', async (t) => {
  t.equal(ran + skipped, runs.length, `${ran} runs, ${skipped} skipped (no BLAS)`);
});
