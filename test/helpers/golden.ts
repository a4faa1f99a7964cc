/** The golden cases' shared steps: `recur` through the CLI, and one full-batch SGD step from a case's weights. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
