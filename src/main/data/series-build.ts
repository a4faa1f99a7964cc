/**
 * Time series from a CSV table (SPEC §4 `series`), pure: no files (the browser runtime forecasts
 * with it; series.ts reads the file and serves the windows as a Dataset). Rows are grouped into
 * series (`group`) in time order (`time`, strictly increasing within a series), missing cells
 * refused or forward-filled, optional differencing, a split by time per series (the last
 * `valFraction` of each series' rows), normalisation fitted on training rows only, and the windows:
 *
 *   inputs  rows s .. s+T−1 (the features); with futureFeatures, step t also reads those
 *           columns at row s+t+1, so the forecast of row s+T sees row s+T's known covariates
 *   targets outputs 'last': rows s+T .. s+T+h−1 (every target, `horizon` h rows ahead);
 *           outputs 'all': at step t, rows s+t+1 .. s+t+h.
 *
 * A training window's targets all lie in the training rows and a validation window's in the
 * validation rows (its inputs may read the end of the training rows as context), so no target
 * crosses the cut. Model rows are the rows after differencing: with `difference`, model row r is
 * the change from file row r to r+1 of its series and belongs to the split of row r+1.
 */
import { inputError } from '../errors.js';
import type { SeriesMeta } from './metadata.js';
import { fitColumn, scaleValue, unscaleValue, type ColumnScale, type Normalization, type NormalizeKind } from './normalize.js';
import { readCsv, type ColumnUse, type CsvColumn, type CsvTable } from './parse.js';

export type { SeriesMeta };

export interface SeriesOptions {
  time: string | null;
  group: string | null;
  /** null: every numeric column but time and group. */
  features: string[] | null;
  /** null: the features. */
  targets: string[] | null;
  /** Columns known in advance, read one row ahead (absent or null: none). */
  futureFeatures?: string[] | null;
  seqLen: number;
  horizon: number;
  stride: number;
  valFraction: number;
  normalize: NormalizeKind;
  missing: 'error' | 'ffill';
  difference: boolean;
  outputs: 'all' | 'last';
  /** train.loss quantile: the levels (Q outputs per target value); absent or null: one output each. */
  quantiles?: number[] | null;
  /** Columns constant within each series, read as a level id per series (absent or null: none). */
  categorical?: string[] | null;
  /** A checkpoint's level list per categorical column (`<unk>` first); absent or null: from the training rows. */
  categoryLevels?: string[][] | null;
}

/** The id of the reserved row of every categorical embedding: levels unseen in training. */
export const UNKNOWN_LEVEL = '<unk>';

/** One series: its file rows in time order and its model rows. */
export interface Series {
  /** The group value, or null for a file of one series. */
  key: string | null;
  /** Table row of each file row of the series, in time order. */
  rows: Int32Array;
  /** Model rows (after differencing): rows.length, or rows.length − 1 with `difference`. */
  length: number;
  /** Model rows [0, trainRows) are training rows, the rest validation rows. */
  trainRows: number;
  /** [length · F] normalised model inputs, row-major. */
  inputs: Float32Array;
  /**
   * [(length + ahead) · FF] normalised futureFeatures of every model row (not differenced: the
   * values of the file row a model row ends at), the rows ahead included; empty without them.
   */
  future: Float32Array;
  /**
   * Prediction only: rows after the series' last observed row that carry only futureFeatures
   * (the rows to forecast, their other cells empty); not in `rows`, `length` or `levels`.
   */
  ahead: Int32Array;
  /** [length · G] normalised model targets, row-major. */
  targets: Float32Array;
  /** [rows.length · G] target levels in the data's units, after forward-filling. */
  levels: Float64Array;
  /** [C] the series' level id of each categorical column (0: `<unk>`, unseen in training); empty without. */
  categories: Int32Array;
}

/** Window w starts at model row starts[w] of series series[w]. */
export interface Windows {
  series: Int32Array;
  starts: Int32Array;
}

export interface SeriesData {
  meta: SeriesMeta;
  series: Series[];
  train: Windows;
  val: Windows;
}

/** Where a table's problems are reported: the CSV file and the experiment file (for keys). */
export interface Places {
  csv: string;
  experiment: string;
}


