/**
 * Learning-rate schedules (SPEC §6 `train.schedule`), as pure functions of the step number and,
 * for `plateau`, of the validation metrics seen so far. Steps are numbered 1..steps as in
 * metrics.jsonl; the rate a step uses is the one logged on its line.
 *
 * With `warmup: w`, step s ≤ w uses (s / w) × the schedule's rate (a linear ramp whose last step
 * reaches it). The decay counts the steps after the warmup from 0, u = max(0, s − w − 1), so with
 * no warmup u = s − 1 and every schedule equals its PyTorch scheduler stepped once per step:
 *   constant     lr
 *   cosine       minLr + (lr − minLr)·(1 + cos(π·u / (steps − w)))/2   (CosineAnnealingLR, T_max = steps − w)
 *   step         lr · gamma^⌊u / every⌋                                   (StepLR)
 *   exponential  lr · gamma^u                                             (ExponentialLR)
 *   plateau      lr divided by `factor` (not below minLr) each time the validation metric has not
 *                improved by more than minDelta for `patience` evaluations in a row (Keras's
 *                ReduceLROnPlateau counting; the count restarts after each reduction)
 */

import type { ScheduleSpec } from '../experiment/options.js';
import { watchMetric, watchFromMetadata, type Watch } from './patience.js';

/** What `plateau` remembers between evaluations (saved in the checkpoint for --resume). */
export interface PlateauState extends Watch {
  /** The rate after the reductions so far. */
  lr: number;
}

export function initialPlateau(lr: number): PlateauState {
  return { lr, best: null, bad: 0 };
}

/** The learning rate step `step` (1-based) uses. */
export function learningRate(spec: ScheduleSpec, lr: number, steps: number, step: number, plateau: PlateauState): number {
  const w = spec.warmup;
  const ramp = w > 0 && step <= w ? step / w : 1;
  return ramp * decayed(spec, lr, steps, Math.max(0, step - w - 1), plateau);
}

function decayed(spec: ScheduleSpec, lr: number, steps: number, u: number, plateau: PlateauState): number {
  switch (spec.name) {
    case 'constant':
      return lr;
    case 'cosine': {
      const span = steps - spec.warmup;
      if (span <= 0) return lr;
      return spec.minLr + ((lr - spec.minLr) * (1 + Math.cos((Math.PI * u) / span))) / 2;
    }
    case 'step':
      return lr * spec.gamma ** Math.floor(u / spec.every);
    case 'exponential':
      return lr * spec.gamma ** u;
    case 'plateau':
      return plateau.lr;
  }
}

/**
 * The plateau state after an evaluation with validation metric `metric` (smaller is better).
 * Other schedules ignore evaluations: their state passes through unchanged.
 */
export function observeMetric(spec: ScheduleSpec, state: PlateauState, metric: number): PlateauState {
  if (spec.name !== 'plateau') return state;
  const w = watchMetric(state, metric, spec.minDelta);
  if (w.bad < spec.patience) return { ...state, ...w };
  return { lr: Math.max(state.lr / spec.factor, spec.minLr), best: w.best, bad: 0 };
}

/** The plateau state stored in a checkpoint's `train` metadata, checked; undefined if absent. */
export function plateauFromMetadata(value: unknown): PlateauState | undefined {
  const w = watchFromMetadata(value);
  const lr = (value as Record<string, unknown> | null)?.lr;
  return w === undefined || typeof lr !== 'number' ? undefined : { lr, ...w };
}
