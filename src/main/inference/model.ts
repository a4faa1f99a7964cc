/**
 * A model from a checkpoint, on the calling thread, for Node and the browser alike (imports nothing
 * of Node, directly or through what it imports): the checkpoint's `data` metadata (SPEC §3) turns
 * new data into model input — the same columns, the training statistics, differencing — and the
 * outputs back into the data's own units and labels; a text model samples characters. Node's
 * loadModel (predict.ts) reads the file and resolves the kernels; recur/web (src/web/recur.ts)
 * decodes fetched bytes and runs wasm. Runs on the calling thread (Forward: no workers), so an app
 * can call it from a request handler.
 */
import type { CheckpointData } from '../checkpoint/checkpoint-codec.js';
import type { ColumnUse, CsvTable } from '../data/parse.js';
import type { DataMeta, SequencesMeta, SeriesMeta } from '../data/metadata.js';
import { scaleValue, unscaleValue } from '../data/normalize.js';
import { tableFromRecords, type RecordCell } from '../data/records.js';
import { middleQuantile, quantileSuffix, sortedQuantiles } from '../data/quantiles.js';
import { continueTimes } from '../data/period.js';
import type { Vocab } from '../data/dataset.js';
import { joinWords, LINE_BREAK, tokenizeWords } from '../data/word-tokens.js';
import { tokenId, vocabularyIndex } from '../data/vocabulary.js';
import { forecastRecursively, recursiveProblem } from './recursive.js';
import { buildSeries, forecastWindows, stepInput, toLevels, type Series, type SeriesOptions } from '../data/series-build.js';
import type { ResolvedKernels } from '../engine/kernel-choice.js';
import { inputError } from '../errors.js';
import { closest } from '../experiment/did-you-mean.js';
import type { Blas } from '../../shared/backends/blas.js';
import type { WorkerModel } from '../../shared/memory/views.js';
import type { ModelConfig } from '../../shared/model/model-config.js';
import type { EngineKernels } from '../../shared/memory/shared-memory.js';
import { Rng } from '../../shared/model/rng.js';
import { DEFAULT_PREDICT_BATCH, Forward, singleThreadModel } from './forward.js';

/** What a model runs on, resolved by the caller: Node's loadModel resolves the kernels for its machine, the browser runs wasm. */
export interface ModelRuntime {
  /** The kernels and why (never 'auto'). */
  kernels: ResolvedKernels;
  /** For the blas kernels: the BLAS the calling thread loaded (loadedBlas). */
  blas?: Blas | null;
  /** Sequences per forward pass (default DEFAULT_PREDICT_BATCH). */
  batch?: number;
  /** For forecastCsv: CSV text → the table of the columns asked for (Node: data/series.ts readSeriesTable). */
  readTable?: CsvTableReader;
}

/** Reads a series CSV's text into a table of the columns `opt` names (CSV parsing stays on the Node side). */
export type CsvTableReader = (text: string | Buffer, path: string, delimiter: string, opt: Pick<SeriesOptions, 'time' | 'group' | 'features' | 'targets' | 'categorical'>) => CsvTable;

/** Text generation: `length` characters after `prime`, drawn at `temperature` from the seed's stream. */
export interface TextSampleOptions {
  length: number;
  temperature: number;
  /** Text to condition on; default: a newline if the vocabulary has one, else its first character. */
  prime?: string;
  seed: number;
}

/** A series forecast made after one row: where it was made, and each target k rows ahead. */
export interface Forecast {
  /** The series (the group column's value), or null for a file of one series. */
  group: string | null;
  /** The time column's value at the forecast's last observed row, or null without a time column. */
  time: string | null;
  /** That row's position among the data rows (1 = the first row after the header). */
  row: number;
  /** `<target>_t+<k>` → the forecast k rows ahead, in the data's units (recursive: `<target>` of this row). */
  values: Record<string, number>;
  /**
   * Recursive forecasts (`steps`): which of them this is (1, 2, …); time and row are then those of
   * the row it forecasts, past the data's end.
   */
  step?: number;
}

/** How far to forecast. */
export interface ForecastOptions {
  /**
   * Forecast this many rows past each series' end, each fed back as the next row (a horizon-1
   * model whose features are its targets); absent: one forecast after every full window.
   */
  steps?: number;
  /** The name a bad `steps` is reported under (default `steps`; the CLI's `--steps`). */
  stepsName?: string;
}

