/**
 * "Has the validation metric improved lately?" — the bookkeeping shared by the plateau schedule
 * and early stopping (SPEC §6 `train.earlyStopping`), as pure functions. Smaller is better.
 */

import type { EarlyStoppingSpec } from '../experiment/options.js';

/** The best metric so far (null before the first evaluation) and the evaluations since it. */
export interface Watch {
  best: number | null;
  bad: number;
}

export const FRESH_WATCH: Watch = { best: null, bad: 0 };

/** After an evaluation: an improvement is a metric more than `minDelta` below the best so far. */
export function watchMetric(w: Watch, metric: number, minDelta: number): Watch {
  if (w.best === null || metric < w.best - minDelta) return { best: metric, bad: 0 };
  return { best: w.best, bad: w.bad + 1 };
}

/** Whether a run with this watch stops here (Keras's EarlyStopping counting). */
export function stopsEarly(spec: EarlyStoppingSpec, w: Watch): boolean {
  return w.bad >= spec.patience;
}

/** A Watch read back from a checkpoint's `train` metadata; undefined if absent or malformed. */
export function watchFromMetadata(value: unknown): Watch | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { best, bad } = value as Record<string, unknown>;
  if (typeof bad !== 'number' || !(best === null || typeof best === 'number')) return undefined;
  return { best, bad };
}
