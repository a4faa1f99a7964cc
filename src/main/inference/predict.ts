/**
 * Prediction from a checkpoint file (SPEC §5 `recur predict`, and the API's `loadModel`): the
 * checkpoint read from disk and its kernels resolved for this machine, then the runtime-neutral
 * Model (model.ts) that the browser runtime shares.
 */
import { loadCheckpoint } from '../checkpoint/checkpoint.js';
import { readSeriesTable } from '../data/series.js';
import { resolveCheckpointKernels } from '../engine/kernel-choice.js';
import type { KernelsChoice } from '../experiment/options.js';
import { loadedBlas } from '../../shared/backends/blas.js';
import { Model } from './model.js';

export { Model, type Forecast, type ForecastOptions, type Prediction, type SequenceInput, type TextSampleOptions } from './model.js';

/** How loadModel runs a checkpoint. */
export interface ModelOptions {
  /** Sequences per forward pass (default DEFAULT_PREDICT_BATCH). */
  batch?: number;
  /** Default: as the checkpoint was trained (its experiment's train.kernels, auto kept on the kernels it chose). */
  kernels?: KernelsChoice;
}

/** loadModel, synchronously (recur predict). */
export function loadModelSync(path: string, opt: ModelOptions = {}): Model {
  const ck = loadCheckpoint(path);
  const kernels = resolveCheckpointKernels(ck, path, opt.kernels, 'calling-thread');
  return Model.fromCheckpoint(ck, path, { kernels, blas: kernels.kernels === 'blas' ? loadedBlas() : null, batch: opt.batch, readTable: readSeriesTable });
}

/**
 * Loads a checkpoint to run in this thread: a series or sequences model predicts, a text model
 * samples. Async so that a later version may compile the kernels off the main thread without
 * changing callers.
 */
export async function loadModel(path: string, opt: ModelOptions = {}): Promise<Model> {
  return loadModelSync(path, opt);
}
