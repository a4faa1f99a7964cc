/**
 * Metrics users read (SPEC §5, §6), in the data's own units and labels: accuracy with the
 * majority-class baseline for classification; mean squared and absolute error with a naive
 * baseline (persistence — the last observed value — for series) for values.
 */

export interface Scores {
  accuracy?: number;
  /** The accuracy of always answering the training split's most frequent label. */
  baselineAccuracy?: number;
  mse?: number;
  mae?: number;
  baselineMse?: number;
  /** Quantile models: the share of true values inside [lowest, highest] quantile (ideal: their difference). */
  coverage?: number;
}

/** Accumulates a split's scores from the model's (normalised) outputs, sequence by sequence. */
export interface Scorer {
  /**
   * The outputs for sequence `index` of the split: `steps` predictions (1 for outputs 'last',
   * seqLen for 'all'), prediction s's outputs at y[offset + s·stride ...].
   */
  add(index: number, y: ArrayLike<number>, offset: number, stride: number, steps: number): void;
  result(): Scores;
}

/** Hits of the argmax against the true label and of a constant baseline label. */
export class AccuracySums {
  private n = 0;
  private hits = 0;
  private baselineHits = 0;

  constructor(private readonly baselineLabel: number) {}

  add(y: ArrayLike<number>, offset: number, classes: number, label: number): void {
    let best = 0;
    for (let k = 1; k < classes; k++) if (y[offset + k] > y[offset + best]) best = k;
    this.n++;
    if (best === label) this.hits++;
    if (this.baselineLabel === label) this.baselineHits++;
  }

  result(): Scores {
    return { accuracy: this.hits / this.n, baselineAccuracy: this.baselineHits / this.n };
  }
}

/** Squared and absolute errors of predictions (and squared errors of a baseline) in data units. */
export class ErrorSums {
  private n = 0;
  private squares = 0;
  private absolutes = 0;
  private baselineSquares = 0;

  add(predicted: number, truth: number, baseline: number): void {
    this.n++;
    this.squares += (predicted - truth) ** 2;
    this.absolutes += Math.abs(predicted - truth);
    this.baselineSquares += (baseline - truth) ** 2;
  }

  result(withBaseline: boolean): Scores {
    const scores: Scores = { mse: this.squares / this.n, mae: this.absolutes / this.n };
    if (withBaseline) scores.baselineMse = this.baselineSquares / this.n;
    return scores;
  }
}

/** How often the true value lies inside a forecast interval (both ends included). */
export class CoverageSums {
  private n = 0;
  private inside = 0;

  add(low: number, high: number, truth: number): void {
    this.n++;
    if (truth >= low && truth <= high) this.inside++;
  }

  result(): Scores {
    return { coverage: this.inside / this.n };
  }
}

/** The most frequent of labels 0..classes−1 (the lowest index on a tie). */
export function majorityLabel(labels: Iterable<number>, classes: number): number {
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) counts[l]++;
  let best = 0;
  for (let k = 1; k < classes; k++) if (counts[k] > counts[best]) best = k;
  return best;
}
