/**
 * `data.task: series` (SPEC §4), the whole kind: a CSV file read (read.ts), built into series and
 * windows (series-build.ts, pure, re-exported here: the rows, the split, differencing,
 * normalisation and the windows), checked and served as a Dataset.
 *
 * As a Dataset, the windows are written time-major into the engine's batch arrays. Inputs are the
 * normalised features of the window's rows; targets the normalised targets `horizon` rows ahead,
 * step-major (output k·G + g is target g, k+1 rows after the step): after the last step
 * (`outputs: last`) or after every step (`outputs: all`).
 */
import { inputError } from '../errors.js';
import { checkBatch, checkCapacity, positiveInteger } from './checks.js';
import type { BatchArrays, Dataset, Split } from './dataset.js';
import type { Normalization } from './normalize.js';
import { readDataFile } from './read.js';
import { middleQuantile, sortedQuantiles } from './quantiles.js';
import { CoverageSums, ErrorSums, type Scorer } from './scores.js';
import { buildSeries, lastLevel, readSeriesTable, stepInput, toLevels, trueLevel, windows, type Series, type SeriesData, type SeriesMeta, type SeriesOptions, type Windows } from './series-build.js';
import { SERIES_DEFAULTS, type SeriesSpec } from './spec.js';

export * from './series-build.js';

/**
 * Loads a series experiment's CSV: read, checked and windowed. `file` is the experiment file
 * (for key errors); `fitted` (a checkpoint's statistics) replaces fitting on the training rows.
 */
export function loadSeries(spec: SeriesSpec, outputs: 'all' | 'last', file: string, fitted: Normalization | null = null, quantiles: number[] | null = null, categoryLevels: string[][] | null = null): SeriesDataset {
  if (spec.path === undefined) throw inputError(file, 'data.path', "required for task 'series'");
  const opt: SeriesOptions = {
    time: spec.time ?? SERIES_DEFAULTS.time,
    group: spec.group ?? SERIES_DEFAULTS.group,
    features: spec.features ?? SERIES_DEFAULTS.features,
    targets: spec.targets ?? SERIES_DEFAULTS.targets,
    futureFeatures: spec.futureFeatures ?? SERIES_DEFAULTS.futureFeatures,
    seqLen: positiveInteger(spec.seqLen, 'seqLen', file),
    horizon: positiveInteger(spec.horizon ?? SERIES_DEFAULTS.horizon, 'horizon', file),
    stride: positiveInteger(spec.stride ?? SERIES_DEFAULTS.stride, 'stride', file),
    valFraction: spec.valFraction ?? SERIES_DEFAULTS.valFraction,
    normalize: spec.normalize ?? SERIES_DEFAULTS.normalize,
    missing: spec.missing ?? SERIES_DEFAULTS.missing,
    difference: spec.difference ?? SERIES_DEFAULTS.difference,
    outputs,
    quantiles,
    categorical: spec.categorical ?? null,
    categoryLevels,
  };
  const delimiter = spec.delimiter ?? SERIES_DEFAULTS.delimiter;
  const table = readSeriesTable(readDataFile(spec.path), spec.path, delimiter, opt);
  const data = buildSeries(table, opt, delimiter, { csv: spec.path, experiment: file }, fitted);
  return new SeriesDataset(data, outputs);
}

export class SeriesDataset implements Dataset {
  readonly task = 'series' as const;
  readonly loss: 'mse' | 'quantile';
  readonly input = 'dense' as const;
  readonly inputSize: number;
  readonly outputSize: number;
  /** Target values per prediction: targets · horizon (each with Q outputs under the quantile loss). */
  readonly targetWidth: number;
  readonly quantiles: number[] | null;
  readonly seqLen: number;
  readonly outputsAllowed: ('all' | 'last')[] = ['last', 'all'];
  readonly meta: SeriesMeta;
  readonly series: Series[];
  /** data.categorical: per column, its embedding rows (`<unk>` included). */
  readonly categorical: { column: string; levels: number }[];
  private readonly splits: Record<Split, Windows>;

