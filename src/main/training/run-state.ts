/**
 * What a run's evaluations decide, and what --resume must restore of it: the plateau schedule's
 * rate, early stopping's count, and the best step so far (whose weights are best.safetensors).
 * Saved in the checkpoint's `train` metadata.
 */
import type { Experiment } from '../experiment/experiment.js';
import { FRESH_WATCH, stopsEarly, watchFromMetadata, watchMetric, type Watch } from './patience.js';
import { initialPlateau, learningRate, observeMetric, plateauFromMetadata, type PlateauState } from './schedule.js';

export interface BestStep {
  step: number;
  valLoss: number;
}

export class RunState {
  private plateau: PlateauState;
  private watch: Watch;
  /** The evaluated step with the lowest validation loss so far. */
  best: BestStep | null;
  /** Set when early stopping ended the run (a resumed run then has nothing left to do). */
  earlyStopped: boolean;

  /** A fresh run's state, or the one a checkpoint's `train` metadata recorded. */
  constructor(private readonly exp: Experiment, saved?: Record<string, unknown>) {
    this.plateau = plateauFromMetadata(saved?.plateau) ?? initialPlateau(exp.train.optimizer.lr);
    this.watch = watchFromMetadata(saved?.earlyStopping) ?? FRESH_WATCH;
    this.best = bestFromMetadata(saved?.best);
    this.earlyStopped = saved?.earlyStopped === true;
  }

  /** The learning rate of step `step` (1-based). */
  lr(step: number): number {
    const { schedule, optimizer, steps } = this.exp.train;
    return learningRate(schedule, optimizer.lr, steps, step, this.plateau);
  }

  /**
   * An evaluation every evalEvery steps moves the plateau schedule and early stopping (the
   * extra one at a run's end does not, so a run resumed with more steps follows the one that
   * had them from the start). Returns whether early stopping ends the run here.
   */
  observe(valLoss: number): boolean {
    this.plateau = observeMetric(this.exp.train.schedule, this.plateau, valLoss);
    const early = this.exp.train.earlyStopping;
    if (early === null) return false;
    this.watch = watchMetric(this.watch, valLoss, early.minDelta);
    this.earlyStopped = stopsEarly(early, this.watch);
    return this.earlyStopped;
  }

  /** Whether `valLoss` beats the best so far. */
  improves(valLoss: number): boolean {
    return this.best === null || valLoss < this.best.valLoss;
  }

  metadata(): Record<string, unknown> {
    const { schedule, earlyStopping } = this.exp.train;
    return {
      ...(schedule.name === 'plateau' ? { plateau: this.plateau } : {}),
      ...(earlyStopping !== null ? { earlyStopping: this.watch } : {}),
      ...(this.best !== null ? { best: this.best } : {}),
      ...(this.earlyStopped ? { earlyStopped: true } : {}),
    };
  }
}

function bestFromMetadata(value: unknown): BestStep | null {
  if (typeof value !== 'object' || value === null) return null;
  const { step, valLoss } = value as Record<string, unknown>;
  return typeof step === 'number' && typeof valLoss === 'number' ? { step, valLoss } : null;
}
