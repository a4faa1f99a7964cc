/**
 * From an experiment to what a run needs before it starts, every check done before anything is
 * written: the dataset, the model's shape (from the experiment or from train.init's checkpoint,
 * which must agree), the worker count, and the checkpoint --resume continues from.
 */
import { existsSync } from 'node:fs';
import type { ModelConfig, StaticEmbedding } from '../../shared/model/model-config.js';
import { loadCheckpoint, type CheckpointData } from '../checkpoint/checkpoint.js';
import type { Dataset } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import { InputError, inputError } from '../errors.js';
import { firstDifference, RESUME_MUTABLE_KEYS, type Experiment } from '../experiment/experiment.js';
import { bidirectionalProblem, categoricalWidth, embeddingProblem, quantileLossProblem, teacherForcingProblem, tieWeightsProblem } from '../experiment/schema.js';

/** The network shape and data of an experiment, and the checkpoint it starts from (train.init). */
export interface ResolvedRun {
  cfg: ModelConfig;
  dataset: Dataset;
  init: CheckpointData | null;
}

export function resolveRun(exp: Experiment, file: string): ResolvedRun {
  const init = exp.train.init ? loadInitCheckpoint(exp.train.init, file) : null;
  const quantiles = exp.train.loss === 'quantile' ? exp.train.quantiles : null;
  // A word checkpoint's vocabulary holds the tokens of its own case folding.
  if (init?.lowercase !== undefined && exp.data.task === 'text' && exp.data.tokens === 'word' && (exp.data.lowercase ?? false) !== init.lowercase) {
    throw inputError(file, 'data.lowercase', `the checkpoint ${exp.train.init} has ${init.lowercase}, the experiment says ${exp.data.lowercase ?? false}`);
  }
  const categoryLevels = init?.data?.task === 'series' && init.data.categorical.length > 0 ? init.data.categorical.map((c) => c.levels) : null;
  const dataset = loadDataset(exp.data, exp.seed, file, { vocab: init?.vocab, outputs: init ? init.cfg.outputs : exp.model!.outputs, quantiles, categoryLevels });
  let cfg: ModelConfig;
  if (init) {
    cfg = init.cfg;
    if (exp.model) {
      for (const key of ['cell', 'hidden', 'layers', 'recurrence', 'outputs'] as const) {
        if (exp.model[key] !== cfg[key]) {
          throw inputError(file, `model.${key}`, `the checkpoint ${exp.train.init} has ${JSON.stringify(cfg[key])}, the experiment says ${JSON.stringify(exp.model[key])}`);
        }
      }
      checkTokenKeysAgree(exp, cfg, file);
      const [ours, theirs] = [exp.model.bidirectional === true, cfg.bidirectional === true];
      if (ours !== theirs) throw inputError(file, 'model.bidirectional', `the checkpoint ${exp.train.init} has ${theirs}, the experiment says ${ours}`);
    }
    if (cfg.inputSize !== dataset.inputSize || cfg.outputSize !== dataset.outputSize) {
      throw inputError(file, 'train.init', `the checkpoint's model takes ${cfg.inputSize} inputs and gives ${cfg.outputSize} outputs; the data has ${dataset.inputSize} and ${dataset.outputSize}`);
    }
    checkInitCategories(cfg, dataset, exp, file);
  } else {
    const m = exp.model!;
    cfg = { cell: m.cell, inputSize: dataset.inputSize, hidden: m.hidden, layers: m.layers, outputSize: dataset.outputSize, recurrence: m.recurrence, outputs: m.outputs };
    const categorical = categoricalEmbeddings(dataset, m.categoricalEmbedding);
    if (categorical) cfg.categorical = categorical;
    if (m.embedding !== undefined) cfg.embedding = m.embedding;
    if (m.tieWeights) cfg.tieWeights = true;
    if (m.bidirectional) cfg.bidirectional = true;
  }
  checkTokenInput(exp, cfg, dataset, file);
  if (!dataset.outputsAllowed.includes(cfg.outputs)) {
    throw inputError(file, 'model.outputs', `task '${dataset.task}' supports ${dataset.outputsAllowed.map((o) => `'${o}'`).join(' or ')}, got '${cfg.outputs}'`);
  }
  // The schema held the experiment's own model to this rule; a checkpoint's model meets it here.
  const teacherForcing = exp.train.teacherForcing && !exp.model ? teacherForcingProblem(cfg) : null;
  if (teacherForcing !== null) throw inputError(file, 'train.teacherForcing', teacherForcing);
  const quantileLoss = exp.train.loss === 'quantile' && !exp.model ? quantileLossProblem(exp.data, cfg) : null;
  if (quantileLoss !== null) throw inputError(file, 'train.loss', quantileLoss);
  const directions = !exp.model ? bidirectionalProblem(exp.data, cfg) : null;
  if (directions !== null) throw inputError(file, 'model.bidirectional', directions);
  return { cfg, dataset, init };
}

/** The embedding of each of the data's categorical columns (rows: its levels, `<unk>` included); undefined without. */
function categoricalEmbeddings(dataset: Dataset, width: number | undefined): StaticEmbedding[] | undefined {
  if (!dataset.categorical?.length) return undefined;
  return dataset.categorical.map((c) => ({ column: c.column, levels: c.levels, width: categoricalWidth(width, c.levels - 1) }));
}

