/**
 * A run's evaluations on the validation split, and best.safetensors. With train.evalBatches,
 * every evaluation but the run's last reads a fixed sample of the split; the last reads all of it
 * and settles best.safetensors on the whole split. Without it, every evaluation reads the whole
 * split.
 */
import type { ModelConfig } from '../../shared/model/model-config.js';
import type { CheckpointData } from '../checkpoint/checkpoint.js';
import type { Dataset } from '../data/dataset.js';
import type { Engine } from '../engine/engine.js';
import { firstLine } from '../errors.js';
import type { Experiment } from '../experiment/experiment.js';
import { evaluateSplit, spreadSample, type SplitEvaluation } from '../inference/validation.js';
import { valMetrics, type MetricsLine } from '../report/metrics.js';
import type { RunFolder } from './run-folder.js';
import type { BestStep, RunState } from './run-state.js';

export interface EvaluatedRun {
  engine: Engine;
  dataset: Dataset;
  cfg: ModelConfig;
  exp: Experiment;
  state: RunState;
  folder: RunFolder;
  /** The model and run state at `step` as a checkpoint, `extra` added to its train metadata. */
  snapshot: (step: number, extra: Record<string, unknown>) => CheckpointData;
  /** An engine operation whose failure's message says which checkpoint survives. */
  guarded: <T>(operation: Promise<T>) => Promise<T>;
  onNotice?: (text: string) => void;
}

export class Evaluator {
  /** train.evalBatches: the windows every evaluation but the last reads, spread over the split; null: all of them. */
  private readonly sample: Int32Array | null;
  /** The best step as the whole split rated it at the end of a sampled run. */
  private settled: BestStep | null = null;

  constructor(private readonly run: EvaluatedRun) {
    const { exp, dataset } = run;
    const { batch, evalBatches } = exp.train;
    const valCount = dataset.size('val');
    this.sample = evalBatches !== null && evalBatches * batch < valCount ? spreadSample(valCount, evalBatches * batch, exp.seed) : null;
  }

  /** The evaluated step with the lowest validation loss (best.safetensors); null before any. */
  get best(): BestStep | null {
    return this.settled ?? this.run.state.best;
  }

  /**
   * The evaluation after `step` (every evalEvery steps and at train.steps), its losses and scores
   * added to `line`. Those on the evalEvery grid move the schedule and early stopping; returns
   * whether early stopping ends the run here.
   */
  async evaluate(step: number, line: MetricsLine): Promise<boolean> {
    const { state, exp } = this.run;
    const { evalEvery, steps } = exp.train;
    const onGrid = step % evalEvery === 0;
    let sampled: SplitEvaluation | null = null;
    let stopsEarly = false;
    if (onGrid || this.sample === null) {
      sampled = await this.evaluation(this.sample);
      this.keepIfBest(step, sampled.loss);
      stopsEarly = onGrid && state.observe(sampled.loss) && step < steps;
    }
    // The run's last evaluation reads the whole split, and settles best.safetensors on it.
    const whole = this.sample !== null && (step === steps || stopsEarly) ? await this.evaluation(null) : null;
    if (whole !== null) {
      if (sampled !== null) line.valLossSample = sampled.loss;
      this.settled = await this.settleBestOnWholeSplit(step, whole.loss);
    }
    const reported = (whole ?? sampled)!; // off the grid, a sampled run evaluates only at its end: whole
    line.valLoss = reported.loss;
    Object.assign(line, valMetrics(reported.scores));
    return stopsEarly;
  }

  private evaluation(windows: Int32Array | null): Promise<SplitEvaluation> {
    const { engine, dataset, cfg, guarded } = this.run;
    return guarded(evaluateSplit(engine, dataset, cfg, 'val', windows));
  }

  /** Keeps this step as best.safetensors when its validation loss is the lowest yet. */
  private keepIfBest(step: number, valLoss: number): void {
    const { state, folder, snapshot } = this.run;
    if (!state.improves(valLoss)) return;
    try {
      folder.writeBest(snapshot(step, { valLoss }));
      state.best = { step, valLoss };
    } catch (err) {
      this.run.onNotice?.(`warning: could not write ${folder.bestPath} at step ${step} (${firstLine(err)}); it keeps step ${state.best?.step ?? '(none)'}`);
    }
  }

  /**
   * At the end of a run that evaluated a sample: best.safetensors becomes whichever of the kept
   * best and the final model has the lower loss on the whole split, and records that loss.
   */
  private async settleBestOnWholeSplit(step: number, finalLoss: number): Promise<BestStep> {
    const { folder, snapshot, engine } = this.run;
    const kept = folder.readBest();
    const keptStep = Number(kept?.train?.step);
    if (kept && keptStep !== step) {
      const params = engine.views.params;
      const finalParams = params.slice();
      params.set(kept.params);
      const keptLoss = (await this.evaluation(null)).loss;
      params.set(finalParams);
      if (keptLoss <= finalLoss) {
        folder.writeBest({ ...kept, train: { ...kept.train, valLoss: keptLoss, valSplit: 'whole' } });
        return { step: keptStep, valLoss: keptLoss };
      }
    }
    folder.writeBest(snapshot(step, { valLoss: finalLoss, valSplit: 'whole' }));
    return { step, valLoss: finalLoss };
  }
}
