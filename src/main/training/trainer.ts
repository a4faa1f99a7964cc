/**
 * The training loop: resolves the model and data from an experiment, drives the multi-core
 * engine step by step, logs metrics, evaluates, checkpoints, resumes, and stops cleanly on
 * signals, divergence and worker failure.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../../shared/model/model-config.js';
import { initParams } from '../../shared/model/init.js';
import { optimizerSlots } from '../../shared/model/optim.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointData } from '../checkpoint/checkpoint.js';
import { BatchSchedule } from '../data/batching.js';
import { StreamSchedule } from '../data/streams.js';
import { readCarriedStates, resetCarriedStates, writeCarriedStates } from '../engine/carried.js';
import { Engine } from '../engine/engine.js';
import { firstLine, inputError, RunError } from '../errors.js';
import { firstDifference, RESUME_MUTABLE_KEYS, type Experiment } from '../experiment/experiment.js';
import { writeFileAtomic } from '../atomic-write.js';
import { writeRunChart } from '../report/run-chart.js';
import { valMetrics, type MetricsLine } from '../report/metrics.js';
import type { Scores } from '../data/scores.js';
import { describeKernels, resolveKernels, trainedKernels } from '../engine/kernel-choice.js';
import { defaultWorkers, resolveRun } from './resolve.js';
import { evaluateSplit, loadShards, predictedSteps, spreadSample } from '../inference/validation.js';
import { RunState, type BestStep } from './run-state.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
/** The weights of the evaluated step with the lowest validation loss, beside the checkpoint. */
export const BEST_FILE = 'best.safetensors';

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
  vocab?: string;
}

