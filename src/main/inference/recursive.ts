/**
 * Many steps ahead, recursively (`recur predict --steps N`, `model.forecast(rows, { steps })`,
 * SPEC §4): a horizon-1 model forecasts the row after each series' end; that forecast becomes
 * the next row's target features, the window moves one row on, and so on N times. A quantile
 * model feeds back its middle quantile (the point forecast) and reports every quantile of each
 * row; with differencing each row's levels are the previous row's fed-back level plus its change.
 */
import type { SeriesMeta } from '../data/metadata.js';
import { unscaleValue } from '../data/normalize.js';
import { middleQuantile, sortedQuantiles } from '../data/quantiles.js';
import { lastLevel, stepInput, type Series } from '../data/series-build.js';

/** Why `meta`'s model cannot forecast recursively, or null: the problem is the `--steps` flag's. */
export function recursiveProblem(meta: SeriesMeta): string | null {
  if (meta.horizon !== 1) return `needs a model trained with horizon 1; this one forecasts ${meta.horizon} rows at once (its own forecasts are the ${meta.horizon} steps ahead)`;
  const notFed = meta.targets.find((name) => !meta.features.includes(name));
  if (notFed !== undefined) return `needs every target among the features, so each forecast can be read as the next row; target ${JSON.stringify(notFed)} is not a feature`;
  const unknown = meta.features.find((name) => !meta.targets.includes(name));
  if (unknown !== undefined) return `feature ${JSON.stringify(unknown)} is neither a target nor a future feature: its values in the forecast rows are unknown`;
  return null;
}

/** Per series, per forecast step, the levels [G·Q] (output g·Q + q) in the data's units. */
export type RecursiveLevels = Float64Array[][];

/**
 * `steps` forecasts past the end of every series (each at least seqLen model rows long), by
 * `run`: the model on windows of model inputs [seqLen·(F + FF)], one output row [G·Q] each.
 * With futureFeatures every series needs `steps` rows ahead (their values for the rows forecast).
 */
export function forecastRecursively(meta: SeriesMeta, series: Series[], steps: number, run: (windows: Float32Array[]) => Float32Array[]): RecursiveLevels {
  const F = meta.features.length, T = meta.seqLen, G = meta.targets.length;
  const Q = meta.quantiles?.length ?? 1, middle = meta.quantiles ? middleQuantile(meta.quantiles) : 0;
  const scales = meta.targets.map((name) => meta.normalization.columns[name]);
  const fedFrom = meta.features.map((name) => meta.targets.indexOf(name));
  const FF = meta.futureFeatures.length, In = F + FF;
  // Per series, the features of the window's T rows; the window starts at model row first[i].
  const rows = series.map((s) => s.inputs.slice((s.length - T) * F, s.length * F));
  const first = series.map((s) => s.length - T);
  const windows = series.map(() => new Float32Array(T * In));
  const build = (i: number): void => {
    for (let t = 0; t < T; t++) stepInput(meta, rows[i], t, series[i].future, first[i] + t + 1, windows[i], t * In);
  };
  const previous = series.map((s) => Float64Array.from({ length: G }, (_, g) => lastLevel(meta, s, s.length - 1, g)));
  const out: RecursiveLevels = series.map(() => []);
  const sorted = new Float64Array(G * Q);
  for (let step = 0; step < steps; step++) {
    series.forEach((_, i) => build(i));
    const outputs = run(windows);
    outputs.forEach((y, i) => {
      sortedQuantiles(y, 0, G, Q, sorted);
      const levels = new Float64Array(G * Q);
      for (let g = 0; g < G; g++) {
        for (let q = 0; q < Q; q++) {
          const v = unscaleValue(scales[g], sorted[g * Q + q]);
          levels[g * Q + q] = meta.difference ? previous[i][g] + v : v;
        }
      }
      for (let g = 0; g < G; g++) previous[i][g] = levels[g * Q + middle];
      out[i].push(levels);
      // The window moves on one row: the forecast (normalised, as the model reads it) is the new row.
      const w = rows[i];
      w.copyWithin(0, F);
      for (let f = 0; f < F; f++) w[(T - 1) * F + f] = sorted[fedFrom[f] * Q + middle];
      first[i]++;
    });
  }
  return out;
}
