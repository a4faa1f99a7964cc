/**
 * The checkpoint's `data` metadata (SPEC §3): everything besides the weights that turns a data
 * file into model input and model output back into the data's own units and labels — column
 * names, normalisation statistics (fitted on training rows only), the label list, differencing.
 * A checkpoint alone then predicts; a text or synthetic model has none.
 *
 * Stored as the JSON string `__metadata__.data`; decoding checks every field, so a hand-edited
 * or foreign file fails with `<file>: __metadata__.data.<key>: <problem>` rather than later.
 */
import * as z from 'zod';
import { inputError } from '../errors.js';
import { MISSING_POLICIES, NORMALIZE_KINDS } from '../experiment/options.js';
import { distinct, firstIssueError, metadataSchemas as must, mustBe, mustBeError } from '../experiment/schema-blocks.js';

/** `{kind, columns: {name: {shift, scale}}}`: per column x' = (x − shift) / scale. */
const normalizationSchema = must.section({
  kind: must.oneOf(NORMALIZE_KINDS),
  columns: z.record(z.string(), must.section({ shift: must.finiteNumber(), scale: must.positiveNumber() }), { error: 'must be a JSON object' }),
});

const QUANTILES = 'null or a non-empty ascending list of numbers in (0, 1)';
const quantileLevels = z
  .array(z.number(mustBeError(QUANTILES)).gt(0, mustBeError(QUANTILES)).lt(1, mustBeError(QUANTILES)), mustBeError(QUANTILES))
  .min(1, mustBeError(QUANTILES))
  .refine((list) => list.every((q, i) => i === 0 || q > list[i - 1]!), { error: (issue) => mustBe(QUANTILES, issue.input) });
const quantilesSchema = quantileLevels.nullable().default(null);

const LEVELS = "a list of distinct levels, '<unk>' first";
const categoricalLevelsSchema = must.section({
  column: must.nonEmptyString(),
  levels: z
    .array(z.string(mustBeError('a string')), mustBeError(LEVELS))
    .refine((levels) => levels[0] === '<unk>' && distinct(levels), { error: (issue) => mustBe(LEVELS, issue.input) }),
});

/** `series`: windows of CSV rows (SPEC §4). */
const seriesMetaSchema = must
  .section({
    task: z.literal('series'),
    /** Column that orders the rows, or null (file order). */
    time: must.nonEmptyString().nullable(),
    /** Column naming the series of a row, or null (one series). */
    group: must.nonEmptyString().nullable(),
    /** Input columns, in model input order. */
    features: must.names(),
    /** Predicted columns; output k·G + g is target g, k+1 rows after the window (step-major). */
    targets: must.names(),
    /** Columns known in advance, model inputs after the features, read one row ahead. */
    futureFeatures: z.array(must.nonEmptyString(), mustBeError('a list of names')).refine(distinct, 'names a column twice').default([]),
    seqLen: must.positiveInt(),
    horizon: must.positiveInt(),
    stride: must.positiveInt(),
    missing: must.oneOf(MISSING_POLICIES),
    /** The model reads and predicts changes from the previous row; levels are summed back. */
    difference: must.boolean(),
    delimiter: must.nonEmptyString(),
    /** Per feature and target column (of the differenced values when `difference`). */
    normalization: normalizationSchema,
    /** train.loss quantile: the levels, ascending; output (k·G + g)·Q + q. null: one output per value. */
    quantiles: quantilesSchema,
    /** data.categorical: per column, its levels in embedding row order, `<unk>` first (levels unseen in training). */
    categorical: z.array(categoricalLevelsSchema, mustBeError('a list of {column, levels}')).default([]),
  })
  .superRefine((meta, ctx) => checkScaledColumns(meta.normalization, [...meta.features, ...meta.targets, ...meta.futureFeatures], ctx));

const LABELS = 'a non-empty list of labels (strings or numbers)';
const VOCABULARY = 'a non-empty list of tokens (strings) in index order';