  constructor(data: SeriesData, readonly outputs: 'all' | 'last') {
    this.meta = data.meta;
    this.series = data.series;
    this.splits = { train: data.train, val: data.val };
    this.inputSize = data.meta.features.length + data.meta.futureFeatures.length;
    this.quantiles = data.meta.quantiles;
    this.loss = this.quantiles ? 'quantile' : 'mse';
    this.targetWidth = data.meta.targets.length * data.meta.horizon;
    this.outputSize = this.targetWidth * (this.quantiles?.length ?? 1);
    this.seqLen = data.meta.seqLen;
    this.categorical = data.meta.categorical.map((c) => ({ column: c.column, levels: c.levels.length }));
  }

  size(split: Split): number {
    return this.splits[split].starts.length;
  }

  /** Window `index` of `split`: its series and first model row. */
  window(split: Split, index: number): { series: Series; start: number } {
    const w = this.splits[split];
    return { series: this.series[w.series[index]], start: w.starts[index] };
  }

  /**
   * Errors of the forecasts in the data's units (levels, when differenced), and of persistence:
   * every target at every step ahead forecast as its value at the window's last input row.
   */
  scorer(split: Split): Scorer {
    const meta = this.meta, G = meta.targets.length, h = meta.horizon, T = this.seqLen;
    const quantiles = meta.quantiles ?? [0.5], Q = quantiles.length, middle = meta.quantiles ? middleQuantile(quantiles) : 0;
    const sums = new ErrorSums(), coverage = meta.quantiles ? new CoverageSums() : null;
    const sorted = new Float64Array(G * h * Q), outputs = new Float64Array(G * h);
    const levels = Array.from({ length: Q }, () => new Float64Array(G * h));
    return {
      add: (index, y, offset, stride, steps) => {
        const { series: s, start } = this.window(split, index);
        for (let step = 0; step < steps; step++) {
          // The prediction after input row `origin` (the window's last for outputs 'last').
          const origin = start + (steps === 1 ? T - 1 : step);
          sortedQuantiles(y, offset + step * stride, G * h, Q, sorted);
          for (let q = 0; q < Q; q++) {
            for (let o = 0; o < G * h; o++) outputs[o] = sorted[o * Q + q];
            toLevels(meta, s, origin, outputs, levels[q]);
          }
          for (let k = 0; k < h; k++) {
            for (let g = 0; g < G; g++) {
              const truth = trueLevel(meta, s, origin, k, g), at = k * G + g;
              sums.add(levels[middle][at], truth, lastLevel(meta, s, origin, g));
              coverage?.add(levels[0][at], levels[Q - 1][at], truth);
            }
          }
        }
      },
      result: () => ({ ...sums.result(true), ...coverage?.result() }),
    };
  }

  fill(split: Split, indices: ArrayLike<number>, start: number, count: number, outputs: 'all' | 'last', out: BatchArrays): void {
    checkBatch(this, split, indices, start, count, outputs);
    if (outputs !== this.outputs) throw new RangeError(`the windows were cut for outputs '${this.outputs}', not '${outputs}'`);
    const T = this.seqLen, In = this.inputSize, G = this.meta.targets.length, h = this.meta.horizon, O = this.targetWidth;
    checkCapacity(out.inputs, 'inputs', T * count * In);
    checkCapacity(out.targetValues, 'targetValues', (outputs === 'all' ? T * count : count) * O);
    const C = this.categorical.length;
    if (C > 0) checkCapacity(out.categories ?? [], 'categories', count * C);
    for (let j = 0; j < count; j++) {
      const { series: s, start: s0 } = this.window(split, indices[start + j]);
      for (let c = 0; c < C; c++) out.categories![j * C + c] = s.categories[c];
      for (let t = 0; t < T; t++) stepInput(this.meta, s.inputs, s0 + t, s.future, s0 + t + 1, out.inputs, (t * count + j) * In);
      // Targets of step t: model rows s0+t+1 .. s0+t+h (only the last step's for outputs 'last').
      for (let t = outputs === 'all' ? 0 : T - 1; t < T; t++) {
        const row = outputs === 'all' ? t * count + j : j;
        for (let k = 0; k < h; k++) {
          const from = (s0 + t + 1 + k) * G;
          for (let g = 0; g < G; g++) out.targetValues[row * O + k * G + g] = s.targets[from + g];
        }
      }
    }
  }
}
