/**
 * One worker's forward + backward (no optimizer, no synchronization) on the SPEC §8 workloads,
 * with the TypeScript kernels vs the WebAssembly ones (and the system BLAS's products), on the engine's own shared-memory plan
 * (1 worker). Prints tokens/s and where the time goes: the products by kind (packing of weights
 * included in abt/ab), the cell steps, the one-hot input projection and its gradient, the loss,
 * the bias adds and sums, and the rest (fills, call overhead).
 *
 *   node dist/bench/step.js [W0 W1 ...] [--kernels ts,wasm,blas]   (default: all that load)
 *
 * Throughput comes from un-instrumented steps; the shares from separate steps with a timer
 * around every kernel call. Medians after warm-up; the machine may be shared, so read ratios
 * within one run.
 */
import { loadBlas, loadedBlas } from '../src/shared/backends/blas.js';
import { sharedViews, workerModel } from '../src/shared/memory/views.js';
import { initParams } from '../src/shared/model/init.js';
import type { ModelConfig } from '../src/shared/model/model-config.js';
import type { NetworkOps } from '../src/shared/model/network.js';
import { optimizerSlots } from '../src/shared/model/optim.js';
import { Rng } from '../src/shared/model/rng.js';
import { createPlanMemory, planSharedMemory, type EngineSpec } from '../src/shared/memory/shared-memory.js';

const WORKLOADS = [
  { name: 'W0', hidden: 32, seqLen: 32, batch: 16 },
  { name: 'W1', hidden: 128, seqLen: 64, batch: 32 },
  { name: 'W2', hidden: 256, seqLen: 64, batch: 64 },
  { name: 'W3', hidden: 512, seqLen: 64, batch: 64 },
];
const VOCAB = 65;
const WARMUP_SECONDS = 0.5;
/** Steps per measurement: at least MIN_STEPS, more while under BUDGET_SECONDS, at most MAX_STEPS. */
const MIN_STEPS = 3;
const MAX_STEPS = 30;
const BUDGET_SECONDS = 2;

type Kernels = EngineSpec['kernels'];
type OpName = keyof NetworkOps;
const OP_NAMES: OpName[] = [
  'abt', 'ab', 'atb', 'lstmForward', 'lstmBackward', 'rnnForward', 'rnnBackward', 'oneHotProjection', 'oneHotGradient',
  'softmaxCrossEntropy', 'softmaxRows', 'meanSquaredError', 'addColumnSums', 'addRowVector',
];
/** Report columns: what each sums. */
const SHARES: [string, OpName[]][] = [
  ['abt', ['abt']], ['ab', ['ab']], ['atb', ['atb']],
  ['cells', ['lstmForward', 'lstmBackward', 'rnnForward', 'rnnBackward']],
  ['one-hot', ['oneHotProjection', 'oneHotGradient']],
  ['loss', ['softmaxCrossEntropy', 'softmaxRows', 'meanSquaredError']],
  ['bias', ['addColumnSums', 'addRowVector']],
];

