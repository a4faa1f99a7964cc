/**
 * The golden cases' shared steps: `recur` through the CLI, one full-batch SGD step from a case's
 * weights, and the comparison of a run's update with PyTorch's.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { worse } from './max-error.js';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const recur = (...args: string[]): string => execFileSync(process.execPath, [join(repo, 'bin/recur.js'), ...args], { encoding: 'utf8' });

/**
 * `recur train` of one SGD step of lr over all `windows` windows of the case's data.txt (in
 * order, no clipping), from its model.safetensors; returns the run folder (dir/run).
 */
export function trainOneStep(golden: string, expected: { windows: number; seqLen: number; lr: number }, dir: string, workers: number, kernels: string): string {
  const exp = join(dir, 'golden.json');
  writeFileSync(exp, JSON.stringify({
    data: { task: 'text', path: join(golden, 'data.txt'), seqLen: expected.seqLen, valFraction: 0 },
    train: {
      batch: expected.windows, steps: 1, workers, kernels, shuffle: false, clip: null,
      optimizer: { name: 'sgd', lr: expected.lr }, init: join(golden, 'model.safetensors'),
    },
    output: { dir: join(dir, 'run') },
  }));
  recur('train', exp);
  return join(dir, 'run');
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