/**
 * One step's model input at out[at ..]: the features of model row `row` (from `inputs`, F per row)
 * and, after them, the futureFeatures of model row `futureRow` (from `future`, FF per row).
 */
export function stepInput(meta: Pick<SeriesMeta, 'features' | 'futureFeatures'>, inputs: ArrayLike<number>, row: number, future: ArrayLike<number>, futureRow: number, out: Float32Array, at: number): void {
  const F = meta.features.length, FF = meta.futureFeatures.length;
  for (let f = 0; f < F; f++) out[at + f] = inputs[row * F + f];
  for (let f = 0; f < FF; f++) out[at + F + f] = future[futureRow * FF + f];
}

/** Reads a CSV text (a file's bytes) with the columns the options use (every column when features are not named). */
export function readSeriesTable(input: string | Buffer, path: string, delimiter: string, opt: Pick<SeriesOptions, 'time' | 'group' | 'features' | 'targets' | 'futureFeatures' | 'categorical'>): CsvTable {
  return readCsv(input, path, delimiter, (header) => header.map((name): ColumnUse | null => {
    if (name === opt.time || name === opt.group || (opt.categorical?.includes(name) ?? false)) return 'text';
    const used = opt.features === null || opt.features.includes(name) || (opt.targets?.includes(name) ?? false) || (opt.futureFeatures?.includes(name) ?? false);
    return used ? 'number' : null;
  }));
}

/**
 * Reads the series of a table and, when `fitted` is null, fits the normalisation on its training
 * rows. `forecastOnly` (prediction, with a checkpoint's statistics): a series needs only seqLen
 * rows (no targets after them) and no window of either split is required.
 */