/** A sequence model's answer for one sequence. */
export type Prediction =
  | { label: string | number; probs: Record<string, number> }
  | ValuePrediction;

/** Values; a quantile model adds one key per quantile, `value_q0.1`, `value_q0.5`, …, and `value` is its middle one. */
export interface ValuePrediction {
  value: number | number[];
  [quantile: `value_q${string}`]: number | number[];
}

/** One sequence as the JSONL's `x`: steps of features, plain numbers (one feature), or tokens (a token model). */
export type SequenceInput = readonly (readonly number[])[] | readonly number[] | readonly string[];

export class Model {
  /** Series and sequences models: the forward pass over windows or sequences. */
  private readonly forward: Forward | null;
  /** Text models: the one-step network sampling feeds, made on first use and kept. */
  private sampler: WorkerModel | null = null;

  private constructor(
    /** The checkpoint's file or URL, for messages. */
    readonly path: string,
    readonly cfg: ModelConfig,
    /** Series and sequences models: what prediction needs besides the weights; null for a text model. */
    readonly meta: DataMeta | null,
    /** Text models: the characters (a string) or word tokens (an array) in index order; else null. */
    readonly vocab: Vocab | null,
    /** Word models: the text is lowercased before it is tokenised. */
    readonly lowercase: boolean,
    private readonly params: Float32Array,
    /** The kernels this model runs on and why (describeKernels says it in a line). */
    readonly resolvedKernels: ResolvedKernels,
    private readonly blas: Blas | null,
    batch: number,
    private readonly readTable: CsvTableReader | null,
  ) {
    const loss = meta?.task === 'sequences' && meta.target === 'class' ? 'ce' : 'mse';
    this.forward = meta ? new Forward(cfg, params, loss, resolvedKernels.kernels, batch, blas) : null;
  }

  /**
   * A decoded checkpoint (Node: loadCheckpoint; a browser: decodeCheckpoint of fetched bytes) on
   * `runtime`'s kernels: a series or sequences model predicts, a text model samples.
   */
  static fromCheckpoint(ck: CheckpointData, path: string, runtime: ModelRuntime): Model {
    return new Model(path, ck.cfg, ck.data ?? null, ck.vocab ?? null, ck.lowercase ?? false, ck.params, runtime.kernels, runtime.blas ?? null, runtime.batch ?? DEFAULT_PREDICT_BATCH, runtime.readTable ?? null);
  }

  /** The kernels in use. */
  get kernels(): EngineKernels {
    return this.resolvedKernels.kernels;
  }

  /** The data metadata prediction needs; a text model has none (bad input). */
  dataMeta(): DataMeta {
    if (!this.meta) {
      throw inputError(this.path, '__metadata__.data', 'the checkpoint has no data metadata: only a model trained on data.task series or sequences can predict (text models: recur sample)');
    }
    return this.meta;
  }

  /**
   * Output column names of a series model, target by target: `co2_t+1`, `co2_t+2`, … and, for a
   * quantile model, one per quantile of each: `co2_t+1_q0.1`, `co2_t+1_q0.5`, …
   */
  get forecastColumns(): string[] {
    const meta = this.seriesMeta('forecastColumns');
    const suffixes = meta.quantiles ? meta.quantiles.map(quantileSuffix) : [''];
    return meta.targets.flatMap((name) => Array.from({ length: meta.horizon }, (_, k) => suffixes.map((q) => `${name}_t+${k + 1}${q}`)).flat());
  }

