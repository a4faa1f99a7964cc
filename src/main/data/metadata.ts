/**
 * The checkpoint's `data` metadata (SPEC §3): everything besides the weights that turns a data
 * file into model input and model output back into the data's own units and labels — column
 * names, normalisation statistics (fitted on training rows only), the label list, differencing.
 * A checkpoint alone then predicts; a text or synthetic model has none.
 *
 * Stored as the JSON string `__metadata__.data`; decoding checks every field, so a hand-edited
 * or foreign file fails with `<file>: __metadata__.data.<key>: <problem>` rather than later.
 */
import { inputError } from '../errors.js';
import type { ColumnScale, Normalization, NormalizeKind } from './normalize.js';

/** `series`: windows of CSV rows (SPEC §4). */
export interface SeriesMeta {
  task: 'series';
  /** Column that orders the rows, or null (file order). */
  time: string | null;
  /** Column naming the series of a row, or null (one series). */
  group: string | null;
  /** Input columns, in model input order. */
  features: string[];
  /** Predicted columns; output k·G + g is target g, k+1 rows after the window (step-major). */
  targets: string[];
  seqLen: number;
  horizon: number;
  stride: number;
  missing: 'error' | 'ffill';
  /** The model reads and predicts changes from the previous row; levels are summed back. */
  difference: boolean;
  delimiter: string;
  /** Per feature and target column (of the differenced values when `difference`). */
  normalization: Normalization;
}

/** `sequences`: labelled sequences from JSON Lines (SPEC §4). */
export interface SequencesMeta {
  task: 'sequences';
  /** `x0`, `x1`, …: one per feature of a step (a line's `x` of plain numbers is one feature). */
  features: string[];
  /** class: `['y']`; value: `y0`, `y1`, … one per output. */
  targets: string[];
  target: 'class' | 'value';
  /** class: the labels in index order (output k is labels[k]), sorted; value: null. */
  labels: (string | number)[] | null;
  /** value: every line's `y` was a plain number (predictions are written as one too). */
  scalarTarget: boolean;
  /** Per feature (and, for values, per target) column name. */
  normalization: Normalization;
}

export type DataMeta = SeriesMeta | SequencesMeta;

const KEY = '__metadata__.data';
const NORMALIZE_KINDS: readonly NormalizeKind[] = ['zscore', 'minmax', 'none'];

export function encodeDataMeta(meta: DataMeta): string {
  return JSON.stringify(meta);
}

/** Parses and checks `__metadata__.data` of checkpoint `file`. */
export function decodeDataMeta(text: string, file: string): DataMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw inputError(file, KEY, `not valid JSON (${(err as Error).message})`);
  }
  const r = new Reader(raw, file, KEY);
  const task = r.choice('task', ['series', 'sequences'] as const);
  const features = r.names('features');
  if (task === 'series') {
    const targets = r.names('targets');
    const meta: SeriesMeta = {
      task,
      time: r.nullableString('time'),
      group: r.nullableString('group'),
      features,
      targets,
      seqLen: r.positiveInt('seqLen'),
      horizon: r.positiveInt('horizon'),
      stride: r.positiveInt('stride'),
      missing: r.choice('missing', ['error', 'ffill'] as const),
      difference: r.boolean('difference'),
      delimiter: r.string('delimiter'),
      normalization: r.normalization('normalization', [...features, ...targets]),
    };
    r.only(Object.keys(meta));
    return meta;
  }
  const target = r.choice('target', ['class', 'value'] as const);
  const targets = r.names('targets');
  const labels = target === 'class' ? r.labels('labels') : r.nothing('labels');
  const meta: SequencesMeta = {
    task,
    features,
    targets,
    target,
    labels,
    scalarTarget: r.boolean('scalarTarget'),
    normalization: r.normalization('normalization', target === 'value' ? [...features, ...targets] : features),
  };
  r.only(Object.keys(meta));
  return meta;
}

/** Reads checked fields of one JSON object, naming `<key>.<field>` in its errors. */
class Reader {
  private readonly obj: Record<string, unknown>;