export function buildSeries(table: CsvTable, opt: SeriesOptions, delimiter: string, places: Places, fitted: Normalization | null = null, forecastOnly = false): SeriesData {
  const columns = chooseColumns(table, opt, places);
  const { features, targets, futureFeatures } = columns;
  const allSeries = splitIntoSeries(table, opt);
  // Prediction with futureFeatures: a series' trailing rows with only those cells are the rows to forecast.
  const aheadOf = new Map<SeriesRows, Int32Array>();
  const series = forecastOnly && futureFeatures.length > 0 ? allSeries.map((s) => {
    const observed = observedRows(table, s, [...features, ...targets]);
    aheadOf.set(s, s.rows.subarray(observed));
    return { key: s.key, rows: s.rows.subarray(0, observed) };
  }) : allSeries;
  const aheadRows = (i: number): Int32Array => aheadOf.get(allSeries[i]) ?? new Int32Array(0);
  const used = [...new Set([...features, ...targets])];
  const values = new Map(used.map((name) => [name, filledColumn(table, table.columns.get(name)!, series, opt)]));
  // Known in advance: present in the rows ahead too.
  for (const name of futureFeatures) values.set(name, filledColumn(table, table.columns.get(name)!, allSeries, opt));

  // Model-row values per column and series (differenced or not), before scaling.
  const shift = opt.difference ? 1 : 0;
  const cache = new Map<string, Float64Array[]>(); // computed once per column and series: a big file has millions of rows
  const modelValues = (name: string, s: SeriesRows): Float64Array => {
    let perSeries = cache.get(name);
    if (!perSeries) cache.set(name, (perSeries = []));
    const i = series.indexOf(s);
    if (perSeries[i]) return perSeries[i];
    const v = values.get(name)!, rows = s.rows;
    const out = new Float64Array(rows.length - shift);
    for (let r = 0; r < out.length; r++) out[r] = opt.difference ? v[rows[r + 1]] - v[rows[r]] : v[rows[r]];
    return (perSeries[i] = out);
  };
  const minRows = opt.seqLen + (forecastOnly ? 0 : opt.horizon) + shift;
  if (series.some((s) => s.rows.length === 0)) {
    const empty = series.findIndex((s) => s.rows.length === 0);
    throw inputError(places.csv, `line ${table.lines[allSeries[empty].rows[0]]}`, `${describeSeries(series[empty].key, opt)} has no row with its features and targets (only futureFeatures)`);
  }
  for (const s of series) {
    if (s.rows.length < minRows) {
      const which = describeSeries(s.key, opt);
      throw inputError(places.csv, `line ${table.lines[s.rows[0]]}`, `${which} has ${s.rows.length} rows; a window needs seqLen${forecastOnly ? '' : ' + horizon'}${opt.difference ? ' + 1 (difference)' : ''} = ${minRows}`);
    }
  }
  const splits = series.map((s) => splitRows(s.rows.length, opt.valFraction, shift));
  const categories = seriesCategories(table, opt, series, allSeries, splits, places);

  let normalization = fitted;
  if (!normalization) {
    const scales: Record<string, ColumnScale> = {};
    for (const name of [...used, ...futureFeatures]) {
      const training = new Float64Array(splits.reduce((a, b) => a + b, 0));
      let at = 0;
      series.forEach((s, i) => {
        training.set(modelValues(name, s).subarray(0, splits[i]), at);
        at += splits[i];
      });
      scales[name] = fitColumn(opt.normalize, training);
    }
    normalization = { kind: opt.normalize, columns: scales };
  }

  const F = features.length, G = targets.length, FF = futureFeatures.length;
  const built: Series[] = series.map((s, i) => {
    const ahead = aheadRows(i), length0 = s.rows.length - shift;
    // Model row r ends at file row r + shift; the rows ahead continue after the last one.
    const future = new Float32Array((length0 + ahead.length) * FF);
    futureFeatures.forEach((name, f) => {
      const v = values.get(name)!, sc = normalization.columns[name];
      for (let r = 0; r < length0 + ahead.length; r++) {
        const fileRow = r + shift < s.rows.length ? s.rows[r + shift] : ahead[r + shift - s.rows.length];
        future[r * FF + f] = scaleValue(sc, v[fileRow]);
      }
    });
    const length = s.rows.length - shift;
    const inputs = new Float32Array(length * F), targetValues = new Float32Array(length * G);
    features.forEach((name, f) => {
      const v = modelValues(name, s), sc = normalization.columns[name];
      for (let r = 0; r < length; r++) inputs[r * F + f] = scaleValue(sc, v[r]);
    });
    const levels = new Float64Array(s.rows.length * G);
    targets.forEach((name, g) => {
      const v = modelValues(name, s), sc = normalization.columns[name], raw = values.get(name)!;
      for (let r = 0; r < length; r++) targetValues[r * G + g] = scaleValue(sc, v[r]);
      for (let r = 0; r < s.rows.length; r++) levels[r * G + g] = raw[s.rows[r]];
    });
    return { key: s.key, rows: s.rows, length, trainRows: splits[i], inputs, future, ahead, targets: targetValues, levels, categories: categories.ids[i] };
  });

  const train = windows(built, opt, 'train');
  const val = windows(built, opt, 'val');
  if (!forecastOnly && train.starts.length === 0) {
    throw inputError(places.experiment, 'data.valFraction', `leaves no training window: each series' training rows must hold seqLen + horizon = ${opt.seqLen + opt.horizon} model rows`);
  }
  if (!forecastOnly && opt.valFraction > 0 && val.starts.length === 0) {
    throw inputError(places.experiment, 'data.valFraction', `leaves no validation window: the validation rows of a series must hold horizon = ${opt.horizon} rows`);
  }
  const meta: SeriesMeta = {
    task: 'series', time: opt.time, group: opt.group, features, targets, futureFeatures, seqLen: opt.seqLen, horizon: opt.horizon,
    stride: opt.stride, missing: opt.missing, difference: opt.difference, delimiter, normalization,
    quantiles: opt.quantiles ?? null, categorical: categories.meta,
  };
  return { meta, series: built, train, val };
}

/**
 * Each series' level of each categorical column, as ids into the column's level list: the
 * checkpoint's (`opt.categoryLevels`) or `<unk>` then the levels of the series with training
 * rows, sorted by code points. A level the list lacks is `<unk>` (0). A column must hold one
 * level per series (rows to forecast may leave it empty).
 */
