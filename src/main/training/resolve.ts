/**
 * From an experiment to what a run needs before it starts: the dataset, the model's shape (from
 * the experiment or from train.init's checkpoint, which must agree) and the worker count.
 */
import { availableParallelism } from 'node:os';
import type { ModelConfig } from '../../shared/model/model-config.js';
import { loadCheckpoint, type CheckpointData } from '../checkpoint/checkpoint.js';
import type { Dataset } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import { InputError, inputError } from '../errors.js';
import type { Experiment } from '../experiment/experiment.js';
import { teacherForcingProblem } from '../experiment/schema.js';

export interface ResolvedRun {
  cfg: ModelConfig;
  dataset: Dataset;
  init: CheckpointData | null;
}

export function resolveRun(exp: Experiment, file: string): ResolvedRun {
  const init = exp.train.init ? loadInitCheckpoint(exp.train.init, file) : null;
  const dataset = loadDataset(exp.data, exp.seed, file, { vocab: init?.vocab, outputs: init ? init.cfg.outputs : exp.model!.outputs });
  let cfg: ModelConfig;
  if (init) {
    cfg = init.cfg;
    if (exp.model) {
      for (const key of ['cell', 'hidden', 'layers', 'recurrence', 'outputs'] as const) {
        if (exp.model[key] !== cfg[key]) {
          throw inputError(file, `model.${key}`, `the checkpoint ${exp.train.init} has ${JSON.stringify(cfg[key])}, the experiment says ${JSON.stringify(exp.model[key])}`);
        }
      }
    }
    if (cfg.inputSize !== dataset.inputSize || cfg.outputSize !== dataset.outputSize) {
      throw inputError(file, 'train.init', `the checkpoint's model takes ${cfg.inputSize} inputs and gives ${cfg.outputSize} outputs; the data has ${dataset.inputSize} and ${dataset.outputSize}`);
    }
  } else {
    const m = exp.model!;
    cfg = { cell: m.cell, inputSize: dataset.inputSize, hidden: m.hidden, layers: m.layers, outputSize: dataset.outputSize, recurrence: m.recurrence, outputs: m.outputs };
  }
  if (!dataset.outputsAllowed.includes(cfg.outputs)) {
    throw inputError(file, 'model.outputs', `task '${dataset.task}' supports ${dataset.outputsAllowed.map((o) => `'${o}'`).join(' or ')}, got '${cfg.outputs}'`);
  }
  // The schema held the experiment's own model to this rule; a checkpoint's model meets it here.
  const teacherForcing = exp.train.teacherForcing && !exp.model ? teacherForcingProblem(cfg) : null;
  if (teacherForcing !== null) throw inputError(file, 'train.teacherForcing', teacherForcing);
  return { cfg, dataset, init };
}

/** train.init's checkpoint; a bad one names the experiment key too: `<exp>: train.init: <ckpt>: <key>: <problem>`. */
function loadInitCheckpoint(path: string, file: string): CheckpointData {
  try {
    return loadCheckpoint(path);
  } catch (err) {
    if (err instanceof InputError) throw inputError(file, 'train.init', err.message);
    throw err;
  }
}

export function defaultWorkers(batch: number): number {
  return Math.max(1, Math.min(availableParallelism(), batch));
}