  /**
   * Sequence models: a label with class probabilities, or value(s), for each sequence (its steps
   * in the data's units; the lengths may differ).
   */
  predict(sequences: readonly SequenceInput[]): Prediction[] {
    const meta = this.sequencesMeta('predict');
    if (meta.vocabulary) {
      const index = vocabularyIndex(meta.vocabulary);
      return this.forward!.run(sequences.map((x, i) => tokenIds(index, x, i))).map((y) => this.answer(meta, y));
    }
    const F = meta.features.length;
    const scales = meta.features.map((name) => meta.normalization.columns[name]);
    const inputs = sequences.map((x, i) => {
      const steps = x as readonly (number | readonly number[])[];
      if (!Array.isArray(steps) || steps.length === 0) throw inputError('sequences', `[${i}]`, 'must be a non-empty list of steps');
      const out = new Float32Array(steps.length * F);
      steps.forEach((step, t) => {
        const values = typeof step === 'number' ? [step] : step;
        if (!Array.isArray(values) || values.length !== F) {
          throw inputError('sequences', `[${i}][${t}]`, `the model reads ${F} feature${F === 1 ? '' : 's'} per step, got ${Array.isArray(values) ? values.length : JSON.stringify(step)}`);
        }
        for (let f = 0; f < F; f++) {
          const v = values[f];
          if (typeof v !== 'number' || !Number.isFinite(v)) throw inputError('sequences', `[${i}][${t}][${f}]`, `${JSON.stringify(v)} is not a number`);
          out[t * F + f] = scaleValue(scales[f], v);
        }
      });
      return out;
    });
    return this.forward!.run(inputs).map((y) => this.answer(meta, y));
  }

  /**
   * Series models: the forecast after the last row of every series in `rows` (objects with the
   * checkpoint's columns, in time order or with its time column), e.g. the latest months a
   * request sends. A series needs at least seqLen rows (seqLen + 1 with differencing).
   */
  forecast(rows: readonly Record<string, RecordCell>[], opt: ForecastOptions = {}): Forecast[] {
    const table = tableFromRecords(rows, 'rows', (header) => this.uses(header));
    if (opt.steps !== undefined) return this.recursiveForecasts(table, opt);
    const all = this.forecastTable(table);
    // The last forecast of each series is the one made after its last row.
    const last = new Map<string | null, Forecast>();
    for (const f of all) last.set(f.group, f);
    return [...last.values()];
  }

  /** Series models: a forecast after every full input window of a CSV file's text (what `recur predict` writes). */
  forecastCsv(text: string | Buffer, path: string, opt: ForecastOptions = {}): Forecast[] {
    const meta = this.seriesMeta('forecastCsv');
    if (!this.readTable) throw new Error('forecastCsv: this runtime reads no CSV (in a browser, pass the rows to forecast)');
    if (opt.steps !== undefined) this.checkRecursive(meta, opt);
    const table = this.readTable(text, path, meta.delimiter, this.options(meta));
    return opt.steps !== undefined ? this.recursiveForecasts(table, opt) : this.forecastTable(table);
  }

  /** Column names of recursive forecasts: each target, with a quantile model one per quantile (`co2_q0.1`, …). */
  get recursiveColumns(): string[] {
    const meta = this.seriesMeta('recursiveColumns');
    const suffixes = meta.quantiles ? meta.quantiles.map(quantileSuffix) : [''];
    return meta.targets.flatMap((name) => suffixes.map((q) => `${name}${q}`));
  }

  /** A positive whole number of steps, for a model that can read its own forecasts back. */
  private checkRecursive(meta: SeriesMeta, opt: ForecastOptions): void {
    const name = opt.stepsName ?? 'steps', steps = opt.steps;
    if (typeof steps !== 'number' || !Number.isSafeInteger(steps) || steps < 1) throw inputError(name, null, `expected a positive integer, got ${String(steps)}`);
    const problem = recursiveProblem(meta);
    if (problem !== null) throw inputError(name, null, `${problem} (model ${this.path})`);
  }