function seriesCategories(table: CsvTable, opt: SeriesOptions, series: SeriesRows[], allSeries: SeriesRows[], splits: number[], places: Places): { ids: Int32Array[]; meta: { column: string; levels: string[] }[] } {
  const columns = opt.categorical ?? [];
  const perSeries = series.map((s, i) => columns.map((name) => {
    const cells = table.columns.get(name)!.text!, rows = allSeries[i].rows, first = s.rows[0], level = cells[first];
    for (let k = 1; k < rows.length; k++) {
      const r = rows[k], ahead = k >= s.rows.length;
      if (cells[r] === level || (ahead && cells[r].trim() === '')) continue;
      const of = s.key === null ? 'the file (one series: no data.group)' : `series ${JSON.stringify(s.key)}`;
      throw inputError(table.path, `line ${table.lines[r]}, column ${JSON.stringify(name)}`,
        `${JSON.stringify(cells[r])} differs from ${JSON.stringify(level)} on line ${table.lines[first]} of ${of}; a categorical column (data.categorical) must be constant within a series`);
    }
    return level;
  }));
  const meta = columns.map((column, c) => {
    const given = opt.categoryLevels?.[c];
    if (given) return { column, levels: given };
    const seen = new Set<string>();
    perSeries.forEach((levels, i) => { if (splits[i] > 0 && levels[c] !== UNKNOWN_LEVEL) seen.add(levels[c]); });
    // Code point order (not the locale's): the same list on every machine.
    return { column, levels: [UNKNOWN_LEVEL, ...[...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))] };
  });
  if (columns.length > 0 && !opt.categoryLevels && meta.some((m) => m.levels.length === 1)) {
    throw inputError(places.experiment, 'data.categorical', 'no series has training rows, so no level is known');
  }
  const index = meta.map((m) => new Map(m.levels.map((level, id) => [level, id])));
  const ids = perSeries.map((levels) => Int32Array.from(levels, (level, c) => index[c].get(level) ?? 0));
  return { ids, meta };
}

/**
 * Training model rows of a series of n file rows: the last ⌈valFraction·n⌉ file rows are
 * validation rows; with differencing (shift 1) model row r belongs to file row r+1.
 */
export function splitRows(n: number, valFraction: number, shift: number): number {
  const valRows = valFraction > 0 ? Math.ceil(valFraction * n) : 0;
  return Math.max(0, n - valRows - shift);
}

/**
 * The windows of a split, series by series, starts every `stride` rows: training windows from
 * row 0 while their last target is a training row; validation windows from the first start
 * whose first target is a validation row, while their last target is in the series.
 */
export function windows(series: Series[], opt: Pick<SeriesOptions, 'seqLen' | 'horizon' | 'stride' | 'outputs'>, split: 'train' | 'val' | 'all'): Windows {
  const T = opt.seqLen, h = opt.horizon;
  const seriesOf: number[] = [], starts: number[] = [];
  series.forEach((s, i) => {
    // First target row of a window at s: s+T (last) or s+1 (all); last target row: s+T−1+h.
    const firstTarget = opt.outputs === 'last' ? T : 1;
    let lo = 0, hi = s.length - T - h; // starts in [lo, hi]
    if (split === 'train') hi = Math.min(hi, s.trainRows - T - h);
    if (split === 'val') lo = Math.max(0, s.trainRows - firstTarget);
    for (let start = lo; start <= hi; start += opt.stride) {
      seriesOf.push(i);
      starts.push(start);
    }
  });
  return { series: Int32Array.from(seriesOf), starts: Int32Array.from(starts) };
}

/**
 * Forecast windows of a file for prediction: one per model row that ends a full input window
 * (stride 1), targets not needed — the forecast is of rows that may lie past the file's end.
 */
export function forecastWindows(series: Series[], seqLen: number, futureFeatures = false): Windows {
  const seriesOf: number[] = [], starts: number[] = [];
  series.forEach((s, i) => {
    // With futureFeatures the last step reads the row after the window: observed, or one ahead.
    const last = futureFeatures && s.ahead.length === 0 ? s.length - 1 : s.length;
    for (let start = 0; start + seqLen <= last; start++) {
      seriesOf.push(i);
      starts.push(start);
    }
  });
  return { series: Int32Array.from(seriesOf), starts: Int32Array.from(starts) };
}

/**
 * Forecast levels in the data's units from normalised model outputs [h·G] (step-major: output
 * k·G + g is target g, k+1 rows after the origin), for a window whose last input is model row
 * `origin` of series s. Differenced outputs are changes, summed onto the last observed level.
 */
