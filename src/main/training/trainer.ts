/**
 * The training loop: resolves the model and data from an experiment, drives the multi-core
 * engine step by step, logs metrics, evaluates, checkpoints, resumes, and stops cleanly on
 * signals, divergence and worker failure.
 */
import type { ModelConfig } from '../../shared/model/model-config.js';
import { initParams } from '../../shared/model/init.js';
import { optimizerSlots } from '../../shared/model/optim.js';
import type { CheckpointData } from '../checkpoint/checkpoint.js';
import { BatchSchedule, windowOffset } from '../data/batching.js';
import type { Dataset, Vocab } from '../data/dataset.js';
import { StreamSchedule } from '../data/streams.js';
import { readCarriedStates, resetCarriedStates, writeCarriedStates } from '../engine/carried.js';
import { Engine } from '../engine/engine.js';
import { RunError } from '../errors.js';
import type { Experiment } from '../experiment/experiment.js';
import type { MetricsLine } from '../report/metrics.js';
import { describeKernels, resolveKernels, trainedKernels } from '../engine/kernel-choice.js';
import type { EngineKernels } from '../../shared/memory/shared-memory.js';
import { checkBatch, checkSchedule, resolveRun, resumeCheckpoint } from './resolve.js';
import { defaultWorkers } from '../engine/shards.js';
import { loadShards, predictedSteps } from '../inference/validation.js';
import { Evaluator } from './evaluator.js';
import { RunFolder } from './run-folder.js';
import { RunState, type BestStep } from './run-state.js';

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
  /**
   * Called after every evaluation (its metrics line is written); 'stop' ends the run there
   * with a checkpoint and status 'stopped' (a sweep's early termination).
   */
  onEval?: (line: MetricsLine) => EvalVerdict | Promise<EvalVerdict>;
}

export type EvalVerdict = 'stop' | undefined;

export interface TrainResult {
  outDir: string;
  checkpoint: string;
  step: number;
  loss: number | null;
  valLoss: number | null;
  tokensPerSec: number;
  elapsedSec: number;
  /** 'completed', or the reason the run stopped early: a stop signal, onEval said 'stop', or train.earlyStopping. */
  status: 'completed' | 'interrupted' | 'stopped' | 'early-stopped';
  /** The evaluated step with the lowest validation loss and its file (best.safetensors); null without evaluations. */
  best: (BestStep & { checkpoint: string }) | null;
  experiment: Experiment;
  cfg: ModelConfig;
  vocab?: Vocab;
}

/**
 * Trains an experiment in its run folder, or continues the run there (opts.resume), until
 * train.steps, a stop, early stopping or a failure (a RunError naming the last good checkpoint).
 */
