/**
 * The one golden runner. A case is a folder of test/fixtures/golden/ in one format (see its
 * README): model.safetensors (the initial weights), data.txt or data.json, grads.safetensors (the
 * gradient at the initial weights), final.safetensors (the weights after the last step) and
 * expected.json (every step's loss and gradient norm, and the experiment that reproduces the run).
 * `runGoldenCase` trains a case through the CLI and compares the run with PyTorch's.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { readSafetensors } from '../../src/main/checkpoint/safetensors.js';
import { readMetrics, REPO_ROOT, runRecur } from './cli.js';
import { relativeError, worse } from './max-error.js';

export const GOLDEN_ROOT = join(REPO_ROOT, 'test/fixtures/golden');

/** expected.json of a case. */
export interface GoldenExpected {
  loss_init: number;
  gradNorm_init: number;
  /** Loss and pre-clip gradient norm of every step (what recur logs). */
  losses: number[];
  gradNorms: number[];
  clipBinds: boolean[];
  /** The mean loss over every sequence at the final weights. */
  loss_final: number;
  sequences: number;
  seqLen: number;
  steps: number;
  /** Paths relative to the case folder. */
  experiment: {
    seed?: number;
    data: Record<string, unknown>;
    train: Record<string, unknown> & { clip: number | null; optimizer: Record<string, unknown> & { name: string; lr: number } };
  };
  /** PyTorch's state_dict names and shapes, where the case lists them. */
  stateDict?: Record<string, number[]>;
}

export interface GoldenCase { name: string; dir: string; expected: GoldenExpected }