export function toLevels(meta: SeriesMeta, s: Series, origin: number, outputs: ArrayLike<number>, out: Float64Array): void {
  const G = meta.targets.length;
  for (let g = 0; g < G; g++) {
    const sc = meta.normalization.columns[meta.targets[g]];
    let level = meta.difference ? lastLevel(meta, s, origin, g) : 0;
    for (let k = 0; k < meta.horizon; k++) {
      const v = unscaleValue(sc, outputs[k * G + g]);
      level = meta.difference ? level + v : v;
      out[k * G + g] = level;
    }
  }
}

/** The level of target g at the window's last observed row (the persistence forecast). */
export function lastLevel(meta: SeriesMeta, s: Series, origin: number, g: number): number {
  const G = meta.targets.length;
  return s.levels[(origin + (meta.difference ? 1 : 0)) * G + g];
}

/** The true level of target g, k+1 model rows after `origin` (NaN past the series' end). */
export function trueLevel(meta: SeriesMeta, s: Series, origin: number, k: number, g: number): number {
  const row = origin + k + 1 + (meta.difference ? 1 : 0);
  return row < s.rows.length ? s.levels[row * meta.targets.length + g] : NaN;
}

// ---------------------------------------------------------------------------------------------

interface SeriesRows {
  key: string | null;
  rows: Int32Array;
}

function chooseColumns(table: CsvTable, opt: SeriesOptions, places: Places): { features: string[]; targets: string[]; futureFeatures: string[] } {
  const need = (name: string, key: string): void => {
    if (!table.columns.has(name)) throw inputError(places.experiment, key, `no column ${JSON.stringify(name)} in ${table.path}${didYouMean(name, table.header)}; its columns are ${table.header.join(', ')}`);
  };
  if (opt.time !== null) need(opt.time, 'data.time');
  if (opt.group !== null) need(opt.group, 'data.group');
  const categorical = opt.categorical ?? [];
  categorical.forEach((name, i) => need(name, `data.categorical[${i}]`));
  const futureFeatures = opt.futureFeatures ?? [];
  futureFeatures.forEach((name, i) => {
    need(name, `data.futureFeatures[${i}]`);
    if (opt.features?.includes(name)) throw inputError(places.experiment, `data.futureFeatures[${i}]`, `${JSON.stringify(name)} is also in data.features; a column is read either at its own row (features) or one row ahead (futureFeatures)`);
    if (opt.targets?.includes(name)) throw inputError(places.experiment, `data.futureFeatures[${i}]`, `${JSON.stringify(name)} is also in data.targets; a column known in advance needs no forecast`);
  });
  let features: string[];
  if (opt.features !== null) {
    if (opt.features.length === 0) throw inputError(places.experiment, 'data.features', 'names no column');
    opt.features.forEach((name, i) => need(name, `data.features[${i}]`));
    features = opt.features;
  } else {
    features = table.header.filter((name) => name !== opt.time && name !== opt.group && !futureFeatures.includes(name) && !categorical.includes(name) && table.columns.get(name)?.firstNonNumeric === -1);
    if (features.length === 0) throw inputError(places.experiment, 'data.features', `${table.path} has no numeric column besides time and group`);
  }
  const targets = opt.targets ?? features;
  if (opt.targets !== null) {
    if (targets.length === 0) throw inputError(places.experiment, 'data.targets', 'names no column');
    targets.forEach((name, i) => need(name, `data.targets[${i}]`));
  }
  for (const name of [...features, ...targets, ...futureFeatures]) {
    if (name === opt.time || name === opt.group) {
      throw inputError(places.experiment, features.includes(name) ? 'data.features' : targets.includes(name) ? 'data.targets' : 'data.futureFeatures', `${JSON.stringify(name)} is the ${name === opt.time ? 'time' : 'group'} column`);
    }
    const column = table.columns.get(name)!;
    if (column.firstNonNumeric >= 0) {
      const r = column.firstNonNumeric;
      throw inputError(table.path, `line ${table.lines[r]}, column ${JSON.stringify(name)}`, `${JSON.stringify(table.cell(column, r))} is not a number`);
    }
  }
  return { features, targets, futureFeatures };
}

/** How many leading rows of a series are observed: the rest are trailing rows whose `columns` are all missing. */
function observedRows(table: CsvTable, s: SeriesRows, columns: string[]): number {
  let n = s.rows.length;
  const missing = (r: number) => columns.every((name) => Number.isNaN(table.columns.get(name)!.values![r]));
  while (n > 0 && missing(s.rows[n - 1])) n--;
  return n;
}