export async function train(exp: Experiment, opts: TrainOptions): Promise<TrainResult> {
  const file = opts.file;
  const folder = new RunFolder(opts.outDir ?? exp.output.dir, opts.onNotice);
  const { cfg, dataset, init } = resolveRun(exp, file);
  const B = exp.train.batch;
  const workers = opts.workers ?? exp.train.workers ?? defaultWorkers(B);
  checkBatch(exp, dataset, workers, file);
  const resolved: Experiment = { ...exp, train: { ...exp.train, workers }, output: { dir: folder.dir } };
  const slots = optimizerSlots(exp.train.optimizer.name);
  const resumeFrom = opts.resume ? resumeCheckpoint(folder.checkpointPath, resolved, slots, file) : null;
  checkSchedule(exp, dataset, resumeFrom, folder.checkpointPath, file);
  const state = new RunState(exp, resumeFrom?.train);
  const startStep = resumeFrom ? Number(resumeFrom.train?.step ?? 0) : 0;
  const priorElapsed = resumeFrom ? Number(resumeFrom.train?.elapsedSec ?? 0) : 0;
  const kernels = resolveKernels(exp.train.kernels, file, 'train.kernels', trainedKernels(resumeFrom));

  // config.json: the resolved experiment (train.kernels as asked) and the kernels this run chose.
  folder.open({ ...resolved, kernels: { requested: kernels.requested, chosen: kernels.kernels, why: kernels.why } }, resumeFrom ? startStep : null);
  opts.onNotice?.(`${resumeFrom ? `resuming at step ${startStep}` : 'training'} with ${workers} worker${workers === 1 ? '' : 's'}, kernels ${describeKernels(kernels)}; run folder ${folder.dir}`);

  const engine = startEngine(exp, cfg, dataset, workers, kernels.kernels, resumeFrom ?? init, resumeFrom);
  const { views } = engine;

  const started = performance.now();
  const elapsed = (): number => priorElapsed + (performance.now() - started) / 1000;
  /** The model, optimizer and run state now, as a checkpoint (best.safetensors too, so it can seed train.init). */
  const snapshot = (step: number, extra: Record<string, unknown> = {}): CheckpointData => ({
    cfg, vocab: dataset.vocab, lowercase: dataset.lowercase, params: views.params,
    optim: new Map(slots.map((s, i) => [s, views.optimizerSlots[i]])),
    experiment: resolved,
    train: { step, seed: exp.seed, workers, elapsedSec: elapsed(), kernels: kernels.kernels, ...state.metadata(), ...extra },
    carried: exp.data.stateful ? readCarriedStates(engine) : undefined,
    data: dataset.meta,
  });
  const checkpoint = (step: number): boolean => {
    // A finite loss only vouches for the parameters the step started from; its update may still
    // have overflowed them (or the optimizer state). Never save those as a good checkpoint.
    if (!allFinite(views.params) || views.optimizerSlots.some((slot) => !allFinite(slot))) {
      throw new RunError(`training diverged at step ${step}: its update left non-finite ${allFinite(views.params) ? 'optimizer state' : 'parameters'}; ${folder.lastGood()}`);
    }
    return folder.writeCheckpoint(step, snapshot(step));
  };
  /** An engine operation; a worker failure's message also says which checkpoint survives. */
  const guarded = async <T>(operation: Promise<T>): Promise<T> => {
    try {
      return await operation;
    } catch (err) {
      throw err instanceof RunError ? new RunError(`${err.message}; ${folder.lastGood()}`) : err;
    }
  };
  const evaluator = new Evaluator({ engine, dataset, cfg, exp, state, folder, snapshot, guarded, onNotice: opts.onNotice });

  const { steps, evalEvery, logEvery, checkpointEvery } = exp.train;
  const streams = exp.data.stateful ? new StreamSchedule(dataset.size('train'), B, exp.seed, exp.train.shuffle) : null;
  const batches = streams ?? new BatchSchedule(dataset.size('train'), B, exp.seed, exp.train.shuffle);
  const perStep = predictedSteps(cfg, dataset.seqLen, B);
  const tokensPerStep = B * dataset.seqLen;
  const evaluates = dataset.size('val') > 0;
  let lossSinceLog = 0, stepsSinceLog = 0, lastLogTime = performance.now();
  let lastLoss: number | null = null, lastVal: number | null = null, lastRate = 0;
  let step = startStep;
  /** data.randomOffset: the epoch whose offset the training windows have (set at each epoch's first step, and on resume). */
  const shiftsWindows = exp.data.task === 'text' && exp.data.randomOffset;
  let shiftedEpoch = -1;
  let status: TrainResult['status'] = state.earlyStopped ? 'early-stopped' : 'completed';
  try {
    while (step < steps && !state.earlyStopped) {
      if (opts.stopSignal?.aborted) { status = 'interrupted'; break; }
      const { indices, epoch } = batches.at(step);
      if (shiftsWindows && epoch !== shiftedEpoch) {
        dataset.shiftTrainWindows!(windowOffset(exp.seed, epoch, dataset.seqLen));
        shiftedEpoch = epoch;
      }
      if (streams?.startsEpoch(step)) resetCarriedStates(engine);
      loadShards(engine, dataset, cfg, 'train', indices, 0, B);
      const lr = state.lr(step + 1);
      const { lossSum, gradNorm } = await guarded(engine.trainStep(step + 1, lr, perStep));
      const loss = lossSum / perStep;
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        throw new RunError(`training diverged at step ${step + 1}: loss is ${loss}, gradient norm ${gradNorm}; ${folder.lastGood()}`);
      }
      step++;
      lossSinceLog += loss;
      stepsSinceLog++;
      const evalNow = evaluates && (step % evalEvery === 0 || step === steps);
      if (step % logEvery === 0 || evalNow || step === steps) {
        lastRate = (stepsSinceLog * tokensPerStep) / ((performance.now() - lastLogTime) / 1000);
        const line: MetricsLine = {
          step, loss: lossSinceLog / stepsSinceLog, lr, gradNorm,
          tokensPerSec: lastRate, elapsedSec: elapsed(),
        };
        lastLoss = line.loss;
        if (evalNow) {
          if (await evaluator.evaluate(step, line)) status = 'early-stopped';
          lastVal = line.valLoss!;
        }
        folder.appendMetrics(line);
        opts.onMetrics?.(line, steps);
        lossSinceLog = 0;
        stepsSinceLog = 0;
        lastLogTime = performance.now();
        if (status === 'early-stopped') break;
        if (evalNow && opts.onEval && (await opts.onEval(line)) === 'stop' && step < steps) { status = 'stopped'; break; }
      }
      if (step % checkpointEvery === 0 && step < steps) checkpoint(step);
    }
    if (step > startStep || !folder.hasCheckpoint) {
      if (!checkpoint(step)) throw new RunError(`could not write the final checkpoint (step ${step}); ${folder.lastGood()}`);
    }
  } finally {
    await engine.close();
  }
  folder.writeChart();
  const best = evaluator.best;
  return {
    outDir: folder.dir, checkpoint: folder.checkpointPath, step, loss: lastLoss, valLoss: lastVal, tokensPerSec: lastRate,
    elapsedSec: elapsed(), status, experiment: resolved, cfg, vocab: dataset.vocab,
    best: best && { ...best, checkpoint: folder.bestPath },
  };
}