/** The network shape and data of an experiment, and the checkpoint it starts from (train.init). */
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
  const state = new RunState(exp, resumeFrom?.train);
  const bestPath = join(outDir, BEST_FILE);
  const startStep = resumeFrom ? Number(resumeFrom.train?.step ?? 0) : 0;
  const priorElapsed = resumeFrom ? Number(resumeFrom.train?.elapsedSec ?? 0) : 0;
  const kernels = resolveKernels(exp.train.kernels, file, 'train.kernels', trainedKernels(resumeFrom));

  mkdirSync(outDir, { recursive: true });
  // A fresh run in a used folder: an old run's best must not pass for this one's.
  if (!resumeFrom) rmSync(bestPath, { force: true });
  // config.json: the resolved experiment (train.kernels as asked) and the kernels this run chose.
  const config = { ...resolved, kernels: { requested: kernels.requested, chosen: kernels.kernels, why: kernels.why } };
  writeFileAtomic(join(outDir, 'config.json'), new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n'));
  opts.onNotice?.(`${resumeFrom ? `resuming at step ${startStep}` : 'training'} with ${workers} worker${workers === 1 ? '' : 's'}, kernels ${describeKernels(kernels)}; run folder ${outDir}`);
  const metricsPath = join(outDir, 'metrics.jsonl');
  writeFileSync(metricsPath, startStep > 0 ? keptMetrics(metricsPath, startStep) : '');

  const engine = Engine.create({
    cfg, loss: dataset.loss, input: dataset.input, seqLen: dataset.seqLen, batch: B, workers,
    optimizer: exp.train.optimizer, clip: exp.train.clip, teacherForcing: exp.train.teacherForcing,
    kernels: kernels.kernels, variableLengths: dataset.variableLengths,
    dropout: { p: exp.model?.dropout ?? 0, seed: exp.seed }, stateful: exp.data.stateful,
  });
  const { views, plan } = engine;
  const source = resumeFrom ?? init;
  if (source) views.params.set(source.params);
  else initParams(cfg, plan.layout, views.params, exp.seed, { scale: exp.model!.initScale, forgetBias: exp.model!.forgetBias });
  if (resumeFrom) slots.forEach((s, i) => views.optimizerSlots[i].set(resumeFrom!.optim.get(s)!));
  if (resumeFrom?.carried && exp.data.stateful) writeCarriedStates(engine, resumeFrom.carried);

  let wroteCheckpoint = resumeFrom !== null;
  let checkpointStep = startStep;
  /** The model, optimizer and run state now, as a checkpoint (best.safetensors too, so it can seed train.init). */
  const snapshot = (step: number, elapsedSec: number, extra: Record<string, unknown> = {}): CheckpointData => ({
    cfg, vocab: dataset.vocab, params: views.params,
    optim: new Map(slots.map((s, i) => [s, views.optimizerSlots[i]])),
    experiment: resolved,
    train: { step, seed: exp.seed, workers, elapsedSec, kernels: kernels.kernels, ...state.metadata(), ...extra },
    carried: exp.data.stateful ? readCarriedStates(engine) : undefined,
    data: dataset.meta,
  });
  const writeCheckpoint = (step: number, elapsedSec: number): boolean => {
    // A finite loss only vouches for the parameters the step started from; its update may still
    // have overflowed them (or the optimizer state). Never save those as a good checkpoint.
    if (!allFinite(views.params) || views.optimizerSlots.some((slot) => !allFinite(slot))) {
      throw new RunError(`training diverged at step ${step}: its update left non-finite ${allFinite(views.params) ? 'optimizer state' : 'parameters'}; ${lastGood()}`);
    }
    try {
      saveCheckpoint(checkpointPath, snapshot(step, elapsedSec));
      wroteCheckpoint = true;
      checkpointStep = step;
      return true;
    } catch (err) {
      const kept = wroteCheckpoint ? `the previous checkpoint ${checkpointPath} is intact` : 'no checkpoint has been written yet';
      opts.onNotice?.(`warning: could not write the checkpoint at step ${step} (${firstLine(err)}); ${kept}`);
      return false;
    }
  };
  /** Keeps this step as best.safetensors when its validation loss is the lowest yet. */
  const keepIfBest = (step: number, valLoss: number): void => {
    if (!state.improves(valLoss)) return;
    try {
      saveCheckpoint(bestPath, snapshot(step, elapsed(), { valLoss }));
      state.best = { step, valLoss };
    } catch (err) {
      opts.onNotice?.(`warning: could not write ${bestPath} at step ${step} (${firstLine(err)}); it keeps step ${state.best?.step ?? '(none)'}`);
    }
  };
  /**
   * At the end of a run that evaluated a sample: best.safetensors becomes whichever of the kept
   * best and the final model has the lower loss on the whole split, and records that loss.
   */
  const settleBestOnWholeSplit = async (step: number, finalLoss: number): Promise<BestStep> => {
    const kept = existsSync(bestPath) ? loadCheckpoint(bestPath) : null;
    const keptStep = Number(kept?.train?.step);
    if (kept && keptStep !== step) {
      const finalParams = views.params.slice();
      views.params.set(kept.params);
      const keptLoss = await validationLoss(null);
      views.params.set(finalParams);
      if (keptLoss <= finalLoss) {
        saveCheckpoint(bestPath, { ...kept, train: { ...kept.train, valLoss: keptLoss, valSplit: 'whole' } });
        return { step: keptStep, valLoss: keptLoss };
      }
    }
    saveCheckpoint(bestPath, snapshot(step, elapsed(), { valLoss: finalLoss, valSplit: 'whole' }));
    return { step, valLoss: finalLoss };
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

  const streams = exp.data.stateful ? new StreamSchedule(trainCount, B, exp.seed, exp.train.shuffle) : null;
  const batches = streams ?? new BatchSchedule(trainCount, B, exp.seed, exp.train.shuffle);
  const perStep = predictedSteps(cfg, dataset.seqLen, B);
  // train.evalBatches: the windows every evaluation but the last reads, spread over the split.
  const valCount = dataset.size('val');
  const evalBatches = exp.train.evalBatches;
  const evalSample = evalBatches !== null && evalBatches * B < valCount ? spreadSample(valCount, evalBatches * B, exp.seed) : null;
  /** The scores (accuracy, errors in the data's units) of the last evaluation, for its metrics line. */
  let lastScores: Scores | null = null;
  const validationLoss = async (windows: Int32Array | null): Promise<number> => {
    const evaluation = await guarded(evaluateSplit(engine, dataset, cfg, 'val', windows));
    lastScores = evaluation.scores;
    return evaluation.loss;
  };
  let settledBest: BestStep | null = null;
  const tokensPerStep = B * dataset.seqLen;
  const started = performance.now();
  const elapsed = (): number => priorElapsed + (performance.now() - started) / 1000;
  let lossSinceLog = 0, stepsSinceLog = 0, lastLogTime = performance.now();
  let lastLoss: number | null = null, lastVal: number | null = null, lastRate = 0;
  let step = startStep;
  let status: TrainResult['status'] = state.earlyStopped ? 'early-stopped' : 'completed';
  try {
    while (step < exp.train.steps && !state.earlyStopped) {
      if (opts.stopSignal?.aborted) { status = 'interrupted'; break; }
      const { indices } = batches.at(step);
      if (streams?.startsEpoch(step)) resetCarriedStates(engine);
      loadShards(engine, dataset, cfg, 'train', indices, 0, B);
      const lr = state.lr(step + 1);
      const { lossSum, gradNorm } = await guarded(engine.trainStep(step + 1, lr, perStep));
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
          step, loss: lossSinceLog / stepsSinceLog, lr, gradNorm,
          tokensPerSec: lastRate, elapsedSec: elapsed(),
        };
        lastLoss = line.loss;
        if (evalNow) {
          const onGrid = step % exp.train.evalEvery === 0;
          let sampled: number | null = null;
          if (onGrid || evalSample === null) {
            sampled = await validationLoss(evalSample);
            keepIfBest(step, sampled);
            if (onGrid && state.observe(sampled) && step < exp.train.steps) status = 'early-stopped';
          }
          if (evalSample !== null && (step === exp.train.steps || status === 'early-stopped')) {
            // The run's last evaluation reads the whole split, and settles best.safetensors on it.
            lastVal = await validationLoss(null);
            const wholeScores: Scores | null = lastScores; // settling may evaluate the kept best weights
            if (sampled !== null) line.valLossSample = sampled;
            settledBest = await settleBestOnWholeSplit(step, lastVal);
            lastScores = wholeScores;
          } else {
            lastVal = sampled!;
          }
          line.valLoss = lastVal;
          Object.assign(line, valMetrics(lastScores));
        }
        writeFileSync(metricsPath, JSON.stringify(line) + '\n', { flag: 'a' });
        opts.onMetrics?.(line, exp.train.steps);
        lossSinceLog = 0;
        stepsSinceLog = 0;
        lastLogTime = performance.now();
        if (status === 'early-stopped') break;
        if (evalNow && opts.onEval && (await opts.onEval(line)) === 'stop' && step < exp.train.steps) { status = 'stopped'; break; }
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
    best: (settledBest ?? state.best) && { ...(settledBest ?? state.best)!, checkpoint: bestPath },
  };
}

/** The kernels a checkpoint was trained with (checkpoints from before they were recorded: unknown). */
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
