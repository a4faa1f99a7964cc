/** `recur eval`: the mean loss of a checkpoint over a text file's windows or its validation split. */
import { resolve } from 'node:path';
import { loadCheckpoint } from '../checkpoint/checkpoint.js';
import type { Dataset } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import { Engine } from '../engine/engine.js';
import { describeKernels, resolveCheckpointKernels } from '../engine/kernel-choice.js';
import { inputError } from '../errors.js';
import { parseExperiment, type Experiment } from '../experiment/experiment.js';
import { defaultWorkers } from '../engine/shards.js';
import { evaluateSplit } from './validation.js';
import type { Split } from '../data/dataset.js';
import type { Scores } from '../data/scores.js';
import type { KernelsChoice } from '../experiment/options.js';

export interface EvalOptions {
  /** A data file (text, CSV, JSONL as the model's task): evaluate every window of it (else the checkpoint's validation split). */
  data?: string;
  seqLen?: number;
  workers?: number;
  /** Sequences per forward pass. */
  batch?: number;
  /** Default: as the checkpoint was trained (its experiment's train.kernels, auto kept on the kernels it chose). */
  kernels?: KernelsChoice;
  /** The line naming the workers and kernels, and why those kernels (the CLI prints it on stderr). */
  onNotice?: (line: string) => void;
}

/** The loss and its size, and the scores users read beside their baselines (data/scores.ts). */
export interface EvalResult extends Scores {
  loss: number;
  tokens: number;
  /** Cross-entropy in bits (text models); null for regression. */
  bitsPerChar: number | null;
  /** e^loss, text models (characters or words); null otherwise. */
  perplexity: number | null;
}

const DEFAULT_EVAL_BATCH = 64;

export async function evaluateCheckpoint(path: string, opt: EvalOptions): Promise<EvalResult> {
  const ck = loadCheckpoint(path);
  const stored = storedExperiment(ck.experiment, path);
  let dataset: Dataset, split: Split, seed = 1;
  if (opt.data !== undefined && stored && ck.data) {
    // A series or sequences model: every window (line) of the file, scaled as in training.
    seed = stored.seed;
    const whole = { ...stored.data, path: resolve(opt.data), valFraction: 0 };
    if (whole.task === 'sequences') delete whole.valPath;
    dataset = loadDataset(whole, seed, '--data', { outputs: ck.cfg.outputs, fitted: ck.data });
    split = 'train';
  } else if (opt.data !== undefined) {
    const seqLen = opt.seqLen ?? stored?.data.seqLen;
    if (seqLen === undefined) throw inputError('--seq-len', null, 'required with --data when the checkpoint does not record one');
    // A word model tokenises the file as it was trained.
    const tokens = typeof ck.vocab === 'string' || ck.vocab === undefined ? {} : { tokens: 'word' as const, lowercase: ck.lowercase ?? false };
    dataset = loadDataset({ task: 'text', path: opt.data, seqLen, valFraction: 0, ...tokens }, seed, '--data', { vocab: ck.vocab });
    split = 'train';
  } else {
    if (!stored) throw inputError(path, '__metadata__.experiment', 'the checkpoint does not record its data; pass --data and --seq-len');
    seed = stored.seed;
    const data = stored.data.task === 'sequences' ? stored.data : { ...stored.data, seqLen: opt.seqLen ?? stored.data.seqLen };
    dataset = loadDataset(data, seed, path, { vocab: ck.vocab, outputs: ck.cfg.outputs, fitted: ck.data });
    split = 'val';
    if (dataset.size('val') === 0) throw inputError(path, 'data.valFraction', 'the checkpoint\'s run has no validation split; pass --data');
  }
  const cfg = ck.cfg;
  if (cfg.inputSize !== dataset.inputSize || cfg.outputSize !== dataset.outputSize) {
    throw inputError(path, 'config', `the model takes ${cfg.inputSize} inputs and gives ${cfg.outputSize} outputs; the data has ${dataset.inputSize} and ${dataset.outputSize}`);
  }
  const n = dataset.size(split);
  const batch = Math.max(1, Math.min(opt.batch ?? DEFAULT_EVAL_BATCH, n));
  const workers = Math.min(opt.workers ?? defaultWorkers(batch), batch);
  const kernels = resolveCheckpointKernels(ck, path, opt.kernels);
  opt.onNotice?.(`evaluating with ${workers} worker${workers === 1 ? '' : 's'}, kernels ${describeKernels(kernels)}`);
  const engine = Engine.create({
    cfg, loss: dataset.loss, input: dataset.input, seqLen: dataset.seqLen, batch, workers,
    optimizer: { name: 'sgd', lr: 0, momentum: 0, beta1: 0, beta2: 0, eps: 0, weightDecay: 0, nesterov: false },
    clip: null, teacherForcing: stored?.train.teacherForcing ?? false, kernels: kernels.kernels, variableLengths: dataset.variableLengths,
    quantiles: dataset.quantiles,
  });
  try {
    engine.views.params.set(ck.params);
    const { loss, tokens, scores } = await evaluateSplit(engine, dataset, cfg, split, null);
    return {
      loss, tokens,
      bitsPerChar: dataset.loss === 'ce' && dataset.task !== 'sequences' ? loss / Math.LN2 : null,
      perplexity: dataset.task === 'text' ? Math.exp(loss) : null,
      ...scores,
    };
  } finally {
    await engine.close();
  }
}

function storedExperiment(raw: unknown, path: string): Experiment | null {
  if (raw === undefined || raw === null) return null;
  return parseExperiment(raw, `${path} (experiment metadata)`, '/');
}
