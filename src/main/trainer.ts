/**
 * The training loop: resolves the model and data from an experiment, drives the multi-core
 * engine step by step, logs metrics, evaluates, checkpoints, resumes, and stops cleanly on
 * signals, divergence and worker failure.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { ModelConfig } from '../shared/model-config.js';
import { initParams } from '../shared/init.js';
import { optimizerSlots } from '../shared/optim.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointData } from './checkpoint.js';
import { BatchSchedule, loadDataset, shardRange, type Dataset, type Split } from './data.js';
import { Engine } from './engine.js';
import { firstLine, InputError, inputError, RunError } from './errors.js';
import { firstDifference, RESUME_MUTABLE_KEYS, type Experiment } from './experiment.js';
import { writeFileAtomic } from './safetensors.js';
import { writeRunChart } from './charts.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

export interface MetricsLine {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  elapsedSec: number;
  valLoss?: number;
}

export interface TrainOptions {
  /** The experiment file, named in error messages. */
  file: string;
  /** Overrides train.workers (--workers). */
  workers?: number;
  /** Overrides output.dir (--out). */
  outDir?: string;
  resume?: boolean;
  /** Called for every metrics line (after it is written to metrics.jsonl). */
  onMetrics?: (m: MetricsLine, total: number) => void;
  /** Called with human-readable notices (warnings, where the checkpoint is). */
  onNotice?: (text: string) => void;
  /** Stop after the current step, write a checkpoint and return (signals wire into this). */
  stopSignal?: AbortSignal;
}

export interface TrainResult {
  outDir: string;
  checkpoint: string;
  step: number;
  loss: number | null;
  valLoss: number | null;
  tokensPerSec: number;
  elapsedSec: number;
  /** 'completed', or the reason the run stopped early. */
  status: 'completed' | 'interrupted';
  experiment: Experiment;
  cfg: ModelConfig;
  vocab?: string;
}

/** The network shape and data of an experiment, and the checkpoint it starts from (train.init). */
export interface ResolvedRun {
  cfg: ModelConfig;
  dataset: Dataset;
  init: CheckpointData | null;
}