/** Every case, by name. */
export function goldenCases(): GoldenCase[] {
  return readdirSync(GOLDEN_ROOT, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort().map((name) => {
    const dir = join(GOLDEN_ROOT, name);
    return { name, dir, expected: JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as GoldenExpected };
  });
}

/** `recur ARGS` that must exit 0; its stdout. */
async function recur(t: Test, args: string[]): Promise<string> {
  const res = await runRecur(args);
  t.equal(res.code, 0, `recur ${args[0]} exits 0`, { stderr: res.stderr });
  return res.stdout;
}

/** `recur eval` of `checkpoint` on a text case's data: its mean loss and token count. */
export async function evalOnCase(t: Test, c: GoldenCase, checkpoint: string): Promise<{ loss: number; tokens: number }> {
  const out = await recur(t, ['eval', '--checkpoint', checkpoint, '--data', join(c.dir, 'data.txt'), '--seq-len', String(c.expected.seqLen)]);
  return JSON.parse(out) as { loss: number; tokens: number };
}

/** The case's one step is plain SGD: the update is −lr·∇ of grads.safetensors. */
const plainSgdStep = (e: GoldenExpected): boolean => e.steps === 1 && e.experiment.train.clip === null
  && e.experiment.train.optimizer.name === 'sgd' && !e.experiment.train.optimizer.weightDecay;

/**
 * `recur train` of the case's experiment from its initial weights, every sequence of every batch
 * in order, with `workers` and `kernels`, in `tmp`. Every step's logged loss (2e-6 relative) and
 * gradient norm (1e-5 relative) must be PyTorch's, and the update (ours − initial) must be
 * torch's (final − initial), element by element (checkUpdate). A plain SGD step must also be
 * −lr·∇ of the case's gradient, and a text case of one step (the anchors' method) is evaluated
 * with `recur eval` after it: PyTorch's loss at the stepped weights.
 */
export async function runGoldenCase(t: Test, c: GoldenCase, tmp: string, workers: number, kernels: string): Promise<void> {
  const { data, train } = c.expected.experiment;
  const experiment = {
    ...c.expected.experiment,
    data: { ...data, ...(data.path ? { path: join(c.dir, data.path as string) } : {}) },
    train: { ...train, init: join(c.dir, train.init as string), workers, kernels },
    output: { dir: join(tmp, 'run') },
  };
  writeFileSync(join(tmp, 'golden.json'), JSON.stringify(experiment));
  await recur(t, ['train', join(tmp, 'golden.json')]);

  const expected = c.expected;
  const lines = readMetrics(join(tmp, 'run'));
  t.same(lines.map((l) => l.step), expected.losses.map((_, i) => i + 1), 'one metrics line per step');
  for (const [i, line] of lines.entries()) {
    t.ok(relativeError(line.loss, expected.losses[i]) < 2e-6, `step ${i + 1} loss ${line.loss} vs PyTorch ${expected.losses[i]}`);
    t.ok(relativeError(line.gradNorm, expected.gradNorms[i]) < 1e-5,
      `step ${i + 1} gradNorm ${line.gradNorm} vs PyTorch's total norm ${expected.gradNorms[i]}${expected.clipBinds[i] ? ' (clipping binds)' : ''}`);
  }

  const checkpoint = join(tmp, 'run/checkpoint.safetensors');
  const initial = readSafetensors(join(c.dir, 'model.safetensors')).tensors;
  const ours = readSafetensors(checkpoint).tensors;
  checkUpdate(t, initial, ours, readSafetensors(join(c.dir, 'final.safetensors')).tensors);

  if (plainSgdStep(expected)) {
    const lr = expected.experiment.train.optimizer.lr;
    for (const [name, grad] of readSafetensors(join(c.dir, 'grads.safetensors')).tensors) {
      const before = initial.get(name)!, after = ours.get(name);
      if (!after) { t.fail(`missing ${name}`); continue; }
      // Our update against −lr·∇ (PyTorch's, float64 rounded once to float32): float32
      // weights hold the update to ~3e-8 absolute, the float32 pass to ~1e-5 relative.
      let worst = 0;
      for (let k = 0; k < grad.data.length; k++) {
        const step = after.data[k]! - before.data[k]!, theirs = -lr * grad.data[k]!;
        worst = worse(worst, Math.abs(step - theirs) - (1e-7 + 1e-3 * Math.abs(theirs)));
      }
      t.ok(worst <= 0, `${name}: update within 1e-7 + 1e-3·|PyTorch's −lr·∇|`);
    }
  }
  if (expected.steps === 1 && data.task === 'text') {
    const after = (await evalOnCase(t, c, checkpoint)).loss;
    t.ok(Math.abs(after - expected.loss_final) < 1e-5, `recur eval after the step: loss ${after} vs PyTorch ${expected.loss_final}`);
  }
}

interface Tensor { shape: number[]; data: ArrayLike<number> }
type Tensors = Map<string, Tensor>;

/** Relative tolerance on each element's update. */
export const UPDATE_RTOL = 1e-3;
/** Elements with tiny updates are compared to this fraction of the tensor's largest update. */
export const UPDATE_FLOOR = 1e-2;
/** recur keeps weights in float32: each stored weight carries up to ~1 ulp per step of rounding. */
const FLOAT32_ULPS = 8 * 2 ** -23;

/**
 * The worst error of an update, element by element, as a fraction of its allowance (≤ 1 passes):
 * |Δ − Δref| / (RTOL·(|Δref| + FLOOR·max|Δref|) + 8 ulp(w)), Δ = after − before. A large update
 * must match to 0.1%; a zero, missing or 16%-off gradient in any row is off by far more.
 * Non-finite values give Infinity.
 */
export function updateError(before: ArrayLike<number>, after: ArrayLike<number>, reference: ArrayLike<number>): { worst: number; largest: number } {
  let largest = 0;
  for (let k = 0; k < before.length; k++) largest = worse(largest, Math.abs(reference[k]! - before[k]!));
  let worst = 0;
  for (let k = 0; k < before.length; k++) {
    const expected = reference[k]! - before[k]!;
    const allowance = UPDATE_RTOL * (Math.abs(expected) + UPDATE_FLOOR * largest) + FLOAT32_ULPS * Math.abs(reference[k]!);
    worst = worse(worst, Math.abs(after[k]! - before[k]! - expected) / allowance);
  }
  return { worst, largest };
}

/**
 * Checks every trained tensor's update (ours − initial) against PyTorch's (reference − initial).
 * Tensors that PyTorch leaves at zero throughout (bias_hh: recur's single bias) must stay zero.
 */
export function checkUpdate(t: Pick<Test, 'ok' | 'same' | 'fail'>, initial: Tensors, ours: Tensors, reference: Tensors): void {
  let compared = 0;
  for (const [name, ref] of reference) {
    if (name.startsWith('optim.')) continue;
    const before = initial.get(name), after = ours.get(name);
    if (!before || !after) { t.fail(`missing ${name}`); continue; }
    t.same(after.shape, ref.shape, `${name} shape`);
    const { worst, largest } = updateError(before.data, after.data, ref.data);
    if (largest === 0) {
      t.ok(Array.from(after.data).every((x, k) => x === before.data[k]), `${name} is not trained, as in PyTorch`);
      continue;
    }
    compared++;
    t.ok(worst <= 1, `${name}: update matches PyTorch's (worst ${worst.toFixed(3)} of the allowance, largest update ${largest.toExponential(2)})`);
  }
  t.ok(compared >= 4, `${compared} trained tensors compared`);
}
