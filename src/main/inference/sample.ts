/** Text generation from a checkpoint (`recur sample`): its kernels resolved here, then the Model's sample. */
import type { CheckpointData } from '../checkpoint/checkpoint.js';
import { describeKernels, resolveCheckpointKernels } from '../engine/kernel-choice.js';
import type { KernelsChoice } from '../experiment/options.js';
import { loadedBlas } from '../../shared/backends/blas.js';
import { checkSampling, Model, type TextSampleOptions } from './model.js';

export interface SampleOptions extends TextSampleOptions {
  /** Default: as the checkpoint was trained (its experiment's train.kernels, auto kept on the kernels it chose). */
  kernels?: KernelsChoice;
  /** The line naming the kernels and why (the CLI prints it on stderr). */
  onNotice?: (line: string) => void;
}

export function sampleText(ck: CheckpointData, file: string, opt: SampleOptions): string {
  // Bad input is reported before the kernels are chosen (and said).
  checkSampling(ck.vocab, ck.cfg, file, opt, ck.lowercase);
  const kernels = resolveCheckpointKernels(ck, file, opt.kernels, 'calling-thread');
  opt.onNotice?.(`sampling with kernels ${describeKernels(kernels)}`);
  return Model.fromCheckpoint(ck, file, { kernels, blas: kernels.kernels === 'blas' ? loadedBlas() : null }).sample(opt);
}