  private recursiveForecasts(table: CsvTable, opt: ForecastOptions): Forecast[] {
    const meta = this.seriesMeta('forecast');
    this.checkRecursive(meta, opt);
    const steps = opt.steps!;
    this.checkColumns(table.header, table.path);
    const data = buildSeries(table, this.options(meta), meta.delimiter, { csv: table.path, experiment: this.path }, meta.normalization, true);
    const timeCells = meta.time === null ? null : table.columns.get(meta.time)!.text!;
    const stepsName = opt.stepsName ?? 'steps';
    if (meta.futureFeatures.length > 0) {
      // The rows forecast are in the data, with their known covariates (and their times).
      const short = data.series.find((s) => s.ahead.length < steps);
      if (short) {
        const which = short.key === null ? 'the series' : `series ${JSON.stringify(short.key)}`;
        throw inputError(table.path, stepsName, `${which} has ${short.ahead.length} row${short.ahead.length === 1 ? '' : 's'} after its last observed one; forecasting ${steps} needs the futureFeatures (${meta.futureFeatures.join(', ')}) of ${steps} rows there, their other cells empty`);
      }
    }
    const times = data.series.map((s) => {
      if (!timeCells) return null;
      if (meta.futureFeatures.length > 0) return Array.from(s.ahead.subarray(0, steps), (r) => timeCells[r]);
      const next = continueTimes(Array.from(s.rows, (r) => timeCells[r]), steps);
      if ('problem' in next) {
        const which = s.key === null ? 'the series' : `series ${JSON.stringify(s.key)}`;
        throw inputError(table.path, `column ${JSON.stringify(meta.time)}`, `${which}: ${next.problem}, so its forecast rows cannot be dated (${stepsName})`);
      }
      return next.times;
    });
    const levels = forecastRecursively(meta, data.series, steps, (windows) => this.forward!.run(windows, data.series.map((s) => s.categories)));
    const columns = this.recursiveColumns;
    return data.series.flatMap((s, i) => levels[i].map((row, k) => {
      const values: Record<string, number> = {};
      columns.forEach((name, o) => { values[name] = row[o]; });
      const lastRow = s.rows[s.rows.length - 1] + 1;
      return { group: s.key, time: times[i]?.[k] ?? null, row: k < s.ahead.length ? s.ahead[k] + 1 : lastRow + k + 1, step: k + 1, values };
    }));
  }

  private forecastTable(table: CsvTable): Forecast[] {
    const meta = this.seriesMeta('forecast');
    this.checkColumns(table.header, table.path);
    const opt = this.options(meta);
    const data = buildSeries(table, opt, meta.delimiter, { csv: table.path, experiment: this.path }, meta.normalization, true);
    const windows = forecastWindows(data.series, meta.seqLen, meta.futureFeatures.length > 0);
    const T = meta.seqLen, G = meta.targets.length, shift = meta.difference ? 1 : 0;
    const inputs = Array.from(windows.starts, (start, w) => windowInputs(meta, data.series[windows.series[w]], start));
    const outputs = this.forward!.run(inputs, Array.from(windows.series, (i) => data.series[i].categories));
    const timeCells = meta.time === null ? null : table.columns.get(meta.time)!.text!;
    const Q = meta.quantiles?.length ?? 1, suffixes = meta.quantiles ? meta.quantiles.map(quantileSuffix) : [''];
    const sorted = new Float64Array(G * meta.horizon * Q), outputsOfQuantile = new Float64Array(G * meta.horizon);
    const levels = new Float64Array(G * meta.horizon);
    return outputs.map((y, w) => {
      const s = data.series[windows.series[w]], origin = windows.starts[w] + T - 1;
      // Sorted, so the quantiles of a value never cross.
      sortedQuantiles(y, 0, G * meta.horizon, Q, sorted);
      const fileRow = s.rows[origin + shift];
      const values: Record<string, number> = {};
      for (let q = 0; q < Q; q++) {
        for (let o = 0; o < G * meta.horizon; o++) outputsOfQuantile[o] = sorted[o * Q + q];
        toLevels(meta, s, origin, outputsOfQuantile, levels);
        meta.targets.forEach((name, g) => {
          for (let k = 0; k < meta.horizon; k++) values[`${name}_t+${k + 1}${suffixes[q]}`] = levels[k * G + g];
        });
      }
      return { group: s.key, time: timeCells ? timeCells[fileRow] : null, row: fileRow + 1, values };
    });
  }

  /** The columns the model reads, each named in the data (else bad input with a did-you-mean). */
  private checkColumns(header: string[], path: string): void {
    const meta = this.seriesMeta('forecast');
    const needed = [meta.time, meta.group, ...meta.features, ...meta.targets, ...meta.futureFeatures, ...categoricalColumns(meta)].filter((c): c is string => c !== null);
    for (const name of new Set(needed)) {
      if (header.includes(name)) continue;
      const guess = closest(name, header);
      throw inputError(path, 'line 1', `no column ${JSON.stringify(name)}${guess === undefined ? '' : ` (did you mean ${JSON.stringify(guess)}?)`}; the model ${this.path} reads ${[...new Set(needed)].join(', ')}; the file has ${header.join(', ')}`);
    }
  }