/** `sequences`: labelled sequences from JSON Lines (SPEC §4). */
const sequencesMetaSchema = must
  .section({
    task: z.literal('sequences'),
    /** `x0`, `x1`, …: one per feature of a step (a line's `x` of plain numbers is one feature). */
    features: must.names(),
    /** class: `['y']`; value: `y0`, `y1`, … one per output. */
    targets: must.names(),
    target: must.oneOf(['class', 'value']),
    /** class: the labels in index order (output k is labels[k]), sorted; value: null. */
    labels: z
      .array(z.union([z.string(), z.number()], mustBeError('a string or a number')), mustBeError(LABELS))
      .min(1, mustBeError(LABELS))
      .refine(distinct, 'has a repeated label')
      .nullable()
      .default(null),
    /** value: every line's `y` was a plain number (predictions are written as one too). */
    scalarTarget: must.boolean(),
    /** value, train.loss quantile: the levels, ascending; output g·Q + q. Absent: one output per value. */
    quantiles: quantileLevels.optional(),
    /** Per feature (and, for values, per target) column name; token steps have no feature statistics. */
    normalization: normalizationSchema,
    /** Token steps: the vocabulary in index order, `<unk>` first (the model's inputSize); numeric steps: absent. */
    vocabulary: z
      .array(z.string(mustBeError('a string')), mustBeError(VOCABULARY))
      .min(1, mustBeError(VOCABULARY))
      .refine(distinct, 'has a repeated token')
      .optional(),
  })
  .superRefine((meta, ctx) => {
    if (meta.target === 'class' && meta.labels === null) ctx.addIssue({ code: 'custom', path: ['labels'], message: mustBe(LABELS, null) });
    if (meta.target === 'value' && meta.labels !== null) ctx.addIssue({ code: 'custom', path: ['labels'], message: mustBe('null for this target', meta.labels) });
    if (meta.target === 'class' && meta.quantiles !== undefined) ctx.addIssue({ code: 'custom', path: ['quantiles'], message: mustBe('absent for class targets', meta.quantiles) });
    if (meta.vocabulary !== undefined && meta.features.length !== 1) ctx.addIssue({ code: 'custom', path: ['features'], message: mustBe('one name (a token per step)', meta.features) });
    const scaled = [...(meta.vocabulary === undefined ? meta.features : []), ...(meta.target === 'value' ? meta.targets : [])];
    checkScaledColumns(meta.normalization, scaled, ctx);
  });

/** The statistics cover exactly the columns the model reads (and, for values, predicts). */
function checkScaledColumns(normalization: { columns: Record<string, unknown> }, columns: string[], ctx: z.core.$RefinementCtx): void {
  const at = (name: string) => ['normalization', 'columns', name];
  for (const name of columns) {
    if (!(name in normalization.columns)) ctx.addIssue({ code: 'custom', path: at(name), message: 'must be a JSON object' });
  }
  for (const name of Object.keys(normalization.columns)) {
    if (!columns.includes(name)) ctx.addIssue({ code: 'custom', path: at(name), message: `unknown key (expected ${columns.join(', ')})` });
  }
}

const dataMetaSchema = z.discriminatedUnion('task', [seriesMetaSchema, sequencesMetaSchema], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? mustBe('one of series, sequences', (issue.input as Record<string, unknown>).task)
      : 'must be a JSON object',
});

export type SeriesMeta = z.output<typeof seriesMetaSchema>;
export type SequencesMeta = z.output<typeof sequencesMetaSchema>;
export type DataMeta = SeriesMeta | SequencesMeta;

const KEY = '__metadata__.data';

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
  const parsed = dataMetaSchema.safeParse(raw);
  if (!parsed.success) throw firstIssueError(parsed.error, file, KEY);
  return parsed.data;
}

/** The model's input and output sizes the metadata implies (checked against the checkpoint's config). */
export function metaSizes(meta: DataMeta): { inputSize: number; outputSize: number } {
  const inputSize = meta.features.length;
  if (meta.task === 'series') return { inputSize: inputSize + meta.futureFeatures.length, outputSize: meta.targets.length * meta.horizon * (meta.quantiles?.length ?? 1) };
  return { inputSize: meta.vocabulary ? meta.vocabulary.length : inputSize, outputSize: meta.target === 'class' ? meta.labels!.length : meta.targets.length * (meta.quantiles?.length ?? 1) };
}
