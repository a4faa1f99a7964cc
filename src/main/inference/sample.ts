/** Text generation from a checkpoint: one sequence, one step at a time, state carried across calls. */
import { Rng } from '../../shared/model/rng.js';
import type { CheckpointData } from '../checkpoint/checkpoint.js';
import { describeKernels, resolveCheckpointKernels } from '../engine/kernel-choice.js';
import { inputError } from '../errors.js';
import type { KernelsChoice } from '../experiment/options.js';
import { singleThreadModel } from './forward.js';

export interface SampleOptions {
  length: number;
  temperature: number;
  /** Text to condition on; default: a newline if the vocabulary has one, else its first character. */
  prime?: string;
  seed: number;
  /** Default: as the checkpoint was trained (its experiment's train.kernels, auto kept on the kernels it chose). */
  kernels?: KernelsChoice;
  /** The line naming the kernels and why (the CLI prints it on stderr). */
  onNotice?: (line: string) => void;
}

export function sampleText(ck: CheckpointData, file: string, opt: SampleOptions): string {
  const vocab = ck.vocab === undefined ? null : Array.from(ck.vocab);
  if (!vocab) throw inputError(file, 'config.vocab', 'the checkpoint has no vocabulary; sampling needs a text model');
  if (ck.cfg.outputs !== 'all' || ck.cfg.outputSize !== vocab.length) throw inputError(file, 'config.outputs', 'sampling needs a model that predicts the next character at every step');
  if (!(opt.temperature > 0)) throw inputError('--temperature', null, `must be positive, got ${opt.temperature}`);
  const prime = Array.from(opt.prime ?? (vocab.includes('\n') ? '\n' : vocab[0]));
  const ids = prime.map((ch) => {
    const id = vocab.indexOf(ch);
    if (id < 0) throw inputError('--prime', null, `character ${JSON.stringify(ch)} is not in the model's vocabulary`);
    return id;
  });
  const cfg = ck.cfg;
  const kernels = resolveCheckpointKernels(ck, file, opt.kernels, 'calling-thread');
  opt.onNotice?.(`sampling with kernels ${describeKernels(kernels)}`);
  const { model } = singleThreadModel({ cfg, loss: 'ce', input: 'onehot', seqLen: 1, batch: 1, kernels: kernels.kernels }, ck.params);
  const { net, params, shard } = model;
  const token = shard.tokens!;
  const rng = new Rng(opt.seed, 9);
  const weights = new Float64Array(cfg.outputSize);
  let out = '';
  let first = true;
  const feed = (id: number): void => {
    token[0] = id;
    net.forward(params, shard, 1, { teacherForcing: false, gradScale: null, carryState: !first });
    first = false;
  };
  for (const id of ids) feed(id);
  for (let i = 0; i < opt.length; i++) {
    let max = -Infinity;
    for (let o = 0; o < cfg.outputSize; o++) max = Math.max(max, net.y[o] / opt.temperature);
    let sum = 0;
    for (let o = 0; o < cfg.outputSize; o++) sum += (weights[o] = Math.exp(net.y[o] / opt.temperature - max));
    let r = rng.uniform() * sum, next = cfg.outputSize - 1;
    for (let o = 0; o < cfg.outputSize; o++) {
      r -= weights[o];
      if (r < 0) { next = o; break; }
    }
    out += vocab[next];
    feed(next);
  }
  return out;
}