  private uses(header: string[]): (ColumnUse | null)[] {
    const meta = this.seriesMeta('forecast');
    const numbers = [...meta.features, ...meta.targets, ...meta.futureFeatures];
    const texts = [meta.time, meta.group, ...categoricalColumns(meta)];
    return header.map((name) => (texts.includes(name) ? 'text' : numbers.includes(name) ? 'number' : null));
  }

  private options(meta: SeriesMeta): SeriesOptions {
    return {
      time: meta.time, group: meta.group, features: meta.features, targets: meta.targets, futureFeatures: meta.futureFeatures, seqLen: meta.seqLen,
      horizon: meta.horizon, stride: 1, valFraction: 0, normalize: meta.normalization.kind, missing: meta.missing,
      difference: meta.difference, outputs: this.cfg.outputs, quantiles: meta.quantiles,
      ...categoryOptions(meta),
    };
  }

  private answer(meta: SequencesMeta, y: Float32Array): Prediction {
    if (meta.target === 'class') {
      const labels = meta.labels!;
      let max = -Infinity, sum = 0, best = 0;
      for (let k = 0; k < y.length; k++) max = Math.max(max, y[k]);
      const e = Array.from(y, (v) => Math.exp(v - max));
      for (const v of e) sum += v;
      const probs: Record<string, number> = {};
      e.forEach((v, k) => {
        probs[String(labels[k])] = Number((v / sum).toPrecision(6)); // float32 outputs: six digits are all there is
        if (v > e[best]) best = k;
      });
      return { label: labels[best], probs };
    }
    if (meta.quantiles) {
      // The point forecast (the middle quantile) and one key per quantile, sorted so they never cross.
      const Q = meta.quantiles.length, sorted = sortedQuantiles(y, 0, meta.targets.length, Q, new Float64Array(y.length));
      const at = (q: number): number | number[] => {
        const values = meta.targets.map((name, g) => unscaleValue(meta.normalization.columns[name], sorted[g * Q + q]));
        return meta.scalarTarget ? values[0] : values;
      };
      const answer: ValuePrediction = { value: at(middleQuantile(meta.quantiles)) };
      meta.quantiles.forEach((level, q) => { answer[`value${quantileSuffix(level)}` as `value_q${string}`] = at(q); });
      return answer;
    }
    const values = meta.targets.map((name, k) => unscaleValue(meta.normalization.columns[name], y[k]));
    return { value: meta.scalarTarget ? values[0] : values };
  }

  private seriesMeta(what: string): SeriesMeta {
    const meta = this.dataMeta();
    if (meta.task !== 'series') throw inputError(this.path, '__metadata__.data.task', `${what} needs a series model; this one is a ${meta.task} model (use predict)`);
    return meta;
  }

  private sequencesMeta(what: string): SequencesMeta {
    const meta = this.dataMeta();
    if (meta.task !== 'sequences') throw inputError(this.path, '__metadata__.data.task', `${what} needs a sequences model; this one is a ${meta.task} model (use forecast)`);
    return meta;
  }

  /**
   * Text models: `length` characters (or words) generated after `prime`, one step at a time with
   * the state carried (what `recur sample` prints after the prime: words joined as joinWords
   * would join them after the prime's). The same seed gives the same text, here and in a browser.
   */
  sample(opt: TextSampleOptions): string {
    const { symbols, primeIds: ids, words } = checkSampling(this.vocab, this.cfg, this.path, opt, this.lowercase);
    const generated: string[] = [];
    const cfg = this.cfg;
    this.sampler ??= singleThreadModel({ cfg, loss: 'ce', input: 'onehot', seqLen: 1, batch: 1, kernels: this.kernels }, this.params, this.blas).model;
    const { net, params, shard } = this.sampler;
    const token = shard.tokens!;
    const rng = new Rng(opt.seed, 9);
    const weights = new Float64Array(cfg.outputSize);
    let first = true;
    const feed = (id: number): void => {
      token[0] = id;
      net.forward(params, shard, 1, { teacherForcing: false, gradScale: null, carryState: !first });
      first = false;
    };
    for (const id of ids) feed(id);
    for (let i = 0; i < opt.length; i++) {
      let max = -Infinity;
      for (let o = 0; o < cfg.outputSize; o++) max = Math.max(max, net.y[o] / opt.temperature);
      let sum = 0;
      for (let o = 0; o < cfg.outputSize; o++) sum += (weights[o] = Math.exp(net.y[o] / opt.temperature - max));
      let r = rng.uniform() * sum, next = cfg.outputSize - 1;
      for (let o = 0; o < cfg.outputSize; o++) {
        r -= weights[o];
        if (r < 0) { next = o; break; }
      }
      generated.push(symbols[next]!);
      feed(next);
    }
    if (!words) return generated.join('');
    const primeTokens = ids.map((id) => symbols[id]!);
    return joinWords([...primeTokens, ...generated]).slice(joinWords(primeTokens).length);
  }
}