  constructor(raw: unknown, private readonly file: string, private readonly key: string) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw inputError(file, key, 'must be a JSON object');
    this.obj = raw as Record<string, unknown>;
  }

  private fail(field: string, problem: string): never {
    throw inputError(this.file, `${this.key}.${field}`, problem);
  }

  private got(field: string): string {
    const v = this.obj[field];
    return v === undefined ? 'nothing' : JSON.stringify(v);
  }

  choice<const C extends readonly string[]>(field: string, choices: C): C[number] {
    const v = this.obj[field];
    if (!choices.includes(v as string)) this.fail(field, `must be one of ${choices.join(', ')}, got ${this.got(field)}`);
    return v as C[number];
  }

  string(field: string): string {
    const v = this.obj[field];
    if (typeof v !== 'string' || v === '') this.fail(field, `must be a non-empty string, got ${this.got(field)}`);
    return v;
  }

  nullableString(field: string): string | null {
    return this.obj[field] === null ? null : this.string(field);
  }

  boolean(field: string): boolean {
    const v = this.obj[field];
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${this.got(field)}`);
    return v;
  }

  positiveInt(field: string): number {
    const v = this.obj[field];
    if (!Number.isSafeInteger(v) || (v as number) < 1) this.fail(field, `must be a positive integer, got ${this.got(field)}`);
    return v as number;
  }

  /** A non-empty list of distinct non-empty names. */
  names(field: string): string[] {
    const v = this.obj[field];
    if (!Array.isArray(v) || v.length === 0 || v.some((n) => typeof n !== 'string' || n === '')) {
      this.fail(field, `must be a non-empty list of names, got ${this.got(field)}`);
    }
    if (new Set(v).size !== v.length) this.fail(field, 'names a column twice');
    return v as string[];
  }

  /** Class labels: distinct strings or numbers. */
  labels(field: string): (string | number)[] {
    const v = this.obj[field];
    if (!Array.isArray(v) || v.length < 1 || v.some((l) => typeof l !== 'string' && !(typeof l === 'number' && Number.isFinite(l)))) {
      this.fail(field, `must be a non-empty list of labels (strings or numbers), got ${this.got(field)}`);
    }
    if (new Set(v).size !== v.length) this.fail(field, 'has a repeated label');
    return v as (string | number)[];
  }

  nothing(field: string): null {
    if (this.obj[field] !== null && this.obj[field] !== undefined) this.fail(field, `must be null for this target, got ${this.got(field)}`);
    return null;
  }

  /** `{kind, columns: {name: {shift, scale}}}` covering exactly `columns`. */
  normalization(field: string, columns: string[]): Normalization {
    const r = new Reader(this.obj[field], this.file, `${this.key}.${field}`);
    const kind = r.choice('kind', NORMALIZE_KINDS);
    const scales = new Reader(r.obj.columns, this.file, `${this.key}.${field}.columns`);
    const out: Record<string, ColumnScale> = {};
    for (const name of columns) {
      const s = new Reader(scales.obj[name], this.file, `${this.key}.${field}.columns.${name}`);
      const shift = s.obj.shift, scale = s.obj.scale;
      if (typeof shift !== 'number' || !Number.isFinite(shift)) s.fail('shift', `must be a finite number, got ${s.got('shift')}`);
      if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) s.fail('scale', `must be a positive number, got ${s.got('scale')}`);
      s.only(['shift', 'scale']);
      out[name] = { shift: shift as number, scale: scale as number };
    }
    scales.only(columns);
    r.only(['kind', 'columns']);
    return { kind, columns: out };
  }

  /** Refuses fields besides `known`. */
  only(known: string[]): void {
    for (const field of Object.keys(this.obj)) {
      if (!known.includes(field)) this.fail(field, `unknown key (expected ${known.join(', ')})`);
    }
  }
}

/** The model's input and output sizes the metadata implies (checked against the checkpoint's config). */
export function metaSizes(meta: DataMeta): { inputSize: number; outputSize: number } {
  const inputSize = meta.features.length;
  if (meta.task === 'series') return { inputSize, outputSize: meta.targets.length * meta.horizon };
  return { inputSize, outputSize: meta.target === 'class' ? meta.labels!.length : meta.targets.length };
}