/** `ops` with a timer around every call, adding milliseconds into `spent`. */
function timedOps(ops: NetworkOps, spent: Record<OpName, number>): NetworkOps {
  const timed = { ...ops };
  for (const name of OP_NAMES) {
    const op = ops[name] as (...args: unknown[]) => void;
    (timed as Record<OpName, unknown>)[name] = (...args: unknown[]): void => {
      const start = performance.now();
      op(...args);
      spent[name] += performance.now() - start;
    };
  }
  return timed;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

interface Result { workload: string; kernels: Kernels; stepMs: number; shares: Record<string, number> }

function measure(w: (typeof WORKLOADS)[number], kernels: Kernels): Result {
  const cfg: ModelConfig = {
    cell: 'lstm', inputSize: VOCAB, hidden: w.hidden, layers: 1, outputSize: VOCAB, recurrence: 'hidden', outputs: 'all',
  };
  const spec: EngineSpec = {
    cfg, loss: 'ce', input: 'onehot', seqLen: w.seqLen, batch: w.batch, workers: 1,
    optimizer: { name: 'adam', lr: 2e-3, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false },
    clip: 5, teacherForcing: false, kernels,
  };
  const plan = planSharedMemory(spec, optimizerSlots('adam').length);
  const memory = createPlanMemory(plan);
  const views = sharedViews(memory, plan);
  initParams(cfg, plan.layout, views.params, 1, { scale: null, forgetBias: 1 });
  const rng = new Rng(2);
  const shard = views.shards[0];
  for (let r = 0; r < w.seqLen * w.batch; r++) {
    shard.tokens[r] = rng.int(VOCAB);
    shard.targetIds[r] = rng.int(VOCAB);
  }
  const spent = Object.fromEntries(OP_NAMES.map((name) => [name, 0])) as Record<OpName, number>;
  const blas = kernels === 'blas' ? loadedBlas() : null;
  const plain = workerModel(memory, plan, views, 0, { blas });
  const timed = workerModel(memory, plan, views, 0, { blas, wrap: (ops) => timedOps(ops, spent) });
  const rows = w.seqLen * w.batch, gradScale = 1 / rows;

  /** One step as a worker runs it (weights repacked, as after an optimizer step); its ms. */
  const step = (model: typeof plain): number => {
    const start = performance.now();
    model.invalidateWeights();
    views.grads[0].fill(0);
    model.net.forward(model.params, model.shard, w.batch, { teacherForcing: false, gradScale });
    model.net.backward(model.params, model.grads, model.shard, w.batch, false);
    return performance.now() - start;
  };
  const steps = (run: () => number): number[] => {
    const times: number[] = [];
    const end = performance.now() + BUDGET_SECONDS * 1e3;
    while (times.length < MIN_STEPS || (times.length < MAX_STEPS && performance.now() < end)) times.push(run());
    return times;
  };

  const warmupEnd = performance.now() + WARMUP_SECONDS * 1e3;
  do { step(plain); step(timed); } while (performance.now() < warmupEnd);
  const stepMs = median(steps(() => step(plain)));

  for (const name of OP_NAMES) spent[name] = 0;
  const timedTimes = steps(() => step(timed));
  const timedTotal = timedTimes.reduce((a, b) => a + b, 0);
  const shares: Record<string, number> = {};
  let opsTotal = 0;
  for (const [label, names] of SHARES) {
    const ms = names.reduce((sum, name) => sum + spent[name], 0);
    shares[label] = ms / timedTotal;
    opsTotal += ms;
  }
  shares['rest'] = Math.max(0, 1 - opsTotal / timedTotal);
  return { workload: w.name, kernels, stepMs, shares };
}

const args = process.argv.slice(2);
const kernelsAt = args.indexOf('--kernels');
const kernelList = (kernelsAt >= 0 ? args.splice(kernelsAt, 2)[1]!.split(',') : ['ts', 'wasm', ...(loadBlas().ok ? ['blas'] : [])]) as Kernels[];
const wanted = args;
const workloads = wanted.length > 0 ? WORKLOADS.filter((w) => wanted.includes(w.name)) : WORKLOADS;
if (workloads.length === 0) throw new Error(`no workload among ${wanted.join(', ')}; known: ${WORKLOADS.map((w) => w.name).join(', ')}`);

const header = ['workload', 'kernels', 'step ms', 'tokens/s', 'speed-up', ...SHARES.map(([label]) => label), 'rest'];
const table: string[][] = [];
for (const w of workloads) {
  const results = kernelList.map((kernels) => measure(w, kernels));
  const first = results[0]!;
  for (const r of results) {
    table.push([
      r.workload, r.kernels, r.stepMs.toFixed(2), ((w.seqLen * w.batch) / (r.stepMs / 1e3)).toFixed(0),
      `${(first.stepMs / r.stepMs).toFixed(2)}×`,
      ...[...SHARES.map(([label]) => label), 'rest'].map((label) => `${(100 * r.shares[label]!).toFixed(0)}%`),
    ]);
  }
}
const widths = header.map((h, i) => Math.max(h.length, ...table.map((cells) => cells[i]!.length)));
for (const cells of [header, ...table]) {
  console.log(cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}
console.log('abt: x·Wᵀ (input, recurrent, head), ab: dG·W (gradients to h), atb: weight gradients; packing in abt/ab');