/** train.init's model must embed exactly the data's categorical columns, with as many levels (and the width asked for). */
function checkInitCategories(cfg: ModelConfig, dataset: Dataset, exp: Experiment, file: string): void {
  const model = (cfg.categorical ?? []).map((c) => `${c.column} (${c.levels} levels)`).join(', ') || 'none';
  const data = (dataset.categorical ?? []).map((c) => `${c.column} (${c.levels} levels)`).join(', ') || 'none';
  if (model !== data) throw inputError(file, 'data.categorical', `the checkpoint ${exp.train.init} embeds ${model}; the data has ${data}`);
  const width = exp.model?.categoricalEmbedding;
  const other = cfg.categorical?.find((c) => width !== undefined && c.width !== width);
  if (other) throw inputError(file, 'model.categoricalEmbedding', `the checkpoint ${exp.train.init} has ${other.width} for ${JSON.stringify(other.column)}, the experiment says ${width}`);
}

/** model.embedding and model.tieWeights, where the experiment gives them, as train.init's checkpoint has them. */
function checkTokenKeysAgree(exp: Experiment, cfg: ModelConfig, file: string): void {
  const given = exp.model!;
  const pairs = [['embedding', given.embedding, cfg.embedding], ['tieWeights', given.tieWeights, cfg.tieWeights ?? false]] as const;
  for (const [key, experiment, checkpoint] of pairs) {
    if (experiment !== undefined && experiment !== checkpoint) {
      throw inputError(file, `model.${key}`, `the checkpoint ${exp.train.init} has ${JSON.stringify(checkpoint ?? null)}, the experiment says ${JSON.stringify(experiment)}`);
    }
  }
}

/**
 * Token steps need an embedding and an embedding needs token steps (sequences: known once the
 * file is read); a tied head predicts the vocabulary. The schema held the experiment's keys to
 * the task; these need the data.
 */
function checkTokenInput(exp: Experiment, cfg: ModelConfig, dataset: Dataset, file: string): void {
  // The schema held the experiment's own model to these rules; a checkpoint's model meets them here.
  const embedding = embeddingProblem(exp.data, cfg);
  if (embedding !== null) throw inputError(file, 'model.embedding', embedding);
  const tied = tieWeightsProblem(exp.data, cfg);
  if (tied !== null) throw inputError(file, 'model.tieWeights', tied);
  if (dataset.task !== 'sequences') return;
  if (dataset.input === 'onehot' && !cfg.embedding) {
    throw inputError(file, 'model.embedding', `required: the steps of ${exp.data.path} are tokens (strings), read through an embedding`);
  }
  if (dataset.input === 'dense' && cfg.embedding) {
    throw inputError(file, 'model.embedding', `needs token steps (strings); the steps of ${exp.data.path} are numbers`);
  }
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

/** Every worker needs a sequence of each batch, and the training split a whole batch. */
export function checkBatch(exp: Experiment, dataset: Dataset, workers: number, file: string): void {
  const B = exp.train.batch;
  if (workers > B) throw inputError(file, 'train.workers', `${workers} workers need a batch of at least ${workers} sequences (train.batch is ${B})`);
  const trainCount = dataset.size('train');
  if (trainCount < B) throw inputError(file, 'train.batch', `${B} sequences per batch, but the training split has only ${trainCount}`);
}

/**
 * The checkpoint --resume continues from: it must exist, hold the optimizer's slots, and come
 * from the same experiment as `resolved` but for RESUME_MUTABLE_KEYS.
 */
export function resumeCheckpoint(checkpointPath: string, resolved: Experiment, slots: readonly string[], file: string): CheckpointData {
  if (!existsSync(checkpointPath)) throw inputError('--resume', null, `no checkpoint to resume from in ${resolved.output.dir}`);
  const resumeFrom = loadCheckpoint(checkpointPath, { requiredSlots: slots });
  // output.dir is where this checkpoint was just found: a copied or moved run folder resumes.
  const diff = firstDifference(resumeFrom.experiment, resolved, [...RESUME_MUTABLE_KEYS, 'output.dir']);
  if (diff !== null) {
    throw inputError(file, diff || '(experiment)', `differs from the run being resumed (${checkpointPath}); on --resume only ${RESUME_MUTABLE_KEYS.join(', ')} may change`);
  }
  return resumeFrom;
}

/**
 * The plateau schedule and early stopping follow the validation loss, so need a validation
 * split; a cosine schedule is defined over train.steps, so a resumed run keeps them.
 */
export function checkSchedule(exp: Experiment, dataset: Dataset, resumeFrom: CheckpointData | null, checkpointPath: string, file: string): void {
  const schedule = exp.train.schedule;
  if (schedule.name === 'plateau' && dataset.size('val') === 0) {
    throw inputError(file, 'train.schedule.name', "'plateau' follows the validation loss, but there is no validation split");
  }
  if (exp.train.earlyStopping !== null && dataset.size('val') === 0) {
    throw inputError(file, 'train.earlyStopping', 'follows the validation loss, but there is no validation split');
  }
  const resumedSteps = (resumeFrom?.experiment as Experiment | undefined)?.train.steps;
  if (resumeFrom && schedule.name === 'cosine' && resumedSteps !== exp.train.steps) {
    throw inputError(file, 'train.steps', `a cosine schedule is defined over train.steps (${resumedSteps} in the run being resumed, ${checkpointPath}); it cannot change on --resume`);
  }
}