function describeSeries(key: string | null, opt: Pick<SeriesOptions, 'group'>): string {
  return key === null ? 'the series' : `series ${JSON.stringify(key)} (${opt.group} = ${JSON.stringify(key)})`;
}

/** Rows grouped by `group` (in order of first appearance), each in file order, time strictly increasing. */
function splitIntoSeries(table: CsvTable, opt: SeriesOptions): SeriesRows[] {
  const groupCells = opt.group === null ? null : table.columns.get(opt.group)!.text!;
  const byKey = new Map<string | null, number[]>();
  for (let r = 0; r < table.rows; r++) {
    const key = groupCells ? groupCells[r] : null;
    let rows = byKey.get(key);
    if (!rows) byKey.set(key, (rows = []));
    rows.push(r);
  }
  const series = [...byKey].map(([key, rows]) => ({ key, rows: Int32Array.from(rows) }));
  if (opt.time !== null) {
    const cells = table.columns.get(opt.time)!.text!;
    const times = parseTimes(cells, table, opt.time);
    for (const s of series) {
      for (let k = 1; k < s.rows.length; k++) {
        const r = s.rows[k], prev = s.rows[k - 1];
        if (!(times[r] > times[prev])) {
          const of = s.key === null ? '' : ` of series ${JSON.stringify(s.key)}`;
          const what = times[r] === times[prev] ? 'repeats' : 'comes before';
          throw inputError(table.path, `line ${table.lines[r]}, column ${JSON.stringify(opt.time)}`,
            `time ${JSON.stringify(cells[r])} ${what} ${JSON.stringify(cells[prev])} on line ${table.lines[prev]}${of}; time must strictly increase within a series (sort the file by time)`);
        }
      }
    }
  }
  return series;
}

/** Times as numbers: the cells' own values if all are numbers, else dates (Date.parse). */
function parseTimes(cells: string[], table: CsvTable, name: string): Float64Array {
  const out = new Float64Array(cells.length);
  const numeric = cells.every((c) => c.trim() !== '' && Number.isFinite(Number(c)));
  for (let r = 0; r < cells.length; r++) {
    const v = numeric ? Number(cells[r]) : Date.parse(cells[r]);
    if (!Number.isFinite(v)) {
      throw inputError(table.path, `line ${table.lines[r]}, column ${JSON.stringify(name)}`, `${JSON.stringify(cells[r])} is neither a number nor a date`);
    }
    out[r] = v;
  }
  return out;
}

/** A column's values with missing cells refused (missing: error) or forward-filled within each series. */
function filledColumn(table: CsvTable, column: CsvColumn, series: SeriesRows[], opt: SeriesOptions): Float64Array {
  const v = column.values!;
  if (column.firstMissing < 0) return v;
  const where = (r: number): string => `line ${table.lines[r]}, column ${JSON.stringify(column.name)}`;
  // Only the rows of the series count (prediction leaves the rows to forecast out of them).
  let firstMissing = -1;
  for (const s of series) for (const r of s.rows) if (Number.isNaN(v[r]) && (firstMissing < 0 || r < firstMissing)) firstMissing = r;
  if (firstMissing < 0) return v;
  if (opt.missing === 'error') {
    throw inputError(table.path, where(firstMissing), `missing value (${JSON.stringify(table.cell(column, firstMissing))}); set data.missing: ffill to carry the previous row's value forward`);
  }
  const out = Float64Array.from(v);
  for (const s of series) {
    for (let k = 0; k < s.rows.length; k++) {
      const r = s.rows[k];
      if (!Number.isNaN(out[r])) continue;
      if (k === 0) throw inputError(table.path, where(r), 'missing value in the first row of a series: nothing to forward-fill from');
      out[r] = out[s.rows[k - 1]];
    }
  }
  return out;
}

/** ` (did you mean "x"?)` for a misspelt column name, or ''. */
function didYouMean(name: string, header: string[]): string {
  const lower = name.toLowerCase();
  let best: string | undefined, bestDistance = name.length <= 3 ? 2 : 3;
  for (const candidate of header) {
    const d = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best === undefined ? '' : ` (did you mean ${JSON.stringify(best)}?)`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
