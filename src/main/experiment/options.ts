/**
 * The option vocabularies of an experiment file: the names each choice accepts and the shapes of
 * its option blocks. The experiment defines them; training, the engine and the CLI read them here.
 */

/** `data.task`. */
export const TASKS = ['text', 'adding', 'copy', 'sine', 'series', 'sequences'] as const;
export type Task = (typeof TASKS)[number];

/** `data.tokens` (text): characters, or words (SPEC §4 word-level text); absent = `char`. */
export const TEXT_TOKENS = ['char', 'word'] as const;

/** `data.normalize` (series, sequences): how each column is scaled, fitted on training rows only. */
export const NORMALIZE_KINDS = ['zscore', 'minmax', 'none'] as const;
/** `data.missing` (series): what an empty or NA cell does. */
export const MISSING_POLICIES = ['error', 'ffill'] as const;
/** `data.target` (sequences); `auto` is `class` if any y is a string, and is resolved before it is saved. */
export const SEQUENCE_TARGETS = ['auto', 'class', 'value'] as const;

/** `train.loss`: `auto` is cross-entropy or MSE as the data decides; `quantile` is the pinball loss over train.quantiles. */
export const LOSS_CHOICES = ['auto', 'quantile'] as const;
/** train.quantiles when train.loss is `quantile` and none are given: an 80% interval and the median. */
export const DEFAULT_QUANTILES = [0.1, 0.5, 0.9] as const;

/** `train.kernels`: `auto` is `blas` when a BLAS loads on this machine, else `wasm`. */
export const KERNEL_CHOICES = ['auto', 'blas', 'wasm', 'ts'] as const;
export type KernelsChoice = (typeof KERNEL_CHOICES)[number];
export const DEFAULT_KERNELS: KernelsChoice = 'auto';

/** `train.schedule` (SPEC §6). */
export type ScheduleSpec =
  | { name: 'constant'; warmup: number }
  | { name: 'cosine'; warmup: number; minLr: number }
  | { name: 'step'; warmup: number; every: number; gamma: number }
  | { name: 'exponential'; warmup: number; gamma: number }
  | { name: 'plateau'; warmup: number; factor: number; patience: number; minDelta: number; minLr: number };

export type ScheduleName = ScheduleSpec['name'];

export const SCHEDULE_NAMES = ['constant', 'cosine', 'step', 'exponential', 'plateau'] as const satisfies readonly ScheduleName[];

/** The keys each schedule takes besides `name` and `warmup`, with their defaults (undefined = required). */
export const SCHEDULE_KEYS: Record<ScheduleName, Record<string, number | undefined>> = {
  constant: {},
  cosine: { minLr: 0 },
  step: { every: undefined, gamma: 0.1 },
  exponential: { gamma: undefined },
  plateau: { factor: 10, patience: 5, minDelta: 0, minLr: 0 },
};

/** `train.earlyStopping`: evaluations without an improvement of more than minDelta that end the run. */
export interface EarlyStoppingSpec {
  /** Evaluations in a row without an improvement that end the run. */
  patience: number;
  minDelta: number;
}