export function resolveRun(exp: Experiment, file: string): ResolvedRun {
  const init = exp.train.init ? loadInitCheckpoint(exp.train.init, file) : null;
  const dataset = loadDataset(exp.data, exp.seed, file, init?.vocab);
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
  if (exp.train.teacherForcing && (cfg.recurrence !== 'output' || cfg.outputs !== 'all')) {
    throw inputError(file, 'train.teacherForcing', "needs recurrence 'output' with outputs 'all'");
  }
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

/** Predicted steps in a batch of `sequences`: the denominator of the mean loss. */
function predictedSteps(cfg: ModelConfig, seqLen: number, sequences: number): number {
  return cfg.outputs === 'all' ? seqLen * sequences : sequences;
}

/** Writes batch `indices` of `split` into the workers' shards. */
function loadShards(engine: Engine, dataset: Dataset, cfg: ModelConfig, split: Split, indices: ArrayLike<number>, start: number, count: number): void {
  const N = engine.workers;
  for (let k = 0; k < N; k++) {
    const shard = shardRange(count, N, k);
    engine.views.shardSizes[k] = shard.count;
    if (shard.count > 0) dataset.fill(split, indices, start + shard.start, shard.count, cfg.outputs, engine.views.shards[k]);
  }
}

/** Mean loss over a split (whole, or its first `maxBatches` batches) and the predicted steps. */
export async function evaluateSplit(engine: Engine, dataset: Dataset, cfg: ModelConfig, split: Split, maxBatches: number | null): Promise<{ loss: number; tokens: number }> {
  const n = dataset.size(split);
  const B = engine.plan.spec.batch;
  const indices = Int32Array.from({ length: n }, (_, i) => i);
  let sum = 0, tokens = 0, batches = 0;
  for (let start = 0; start < n && (maxBatches === null || batches < maxBatches); start += B, batches++) {
    const count = Math.min(B, n - start);
    loadShards(engine, dataset, cfg, split, indices, start, count);
    sum += await engine.evaluate();
    tokens += predictedSteps(cfg, dataset.seqLen, count);
  }
  return { loss: tokens > 0 ? sum / tokens : NaN, tokens };
}

export async function train(exp: Experiment, opts: TrainOptions): Promise<TrainResult> {
  const file = opts.file;
  const { cfg, dataset, init } = resolveRun(exp, file);
  const B = exp.train.batch;
  const workers = opts.workers ?? exp.train.workers ?? defaultWorkers(B);
  if (workers > B) throw inputError(file, 'train.workers', `${workers} workers need a batch of at least ${workers} sequences (train.batch is ${B})`);
  const outDir = opts.outDir ?? exp.output.dir;
  const resolved: Experiment = { ...exp, train: { ...exp.train, workers }, output: { dir: outDir } };
  const checkpointPath = join(outDir, CHECKPOINT_FILE);
  const slots = optimizerSlots(exp.train.optimizer.name);
  const trainCount = dataset.size('train');
  if (trainCount < B) throw inputError(file, 'train.batch', `${B} sequences per batch, but the training split has only ${trainCount}`);

  let resumeFrom: CheckpointData | null = null;
  if (opts.resume) {
    if (!existsSync(checkpointPath)) throw inputError('--resume', null, `no checkpoint to resume from in ${outDir}`);
    resumeFrom = loadCheckpoint(checkpointPath, { requiredSlots: slots });
    // output.dir is where this checkpoint was just found: a copied or moved run folder resumes.
    const diff = firstDifference(resumeFrom.experiment, resolved, [...RESUME_MUTABLE_KEYS, 'output.dir']);
    if (diff !== null) {
      throw inputError(file, diff || '(experiment)', `differs from the run being resumed (${checkpointPath}); on --resume only ${RESUME_MUTABLE_KEYS.join(', ')} may change`);
    }
  }
  const startStep = resumeFrom ? Number(resumeFrom.train?.step ?? 0) : 0;
  const priorElapsed = resumeFrom ? Number(resumeFrom.train?.elapsedSec ?? 0) : 0;

  mkdirSync(outDir, { recursive: true });
  writeFileAtomic(join(outDir, 'config.json'), new TextEncoder().encode(JSON.stringify(resolved, null, 2) + '\n'));
  const metricsPath = join(outDir, 'metrics.jsonl');
  writeFileSync(metricsPath, startStep > 0 ? keptMetrics(metricsPath, startStep) : '');

  const engine = Engine.create({
    cfg, loss: dataset.loss, input: dataset.input, seqLen: dataset.seqLen, batch: B, workers,
    optimizer: exp.train.optimizer, clip: exp.train.clip, teacherForcing: exp.train.teacherForcing,
    kernels: exp.train.kernels,
  });
  const { views, plan } = engine;
  const source = resumeFrom ?? init;
  if (source) views.params.set(source.params);
  else initParams(cfg, plan.layout, views.params, exp.seed, { scale: exp.model!.initScale, forgetBias: exp.model!.forgetBias });
  if (resumeFrom) slots.forEach((s, i) => views.optimizerSlots[i].set(resumeFrom!.optim.get(s)!));

  let wroteCheckpoint = resumeFrom !== null;
  let checkpointStep = startStep;
  const writeCheckpoint = (step: number, elapsedSec: number): boolean => {
    // A finite loss only vouches for the parameters the step started from; its update may still
    // have overflowed them (or the optimizer state). Never save those as a good checkpoint.
    if (!allFinite(views.params) || views.optimizerSlots.some((slot) => !allFinite(slot))) {
      throw new RunError(`training diverged at step ${step}: its update left non-finite ${allFinite(views.params) ? 'optimizer state' : 'parameters'}; ${lastGood()}`);
    }
    try {
      saveCheckpoint(checkpointPath, {
        cfg, vocab: dataset.vocab, params: views.params,
        optim: new Map(slots.map((s, i) => [s, views.optimizerSlots[i]])),
        experiment: resolved,
        train: { step, seed: exp.seed, workers, elapsedSec },
      });
      wroteCheckpoint = true;
      checkpointStep = step;
      return true;
    } catch (err) {
      const kept = wroteCheckpoint ? `the previous checkpoint ${checkpointPath} is intact` : 'no checkpoint has been written yet';
      opts.onNotice?.(`warning: could not write the checkpoint at step ${step} (${firstLine(err)}); ${kept}`);
      return false;
    }
  };
  const lastGood = (): string => (wroteCheckpoint ? `the last good checkpoint is ${checkpointPath} (step ${checkpointStep})` : 'no checkpoint was written');
  /** An engine operation; a worker failure's message also says which checkpoint survives. */
  const guarded = async <T>(operation: Promise<T>): Promise<T> => {
    try {
      return await operation;
    } catch (err) {
      throw err instanceof RunError ? new RunError(`${err.message}; ${lastGood()}`) : err;
    }
  };

  const schedule = new BatchSchedule(trainCount, B, exp.seed, exp.train.shuffle);
  const perStep = predictedSteps(cfg, dataset.seqLen, B);
  const tokensPerStep = B * dataset.seqLen;
  const started = performance.now();
  const elapsed = (): number => priorElapsed + (performance.now() - started) / 1000;
  let lossSinceLog = 0, stepsSinceLog = 0, lastLogTime = performance.now();
  let lastLoss: number | null = null, lastVal: number | null = null, lastRate = 0;
  let step = startStep;
  let status: TrainResult['status'] = 'completed';
  try {
    while (step < exp.train.steps) {
      if (opts.stopSignal?.aborted) { status = 'interrupted'; break; }
      const { indices } = schedule.at(step);
      loadShards(engine, dataset, cfg, 'train', indices, 0, B);
      const { lossSum, gradNorm } = await guarded(engine.trainStep(step + 1, exp.train.optimizer.lr, perStep));
      const loss = lossSum / perStep;
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        throw new RunError(`training diverged at step ${step + 1}: loss is ${loss}, gradient norm ${gradNorm}; ${lastGood()}`);
      }
      step++;
      lossSinceLog += loss;
      stepsSinceLog++;
      const evalNow = dataset.size('val') > 0 && (step % exp.train.evalEvery === 0 || step === exp.train.steps);
      if (step % exp.train.logEvery === 0 || evalNow || step === exp.train.steps) {
        const now = performance.now();
        lastRate = (stepsSinceLog * tokensPerStep) / ((now - lastLogTime) / 1000);
        const line: MetricsLine = {
          step, loss: lossSinceLog / stepsSinceLog, lr: exp.train.optimizer.lr, gradNorm,
          tokensPerSec: lastRate, elapsedSec: elapsed(),
        };
        lastLoss = line.loss;
        if (evalNow) {
          lastVal = (await guarded(evaluateSplit(engine, dataset, cfg, 'val', exp.train.evalBatches))).loss;
          line.valLoss = lastVal;
        }
        writeFileSync(metricsPath, JSON.stringify(line) + '\n', { flag: 'a' });
        opts.onMetrics?.(line, exp.train.steps);
        lossSinceLog = 0;
        stepsSinceLog = 0;
        lastLogTime = performance.now();
      }
      if (step % exp.train.checkpointEvery === 0 && step < exp.train.steps) writeCheckpoint(step, elapsed());
    }
    if (step > startStep || !wroteCheckpoint) {
      if (!writeCheckpoint(step, elapsed())) throw new RunError(`could not write the final checkpoint (step ${step}); ${lastGood()}`);
    }
  } finally {
    await engine.close();
  }
  writeRunChart(outDir);
  return {
    outDir, checkpoint: checkpointPath, step, loss: lastLoss, valLoss: lastVal, tokensPerSec: lastRate,
    elapsedSec: elapsed(), status, experiment: resolved, cfg, vocab: dataset.vocab,
  };
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** metrics.jsonl lines up to `step` (a resumed run rewrites what came after its checkpoint). */
function keptMetrics(path: string, step: number): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').split('\n')
    .filter((l) => l.trim() !== '' && (JSON.parse(l) as MetricsLine).step <= step)
    .map((l) => l + '\n').join('');
}