/** What sampling reads and writes: the symbols in index order, the prime's ids, and whether they are words. */
export interface SamplingPlan {
  symbols: readonly string[];
  primeIds: number[];
  /** Word tokens: joined with joinWords; characters: concatenated. */
  words: boolean;
}

/**
 * Why `opt` cannot sample from a model (bad input), else what it samples over: a text model that
 * predicts the next symbol at every step, a positive temperature, a prime in the vocabulary (a
 * word model reads a word it lacks as `<unk>`). The default prime is a line break if the
 * vocabulary has one, else its first symbol.
 */
export function checkSampling(vocabulary: Vocab | null | undefined, cfg: ModelConfig, file: string, opt: TextSampleOptions, lowercase = false): SamplingPlan {
  if (vocabulary === null || vocabulary === undefined) throw inputError(file, 'config.vocab', 'the checkpoint has no vocabulary; sampling needs a text model');
  const words = typeof vocabulary !== 'string';
  const symbols = words ? vocabulary : Array.from(vocabulary);
  if (cfg.outputs !== 'all' || cfg.outputSize !== symbols.length) throw inputError(file, 'config.outputs', `sampling needs a model that predicts the next ${words ? 'word' : 'character'} at every step`);
  if (!(opt.temperature > 0)) throw inputError('--temperature', null, `must be positive, got ${opt.temperature}`);
  const fallback = symbols.includes(LINE_BREAK) ? LINE_BREAK : symbols[0]!;
  if (words) {
    const index = vocabularyIndex(symbols);
    const tokens = opt.prime === undefined ? [] : tokenizeWords(opt.prime, lowercase);
    return { symbols, primeIds: (tokens.length > 0 ? tokens : [fallback]).map((token) => tokenId(index, token)), words };
  }
  const prime = Array.from(opt.prime ?? fallback);
  for (const ch of prime) {
    if (!symbols.includes(ch)) throw inputError('--prime', null, `character ${JSON.stringify(ch)} is not in the model's vocabulary`);
  }
  return { symbols, primeIds: prime.map((ch) => symbols.indexOf(ch)), words };
}

/** The categorical columns a series model reads (each series' level). */
function categoricalColumns(meta: SeriesMeta): string[] {
  return meta.categorical.map((c) => c.column);
}

/** Series options for the categorical columns: the checkpoint's level lists, so an unseen level reads as `<unk>`. */
function categoryOptions(meta: SeriesMeta): Pick<SeriesOptions, 'categorical' | 'categoryLevels'> {
  return meta.categorical.length > 0 ? { categorical: categoricalColumns(meta), categoryLevels: meta.categorical.map((c) => c.levels) } : {};
}

/** A token sequence's vocabulary ids; tokens the vocabulary lacks read as `<unk>`, as in training. */
function tokenIds(index: ReadonlyMap<string, number>, x: SequenceInput, i: number): Int32Array {
  if (!Array.isArray(x) || x.length === 0) throw inputError('sequences', `[${i}]`, 'must be a non-empty list of steps');
  return Int32Array.from(x as unknown[], (token, t) => {
    if (typeof token !== 'string') throw inputError('sequences', `[${i}][${t}]`, `the model reads tokens (strings), got ${JSON.stringify(token)}`);
    return tokenId(index, token);
  });
}

/** The model input of the window of series s starting at model row `start`: [seqLen · (F + FF)]. */
function windowInputs(meta: SeriesMeta, s: Series, start: number): Float32Array {
  const In = meta.features.length + meta.futureFeatures.length, out = new Float32Array(meta.seqLen * In);
  for (let t = 0; t < meta.seqLen; t++) stepInput(meta, s.inputs, start + t, s.future, start + t + 1, out, t * In);
  return out;
}
