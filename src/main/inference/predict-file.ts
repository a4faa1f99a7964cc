/**
 * `recur predict`: a data file in, predictions out (SPEC §5) — for a series model a CSV with the
 * group and time (or row) of each forecast and one column per target and step ahead; for a
 * sequences model JSON Lines with `label` and `probs`, or `value`. All of the input is read and
 * predicted before anything is written, so bad input writes nothing; a file is written atomically.
 */
import { writeFileAtomic } from '../atomic-write.js';
import { decodeText, readDataFile, readJsonLines } from '../data/read.js';
import { inputError } from '../errors.js';
import { describeKernels } from '../engine/kernel-choice.js';
import { loadModelSync, type Forecast, type Model, type ModelOptions, type Prediction, type SequenceInput } from './predict.js';

export interface PredictFileOptions extends ModelOptions {
  /** A file to write, or '-' / undefined for the returned text only (the CLI prints it). */
  out?: string;
  /** The line naming the kernels and why (the CLI prints it on stderr). */
  onNotice?: (line: string) => void;
  /** Series models: forecast this many rows past each series' end, recursively (`--steps`). */
  steps?: number;
}

/** Predicts every window or sequence of `dataPath` with the checkpoint; returns the text written. */
export function predictFile(checkpoint: string, dataPath: string, opt: PredictFileOptions = {}): string {
  const model = loadModelSync(checkpoint, opt);
  const meta = model.dataMeta(); // a text model: bad input before the data file is read
  if (opt.steps !== undefined && meta.task !== 'series') throw inputError('--steps', null, `only for a series model; ${checkpoint} is a ${meta.task} model`);
  const bytes = readDataFile(dataPath);
  if (decodeText(bytes).trim() === '') throw inputError(dataPath, 'line 1', 'the file is empty');
  const recursive = { steps: opt.steps, stepsName: '--steps' };
  const text = meta.task === 'series'
    ? forecastsCsv(model, model.forecastCsv(bytes, dataPath, recursive), opt.steps !== undefined ? model.recursiveColumns : model.forecastColumns)
    : predictionsJsonl(model.predict(parseSequenceInputs(bytes, dataPath)));
  // After the input is read: bad input says only its error.
  opt.onNotice?.(`predicted with kernels ${describeKernels(model.resolvedKernels)}`);
  if (opt.out !== undefined && opt.out !== '-') writeFileAtomic(opt.out, Buffer.from(text));
  return text;
}

/**
 * The CSV `recur predict` writes for forecasts: group, time (else row), then the forecast
 * columns; recursive forecasts (`--steps`) add `step` after the time of the row each forecasts.
 */
export function forecastsCsv(model: Model, forecasts: Forecast[], columns: string[] = model.forecastColumns): string {
  const meta = model.meta?.task === 'series' ? model.meta : null;
  const stepped = forecasts.some((f) => f.step !== undefined);
  const header = [...(meta?.group ? [meta.group] : []), meta?.time ?? 'row', ...(stepped ? ['step'] : []), ...columns];
  const lines = [header.map(csvCell).join(',')];
  for (const f of forecasts) {
    const where = [...(meta?.group ? [f.group ?? ''] : []), meta?.time ? f.time ?? '' : String(f.row), ...(stepped ? [String(f.step)] : [])];
    lines.push([...where.map(csvCell), ...columns.map((c) => formatPrediction(f.values[c]))].join(','));
  }
  return lines.join('\n') + '\n';
}

/** One JSON object per line, in input order. */
export function predictionsJsonl(predictions: Prediction[]): string {
  return predictions.map((p) => JSON.stringify(p)).join('\n') + (predictions.length ? '\n' : '');
}

/** Seven significant digits: what a float32 network's output carries. */
export function formatPrediction(v: number): string {
  return String(Number(v.toPrecision(7)));
}

function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The `x` of every line of a JSON Lines text (`y`, if present, is not needed to predict). */
function parseSequenceInputs(input: Buffer, path: string): SequenceInput[] {
  const out: SequenceInput[] = [];
  for (const { line, value } of readJsonLines(input, path)) {
    const x = (value as { x?: unknown } | null)?.x;
    if (!Array.isArray(x)) throw inputError(path, `line ${line}`, 'needs "x": a list of steps');
    out.push(x as SequenceInput);
  }
  return out;
}