/**
 * The run's engine, its parameters those of `source` (the checkpoint resumed or train.init) or a
 * fresh initialisation; a resumed run's optimizer state and carried states restored as well.
 */
function startEngine(exp: Experiment, cfg: ModelConfig, dataset: Dataset, workers: number, kernels: EngineKernels, source: CheckpointData | null, resumeFrom: CheckpointData | null): Engine {
  const engine = Engine.create({
    cfg, loss: dataset.loss, input: dataset.input, seqLen: dataset.seqLen, batch: exp.train.batch, workers,
    optimizer: exp.train.optimizer, clip: exp.train.clip, teacherForcing: exp.train.teacherForcing,
    kernels, variableLengths: dataset.variableLengths,
    dropout: { p: exp.model?.dropout ?? 0, lockedDropout: exp.model?.lockedDropout ?? 0, weightDrop: exp.model?.weightDrop ?? 0, seed: exp.seed },
    stateful: exp.data.stateful, quantiles: dataset.quantiles,
  });
  const { views, plan } = engine;
  if (source) views.params.set(source.params);
  else initParams(cfg, plan.layout, views.params, exp.seed, { scale: exp.model!.initScale, forgetBias: exp.model!.forgetBias, embeddingScale: exp.model!.embeddingInitScale });
  if (resumeFrom) optimizerSlots(exp.train.optimizer.name).forEach((s, i) => views.optimizerSlots[i].set(resumeFrom.optim.get(s)!));
  if (resumeFrom?.carried && exp.data.stateful) writeCarriedStates(engine, resumeFrom.carried);
  return engine;
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}
